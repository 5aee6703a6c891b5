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


# --- issue 20: terminal safety ------------------------------------------------------------------

_OSC52 = "\x1b]52;c;aGVsbG8=\x07"  # writes the clipboard of terminals that allow it
_CLEAR = "\x1b[2J"


def _raw_controls(text: str) -> set[str]:
    """Control characters in ``text`` other than newline and tab."""
    return {c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) < 0xa0
            or c in "\u202e\u2066"}


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_escape_sequences_in_roles_are_shown_escaped(tmp_path, fmt):
    (tmp_path / "esc.json").write_text(json.dumps([
        {"role": _OSC52, "content": "hi"}, {"role": _CLEAR, "content": [
            {"type": "image", "image": "https://example.com/a.jpg", "k\u202eey\r": 1}]}]))
    code, out, err = _run_process(["--format", fmt, "esc.json"], tmp_path)
    assert code == 1, err
    assert not _raw_controls(out + err), sorted(_raw_controls(out + err))
    assert "\\x1b]52;c;aGVsbG8=\\x07" in out and "\\x1b[2J" in out  # shown, as repr shows them
    assert "QL109" in out  # the warning that printed the role raw


def test_escape_sequences_in_statistics_and_file_names(tmp_path):
    name = "a\x1b[31mred.json"
    (tmp_path / name).write_text('[{"role": "oops", "content": "hi"}]')
    code, out, err = _run_process(["--statistics", "--format", "text", name], tmp_path)
    assert code == 1 and not _raw_controls(out + err), repr(out + err)
    code, out, err = _run_process(["--format", "text", name], tmp_path)
    assert code == 1 and not _raw_controls(out + err) and "a\\x1b[31mred.json" in out, repr(out)


def test_escape_sequences_in_template_text(tmp_path):
    (tmp_path / "t.jinja").write_text("{{ raise_exception('%s boom %s') }}" % (_CLEAR, _OSC52))
    (tmp_path / "ok.json").write_text('[{"role": "user", "content": "hi"}]')
    for args in (["check", "--template", "t.jinja", "ok.json"], ["template", "t.jinja"]):
        p = subprocess.run([QWENLINT, *args], cwd=tmp_path, capture_output=True, timeout=120,
                           env={**os.environ, "NO_COLOR": "1"})
        out = p.stdout.decode() + p.stderr.decode()
        assert p.returncode == 1 and not _raw_controls(out), (args, sorted(_raw_controls(out)))
        assert "\\x1b[2J boom \\x1b]52;c;aGVsbG8=\\x07" in out, out[-2000:]


def test_printable_escapes_once_and_keeps_text():
    from qwenlint.terminal import printable, printable_text

    assert printable("caf\u00e9 视频 ok") == "caf\u00e9 视频 ok"
    assert printable("a\x1b[2Jb\x07\r\n\t\x9b\u202e") == "a\\x1b[2Jb\\x07\\r\\n\\t\\x9b\\u202e"
    assert printable_text("line 1\n\tline \x1b2") == "line 1\n\tline \\x1b2"


def test_github_annotations_escape_data_and_properties(tmp_path):
    from qwenlint.diagnostics import Diagnostic, Severity
    from qwenlint.report import github

    d = Diagnostic("QL106", "unknown-role", Severity.ERROR, f"role {_OSC52} 50%\r\nnext",
                   file="d,x:y%.json", pointer="/0/a\nb", line=1, column=2, help="h\x1b[2J")
    line = github.annotation(d)
    assert "\n" not in line and "\r" not in line and not _raw_controls(line)
    assert line.startswith("::error file=d%2Cx%3Ay%25.json,line=1,col=2,")
    assert "50%25" in line and "%0Anext" in line and "\\x1b]52" in line


# --- issue 20: only regular files are opened ----------------------------------------------------

def _run_cli(args, cwd: Path, timeout: int = 20):
    """``qwenlint ARGS`` in a process that must end within ``timeout`` (a hang fails the test)."""
    p = subprocess.run([QWENLINT, *map(str, args)], cwd=cwd, capture_output=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def _special(tmp_path: Path, kind: str, name: str) -> str:
    """A FIFO, a device or a socket named ``name`` under ``tmp_path`` (a symlink to the device)."""
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        import socket

        s = socket.socket(socket.AF_UNIX)
        try:
            s.bind(os.path.relpath(path))  # relative: socket paths are short
        except OSError as e:
            pytest.skip(f"cannot make a socket here: {e}")
        finally:
            s.close()
    return name


_OK = '[{"role": "user", "content": "hi"}]'
_SPECIALS = ["fifo", "device", "socket"]


@pytest.mark.parametrize("kind", _SPECIALS)
@pytest.mark.parametrize("option", ["--template", "--framework-config", "--config", "--model"])
def test_special_file_as_an_option_is_a_usage_error(tmp_path, monkeypatch, kind, option):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ok.jsonl").write_text('{"messages": ' + _OK + "}\n")
    if option == "--model":
        (tmp_path / "model").mkdir()
        (tmp_path / "model" / "config.json").write_text('{"model_type": "qwen2_5_vl"}')
        name = "model/" + _special(tmp_path / "model", kind, "preprocessor_config.json")
        value = "model"
    else:
        name = value = _special(tmp_path, kind, "special.yaml")
    extra = ["--target", "llamafactory"] if option == "--framework-config" else []
    code, out, err = _run_cli(["check", *extra, option, value, "ok.jsonl"], tmp_path)
    assert code == 2 and "Traceback" not in err, err
    assert name in err, err  # the message names the file


