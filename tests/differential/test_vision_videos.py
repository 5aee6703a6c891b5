"""Video predictions against real qwen-vl-utils ``fetch_video`` + processor, and ``apply_chat_template``.

Tiny H.264 clips are synthesised with PyAV (cached per parameters); frame lists are in-memory PIL
images.  The facts handed to qwenlint are what torchcodec's metadata reports (``num_frames``,
``average_fps``), which is what both libraries read.  Grid, pad count, frame count, frame indices,
Qwen3 timestamp texts, and error class + message must agree exactly.
"""

from __future__ import annotations

import re
import tempfile
from fractions import Fraction

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.vision import ImageFacts, VideoFacts, cause_of, get_profile, predict_video

pytestmark = pytest.mark.differential
ours = real.ours
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-vid-")
_TS = re.compile(r"<\d+\.\d seconds>")

even_sides = st.integers(8, 160).map(lambda v: v * 2)
rates = st.sampled_from([24, 25, 30, Fraction(30000, 1001), 3, 12, 60, Fraction(359, 12)])
budgets = st.one_of(st.integers(1000, 2_000_000), st.sampled_from([3136, 4096, 50176, 65536, 100352, 131072]))
file_options = st.fixed_dictionaries({}, optional={
    "fps": st.one_of(st.sampled_from([0.5, 1, 2, 4, 12.0]), st.floats(0.1, 30, allow_nan=False)),
    "nframes": st.integers(0, 64),
    "min_frames": st.integers(1, 16), "max_frames": st.integers(2, 64),
    "video_start": st.floats(0, 3, allow_nan=False), "video_end": st.floats(0, 4, allow_nan=False),
    "min_pixels": budgets, "max_pixels": budgets, "total_pixels": st.integers(10_000, 50_000_000),
    "resized_height": st.integers(1, 400), "resized_width": st.integers(1, 400),
})


def _summary(pred: object) -> tuple:
    return ([list(pred.grid_thw)], pred.tokens, pred.frames, list(pred.frame_indices or ()), list(pred.extra_text))


def _facts(path: str) -> VideoFacts:
    n, fps, w, h = real.torchcodec_metadata(path)
    return VideoFacts(n, fps, w, h)


def _timestamps(text: str) -> list[str]:
    return _TS.findall(text)


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=even_sides, height=even_sides, rate=rates, frames=st.integers(1, 80), options=file_options,
       do_resize=st.booleans())
def test_qwen_vl_utils_video_files(family: str, width: int, height: int, rate: Fraction, frames: int,
                                   options: dict, do_resize: bool) -> None:
    path = real.synth_video(_DIR, width, height, rate, frames)
    profile = get_profile(family)
    patch = profile.qvu_image_patch_size

    def run() -> tuple:
        r = real.qvu_video(family, path, options, patch, do_resize)
        return (r["video_grid_thw"], r["video_pads"], r["frames"], r["indices"], _timestamps(r["text"]))

    expected = real.outcome(run)
    got = ours(lambda: _summary(predict_video(_facts(path), options, profile, "qwen-vl-utils", do_resize=do_resize)))
    assert got == expected


def test_reader_error_surfaces_as_torchvision_fallback() -> None:
    """qwen-vl-utils swallows the torchcodec reader's error and the fallback reader is gone."""
    path = real.synth_video(_DIR, 64, 48, 24, 17)
    expected = real.outcome(lambda: real.qvu_video("qwen2-vl", path, {"nframes": 32}, 14, True))
    with pytest.raises(Exception) as info:
        predict_video(_facts(path), {"nframes": 32}, get_profile("qwen2-vl"))
    assert ("error", info.value.exc_type, info.value.message) == expected
    assert cause_of(info.value).quoted == "ValueError: nframes should in interval [2, 17], but got 32."


frame_options = st.fixed_dictionaries({}, optional={
    "sample_fps": st.one_of(st.sampled_from([0.25, 1, 2, 3.0, "1"]), st.floats(0.1, 10, allow_nan=False)),
    "raw_fps": st.sampled_from([1, 2.5, 24, "24"]),
    "min_pixels": budgets, "max_pixels": budgets, "total_pixels": st.integers(10_000, 50_000_000),
    "resized_height": st.integers(1, 400), "resized_width": st.integers(1, 400),
    "fps": st.just(2.0),
})


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 700), height=st.integers(1, 700), n=st.integers(0, 9), odd=st.one_of(st.none(),
       st.tuples(st.integers(0, 8), st.integers(1, 700), st.integers(1, 700))), options=frame_options,
       do_resize=st.booleans())
