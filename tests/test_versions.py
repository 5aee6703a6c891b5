"""Which consumer versions a check models, and that every report says so (consumers/versions.py)."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest
from packaging.version import Version

from qwenlint.consumers import Target
from qwenlint.consumers.versions import MODELLED, parse_assume, resolve

NEWEST = {name: hi for name, (_lo, hi) in MODELLED.items()}


def test_assume_entries_are_parsed_and_checked() -> None:
    assert parse_assume(["transformers==5.23.0", "qwen_vl_utils==0.0.14", "VLLM==0.33.0"]) == {
        "transformers": "5.23.0", "qwen-vl-utils": "0.0.14", "vllm": "0.33.0"}
    with pytest.raises(ValueError, match="NAME==VERSION"):
        parse_assume(["transformers>=5"])
    with pytest.raises(ValueError, match="not a modelled package"):
        parse_assume(["torch==2.4"])
    with pytest.raises(ValueError, match="not a version"):
        parse_assume(["transformers==five"])


def test_order_assume_then_installed_then_framework_pins_then_newest() -> None:
    found = ({"transformers": NEWEST["transformers"], "vllm": NEWEST["vllm"]}, "installed in X")
    v = resolve(["vllm==" + NEWEST["vllm"]], found=found, target=Target.LLAMAFACTORY)
    assert v.packages["vllm"].why == "--assume"
    assert v.packages["transformers"].why == "installed in X"
    assert v.packages["qwen-vl-utils"].why == "the newest modelled"
    pinned = resolve(found=({}, "installed in X"), target=Target.LLAMAFACTORY).packages["transformers"]
    assert pinned.why == "LLaMA-Factory 0.9.5 requires transformers<=5.6.0"
    assert pinned.given == "5.6.0" or pinned.version == Version("5.6.0")


def test_framework_pins_follow_the_assumed_framework_release() -> None:
    # LLaMA-Factory 0.9.4 allows transformers up to 4.57.1 (0.9.5: 5.6.0), and refuses 5.6.0
    v = resolve(["llamafactory==0.9.4"], found=({}, "installed in X"), target=Target.LLAMAFACTORY)
    assert v.packages["transformers"].version == Version("4.57.1")
    assert v.packages["transformers"].why == "LLaMA-Factory 0.9.4 requires transformers<=4.57.1"
    assert v.refused(Target.LLAMAFACTORY, "qwen2.5-vl") == []
    v = resolve(["llamafactory==0.9.4", "transformers==5.6.0"], found=({}, ""), target=Target.LLAMAFACTORY)
    ((assumed, why),) = v.refused(Target.LLAMAFACTORY, "qwen2.5-vl")
    assert assumed.name == "transformers" and "<=4.57.1" in why and "LLaMA-Factory 0.9.4" in why
    v = resolve(["llamafactory==0.9.5", "transformers==5.6.0"], found=({}, ""), target=Target.LLAMAFACTORY)
    assert v.refused(Target.LLAMAFACTORY, "qwen2.5-vl") == []


def test_ms_swift_pins_per_release() -> None:
    # each release's wheel metadata: 3.12.6 transformers<4.58, 4.6.0 <5.20 (newest 5.19.0)
    for release, newest in (("3.12.6", "4.57.6"), ("4.5.0", "5.16.1"), ("4.6.0", "5.19.0")):
        v = resolve([f"ms-swift=={release}"], found=({}, ""), target=Target.MS_SWIFT)
        assert v.packages["transformers"].version == Version(newest)
    v = resolve(["ms-swift==3.12.6", "transformers==5.6.0"], found=({}, ""), target=Target.MS_SWIFT)
    ((assumed, why),) = v.refused(Target.MS_SWIFT, "qwen2.5-vl")
    assert assumed.name == "transformers" and "<4.58" in why


def test_a_version_outside_the_modelled_range_is_said_and_modelled_as_the_nearest() -> None:
    lo, hi = MODELLED["vllm"]
    old = resolve(["vllm==0.1.0"], found=({}, "")).packages["vllm"]
    new = resolve(["vllm==99.0"], found=({}, "")).packages["vllm"]
    assert (old.version, new.version) == (Version(lo), Version(hi))
    assert str(old).startswith("vllm 0.1.0 (--assume) as ") and "is modelled" in str(old)
    inside = resolve(["vllm==" + hi], found=({}, "")).packages["vllm"]
    assert inside.given is None and str(inside) == f"vllm {hi} (--assume)"


def test_describe_names_the_packages_of_the_consumers_used() -> None:
    v = resolve(found=({}, ""))
    assert v.describe([]) == []
    assert [line.split()[0] for line in v.describe([Target.QWEN_VL_UTILS])] == ["qwen-vl-utils", "transformers"]
    assert [line.split()[0] for line in v.describe([Target.VLLM, Target.TRANSFORMERS])] == ["vllm", "transformers"]


def test_installed_versions_are_read_from_another_python(tmp_path) -> None:
    """--python runs the interpreter (isolated, no import of the packages) and reads metadata."""
    here = resolve(python=sys.executable)
    import importlib.metadata as md

    try:
        mine = md.version("transformers")
    except md.PackageNotFoundError:
        mine = None
    if mine is not None:
        assert here.packages["transformers"].why == f"installed in {sys.executable}"
    # a stand-in interpreter that answers with fixed metadata
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho \'{"vllm": "0.33.0", "torch": "2.0"}\'\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    v = resolve(python=str(fake))
    assert v.packages["vllm"].why == f"installed in {fake}"
    with pytest.raises(ValueError, match="did not answer"):
        resolve(python="/bin/true" if os.path.exists("/bin/true") else "true")
    with pytest.raises(ValueError, match="cannot run it"):
        resolve(python=str(tmp_path / "missing"))


# --- every report says what it assumed --------------------------------------------------------

CONV = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_text_json_and_sarif_reports_list_the_assumed_versions(cli, tmp_path) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps(CONV))
    hi = MODELLED["transformers"][1]
    args = ["check", str(f), "--target", "transformers", "--assume", f"transformers=={hi}", "--isolated"]
    text = cli(*args)
    assert text.exit_code == 0 and f"Assumed: transformers {hi} (--assume)." in text.output
    doc = json.loads(cli(*args, "--format", "json").output)
    assert doc["assumed"] == [f"transformers {hi} (--assume)"]
    sarif = json.loads(cli(*args, "--format", "sarif").output)
    assert sarif["runs"][0]["properties"]["assumed"] == [f"transformers {hi} (--assume)"]


def test_bad_assume_and_python_are_usage_errors(cli, tmp_path) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps(CONV))
    assert cli("check", str(f), "--assume", "torch==2", "--isolated").exit_code == 2
    assert cli("check", str(f), "--python", str(tmp_path / "nope"), "--isolated").exit_code == 2


def test_configuration_keys(cli, tmp_path) -> None:
    f = tmp_path / "m.json"
    f.write_text(json.dumps(CONV))
    hi = MODELLED["transformers"][1]
    (tmp_path / "qwenlint.toml").write_text('assume = ["transformers==1.0"]\ntarget = "transformers"\n')
    r = cli("check", str(f), "--config", str(tmp_path / "qwenlint.toml"))
    assert "transformers 1.0 (--assume) as" in r.output
    # a command-line entry wins over the file's
    r = cli("check", str(f), "--config", str(tmp_path / "qwenlint.toml"), "--assume", f"transformers=={hi}")
    assert f"transformers {hi} (--assume)." in r.output
    (tmp_path / "qwenlint.toml").write_text('assume = ["transformers"]\n')
    assert cli("check", str(f), "--config", str(tmp_path / "qwenlint.toml")).exit_code == 2


def test_vllm_args_in_the_configuration(cli, tmp_path) -> None:
    """vllm-args (a string or a list) reaches the check: a flag's effect shows in the verdict."""
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "mm_processor_kwargs": {"max_pixels": 50176}}
    f = tmp_path / "r.json"
    f.write_text(json.dumps(body))
    cfg = tmp_path / "qwenlint.toml"
    cfg.write_text('target = "vllm"\n')
    assert "QL211" in cli("check", str(f), "--config", str(cfg)).output  # untrusted per-request kwargs
    for value in ('"--max-model-len 32k --trust-request-mm-kwargs"', '["--trust-request-mm-kwargs"]'):
        cfg.write_text(f'target = "vllm"\nvllm-args = {value}\n')
        r = cli("check", str(f), "--config", str(cfg))
        assert r.exit_code == 0 and "QL211" not in r.output, r.output
    cfg.write_text('target = "vllm"\nvllm-args = "--no-such-flag"\n')
    assert cli("check", str(f), "--config", str(cfg)).exit_code == 2