@pytest.mark.parametrize("kind", _SPECIALS)
def test_special_file_as_the_input_and_pyproject(tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ok.json").write_text(_OK)
    _special(tmp_path, kind, "pyproject.toml")  # discovered up the tree: skipped, not read
    code, out, err = _run_cli(["check", "--format", "json", "sub/ok.json"], tmp_path)
    assert code == 0, err
    name = _special(tmp_path, kind, "input.json")
    code, out, err = _run_cli(["check", "--format", "json", name, "sub/ok.json"], tmp_path)
    assert code == 1 and [d["rule"] for d in json.loads(out)["diagnostics"]] == ["QL002"], out
    code, out, err = _run_cli(["template", "--format", "json", name], tmp_path)
    assert code == 1 and "Traceback" not in err and "not a regular file" in out, (out, err)


@pytest.mark.parametrize("kind", _SPECIALS)
@pytest.mark.parametrize("target", ["qwen-vl-utils", "llamafactory"])
def test_special_file_as_media_is_the_media_diagnostic(tmp_path, kind, target):
    name = _special(tmp_path, kind, "media.png")
    if target == "llamafactory":
        doc = {"messages": [{"role": "user", "content": "<image>hi"},
                            {"role": "assistant", "content": "ok"}], "images": [name]}
        (tmp_path / "d.jsonl").write_text(json.dumps(doc) + "\n")
        pointer = "/images/0"
    else:
        (tmp_path / "d.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": [
            {"type": "image", "image": name}]}]}) + "\n")
        pointer = "/messages/0/content/0/image"
    code, out, err = _run_cli(["check", "--format", "json", "--target", target, "d.jsonl"], tmp_path)
    found = {(d["rule"], d["pointer"]) for d in json.loads(out)["diagnostics"]}
    assert code == 1 and ("QL401", pointer) in found, (found, err)


def test_open_regular_refuses_without_blocking(tmp_path):
    from qwenlint.fsio import open_regular

    os.mkfifo(tmp_path / "p")
    for path in (tmp_path / "p", "/dev/zero"):
        with pytest.raises(OSError, match="not a regular file"):
            open_regular(path)
    (tmp_path / "f").write_bytes(b"x")
    with open_regular(tmp_path / "f") as f:
        assert f.read() == b"x"


# --- issue 20: depth, NaN and long integers in every writer, --fix and --jobs -----------------------

_ALL_OUTPUTS = [["--format", "json"], ["--format", "sarif"], ["--format", "github"],
                ["--format", "text"], ["--jobs", "2", "--format", "json"], ["--diff"], ["--fix"]]


def _check_every_output(tmp_path: Path, name: str, text: str):
    """Check ``text`` (as ``name``, beside a clean file) in every output; return the JSON doc."""
    for extra in _ALL_OUTPUTS:
        (tmp_path / name).write_text(text, encoding="utf-8")
        (tmp_path / "ok.json").write_text(_OK)
        code, out, err = _run_cli(["check", *extra, name, "ok.json"], tmp_path, timeout=120)
        assert code in (0, 1) and "Traceback" not in err and "internal error" not in err, \
            (extra, code, err[-1500:])
        if extra[-1] in ("json", "sarif"):
            _strict_json(out)
    (tmp_path / name).write_text(text, encoding="utf-8")  # as before --fix
    return json.loads(_run_cli(["check", "--format", "json", name], tmp_path)[1])


