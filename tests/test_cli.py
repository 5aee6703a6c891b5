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
    ["check", "--extend-select", "QL999", "{f}"],
    ["check", "--output-format", "xml", "{f}"],
    ["check", "-", "{f}"],
    ["check", "--stdin-filename", "x.json", "{f}"],
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


# --- file discovery: what a directory walk reads ---------------------------------------------

# What a training repository holds besides its data: none of it is in a dialect qwenlint reads.
FOREIGN = {
    "out/checkpoint-10/trainer_state.json": {"best_metric": None, "epoch": 1.0, "global_step": 10,
                                             "log_history": [{"loss": 1.25, "step": 10}]},
    "out/checkpoint-10/adapter_config.json": {"base_model_name_or_path": "Qwen/Qwen2.5-VL-7B-Instruct",
                                              "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]},
    "out/all_results.json": {"epoch": 3.0, "train_loss": 0.52},
    "ds_z2_config.json": {"train_batch_size": "auto", "zero_optimization": {"stage": 2},
                          "bf16": {"enabled": "auto"}},
    "editor/settings.json": {"python.defaultInterpreterPath": ".venv/bin/python"},
    "web/app.json": {"name": "demo", "scripts": {"build": "tsc"}, "dependencies": {}},
    "coco/instances.json": [{"id": 1, "image_id": 3, "bbox": [0, 0, 4, 4]}],
    "labels.json": ["cat", "dog"],
    "count.json": 3,
}


def test_walk_skips_json_in_no_dialect_and_reports_it_when_named(q, write, tmp_path):
    write("data/a.json", CLEAN)
    for name, value in FOREIGN.items():
        write(name, value)
    write("out/trainer_log.jsonl", text='{"current_steps": 1, "loss": 2.0}\n{"current_steps": 2}\n')
    r = q("check", "--format", "json", tmp_path)
    assert r.code == 0, r.out
    assert r.doc["summary"]["files"] == 1 and r.doc["diagnostics"] == []
    r = q("check", tmp_path)
    assert f"Skipped {len(FOREIGN) + 1} JSON files in no format qwenlint reads" in r.out
    # Named on the command line, each is still reported (an object: QL101 not-a-conversation).
    for name, value in FOREIGN.items():
        r = q("check", "--format", "json", tmp_path / name)
        assert r.code == 1 and r.doc["summary"]["errors"], name
        assert not isinstance(value, dict) or [d["rule"] for d in r.doc["diagnostics"]] == ["QL101"]


# Broken conversations: a walk reports them, whatever else it skips.
BROKEN_IN_A_WALK = {
    "misspelt_key.json": {"mesages": [{"role": "user", "content": "hi"}]},
    "singular_key.json": {"conversation": [{"from": "human", "value": "hi"}]},
    "wrong_key.json": {"chat": [{"role": "user", "content": "hi"}]},
    "messages_not_a_list.json": {"messages": "hi"},
    "single_message.json": {"role": "user", "content": "hi"},
    "no_role.json": [{"rol": "user", "content": "hi"}],
    "batch.json": BROKEN,
    "part_list.json": [{"type": "image", "image": "a.jpg"}],
    "empty_list.json": [],
    "invalid.json": None,  # not JSON at all
    "first_line.jsonl": None,
}


@pytest.mark.parametrize("name", sorted(BROKEN_IN_A_WALK))
def test_walk_still_reports_broken_conversations(q, write, tmp_path, name):
    if name == "invalid.json":
        write(f"data/{name}", text='{"messages": [}')
    elif name == "first_line.jsonl":
        write(f"data/{name}", text=json.dumps({"mesages": CLEAN}) + "\n" + json.dumps({"messages": CLEAN}) + "\n")
    else:
        write(f"data/{name}", BROKEN_IN_A_WALK[name])
    write("data/trainer_state.json", FOREIGN["out/checkpoint-10/trainer_state.json"])
    r = q("check", "--format", "json", tmp_path / "data")
    assert r.code == 1, r.out
    assert r.doc["summary"]["files"] == 1
    assert {Path(d["file"]).name for d in r.doc["diagnostics"] if d["severity"] == "error"} == {name}


def test_walk_reads_a_file_its_dataset_info_declares_whatever_its_keys(q, write, tmp_path):
    write("data/dataset_info.json", {"demo": {"file_name": "demo.json",
                                              "columns": {"prompt": "q", "response": "a"}}})
    write("data/demo.json", [{"q": "Hi", "a": "Hello"}])
    r = q("check", "--format", "json", tmp_path / "data")
    assert r.doc["summary"]["files"] == 2, r.out  # the registry and the file it declares


def _repo(tmp_path):
    (tmp_path / ".git").mkdir()
    return tmp_path


def _files_of(r) -> list[str]:
    return sorted({Path(d["file"]).as_posix() for d in r.doc["diagnostics"]})


def test_walk_respects_gitignore_files_up_to_the_repository_root(q, write, tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    write(".gitignore", text="outputs/\n*.tmp.json\n# a comment\n")
    write("data/.gitignore", text="!keep.tmp.json\nlegacy\n")
    for name in ("data/a.json", "data/x.tmp.json", "data/keep.tmp.json", "data/legacy/b.json",
                 "outputs/c.json", "data/sub/outputs/d.json"):
        write(name, BROKEN)
    monkeypatch.chdir(repo)
    r = q("check", "--format", "json", "data")  # the root's .gitignore applies above the walk
    assert _files_of(r) == ["data/a.json", "data/keep.tmp.json"]
    r = q("check", "--format", "json", "--no-respect-gitignore", ".")
    assert len(_files_of(r)) == 6
    # Named explicitly, an ignored file is checked; so are the files of an ignored directory.
    assert _files_of(q("check", "--format", "json", "data/x.tmp.json")) == ["data/x.tmp.json"]
    assert _files_of(q("check", "--format", "json", "outputs")) == ["outputs/c.json"]
    (repo / "pyproject.toml").write_text("[tool.qwenlint]\nrespect-gitignore = false\n")
    assert len(_files_of(q("check", "--format", "json", "."))) == 6
    assert len(_files_of(q("check", "--format", "json", "--respect-gitignore", "."))) == 2


def test_gitignore_outside_a_repository_applies_only_below_the_walk(q, write, tmp_path, monkeypatch):
    write(".gitignore", text="*.json\n")  # no .git: this directory is no repository
    write("data/.gitignore", text="b.json\n")
    write("data/a.json", BROKEN)
    write("data/b.json", BROKEN)
    monkeypatch.chdir(tmp_path)
    assert _files_of(q("check", "--format", "json", "data")) == ["data/a.json"]


def test_default_excludes_and_the_exclude_flags(q, write, tmp_path, monkeypatch):
    for name in ("data/a.json", "data/old/b.json", ".venv/lib/c.json", "node_modules/x/d.json",
                 "venv/e.json", ".hidden/f.json", "build/g.json", "data/__pycache__/h.json"):
        write(name, BROKEN)
    monkeypatch.chdir(tmp_path)
    assert _files_of(q("check", "--format", "json", ".")) == ["data/a.json", "data/old/b.json"]
    r = q("check", "--format", "json", ".", "--extend-exclude", "data/old")
    assert _files_of(r) == ["data/a.json"]
    # --exclude replaces the default list: the hidden directory, venv and the rest come back.
    assert len(_files_of(q("check", "--format", "json", ".", "--exclude", "old,node_modules"))) == 6
    # A file named explicitly is checked, excluded or not, unless --force-exclude.
    assert _files_of(q("check", "--format", "json", ".venv/lib/c.json")) == [".venv/lib/c.json"]
    r = q("check", "--format", "json", "--force-exclude", ".venv/lib/c.json", "data/old/b.json",
          "data/a.json", "--extend-exclude", "old")
    assert _files_of(r) == ["data/a.json"]
    assert r.doc["summary"]["files"] == 1


def test_force_exclude_treats_named_files_as_a_walk_does(q, write, tmp_path, monkeypatch):
    """pre-commit names every file: with --force-exclude, a named file in no dialect, a model
    configuration file and a hidden one are left out, and a broken conversation still fails."""
    write("out/trainer_state.json", FOREIGN["out/checkpoint-10/trainer_state.json"])
    write("model/config.json", {"architectures": ["Qwen2VLForConditionalGeneration"]})
    write(".vscode/settings.json", {"editor.formatOnSave": True, "messages": 1})
    write("data/a.json", CLEAN)
    monkeypatch.chdir(tmp_path)
    named = ["out/trainer_state.json", "model/config.json", ".vscode/settings.json", "data/a.json"]
    r = q("check", "--format", "json", "--force-exclude", *named)
    assert r.code == 0 and r.doc["summary"]["files"] == 1, r.out
    assert q("check", "--format", "json", *named).code == 1  # without it: all four are checked
    write("data/b.json", {"mesages": CLEAN})
    r = q("check", "--format", "json", "--force-exclude", *named, "data/b.json")
    assert r.code == 1 and _files_of(r) == ["data/b.json"]


def test_configuration_is_found_per_file(q, write, tmp_path, monkeypatch):
    """The nearest configuration upward from each file, as ruff: its ignores, its
    per-file-ignores relative to it, its excludes; --config and --isolated override for all."""
    write("a/x.json", WARNS)  # QL108
    write("b/x.json", WARNS)
    write("b/legacy/y.json", BROKEN)  # QL102
    write("b/tmp/z.json", BROKEN)
    (tmp_path / "qwenlint.toml").write_text('ignore = ["QL102"]\n')
    (tmp_path / "b" / "pyproject.toml").write_text(
        '[tool.qwenlint]\nextend-exclude = ["tmp"]\n'
        '[tool.qwenlint.per-file-ignores]\n"legacy/*.json" = ["QL102"]\n"x.json" = ["QL108"]\n')
    monkeypatch.chdir(tmp_path)
    r = q("check", "--format", "json", ".")
    # a/ follows the root file (QL102 off); b/ its own (no QL108 for x.json, QL102 off in legacy/,
    # tmp/ left out).
    assert [(d["file"], d["rule"]) for d in r.doc["diagnostics"]] == [("a/x.json", "QL108")]
    assert r.doc["summary"]["files"] == 3 and r.code == 0
    r = q("check", "--format", "json", "b/tmp/z.json")  # named: checked, with b/'s configuration
    assert [d["rule"] for d in r.doc["diagnostics"]] == ["QL102"]
    r = q("check", "--format", "json", "--isolated", ".")
    assert sorted(d["rule"] for d in r.doc["diagnostics"]) == ["QL102", "QL102", "QL108", "QL108"]
    r = q("check", "--format", "json", "--config", "qwenlint.toml", ".")
    assert sorted(d["rule"] for d in r.doc["diagnostics"]) == ["QL108", "QL108"]
    # The same configurations from a subdirectory; statistics add up over the groups.
    monkeypatch.chdir(tmp_path / "b")
    r = q("check", "--format", "json", "--statistics", "..")
    assert r.doc["files"] == 3 and r.doc["conversations"] == 4 and r.doc["rules"][0]["count"] == 1


def test_a_broken_configuration_below_the_working_directory_is_exit_2(q, write, tmp_path, monkeypatch):
    write("sub/x.json", CLEAN)
    (tmp_path / "sub" / "qwenlint.toml").write_text("famly = 1\n")
    monkeypatch.chdir(tmp_path)
    r = q("check", ".")
    assert r.code == 2 and "unknown key 'famly'" in r.err
    _no_traceback(r)


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


# --- --statistics counts only what is reported ---------------------------------------------------

def test_statistics_counts_only_what_per_file_ignores_leave(q, write, tmp_path):
    f = write("data/w.json", WARNS)  # QL108, which per-file-ignores switch off for data/*
    cfg = write("qwenlint.toml", text='[per-file-ignores]\n"data/*.json" = ["QL108"]\n')
    plain = q("check", "--config", cfg, "--statistics", "--format", "json", "--isolated", f).doc
    assert plain["warnings"] == 1 and plain["worst"][0]["warnings"] == 1  # the test can fail
    doc = q("check", "--config", cfg, "--statistics", "--format", "json", f).doc
    assert doc["rules"] == [] and doc["warnings"] == 0
    assert all(w["warnings"] == 0 and w["errors"] == 0 for w in doc["worst"]), doc["worst"]
    text = q("check", "--config", cfg, "--statistics", f).out
    assert "1 warning" not in text and "QL108" not in text


# --- ruff's command-line habits (issue 18) ----------------------------------------------------

FIXABLE = [{"role": "用户", "content": "你好"}, {"role": "system", "content": "Be brief."}]  # QL106 (safe fix), QL108


@pytest.fixture
def qin(monkeypatch):
    """Run the CLI in-process with ``stdin`` as standard input (bytes or text)."""
    monkeypatch.setenv("NO_COLOR", "1")
    runner = CliRunner()

    def run(stdin, *args) -> Run:
        r = runner.invoke(main, [str(a) for a in args], input=stdin, catch_exceptions=False)
        return Run(r.exit_code, r.stdout, r.stderr)

    return run


def test_stdin_is_checked_as_dash(qin):
    r = qin(json.dumps(BROKEN), "check", "-", "--format", "json")
    assert r.code == 1
    assert [(d["rule"], d["file"]) for d in r.doc["diagnostics"]] == [("QL102", "-")]
    assert qin(json.dumps(CLEAN), "check", "-").code == 0


def test_stdin_filename_names_the_file(qin, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = qin(json.dumps(BROKEN), "check", "-", "--stdin-filename", "data/x.json", "--format", "json")
    assert [(d["rule"], d["file"]) for d in r.doc["diagnostics"]] == [("QL102", "data/x.json")]
    assert not (tmp_path / "data").exists()  # nothing written
    # --stdin-filename with no path reads standard input too (as ruff)
    r = qin(json.dumps(BROKEN), "check", "--stdin-filename", "y.json", "--format", "json")
    assert [d["file"] for d in r.doc["diagnostics"]] == ["y.json"]


def test_stdin_filename_suffix_picks_json_lines(qin):
    lines = "\n".join(json.dumps(x) for x in (CLEAN, BROKEN)) + "\n"
    as_jsonl = qin(lines, "check", "-", "--stdin-filename", "d.jsonl", "--format", "json").doc
    assert [(d["rule"], d["line"]) for d in as_jsonl["diagnostics"]] == [("QL102", 2)]
    as_json = qin(lines, "check", "-", "--stdin-filename", "d.json", "--format", "json").doc
    assert [d["rule"] for d in as_json["diagnostics"]] == ["QL001"]  # two documents: invalid JSON


def test_stdin_filename_is_matched_by_per_file_ignores(qin, write):
    cfg = write("qwenlint.toml", text='[per-file-ignores]\n"legacy/*.json" = ["QL102"]\n')
    legacy = str(cfg.parent / "legacy" / "x.json")
    assert qin(json.dumps(BROKEN), "check", "--config", cfg, "-", "--stdin-filename", legacy).code == 0
    other = str(cfg.parent / "new" / "x.json")
    assert qin(json.dumps(BROKEN), "check", "--config", cfg, "-", "--stdin-filename", other).code == 1


def test_stdin_filename_is_the_base_of_relative_media(qin, write):
    write("sub/a.png", raw=b"not a png")
    conv = [{"role": "user", "content": [{"type": "image", "image": "a.png"},
                                         {"type": "text", "text": "hi"}]}]
    here = str(write("sub/x.json", conv))
    rules = [d["rule"] for d in qin(json.dumps(conv), "check", "-", "--stdin-filename", here,
                                    "--format", "json").doc["diagnostics"]]
    assert rules == ["QL402"]  # found next to the named file (and it is not an image)
    elsewhere = str(Path(here).parent.parent / "x.json")
    rules = [d["rule"] for d in qin(json.dumps(conv), "check", "-", "--stdin-filename", elsewhere,
                                    "--format", "json").doc["diagnostics"]]
    assert rules == ["QL401"]


def test_stdin_fix_writes_the_fixed_text_to_stdout(qin, write):
    original = json.dumps(FIXABLE, ensure_ascii=False) + "\n"
    named = write("x.json", text=original)
    r = qin(original.encode("utf-8"), "check", "-", "--stdin-filename", named, "--fix")
    assert r.code == 0
    assert json.loads(r.out) == [{"role": "user", "content": "你好"}, FIXABLE[1]]
    assert r.out == original.replace("用户", "user")  # only the fixed value changed
    assert "QL108" in r.err and "QL106" not in r.err and "fixed 1 issue" in r.err
    assert named.read_text(encoding="utf-8") == original  # the named file is not written
    # nothing to fix: the input comes back unchanged
    clean = json.dumps(CLEAN) + "\n"
    r = qin(clean, "check", "-", "--fix")
    assert r.code == 0 and r.out == clean


def test_stdin_diff(qin):
    r = qin(json.dumps(FIXABLE, ensure_ascii=False), "check", "-", "--stdin-filename", "x.json", "--diff")
    assert r.code == 1
    assert "--- a/x.json" in r.out and '+[{"role": "user"' in r.out


def test_stdin_in_a_real_process(write):
    p = subprocess.run([QWENLINT, "check", "-", "--stdin-filename", "s.json", "--format", "json"],
                       input=json.dumps(BROKEN), capture_output=True, text=True, timeout=120,
                       env={**os.environ, "NO_COLOR": "1"}, cwd=write("clean.json", CLEAN).parent)
    assert p.returncode == 1
    assert [d["file"] for d in json.loads(p.stdout)["diagnostics"]] == ["s.json"]


def test_output_format_is_format(q, write):
    f = write("bad.json", BROKEN)
    a, b = q("check", "--output-format", "json", f), q("check", "--format", "json", f)
    assert a.code == b.code == 1 and a.doc == b.doc
    assert q("check", "--output-format", "github", f).out.startswith("::error ")
    assert q("tokens", "--output-format", "json", write("c.json", CLEAN)).doc


def test_output_format_config_key(q, write):
    f = write("bad.json", BROKEN)
    cfg = write("qwenlint.toml", text='output-format = "json"\n')
    assert [d["rule"] for d in q("check", "--config", cfg, f).doc["diagnostics"]] == ["QL102"]
    assert q("check", "--config", cfg, "--output-format", "github", f).out.startswith("::error ")
    bad = write("bad.toml", text='output-format = "xml"\n')
    r = q("check", "--config", bad, f)
    assert r.code == 2 and "output-format 'xml'" in r.err


def test_quiet_prints_the_diagnostics_only(q, write):
    bad, clean = write("bad.json", BROKEN), write("clean.json", CLEAN)
    loud = q("check", bad)
    assert "Found 1 error" in loud.out and "Assumed:" in loud.out
    r = q("check", "-q", bad)
    assert r.code == 1 and "QL102" in r.out
    assert "Found" not in r.out and "Assumed" not in r.out
    assert r.out.rstrip("\n").splitlines()[-1].startswith("    ")  # ends with the diagnostic
    r = q("check", "--quiet", clean)
    assert r.code == 0 and r.out == "" and r.err == ""
    assert q("check", "-q", "--output-format", "github", bad).out.count("\n") == 1  # no summary line


def test_quiet_fix_prints_no_fixed_line(q, write):
    f = write("x.json", FIXABLE)
    r = q("check", "--fix", "-q", f)
    assert "QL106" not in r.out and "QL108" in r.out and r.err == ""
    assert json.loads(f.read_text(encoding="utf-8"))[0]["role"] == "user"


@pytest.mark.parametrize("flag", ["-s", "--silent"])
def test_silent_prints_nothing_and_keeps_the_exit_status(q, write, flag):
    r = q("check", flag, write("bad.json", BROKEN))
    assert (r.code, r.out, r.err) == (1, "", "")
    assert q("check", flag, write("clean.json", CLEAN)).code == 0
    r = q("check", flag, "--fix", write("x.json", FIXABLE))
    assert (r.code, r.out, r.err) == (0, "", "")
    r = q("check", flag, "--statistics", write("bad2.json", BROKEN))
    assert (r.code, r.out) == (1, "")


def test_show_fixes_without_fix_lists_each_fixable_diagnostic(q, write):
    f = write("x.json", FIXABLE)
    before = f.read_bytes()
    r = q("check", "--show-fixes", f)
    assert r.code == 1
    tail = r.out.split("Fixes (1):", 1)[1]
    assert 'QL106 [safe]' in tail and '/0/role = "user"' in tail
    assert "1 fix available with `--fix`." in tail
    assert f.read_bytes() == before
    unsafe = q("check", "--show-fixes", write("u.json", [{"role": "user", "content": [
        {"type": "img", "image": "https://x/a.jpg"}]}])).out
    assert "0 fixes available with `--fix` (1 more with `--unsafe-fixes`)." in unsafe
    assert "No fixes available." in q("check", "--show-fixes", write("c.json", CLEAN)).out
    assert "Fixes (" not in q("check", f).out  # only when asked


def test_show_fixes_with_fix_enumerates_the_fixes_applied(q, write):
    f = write("x.json", FIXABLE)
    r = q("check", "--fix", "--show-fixes", f)
    assert r.code == 0
    assert r.out.rstrip().endswith(f"Fixed 1 issue:\n- {f}:\n    1 × QL106 (unknown-role)")
    assert "No fixes applied." in q("check", "--fix", "--show-fixes", write("c.json", CLEAN)).out


MANY_RULES = [{"role": "user", "content": [{"type": "imgae", "imgae": "cat.jpg"}]},
              {"role": "system", "content": "Be brief."}]  # QL201 and QL108


@pytest.mark.parametrize("args, expected", [
    (["--select", "QL1"], ["QL108"]),
    (["--select", "QL1", "--extend-select", "QL201"], ["QL108", "QL201"]),
    (["--select", "QL108", "--extend-select", "QL1,unknown-part-type"], ["QL108", "QL201"]),
    (["--extend-select", "QL201"], ["QL108", "QL201"]),  # no select: every rule already is
    (["--select", "QL1", "--extend-select", "QL2", "--ignore", "QL201"], ["QL108"]),
])
def test_extend_select(q, write, args, expected):
    r = q("check", "--format", "json", *args, write("m.json", MANY_RULES))
    assert sorted(d["rule"] for d in r.doc["diagnostics"]) == expected


def test_extend_select_config_key(q, write):
    f = write("m.json", MANY_RULES)

    def rules(*args):
        return sorted(d["rule"] for d in q("check", "--format", "json", *args, f).doc["diagnostics"])

    cfg = write("qwenlint.toml", text='select = ["QL1"]\nextend-select = ["QL2"]\n')
    assert rules("--config", cfg) == ["QL108", "QL201"]
    assert rules("--config", cfg, "--select", "QL108") == ["QL108"]  # --select replaces both
    only = write("only.toml", text='select = ["QL108"]\n')
    assert rules("--config", only) == ["QL108"]
    assert rules("--config", only, "--extend-select", "QL201") == ["QL108", "QL201"]
    bad = write("bad.toml", text='extend-select = ["QL999"]\n')
    r = q("check", "--config", bad, f)
    assert r.code == 2 and "no rule matches 'QL999'" in r.err


def test_no_path_checks_the_current_directory(q, write, tmp_path, monkeypatch):
    write("sub/bad.json", BROKEN)
    monkeypatch.chdir(tmp_path)
    r = q("check", "--format", "json")
    assert r.code == 1
    assert [d["file"] for d in r.doc["diagnostics"]] == [os.path.join("sub", "bad.json")]
    r = q("tokens", "--format", "json")
    assert r.code == 0 and r.doc


def test_debug_after_the_subcommand(q, write, broken_rule):
    f = write("clean.json", CLEAN)
    r = q("check", str(f), "--debug")
    assert r.code == 2 and "Traceback" in r.err and "ZeroDivisionError" in r.err
    assert "Traceback" not in q("check", str(f)).err


def test_color_follows_no_color_and_force_color(write, monkeypatch):
    f = str(write("bad.json", BROKEN))
    runner = CliRunner()  # not a terminal

    def out(**env):
        for k in ("NO_COLOR", "FORCE_COLOR"):
            monkeypatch.delenv(k, raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        return runner.invoke(main, ["check", f]).stdout

    assert "\033[" not in out()
    assert "\033[" in out(FORCE_COLOR="1")
    assert "\033[" not in out(NO_COLOR="1")
    assert "\033[" not in out(NO_COLOR="1", FORCE_COLOR="1")  # NO_COLOR wins
    assert "\033[" not in out(FORCE_COLOR="")  # set but empty: not forced
    assert "\033[" in out(NO_COLOR="", FORCE_COLOR="1")  # set but empty: no effect


def test_help_lists_the_new_flags(q):
    text = q("check", "--help").out
    for flag in ("--stdin-filename", "--output-format", "--format", "-q, --quiet", "-s, --silent",
                 "--show-fixes", "--extend-select", "--debug"):
        assert flag in text, flag


def test_silent_stdin_fix_still_writes_the_fixed_text(qin):
    r = qin(json.dumps(FIXABLE, ensure_ascii=False), "check", "-", "--fix", "-s")
    assert r.code == 0 and r.err == ""
    assert json.loads(r.out)[0]["role"] == "user"
