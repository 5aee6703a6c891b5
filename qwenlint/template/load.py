"""Loading chat templates from files and model directories, with positions.

Sources, as transformers 5.23 reads them:

* a ``.jinja`` file (``chat_template.jinja``, ``additional_chat_templates/<name>.jinja``);
* ``chat_template.json`` = ``{"chat_template": "..."}`` (legacy processor file);
* the ``chat_template`` field of ``tokenizer_config.json``: a string, or a list of
  ``{"name", "template"}`` (``PreTrainedTokenizerBase.__init__`` turns it into a dict);
* the ``chat_template`` field of ``processor_config.json`` (deprecated, warned about).

Model directories are resolved like ``ProcessorMixin.get_processor_dict`` and
``PreTrainedTokenizerBase._from_pretrained`` (see :func:`load_model_dir`). Templates embedded in
JSON keep the offset of their string literal, so that a position in the template maps back to a
line and column of the JSON file (:meth:`LoadedTemplate.file_position`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qwenlint.fsio import open_regular
from qwenlint.template.errors import TemplateLoadError, TemplateSyntaxIssue
from qwenlint.template.sandbox import parse_source

__all__ = [
    "OriginKind",
    "LoadedTemplate",
    "TemplateFinding",
    "ModelTemplates",
    "load_template",
    "template_from_string",
    "load_model_dir",
    "syntax_error",
]

OriginKind = Literal[
    "string", "jinja", "chat_template.json", "tokenizer_config.json", "processor_config.json", "bundled"
]

CHAT_TEMPLATE_FILE = "chat_template.jinja"  # transformers.utils.hub.CHAT_TEMPLATE_FILE
LEGACY_PROCESSOR_CHAT_TEMPLATE_FILE = "chat_template.json"  # ...LEGACY_PROCESSOR_CHAT_TEMPLATE_FILE
CHAT_TEMPLATE_DIR = "additional_chat_templates"  # ...CHAT_TEMPLATE_DIR
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
PROCESSOR_CONFIG_FILE = "processor_config.json"
_PROCESSOR_MARKERS = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json")


@dataclass(frozen=True)
class LoadedTemplate:
    """A template's text and where it came from.

    ``json_string_start`` is the character offset, in the origin file's text, of the first
    character inside the JSON string literal that holds the template (None for ``.jinja`` files).
    """

    source: str
    origin_file: str | None
    origin_kind: OriginKind
    json_string_start: int | None
    sha256: str
    name: str = "default"
    _file_text: str | None = field(default=None, repr=False, compare=False)

    def file_position(self, line: int, column: int | None) -> tuple[int, int | None]:
        """Map a 1-based (line, column) in the template to a 1-based (line, column) in the origin file."""
        if self.json_string_start is None or self._file_text is None:
            return line, column
        lines = self.source.split("\n")
        line = max(1, min(line, len(lines)))
        offset = sum(len(text) + 1 for text in lines[: line - 1]) + ((column or 1) - 1)
        raw = _raw_offset(self._file_text, self.json_string_start, offset)
        file_line = self._file_text.count("\n", 0, raw) + 1
        file_column = raw - (self._file_text.rfind("\n", 0, raw) + 1) + 1
        return file_line, (file_column if column is not None else None)


@dataclass(frozen=True)
class TemplateFinding:
    """Something wrong with where a model directory's templates come from (not with a template's text)."""

    code: str  # "template-sources-disagree" | "legacy-json-with-template-files" | ...
    severity: Literal["error", "warning", "info"]
    message: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelTemplates:
    """The templates a processor and a tokenizer loaded from one directory would hold."""

    directory: str
    processor: dict[str, LoadedTemplate]  # by name; "default" is what processor.apply_chat_template uses
    tokenizer: dict[str, LoadedTemplate]  # by name; "default" / "tool_use" for tokenizer.apply_chat_template
    findings: tuple[TemplateFinding, ...]
    has_processor: bool

    def select(self, consumer: Literal["processor", "tokenizer"] = "processor", *, tools: bool = False) -> LoadedTemplate | None:
        """The template the consumer renders with (``_resolve_chat_template`` / ``get_chat_template``)."""
        if consumer == "processor":
            return self.processor.get("default")
        if tools and "tool_use" in self.tokenizer:
            return self.tokenizer["tool_use"]
        return self.tokenizer.get("default")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def template_from_string(source: str, *, name: str = "default", origin_kind: OriginKind = "string") -> LoadedTemplate:
    return LoadedTemplate(source, None, origin_kind, None, _sha(source), name)


def _read(path: Path) -> str:
    try:
        with open_regular(path, "rb") as f:
            return f.read().decode("utf-8")
    except FileNotFoundError:
        raise TemplateLoadError(f"no such file: {path}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise TemplateLoadError(f"{path} is not UTF-8: {exc.reason} at byte {exc.start}", file=str(path)) from None
    except OSError as exc:
        raise TemplateLoadError(f"cannot read {path}: {exc.strerror}", file=str(path)) from None


# ---------------------------------------------------------------------------------------------
# JSON with string positions.


_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def _string_offsets(text: str) -> dict[tuple[Any, ...], int]:
    """Offsets (just inside the opening quote) of every string value in a JSON text, by path."""
    out: dict[tuple[Any, ...], int] = {}
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]

    def value(pos: int, path: tuple[Any, ...]) -> int:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        ch = text[pos : pos + 1]
        if ch == '"':
            out[path] = pos + 1
            return int(scanstring(text, pos + 1)[1])
        if ch == "{":
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == "}":
                return pos + 1
            while True:
                key, pos = scanstring(text, _WS.match(text, pos).end() + 1)  # type: ignore[union-attr]
                pos = _WS.match(text, pos).end() + 1  # the colon  # type: ignore[union-attr]
                pos = value(pos, (*path, key))
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                if text[pos] == "}":
                    return pos + 1
                pos += 1  # the comma
        if ch == "[":
            pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] == "]":
                return pos + 1
            i = 0
            while True:
                pos = value(pos, (*path, i))
                pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
                if text[pos] == "]":
                    return pos + 1
                pos += 1
                i += 1
        m = _SCALAR.match(text, pos)
        if not m:
            raise ValueError(f"unexpected character at {pos}")
        return m.end()

    value(0, ())
    return out


def _raw_offset(file_text: str, start: int, decoded_offset: int) -> int:
    """Offset in the file of the ``decoded_offset``-th character of the JSON string starting at ``start``.

    Walks the escapes: ``\\n``, ``\\"``, ``\\\\`` ... are 2 characters for 1; ``\\u00e9`` is 6 for 1;
    a surrogate pair ``\\ud83d\\ude00`` is 12 for 1 (one code point in Python).
    """
    pos = start
    for _ in range(decoded_offset):
        if file_text[pos] != "\\":
            pos += 1
        elif file_text[pos + 1] != "u":
            pos += 2
        else:
            code = int(file_text[pos + 2 : pos + 6], 16)
            pos += 6
            if 0xD800 <= code < 0xDC00 and file_text[pos : pos + 2] == "\\u":
                pos += 6
    return pos


def _parse_json(path: Path) -> tuple[str, Any]:
    text = _read(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TemplateLoadError(
            f"invalid JSON in {path.name}: {exc.msg}", file=str(path), line=exc.lineno, column=exc.colno
        ) from None
    return text, data


def _from_json_field(path: Path, kind: OriginKind, *, name: str | None, tools: bool) -> LoadedTemplate:
    text, data = _parse_json(path)
    if not isinstance(data, dict) or "chat_template" not in data or data["chat_template"] is None:
        raise TemplateLoadError(f'{path.name} has no "chat_template" field', file=str(path))
    templates = _json_templates(text, data["chat_template"], path, kind)
    if isinstance(templates, LoadedTemplate):
        return templates
    chosen = name or ("tool_use" if tools and "tool_use" in templates else "default")
    if chosen not in templates:
        raise TemplateLoadError(
            f"{path.name} has templates {sorted(templates)} but none named {chosen!r}", file=str(path)
        )
    return templates[chosen]


def _json_templates(text: str, value: Any, path: Path, kind: OriginKind) -> LoadedTemplate | dict[str, LoadedTemplate]:
    """A template string field, or a list of {"name", "template"} (tokenizer_config.json), with offsets."""
    offsets = _string_offsets(text)
    if isinstance(value, str):
        return LoadedTemplate(value, str(path), kind, offsets.get(("chat_template",)), _sha(value), "default", text)
    if isinstance(value, list):
        out: dict[str, LoadedTemplate] = {}
        for i, entry in enumerate(value):
            if not (isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("template"), str)):
                raise TemplateLoadError(
                    f'{path.name}: chat_template[{i}] is not a {{"name", "template"}} object', file=str(path)
                )
            src = entry["template"]
            out[entry["name"]] = LoadedTemplate(
                src, str(path), kind, offsets.get(("chat_template", i, "template")), _sha(src), entry["name"], text
            )
        return out
    raise TemplateLoadError(f"{path.name}: chat_template is neither a string nor a list", file=str(path))


def load_template(path: str | Path, *, name: str | None = None, tools: bool = False) -> LoadedTemplate:
    """Load one template from a ``.jinja`` file, a JSON file with a ``chat_template`` field, or a model directory.

    For a list of named templates (``tokenizer_config.json``) ``name`` picks one; otherwise
    ``tool_use`` when ``tools`` and present, else ``default`` (``get_chat_template``). A directory
    gives the template ``processor.apply_chat_template`` would use, or the tokenizer's when the
    directory has no processor template. Raises :class:`TemplateLoadError`.
    """
    p = Path(path)
    if p.is_dir():
        model = load_model_dir(p)
        chosen = model.select("processor") or model.select("tokenizer", tools=tools)
        if chosen is None:
            raise TemplateLoadError(f"no chat template found in {p}", file=str(p))
        return chosen
    if p.suffix == ".json":
        kind: OriginKind = {
            TOKENIZER_CONFIG_FILE: "tokenizer_config.json", PROCESSOR_CONFIG_FILE: "processor_config.json"
        }.get(p.name, "chat_template.json")  # type: ignore[assignment]
        return _from_json_field(p, kind, name=name, tools=tools)
    source = _read(p)
    return LoadedTemplate(source, str(p), "jinja", None, _sha(source), name or (p.stem if p.parent.name == CHAT_TEMPLATE_DIR else "default"))


def syntax_error(template: LoadedTemplate) -> TemplateSyntaxIssue | None:
    """The template's syntax error, if any, positioned in the template and in its origin file."""
    try:
        parse_source(template.source)
    except TemplateSyntaxIssue as exc:
        file_line, file_column = template.file_position(exc.line or 1, exc.column)
        return TemplateSyntaxIssue(
            exc.message, line=exc.line, column=exc.column, file=template.origin_file,
            file_line=file_line, file_column=file_column,
        )
    return None