@pytest.mark.parametrize("depth", [300, 950])
@pytest.mark.parametrize("place", ["image-url-object", "translated-part", "jsonl-message-key"])
def test_deep_values_are_refused_at_their_pointer(tmp_path, depth, place):
    deep = "[" * depth + "]" * depth
    name, text, at = {
        "image-url-object": ("d.json", '[{"role": "user", "content": [{"type": "image_url", '
                             '"image_url": {"url": "https://e.com/a.jpg", "zz": %s}}]}]' % deep,
                             "/0/content/0/image_url/zz"),
        "translated-part": ("d.json", '[{"role": "user", "content": [{"类型": "image", '
                            '"图片": "https://e.com/a.jpg", "zz": %s}]}]' % deep, "/0/content/0/zz"),
        "jsonl-message-key": ("d.jsonl", '{"messages": [{"role": "user", "content": "hi"}]}\n'
                              '{"messages": [{"role": "user", "content": "hi", "zz": %s}]}\n' % deep,
                              "/messages/0/zz"),
    }[place]
    doc = _check_every_output(tmp_path, name, text)
    (d,) = [d for d in doc["diagnostics"] if d["rule"] == "QL004"]
    assert d["pointer"].startswith(at + "/0/0") and d["line"] == (2 if name.endswith("l") else 1)
    from qwenlint.load.limits import MAX_DEPTH

    assert d["pointer"].count("/") == MAX_DEPTH and "nested more than" in d["message"]


def test_nan_and_infinity_deep_in_a_fix_keep_json_and_sarif_valid(tmp_path):
    deep = "[" * 150 + "NaN, Infinity, -Infinity, 1e999" + "]" * 150
    text = ('[{"role": "user", "content": [{"类型": "image", "图片": "https://e.com/a.jpg", '
            '"zz": %s}]}]' % deep)
    doc = _check_every_output(tmp_path, "n.json", text)
    assert "QL202" in {d["rule"] for d in doc["diagnostics"]}  # its fix carries the NaN


@pytest.mark.parametrize("name", ["big.json", "big.jsonl", "stream.json"])
def test_integers_over_python_s_limit_are_a_finding(tmp_path, name, monkeypatch):
    big = "9" * 5000
    conv = '{"role": "user", "content": [{"type": "video", "video": "https://e.com/a.mp4", "fps": %s}]}'
    text, at, line = {
        "big.json": ("[%s]" % (conv % big), "/0/content/0/fps", 1),
        "big.jsonl": ('{"messages": [%s]}\n{"messages": [%s]}\n' % (conv % 1, conv % big),
                      "/messages/0/content/0/fps", 2),
        "stream.json": ('[{"messages": [%s]},\n {"messages": [%s]}]' % (conv % 1, conv % big),
                        "/1/messages/0/content/0/fps", 2),
    }[name]
    doc = _check_every_output(tmp_path, name, text)
    hits = [(d["pointer"], d["line"]) for d in doc["diagnostics"] if d["rule"] == "QL004"]
    assert hits == [(at, line)] and doc["summary"]["files"] == 1
    # the streamed reader (large arrays of records) reports it at the same place
    monkeypatch.setattr(loader, "STREAM_JSON_BYTES", 0)
    if name == "stream.json":
        doc = check_hostile(tmp_path, name)
        assert [(d["pointer"], d["line"]) for d in doc["diagnostics"]
                if d["rule"] == "QL004"] == [(at, line)]


def test_limits_find_the_first_violation_in_document_order():
    from qwenlint.load.limits import LongNumber, loads, violation

    assert violation([{"a": 1}, "x" * 10]) is None
    nested: list = []
    inner = nested
    for _ in range(10):
        inner.append([])
        inner = inner[0]
    assert violation({"a": [1, nested], "b~/": nested}, limit=5)[:2] == ("too-deep-value", "/a/1/0/0/0")
    assert violation({"b~/": nested}, limit=5)[1] == "/b~0~1/0/0/0/0"
    selfish: list = []
    selfish.append(selfish)  # a Python caller's self-containing list ends too
    assert violation(selfish)[0] == "too-deep-value"
    value = loads('{"n": [1, %s]}' % ("1" * 4301))
    assert isinstance(value["n"][1], LongNumber) and violation(value)[:2] == ("long-integer", "/n/1")
    assert violation([10 ** 4400])[0] == "long-integer"


# --- issue 20: one bad file never ends the run ------------------------------------------------------

def _boom_on_bad(real):
    def check(ctx):
        if ctx.file.endswith("bad.json"):
            raise ZeroDivisionError("boom on one file")
        return real(ctx)
    return check


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_file_qwenlint_fails_on_costs_no_other_file_its_report(tmp_path, monkeypatch, fmt):
    import dataclasses

    from qwenlint.rules import REGISTRY

    monkeypatch.setitem(REGISTRY, "QL106", dataclasses.replace(
        REGISTRY["QL106"], check=_boom_on_bad(REGISTRY["QL106"].check)))
    for n in ("a.json", "bad.json", "z.json"):
        (tmp_path / n).write_text('[{"role": "oops", "content": "hi"}]')
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["check", "--format", fmt, "a.json", "bad.json", "z.json"])
    assert r.exit_code == 2, r.output  # an internal failure, said after the whole report
    assert "qwenlint: internal error:" in r.stderr and "boom on one file" in r.stderr
    assert "Traceback" not in r.stderr
    if fmt == "json":
        found = [(d["file"], d["rule"]) for d in json.loads(r.stdout)["diagnostics"]]
        assert ("a.json", "QL106") in found and ("z.json", "QL106") in found
        assert ("bad.json", "QL005") in found and ("bad.json", "QL106") not in found
    else:
        assert "a.json:1:" in r.stdout and "z.json:1:" in r.stdout and "QL005" in r.stdout


