"""``--swift-args``: ``swift sft`` arguments read as ms-swift 3.12.6 / 4.6.0 read them (its
``HfArgumentParser`` over ``TemplateArguments``; no ms-swift needed here: the differential
test_ms_swift_max_length gives ms-swift's own parser the same arguments), the budget they share
with ``--max-model-len``, and the configuration key ``swift-args``."""

from __future__ import annotations

import json

import pytest

from qwenlint.consumers.ms_swift import Arguments, parse_args
from qwenlint.options import Options

CONV = [{"role": "user", "content": "hi"}]


def test_no_arguments_are_ms_swifts_defaults() -> None:
    assert parse_args("") == parse_args([]) == Arguments(None, "delete", False)
    assert Options().ms_swift() == Arguments(None, "delete", False)


@pytest.mark.parametrize("line", [
    "--max_length 4096 --truncation_strategy left",
    "--max-length 4096 --truncation-strategy left",  # HfArgumentParser adds the hyphenated spelling
    "--max_length=4096 --truncation_strategy=left",
    "swift sft --model Qwen/Qwen2.5-VL-7B-Instruct --max_length 4096 --truncation_strategy left --lora_rank 8",
    "swift rlhf --rlhf_type dpo --max_length 4096 --truncation_strategy left",
    "--max_length 100 --truncation_strategy right --max_length 4096 --truncation_strategy left",  # the last wins
])
def test_the_two_arguments_read(line: str) -> None:
    assert parse_args(line) == Arguments(4096, "left", True)


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
    ("sft.yaml --max_length 10", "does not read ms-swift's config file"),
    ("--config sft.yaml", "does not read ms-swift's config file"),
    ("swift pt --max_length 10", "`swift sft`"),
    ("--max_length '4096", "ms-swift arguments"),
])
def test_values_ms_swift_refuses_are_errors(line: str, says: str) -> None:
    with pytest.raises(ValueError, match=None) as e:
        parse_args(line)
    assert says in str(e.value)


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