def test_tokens_follow_the_assumed_qwen_vl_utils(cli, tmp_path) -> None:
    """Shared reference versions.md: three 300x200 frames are 154 tokens with qwen-vl-utils 0.0.11
    (each frame resized like an image) and 286 with 0.0.14 (the video budget as well);
    tests/differential/test_vision_qvu_versions.py runs both releases for real."""
    from PIL import Image

    Image.new("RGB", (300, 200)).save(tmp_path / "f.png")
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"role": "user", "content": [{"type": "video", "video": ["f.png"] * 3}]}]))
    tokens = {}
    for version in ("0.0.11", "0.0.14"):
        r = cli("tokens", str(f), "--family", "qwen2.5-vl", "--assume", f"qwen-vl-utils=={version}", "--format", "json")
        doc = json.loads(r.output)
        tokens[version] = doc["parts"][0]["tokens"]
        assert doc["assumed"][0] == f"qwen-vl-utils {version} (--assume)"
    assert tokens == {"0.0.11": 154, "0.0.14": 286}
    qwen3 = json.loads(cli("tokens", str(f), "--family", "qwen3-vl", "--assume", "qwen-vl-utils==0.0.11",
                           "--format", "json").output)
    assert "unexpected keyword argument 'image_patch_size'" in qwen3["parts"][0]["error"]


