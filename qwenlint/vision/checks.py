"""Option checks that are not errors: keys a pipeline ignores, budgets written for the wrong patch size.

Both return `VisionWarning` values; nothing here prints or raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from qwenlint.vision.facts import VisionWarning
from qwenlint.vision.profiles import Profile

#: Per-part keys qwen-vl-utils 0.0.14 reads, by what the part is (vision_process.py).
_QVU_IMAGE_KEYS = frozenset({"min_pixels", "max_pixels", "resized_height", "resized_width"})
_QVU_VIDEO_FILE_KEYS = frozenset({"min_pixels", "max_pixels", "resized_height", "resized_width", "total_pixels",
                                  "fps", "nframes", "min_frames", "max_frames", "video_start", "video_end"})
_QVU_FRAME_LIST_KEYS = frozenset({"min_pixels", "max_pixels", "resized_height", "resized_width", "total_pixels",
                                  "sample_fps", "raw_fps"})
#: Every per-part preprocessing key qwenlint knows (the union of the above).
PART_OPTION_KEYS = _QVU_IMAGE_KEYS | _QVU_VIDEO_FILE_KEYS | _QVU_FRAME_LIST_KEYS

_BUDGET_KEYS = ("min_pixels", "max_pixels", "total_pixels")

PartKind = Literal["image", "video", "frames"]


#: Per-part frame-sampling keys: through vLLM, its video loader samples (set with --media-io-kwargs).
FRAME_SAMPLING_KEYS = frozenset({"fps", "nframes", "min_frames", "max_frames"})
_VLLM_FRAMES_WHY = ("the vLLM server ignores the per-part key '{key}': its video loader samples the frames "
                    "(set fps / min_frames / max_frames in the server's --media-io-kwargs '{{\"video\": {{...}}}}')")


def ignored_options(options: Mapping[str, Any], pipeline: str, kind: PartKind) -> list[VisionWarning]:
    """Preprocessing keys of ``options`` that ``pipeline`` does not read for this kind of part.

    ``kind``: ``"image"``, ``"video"`` (a file or URL) or ``"frames"`` (a list of frames).
    transformers' ``apply_chat_template`` and vLLM read none of them; qwen-vl-utils reads only
    some (e.g. ``fps`` is ignored for a frame list, ``sample_fps`` for a file).
    ``resized_height`` without ``resized_width`` (or the reverse) is ignored everywhere.
    """
    if pipeline == "qwen-vl-utils":
        used = {"image": _QVU_IMAGE_KEYS, "video": _QVU_VIDEO_FILE_KEYS, "frames": _QVU_FRAME_LIST_KEYS}[kind]
        why = f"qwen-vl-utils does not read '{{key}}' for {'an image' if kind == 'image' else 'this kind of video'}"
    else:
        used = frozenset()
        who = "processor.apply_chat_template" if pipeline == "transformers" else "the vLLM server"
        why = f"{who} ignores the per-part key '{{key}}' (set it on the processor call / mm_processor_kwargs)"
    out = [VisionWarning("ignored-option", key, _VLLM_FRAMES_WHY.format(key=key)
                         if pipeline == "vllm" and key in FRAME_SAMPLING_KEYS else why.format(key=key))
           for key in options if key in PART_OPTION_KEYS and key not in used]
    pair = ("resized_height", "resized_width")
    if pipeline == "qwen-vl-utils" and (pair[0] in options) != (pair[1] in options):
        key = pair[0] if pair[0] in options else pair[1]
        out.append(VisionWarning("ignored-option", key,
                                 f"'{key}' is ignored unless both resized_height and resized_width are given"))
    return out


def budget_warnings(options: Mapping[str, Any], profile: Profile) -> list[VisionWarning]:
    """Pixel budgets written as ``N * 28 * 28`` for a patch-16 family (Qwen3-VL / Qwen3.5 / Qwen3-Omni).

    Any value divisible by 28*28 = 784 is flagged, not only those that are not also multiples of
    32*32: 784 = 16 * 7**2, so a genuine ``M * 32 * 32`` is divisible by 784 only when ``M`` is a
    multiple of 49, while the common Qwen2.5-VL budget ``256*28*28`` (200704) is also ``196*32*32``.
    In 32-pixel units the value means ``value / 1024`` tokens, not ``value / 784``.
    """
    if profile.patch_size != 16:
        return []
    out = []
    for key in _BUDGET_KEYS:
        value = options.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % (28 * 28):
            continue
        n = value // 784
        out.append(VisionWarning(
            "budget-28-for-patch-16", key,
            f"{key}={value} is {n}*28*28, a budget for 28-pixel merged patches (Qwen2/2.5-VL); "
            f"{profile.family} merges 32x32 pixels, so this is {value / 1024:g} tokens, not {n}: "
            f"write {n}*32*32 = {n * 1024} to keep {n} tokens"))
    return out


def patch_size_warnings(profile: Profile, image_patch_size: int) -> list[VisionWarning]:
    """``process_vision_info(image_patch_size=...)`` that does not match the family's patch size."""
    if image_patch_size == profile.patch_size:
        return []
    return [VisionWarning(
        "image-patch-size-mismatch", None,
        f"process_vision_info(image_patch_size={image_patch_size}) rounds to {2 * image_patch_size}-pixel "
        f"multiples but {profile.family} uses patch {profile.patch_size} "
        f"(pass image_patch_size={profile.patch_size})")]
