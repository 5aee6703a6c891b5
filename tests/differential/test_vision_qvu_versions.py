"""qwen-vl-utils 0.0.11 against qwenlint's model of it (``qvu_version``), run for real.

The test set-up (scripts/test.sh) installs qwen-vl-utils 0.0.11 beside the environment's 0.0.14,
with ``pip install --no-deps --target .versions/qwen-vl-utils-0.0.11`` (``QWENLINT_QVU_0011`` names
another copy); its ``vision_process.py`` is loaded here under its own module name, so both
releases run in one process with the same torch, torchvision and transformers 5.23 processors.

The recipe of 0.0.11's time (the Qwen2.5-VL README of April 2025): ``process_vision_info(messages)``
(no ``image_patch_size``: the Qwen3 README's ``image_patch_size=16`` is a ``TypeError``), then the
processor with ``do_sample_frames=False`` and the drawn ``do_resize``.  Compared exactly, as for
0.0.14 in test_vision_images.py / test_vision_videos.py: grid, pad count, frame count, or the error
class and message.  The ``fps`` list of ``return_video_kwargs`` is not passed (transformers 5.23
rejects it for every release: see vision/predict.py).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from qwenlint.vision import ImageFacts, VideoFacts, get_profile, predict_image, predict_video

pytestmark = pytest.mark.differential
ours = real.ours
V0011 = Version("0.0.11")
REPO = Path(__file__).resolve().parents[2]
SOURCE = Path(os.environ.get("QWENLINT_QVU_0011")
              or REPO / ".versions" / "qwen-vl-utils-0.0.11" / "qwen_vl_utils" / "vision_process.py")
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-qvu011-")


def _load():
    if not SOURCE.is_file():
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise FileNotFoundError(f"QWENLINT_REQUIRE_DIFF=1 but qwen-vl-utils 0.0.11 is not at {SOURCE} "
                                    "(scripts/test.sh installs it)")
        pytest.skip(f"qwen-vl-utils 0.0.11 is not at {SOURCE}", allow_module_level=True)
    spec = importlib.util.spec_from_file_location("qwen_vl_utils_0_0_11", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


old = _load()


def test_it_is_the_old_release() -> None:
    assert old.IMAGE_FACTOR == 28 and not hasattr(old, "IMAGE_MIN_TOKEN_NUM")
    with pytest.raises(TypeError, match="image_patch_size"):
        old.process_vision_info([{"role": "user", "content": "hi"}], image_patch_size=16)


budgets = st.one_of(st.integers(1, 3_000_000), st.sampled_from([784, 3136, 4096, 50176, 65536, 262144, 1003520]))
part_options = st.fixed_dictionaries({}, optional={
    "min_pixels": budgets, "max_pixels": budgets,
    "resized_height": st.integers(1, 2000), "resized_width": st.integers(1, 2000),
})


def _recipe(family: str, messages: list) -> tuple:
    """``process_vision_info`` as the family's README calls it."""
    patch = get_profile(family).qvu_image_patch_size
    if patch != 14:
        return old.process_vision_info(messages, image_patch_size=patch, return_video_kwargs=True)
    return old.process_vision_info(messages, return_video_kwargs=True)


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.one_of(st.integers(1, 80), st.integers(1, 2200)), height=st.one_of(st.integers(1, 80), st.integers(1, 2200)),
       options=part_options, do_resize=st.booleans())
def test_images(family: str, width: int, height: int, options: dict, do_resize: bool) -> None:
    def run() -> tuple:
        images, _videos, _kw = _recipe(family, [{"role": "user", "content": [
            {"type": "image", "image": real.pil_image(width, height), **options}]}])
        start, pad, _, end = real.placeholders(family)
        r = real.run_processor(family, f"{start}{pad}{end}", images=images, do_resize=do_resize)
        return r["image_grid_thw"], r["image_pads"]

    expected = real.outcome(run)

    def predicted() -> tuple:
        p = predict_image(ImageFacts(width, height), options, get_profile(family), "qwen-vl-utils",
                          do_resize=do_resize, qvu_version=V0011)
        return [list(p.grid_thw)], p.tokens

    assert ours(predicted) == expected


frame_options = st.fixed_dictionaries({}, optional={
    "min_pixels": budgets, "max_pixels": budgets,
    "resized_height": st.integers(1, 400), "resized_width": st.integers(1, 400),
    "fps": st.sampled_from([1.0, 2.0]),
})


def _video_summary(r: dict) -> tuple:
    return r["video_grid_thw"], r["video_pads"]


def _predicted_video(media, options: dict, family: str, do_resize: bool) -> tuple:
    p = predict_video(media, options, get_profile(family), "qwen-vl-utils", do_resize=do_resize, qvu_version=V0011)
    return [list(p.grid_thw)], p.tokens


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 700), height=st.integers(1, 700), n=st.integers(1, 9), odd=st.one_of(st.none(),
       st.tuples(st.integers(0, 8), st.integers(1, 700), st.integers(1, 700))), options=frame_options,
       do_resize=st.booleans())
def test_frame_lists(family: str, width: int, height: int, n: int, odd: tuple | None, options: dict,
                     do_resize: bool) -> None:
    sizes = [(width, height)] * n
    if odd is not None and odd[0] < n:
        sizes[odd[0]] = odd[1:]

    def run() -> tuple:
        frames = [real.pil_image(w, h) for w, h in sizes]
        _images, videos, _kw = _recipe(family, [{"role": "user", "content": [
            {"type": "video", "video": frames, **options}]}])
        start, _, pad, end = real.placeholders(family)
        return _video_summary(real.run_processor(family, f"{start}{pad}{end}", videos=videos,
                                                 do_sample_frames=False, do_resize=do_resize))

    expected = real.outcome(run)
    got = ours(lambda: _predicted_video([ImageFacts(w, h) for w, h in sizes], options, family, do_resize))
    assert got == expected


file_options = st.fixed_dictionaries({}, optional={
    "fps": st.sampled_from([0.5, 1, 2, 4]),
    "nframes": st.integers(0, 40),
    "min_pixels": budgets, "max_pixels": budgets, "total_pixels": st.integers(10_000, 50_000_000),
    "resized_height": st.integers(1, 400), "resized_width": st.integers(1, 400),
})


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen2.5-omni"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(8, 200).map(lambda v: v * 2), height=st.integers(8, 200).map(lambda v: v * 2),
       rate=st.sampled_from([Fraction(2), Fraction(10), Fraction(30000, 1001)]), frames=st.integers(2, 60),
       options=file_options, do_resize=st.booleans())
def test_video_files(family: str, width: int, height: int, rate: Fraction, frames: int, options: dict,
                     do_resize: bool) -> None:
    path = real.synth_video(_DIR, width, height, rate, frames)

    def run() -> tuple:
        _images, videos, _kw = _recipe(family, [{"role": "user", "content": [
            {"type": "video", "video": path, **options}]}])
        start, _, pad, end = real.placeholders(family)
        return _video_summary(real.run_processor(family, f"{start}{pad}{end}", videos=videos,
                                                 do_sample_frames=False, do_resize=do_resize))

    expected = real.outcome(run)
    n, fps, w, h = real.torchcodec_metadata(path)
    got = ours(lambda: _predicted_video(VideoFacts(n, fps, w, h), options, family, do_resize))
    assert got == expected
