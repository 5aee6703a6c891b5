"""``qwenlint server``: a language server (LSP over stdio, built on pygls) for editors.

What it does, per open document (full text sync):

* **Diagnostics** on open, change and save: conversation, dataset and request-body files (JSON,
  JSON Lines) are checked as ``qwenlint check - --stdin-filename PATH`` checks them
  (:func:`qwenlint.engine.check_bytes`): the configuration is found from the file's folder, its
  per-file-ignores match the file's path, and relative media paths resolve next to the file.
  Chat templates (``.jinja``, ``chat_template.json``, ``tokenizer_config.json``) are linted as
  ``qwenlint template FILE`` lints them.  What a directory walk leaves out gets no diagnostics,
  as with ``--force-exclude``: the configuration's excludes, configuration files by name
  (``package.json``, ``config.json``, ...) and JSON in no dialect qwenlint reads.
* **Code actions**: a quick fix per diagnostic with a safe or unsafe fix (that fix alone, as
  ``--fix`` / ``--unsafe-fixes`` writes it: :func:`qwenlint.fix.fix_text`), and
  ``source.fixAll.qwenlint``: every safe fix, exactly what ``qwenlint check --fix`` would write
  (:func:`qwenlint.fix.fix_files`, with its re-checks; computed in ``codeAction/resolve`` when
  the client supports it).  The edit replaces the whole document.
* **Hover** over a diagnostic's range: the documentation of its rule (``qwenlint rule CODE``).

Positions: qwenlint's lines and columns are 1-based, columns in characters (code points); LSP's are
0-based and counted in the negotiated position encoding (UTF-16 code units by default), which
pygls's position codec converts to.  Only this module imports pygls (the ``lsp`` extra).
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass, field

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from qwenlint.diagnostics import Applicability, Diagnostic, Severity
from qwenlint.fix import is_jsonl
from qwenlint.version import __version__

SOURCE = "qwenlint"
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.qwenlint"
TEMPLATE_NAMES = ("chat_template.json", "tokenizer_config.json")
SEVERITIES = {Severity.ERROR: types.DiagnosticSeverity.Error,
              Severity.WARNING: types.DiagnosticSeverity.Warning,
              Severity.INFO: types.DiagnosticSeverity.Information}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # LSP's line endings (for the end of the document)


@dataclass
class Checked:
    """The last check of one document version: its text and what was found in it."""

    version: int | None
    text: str
    name: str  # the file's path (or a stand-in name for an unsaved buffer)
    kind: str  # "data", "template" or "none"
    found: list[tuple[Diagnostic, types.Diagnostic]] = field(default_factory=list)


class QwenlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("qwenlint", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.checked: dict[str, Checked] = {}
        self.shown: set[str] = set()  # the error messages already shown to the user


server = QwenlintServer()


# --- which documents, and as what -------------------------------------------------------------

def document_name(uri: str, language_id: str | None) -> str:
    """The path a document is checked as: its file, else a stand-in for an unsaved buffer."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path:
        return path
    return os.path.abspath("untitled.jsonl" if language_id == "jsonl" else "untitled.json")


def document_kind(name: str) -> str:
    """``data`` (conversation, dataset, request files), ``template`` or ``none`` (not checked)."""
    from qwenlint.load.files import JSONL_SUFFIXES, NOT_CONVERSATIONS

    base = os.path.basename(name)
    if base.lower().endswith(".jinja") or base in TEMPLATE_NAMES:
        return "template"
    if base.lower().endswith((".json",) + JSONL_SUFFIXES) and base not in NOT_CONVERSATIONS:
        return "data"
    return "none"


# --- checking ---------------------------------------------------------------------------------

def _configured(name: str, engine: bool = True):
    """The configuration of the file ``name`` (the nearest one upward from its folder, as
    ``qwenlint check`` finds each file's) and, with ``engine``, the engine it gives; the engine is
    None when a walk would not check the file: its ``exclude`` matches it (as with
    ``--force-exclude``)."""
    from qwenlint.config import Config
    from qwenlint.discovery import Discovery, Settings
    from qwenlint.engine import Engine
    from qwenlint.options import Options

    discovery = Discovery(Config(), Settings(force_exclude=True))
    cfg = discovery.config_for(os.path.dirname(os.path.abspath(name)))
    if not engine or next(discovery.files([name]), None) is None:
        return cfg, None
    opts = cfg.apply(Options())
    opts.versions()  # a configured ``python`` that does not answer: ValueError, as the CLI's exit 2
    return cfg, Engine(opts, keep=cfg.filter)


