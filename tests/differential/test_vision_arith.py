"""The pure arithmetic of ``qwenlint.vision`` against the real functions, value for value and error for error."""

from __future__ import annotations

import math

import _real as real  # first: it skips this module when the real libraries are missing
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import Qwen2VLVideoProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor
from transformers.models.qwen2_vl.image_processing_qwen2_vl import (
    smart_resize as real_hf_resize,
)
from transformers.models.qwen3_vl.video_processing_qwen3_vl import (
    smart_resize as real_q3_resize,
)
from transformers.video_utils import VideoMetadata

from qwenlint.vision import (
    calculate_video_frame_range,
    hf_smart_resize,
    qvu_linspace_indices,
    qvu_smart_resize,
    qwen2vl_sample_frames,
    qwen3_timestamps,
    qwen3_video_smart_resize,
    qwen3vl_sample_frames,
    smart_nframes,
)

pytestmark = pytest.mark.differential
ours = real.ours
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MEDIUM = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sides = st.one_of(st.integers(1, 64), st.integers(1, 8000))
pixels = st.one_of(st.none(), st.integers(0, 40_000_000), st.sampled_from([3136, 50176, 65536, 4096, 12845056, 16777216]),
                   st.floats(1, 1e7, allow_nan=False))
factors = st.sampled_from([28, 32, 56, 64])


@FAST
@given(h=sides, w=sides, factor=factors, lo=st.integers(1, 2_000_000), hi=st.integers(1, 40_000_000))
def test_hf_smart_resize(h: int, w: int, factor: int, lo: int, hi: int) -> None:
    assert ours(lambda: hf_smart_resize(h, w, factor, lo, hi)) == real.outcome(lambda: real_hf_resize(h, w, factor, lo, hi))


@FAST
@given(h=sides, w=sides, factor=factors, lo=pixels, hi=pixels)
def test_qvu_smart_resize(h: int, w: int, factor: int, lo: object, hi: object) -> None:
    expected = real.outcome(lambda: real.qvu.smart_resize(h, w, factor, lo, hi))
    assert ours(lambda: qvu_smart_resize(h, w, factor, lo, hi)) == expected


@FAST
@given(t=st.integers(0, 800), h=sides, w=sides, factor=st.sampled_from([28, 32]), lo=st.integers(1, 10**6),
       hi=st.integers(1, 10**9))
def test_qwen3_video_smart_resize(t: int, h: int, w: int, factor: int, lo: int, hi: int) -> None:
    expected = real.outcome(lambda: real_q3_resize(t, h, w, 2, factor, lo, hi))
    assert ours(lambda: qwen3_video_smart_resize(t, h, w, 2, factor, lo, hi)) == expected


frame_values = st.one_of(st.integers(0, 900), st.floats(0, 900, allow_nan=False), st.sampled_from(["4", None]))
nframe_options = st.fixed_dictionaries({}, optional={
    "fps": st.one_of(st.floats(0.05, 60, allow_nan=False), st.integers(0, 60), st.just("2")),
    "nframes": st.one_of(st.integers(0, 400), st.floats(0, 400, allow_nan=False)),
    "min_frames": frame_values, "max_frames": frame_values,
})


@FAST
@given(options=nframe_options, total=st.integers(1, 5000), fps=st.floats(0.5, 120, allow_nan=False))
def test_smart_nframes(options: dict, total: int, fps: float) -> None:
    expected = real.outcome(lambda: real.qvu.smart_nframes(dict(options), total, fps))
    assert ours(lambda: smart_nframes(dict(options), total, fps)) == expected


times = st.one_of(st.none(), st.floats(-5, 200, allow_nan=False), st.integers(-5, 200))


@FAST
@given(start=times, end=times, total=st.integers(1, 5000), fps=st.floats(0.5, 120, allow_nan=False))
def test_calculate_video_frame_range(start: object, end: object, total: int, fps: float) -> None:
    options = {k: v for k, v in (("video_start", start), ("video_end", end)) if v is not None}
    expected = real.outcome(lambda: real.qvu.calculate_video_frame_range(options, total, fps))
    assert ours(lambda: calculate_video_frame_range(options, total, fps)) == expected


@FAST
@given(start=st.integers(0, 20000), length=st.integers(1, 20000), steps=st.integers(2, 800))
def test_qvu_linspace_indices(start: int, length: int, steps: int) -> None:
    end = start + length
    expected = torch.linspace(start, end, steps).round().long().tolist()
    assert qvu_linspace_indices(start, end, steps) == expected


_q2 = Qwen2VLVideoProcessor()
_q3 = Qwen3VLVideoProcessor()


@MEDIUM
@given(total=st.integers(1, 3000), video_fps=st.one_of(st.none(), st.floats(1, 120, allow_nan=False)),
       num_frames=st.one_of(st.none(), st.integers(0, 400)), fps=st.one_of(st.none(), st.floats(0.1, 30, allow_nan=False)),
       min_frames=st.integers(1, 16), max_frames=st.integers(2, 800))
def test_qwen2vl_sample_frames(total: int, video_fps: float | None, num_frames: int | None, fps: float | None,
                               min_frames: int, max_frames: int) -> None:
    def run() -> list[int]:
        meta = VideoMetadata(total_num_frames=total, fps=video_fps)
        return _q2.sample_frames(meta, temporal_patch_size=2, min_frames=min_frames, max_frames=max_frames,
                                 num_frames=num_frames, fps=fps).tolist()

    expected = real.outcome(run)
    got = ours(lambda: qwen2vl_sample_frames(total, video_fps, num_frames=num_frames, fps=fps, temporal_patch_size=2,
                                             min_frames=min_frames, max_frames=max_frames))
    assert got == expected


@MEDIUM
@given(total=st.integers(1, 3000), video_fps=st.one_of(st.none(), st.floats(1, 120, allow_nan=False)),
       num_frames=st.one_of(st.none(), st.integers(0, 400)), fps=st.one_of(st.none(), st.floats(0.1, 30, allow_nan=False)))
def test_qwen3vl_sample_frames(total: int, video_fps: float | None, num_frames: int | None, fps: float | None) -> None:
    def run() -> list[int]:
        meta = VideoMetadata(total_num_frames=total, fps=video_fps)
        return [int(i) for i in _q3.sample_frames(meta, num_frames=num_frames, fps=fps)]

    expected = real.outcome(run)
    assert ours(lambda: qwen3vl_sample_frames(total, video_fps, num_frames=num_frames, fps=fps)) == expected


@FAST
@given(indices=st.lists(st.integers(0, 100000), min_size=1, max_size=60), fps=st.floats(0.1, 240, allow_nan=False))
def test_qwen3_timestamps(indices: list[int], fps: float) -> None:
    expected = Qwen3VLProcessor._calculate_timestamps(None, np.array(indices), fps, 2)
    got = qwen3_timestamps(indices, fps, 2)
    assert got == expected
    assert [f"{t:.1f}" for t in got] == [f"{t:.1f}" for t in expected]
    assert all(math.isfinite(t) for t in got)
