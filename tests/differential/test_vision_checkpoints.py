"""Token predictions with the profile read off a checkpoint, against the checkpoint's real processor.

Each checkpoint is written by the real transformers classes (``_real.tiny_checkpoint``: Qwen3.5,
Qwen3.6, Qwen4-Exp, and copies of the Qwen4-Exp and Qwen2.5-VL ones whose config.json
``model_type`` is one neither library knows).  qwenlint predicts with
``profile_from_model_dir(dir)`` -- nothing from its family tables is passed in -- and the expected
values come from ``AutoProcessor.from_pretrained(dir)``'s ``apply_chat_template(tokenize=True)`` on
drawn image sizes, video shapes and processor kwargs: grid, pad count (the processor's own pad
id), Qwen3 timestamp texts, and error class + message must agree exactly.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.vision import (
    ImageFacts,
    Profile,
    VideoFacts,
    predict_image,
    predict_video,
    profile_from_model_dir,
)

pytestmark = pytest.mark.differential
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-ckpt-media-")
_TS = re.compile(r"<\d+\.\d seconds>")

CHECKPOINTS = ("qwen3.5", "qwen3.6", "qwen4-exp", "renamed-qwen4-exp", "renamed-qwen2.5-vl")


@functools.cache
def _profile(name: str) -> Profile:
    return profile_from_model_dir(real.tiny_checkpoint(name))


def _run(name: str, part: dict, **kwargs: object) -> dict:
    """The checkpoint's processor: ``apply_chat_template`` on one part, pads counted by its own ids."""
    proc = real.checkpoint_processor(name)
    out = proc.apply_chat_template([{"role": "user", "content": [part, {"type": "text", "text": "hi"}]}],
                                   chat_template=real.CHECKPOINT_TEMPLATE, tokenize=True, return_dict=True,
                                   return_tensors="pt", **kwargs)
    ids = out["input_ids"][0]
    return {"image_grid_thw": real.grid_list(out["image_grid_thw"]) if "image_grid_thw" in out else None,
            "video_grid_thw": real.grid_list(out["video_grid_thw"]) if "video_grid_thw" in out else None,
            "image_pads": real.count(ids, proc.image_token_id), "video_pads": real.count(ids, proc.video_token_id),
            "timestamps": _TS.findall(proc.tokenizer.decode(ids))}


def test_the_checkpoints_are_read_as_written() -> None:
    """The renamed copies really have a model type qwenlint does not know, and still load."""
    from qwenlint.vision import MODEL_TYPES

    for name in CHECKPOINTS:
        config = json.loads((Path(real.tiny_checkpoint(name)) / "config.json").read_text())
        assert (config["model_type"] in MODEL_TYPES) is not name.startswith("renamed-")
        p = _profile(name)
        assert p.processor_class == type(real.checkpoint_processor(name)).__name__
        assert any("is not one qwenlint knows" in n for n in p.derived_from) is name.startswith("renamed-")


budgets = st.one_of(st.integers(1, 3_000_000), st.sampled_from([3136, 4096, 50176, 65536, 262144, 1003520]))
image_kwargs = st.one_of(
    st.just({}),
    st.fixed_dictionaries({}, optional={"min_pixels": budgets, "max_pixels": budgets}),
    st.builds(lambda lo, hi: {"size": {"shortest_edge": lo, "longest_edge": hi}}, budgets, budgets),
    st.builds(lambda hi: {"images_kwargs": {"max_pixels": hi}}, budgets),
)


@pytest.mark.parametrize("name", CHECKPOINTS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.one_of(st.integers(1, 80), st.integers(1, 2000)), height=st.one_of(st.integers(1, 80),
       st.integers(1, 2000)), kwargs=image_kwargs)
def test_images(name: str, width: int, height: int, kwargs: dict) -> None:
    path = real.write_image(_DIR, width, height)

    def run() -> tuple:
        r = _run(name, {"type": "image", "path": path}, **kwargs)
        return r["image_grid_thw"], r["image_pads"]

    expected = real.outcome(run)

    def mine() -> tuple:
        p = predict_image(ImageFacts(width, height), {}, _profile(name), "transformers", processor_kwargs=kwargs)
        return [list(p.grid_thw)], p.tokens

    assert real.ours(mine) == expected


even_sides = st.integers(8, 200).map(lambda v: v * 2)
rates = st.sampled_from([24, 25, 30, Fraction(30000, 1001), 3, 12, 60])
video_kwargs = st.fixed_dictionaries({}, optional={
    "fps": st.sampled_from([0.5, 1, 2, 3.5, 24]),
    "num_frames": st.integers(0, 40),
    "do_sample_frames": st.booleans(),
    "max_pixels": st.one_of(st.integers(1000, 2_000_000), st.sampled_from([4096, 50176, 131072])),
    "videos_kwargs": st.fixed_dictionaries({}, optional={"fps": st.sampled_from([1, 4])}),
})


@pytest.mark.parametrize("name", CHECKPOINTS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=even_sides, height=even_sides, rate=rates, frames=st.integers(1, 120), kwargs=video_kwargs)
def test_videos(name: str, width: int, height: int, rate: Fraction, frames: int, kwargs: dict) -> None:
    path = real.synth_video(_DIR, width, height, rate, frames)

    def run() -> tuple:
        r = _run(name, {"type": "video", "path": path}, **kwargs)
        return r["video_grid_thw"], r["video_pads"], r["timestamps"]

    expected = real.outcome(run)

    def mine() -> tuple:
        facts = VideoFacts(*real.torchcodec_metadata(path))
        p = predict_video(facts, {}, _profile(name), "transformers", processor_kwargs=kwargs)
        return [list(p.grid_thw)], p.tokens, list(p.extra_text)

    assert real.ours(mine) == expected


def test_tokens_command_on_a_qwen4_exp_checkpoint(cli, tmp_path) -> None:
    """The measured failure: ``qwenlint tokens --model`` on a qwen4_exp checkpoint predicted with
    the qwen2.5-vl defaults ([107, 24, 12], 7704 tokens: every frame, patch 14); the checkpoint's
    processor gives [9, 20, 10], 450."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "media"))
    from mediasynth import make_video

    make_video(str(tmp_path / "clip.mp4"), 166, 330, 24, 214)
    (tmp_path / "m.json").write_text(json.dumps([{"role": "user", "content": [
        {"type": "video", "video": "clip.mp4"}, {"type": "text", "text": "hi"}]}]))
    real_run = _run("qwen4-exp", {"type": "video", "path": str(tmp_path / "clip.mp4")})
    assert (real_run["video_grid_thw"], real_run["video_pads"]) == ([[9, 20, 10]], 450)  # the measured case
    model = real.tiny_checkpoint("qwen4-exp")
    r = cli("tokens", "--model", model, "--target", "transformers", "--format", "json", str(tmp_path / "m.json"))
    assert r.exit_code == 0, r.output
    part = r.doc["parts"][0]
    assert ([part["grid_thw"]], part["tokens"]) == (real_run["video_grid_thw"], real_run["video_pads"])
    assert r.doc["profile"]["family"] == "qwen4-exp" and r.doc["profile"]["error"] is None
    text = cli("tokens", "--model", model, "--target", "transformers", str(tmp_path / "m.json"))
    assert text.exit_code == 0 and "[9, 20, 10]" in text.output and "Profile: qwen4-exp from" in text.output
