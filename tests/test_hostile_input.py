"""Hostile input through the command line: never exit 2, never a traceback, never a hang, and
never a write to the user's files.

Every run must exit 0 or 1 and print the JSON document (``--format json``) — an input that cannot
be read is an error *finding*, not an internal failure.  Each test runs under a SIGALRM deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.cli import main
from qwenlint.load import files as loader

QWENLINT = str(Path(sys.executable).with_name("qwenlint"))
DEADLINE_S = 240


@pytest.fixture(autouse=True)
def deadline():
    def expired(signum, frame):
        raise TimeoutError(f"qwenlint did not finish within {DEADLINE_S}s (a hang?)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(DEADLINE_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _strict_json(text: str):
    def bad_constant(c):
        raise ValueError(f"{c} is not JSON")

    return json.loads(text, parse_constant=bad_constant)


def _snapshot(root: Path) -> dict:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(dirpath, n)
            st_ = p.lstat()
            out[str(p.relative_to(root))] = (st_.st_mtime_ns, st_.st_size,
                                             p.read_bytes() if p.is_file() else None)
    return out


def _run_inprocess(args, cwd: Path):
    runner = CliRunner()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = runner.invoke(main, ["check", "--format", "json", *map(str, args)],
                          catch_exceptions=True)
    finally:
        os.chdir(old)
    return r.exit_code, r.stdout, r.stderr


def _run_process(args, cwd: Path):
    p = subprocess.run([QWENLINT, "check", "--format", "json", *map(str, args)], cwd=cwd,
                       capture_output=True, timeout=DEADLINE_S - 20, stdin=subprocess.DEVNULL,
                       env={**os.environ, "NO_COLOR": "1"})
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check_hostile(directory: Path, name: str, *, process: bool = False, extra=()):
    """Run ``qwenlint check --format json`` on ``directory/name``; assert the contract; return doc."""
    before = _snapshot(directory)
    code, out, err = (_run_process if process else _run_inprocess)([*extra, name], directory)
    assert "Traceback" not in out + err, err[-2000:]
    assert code in (0, 1), f"exit {code}: {err.strip()[-500:]}"
    doc = _strict_json(out)
    assert doc["version"] == 1 and isinstance(doc["diagnostics"], list)
    assert code == (1 if doc["summary"]["errors"] else 0)
    assert _snapshot(directory) == before, "qwenlint wrote to or touched the user's files"
    return doc


def _rules(doc):
    return [(d["rule"], d["line"]) for d in doc["diagnostics"]]


# --- files that are not JSON ------------------------------------------------------------------

@pytest.mark.parametrize("name, data, rule", [
    ("empty.json", b"", "QL003"),
    ("blank.json", b"  \n\t\n", "QL003"),
    ("empty.jsonl", b"", "QL003"),
    ("blank.jsonl", b"\n\n\n", "QL003"),
    ("photo.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "QL002"),
    ("zeros.json", b"\x00" * 4096, "QL002"),
    ("latin1.json", b'[{"role": "user", "content": "caf\xe9"}]', "QL002"),
    ("latin1.jsonl", b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n', "QL002"),
    ("utf16.json", '[{"role": "user", "content": "hi"}]'.encode("utf-16"), "QL002"),
    ("garbage.json", b"\xff\xfe\xfd" * 100, "QL002"),
    ("trunc.json", b'[{"role": "user", "content": "hi"', "QL001"),
    ("text.json", b"hello world", "QL001"),
    ("two.json", b'[] []', "QL001"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "QL004"),
    ("deepobj.json", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "QL004"),
    ("deepopen.json", b"[" * 100_000, None),
    ("deep.jsonl", b'{"messages": []}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n", "QL004"),
])
@pytest.mark.parametrize("process", [False, True], ids=["inprocess", "process"])
def test_unreadable_files_are_findings(tmp_path, name, data, rule, process):
    (tmp_path / name).write_bytes(data)
    doc = check_hostile(tmp_path, name, process=process)
    rules = {d["rule"] for d in doc["diagnostics"]}
    assert rules and all(d["severity"] == "error" for d in doc["diagnostics"])
    if rule:
        assert rule in rules, rules


def test_invalid_utf8_is_located(tmp_path):
    (tmp_path / "bad.jsonl").write_bytes(
        b'{"messages": [{"role": "user", "content": "ok"}]}\n'
        b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n')
    doc = check_hostile(tmp_path, "bad.jsonl")
    (d,) = doc["diagnostics"]
    col = len(b'{"messages": [{"role": "user", "content": "caf') + 1
    assert (d["rule"], d["line"], d["column"]) == ("QL002", 2, col)


def test_huge_jsonl_line_is_refused_and_the_rest_checked(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_LINE_BYTES", 1000)
    ok = json.dumps({"messages": [{"role": "user", "content": "hi"}]})
    huge = json.dumps({"messages": [{"role": "user", "content": "x" * 5000}]})
    bad = json.dumps({"messages": [{"role": "用户", "content": "hi"}]}, ensure_ascii=False)
    (tmp_path / "d.jsonl").write_text("\n".join([ok, huge, bad, ok]) + "\n", encoding="utf-8")
    doc = check_hostile(tmp_path, "d.jsonl")
    assert ("QL004", 2) in _rules(doc)
    assert ("QL106", 3) in _rules(doc)
    assert doc["summary"]["conversations"] == 3


def test_huge_json_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_JSON_BYTES", 1000)
    (tmp_path / "big.json").write_text(json.dumps([{"role": "user", "content": "x" * 5000}]))
    doc = check_hostile(tmp_path, "big.json")
    assert [d["rule"] for d in doc["diagnostics"]] == ["QL004"]


def test_long_single_line_json_is_fast(tmp_path):
    """A 20 MB one-line file with an error at the end: positions must not be quadratic."""
    conv = [{"role": "user", "content": "x" * 1000} for _ in range(20_000)]
    conv.append({"role": "oops", "content": "y"})
    (tmp_path / "long.json").write_text(json.dumps(conv))
    doc = check_hostile(tmp_path, "long.json", process=True)
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert ("QL106", "/20000/role") in {(d["rule"], d["pointer"]) for d in errors}


def test_directory_fifo_and_missing_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "pipe.json")
    doc = check_hostile(tmp_path, "pipe.json", extra=["missing.json"])
    assert [d["rule"] for d in doc["diagnostics"]] == ["QL002", "QL002"]
    assert check_hostile(tmp_path, "sub")["summary"]["files"] == 0


def test_many_files_at_once(tmp_path):
    names = []
    for i in range(50):
        n = f"f{i}.json"
        (tmp_path / n).write_bytes([b"", b"[", b"\xff", b"[]", b'[{"role": "user"}]'][i % 5])
        names.append(n)
    doc = check_hostile(tmp_path, names[0], extra=names[1:])
    assert doc["summary"]["files"] == 50


# --- deep but parseable nesting, in every place -----------------------------------------------

def _nest(depth: int, dicts: bool = False) -> str:
    return ('{"a":' * depth + "1" + "}" * depth) if dicts else ("[" * depth + "]" * depth)


_PLACES = {
    "whole": "{deep}",
    "message": '[{{"role": "user", "content": "x"}}, {deep}]',
    "batch-item": '[[{{"role": "user", "content": "x"}}], {deep}]',
    "record-column": '{{"messages": [{{"role": "user", "content": "x"}}], "images": {deep}}}',
    "content": '[{{"role": "user", "content": {deep}}}]',
    "part": '[{{"role": "user", "content": [{deep}]}}]',
    "part-source": '[{{"role": "user", "content": [{{"type": "image", "image": {deep}}}]}}]',
    "option": '[{{"role": "user", "content": [{{"type": "video", "video": "https://example.com/a.mp4", '
              '"fps": {deep}}}]}}]',
    "unknown-part-key": '[{{"role": "user", "content": [{{"type": "image", '
                        '"image": "https://example.com/a.jpg", "zz": {deep}}}]}}]',
    "typeless-part": '[{{"role": "user", "content": [{{"zz": {deep}}}]}}]',
    "role": '[{{"role": {deep}, "content": "x"}}]',
    "message-key": '[{{"role": "user", "content": "x", "zz": {deep}}}]',
    "single-message-content": '{{"role": "user", "content": {deep}}}',
}
@pytest.mark.parametrize("place, dicts", [
    pytest.param(p, d, id=f"{'objects' if d else 'lists'}-{p}") for d in (False, True) for p in _PLACES])
def test_deep_value_in_every_place(tmp_path, place, dicts):
    depth = 600
    (tmp_path / "d.json").write_text(_PLACES[place].format(deep=_nest(depth, dicts)))
    check_hostile(tmp_path, "d.json", process=True)


# --- text the output cannot carry -------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_lone_surrogate_in_input(tmp_path, fmt):
    (tmp_path / "s.json").write_text(
        '[{"role": "user", "content": [{"type": "image", "image": "https://example.com/a.jpg", '
        '"\\ud800x": 1}]}]')
    code, out, err = _run_process(["--format", fmt, "s.json"], tmp_path)  # last --format wins
    assert code == 1 and "Traceback" not in err and "internal error" not in err, err


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e999"])
def test_json_report_is_strict_json(tmp_path, value):
    (tmp_path / "n.json").write_text(json.dumps([{"role": "user", "content": [
        {"type": "video", "video": "https://example.com/a.mp4", "fps": value}]}]))
    check_hostile(tmp_path, "n.json")


# --- every JSON value in every place (hypothesis) ---------------------------------------------

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_keys = st.one_of(
    st.sampled_from(["role", "content", "type", "text", "image", "video", "audio", "image_url",
                     "video_url", "url", "path", "value", "messages", "conversations", "from",
                     "images", "videos", "instruction", "output", "fps", "max_pixels", "nframes",
                     "图片", "类型", "视频", "a/b", "~1", ""]),
    _text)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(),
                     st.floats(allow_nan=False, allow_infinity=False), _text,
                     st.sampled_from(["user", "assistant", "system", "tool", "image", "video",
                                      "text", "image_url", "video_url", "https://example.com/a.jpg",
                                      "a.jpg", "<image>", "<|image_pad|>", "data:image/png;base64,AA",
                                      "file:///nonexistent.mp4", "2", ""]))
any_json = st.recursive(_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(_keys, kids, max_size=5)), max_leaves=30)

_PART_KEYS = ["type", "text", "image", "video", "audio", "image_url", "video_url", "url", "path",
              "value", "min_pixels", "max_pixels", "fps", "nframes", "total_pixels",
              "resized_height", "sample_fps", "video_start", "input_audio"]


def _placed(where: str, v):
    if where == "file":
        return v
    if where == "message":
        return [{"role": "user", "content": "Hi"}, v]
    if where == "batch-item":
        return [[{"role": "user", "content": "Hi"}], v]
    if where == "content":
        return [{"role": "user", "content": v}]
    if where == "role":
        return [{"role": v, "content": "Hi"}]
    if where == "part":
        return [{"role": "user", "content": [{"type": "text", "text": "Hi"}, v]}]
    if where == "record":
        return {"messages": [{"role": "user", "content": "<image>Hi"}], "images": v}
    kind, key = where.split(":")
    part = {"type": kind, kind: f"https://example.com/a.{'mp4' if kind == 'video' else 'jpg'}"}
    part[key] = v
    return [{"role": "user", "content": [part]}]


_WHERE = (["file", "message", "batch-item", "content", "role", "part", "record"] +
          [f"{k}:{key}" for k in ("image", "video", "text", "image_url", "video_url")
           for key in _PART_KEYS])

HYP = settings(max_examples=150, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                      HealthCheck.data_too_large])


@HYP
@given(st.sampled_from(_WHERE), any_json,
       st.sampled_from([[], ["--target", "transformers"], ["--target", "vllm"],
                        ["--target", "llamafactory"], ["--family", "qwen3-vl"]]),
       st.sampled_from(["x.json", "x.jsonl"]))
def test_any_json_value_in_any_place(tmp_path, where, value, extra, name):
    doc = _placed(where, value)
    text = json.dumps(doc, ensure_ascii=False)
    (tmp_path / name).write_text(text if name.endswith(".json") else text + "\n" + text + "\n",
                                 encoding="utf-8")
    check_hostile(tmp_path, name, extra=extra)


@HYP
@given(st.binary(max_size=300), st.sampled_from(["x.json", "x.jsonl"]))
def test_any_bytes(tmp_path, data, name):
    (tmp_path / name).write_bytes(data)
    check_hostile(tmp_path, name)


@HYP
@given(any_json, st.integers(0, 200))
def test_truncated_json(tmp_path, value, cut):
    text = json.dumps([{"role": "user", "content": [{"type": "text", "text": "x"}, value]}])
    (tmp_path / "t.json").write_text(text[: max(1, len(text) - cut)], encoding="utf-8")
    check_hostile(tmp_path, "t.json")