def check_document(text: str, name: str, kind: str) -> list[Diagnostic]:
    """The diagnostics of ``text`` as the file ``name``: none for a file the configuration
    excludes or JSON in no dialect qwenlint reads (skipped as a directory walk skips them)."""
    if kind == "data":
        from qwenlint.engine import check_bytes

        _cfg, engine = _configured(name)
        if engine is None:
            return []
        return list(check_bytes(engine, text.encode("utf-8", "surrogatepass"), name,
                                walked=True).diagnostics)
    if kind == "template":
        return _check_template(text, name)
    return []


def _check_template(text: str, name: str) -> list[Diagnostic]:
    """``qwenlint template`` on the text (written to a temporary file of the same name), with the
    configured family."""
    import tempfile
    from dataclasses import replace

    from qwenlint.engine import check_templates
    from qwenlint.options import Options

    cfg, _none = _configured(name, engine=False)
    family = cfg.apply(Options()).family
    with tempfile.TemporaryDirectory(prefix="qwenlint-lsp-") as tmp:
        path = os.path.join(tmp, os.path.basename(name))
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        result, _table = check_templates([path], Options(family=family))
    return [replace(d, file=name) for d in result.diagnostics]


# --- positions --------------------------------------------------------------------------------

def _lines(text: str) -> list[str]:
    """The lines as qwenlint numbers them (split on LF; a CR before it is not part of the line)."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _offset_spans(text: str, diags: list[Diagnostic], line_starts: list[int],
                  jsonl: bool) -> dict[tuple[int | None, str], tuple[int, int]]:
    """The text span of each diagnostic's value, keyed by (record line, pointer); JSON Lines
    pointers are within the record on their line."""
    from qwenlint.load.positions import value_spans

    wanted: dict[int | None, set[str]] = {}
    for d in diags:
        if d.line is not None and (d.record_line or not jsonl):
            wanted.setdefault(d.record_line if jsonl else None, set()).add(d.pointer)
    spans: dict[tuple[int | None, str], tuple[int, int]] = {}
    for record_line, pointers in wanted.items():
        if record_line is None:
            base, chunk = 0, text
        elif 1 <= record_line <= len(line_starts):
            base = line_starts[record_line - 1]
            chunk = text[base:].split("\n", 1)[0]
        else:
            continue
        try:
            found = value_spans(chunk, pointers)
        except Exception:  # noqa: BLE001 - text that is not JSON (a load problem): no spans
            continue
        for pointer, (s, e) in found.items():
            spans[(record_line, pointer)] = (base + s, base + e)
    return spans


def to_lsp(d: Diagnostic, lines: list[str], line_starts: list[int], codec,
           spans: dict[tuple[int | None, str], tuple[int, int]], jsonl: bool) -> types.Diagnostic:
    """One qwenlint diagnostic as an LSP diagnostic: its range covers the value it points at
    (from its line and column to the value's end), else the JSON token there."""
    from qwenlint.load.positions import TOKEN
    from qwenlint.report.sarif import help_uri
    from qwenlint.rules import find_rule

    line = min(max((d.line or 1) - 1, 0), len(lines) - 1)
    col = min(max((d.column or 1) - 1, 0), len(lines[line]))
    end_line, end_col = line, col
    span = spans.get((d.record_line if jsonl else None, d.pointer))
    if d.line is not None and span is not None and span[0] == line_starts[line] + col:
        end_line = bisect.bisect_right(line_starts, span[1]) - 1
        end_col = span[1] - line_starts[end_line]
    else:
        token = TOKEN.match(lines[line], col)
        end_col = token.end() if token else min(col + 1, len(lines[line]))
    if end_col == col and end_line == line and col > 0:  # an empty range at a line's end
        col -= 1
    rng = types.Range(start=codec.position_to_client_units(lines, types.Position(line, col)),
                      end=codec.position_to_client_units(lines, types.Position(end_line, end_col)))
    message = d.message + (f"\nhelp: {d.help}" if d.help else "") + \
        (f"\nfix ({d.fix.applicability.value}): {d.fix.message}" if d.fix else "")
    rule = find_rule(d.rule)
    return types.Diagnostic(
        range=rng, message=message, severity=SEVERITIES[d.severity], code=d.rule, source=SOURCE,
        code_description=types.CodeDescription(href=help_uri(rule)) if rule else None,
        data={"name": d.name, "pointer": d.pointer})


def _end(text: str) -> tuple[int, int]:
    """The document's end as (line, character in code points), lines split as LSP splits them."""
    parts = _LINE_BREAK.split(text)
    return len(parts) - 1, len(parts[-1])


def _contains(rng: types.Range, pos: types.Position) -> bool:
    start, end = (rng.start.line, rng.start.character), (rng.end.line, rng.end.character)
    return start <= (pos.line, pos.character) <= end


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and \
        (b.start.line, b.start.character) <= (a.end.line, a.end.character)


# --- the protocol -----------------------------------------------------------------------------

def lint(ls: QwenlintServer, uri: str) -> None:
    """Check the document's current text and publish its diagnostics."""
    doc = ls.workspace.get_text_document(uri)
    name = document_name(uri, doc.language_id)
    kind = document_kind(name)
    text = doc.source
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    try:
        found = check_document(body, name, kind)
    except Exception as e:  # noqa: BLE001 - an unusable configuration or an internal error
        from qwenlint.config import ConfigError

        usage = isinstance(e, (ConfigError, ValueError))  # what the CLI answers with exit 2
        message = f"qwenlint: {e}" if usage else f"qwenlint: internal error on {name}: {type(e).__name__}: {e}"
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=message))
        if message not in ls.shown:  # shown once, not at every keystroke
            ls.shown.add(message)
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))
        found = []
    lines = _lines(text)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    if bom:  # qwenlint's columns do not count the BOM; the editor's do
        found = [f.located(column=f.column + 1) if f.line == 1 and f.column else f for f in found]
    jsonl = is_jsonl(name)
    spans = {}
    if kind == "data":
        body_starts = [0] + [m.end() for m in re.finditer("\n", body)]
        spans = {k: (s + bom, e + bom) for k, (s, e)
                 in _offset_spans(body, found, body_starts, jsonl).items()}
    codec = ls.workspace.position_codec
    pairs = [(d, to_lsp(d, lines, line_starts, codec, spans, jsonl)) for d in found]
    ls.checked[uri] = Checked(doc.version, text, name, kind, pairs)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
        uri=uri, version=doc.version, diagnostics=[p[1] for p in pairs]))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: QwenlintServer, params: types.DidOpenTextDocumentParams) -> None:
    lint(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: QwenlintServer, params: types.DidChangeTextDocumentParams) -> None:
    lint(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: QwenlintServer, params: types.DidSaveTextDocumentParams) -> None:
    lint(ls, params.text_document.uri)  # the configuration or the media next to it may have changed


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: QwenlintServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.checked.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
        uri=params.text_document.uri, diagnostics=[]))


