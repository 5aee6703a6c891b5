"""qwenlint: catch broken Qwen vision-language inputs before a GPU ever sees them.

The public API is small::

    import qwenlint
    for d in qwenlint.check([{"role": "user", "content": [{"type": "image", "image": "a.jpg"}]}],
                            family="qwen2.5-vl"):
        print(d.rule, d.pointer, d.message)

Everything else (``qwenlint.engine``, ``qwenlint.rules``, ...) is private machinery that may change.
"""

from __future__ import annotations

from typing import Any, Iterable

from qwenlint.diagnostics import Applicability, Diagnostic, Fix, Severity
from qwenlint.options import Options
from qwenlint.result import Result
from qwenlint.version import __version__

__all__ = ["Applicability", "Diagnostic", "Fix", "InvalidInputError", "Options", "Result",
           "Severity", "check", "check_files", "validate", "__version__"]


class InvalidInputError(ValueError):
    """Raised by :func:`validate` when the messages would fail (or be silently mis-read) downstream.

    ``diagnostics`` holds the error findings; ``str(err)`` lists them, one per line, with the rule
    code, the JSON pointer and the fix.
    """

    def __init__(self, diagnostics: list) -> None:
        self.diagnostics = diagnostics
        lines = [f"{len(diagnostics)} problem{'s' * (len(diagnostics) != 1)} in the model input "
                 "(qwenlint):"]
        for d in diagnostics:
            where = d.pointer or "/"
            lines.append(f"  {d.rule} {d.name} at {where}: {d.message}")
            if d.help:
                lines.append(f"      fix: {d.help}")
        super().__init__("\n".join(lines))


def check(messages: Any, *, base_dir: str = ".", **options: Any) -> Result:
    """Check in-memory messages (a conversation, a batch, or a dataset record).

    ``options`` are those of :class:`Options` (``family``, ``target``, ``max_model_len``, ``select``,
    ...).  Returns the diagnostics, the same as ``qwenlint check`` would report for the same value
    written to a file (without line and column): a :class:`Result` is a sequence of
    :class:`Diagnostic` (iterate it, ``len()`` it, index it), which also carries the counts and the
    versions the verdicts assume.  A bad option raises ``ValueError`` before any work.
    """
    from qwenlint.engine import Engine

    return Engine(Options(**options)).check_value(messages, base_dir=base_dir)


def validate(messages: Any, *, base_dir: str = ".", **options: Any) -> None:
    """Raise :class:`InvalidInputError` if ``messages`` has any error finding; return None if not.

    Meant as a guard right before ``processor(...)`` / ``model.generate(...)``::

        qwenlint.validate(messages, family="qwen2.5-vl", target="qwen-vl-utils")
        images, videos = process_vision_info(messages)

    Warnings never raise; pass ``select=`` / ``ignore=`` to tune which rules run.
    """
    from qwenlint.diagnostics import Severity

    errors = [d for d in check(messages, base_dir=base_dir, **options)
              if d.severity is Severity.ERROR]
    if errors:
        raise InvalidInputError(errors)


def check_files(paths: Iterable[str], **options: Any) -> Result:
    """Check files (JSON / JSONL) as ``qwenlint check`` does.  A directory is walked with the
    default exclusions (hidden entries, ``venv``, ``build``, ...; no configuration file and no
    ``.gitignore`` is read), and JSON in no dialect qwenlint reads that the walk finds is skipped
    (``Result.skipped`` counts it)."""
    from qwenlint.engine import Engine, run_serial

    return run_serial(Engine(Options(**options)), list(paths))
