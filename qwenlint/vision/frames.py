"""Frame counting and frame indices, mirrored exactly from qwen-vl-utils 0.0.14 and transformers 5.23.

qwen-vl-utils (``qwen_vl_utils/vision_process.py``):

* `smart_nframes`: how many frames ``fetch_video`` keeps (``fps`` or ``nframes`` option).
* `calculate_video_frame_range`: ``video_start`` / ``video_end`` (seconds) to a frame range.
* `qvu_linspace_indices`: ``torch.linspace(start, end, n).round().long()`` in float32.

transformers video processors:

* `qwen2vl_sample_frames`: ``Qwen2VLVideoProcessor.sample_frames``, whose
  ``torch.arange(0, total, total / n)`` can return n+1 indices (and an index equal to ``total``).
* `qwen3vl_sample_frames`: ``Qwen3VLVideoProcessor.sample_frames`` (``np.linspace`` in float64;
  the count is not forced even; call-time ``min_frames``/``max_frames`` are ignored there).
* `qwen3_timestamps` / `timestamp_text`: ``Qwen3VLProcessor._calculate_timestamps`` and the
  ``"<{t:.1f} seconds>"`` text of ``replace_video_token``.

vLLM 0.33 (verified against its render server by tests/differential): `vllm_video_indices`, the frame
indices of the video loader vLLM picks (``vllm/multimodal/video.py``): the fps-driven
``Qwen3VLVideoBackend`` / ``Qwen2VLVideoBackend`` that current vLLM chooses from the model's video
processor class, or the generic uniform ``VideoBackend`` ("opencv", 32 frames), which was the only
loader before mid-2026.

Pure Python: float32 is emulated with `struct` (one correctly rounded conversion from an exact
double, which is what a single float32 operation gives).
"""

from __future__ import annotations

import math
import operator
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from qwenlint.vision.errors import QWEN_VL_UTILS, TRANSFORMERS, VLLM, mirrors

#: qwen-vl-utils 0.0.14 constants (vision_process.py).
FPS = 2.0
FRAME_FACTOR = 2
FPS_MIN_FRAMES = 4
FPS_MAX_FRAMES = 768

#: vLLM's default number of frames its generic ("opencv") video loader samples for ``video_url``
#: (``VideoMediaIO(num_frames=32)``; failure mode ``vllm-default-32-frame-video-sampling``).
VLLM_DEFAULT_NUM_FRAMES = 32

#: The video loader vLLM picks when ``media_io_kwargs["video"]["video_backend"]`` names none: the
#: one registered for the HF video processor class (the names it accepts: options.VLLM_VIDEO_BACKENDS).
VLLM_LOADER_OF_PROCESSOR = {"qwen3vl": "qwen3_vl", "qwen2vl": "qwen2_vl"}
#: Defaults and caps of the fps-driven Qwen loaders (``fps: int = 2``, ``_MAX_FPS``, ``_MAX_FRAMES``).
VLLM_QWEN_FPS, VLLM_MAX_FPS, VLLM_MIN_FRAMES, VLLM_MAX_FRAMES = 2, 30, 4, 768


