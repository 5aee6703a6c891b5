"""``qwenlint server`` end to end: a real LSP client (pytest-lsp) starts ``python -m qwenlint server``
and talks to it over stdio, as an editor does."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from qwenlint.rules import find_rule  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "broken" / "translated_keys.json"
TIMEOUT = 60  # seconds for any one answer of the server: a hang fails the test instead

_ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(
    [str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))


@pytest_lsp.fixture(config=ClientServerConfig(
    server_command=[sys.executable, "-m", "qwenlint", "server", "--stdio"], server_env=_ENV))
async def client(lsp_client: LanguageClient):
    await asyncio.wait_for(lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities())), TIMEOUT)
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), TIMEOUT)


@pytest_lsp.fixture(config=ClientServerConfig(
    server_command=[sys.executable, "-m", "qwenlint", "server"], server_env=_ENV))
async def utf8_client(lsp_client: LanguageClient):
    """A client as Neovim is: columns in UTF-8 bytes, a code action's edit resolved when chosen."""
    result = await asyncio.wait_for(lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf8]),
            text_document=types.TextDocumentClientCapabilities(code_action=types.CodeActionClientCapabilities(
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]))))
    )), TIMEOUT)
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8
    yield
    await asyncio.wait_for(lsp_client.shutdown_session(), TIMEOUT)


# --- helpers: what an editor does -------------------------------------------------------------

