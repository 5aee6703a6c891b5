"""One positive and one negative example per rule: the table type and the runner (every stage).

An :class:`Example` is the input where a rule fires (``positive``, with the JSON pointer of one of
its findings) and the same input fixed as the rule's "Fix" section says (``negative``), where the
rule must not fire at all.  Inputs are

- a value (a conversation, a batch, dataset records), checked with :func:`qwenlint.check` with
  ``base_dir`` the test's ``tmp_path``;
- a :class:`File` (text or bytes) written into ``tmp_path`` and checked with
  :func:`qwenlint.check_files` (JSONL files, files next to a ``dataset_info.json``);
- a :class:`TemplateCmd`: ``qwenlint template --format json PATH`` through the CLI, for the rules
  that only run on a probed template (QL310-QL312).

Before the check, ``media`` is synthesised into ``tmp_path`` (``{"a.png": ("image", 64, 64)}``,
``{"clip.mp4": ("video", 64, 48, 8, 16)}``: width, height, fps, frames) and ``files`` are written
there (str: UTF-8 text, bytes as they are, a dict or list: JSON).  ``negative_media`` /
``negative_files`` / ``negative_options`` are merged over them for the negative run (a ``None``
value removes a file).  An option value given as :class:`Rel` names a path inside ``tmp_path``.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "media"))

from mediasynth import have_av, make_image, make_video, make_wav  # noqa: E402

import qwenlint  # noqa: E402


@dataclass(frozen=True)
class File:
    """File contents (text, bytes, or a value written as JSON) and its name inside tmp_path."""

    data: Any
    name: str = "input.json"


@dataclass(frozen=True)
class TemplateCmd:
    """``qwenlint template --format json <tmp_path/path> *args`` (a template file or a model dir)."""

    path: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rel:
    """An option value that is a path inside the test's tmp_path."""

    path: str


@dataclass
class Example:
    positive: Any
    pointer: str
    negative: Any
    options: dict = field(default_factory=dict)
    negative_options: dict | None = None
    media: dict = field(default_factory=dict)
    negative_media: dict | None = None
    files: dict = field(default_factory=dict)
    negative_files: dict | None = None
    #: severity of the finding at ``pointer``; None: the rule's registered default
    severity: str | None = None
    #: line of the finding at ``pointer`` (JSONL records, template files); None: not checked
    line: int | None = None
    #: False where the rule's findings carry no separate ``help`` (a known gap, said in the table)
    has_help: bool = True


class Found(NamedTuple):
    """One diagnostic, the same shape for the API and the CLI's JSON."""

    rule: str
    pointer: str
    severity: str
    message: str
    help: str | None
    line: int | None


