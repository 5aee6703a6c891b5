"""The three ``smart_resize`` functions, mirrored exactly (Python ``round`` is half-to-even, as there).

* `hf_smart_resize`: transformers 5.23 ``models/qwen2_vl/image_processing_qwen2_vl.py:smart_resize``
  (also copied into ``video_processing_qwen2_vl.py``): images of every family, and the per-frame
  resize of ``Qwen2VLVideoProcessor`` (Qwen2-VL, Qwen2.5-VL, both Omni models).
* `qvu_smart_resize`: qwen-vl-utils 0.0.14 ``vision_process.py:smart_resize``.  Differs from the
  transformers one in three ways: defaults derived from the factor, ``assert max >= min``, the first
  rounding is clamped to ``>= factor`` but the downscale branch is *not* (a side can become 0).
* `qwen3_video_smart_resize`: transformers ``models/qwen3_vl/video_processing_qwen3_vl.py:smart_resize``,
  a budget over ``T * H * W`` (Qwen3-VL, Qwen3.5).

The values are used as given (no ``int()`` coercion), so a string option fails with the same
``TypeError`` the library raises.
"""

from __future__ import annotations

import math
from typing import Any

from qwenlint.vision.errors import QWEN_VL_UTILS, TRANSFORMERS, mirrors

#: qwen-vl-utils 0.0.14 constants (vision_process.py, top of file).
MAX_RATIO = 200
IMAGE_MIN_TOKEN_NUM = 4
IMAGE_MAX_TOKEN_NUM = 16384


@mirrors(TRANSFORMERS, "models/qwen2_vl/image_processing_qwen2_vl.py:smart_resize")
def hf_smart_resize(height: Any, width: Any, factor: int = 28, min_pixels: Any = 56 * 56,
                    max_pixels: Any = 14 * 14 * 4 * 1280) -> tuple[int, int]:
    """Resized ``(height, width)``: multiples of ``factor`` with ``min_pixels <= h*w <= max_pixels``.

    No lower clamp on the first rounding (a side under ``factor/2`` rounds to 0, and the upscale
    branch then usually fixes it); the downscale branch is clamped to ``>= factor``.  The result
    is not re-checked against the bounds.
    """
    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@mirrors(QWEN_VL_UTILS, "qwen_vl_utils/vision_process.py:smart_resize")
def qvu_smart_resize(height: Any, width: Any, factor: int, min_pixels: Any = None,
                     max_pixels: Any = None, *, ordered: bool = True) -> tuple[int, int]:
    """qwen-vl-utils' resize: defaults ``4*factor**2 .. 16384*factor**2``, asserts ``max >= min``
    (``ordered``: since 0.0.13; before, ``max_pixels`` below ``min_pixels`` resizes under the max).

    The downscale branch has no ``max(factor, .)`` clamp, so an extreme aspect ratio under a small
    ``max_pixels`` gives a 0 side (the later PIL/torchvision resize then raises).
    """
    max_pixels = max_pixels if max_pixels is not None else (IMAGE_MAX_TOKEN_NUM * factor ** 2)
    min_pixels = min_pixels if min_pixels is not None else (IMAGE_MIN_TOKEN_NUM * factor ** 2)
    if ordered:
        assert max_pixels >= min_pixels, "The max_pixels of image must be greater than or equal to min_pixels."
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_RATIO}, got {max(height, width) / min(height, width)}"
        )
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@mirrors(TRANSFORMERS, "models/qwen3_vl/video_processing_qwen3_vl.py:smart_resize")
def qwen3_video_smart_resize(num_frames: int, height: Any, width: Any, temporal_factor: int = 2,
                             factor: int = 28, min_pixels: Any = 112 * 112,
                             max_pixels: Any = 14 * 14 * 2 * 2 * 2 * 6144, *,
                             upscale: bool = True, frame_check: bool | None = None) -> tuple[int, int]:
    """Qwen3-VL's per-video resize: ``min_pixels``/``max_pixels`` bound ``T*H*W``, not one frame.

    ``frame_check`` (default: as ``upscale``) raises ``ValueError: t:1 must be larger than
    temporal_factor:2`` for fewer frames than the temporal patch, and rounds the frame count to the
    nearest multiple in the budget; without it the count is rounded up (``ceil``).  ``upscale``
    upsizes a side under ``factor`` first (``int(side * scale)``); without it that side raises.
    The releases: 4.57 checks frames and raises on small sides; 5.0 to 5.14 drop the frame check
    (and round up); 5.15 and later check frames and upscale.
    """
    if frame_check is None:
        frame_check = upscale
    if frame_check and num_frames < temporal_factor:
        raise ValueError(f"t:{num_frames} must be larger than temporal_factor:{temporal_factor}")
    if height < factor or width < factor:
        if not upscale:
            raise ValueError(f"height:{height} or width:{width} must be larger than factor:{factor}")
        scale = max(factor / height, factor / width)
        height = int(height * scale)
        width = int(width * scale)

    if max(height, width) / min(height, width) > 200:
        raise ValueError(
            f"absolute aspect ratio must be smaller than 200, got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = (round if frame_check else math.ceil)(num_frames / temporal_factor) * temporal_factor

    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar
