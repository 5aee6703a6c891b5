"""``--swift-args``: ``swift sft`` / ``swift rlhf`` arguments read as ms-swift 3.12.6 / 4.6.0 read them
(its ``HfArgumentParser`` over ``TemplateArguments`` / ``RLHFArguments``; no ms-swift needed here: the
differential test_ms_swift_max_length and test_ms_swift_rlhf give ms-swift's own parser the same
arguments), the subcommand and ``--rlhf_type``, the budget they share with ``--max-model-len``, and
the configuration key ``swift-args``."""

from __future__ import annotations

import json

import pytest

from qwenlint.consumers.ms_swift import Arguments, parse_args
from qwenlint.options import Options

CONV = [{"role": "user", "content": "hi"}]


def test_no_arguments_are_ms_swifts_defaults() -> None:
    assert parse_args("") == parse_args([]) == Arguments(None, "delete", False, None, None)
    assert Options().ms_swift() == Arguments(None, "delete", False)
    assert Options().ms_swift().mode == "columns" and Options().ms_swift().assumed is None


@pytest.mark.parametrize("line", [
    "--max_length 4096 --truncation_strategy left",
    "--max-length 4096 --truncation-strategy left",  # HfArgumentParser adds the hyphenated spelling
    "--max_length=4096 --truncation_strategy=left",
    "swift sft --model Qwen/Qwen2.5-VL-7B-Instruct --max_length 4096 --truncation_strategy left --lora_rank 8",
    "swift rlhf --rlhf_type dpo --max_length 4096 --truncation_strategy left",
    "--max_length 100 --truncation_strategy right --max_length 4096 --truncation_strategy left",  # the last wins
])
def test_the_two_arguments_read(line: str) -> None:
    args = parse_args(line)
    assert (args.max_length, args.truncation_strategy, args.strategy_given) == (4096, "left", True)


@pytest.mark.parametrize("line, subcommand, rlhf_type, mode", [
    ("--max_length 10", None, None, "columns"),  # no subcommand: the record's columns decide
    ("swift sft --lora_rank 8", "sft", None, "train"),
    ("sft", "sft", None, "train"),
    ("swift rlhf", "rlhf", "dpo", "rlhf"),  # RLHFArguments.rlhf_type's default
    ("rlhf --rlhf_type orpo", "rlhf", "orpo", "rlhf"),
    ("--rlhf-type simpo", "rlhf", "simpo", "rlhf"),  # a bare --rlhf_type is swift rlhf's
    ("swift rlhf --rlhf_type=cpo", "rlhf", "cpo", "rlhf"),
    ("swift rlhf --rlhf_type rm", "rlhf", "rm", "rlhf"),
    ("swift rlhf --rlhf_type dpo --rlhf_type kto", "rlhf", "kto", "kto"),  # the last wins
])
def test_subcommand_and_rlhf_type(line: str, subcommand, rlhf_type, mode) -> None:
    args = parse_args(line)
    assert (args.subcommand, args.rlhf_type, args.mode) == (subcommand, rlhf_type, mode)
    assert args.truncation_strategy == "delete" and Options(swift_args=line).ms_swift() == args


def test_grpo_truncates_left_by_default() -> None:
    """``RLHFArguments._init_grpo``: left when none is given; right refused.  (grpo itself is not
    modelled: ``Options`` refuses it, but ``parse_args`` reads it as ms-swift does.)"""
    assert parse_args("swift rlhf --rlhf_type grpo").truncation_strategy == "left"
    assert parse_args("--rlhf_type grpo --truncation_strategy delete").truncation_strategy == "delete"
    assert parse_args("--rlhf_type kto").truncation_strategy == "delete"
    with pytest.raises(ValueError, match="GRPO requires"):
        parse_args("--rlhf_type grpo --truncation_strategy right")


@pytest.mark.parametrize("line, says", [
    ("swift rlhf --rlhf_type grpo", "does not model"),
    ("--rlhf_type ppo", "does not model"),
    ("--rlhf_type gkd --max_length 10", "does not model"),
    ("--rlhf_type kto --loss_type apo_zero_unpaired", "apo_zero_unpaired"),
])
def test_unmodelled_rlhf_types_are_usage_errors(line: str, says: str) -> None:
    assert parse_args(line).unmodelled()
    with pytest.raises(ValueError, match=says):
        Options(swift_args=line)
    assert parse_args("--rlhf_type kto --loss_type kto").unmodelled() is None


def test_unknown_arguments_and_abbreviations_are_ignored() -> None:
    assert parse_args("--max_len 7 --truncation left --dataset d.jsonl --system 'be brief'") == Arguments()
    # "None" is one of the Literal's choices (make_choice_type_function): the default
    assert parse_args("--truncation_strategy None") == Arguments(None, "delete", False)


@pytest.mark.parametrize("line, says", [
    ("--truncation_strategy raise", "invalid choice: 'raise'"),  # the template's name, not a choice
    ("--truncation_strategy Left", "invalid choice"),
    ("--max_length 4k", "invalid int value: '4k'"),
    ("--max_length", "expected one argument"),
    ("--max_length 0", "positive max_length"),
    ("--truncation_strategy split", "only supported for pre-training"),
    ("missing.yaml --max_length 10", "ms-swift config file missing.yaml"),
    ("--config missing.yaml", "ms-swift config file missing.yaml"),
    ("--config=sft.yaml", "not --config=FILE"),
    ("--config", "requires a yaml file path"),
    ("swift pt --max_length 10", "`swift sft`"),
    ("swift sft --rlhf_type dpo", "remaining_argv"),  # SwiftPipeline._parse_args
    ("--rlhf_type ipo", "invalid choice: 'ipo'"),
    ("--rlhf_type None", "invalid choice"),  # a Literal without None
    ("--max_length '4096", "ms-swift arguments"),
])
def test_values_ms_swift_refuses_are_errors(line: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as e:
        parse_args(line)
    assert says in str(e.value)


def test_config_files_are_expanded_as_the_swift_command_does(tmp_path, monkeypatch) -> None:
    """4.x: the first argument, in place (a later flag wins), ENV read; 3.x: --config, appended (it
    wins); what neither release reads is refused (the differential test runs both releases)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("max_length: 100\ntruncation_strategy: left\nENV:\n  MAX_PIXELS: 200704\n")
    (tmp_path / "b.json").write_text('{"max_length": 50, "dataset": ["x", "y"], "deepspeed": {"a": 1}}')
    (tmp_path / "c.yaml").write_text("max_length: ${oc.env:LEN}\n")
    (tmp_path / "d.yaml").write_text("- a\n- b\n")
    a = parse_args("swift sft a.yaml --max_length 120")
    assert (a.max_length, a.truncation_strategy, a.env) == (120, "left", (("MAX_PIXELS", "200704"),))
    assert parse_args("b.json").max_length == 50
    assert parse_args("--max_length 10 --config b.json").max_length == 50  # appended: the file wins
    for line, says in [("--config a.yaml", "ENV section"), ("--config c.yaml", "interpolations"),
                       ("d.yaml", "expected a mapping")]:
        with pytest.raises(ValueError, match=says):
            parse_args(line)
    # ENV sets what the run's environment does not: the pixel budget ms-swift's reading uses.
    monkeypatch.delenv("MAX_PIXELS", raising=False)
    assert Options(swift_args="a.yaml").ms_swift().env == (("MAX_PIXELS", "200704"),)
    from qwenlint.stages import open_run

    assert open_run(Options(swift_args="a.yaml")).environ["MAX_PIXELS"] == "200704"
    assert open_run(Options(swift_args="a.yaml"), environ={"MAX_PIXELS": "1003520"}).environ["MAX_PIXELS"] == "1003520"


def test_max_length_is_the_budget() -> None:
    assert Options(swift_args="--max_length 4096").max_model_len == 4096
    assert Options(swift_args=["--max_length", "4096"], max_model_len=4096).max_model_len == 4096
    assert Options(swift_args="--truncation_strategy left", max_model_len=100).max_model_len == 100
    with pytest.raises(ValueError, match="disagree"):
        Options(swift_args="--max_length 4096", max_model_len=8192)


def test_command_line(cli, tmp_path) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps(CONV))
    base = ("check", f, "--target", "ms-swift", "--isolated")
    assert cli(*base, "--swift-args", "--max_length 4096 --truncation_strategy right").exit_code == 0
    r = cli(*base, "--swift-args", "--truncation_strategy raise")
    assert r.exit_code == 2 and "--swift-args" in r.output and "invalid choice: 'raise'" in r.output, r.output
    r = cli(*base, "--swift-args", "--max_length 4096", "--max-model-len", "8192")
    assert r.exit_code == 2 and "disagree" in r.output, r.output
    assert cli(*base, "--swift-args", "--max_length 4096", "--max-model-len", "4096").exit_code == 0
    r = cli("tokens", f, "--swift-args", "--max_length 4096", "--max-model-len", "8192")
    assert r.exit_code == 2 and "disagree" in r.output, r.output


def test_configuration(cli, tmp_path) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"role": "user", "content": "word " * 200}]))
    cfg = tmp_path / "qwenlint.toml"

    def run(toml: str, *args: str):
        cfg.write_text('target = "ms-swift"\n' + toml)
        return cli("check", f, "--config", cfg, "--format", "json", *args)

    for value in ('"--max_length 50 --truncation_strategy left"', '["--max_length", "50", "--truncation_strategy", "left"]'):
        r = run(f"swift-args = {value}\n")
        (d,) = [d for d in r.doc["diagnostics"] if d["rule"] == "QL501"]
        assert r.exit_code == 0 and d["severity"] == "warning" and "max_length 50" in d["message"], r.output
    assert run('swift-args = "--truncation_strategy raise"\n').exit_code == 2
    assert run('swift-args = "--max_length 50"\nmax-model-len = 60\n').exit_code == 2  # both in the file
    assert run('swift-args = "--max_length 50"\n', "--max-model-len", "60").exit_code == 2
    # a command-line --swift-args budget replaces the file's max-model-len, as any command-line budget does
    r = run("max-model-len = 60\n", "--swift-args", "--max_length 5000")
    assert r.exit_code == 0 and not [d for d in r.doc["diagnostics"] if d["rule"] == "QL501"], r.output


def test_verdicts_name_the_release_and_the_command(cli, tmp_path) -> None:
    f = tmp_path / "k.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]})
                 + "\n")
    base = ("check", f, "--target", "ms-swift", "--isolated", "--format", "json", "--assume", "ms-swift==3.12.6")
    r = cli(*base, "--swift-args", "swift rlhf --rlhf_type kto")
    (d,) = r.doc["diagnostics"]
    assert d["rule"] == "QL603" and d["data"]["stops"], r.output
    assert "ms-swift 3.12.6 (swift rlhf --rlhf_type kto) stops before training" in d["message"], d
    r = cli(*base, "--swift-args", "swift rlhf")
    (d,) = r.doc["diagnostics"]
    assert "inputs.rejected is None" in d["message"] and "ms-swift 3.12.6 (swift rlhf --rlhf_type dpo) logs" in d["message"]
    assert cli(*base, "--swift-args", "swift sft").doc["diagnostics"] == []
    assert cli(*base).doc["diagnostics"] == []  # no subcommand: a record without rejected columns is swift sft's
    r = cli(*base[:-2], "--swift-args", "swift rlhf --rlhf_type grpo")
    assert r.exit_code == 2 and "does not model" in r.output, r.output