def test_tokens_follow_the_assumed_transformers(cli, tmp_path) -> None:
    """transformers applies a path image's EXIF orientation in apply_chat_template since 5.20, and
    honours a lone call-time max_pixels since 5.18 (tests/differential/test_vision_transformers_versions.py
    runs 5.6.0 and 5.17.0 for real)."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "media"))
    from mediasynth import make_image

    make_image(str(tmp_path / "rot.jpg"), 600, 300, exif_orientation=6)
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"role": "user", "content": [{"type": "image", "image": "rot.jpg"}]}]))
    grids = {}
    for version in ("5.6.0", "5.19.0", "5.20.0", "5.23.0"):
        doc = json.loads(cli("tokens", str(f), "--target", "transformers", "--family", "qwen2.5-vl",
                             "--assume", f"transformers=={version}", "--format", "json").output)
        grids[version] = doc["parts"][0]["grid_thw"]
        assert doc["assumed"] == [f"transformers {version} (--assume)"]
    assert grids["5.6.0"] == grids["5.19.0"] == [1, 22, 42]  # stored sideways: 600 wide
    assert grids["5.20.0"] == grids["5.23.0"] == [1, 42, 22]  # turned upright: 300 wide


def test_vllm_flags_are_read_at_the_assumed_release(cli, tmp_path) -> None:
    """A flag only vLLM 0.34 has: fine at 0.34, a usage error naming --vllm-args at 0.33."""
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
    args = ["check", str(f), "--target", "vllm", "--isolated", "--vllm-args", "--max-num-inflight-kv-loads 2"]
    assert cli(*args, "--assume", "vllm==0.34.0").exit_code == 0
    r = cli(*args, "--assume", "vllm==0.33.0")
    assert r.exit_code == 2 and "--vllm-args" in r.output and "not a vLLM 0.33.0 flag" in r.output, r.output


def test_a_local_file_without_allowed_path_by_vllm_release(cli, tmp_path) -> None:
    """vLLM 0.33 answers a file URL without --allowed-local-media-path with HTTP 500, 0.34 with 400."""
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": f"file://{tmp_path}/a.png"}}]}]}))
    out = {}
    for release in ("0.33.0", "0.34.0"):
        r = cli("check", str(f), "--target", "vllm", "--isolated", "--assume", f"vllm=={release}",
                "--format", "json")
        out[release] = json.dumps(json.loads(r.output)["diagnostics"])
    assert "HTTP 500" in out["0.33.0"] and "HTTP 400" in out["0.34.0"], out


@pytest.mark.parametrize("release, error", [("0.0.11", "IndexError: list index out of range"),
                                            ("0.0.13", "RuntimeError: stack expects a non-empty TensorList"),
                                            ("0.0.14", "ValueError: max_workers must be greater than 0")])
def test_an_empty_frame_list_fails_in_every_qwen_vl_utils_release(cli, tmp_path, release, error) -> None:
    """Each release fails on ``"video": []`` its own way (tests/differential/test_vision_qvu_versions.py
    proves the messages, n=0 included); the check reports it whichever release it assumes."""
    f = tmp_path / "m.json"
    f.write_text(json.dumps([{"role": "user", "content": [{"type": "video", "video": []}]}]))
    r = cli("check", str(f), "--target", "qwen-vl-utils", "--assume", f"qwen-vl-utils=={release}", "--isolated")
    assert r.exit_code == 1 and "QL407" in r.output and error in r.output, r.output
    assert "give the video at least one frame" in r.output


def test_framework_refusals_only_for_versions_the_user_named(cli, tmp_path) -> None:
    """QL613 reports a version the framework refuses when it was named (--assume), never one merely
    installed where qwenlint runs (often not the training environment)."""
    f = tmp_path / "train.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}) + "\n")
    base = ("check", str(f), "--target", "llamafactory", "--family", "qwen2.5-vl", "--isolated")
    named = cli(*base, "--assume", "transformers==5.20.0")
    assert named.exit_code == 1 and "QL613" in named.output and "transformers<=5.6.0" in named.output.replace("!=4.57.0,", "")
    assert "QL613" not in cli(*base, "--assume", "transformers==5.6.0").output
    installed = cli(*base)  # this environment's transformers (5.23 in the test set-up) is not the user's claim
    assert "QL613" not in installed.output
    # ms-swift: qwen-vl-utils depends on the family
    swift = ("check", str(f), "--target", "ms-swift", "--isolated", "--assume", "qwen-vl-utils==0.0.11")
    assert "QL613" not in cli(*swift, "--family", "qwen2.5-vl").output
    assert "QL613" in cli(*swift, "--family", "qwen3-vl").output


def test_rule_versions_in_rules_json_and_sarif(cli, tmp_path) -> None:
    rows = {r["code"]: r for r in json.loads(cli("rules", "--format", "json").output)}
    assert rows["QL211"]["versions"] == ["vllm before 0.34.0", "vllm 0.31.0 and later", "vllm 0.24.0 to before 0.31.0",
                                         "vllm before 0.24.0"]
    assert rows["QL101"]["versions"] == []
    one = json.loads(cli("rule", "QL407", "--format", "json").output)
    assert {"package": "qwen-vl-utils", "since": None, "until": "0.0.13"} == {k: one["versions"][0][k] for k in ("package", "since", "until")}
    f = tmp_path / "m.json"
    f.write_text(json.dumps(CONV))
    sarif = json.loads(cli("check", str(f), "--isolated", "--format", "sarif").output)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["QL407"]["properties"]["versions"][0].startswith("qwen-vl-utils before 0.0.13")
    assert "versions" not in rules["QL101"]["properties"]


def test_framework_refusals_read_from_another_python(cli, tmp_path) -> None:
    """--python names the training environment: its versions are the user's, so QL613 reports them."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho \'{"transformers": "5.20.2"}\'\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    f = tmp_path / "train.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}) + "\n")
    r = cli("check", str(f), "--target", "llamafactory", "--family", "qwen2.5-vl", "--isolated", "--python", str(fake))
    assert r.exit_code == 1 and "QL613" in r.output and f"transformers 5.20.2 (installed in {fake})" in r.output, r.output


