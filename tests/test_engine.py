"""The record loop and the fold: rule scopes, cross-record rules, the run's resources.

The scopes (qwenlint.rules.base.Scope) are applied by the fold, identically with and without
--jobs; a rule of any scope is added without touching the engine (the last test registers one).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import qwenlint
from qwenlint.diagnostics import Severity
from qwenlint.engine import Engine, FileScope, run_serial
from qwenlint.ir import Record
from qwenlint.options import Options
from qwenlint.parallel import run_parallel
from qwenlint.rules import REGISTRY, Finding, Observation, Scope, rule
from qwenlint.vision import profile_from_model_dir

USER = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def _jsonl(path: Path, values) -> Path:
    path.write_text("".join(json.dumps(v) + "\n" for v in values), encoding="utf-8")
    return path


def _both(options: Options, paths) -> tuple[list, list]:
    """(serial, --jobs 2) diagnostics as JSON."""
    paths = [str(p) for p in paths]
    one = run_serial(Engine(options), paths)
    two = run_parallel(Engine(options), paths, jobs=2)
    return [d.to_json() for d in one.diagnostics], [d.to_json() for d in two.diagnostics]


def _rules(diags) -> list[str]:
    return [d["rule"] for d in diags]


def test_run_scope_is_reported_once_per_run(tmp_path):
    tpl = tmp_path / "t.jinja"
    tpl.write_text("{% for m in messages %}{{ m['role'] }}")  # no endfor: QL301
    files = [_jsonl(tmp_path / f"{n}.jsonl", [USER] * 3) for n in "ab"]
    one, two = _both(Options(template=str(tpl)), files)
    assert one == two
    assert _rules(one).count("QL301") == 1
    assert REGISTRY["QL301"].scope is Scope.RUN


def test_file_scope_key_is_reported_once_per_file(tmp_path):
    # LLaMA-Factory reads images only from "images": a singular "image" column on every record is
    # one fact about the file, reported once per file.
    rec = {"messages": [{"role": "user", "content": "<image>hi"}, {"role": "assistant", "content": "ok"}],
           "image": ["a.png"]}
    files = [_jsonl(tmp_path / f"{n}.jsonl", [rec] * 4) for n in "ab"]
    one, two = _both(Options(target="llamafactory", select=("QL607",)), files)
    assert one == two
    assert [(d["rule"], d["file"].rsplit("/", 1)[-1], d["line"]) for d in one] == \
        [("QL607", "a.jsonl", 1), ("QL607", "b.jsonl", 1)]


def test_cross_record_rule_is_concluded_in_file_order(tmp_path):
    def rec(i):
        return {"id": i, "image": "a.png", "conversations": [
            {"from": "human", "value": "<image>q"}, {"from": "gpt", "value": "a"}]}
    path = _jsonl(tmp_path / "d.jsonl", [rec(i % 3) for i in range(7)])
    other = _jsonl(tmp_path / "e.jsonl", [rec(0)])  # ids start afresh in every file
    one, two = _both(Options(target="qwen-finetune", select=("QL606",)), [path, other])
    assert one == two
    assert [(d["line"], d["pointer"]) for d in one] == [(n, "/id") for n in (4, 5, 6, 7)]
    assert "line 1" in one[0]["message"]


def test_model_config_error_is_reported_once(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{not json")
    good = _jsonl(tmp_path / "a.jsonl", [USER])
    bad = tmp_path / "b.json"
    bad.write_text("[{", encoding="utf-8")  # a file whose load problems are checked too
    one, two = _both(Options(model=str(model)), [good, bad])
    assert one == two
    assert _rules(one).count("QL412") == 1 and "QL001" in _rules(one)


def _model_dir(tmp_path: Path, model_type: str) -> str:
    d = tmp_path / model_type
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(json.dumps({"model_type": model_type}))
    return str(d)


def test_the_family_is_the_models_when_not_given(tmp_path):
    audio = [{"role": "user", "content": [{"type": "audio", "audio": "q.wav"},
                                          {"type": "text", "text": "What is said?"}]}]
    vl = qwenlint.check(audio, model=_model_dir(tmp_path, "qwen3_vl"), select=("QL210",))
    assert [d.rule for d in vl.diagnostics] == ["QL210"] and "qwen3-vl" in vl.diagnostics[0].message
    omni = qwenlint.check(audio, model=_model_dir(tmp_path, "qwen2_5_omni_thinker"), select=("QL210",))
    assert omni.diagnostics == []
    assert Engine(Options(model=_model_dir(tmp_path, "qwen3_5"))).run.family == "qwen3.5"
    assert Engine(Options(model=_model_dir(tmp_path, "qwen3_5"), family="qwen3-vl")).run.family == "qwen3-vl"
    assert Engine(Options()).run.family == "qwen2.5-vl"


@pytest.mark.parametrize("model_type,family", [("qwen2_5_omni_thinker", "qwen2.5-omni"),
                                               ("qwen3_omni_moe_thinker", "qwen3-omni")])
def test_omni_thinker_checkpoints_are_read(tmp_path, model_type, family):
    assert profile_from_model_dir(_model_dir(tmp_path, model_type)).family == family


def test_a_dataset_info_json_in_the_parent_decides_the_default_target(tmp_path):
    # A ShareGPT record with a singular "image" key reads as qwen-vl-finetune's format, unless a
    # dataset_info.json declares its file: then it is LLaMA-Factory's, whichever folder the entry
    # is in (the data file's, or its parent) and whether file_name names the file or its folder.
    rec = {"image": "a.png", "conversations": [{"from": "human", "value": "<image>q"},
                                               {"from": "gpt", "value": "a"}]}
    (tmp_path / "sub").mkdir()
    data = _jsonl(tmp_path / "sub" / "d.jsonl", [rec])

    def target() -> str:
        engine = Engine(Options())
        [out] = engine.check_source(engine.read(str(data)), keep=True)
        return out.context.targets[0]

    assert target() == "qwen-finetune"
    (tmp_path / "dataset_info.json").write_text(json.dumps({"d": {"file_name": "sub/d.jsonl"}}))
    assert target() == "llamafactory"
    (tmp_path / "dataset_info.json").write_text(json.dumps({"d": {"file_name": "sub"}}))
    assert target() == "llamafactory"


def test_outcomes_keep_the_context_only_when_asked(tmp_path):
    engine = Engine(Options(max_model_len=100))
    scope = FileScope("<memory>", str(tmp_path))
    kept = engine.check_record(Record(value=USER), scope, keep=True)
    assert kept.context is not None and kept.context.tokens[0].total > 0
    assert engine.check_record(Record(value=USER), scope).context is None


# --- a new cross-record rule: no engine change ----------------------------------------------------

def _same_question(seen: dict, obs: Observation):
    if obs.key in seen:
        yield Finding(obs.value, "an earlier record asks the same question", help="ask something else")
    seen[obs.key] = True


@pytest.fixture
def repeated_question_rule():
    """A file-scope rule with a conclude step, registered for one test (QL699 is unused)."""
    assert "QL699" not in REGISTRY

    @rule("QL699", "repeated-question", Severity.WARNING, "Two records ask the same question.",
          scope=Scope.FILE, conclude=_same_question)
    def repeated_question(ctx):
        """What: x.\n\nWhy: y.\n\nExample: z.\n\nFix: w."""
        for conv in ctx.conversations:
            for m in conv.messages:
                if m.role_name == "user" and m.parts and m.parts[0].text:
                    yield Observation(m.parts[0].text, m.parts[0].pointer)
                    break

    yield REGISTRY["QL699"]
    del REGISTRY["QL699"]


def test_a_cross_record_rule_needs_no_engine_change(tmp_path, repeated_question_rule):
    path = _jsonl(tmp_path / "q.jsonl", [USER, [{"role": "user", "content": "other"}], USER])
    result = run_serial(Engine(Options(select=("QL699",))), [str(path)])
    assert [(d.rule, d.line, d.severity) for d in result.diagnostics] == \
        [("QL699", 3, Severity.WARNING)]