# ---------------------------------------------------------------------------------------------
# Model directories.


def _additional(directory: Path) -> dict[str, LoadedTemplate]:
    folder = directory / CHAT_TEMPLATE_DIR
    if not folder.is_dir():
        return {}
    return {f.stem: load_template(f, name=f.stem) for f in sorted(folder.glob("*.jinja"))}


def _with_default(additional: dict[str, LoadedTemplate], raw: LoadedTemplate | None) -> dict[str, LoadedTemplate]:
    """The template files of a directory: ``additional_chat_templates/*`` plus ``chat_template.jinja``
    as ``default``."""
    templates = dict(additional)
    if raw is not None:
        templates["default"] = raw
    return templates


def _config_field_templates(path: Path, kind: OriginKind) -> dict[str, LoadedTemplate] | None:
    """The ``chat_template`` field of a JSON config as named templates (a single one as ``default``);
    None when the file or the field is absent."""
    if not path.is_file():
        return None
    text, data = _parse_json(path)
    if not isinstance(data, dict) or data.get("chat_template") is None:
        return None
    found = _json_templates(text, data["chat_template"], path, kind)
    return found if isinstance(found, dict) else {"default": found}


def load_model_dir(directory: str | Path) -> ModelTemplates:
    """Resolve a checkpoint directory's templates the way transformers 5.23 does.

    Processor (``ProcessorMixin.get_processor_dict``): ``chat_template.json`` when present (and
    it is an error to combine it with ``additional_chat_templates/``); otherwise the
    ``additional_chat_templates/*.jinja`` plus ``chat_template.jinja`` as ``default``. A
    ``chat_template`` field in ``processor_config.json`` overrides both, with a warning.

    Tokenizer (``PreTrainedTokenizerBase._from_pretrained``): ``chat_template.jinja`` as
    ``default`` plus ``additional_chat_templates/*.jinja`` when any exists — replacing the
    ``tokenizer_config.json`` field entirely; otherwise that field.

    Sources that disagree are reported as findings, naming which consumer reads which file.
    """
    d = Path(directory)
    if not d.is_dir():
        raise TemplateLoadError(f"not a directory: {d}", file=str(d))
    findings: list[TemplateFinding] = []
    jinja_path, json_path = d / CHAT_TEMPLATE_FILE, d / LEGACY_PROCESSOR_CHAT_TEMPLATE_FILE
    tok_path, proc_path = d / TOKENIZER_CONFIG_FILE, d / PROCESSOR_CONFIG_FILE
    raw = load_template(jinja_path) if jinja_path.is_file() else None
    legacy = _from_json_field(json_path, "chat_template.json", name=None, tools=False) if json_path.is_file() else None
    additional = _additional(d)

    processor: dict[str, LoadedTemplate] = {}
    if legacy is not None:
        processor = {"default": legacy}
        if additional:
            findings.append(TemplateFinding(
                "legacy-json-with-template-files", "error",
                "transformers refuses to load this processor: a legacy chat_template.json is combined with "
                f"{CHAT_TEMPLATE_DIR}/ ('Cannot load chat template due to conflicting files'). Replace "
                "chat_template.json with chat_template.jinja.",
                (str(json_path), str(d / CHAT_TEMPLATE_DIR)),
            ))
    else:
        processor = _with_default(additional, raw)
    proc_field = _config_field_templates(proc_path, "processor_config.json")
    if proc_field is not None:
        processor = proc_field
        findings.append(TemplateFinding(
            "template-in-processor-config", "warning",
            "processor_config.json has a chat_template field; transformers uses it (over chat_template.json / "
            ".jinja) and warns that templates should be in chat_template.jinja.",
            (str(proc_path),),
        ))

    tokenizer = _with_default(additional, raw)
    tok_field = _config_field_templates(tok_path, "tokenizer_config.json")
    if tok_field is not None:
        if not tokenizer:
            tokenizer = tok_field
        else:
            findings.extend(_disagreements(
                tok_field, tokenizer, "tokenizer_config.json (ignored: chat_template.jinja / additional templates win)",
                "chat_template.jinja", severity="info",
            ))

    has_processor = any((d / name).is_file() for name in _PROCESSOR_MARKERS) or legacy is not None
    if has_processor and processor and tokenizer:
        findings.extend(_disagreements(processor, tokenizer, "the processor template", "the tokenizer template"))
    if raw is not None and legacy is not None and raw.source != legacy.source:
        findings.append(TemplateFinding(
            "template-sources-disagree", "error",
            "chat_template.json and chat_template.jinja hold different templates: processor.apply_chat_template "
            "uses chat_template.json (transformers 5.23 reads the legacy file first), tokenizer.apply_chat_template "
            "and tools that read the tokenizer use chat_template.jinja.",
            (str(json_path), str(jinja_path)),
        ))
    for label, templates in (("processor", processor), ("tokenizer", tokenizer)):
        if templates and "default" not in templates:
            findings.append(TemplateFinding(
                "no-default-template", "warning",
                f"the {label} has named templates {sorted(templates)} but none named 'default': "
                "apply_chat_template raises unless a name is passed.",
                tuple(sorted({t.origin_file for t in templates.values() if t.origin_file})),
            ))
    return ModelTemplates(str(d), processor, tokenizer, tuple(_dedupe(findings)), has_processor)


def _disagreements(
    a: dict[str, LoadedTemplate], b: dict[str, LoadedTemplate], a_label: str, b_label: str, *, severity: Literal["error", "warning", "info"] = "error"
) -> list[TemplateFinding]:
    out = []
    for name in sorted(set(a) & set(b)):
        if a[name].source != b[name].source:
            files = tuple(f for f in (a[name].origin_file, b[name].origin_file) if f)
            if len(set(files)) < 2:
                continue
            out.append(TemplateFinding(
                "template-sources-disagree", severity,
                f"{a_label} ({Path(files[0]).name}) and {b_label} ({Path(files[-1]).name}) differ for the "
                f"{name!r} template: consumers that read different files (processor vs tokenizer; transformers "
                "vs vLLM, see vllm#15125) render different prompts.",
                files,
            ))
    return out


def _dedupe(findings: list[TemplateFinding]) -> list[TemplateFinding]:
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out = []
    for f in findings:
        key = (f.code, tuple(sorted(f.files)))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