def test_qwen_vl_utils_frame_lists(family: str, width: int, height: int, n: int, odd: tuple | None, options: dict,
                                   do_resize: bool) -> None:
    sizes = [(width, height)] * n
    if odd is not None and odd[0] < n:
        sizes[odd[0]] = odd[1:]
    profile = get_profile(family)

    def run() -> tuple:
        frames = [real.pil_image(w, h) for w, h in sizes]
        r = real.qvu_video(family, frames, options, profile.qvu_image_patch_size, do_resize)
        return (r["video_grid_thw"], r["video_pads"], r["frames"], r["indices"], _timestamps(r["text"]))

    expected = real.outcome(run)
    facts = [ImageFacts(w, h) for w, h in sizes]
    got = ours(lambda: _summary(predict_video(facts, options, profile, "qwen-vl-utils", do_resize=do_resize)))
    assert got == expected


call_kwargs = st.fixed_dictionaries({}, optional={
    "fps": st.sampled_from([0.5, 1, 2, 3.5, 24]),
    "videos_kwargs": st.fixed_dictionaries({}, optional={"fps": st.sampled_from([1, 4]),
                                                         "max_pixels": budgets}),
    "num_frames": st.integers(0, 40),
    "do_sample_frames": st.booleans(),
    "max_pixels": budgets,
    "min_pixels": budgets,
    "do_resize": st.booleans(),
})


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=even_sides, height=even_sides, rate=rates, frames=st.integers(1, 80), kwargs=call_kwargs,
       options=file_options)
def test_transformers_video_files(family: str, width: int, height: int, rate: Fraction, frames: int, kwargs: dict,
                                  options: dict) -> None:
    path = real.synth_video(_DIR, width, height, rate, frames)

    def run() -> tuple:
        r = real.run_chat_template(family, [{"type": "video", "path": path, **options}], **kwargs)
        return (r["video_grid_thw"], r["video_pads"], _timestamps(r["text"]))

    expected = real.outcome(run)

    def mine() -> tuple:
        p = predict_video(_facts(path), options, get_profile(family), "transformers", processor_kwargs=kwargs)
        return ([list(p.grid_thw)], p.tokens, list(p.extra_text))

    assert ours(mine) == expected


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen2.5-omni"])
@pytest.mark.parametrize(("frames", "num_frames"), [(17, 14), (17, 13), (30, 26), (49, 22), (101, 34)])
def test_qwen2vl_arange_quirk(family: str, frames: int, num_frames: int) -> None:
    """``torch.arange(0, total, total / n)`` can give n+1 frames, or an index equal to ``total``."""
    path = real.synth_video(_DIR, 64, 48, 24, frames)
    kwargs = {"num_frames": num_frames}

    def run() -> tuple:
        r = real.run_chat_template(family, [{"type": "video", "path": path}], **kwargs)
        return r["video_grid_thw"], r["video_pads"]

    expected = real.outcome(run)

    def mine() -> tuple:
        p = predict_video(_facts(path), {}, get_profile(family), "transformers", processor_kwargs=kwargs)
        return [list(p.grid_thw)], p.tokens

    assert ours(mine) == expected


_IMG_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-frames-")


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(8, 500), height=st.integers(8, 500), n=st.integers(1, 5),
       orientations=st.lists(st.sampled_from([1, 1, 1, 6]), min_size=5, max_size=5),
       kwargs=st.sampled_from([{}, {"do_sample_frames": False}, {"do_sample_frames": False, "max_pixels": 50000}]))
def test_transformers_frame_lists(family: str, width: int, height: int, n: int, orientations: list[int],
                                  kwargs: dict) -> None:
    """A video given as a list of image paths: loaded with EXIF transpose, stacked, never sampled."""
    paths = [real.write_image(_IMG_DIR, width, height, orientations[i]) for i in range(n)]

    def run() -> tuple:
        r = real.run_chat_template(family, [{"type": "video", "video": paths}], **kwargs)
        return (r["video_grid_thw"], r["video_pads"], _timestamps(r["text"]))

    expected = real.outcome(run)
    facts = [ImageFacts(width, height, orientations[i]) for i in range(n)]

    def mine() -> tuple:
        p = predict_video(facts, {}, get_profile(family), "transformers", processor_kwargs=kwargs)
        return ([list(p.grid_thw)], p.tokens, list(p.extra_text))

    assert ours(mine) == expected