def test_family_unknown_to_a_named_transformers(cli, tmp_path) -> None:
    """QL413: a transformers release the user named (--assume, --python) that predates the family,
    below the modelled range too (4.56.2 has no qwen3_vl); never an installed one, never for vLLM
    (it brings its own transformers)."""
    f = tmp_path / "m.json"
    f.write_text(json.dumps(CONV))
    base = ("check", str(f), "--isolated", "--target", "transformers")
    old = cli(*base, "--family", "qwen3-vl", "--assume", "transformers==4.56.2")
    assert old.exit_code == 1 and "QL413" in old.output and "added in 4.57.0" in old.output, old.output
    assert "QL413" not in cli(*base, "--family", "qwen2.5-vl", "--assume", "transformers==4.56.2").output
    assert "QL413" not in cli(*base, "--family", "qwen3-vl", "--assume", "transformers==4.57.6").output
    assert "QL413" not in cli(*base, "--family", "qwen3.5").output  # installed (5.23 in the test set-up)
    vllm = ("check", str(f), "--isolated", "--target", "vllm", "--family", "qwen3.5", "--assume", "transformers==5.1.0")
    assert "QL413" not in cli(*vllm).output
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho \'{"transformers": "5.1.0"}\'\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    named = cli(*base, "--family", "qwen3.5", "--python", str(fake))
    assert "QL413" in named.output and f"transformers 5.1.0 (installed in {fake})" in named.output, named.output