def test_a_record_qwenlint_fails_on_is_located(tmp_path, monkeypatch):
    import dataclasses

    from qwenlint.rules import REGISTRY

    real = REGISTRY["QL106"].check

    def check(ctx):
        if any(m.role == "boom" for c in ctx.conversations for m in c.messages):
            raise RecursionError("maximum recursion depth exceeded")
        return real(ctx)

    monkeypatch.setitem(REGISTRY, "QL106", dataclasses.replace(REGISTRY["QL106"], check=check))
    rows = [{"messages": [{"role": r, "content": "hi"}]} for r in ("oops", "boom", "oops")]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["check", "--format", "json", "d.jsonl"])
    assert r.exit_code == 2
    found = [(d["rule"], d["line"]) for d in json.loads(r.stdout)["diagnostics"]]
    assert [f for f in found if f[0] != "QL109"] == [("QL106", 1), ("QL005", 2), ("QL106", 3)], found


# --- issue 20: templates nested past what Jinja and Python compile -----------------------------------

@pytest.mark.parametrize("source, rule", [
    ("{% if true %}" * 1000 + "x" + "{% endif %}" * 1000, "QL301"),  # the parser's recursion
    ("{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}", "QL301"),
    ("{% if true %}" * 120 + "x" + "{% endif %}" * 120, "QL302"),  # Python: 100 nested blocks
    ("{% for a in [1] %}" * 25 + "x" + "{% endfor %}" * 25, "QL302"),  # 20 nested loops
])
def test_deep_templates_are_findings(tmp_path, source, rule):
    (tmp_path / "t.jinja").write_text(source)
    (tmp_path / "ok.json").write_text(_OK)
    code, out, err = _run_cli(["check", "--format", "json", "--template", "t.jinja", "ok.json"],
                              tmp_path, timeout=120)
    assert code == 1 and "internal error" not in err, err
    assert rule in {d["rule"] for d in json.loads(out)["diagnostics"]}, out
    code, out, err = _run_cli(["template", "--format", "json", "t.jinja"], tmp_path, timeout=120)
    assert code == 1 and "internal error" not in err, err


# --- issue 20: no super-linear scan of a data URI ----------------------------------------------------

def test_data_uri_with_a_long_padding_run_is_checked_in_linear_time(tmp_path):
    """200 000 '=' after a data URI's payload took minutes (a regex restarted inside the run);
    the timeout guards against that coming back (it is not a speed measurement)."""
    import base64

    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40).decode()
    for tail in ("=" * 200_000, "=" * 200_000 + "A"):
        (tmp_path / "d.json").write_text(json.dumps([{"role": "user", "content": [
            {"type": "image", "image": f"data:image/png;base64,{png}{tail}"}]}]))
        code, out, err = _run_cli(["check", "--format", "json", "d.json"], tmp_path, timeout=60)
        assert code == 1 and "internal error" not in err, err


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("AB=+/ \n!="), max_size=16))
def test_padding_then_data_is_found_where_the_regex_finds_it(payload):
    import re

    from qwenlint.media.datauri import _pad_then_data

    m = re.search(r"=[\s=]*[A-Za-z0-9+/]", payload)  # the quadratic original, as the reference
    assert _pad_then_data(payload) == (m.start() if m else None)


# --- signals during --jobs (issue 20) ---------------------------------------------------------

@pytest.mark.parametrize("sig, code, said", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "terminated")])
def test_a_jobs_run_ends_cleanly_on_ctrl_c_and_sigterm(tmp_path, sig, code, said):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM to qwenlint
    during ``--jobs 2``: exit 130 / 143 with one line, no traceback from the parent or a worker,
    no leaked-semaphore warning, and no process of the run left behind."""
    import time

    data = tmp_path / "big.jsonl"
    line = json.dumps({"messages": [{"role": "user", "content": "Describe the weather today."},
                                    {"role": "assistant", "content": "Sunny and warm."}]})
    data.write_text((line + "\n") * 200_000, encoding="utf-8")
    proc = subprocess.Popen([QWENLINT, "check", "--isolated", "--jobs", "2", "--no-progress", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    time.sleep(6)  # the pool is up and working (the whole run takes far longer)
    assert proc.poll() is None, proc.communicate()
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err[-2000:]
    assert said in err and "Traceback" not in err and "leaked" not in err, err[-2000:]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the forkserver and the workers go with the parent
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("processes of the run are still alive")
