"""qwen-vl-utils: ``process_vision_info`` picks the media parts, then the HF processor runs.

Read from qwen-vl-utils 0.0.14 (``extract_vision_info``, ``process_vision_info``,
``fetch_image``, ``fetch_video``) and, where they differ, 0.0.10.  The arithmetic of
``fetch_image`` / ``fetch_video`` is :mod:`qwenlint.vision.qvu`'s.
"""

from __future__ import annotations

from typing import Any

from packaging.version import Version

from qwenlint.consumers.base import Reading, Target
from qwenlint.consumers.versions import Versions
from qwenlint.dialects import keys as K
from qwenlint.ir import Kind, Part

TARGET = Target.QWEN_VL_UTILS
#: The predictor pipeline (:mod:`qwenlint.vision`) that mirrors this consumer.
PIPELINE = "qwen-vl-utils"

#: ``extract_vision_info`` reads the ``type`` of a part that has no image / image_url / video key.
#: Before 0.0.11 it read ``ele["type"]``, so such a part without ``type`` (``{"text": "hi"}``)
#: raised ``KeyError: 'type'``; 0.0.11 reads ``ele.get("type", "")`` (QwenLM/Qwen3-VL 45568d5),
#: 0.0.13 ``ele.get("type", "text")``.
TYPE_OPTIONAL = Version("0.0.11")
_VISION_KEYS = ("image", "image_url", "video")


def extraction(raw: Any, versions: Versions | None = None) -> Reading:
    """``extract_vision_info`` on one content item (a dict): picked (``loaded``), skipped, or the
    ``KeyError`` of the releases before :data:`TYPE_OPTIONAL`."""
    d = raw if isinstance(raw, dict) else {}
    if any(k in d for k in _VISION_KEYS):
        return Reading(True)
    if "type" not in d and versions is not None and versions["qwen-vl-utils"] < TYPE_OPTIONAL:
        return Reading(False, "KeyError: 'type'",
                       f"qwen-vl-utils {versions['qwen-vl-utils']}'s extract_vision_info reads "
                       "part[\"type\"] of every part without an \"image\", \"image_url\" or \"video\" key "
                       f"(fixed in {TYPE_OPTIONAL})")
    if d.get("type", "text") in _VISION_KEYS:
        return Reading(True)
    return Reading(False, why="qwen-vl-utils' extract_vision_info only picks parts with an "
                   "\"image\", \"image_url\" or \"video\" key or type")


def reading(part: Part, versions: Versions | None = None) -> Reading:
    """``extract_vision_info`` / ``fetch_image`` / ``fetch_video`` on one part."""
    picked = extraction(part.raw, versions)
    if not picked.loaded:
        return picked
    d = part.raw if isinstance(part.raw, dict) else {}
    if "image" in d or "image_url" in d:
        src = d["image"] if "image" in d else d["image_url"]
        if isinstance(src, str):
            if src.startswith("data:") and not (src.startswith("data:image") and "base64," in src):
                return Reading(True, "ValueError: Unrecognized image input, support local path, "
                               "http url, base64 and PIL.Image",
                               "fetch_image only decodes data URIs of the form data:image/...;base64,")
            return Reading(True)
        from qwenlint.media.memory import is_pil_image  # here: importing qwenlint needs no Pillow

        if is_pil_image(src):  # the Python API: fetch_image takes a PIL image as is
            return Reading(True)
        return Reading(True, f"AttributeError: '{type(src).__name__}' object has no attribute "
                       "'startswith'", "fetch_image expects the image source to be a string "
                       "(the OpenAI {\"url\": ...} object is not unwrapped)")
    if "video" in d:
        if isinstance(d["video"], (str, list)):
            return Reading(True)
        return Reading(True, "AssertionError (fetch_video: the video must be a path/URL string "
                       "or a list of frames)")
    return Reading(True, "ValueError: image, image_url or video should in content.",
                   "process_vision_info picks the part by its type but finds no \"image\", "
                   "\"image_url\" or \"video\" key to load")


def ignored_options(part: Part) -> list[str]:
    """Per-part options on ``part`` that fetch_image / fetch_video never read."""
    allowed = K.IMAGE_OPTIONS if part.kind is Kind.IMAGE else (
        K.VIDEO_OPTIONS if part.kind is Kind.VIDEO else ())
    if part.is_frame_list is False and part.kind is Kind.VIDEO:
        allowed = tuple(k for k in allowed if k not in ("sample_fps", "raw_fps"))
    return [k for k in part.options if k not in allowed]
