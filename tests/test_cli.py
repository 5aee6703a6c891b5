"""The command-line contract of design.md: commands, exit codes, the JSON document, positions.

Exit codes: 0 = no error finding; 1 = at least one error finding (an unreadable or unparsable
input file is an error *finding*); 2 = usage error, unreadable configuration or internal failure,
never with a traceback unless ``--debug``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import qwenlint
from qwenlint.cli import main
from qwenlint.rules import REGISTRY

QWENLINT = str(Path(sys.executable).with_name("qwenlint"))
CLEAN = [{"role": "user", "content": [{"type": "image", "image": "https://example.com/a.jpg"},
                                      {"type": "text", "text": "Describe."}]}]
BROKEN = [[{"role": "user", "content": "a"}], {"role": "user", "content": "b"}]  # QL102 at /1
WARNS = [{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."}]  # QL108


@dataclasses.dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def doc(self):
        return json.loads(self.out)


@pytest.fixture
def q(monkeypatch):
    """Run the CLI in-process with stdout and stderr kept apart."""
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def run(*args) -> Run:
        r = runner.invoke(main, [str(a) for a in args], catch_exceptions=False)
        return Run(r.exit_code, r.stdout, r.stderr)

    return run


def sh(*args, cwd=None, timeout=120) -> Run:
    """Run the installed executable, as users and CI do."""
    p = subprocess.run([QWENLINT, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                       timeout=timeout, env={**os.environ, "NO_COLOR": "1"}, stdin=subprocess.DEVNULL)
    return Run(p.returncode, p.stdout, p.stderr)


def _no_traceback(r: Run):
    assert "Traceback" not in r.out + r.err


# --- exit codes -------------------------------------------------------------------------------

def test_clean_file_exits_0(q, write):
    r = q("check", write("clean.json", CLEAN))
    assert r.code == 0, r.out
    assert "All checks passed" in r.out


def test_warnings_only_exit_0(q, write):
    r = q("check", "--format", "json", write("w.json", WARNS))
    assert r.code == 0
    assert [d["rule"] for d in r.doc["diagnostics"]] == ["QL108"]
    assert r.doc["summary"]["warnings"] == 1 and r.doc["summary"]["errors"] == 0


def test_error_file_exits_1(q, write):
    r = q("check", write("bad.json", BROKEN))
    assert r.code == 1
    assert "QL102" in r.out


def test_exit_zero(q, write):
    r = q("check", "--exit-zero", write("bad.json", BROKEN))
    assert r.code == 0 and "QL102" in r.out


@pytest.mark.parametrize("args", [
    ["check", "--family", "qwen9-vl", "{f}"],
    ["check", "--target", "pytorch", "{f}"],
    ["check", "--format", "xml", "{f}"],
    ["check", "--select", "QL999", "{f}"],
    ["check", "--ignore", "no-such-rule", "{f}"],
    ["check", "--select", "QL102,QL9", "{f}"],
    ["check", "--max-model-len", "0", "{f}"],
    ["check", "--media-io-kwargs", "{video", "{f}"],
    ["tokens", "--media-io-kwargs", '{"video": {"fps": "2"}}', "{f}"],
    ["check", "--model", "/nonexistent/model/dir", "{f}"],
    ["check", "--no-such-flag", "{f}"],
    ["check"],
    ["no-such-command"],
    ["rule", "QL999"],
    ["rule", "no-such-rule"],
])
def test_usage_errors_exit_2(q, write, args):
    f = write("clean.json", CLEAN)
    r = q(*[a.replace("{f}", str(f)) for a in args])
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.err.strip(), "a usage error says what is wrong on stderr"
    assert not r.out.strip(), "nothing on stdout (it may be parsed as JSON)"
    _no_traceback(r)


def test_missing_path_is_a_finding_not_a_crash(q, tmp_path):
    missing = tmp_path / "nope.json"
    r = q("check", "--format", "json", missing)
    assert r.code == 1
    (d,) = r.doc["diagnostics"]
    assert d["rule"] == "QL002" and d["severity"] == "error" and d["file"] == str(missing)
    _no_traceback(r)


def test_invalid_json_is_a_finding_at_the_parser_position(q, write):
    r = q("check", "--format", "json", write("bad.json", text='[\n  {"role": "user",}\n]'))
    assert r.code == 1
    (d,) = r.doc["diagnostics"]
    assert (d["rule"], d["line"], d["column"]) == ("QL001", 2, 19)  # the "}" after the trailing comma


def test_directory_is_walked_and_config_files_skipped(q, write, tmp_path):
    write("data/a.json", CLEAN)
    write("data/sub/b.jsonl", text=json.dumps({"messages": CLEAN}) + "\n")
    write("data/config.json", {"architectures": ["Qwen2VLForConditionalGeneration"]})
    write("data/.hidden/c.json", BROKEN)
    write("data/notes.txt", text="not json")
    r = q("check", "--format", "json", tmp_path / "data")
    assert r.code == 0, r.out
    assert r.doc["summary"]["files"] == 2


# --- --format json ----------------------------------------------------------------------------

_DIAG_KEYS = {"rule", "name", "severity", "message", "file", "pointer", "line", "column", "fix"}


def _check_document(doc):
    assert set(doc) >= {"version", "diagnostics", "summary"}
    assert doc["version"] == 1
    assert set(doc["summary"]) >= {"files", "conversations", "errors", "warnings"}
    for d in doc["diagnostics"]:
        assert set(d) >= _DIAG_KEYS, set(d)
        assert d["rule"] in REGISTRY and d["name"] == REGISTRY[d["rule"]].name
        assert d["severity"] in ("error", "warning", "info")
        assert isinstance(d["message"], str) and d["message"]
        assert isinstance(d["pointer"], str) and (d["pointer"] == "" or d["pointer"].startswith("/"))
        assert isinstance(d["line"], int) and d["line"] >= 1
        assert isinstance(d["column"], int) and d["column"] >= 1
        if d["fix"] is not None:
            assert set(d["fix"]) >= {"message", "applicability", "edits"}
            for e in d["fix"]["edits"]:
                assert e["op"] == "replace" and isinstance(e["pointer"], str) and "value" in e
    s = doc["summary"]
    assert s["errors"] == sum(d["severity"] == "error" for d in doc["diagnostics"])
    assert s["warnings"] == sum(d["severity"] == "warning" for d in doc["diagnostics"])


def test_json_document_shape(q, write):
    f1 = write("bad.json", BROKEN)
    f2 = write("warn.json", WARNS)
    f3 = write("clean.json", CLEAN)
    r = q("check", "--format", "json", f1, f2, f3)
    assert r.code == 1
    doc = r.doc
    _check_document(doc)
    assert doc["summary"]["files"] == 3
    assert doc["summary"]["conversations"] == 4  # 2 (batch) + 1 + 1
    got = {(d["rule"], d["file"], d["pointer"]) for d in doc["diagnostics"]}
    assert ("QL102", str(f1), "/1") in got and ("QL108", str(f2), "/1") in got
    d102 = next(d for d in doc["diagnostics"] if d["rule"] == "QL102")
    assert d102["fix"]["edits"] == [{"op": "replace", "pointer": "/1",
                                     "value": [{"role": "user", "content": "b"}]}]


def test_json_file_is_the_path_as_given(q, write, tmp_path, monkeypatch):
    write("sub/bad.json", BROKEN)
    monkeypatch.chdir(tmp_path)
    r = q("check", "--format", "json", "sub/bad.json")
    assert {d["file"] for d in r.doc["diagnostics"]} == {os.path.join("sub", "bad.json")}


def test_json_on_clean_input(q, write):
    r = q("check", "--format", "json", write("clean.json", CLEAN))
    assert r.code == 0
    _check_document(r.doc)
    assert r.doc["diagnostics"] == []
    assert r.doc["summary"] == {"files": 1, "conversations": 1, "errors": 0, "warnings": 0}


def test_installed_executable_prints_the_json_document(write):
    r = sh("check", "--format", "json", write("bad.json", BROKEN))
    assert r.code == 1, r.err
    _check_document(r.doc)
    assert r.err == ""


# --- --select / --ignore ----------------------------------------------------------------------

MANY = [{"role": "user", "content": [{"type": "imgae", "imgae": "https://example.com/a.jpg"}],
         "nmae": "x"},
        {"role": "system", "content": "Be brief."}]  # QL201, QL111, QL108


def _rules(r):
    return sorted({d["rule"] for d in r.doc["diagnostics"]})


@pytest.mark.parametrize("args, expected", [
    ([], ["QL108", "QL111", "QL201"]),
    (["--select", "QL201"], ["QL201"]),
    (["--select", "QL2"], ["QL201"]),
    (["--select", "QL1"], ["QL108", "QL111"]),
    (["--select", "unknown-part-type"], ["QL201"]),
    (["--select", "ql201"], ["QL201"]),
    (["--select", "QL201,QL108"], ["QL108", "QL201"]),
    (["--select", "QL201", "--select", "system-not-first"], ["QL108", "QL201"]),
    (["--select", "ALL"], ["QL108", "QL111", "QL201"]),
    (["--ignore", "QL201"], ["QL108", "QL111"]),
    (["--ignore", "QL1"], ["QL201"]),
    (["--ignore", "system-not-first,unknown-message-key"], ["QL201"]),
    (["--select", "QL1", "--ignore", "QL108"], ["QL111"]),
])
def test_select_and_ignore(q, write, args, expected):
    r = q("check", "--format", "json", *args, write("many.json", MANY))
    assert _rules(r) == expected
    assert r.code == (1 if "QL201" in expected else 0)


# --- rule, rules, schema, --version -----------------------------------------------------------

def test_rule_explains_one_rule(q):
    r = q("rule", "QL102")
    assert r.code == 0
    assert r.out.startswith("QL102 mixed-batch-nesting [error]")
    for section in ("What", "Why", "Example", "Fix"):
        assert f"\n{section}\n" in r.out
    assert q("rule", "mixed-batch-nesting").out == r.out
    assert q("rule", "ql102").out == r.out


def test_rule_json(q):
    r = q("rule", "QL102", "--format", "json")
    doc = json.loads(r.out)
    assert doc["code"] == "QL102" and doc["name"] == "mixed-batch-nesting"
    assert doc["severity"] == "error" and doc["stage"] == "structure"
    assert set(doc["docs"]) == {"What", "Why", "Example", "Fix"}


def test_rules_lists_every_rule(q):
    r = q("rules")
    assert r.code == 0
    codes = [line.split()[0] for line in r.out.splitlines() if line.strip()]
    assert codes == sorted(REGISTRY)
    doc = json.loads(q("rules", "--format", "json").out)
    assert [d["code"] for d in doc] == sorted(REGISTRY)
    assert all(set(d) >= {"code", "name", "severity", "summary", "stage"} for d in doc)


def test_schema_is_a_valid_json_schema(q):
    jsonschema = pytest.importorskip("jsonschema")
    r = q("schema")
    assert r.code == 0
    schema = json.loads(r.out)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    v = cls(schema)
    assert v.is_valid(CLEAN)
    assert v.is_valid([CLEAN, CLEAN])
    assert v.is_valid([{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}]}])
    assert not v.is_valid({"role": "user", "content": "x"})
    assert not v.is_valid([{"role": "user", "content": 5}])
    assert not v.is_valid([{"role": "user", "content": [
        {"type": "video", "video": "a.mp4", "fps": "2"}]}])


def test_version(q):
    r = q("--version")
    assert r.code == 0 and r.out.strip() == f"qwenlint, version {qwenlint.__version__}"


def test_help(q):
    r = q("--help")
    assert r.code == 0
    for cmd in ("check", "rule", "rules", "schema"):
        assert cmd in r.out


# --- internal errors --------------------------------------------------------------------------

def _boom(ctx):
    raise ZeroDivisionError("boom in a rule")


@pytest.fixture
def broken_rule(monkeypatch):
    monkeypatch.setitem(REGISTRY, "QL105", dataclasses.replace(REGISTRY["QL105"], check=_boom))


def test_internal_error_exits_2_without_traceback(q, write, broken_rule):
    r = q("check", "--format", "json", write("clean.json", CLEAN))
    assert r.code == 2
    # The report is printed (the record qwenlint failed on is QL005 in it), then the error.
    assert [d["rule"] for d in json.loads(r.out)["diagnostics"]] == ["QL005"]
    _no_traceback(r)
    lines = r.err.strip().splitlines()
    assert lines[0].startswith("qwenlint: internal error:"), r.err
    assert "QL105" in lines[0] and "ZeroDivisionError" in lines[0] and "boom in a rule" in lines[0]
    # The error is one line; the only other line points at --debug.
    assert len(lines) <= 2 and all("--debug" in line for line in lines[1:]), lines


def test_internal_error_with_debug_shows_the_traceback(q, write, broken_rule):
    r = q("--debug", "check", write("clean.json", CLEAN))
    assert r.code == 2
    assert "Traceback (most recent call last)" in r.err
    assert "ZeroDivisionError: boom in a rule" in r.err


_BROKEN_MAIN = """
import dataclasses, sys
from qwenlint.rules import REGISTRY
def boom(ctx):
    raise ZeroDivisionError("boom in a rule")
