"""Loading files: positions, JSONL, and every kind of bad input (never a traceback)."""

from __future__ import annotations

import json
import os

import pytest

from qwenlint.load import files as loader
from qwenlint.load.positions import find_offsets, locate
from qwenlint.pointer import join, split


def test_pointer_escaping_round_trips():
    assert join("", "a/b", "m~n", 0) == "/a~1b/m~0n/0"
    assert split("/a~1b/m~0n/0") == ["a/b", "m~n", "0"]
    assert split("") == []


def test_locate_points_at_value_start():
    text = '[\n {"role": "user",\n  "content": [{"type": "image", "image": "a.jpg"}]}\n]'
    pos = locate(text, ["/0/content/0", "/0/role", "", "/0/content/0/image"])
    assert pos["/0/role"] == (2, 11)
    assert pos["/0/content/0"] == (3, 15)
    assert pos[""] == (1, 1)
    assert text.splitlines()[2][pos["/0/content/0/image"][1] - 1:].startswith('"a.jpg"')


def test_locate_handles_escaped_and_unicode_keys():
    value = {"a/b": 1, "视频": {"x\"y": [1, 2]}, "~": 3}
    text = json.dumps(value, ensure_ascii=True)
    offs = find_offsets(text, ["/a~1b", "/视频/x\"y/1", "/~0"])
    assert text[offs["/a~1b"]] == "1"
    assert text[offs["/视频/x\"y/1"]] == "2"
    assert text[offs["/~0"]] == "3"


def test_missing_pointer_falls_back_to_ancestor():
    text = '{"messages": [{"role": "user"}]}'
    assert locate(text, ["/messages/0/content"])["/messages/0/content"] == (1, 15)


def test_locate_is_iterative_for_deep_nesting():
    depth = 50_000
    text = "[" * depth + "1" + "]" * depth
    pointer = "/0" * depth
    assert locate(text, [pointer])[pointer] == (1, depth + 1)


@pytest.mark.parametrize("content, kind", [
    (b"", "empty"),
    (b"   \n\t\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    (b'[{"role": "user", "content": "caf\xe9"}]', "encoding"),
    (b'[{"role": "user",}]', "invalid-json"),
])
def test_bad_json_files_are_problems(tmp_path, content, kind):
    p = tmp_path / "bad.json"
    p.write_bytes(content)
    src = loader.read(str(p))
    assert [pr.kind for pr in src.problems] == [kind]
    assert not list(src.records)


def test_invalid_json_reports_parser_position(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('[\n  {"role": "user", "content": "a "b" c"}\n]')
    (problem,) = loader.read(str(p)).problems
    assert (problem.line, problem.column) == (2, 35)


def test_deep_nesting_is_a_problem_not_a_crash(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    (problem,) = loader.read(str(p)).problems
    assert problem.kind == "too-deep"
    assert problem.line == 1 and problem.column > 100


def test_huge_json_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_JSON_BYTES", 100)
    p = tmp_path / "big.json"
    p.write_text(json.dumps([{"role": "user", "content": "x" * 200}]))
    (problem,) = loader.read(str(p)).problems
    assert problem.kind == "too-large"


def test_directory_missing_and_fifo_paths(tmp_path):
    assert loader.read(str(tmp_path)).problems[0].kind == "unreadable"
    assert loader.read(str(tmp_path / "nope.json")).problems[0].kind == "unreadable"
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    assert loader.read(str(fifo)).problems[0].kind == "unreadable"  # must not block


def test_jsonl_streams_records_and_reports_bad_lines(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text('{"messages": []}\n\n{"messages": [}\n{"messages": [{"role": "user", "content": "x"}]}\n')
    src = loader.read(str(p))
    records = list(src.records)
    assert [r.line for r in records] == [1, 4]
    assert [(pr.kind, pr.line) for pr in src.problems] == [("invalid-json", 3)]
    assert records[1].text.startswith('{"messages"')


def test_bom_is_accepted(tmp_path):
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"role": "user", "content": "hi"}]).encode())
    src = loader.read(str(p))
    assert not src.problems and list(src.records)[0].value[0]["role"] == "user"