def f32(value: float) -> float:
    """Round a double to the nearest float32 (ties to even), as a C ``(float)`` cast does."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


#: Elements of one ``Vectorized<float>`` in ATen's CPU ``arange`` kernel (256 bits: 8 on AVX2, on
#: AVX512 machines too, where this kernel measured so, and on NEON).
_ARANGE_LANES = 8


def torch_arange_f32(step: float, length: int) -> list[float]:
    """``torch.arange(0, end, step)`` in float32 on a CPU (``RangeFactoriesKernel.cpp``): in blocks of
    two vectors, each vector starts from ``float(step * idx)`` and adds ``j * step`` in double before
    the cast; the tail after the last whole block is ``float(step * idx)``.  This differs from
    ``float(step * i)`` in the last bit for about one list in 200 (17335 frames at n=768: index
    17177, not 17176).  Compared with torch on 5000 random lists (tests/differential).
    """
    out: list[float] = []
    blocks = length // (2 * _ARANGE_LANES) * (2 * _ARANGE_LANES)
    for idx in range(0, blocks, _ARANGE_LANES):
        base = f32(step * idx)
        out.extend(f32(base + j * step) for j in range(_ARANGE_LANES))
    out.extend(f32(step * i) for i in range(blocks, length))
    return out


def _round_by_factor(number: Any, factor: int) -> int:
    return round(number / factor) * factor


def _ceil_by_factor(number: Any, factor: int) -> int:
    return math.ceil(number / factor) * factor


def _floor_by_factor(number: Any, factor: int) -> int:
    return math.floor(number / factor) * factor


@mirrors(QWEN_VL_UTILS, "qwen_vl_utils/vision_process.py:smart_nframes")
def smart_nframes(options: Mapping[str, Any], total_frames: Any, video_fps: Any) -> int:
    """Number of frames ``fetch_video`` samples: ``nframes`` rounded to even, or
    ``total / video_fps * fps`` clamped to ``[min_frames, max_frames]`` and ``total``, floored to even.

    Raises ``ValueError: nframes should in interval [2, N], but got M.`` and the assert
    ``Only accept either `fps` or `nframes``` (key presence, not value).
    """
    assert not ("fps" in options and "nframes" in options), "Only accept either `fps` or `nframes`"
    if "nframes" in options:
        nframes = _round_by_factor(options["nframes"], FRAME_FACTOR)
    else:
        fps = options.get("fps", FPS)
        min_frames = _ceil_by_factor(options.get("min_frames", FPS_MIN_FRAMES), FRAME_FACTOR)
        max_frames = _floor_by_factor(options.get("max_frames", min(FPS_MAX_FRAMES, total_frames)),
                                      FRAME_FACTOR)
        nframes = total_frames / video_fps * fps
        nframes = min(min(max(nframes, min_frames), max_frames), total_frames)
        nframes = _floor_by_factor(nframes, FRAME_FACTOR)
    if not (FRAME_FACTOR <= nframes <= total_frames):
        raise ValueError(f"nframes should in interval [{FRAME_FACTOR}, {total_frames}], but got {nframes}.")
    return nframes


@mirrors(QWEN_VL_UTILS, "qwen_vl_utils/vision_process.py:calculate_video_frame_range")
def calculate_video_frame_range(options: Mapping[str, Any], total_frames: int,
                                video_fps: float) -> tuple[int, int, int]:
    """``(start_frame, end_frame, count)`` for ``video_start``/``video_end`` in seconds.

    Only the decord and torchcodec readers call it (qwen-vl-utils prefers torchcodec, which is what
    is modelled); ``start >= end`` raises ``ValueError: Invalid time range: ...``.
    """
    if video_fps <= 0:
        raise ValueError("video_fps must be a positive number")
    if total_frames <= 0:
        raise ValueError("total_frames must be a positive integer")
    video_start = options.get("video_start", None)
    video_end = options.get("video_end", None)
    if video_start is None and video_end is None:
        return 0, total_frames - 1, total_frames

    max_duration = total_frames / video_fps
    video_start_clamped: Any = 0
    video_end_clamped: Any = max_duration
    if video_start is not None:
        video_start_clamped = max(0.0, min(video_start, max_duration))
        start_frame = math.ceil(video_start_clamped * video_fps)
    else:
        start_frame = 0
    if video_end is not None:
        video_end_clamped = max(0.0, min(video_end, max_duration))
        end_frame = math.floor(video_end_clamped * video_fps)
        end_frame = min(end_frame, total_frames - 1)
    else:
        end_frame = total_frames - 1

    if start_frame >= end_frame:
        raise ValueError(
            f"Invalid time range: Start frame {start_frame} (at {video_start_clamped if video_start is not None else 0}s) "
            f"exceeds end frame {end_frame} (at {video_end_clamped if video_end is not None else max_duration}s). "
            f"Video duration: {max_duration:.2f}s ({total_frames} frames @ {video_fps}fps)"
        )
    return start_frame, end_frame, end_frame - start_frame + 1


def qvu_linspace_indices(start: int, end: int, steps: int) -> list[int]:
    """``torch.linspace(start, end, steps).round().long().tolist()`` (float32, CPU).

    torch's CPU kernel (``RangeFactoriesKernel.cpp:linspace_kernel``) computes a float32 step
    ``(end - start) / (steps - 1)`` and fills the first half as ``start + step*i`` and the second
    half as ``end - step*(steps-1-i)``, each with a single float32 rounding.  ``round`` is
    half-to-even.  Only indices (so Qwen3 timestamps) depend on this, never counts.
    """
    if steps == 1:
        return [round(f32(float(start)))]
    fstart, fend = f32(float(start)), f32(float(end))
    step = f32((fend - fstart) / f32(float(steps - 1)))
    halfway = steps // 2
    out = []
    for i in range(steps):
        value = fstart + step * i if i < halfway else fend - step * (steps - i - 1)
        out.append(round(f32(value)))
    return out


@mirrors(TRANSFORMERS, "models/qwen2_vl/video_processing_qwen2_vl.py:Qwen2VLVideoProcessor.sample_frames")
def qwen2vl_sample_frames(total_num_frames: int, video_fps: Any, *, num_frames: Any = None, fps: Any = None,
                          temporal_patch_size: int = 2, min_frames: Any = 4, max_frames: Any = 768) -> list[int]:
    """Indices ``Qwen2VLVideoProcessor.sample_frames`` returns.

    ``torch.arange(0, total, total / n).int()`` has ``ceil(total / (total / n))`` elements (float64),
    which is ``n + 1`` for some pairs (total=17, n=14 gives 15), with values
    ``int(float32(i * (total / n)))``.  In every such case seen the extra index equals ``total``,
    so decoding fails (torchcodec: ``IndexError: Invalid frame index=17 ...``).
    Neither ``fps`` nor ``num_frames``: ``None > total`` raises ``TypeError`` (do_sample_frames=True
    needs one of them).
    """
    if fps is not None and num_frames is not None:
        raise ValueError("`num_frames` and `fps` are mutually exclusive arguments, please use only one!")
    if num_frames is not None:
        num_frames = round(num_frames / temporal_patch_size) * temporal_patch_size
    elif fps is not None:
        if video_fps is None:
            raise ValueError(
                "Asked to sample `fps` frames per second but no video metadata was provided which is required when sampling with `fps`. "
                "Please pass in `VideoMetadata` object or use a fixed `num_frames` per input video"
            )
        max_frames = math.floor(min(max_frames, total_num_frames) / temporal_patch_size) * temporal_patch_size
        num_frames = total_num_frames / video_fps * fps
        num_frames = min(max(num_frames, min_frames), max_frames, total_num_frames)
        num_frames = math.floor(num_frames / temporal_patch_size) * temporal_patch_size

    if num_frames > total_num_frames:  # None > int: TypeError, as in the real code
        raise ValueError(
            f"Video can't be sampled. The inferred `num_frames={num_frames}` exceeds `total_num_frames={total_num_frames}`. "
            "Decrease `num_frames` or `fps` for sampling."
        )
    if num_frames is None:
        return list(range(total_num_frames))
    step = total_num_frames / num_frames
    length = math.ceil(total_num_frames / step)
    return [int(v) for v in torch_arange_f32(step, length)]


@mirrors(TRANSFORMERS, "models/qwen3_vl/video_processing_qwen3_vl.py:Qwen3VLVideoProcessor.sample_frames")
def qwen3vl_sample_frames(total_num_frames: int, video_fps: Any, *, num_frames: Any = None, fps: Any = None,
                          default_fps: Any = 2, min_frames: int = 4, max_frames: int = 768) -> list[int]:
    """Indices ``Qwen3VLVideoProcessor.sample_frames`` returns (``np.linspace(...).round()``).

    ``fps`` with no known video fps assumes 24 (the processor sets ``metadata.fps = 24``; pass
    ``video_fps=None`` for that).  ``min_frames``/``max_frames`` are the processor's *attributes*
    (call-time values are ignored by the real code).  ``num_frames`` is used as is: not rounded to
    even, not clamped to the video (indices repeat).  ``fps=None`` means the processor's ``fps``
    attribute (``default_fps``, 2).
    """
    if fps is not None and num_frames is not None:
        raise ValueError("`num_frames` and `fps` are mutually exclusive arguments, please use only one!")
    fps = fps if fps is not None else default_fps
    if num_frames is None and fps is not None:
        if video_fps is None:
            video_fps = 24
        num_frames = int(total_num_frames / video_fps * fps)
        num_frames = min(max(num_frames, min_frames), max_frames, total_num_frames)
    if num_frames is None:
        num_frames = min(max(total_num_frames, min_frames), max_frames)
    return [round(v) for v in np_linspace(0, total_num_frames - 1, num_frames)]


def np_linspace(start: float, stop: float, num: Any) -> list[float]:
    """``numpy.linspace(start, stop, num)`` in float64, value for value (numpy/_core/function_base.py)."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = num - 1
    delta = float(stop) - float(start)
    if div > 0:
        step = delta / div
        if step == 0:
            values = [i / div * delta for i in range(num)]
        else:
            values = [i * step for i in range(num)]
    else:
        values = [i * delta for i in range(num)]
    values = [v + start for v in values]
    if num > 1:
        values[-1] = float(stop)
    return values


