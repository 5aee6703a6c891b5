"""qwenlint: catch broken Qwen vision-language inputs before a GPU ever sees them.

The public API is small::

    import qwenlint
    result = qwenlint.check([{"role": "user", "content": [{"type": "image", "image": "a.jpg"}]}],
                            family="qwen2.5-vl")
    for d in result.diagnostics:
        print(d.rule, d.pointer, d.message)

Everything else (``qwenlint.engine``, ``qwenlint.rules``, ...) is private machinery that may change.
"""

from __future__ import annotations

from typing import Any, Iterable

__version__ = "0.1.0"

from qwenlint.diagnostics import Applicability, Diagnostic, Fix, Severity  # noqa: E402
from qwenlint.options import Options  # noqa: E402

__all__ = ["Applicability", "Diagnostic", "Fix", "Options", "Result", "Severity", "check",
           "check_files", "__version__"]


def check(messages: Any, *, base_dir: str = ".", **options: Any) -> "Result":
    """Check in-memory messages (a conversation, a batch, or a dataset record).

    ``options`` are those of :class:`Options` (``family``, ``target``, ``max_model_len``, ``select``,
    ...).  Returns a :class:`Result` whose ``diagnostics`` are the same as ``qwenlint check`` would
    report for the same value written to a file (without line and column).
    """
    from qwenlint.engine import Checker

    return Checker(Options(**options)).check_value(messages, base_dir=base_dir)


def check_files(paths: Iterable[str], **options: Any) -> "Result":
    """Check files (JSON / JSONL) as ``qwenlint check`` does."""
    from qwenlint.engine import Checker

    return Checker(Options(**options)).check_paths(list(paths))


def __getattr__(name: str) -> Any:
    if name == "Result":
        from qwenlint.engine import Result

        return Result
    raise AttributeError(name)
