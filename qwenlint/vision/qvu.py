"""The qwen-vl-utils stage: what ``fetch_image`` / ``fetch_video`` turn a part into.

Mirrors ``qwen_vl_utils/vision_process.py`` of 0.0.14 (``fetch_image``, ``fetch_video`` with the
torchcodec reader, and the frame-list branch with its PyPI factor bug) and, where they differ, of
0.0.11 (``version``; shared reference versions.md; 0.0.13 differs from 0.0.14 only in the frame-list
metadata) and of 0.0.10: 0.0.13 (commit 0dcc180) added
``image_patch_size`` (before: a factor of 28 for every family), the ``max_pixels >= min_pixels``
assertion (before: resized under the max), and the video budget for frame lists (before: each
frame got the image resize only, and frames of different sizes reached the processor as they
were).  Path videos are sampled and budgeted alike in all of them; 0.0.10 reads them with decord
(:data:`TIME_RANGE_RELEASE`).  Only sizes, counts and indices are computed; no pixels are touched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from qwenlint.vision.errors import QWEN_VL_UTILS, TRANSFORMERS, VisionError, mirrors
from qwenlint.vision.facts import ImageFacts, VideoFacts
from qwenlint.vision.frames import (
    FRAME_FACTOR,
    calculate_video_frame_range,
    qvu_linspace_indices,
    smart_nframes,
)
from qwenlint.vision.resize import (
    IMAGE_MAX_TOKEN_NUM,
    IMAGE_MIN_TOKEN_NUM,
    qvu_smart_resize,
)

#: qwen-vl-utils 0.0.14 constants (vision_process.py).  MODEL_SEQ_LEN is read from the
#: environment at import there; its default is modelled.
VIDEO_MIN_TOKEN_NUM = 128
VIDEO_MAX_TOKEN_NUM = 768
MODEL_SEQ_LEN = 128000

#: The release mirrored by default, and the one whose fetch stage differs from the releases before.
NEWEST = Version("0.0.14")
PATCH_SIZE_RELEASE = Version("0.0.13")
#: 0.0.14 decodes frame lists in a thread pool and takes the frame-list ``raw_fps`` default from
#: ``sample_fps`` (0.0.13: 24.0).
THREADED_FRAMES_RELEASE = Version("0.0.14")
#: The first release whose readers honour ``video_start`` / ``video_end``
#: (``calculate_video_frame_range``; QwenLM/Qwen3-VL 9bbccac).  Before it the reader is decord (the
#: README's ``qwen-vl-utils[decord]``; torchcodec is not tried), which raises ``NotImplementedError``
#: when the part has either key, even with a None value; the torchvision fallback then raises.
TIME_RANGE_RELEASE = Version("0.0.11")
#: Frame widths decord 0.6.0 (the last release, its PyPI wheel with its own FFmpeg) cannot convert
#: to RGB: ``get_batch`` raises ``DECORDError: ... Check failed: from_size == to_size``.  Measured on
#: every even width from 2 to 1300 (H.264 yuv420p, and 16-80 with MPEG-4, VP9, H.264 4:4:4 and
#: MJPEG) and every odd width from 9 to 199 (H.264 4:4:4): these widths and no others, whatever the
#: height and codec (tests/differential/test_vision_qvu_versions.py draws them).
DECORD_UNREADABLE_WIDTHS = frozenset({2, 4, 6, 8, 12, 16, 24, 48, 72})
#: Before 0.0.13: ``IMAGE_FACTOR``, the one resize factor of every family.
OLD_IMAGE_FACTOR = 28


def image_bounds(module: Mapping[str, Any] | None, factor: int, ordered: bool = True) -> tuple[Any, Any]:
    """``fetch_image``'s default ``(min_pixels, max_pixels)`` for ``factor``: from 0.0.13
    ``IMAGE_MIN_TOKEN_NUM`` / ``IMAGE_MAX_TOKEN_NUM`` times ``factor**2``, before it ``MIN_PIXELS``
    / ``MAX_PIXELS``.  ``module``: module constants a consumer wrote over the defaults (by name,
    as ms-swift's ``patch_qwen_vl_utils`` does: :func:`qwenlint.consumers.ms_swift.qvu_constants`)."""
    m = module or {}
    if ordered:
        return (m.get("IMAGE_MIN_TOKEN_NUM", IMAGE_MIN_TOKEN_NUM) * factor ** 2,
                m.get("IMAGE_MAX_TOKEN_NUM", IMAGE_MAX_TOKEN_NUM) * factor ** 2)
    return (m.get("MIN_PIXELS", IMAGE_MIN_TOKEN_NUM * OLD_IMAGE_FACTOR ** 2),
            m.get("MAX_PIXELS", IMAGE_MAX_TOKEN_NUM * OLD_IMAGE_FACTOR ** 2))


def video_bounds(module: Mapping[str, Any] | None, factor: int, ordered: bool = True) -> tuple[Any, Any]:
    """``fetch_video``'s per-frame ``(min_pixels, max_pixels)`` before the total budget: from 0.0.13
    ``VIDEO_MIN_TOKEN_NUM`` / ``VIDEO_MAX_TOKEN_NUM`` times ``factor**2``, before it
    ``VIDEO_MIN_PIXELS`` / ``VIDEO_MAX_PIXELS`` (``module``: as for :func:`image_bounds`)."""
    m = module or {}
    if ordered:
        return (m.get("VIDEO_MIN_TOKEN_NUM", VIDEO_MIN_TOKEN_NUM) * factor * factor,
                m.get("VIDEO_MAX_TOKEN_NUM", VIDEO_MAX_TOKEN_NUM) * factor * factor)
    return (m.get("VIDEO_MIN_PIXELS", VIDEO_MIN_TOKEN_NUM * OLD_IMAGE_FACTOR ** 2),
            m.get("VIDEO_MAX_PIXELS", VIDEO_MAX_TOKEN_NUM * OLD_IMAGE_FACTOR ** 2))


def _resized_bounds(module: Mapping[str, Any] | None, factor: int, ordered: bool) -> tuple[Any, Any]:
    """The bounds ``smart_resize`` applies to ``resized_height`` / ``resized_width``: its defaults,
    which read the module constants at call time from 0.0.13 and are bound at import before
    (``min_pixels: int = MIN_PIXELS``), so a constant written later does not reach them."""
    return image_bounds(module, factor) if ordered and module else (None, None)


def has_image_patch_size(version: Version) -> bool:
    """Whether ``process_vision_info`` / ``fetch_image`` take ``image_patch_size`` (the Qwen3
    README passes ``image_patch_size=16``: a ``TypeError`` before 0.0.13)."""
    return version >= PATCH_SIZE_RELEASE

#: What the user sees when qwen-vl-utils' torchcodec reader raises: it falls back to
#: ``torchvision.io.read_video``, which torchvision 0.29 no longer has.  The real cause is only
#: logged ("video_reader_backend torchcodec error, use torchvision as default, msg: ...").
_TORCHVISION_FALLBACK = ("AttributeError", "module 'torchvision.io' has no attribute 'read_video'")


@mirrors(QWEN_VL_UTILS, "qwen_vl_utils/vision_process.py:fetch_image")
def fetch_image_size(height: int, width: int, options: Mapping[str, Any], image_patch_size: int,
                     version: Version = NEWEST, module: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """``(h, w)`` of the PIL image ``fetch_image`` returns (no EXIF transpose there).

    ``resized_height`` *and* ``resized_width`` bypass the part's min/max (image defaults apply);
    a 0 side makes PIL raise ``ValueError: height and width must be > 0``.  Before 0.0.13 the
    factor is 28 whatever ``image_patch_size`` says (``size_factor``), and min/max are not ordered.
    ``module``: module constants written over the defaults (:func:`image_bounds`).
    """
    ordered = has_image_patch_size(version)
    patch_factor = int(image_patch_size * 2) if ordered else OLD_IMAGE_FACTOR
    if "resized_height" in options and "resized_width" in options:
        lo, hi = _resized_bounds(module, patch_factor, ordered)
        h, w = qvu_smart_resize(options["resized_height"], options["resized_width"], factor=patch_factor,
                                min_pixels=lo, max_pixels=hi, ordered=ordered)
    else:
        lo, hi = image_bounds(module, patch_factor, ordered)
        min_pixels = options.get("min_pixels", lo)
        max_pixels = options.get("max_pixels", hi)
        h, w = qvu_smart_resize(height, width, factor=patch_factor, min_pixels=min_pixels, max_pixels=max_pixels,
                                ordered=ordered)
    if h <= 0 or w <= 0:
        raise ValueError("height and width must be > 0")
    return h, w


@mirrors(QWEN_VL_UTILS, "qwen_vl_utils/vision_process.py:fetch_video")
def video_tail(nframes: int, height: int, width: int, options: Mapping[str, Any], image_factor: int,
               ordered: bool = True, module: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """The per-frame budget and resize at the end of ``fetch_video`` (both video kinds; before
    0.0.13 path videos only, with min/max not ordered).  The per-frame cap is the module's (which a
    consumer may have raised: ``module``, :func:`video_bounds`), lowered to the total budget's share
    but never under 1.05 x the minimum; a part's ``max_pixels`` can only lower it further."""
    frame_min, frame_max = video_bounds(module, image_factor, ordered)
    min_pixels = options.get("min_pixels", frame_min)
    total_pixels = options.get("total_pixels", MODEL_SEQ_LEN * image_factor * image_factor * 0.9)
    max_pixels = max(min(frame_max, total_pixels / nframes * FRAME_FACTOR), int(min_pixels * 1.05))
    max_pixels_supposed = options.get("max_pixels", max_pixels)
    max_pixels = min(max_pixels_supposed, max_pixels)
    if "resized_height" in options and "resized_width" in options:
        lo, hi = _resized_bounds(module, image_factor, ordered)
        h, w = qvu_smart_resize(options["resized_height"], options["resized_width"], factor=image_factor,
                                min_pixels=lo, max_pixels=hi, ordered=ordered)
    else:
        h, w = qvu_smart_resize(height, width, factor=image_factor, min_pixels=min_pixels, max_pixels=max_pixels,
                                ordered=ordered)
    if h <= 0 or w <= 0:  # torchvision.transforms.functional.resize
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input (H: {height}, W: {width}) "
                           f"output (H: {h}, W: {w})")
    return h, w


@dataclass(frozen=True)
class QvuVideo:
    """What ``fetch_video`` hands to the processor: frame count, frame size, metadata indices and fps."""

    frames: int
    height: int
    width: int
    indices: tuple[int, ...]
    fps: Any
    notes: tuple[str, ...]


def fetch_video_file(video: VideoFacts, options: Mapping[str, Any], image_patch_size: int,
                     version: Version = NEWEST, module: Mapping[str, Any] | None = None) -> QvuVideo:
    """``fetch_video`` for a path/URL, read by ``_read_video_torchcodec`` (the same sampling in
    0.0.11; the factor 28 before 0.0.13; before 0.0.11 ``_read_video_decord``, which has no time
    range: :data:`TIME_RANGE_RELEASE`)."""
    ordered = has_image_patch_size(version)
    factor = image_patch_size * 2 if ordered else OLD_IMAGE_FACTOR
    decord = version < TIME_RANGE_RELEASE
    try:
        if not decord:
            start, end, count = calculate_video_frame_range(options, video.num_frames, video.fps)
        elif "video_start" in options or "video_end" in options:
            raise VisionError(QWEN_VL_UTILS, "NotImplementedError", "not support start_pts and end_pts in decord "
                              "for now.", where="qwen_vl_utils/vision_process.py:_read_video_decord")
        else:
            start, end, count = 0, video.num_frames - 1, video.num_frames
        nframes = smart_nframes(options, count, video.fps)
        if decord and video.width in DECORD_UNREADABLE_WIDTHS:
            raise VisionError(QWEN_VL_UTILS, "DECORDError", f"Check failed: from_size == to_size (decord 0.6.0 "
                              f"cannot convert frames {video.width} pixels wide to RGB)",
                              where="decord VideoReader.get_batch")
    except VisionError as exc:
        # The reader's exception is caught and torchvision's reader is tried instead (gone in 0.29).
        raise VisionError(QWEN_VL_UTILS, *_TORCHVISION_FALLBACK,
                          where="qwen_vl_utils/vision_process.py:fetch_video") from _Cause(exc)
    indices = tuple(qvu_linspace_indices(start, end, nframes))
    h, w = video_tail(nframes, video.height, video.width, options, factor, ordered, module)
    notes = () if not decord else (
        f"qwen-vl-utils {version} reads video files with decord, assumed installed (qwen-vl-utils[decord]); "
        "without it the torchvision reader runs, which torchvision 0.29 and later no longer have",)
    return QvuVideo(nframes, h, w, indices, video.fps, notes)


class _Cause(Exception):
    """Carrier for the logged reader error behind the torchvision fallback (see `cause_of`)."""

    def __init__(self, error: VisionError) -> None:
        super().__init__(error.quoted)
        self.error = error


def cause_of(error: VisionError) -> VisionError | None:
    """The real error behind ``AttributeError: module 'torchvision.io' has no attribute 'read_video'``.

    qwen-vl-utils only logs it (``video_reader_backend torchcodec error, use torchvision as
    default, msg: ...``); a linter should show both.
    """
    cause = error.__cause__
    return cause.error if isinstance(cause, _Cause) else None


@mirrors(QWEN_VL_UTILS, "qwen_vl_utils/vision_process.py:fetch_video")
def fetch_video_frames(frames: Sequence[ImageFacts], options: Mapping[str, Any], image_patch_size: int,
                       version: Version = NEWEST, module: Mapping[str, Any] | None = None) -> QvuVideo:
    """``fetch_video`` for a list of frames.

    Each frame goes through ``fetch_image(..., image_factor)``: qwen-vl-utils 0.0.14 (PyPI) passes
    the *factor* as ``image_patch_size``, so frames are first resized on a ``2 * factor`` grid
    (56 / 64) with the image defaults.  Frames must come out equal (``torch.stack``); the list is
    padded to an even length with the last frame; metadata is synthesised from ``sample_fps`` /
    ``raw_fps`` (``frames_indices = range(n)``; ``raw_fps`` defaults to ``sample_fps``, 24.0 in
    0.0.13, which changes the Qwen3 timestamps).  Before 0.0.13: :func:`_old_frame_list`.
    """
    if not has_image_patch_size(version):
        return _old_frame_list(frames, options, version, module)
    image_factor = image_patch_size * 2
    threaded = version >= THREADED_FRAMES_RELEASE
    if not frames:
        if threaded:  # concurrent.futures.ThreadPoolExecutor(max_workers=0)
            raise ValueError("max_workers must be greater than 0")
        raise RuntimeError("stack expects a non-empty TensorList")
    # 0.0.13 and later pass the *factor* as fetch_image's image_patch_size
    process_info, sizes = _frame_sizes(frames, options, image_factor, version, module)
    nframes = len(sizes)
    for i, size in enumerate(sizes):
        if size != sizes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got [3, {sizes[0][0]}, {sizes[0][1]}] "
                               f"at entry 0 and [3, {size[0]}, {size[1]}] at entry {i}")
    sample_fps = options.get("sample_fps", 2.0)
    raw_fps = process_info.pop("raw_fps", sample_fps if threaded else 24.0)
    _ = (nframes / sample_fps) * raw_fps  # metadata total_num_frames: raises TypeError for strings
    h, w = video_tail(nframes, sizes[0][0], sizes[0][1], options, image_factor, module=module)
    note = (f"qwen-vl-utils {version} resizes each frame on a {2 * image_factor}-pixel grid first (it passes the factor "
            f"as image_patch_size); the video budget then resizes to a {image_factor}-pixel grid")
    notes = (note,)
    return QvuVideo(nframes, h, w, tuple(range(nframes)), raw_fps, notes)


def _frame_sizes(frames: Sequence[ImageFacts], options: Mapping[str, Any], image_patch_size: int,
                 version: Version,
                 module: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """The part's options as each frame's ``fetch_image`` gets them, and the size of every frame,
    the list padded to an even length with the last one (every release)."""
    process_info = {k: v for k, v in options.items() if k not in ("type", "video")}
    sizes = [fetch_image_size(f.height, f.width, process_info, image_patch_size, version, module) for f in frames]
    nframes = math.ceil(len(sizes) / FRAME_FACTOR) * FRAME_FACTOR
    sizes.extend(sizes[-1:] * (nframes - len(sizes)))
    return process_info, sizes


def _old_frame_list(frames: Sequence[ImageFacts], options: Mapping[str, Any], version: Version,
                    module: Mapping[str, Any] | None = None) -> QvuVideo:
    """``fetch_video`` for a list of frames before 0.0.13: each frame gets ``fetch_image``'s resize
    with the factor 28 and the image defaults, nothing more; the list is padded to an even length
    with the last frame and handed to the processor as it is, with the sample fps ``fps`` (2.0).

    The video processor (transformers) then stacks the frames: frames of different sizes raise
    ``ValueError: all input arrays must have the same shape`` (observed with transformers 5.23); an
    empty list is handed on as no frames (its error is the release's:
    :func:`qwenlint.vision.processor.empty_frame_list_error`).
    """
    process_info, sizes = _frame_sizes(frames, options, OLD_IMAGE_FACTOR // 2, version, module)
    nframes = len(sizes)
    if not sizes:
        return QvuVideo(0, 0, 0, (), process_info.get("fps", 2.0), ())
    if any(size != sizes[0] for size in sizes):
        raise VisionError(TRANSFORMERS, "ValueError", "all input arrays must have the same shape",
                          where="the video processor stacking the frames")
    note = (f"qwen-vl-utils {version} resizes each frame like an image (factor {OLD_IMAGE_FACTOR}, no video "
            "budget); qwen-vl-utils 0.0.13 and later apply the video budget too")
    return QvuVideo(nframes, sizes[0][0], sizes[0][1], tuple(range(nframes)), process_info.get("fps", 2.0), (note,))