REGISTRY["QL105"] = dataclasses.replace(REGISTRY["QL105"], check=boom)
from qwenlint.cli import main
sys.argv = ["qwenlint"] + sys.argv[1:]
main()
"""


@pytest.mark.parametrize("debug", [False, True])
def test_internal_error_in_a_real_process(write, debug):
    f = write("clean.json", CLEAN)
    p = subprocess.run([sys.executable, "-c", _BROKEN_MAIN, *(["--debug"] if debug else []),
                        "check", str(f)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert ("Traceback (most recent call last)" in p.stderr) is debug
    assert "QL005" in p.stdout and "boom in a rule" in p.stdout


def test_closed_stdout_is_not_an_internal_error():
    p = subprocess.Popen([QWENLINT, "schema"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader goes away before qwenlint writes (like `| head -0`)
    p.wait(timeout=120)
    err = p.stderr.read().decode()
    p.stderr.close()
    assert "internal error" not in err, err


# --- text format: file:line:col: CODE ---------------------------------------------------------

def _pos(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    off = -1
    for _ in range(nth + 1):
        off = text.index(needle, off + 1)
    line = text.count("\n", 0, off) + 1
    return line, off - (text.rfind("\n", 0, off) + 1) + 1


MULTILINE = """[
  {
    "role": "user",
    "content": [
      {"type": "text", "text": "Compare:"},
      {"type": "imgae", "imgae": "https://example.com/a.jpg"},
      {"type": "image", "image": "https://example.com/b.jpg",
       "max_pixel": 200704}
    ]
  },
  {"role": "assistant", "content": "ok"},
  {"role": "oops", "content": "x"}
]
"""


def test_text_positions_in_multiline_json(q, write):
    f = write("multi.json", text=MULTILINE)
    r = q("check", f)
    assert r.code == 1
    lines = [line for line in r.out.splitlines() if line.startswith(str(f) + ":")]
    got = {}
    for line in lines:
        loc, rest = line[len(str(f)) + 1:].split(": ", 1)
        ln, col = loc.split(":")
        got[rest.split()[0]] = (int(ln), int(col.rstrip(":")))
    assert got["QL201"] == _pos(MULTILINE, '{"type": "imgae"')
    assert got["QL203"] == _pos(MULTILINE, "200704")
    assert got["QL106"] == _pos(MULTILINE, '"oops"')
    # The JSON report agrees with the text report.
    doc = q("check", "--format", "json", f).doc
    assert {d["rule"]: (d["line"], d["column"]) for d in doc["diagnostics"]
            if d["rule"] in got} == got


def test_text_positions_in_jsonl(q, write):
    rec_ok = json.dumps({"messages": CLEAN})
    rec_bad = json.dumps({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "x"}, {"type": "视频", "视频": "https://example.com/v.mp4"}]}]},
        ensure_ascii=False)
    text = "\n".join([rec_ok, "", rec_bad, "{not json", rec_bad]) + "\n"
    f = write("d.jsonl", text=text)
    r = q("check", f)
    assert r.code == 1
    col = rec_bad.index('{"type": "视频"') + 1
    assert f"{f}:3:{col}: QL202" in r.out
    assert f"{f}:5:{col}: QL202" in r.out
    assert f"{f}:4:" in r.out and "QL001" in r.out
    doc = q("check", "--format", "json", f).doc
    got = sorted((d["rule"], d["pointer"], d["line"], d["column"]) for d in doc["diagnostics"])
    assert ("QL202", "/messages/0/content/1", 3, col) in got
    assert ("QL202", "/messages/0/content/1", 5, col) in got
    assert any(d[0] == "QL001" and d[2] == 4 for d in got)
    assert doc["summary"]["conversations"] == 3


def test_text_summary_line(q, write):
    r = q("check", write("w.json", WARNS), write("bad.json", BROKEN))
    assert "Found 1 error and 1 warning in 2 files (3 conversations)." in r.out
