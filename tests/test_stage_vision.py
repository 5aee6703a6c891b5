"""The vision stage: one prediction (or VisionError, or Bound) per loaded image and video."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "media"))

from mediasynth import have_av, make_image, make_video  # noqa: E402
import pytest  # noqa: E402
from _stages import run_stages as _ctx  # noqa: E402

from qwenlint.consumers import llamafactory  # noqa: E402
from qwenlint.context import Bound  # noqa: E402
from qwenlint.vision import Prediction, VisionError  # noqa: E402




def _img(tmp_path, w=640, h=480, name="a.png"):
    make_image(str(tmp_path / name), w, h)
    return name


def test_image_prediction_qwen_vl_utils(tmp_path):
    ctx = _ctx(tmp_path, [{"role": "user", "content": [{"type": "image", "image": _img(tmp_path)}]}],
               family="qwen2.5-vl", target="qwen-vl-utils")
    p = ctx.predictions["/0/content/0"]
    assert isinstance(p, Prediction) and p.grid_thw == (1, 34, 46) and p.tokens == 391


def test_transformers_ignores_part_options(tmp_path):
    part = {"type": "image", "image": _img(tmp_path), "max_pixels": 28 * 28 * 4}
    q = _ctx(tmp_path, [{"role": "user", "content": [part]}], target="qwen-vl-utils")
    t = _ctx(tmp_path, [{"role": "user", "content": [part]}], target="transformers")
    assert q.predictions["/0/content/0"].tokens < t.predictions["/0/content/0"].tokens


def test_vision_error_stored(tmp_path):
    part = {"type": "image", "image": _img(tmp_path), "min_pixels": 200000, "max_pixels": 100000}
    ctx = _ctx(tmp_path, [{"role": "user", "content": [part]}], target="qwen-vl-utils")
    e = ctx.predictions["/0/content/0"]
    assert isinstance(e, VisionError) and e.exc_type == "AssertionError"


def test_remote_image_gets_upper_bound(tmp_path):
    ctx = _ctx(tmp_path, [{"role": "user", "content": [{"type": "image", "image": "https://x/a.jpg"}]}])
    b = ctx.predictions["/0/content/0"]
    assert isinstance(b, Bound) and b.tokens == 16384


def test_bad_model_dir_does_not_crash(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{not json")
    ctx = _ctx(tmp_path, [{"role": "user", "content": [{"type": "image", "image": _img(tmp_path)}]}],
               model=str(tmp_path / "m"))
    assert ctx.run.profile_error and ctx.run.profile.family == "qwen2.5-vl"
    assert isinstance(ctx.predictions["/0/content/0"], Prediction)


def test_llamafactory_preresizes_images(tmp_path):
    assert llamafactory.preresize(2000, 1000, 768 * 768, 32 * 32) == (1086, 543)
    assert llamafactory.DEFAULTS.image_size(2000, 1000) == (1086, 543)


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_qwen_finetune_keeps_every_frame_qwen25(tmp_path):
    make_video(str(tmp_path / "v.mp4"), 480, 320, 25, 128)
    rec = {"video": "v.mp4", "conversations": [{"from": "human", "value": "<video>\nq"},
                                               {"from": "gpt", "value": "a"}]}
    # qwen-vl-finetune's own pin (transformers 4.57): its DataArguments' per-frame bounds apply
    ctx = _ctx(tmp_path, [rec], family="qwen2.5-vl", target="qwen-finetune", assume=("transformers==4.57.6",))
    p = ctx.predictions["/0/video"]
    assert p.grid_thw == (64, 28, 40) and p.tokens == 17920  # verified with the real framework
    # transformers 5.4 and later: update_processor_pixels writes no bound, the checkpoint's own apply
    # (tests/differential/test_qwen_finetune.py runs the data processor at 5.23)
    ctx = _ctx(tmp_path, [rec], family="qwen2.5-vl", target="qwen-finetune", assume=("transformers==5.23.0",))
    assert ctx.predictions["/0/video"].grid_thw == (64, 22, 34)