def vllm_loader(video_kwargs: Mapping[str, Any], processor_kind: str) -> str:
    """The loader vLLM runs: ``video_backend`` when given, else the one registered for the video
    processor class (``get_video_loader_backend_for_processor``), else the generic "opencv" one."""
    named = video_kwargs.get("video_backend")
    if named is not None:
        return str(named)
    return VLLM_LOADER_OF_PROCESSOR.get(processor_kind, "opencv")


@mirrors(VLLM, "vllm/multimodal/video.py:*VideoBackend.compute_frames_index_to_sample")
def vllm_video_indices(total_num_frames: int, video_fps: Any, loader: str,
                       video_kwargs: Mapping[str, Any] | None = None) -> list[int]:
    """Frame indices vLLM's ``loader`` decodes; ``video_kwargs`` is ``media_io_kwargs["video"]``.

    ``qwen3_vl``: ``int(total / video_fps * fps)`` clamped to ``[min_frames, max_frames]`` and
    ``total``, then ``np.linspace(0, total - 1, n).round()`` (HF's Qwen3-VL sampling).
    ``qwen2_vl``: HF's Qwen2-VL fps sampling (a multiple of ``temporal_patch_size`` after the
    clamps, ``torch.arange(0, total, total / n).int()``), the tail clamped to ``total - 1``; an
    unknown fps raises.  Both default to 2 fps, 4..768 frames, cap ``fps`` at 30 and ``max_frames``
    at 768, and ignore ``num_frames``.  ``opencv``: ``min(num_frames, total)`` frames (32 by
    default; -1: all), at most ``floor(duration * fps)`` when ``fps`` > 0, at least 1, as
    ``np.linspace(0, total - 1, n, dtype=int)``.

    Read from vLLM 0.33's source; tests/differential/test_vllm_server.py compares the pad counts
    these frames give with the real render server's.
    """
    kw = dict(video_kwargs or {})
    total = total_num_frames
    if loader == "opencv":
        num_frames = kw.get("num_frames", VLLM_DEFAULT_NUM_FRAMES)
        fps = kw.get("fps", -1)
        count = total
        if num_frames > 0:
            count = min(num_frames, total)
        if fps > 0:
            duration = total / video_fps if video_fps > 0 else 0
            count = min(count, math.floor(duration * fps))
        count = max(1, count)
        if count == total:
            return list(range(count))
        return [math.floor(v) for v in np_linspace(0, total - 1, count)]
    fps = min(kw.get("fps", VLLM_QWEN_FPS), VLLM_MAX_FPS)
    min_frames = kw.get("min_frames", VLLM_MIN_FRAMES)
    max_frames = min(kw.get("max_frames", VLLM_MAX_FRAMES), VLLM_MAX_FRAMES)
    if loader != "qwen2_vl":  # qwen3_vl: HF's Qwen3-VL fps sampling, as is
        return qwen3vl_sample_frames(total, video_fps, fps=fps, min_frames=min_frames, max_frames=max_frames)
    if video_fps <= 0:
        raise ValueError("Qwen2-VL video sampling needs a known source fps, but the container reported 0 "
                         "(variable or unknown frame rate).")
    indices = qwen2vl_sample_frames(total, video_fps, fps=fps, temporal_patch_size=kw.get("temporal_patch_size", 2),
                                    min_frames=min_frames, max_frames=max_frames)
    return [min(i, total - 1) for i in indices]


def qwen3_timestamps(indices: Sequence[int], video_fps: float, merge_size: int = 2) -> list[float]:
    """``Qwen3VLProcessor._calculate_timestamps``: one timestamp per temporal group.

    Indices are padded with the last one to a multiple of ``merge_size`` (the temporal patch size);
    each group's time is the mean of its first and last frame times.
    """
    idx = list(indices)
    if len(idx) % merge_size != 0:
        idx.extend(idx[-1] for _ in range(merge_size - len(idx) % merge_size))
    times = [i / video_fps for i in idx]
    return [(times[i] + times[i + merge_size - 1]) / 2 for i in range(0, len(times), merge_size)]


def timestamp_text(seconds: float) -> str:
    """The text ``Qwen3VLProcessor.replace_video_token`` puts before each temporal group."""
    return f"<{seconds:.1f} seconds>"
