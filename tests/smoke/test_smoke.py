"""``qwenlint smoke`` against tiny real checkpoints of every family, on CPU.

For each family: a known-good conversation agrees 100 % with the predictions (both pipelines), and
known-bad ones reproduce the real errors and are mapped to the ``qwenlint check`` rule that
predicted them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from qwenlint.cli import main
from qwenlint.options import Options
from qwenlint.smoke import SmokeUnavailable, run_smoke
from qwenlint.vision import get_profile

from .conftest import write_conversation

pytestmark = pytest.mark.differential

#: checkpoint family -> qwenlint family
FAMILIES = {"qwen2-vl": "qwen2-vl", "qwen2.5-vl": "qwen2.5-vl", "qwen3-vl": "qwen3-vl", "qwen3-vl-moe": "qwen3-vl",
            "qwen3.5": "qwen3.5", "qwen2.5-omni": "qwen2.5-omni", "qwen3-omni": "qwen3-omni"}
LONG_TEXT = "Describe what happens here in detail, please."


def _smoke(paths, ckpt, **options):
    return run_smoke([str(p) for p in paths], ckpt, Options(**options), device="cpu", max_new_tokens=1)


def _only(report):
    assert len(report.conversations) == 1
    return report.conversations[0]


@pytest.fixture(params=list(FAMILIES))
def family(request):
    return request.param


def test_good_conversation_agrees_100_percent(family, checkpoint, media_dir):
    ckpt = checkpoint(family)
    good = write_conversation(media_dir, "good.json", [{"type": "image", "image": "img.png"},
                                                      {"type": "video", "video": "clip.mp4"},
                                                      {"type": "text", "text": "Describe."}])
    for target in ("qwen-vl-utils", "transformers"):
        report = _smoke([good], ckpt, target=target)
        row = _only(report)
        assert row.error is None, row.error
        assert row.status == "agree", (target, row.disagreements)
        assert [p.agrees for p in row.parts] == [True, True]
        assert report.summary["agreement"] == 1.0
        assert row.actual_pad_ids == row.predicted_pad_ids
        assert row.generated_tokens == 1
        assert report.error_findings == 0
        assert report.family == FAMILIES[family]


def test_template_without_video_branch(family, checkpoint, media_dir):
    tokens = get_profile(FAMILIES[family]).tokens
    template = media_dir / f"novideo-{family}.jinja"
    template.write_text(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
        "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}"
        f"{tokens.vision_start}{tokens.image_pad}{tokens.vision_end}"
        "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}", encoding="utf-8")
    conv = write_conversation(media_dir, "video.json", [{"type": "image", "image": "img.png"},
                                                       {"type": "video", "video": "clip.mp4"},
                                                       {"type": "text", "text": "Describe."}])
    row = _only(_smoke([conv], checkpoint(family), template=str(template), target="qwen-vl-utils"))
    assert row.error is not None and row.error.kind == "placeholder-count"
    assert f"Found total 0 {tokens.video_pad} tokens and 1 videos" in row.error.message
    assert row.predicted_outcome.startswith("processor raises: 0 video placeholder")
    assert row.predicted_by, "no qwenlint rule predicted the missing video placeholder"
    # the grids still compare (from a probe call with one placeholder per media)
    assert [p.agrees for p in row.parts] == [True, True]


def test_literal_pad_in_user_text(family, checkpoint, media_dir):
    pad = get_profile(FAMILIES[family]).tokens.image_pad
    conv = write_conversation(media_dir, "literal.json", [{"type": "image", "image": "img.png"},
                                                         {"type": "text", "text": f"What is {pad} here?"}])
    row = _only(_smoke([conv], checkpoint(family), target="qwen-vl-utils"))
    assert row.error is not None and row.error.stage == "processor"
    assert f"Found total 2 {pad} tokens and 1 images" in row.error.message
    assert row.predicted_by, "no qwenlint rule predicted the literal pad"


@pytest.mark.parametrize("kind", ["image", "video"])
def test_truncation_reproduces_the_model_error(family, checkpoint, media_dir, kind):
    part = {"type": "image", "image": "img.png"} if kind == "image" else {"type": "video", "video": "clip.mp4"}
    conv = write_conversation(media_dir, f"cut-{kind}.json", [{"type": "text", "text": LONG_TEXT}, part])
    row = _only(_smoke([conv], checkpoint(family), target="qwen-vl-utils", max_model_len=30))
    assert row.truncated_to == 30
    assert row.error is not None and row.error.stage == "model"
    expected = f"{kind.capitalize()} features and {kind} tokens do not match, tokens: 0, features: " \
               f"{row.parts[0].predicted_pads}"
    assert expected in row.error.message
    assert row.parts[0].agrees
    assert row.predicted_by, "no qwenlint rule predicted the truncation"


def test_consumer_crash_is_mapped_to_its_rule(checkpoint, media_dir):
    conv = write_conversation(media_dir, "crash.json", [{"type": "image", "image": {"url": "img.png"}},
                                                       {"type": "text", "text": "hi"}])
    row = _only(_smoke([conv], checkpoint("qwen2.5-vl"), target="qwen-vl-utils"))
    assert row.error is not None and row.error.stage == "qwen-vl-utils"
    assert row.error.line == "AttributeError: 'dict' object has no attribute 'startswith'"
    assert any(p.startswith("QL206 ") for p in row.predicted_by)


def test_cli_text_json_and_exit_codes(family, checkpoint, media_dir):
    ckpt = checkpoint(family)
    good = write_conversation(media_dir, "cli-good.json", [{"type": "image", "image": "img.png"},
                                                          {"type": "text", "text": "Describe."}])
    runner = CliRunner()
    res = runner.invoke(main, ["smoke", good, "--model", ckpt, "--device", "cpu", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["summary"]["agreement"] == 1.0 and doc["summary"]["agree"] == 1
    assert doc["conversations"][0]["parts"][0]["agrees"] is True

    bad = write_conversation(media_dir, "cli-bad.json", [{"type": "text", "text": LONG_TEXT},
                                                        {"type": "image", "image": "img.png"}])
    res = runner.invoke(main, ["smoke", good, "--model", ckpt, "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "=> PASS  100% (1/1 parts)" in res.stdout
    res = runner.invoke(main, ["smoke", bad, "--model", ckpt, "--device", "cpu", "--max-model-len", "30"])
    assert res.exit_code == 1, res.output
    assert "REAL ERROR (model): ValueError: Image features and image tokens do not match, tokens: 0" in res.stdout


def test_cli_usage_errors(checkpoint, media_dir):
    good = write_conversation(media_dir, "u.json", [{"type": "text", "text": "hi"}])
    runner = CliRunner()
    res = runner.invoke(main, ["smoke", good])
    assert res.exit_code == 2 and "--model" in res.output
    res = runner.invoke(main, ["smoke", good, "--model", checkpoint("qwen2-vl"), "--target", "vllm"])
    assert res.exit_code == 2 and "smoke runs only" in res.stderr


def test_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    from qwenlint.smoke import runtime

    with pytest.raises(SmokeUnavailable, match=r"pip install 'qwenlint\[smoke\]'"):
        runtime.require()


def test_checkpoint_generator_module_and_no_heavy_imports(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-m", "qwenlint.checkpoints", "qwen2-vl", str(tmp_path / "ck")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    names = set(os.listdir(tmp_path / "ck"))
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json",
            "chat_template.jinja"} <= names
    probe = ("import sys, qwenlint, qwenlint.cli, qwenlint.smoke, qwenlint.checkpoints\n"
             "qwenlint.check([{'role': 'user', 'content': 'hi'}])\n"
             "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False False", out.stderr


def test_special_tokens_at_real_ids(family, checkpoint):
    from transformers import AutoConfig, AutoProcessor

    ckpt = checkpoint(family)
    proc = AutoProcessor.from_pretrained(ckpt, local_files_only=True)
    tokens = get_profile(FAMILIES[family]).tokens
    cfg = AutoConfig.from_pretrained(ckpt, local_files_only=True)
    image_id = getattr(cfg, "image_token_id", None) or getattr(cfg, "image_token_index")
    assert proc.tokenizer.convert_tokens_to_ids(tokens.image_pad) == tokens.image_pad_id == image_id
    assert proc.tokenizer.convert_tokens_to_ids(tokens.video_pad) == tokens.video_pad_id


#: A ChatML template with image and video branches, for the checkpoint that has no bundled one.
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.mark.parametrize(("family", "options", "detected"), [
    ("qwen3.6", {}, "qwen3.5"),  # model type qwen3_5: read as Qwen3.5 unless told
    ("qwen3.6", {"family": "qwen3.6"}, "qwen3.6"),
    ("qwen4-exp", {}, "qwen4-exp"),
])
def test_qwen36_and_qwen4_exp_checkpoints_agree(family, options, detected, checkpoint_root, media_dir):
    """The real Qwen3.5 / Qwen4-Exp models (Qwen3.6 has Qwen3.5's classes) run a known-good
    conversation through both pipelines, and every grid and pad count agrees with the profile
    read off the checkpoint."""
    from qwenlint.checkpoints import write_checkpoint

    path = os.path.join(checkpoint_root, f"new-{family}")
    if not os.path.isdir(path):
        write_checkpoint(family, path, template=_CHATML if family == "qwen4-exp" else None)
    good = write_conversation(media_dir, "good-new.json", [{"type": "image", "image": "img.png"},
                                                          {"type": "video", "video": "clip.mp4"},
                                                          {"type": "text", "text": "Describe."}])
    for target in ("qwen-vl-utils", "transformers"):
        report = _smoke([good], path, target=target, **options)
        row = _only(report)
        assert row.error is None, row.error
        assert row.status == "agree", (target, row.disagreements)
        assert [p.agrees for p in row.parts] == [True, True]
        assert row.actual_pad_ids == row.predicted_pad_ids
        assert report.family == detected