def _current(ls: QwenlintServer, uri: str) -> Checked | None:
    """The last check of the document, redone when the text changed since."""
    doc = ls.workspace.get_text_document(uri)
    checked = ls.checked.get(uri)
    if checked is None or checked.text != doc.source:
        lint(ls, uri)
        checked = ls.checked.get(uri)
    return checked


def _replace_all(ls: QwenlintServer, uri: str, checked: Checked, new_text: str) -> types.WorkspaceEdit:
    """A workspace edit that replaces the whole document (of the checked version) with ``new_text``."""
    lines = _LINE_BREAK.split(checked.text)
    line, char = _end(checked.text)
    end = ls.workspace.position_codec.position_to_client_units(lines, types.Position(line, char))
    edit = types.TextEdit(range=types.Range(start=types.Position(0, 0), end=end), new_text=new_text)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=checked.version),
        edits=[edit])])


def fix_one(checked: Checked, d: Diagnostic) -> str | None:
    """The document's text with ``d``'s fix alone applied: the first round of ``--fix`` (with
    ``--unsafe-fixes`` for an unsafe fix) for that diagnostic (qwenlint.fix.fix_text)."""
    from qwenlint import fix as fixer

    bom = checked.text.startswith("\ufeff")
    body = checked.text[1:] if bom else checked.text
    new, done = fixer.fix_text(body, [d], jsonl=is_jsonl(checked.name),
                               unsafe=d.fix is not None and d.fix.applicability is Applicability.UNSAFE)
    return ("\ufeff" if bom else "") + new if done and new != body else None


