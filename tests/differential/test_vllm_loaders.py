"""vLLM's video loaders (`vllm_video_indices`) against the code they are ports of, run for real.

vLLM itself cannot run in CI (it needs a CUDA build and gigabytes of wheels), so what is checked
here is the arithmetic, not vLLM: its published ``Qwen3VLVideoBackend`` and ``Qwen2VLVideoBackend``
(``vllm/multimodal/video.py``) say they reproduce transformers' ``Qwen3VLVideoProcessor`` /
``Qwen2VLVideoProcessor.sample_frames`` in fps mode (the Qwen2 one then clamps its tail index to
the last frame), and the generic "opencv" loader is ``np.linspace(0, total - 1, n, dtype=int)``.
Our pure-Python emulation (float32 included) is compared with those real functions on
hypothesis-generated frame counts, rates and loader settings.
"""

from __future__ import annotations

import _real as real  # first: it skips this module when the real libraries are missing
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import Qwen2VLVideoProcessor, Qwen3VLVideoProcessor
from transformers.video_utils import VideoMetadata

from qwenlint.vision.frames import vllm_video_indices

pytestmark = pytest.mark.differential
ours = real.ours
MEDIUM = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

totals = st.one_of(st.integers(1, 64), st.integers(1, 20000))
rates = st.one_of(st.sampled_from([23.976, 24.0, 25.0, 29.97, 30.0, 59.94, 60.0, 1.0, 2.0, 0.5]),
                  st.floats(0.05, 240, allow_nan=False))
loader_fps = st.one_of(st.none(), st.integers(1, 60), st.floats(0.1, 60, allow_nan=False))


def _kwargs(**values: object) -> dict:
    return {k: v for k, v in values.items() if v is not None}


@MEDIUM
@given(total=totals, video_fps=rates, fps=loader_fps, min_frames=st.one_of(st.none(), st.integers(1, 16)),
       max_frames=st.one_of(st.none(), st.integers(1, 1000)))
def test_qwen3_vl_loader_is_hf_qwen3vl_sampling(total: int, video_fps: float, fps: float | None,
                                                min_frames: int | None, max_frames: int | None) -> None:
    kw = _kwargs(fps=fps, min_frames=min_frames, max_frames=max_frames)
    # vLLM caps the requested rate at 30 and max_frames at 768, then samples like HF.
    hf = Qwen3VLVideoProcessor(min_frames=kw.get("min_frames", 4), max_frames=min(kw.get("max_frames", 768), 768))
    meta = VideoMetadata(total_num_frames=total, fps=video_fps)
    expected = real.outcome(lambda: [int(i) for i in hf.sample_frames(meta, fps=min(kw.get("fps", 2), 30))])
    assert ours(lambda: vllm_video_indices(total, video_fps, "qwen3_vl", kw)) == expected


@MEDIUM
@given(total=totals, video_fps=rates, fps=loader_fps, min_frames=st.one_of(st.none(), st.integers(1, 16)),
       max_frames=st.one_of(st.none(), st.integers(2, 1000)))
def test_qwen2_vl_loader_is_hf_qwen2vl_sampling_clamped(total: int, video_fps: float, fps: float | None,
                                                        min_frames: int | None, max_frames: int | None) -> None:
    kw = _kwargs(fps=fps, min_frames=min_frames, max_frames=max_frames)
    meta = VideoMetadata(total_num_frames=total, fps=video_fps)

    def hf() -> list[int]:
        indices = Qwen2VLVideoProcessor().sample_frames(
            meta, temporal_patch_size=2, min_frames=kw.get("min_frames", 4),
            max_frames=min(kw.get("max_frames", 768), 768), fps=min(kw.get("fps", 2), 30))
        return [min(int(i), total - 1) for i in indices]

    assert ours(lambda: vllm_video_indices(total, video_fps, "qwen2_vl", kw)) == real.outcome(hf)


@MEDIUM
@given(total=totals, video_fps=rates, num_frames=st.one_of(st.none(), st.just(-1), st.integers(1, 400)))
def test_generic_loader_is_uniform_linspace(total: int, video_fps: float, num_frames: int | None) -> None:
    kw = _kwargs(num_frames=num_frames)
    n = kw.get("num_frames", 32)
    count = total if n == -1 else min(n, total)
    expected = np.linspace(0, total - 1, count, dtype=int).tolist()
    assert vllm_video_indices(total, video_fps, "opencv", kw) == expected


def test_qwen2_vl_loader_clamps_the_tail_index_hf_would_decode_past_the_end() -> None:
    """HF's arange can return an index equal to the frame count (17 frames at 14); vLLM clamps it."""
    meta = VideoMetadata(total_num_frames=17, fps=2.0)
    raw = [int(i) for i in Qwen2VLVideoProcessor().sample_frames(meta, temporal_patch_size=2, fps=1.75)]
    assert raw[-1] == 17
    got = vllm_video_indices(17, 2.0, "qwen2_vl", {"fps": 1.75})
    assert got[-1] == 16 and len(got) == len(raw)


@MEDIUM
@given(total=st.integers(1, 40000), n=st.integers(1, 768))
def test_arange_is_torchs_float32_arange(total: int, n: int) -> None:
    """`torch_arange_f32`: ATen's vectorised CPU kernel, last bit included (the frame index it picks)."""
    import torch

    from qwenlint.vision.frames import torch_arange_f32

    step = total / n
    length = len(torch.arange(0, total, step))
    assert torch_arange_f32(step, length) == [float(v) for v in torch.arange(0, total, step)]
    assert [int(v) for v in torch_arange_f32(17335 / 768, 768)][761] == 17177