def png_bytes(width: int = 64, height: int = 64) -> bytes:
    """A flat PNG made with Pillow (for data: URIs)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def needs_video(example: Example) -> bool:
    specs = list(example.media.values()) + list((example.negative_media or {}).values())
    return any(spec is not None and spec[0] == "video" for spec in specs)


def _synthesise(root: Path, name: str, spec: tuple) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    kind, *args = spec
    kwargs = args.pop() if args and isinstance(args[-1], dict) else {}
    if kind == "image":
        width, height = args
        make_image(str(path), width, height, **kwargs)
    elif kind == "video":
        width, height, fps, frames = args
        make_video(str(path), width, height, fps, frames, **kwargs)
    elif kind == "audio":
        rate, seconds = args
        make_wav(str(path), rate, int(rate * seconds), **kwargs)
    else:
        raise ValueError(f"unknown media kind {kind!r} for {name}")


def _write(root: Path, name: str, data: Any) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _merged(base: dict, override: dict | None) -> dict:
    out = dict(base)
    out.update(override or {})
    return {k: v for k, v in out.items() if v is not None}


def _resolve(options: dict, root: Path) -> dict:
    return {k: str(root / v.path) if isinstance(v, Rel) else v for k, v in options.items()}


def prepare(example: Example, tmp_path: Path, which: str) -> tuple[Any, dict]:
    """Write the example's media and files for the ``which`` ("positive"/"negative") run into
    ``tmp_path`` (a fresh folder per run), and return the input and the resolved options."""
    assert which in ("positive", "negative"), which
    neg = which == "negative"
    if needs_video(example) and not have_av():
        pytest.skip("PyAV not installed (qwenlint[video])")
    media = _merged(example.media, example.negative_media if neg else None)
    files = _merged(example.files, example.negative_files if neg else None)
    for name, spec in media.items():
        _synthesise(tmp_path, name, spec)
    for name, data in files.items():
        _write(tmp_path, name, data)
    options = example.options
    if neg and example.negative_options is not None:
        options = {**example.options, **example.negative_options}
    return (example.negative if neg else example.positive), _resolve(options, tmp_path)


def run(example: Example, tmp_path: Path, which: str, **extra_options: Any) -> list[Found]:
    """Check the ``which`` side of ``example`` in ``tmp_path``; every diagnostic, as `Found`."""
    root = tmp_path / which
    root.mkdir(parents=True, exist_ok=True)
    value, options = prepare(example, root, which)
    options.update(extra_options)
    if isinstance(value, TemplateCmd):
        return _template_cmd(root / value.path, value.args, options)
    if isinstance(value, File):
        _write(root, value.name, value.data)
        result = qwenlint.check_files([str(root / value.name)], **options)
    else:
        result = qwenlint.check(value, base_dir=str(root), **options)
    return [Found(d.rule, d.pointer, d.severity.value, d.message, d.help, d.line)
            for d in result.diagnostics]


def _template_cmd(path: Path, args: tuple[str, ...], options: dict) -> list[Found]:
    from click.testing import CliRunner

    from qwenlint.cli import main

    assert not options, f"the template command takes CLI arguments, not options: {options}"
    res = CliRunner().invoke(main, ["template", "--format", "json", *args, str(path)])
    assert res.exit_code in (0, 1), res.output
    doc = json.loads(res.output)
    return [Found(d["rule"], d["pointer"], d["severity"], d["message"], d.get("help"), d.get("line"))
            for d in doc["diagnostics"]]


def shown(found: list[Found]) -> list[tuple[str, str, str]]:
    """What an assertion message shows of the findings."""
    return [(f.rule, f.pointer, f.severity) for f in found]


# --- the checks every stage's table runs ---------------------------------------------------------

def rule_code(key: str) -> str:
    """A table key is a rule code, or a code and a case name (``"QL303:assistant-turn"``)."""
    return key.split(":", 1)[0]


def check_positive(key: str, example: Example, tmp_path: Path) -> None:
    from qwenlint.rules import REGISTRY

    code = rule_code(key)
    found = run(example, tmp_path, "positive")
    hits = [f for f in found if f.rule == code]
    assert hits, f"{code} did not fire; got {shown(found)}"
    at = [f for f in hits if f.pointer == example.pointer]
    assert at, f"{code} fired, but not at {example.pointer!r}: {shown(hits)}"
    want = example.severity or REGISTRY[code].severity.value
    assert want in {f.severity for f in at}, f"expected a {want} finding: {shown(at)}"
    if example.line is not None:
        assert example.line in {f.line for f in at}, [(f.pointer, f.line) for f in at]
    for f in hits:
        assert f.message, f
        if example.has_help:
            assert f.help, f"every finding says what is wrong and how to fix it: {f}"


def check_negative(key: str, example: Example, tmp_path: Path) -> None:
    code = rule_code(key)
    found = run(example, tmp_path, "negative")
    assert code not in {f.rule for f in found}, [(f.rule, f.pointer, f.message) for f in found]


def check_select(key: str, example: Example, tmp_path: Path) -> None:
    """``select`` runs only that rule, ``ignore`` silences it (API inputs: see `api_keys`)."""
    code = rule_code(key)
    only = run(example, tmp_path / "select", "positive", select=(code,))
    assert {f.rule for f in only} == {code}, shown(only)
    rest = run(example, tmp_path / "ignore", "positive", ignore=(code,))
    assert code not in {f.rule for f in rest}, shown(rest)


def api_keys(examples: dict[str, Example]) -> list[str]:
    """The keys of the examples checked through the API (the template command has no --select)."""
    return sorted(k for k, ex in examples.items() if not isinstance(ex.positive, TemplateCmd))