def fix_all(checked: Checked) -> str | None:
    """The document's text as ``qwenlint check --fix`` writes it: every safe fix, checked again
    after each round (qwenlint.fix.fix_files on the in-memory text); None when nothing changes."""
    from qwenlint import fix as fixer

    bom = checked.text.startswith("\ufeff")
    body = checked.text[1:] if bom else checked.text
    cfg, engine = _configured(checked.name)
    if engine is None:
        return None
    files = fixer.fix_files([d for d, _ in checked.found], fixer.engine_recheck(engine, cfg.filter),
                            read=lambda _path: (body, bom))
    return ("\ufeff" if bom else "") + files[0].fixed if files else None


def _resolves_edits(ls: QwenlintServer) -> bool:
    """Whether the client asks for a code action's edit only when it is chosen (codeAction/resolve)."""
    caps = ls.client_capabilities.text_document
    support = caps.code_action.resolve_support if caps and caps.code_action else None
    return bool(support and "edit" in support.properties)


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True))
def code_action(ls: QwenlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    from qwenlint.fix import applicable

    uri = params.text_document.uri
    checked = _current(ls, uri)
    if checked is None or checked.kind != "data":
        return []
    only = params.context.only

    def wanted(kind: str) -> bool:
        return not only or any(kind == k or kind.startswith(f"{k}.") for k in only)

    actions: list[types.CodeAction] = []
    if wanted(types.CodeActionKind.QuickFix):
        for d, lsp_diag in checked.found:
            if not applicable(d.fix, unsafe=True) or not _overlaps(lsp_diag.range, params.range):
                continue
            new = fix_one(checked, d)
            if new is None:
                continue
            unsafe = d.fix.applicability is Applicability.UNSAFE
            actions.append(types.CodeAction(
                title=f"qwenlint: {d.fix.message} ({d.rule}{', unsafe' if unsafe else ''})",
                kind=types.CodeActionKind.QuickFix, diagnostics=[lsp_diag],
                is_preferred=not unsafe, edit=_replace_all(ls, uri, checked, new)))
    if wanted(FIX_ALL) and any(applicable(d.fix) for d, _ in checked.found):
        action = types.CodeAction(
            title="qwenlint: fix all safely fixable problems (as --fix)", kind=FIX_ALL,
            diagnostics=[x for d, x in checked.found if applicable(d.fix)],
            data={"uri": uri, "version": checked.version})
        # it checks the document again after each round: computed when chosen, if the client can
        if _resolves_edits(ls) or _resolve(ls, action).edit is not None:
            actions.append(action)
    return actions


@server.feature(types.CODE_ACTION_RESOLVE)
def code_action_resolve(ls: QwenlintServer, action: types.CodeAction) -> types.CodeAction:
    return _resolve(ls, action)


def _resolve(ls: QwenlintServer, action: types.CodeAction) -> types.CodeAction:
    """Fill in the fix-all action's edit, for the document version it was offered on."""
    data = action.data if isinstance(action.data, dict) else {}
    uri = data.get("uri")
    checked = _current(ls, uri) if uri in ls.checked else None
    if action.kind == FIX_ALL and checked is not None and checked.version == data.get("version"):
        new = fix_all(checked)
        if new is not None:
            action.edit = _replace_all(ls, uri, checked, new)
    return action


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: QwenlintServer, params: types.HoverParams) -> types.Hover | None:
    from qwenlint.report.sarif import rule_markdown
    from qwenlint.rules import find_rule

    checked = _current(ls, params.text_document.uri)
    if checked is None:
        return None
    hits = [(d, x) for d, x in checked.found if _contains(x.range, params.position)]
    if not hits:
        return None
    parts, seen = [], set()
    for d, _ in hits:
        if d.rule in seen:
            continue
        seen.add(d.rule)
        rule = find_rule(d.rule)
        parts.append(rule_markdown(rule) if rule else f"**{d.rule} {d.name}**")
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                    value="\n\n---\n\n".join(parts)),
                       range=hits[0][1].range)


def serve() -> None:
    """Serve over standard input and output until the editor says exit."""
    server.start_io()