def _offset(text: str, pos: types.Position, encoding: str = "utf-16-le") -> int:
    """The code-point offset of an LSP position (UTF-16 code units, or UTF-8 bytes; LSP's line
    breaks)."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    width = 2 if encoding == "utf-16-le" else 1
    units, i = 0, starts[pos.line]
    while units < pos.character:
        units += len(text[i].encode(encoding)) // width
        i += 1
    assert units == pos.character, "a position inside a character"
    return i


def _utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _position(text: str, offset: int) -> tuple[int, int]:
    """(line, UTF-16 character) of a code-point offset."""
    line = text.count("\n", 0, offset)
    return line, _utf16(text[text.rfind("\n", 0, offset) + 1:offset])


def _apply(text: str, edit: types.WorkspaceEdit, uri: str, encoding: str = "utf-16-le") -> str:
    (change,) = edit.document_changes
    assert change.text_document.uri == uri
    for e in sorted(change.edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        text = (text[:_offset(text, e.range.start, encoding)] + e.new_text
                + text[_offset(text, e.range.end, encoding):])
    return text


async def _published(client: LanguageClient, uri: str, send) -> list[types.Diagnostic]:
    """Send a notification and wait until the diagnostics of ``uri`` are published."""
    while True:
        waiting = asyncio.ensure_future(client.wait_for_notification("textDocument/publishDiagnostics"))
        await asyncio.sleep(0)
        if send is not None:
            send()
            send = None
        params = await asyncio.wait_for(waiting, TIMEOUT)
        if params.uri == uri:
            return list(client.diagnostics[uri])


def _open(client: LanguageClient, path: Path, text: str, language: str = "json"):
    uri = path.as_uri()
    return uri, (lambda: client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))))


def _change(client: LanguageClient, uri: str, version: int, text: str):
    return lambda: client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


async def _actions(client: LanguageClient, uri: str, rng: types.Range, diags, only=None):
    return await asyncio.wait_for(client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
        context=types.CodeActionContext(diagnostics=diags, only=only))), TIMEOUT)


# --- the tests --------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_diagnostics_quick_fix_and_recheck(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "translated_keys.json"
    shutil.copy(EXAMPLE, path)
    text = path.read_text(encoding="utf-8")
    uri, send = _open(client, path, text)
    diags = await _published(client, uri, send)

    ql202 = [d for d in diags if d.code == "QL202"]
    assert len(ql202) == 2, [(d.code, d.message) for d in diags]
    first = min(ql202, key=lambda d: d.range.start.line)
    # the part object that begins on line 5, column 7 (1-based) and ends at its closing brace
    part_start = text.index('{\n        "type": "视频"')
    part_end = text.index("}", part_start) + 1
    assert (first.range.start.line, first.range.start.character) == _position(text, part_start) == (4, 6)
    assert (first.range.end.line, first.range.end.character) == _position(text, part_end)
    assert first.severity == types.DiagnosticSeverity.Error
    assert first.source == "qwenlint"
    assert first.code_description is not None and "ql202" in first.code_description.href
    assert "help:" in first.message

    actions = await _actions(client, uri, first.range, [first])
    quick = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert len(quick) == 1 and quick[0].is_preferred
    fixed = _apply(text, quick[0].edit, uri)
    part = json.loads(text)[0]["content"][0]
    assert json.loads(fixed)[0]["content"][0] == {
        "type": "video", "video": part["视频"], "max_pixels": part["最大像素"]}
    assert json.loads(fixed)[0]["content"][1] == json.loads(text)[0]["content"][1]  # only that fix

    after = await _published(client, uri, _change(client, uri, 2, fixed))
    left = [d for d in after if d.code == "QL202"]
    assert len(left) == 1 and left[0].range.start.line > first.range.start.line
    assert path.read_text(encoding="utf-8") == text  # nothing written to the file


@pytest.mark.asyncio
async def test_fix_all_writes_what_check_fix_writes(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "translated_keys.json"
    shutil.copy(EXAMPLE, path)
    text = path.read_text(encoding="utf-8")
    uri, send = _open(client, path, text)
    diags = await _published(client, uri, send)
    whole = types.Range(start=types.Position(0, 0), end=types.Position(len(text.splitlines()), 0))
    actions = await _actions(client, uri, whole, diags, only=[types.CodeActionKind.SourceFixAll])
    (fix_all,) = actions
    assert fix_all.kind == "source.fixAll.qwenlint"
    fixed = _apply(text, fix_all.edit, uri)

    other = tmp_path / "cli" / "translated_keys.json"
    other.parent.mkdir()
    shutil.copy(EXAMPLE, other)
    subprocess.run([sys.executable, "-m", "qwenlint", "check", "--fix", "--isolated", str(other)],
                   env=_ENV, capture_output=True, timeout=TIMEOUT)
    assert fixed == other.read_text(encoding="utf-8") != text

    after = await _published(client, uri, _change(client, uri, 2, fixed))
    assert not [d for d in after if d.code == "QL202"]


@pytest.mark.asyncio
async def test_hover_shows_the_rule_docs(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "translated_keys.json"
    shutil.copy(EXAMPLE, path)
    text = path.read_text(encoding="utf-8")
    uri, send = _open(client, path, text)
    diags = await _published(client, uri, send)
    d = next(d for d in diags if d.code == "QL202")
    inside = types.Position(d.range.start.line + 1, 10)
    hover = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=inside)), TIMEOUT)
    rule = find_rule("QL202")
    assert hover is not None and hover.contents.kind == types.MarkupKind.Markdown
    assert f"QL202 {rule.name}" in hover.contents.value
    assert rule.summary in hover.contents.value
    assert rule.docs["Fix"].strip()[:40] in hover.contents.value

    outside = types.Position(0, 0)  # the "[" of the file: no diagnostic starts there
    assert not any(x.range.start.line == 0 for x in diags)
    nothing = await asyncio.wait_for(client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=outside)), TIMEOUT)
    assert nothing is None


@pytest.mark.asyncio
async def test_a_change_that_fixes_the_text_clears_the_diagnostics(client: LanguageClient, tmp_path: Path):
    path = tmp_path / "chat.json"
    broken = '[{"role": "user", "content": [{"type": "文本", "文本": "hi"}]}]\n'
    uri, send = _open(client, path, broken)
    assert [d.code for d in await _published(client, uri, send)] == ["QL202"]
    good = '[{"role": "user", "content": [{"type": "text", "text": "hi"}]}]\n'
    assert await _published(client, uri, _change(client, uri, 2, good)) == []


@pytest.mark.asyncio
async def test_utf16_columns_after_non_ascii_text(client: LanguageClient, tmp_path: Path):
    # one JSON Lines record: the translated part comes after CJK text and an emoji (2 UTF-16 units)
    path = tmp_path / "train.jsonl"
    record = ('{"messages": [{"role": "user", "content": [{"type": "text", "text": "视频😀"}, '
              '{"type": "视频", "视频": "clip.mp4"}]}]}')
    text = '{"messages": [{"role": "user", "content": "hi"}]}\n' + record + "\n"
    uri, send = _open(client, path, text, language="jsonl")
    diags = await _published(client, uri, send)
    (d,) = [d for d in diags if d.code == "QL202"]
    start = text.index('{"type": "视频"')
    end = text.index("}", start) + 1
    assert (d.range.start.line, d.range.start.character) == _position(text, start)
    assert (d.range.end.line, d.range.end.character) == _position(text, end)
    assert d.range.start.character == (start - text.index(record)) + 1  # the emoji's extra unit

    # the quick fix edits that record alone, as --fix does
    (quick,) = [a for a in await _actions(client, uri, d.range, [d])
                if a.kind == types.CodeActionKind.QuickFix]
    fixed = _apply(text, quick.edit, uri)
    lines = fixed.splitlines()
    assert lines[0] == text.splitlines()[0]
    assert json.loads(lines[1])["messages"][0]["content"][1] == {"type": "video", "video": "clip.mp4"}


@pytest.mark.asyncio
async def test_utf8_columns_when_the_client_asks_for_them(utf8_client: LanguageClient, tmp_path: Path):
    path = tmp_path / "chat.json"
    text = '[{"role": "user", "content": [{"type": "text", "text": "视频"}, {"type": "文本", "文本": "hi"}]}]'
    uri, send = _open(utf8_client, path, text)
    (d,) = [d for d in await _published(utf8_client, uri, send) if d.code == "QL202"]
    start = text.index('{"type": "文本"')
    assert d.range.start.character == len(text[:start].encode("utf-8")) != start

    # fix-all comes without its edit (it re-checks the document), which codeAction/resolve fills in
    whole = types.Range(start=types.Position(0, 0), end=types.Position(1, 0))
    (action,) = await _actions(utf8_client, uri, whole, [d], only=[types.CodeActionKind.SourceFixAll])
    assert action.edit is None
    resolved = await asyncio.wait_for(utf8_client.code_action_resolve_async(action), TIMEOUT)
    fixed = json.loads(_apply(text, resolved.edit, uri, "utf-8"))
    assert fixed[0]["content"][1] == {"type": "text", "text": "hi"}


@pytest.mark.asyncio
async def test_templates_and_configuration_files(client: LanguageClient, tmp_path: Path):
    template = tmp_path / "chat_template.jinja"
    uri, send = _open(client, template, "{% for m in messages %}{{ m.content }\n", language="jinja")
    assert "QL301" in [d.code for d in await _published(client, uri, send)]

    package = tmp_path / "package.json"  # configuration, not a conversation: not checked
    uri, send = _open(client, package, '{"name": "x"}\n')
    assert await _published(client, uri, send) == []

    # JSON in no dialect qwenlint reads is skipped, as a directory walk skips it
    settings = tmp_path / "settings.json"
    uri, send = _open(client, settings, '{"editor.fontSize": 14, "files.exclude": {}}\n')
    assert await _published(client, uri, send) == []
    uri, send = _open(client, tmp_path / "not_a_conversation.json", '[{"content": "hi"}]\n')
    assert await _published(client, uri, send) != []  # a conversation-like value is checked


@pytest.mark.asyncio
@pytest.mark.parametrize("config, folder", [
    ('[per-file-ignores]\n"legacy/*.json" = ["QL202"]\n', "legacy"),  # per-file-ignores apply
    ('extend-exclude = ["outputs"]\n', "outputs"),  # excluded files are not checked
])
async def test_the_configuration_decides_what_is_reported(client: LanguageClient, tmp_path: Path,
                                                          config: str, folder: str):
    (tmp_path / "qwenlint.toml").write_text(config)
    (tmp_path / folder).mkdir()
    broken = '[{"role": "user", "content": [{"type": "文本", "文本": "hi"}]}]\n'
    uri, send = _open(client, tmp_path / folder / "a.json", broken)
    assert await _published(client, uri, send) == []
    uri, send = _open(client, tmp_path / "b.json", broken)
    assert [d.code for d in await _published(client, uri, send)] == ["QL202"]


@pytest.mark.asyncio
async def test_an_unusable_configuration_is_shown_not_a_crash(client: LanguageClient, tmp_path: Path):
    (tmp_path / "qwenlint.toml").write_text('famly = "qwen2.5-vl"\n')
    uri, send = _open(client, tmp_path / "chat.json", '[{"role": "user", "content": "hi"}]')
    assert await _published(client, uri, send) == []
    assert any("famly" in m.message and "did you mean 'family'" in m.message
               for m in client.messages)


def test_the_check_command_never_imports_pygls():
    code = ("import sys; from qwenlint.cli import main\n"
            "try:\n    main(['check', '--isolated', sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol')]")
    subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], env=_ENV, check=True,
                   capture_output=True, timeout=TIMEOUT)


def test_without_pygls_a_usage_error_names_the_extra(monkeypatch):
    from click.testing import CliRunner

    from qwenlint.cli import main

    monkeypatch.setitem(sys.modules, "pygls", None)  # as if the lsp extra were not installed
    monkeypatch.delitem(sys.modules, "qwenlint.lsp", raising=False)
    res = CliRunner().invoke(main, ["server"])
    assert res.exit_code == 2
    assert "pip install 'qwenlint[lsp]'" in res.output
