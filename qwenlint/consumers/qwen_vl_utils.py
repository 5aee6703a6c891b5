"""qwen-vl-utils: ``process_vision_info`` picks the media parts, then the HF processor runs.

Read from qwen-vl-utils 0.0.14 (``extract_vision_info``, ``process_vision_info``,
``fetch_image``, ``fetch_video``).  The arithmetic of ``fetch_image`` / ``fetch_video`` is
:mod:`qwenlint.vision.qvu`'s.
"""

from __future__ import annotations

from qwenlint.consumers.base import Reading, Target
from qwenlint.consumers.versions import Versions
from qwenlint.dialects import keys as K
from qwenlint.ir import Kind, Part

TARGET = Target.QWEN_VL_UTILS
#: The predictor pipeline (:mod:`qwenlint.vision`) that mirrors this consumer.
PIPELINE = "qwen-vl-utils"


def reading(part: Part, versions: Versions | None = None) -> Reading:
    """``extract_vision_info`` / ``fetch_image`` / ``fetch_video`` on one part."""
    d = part.raw if isinstance(part.raw, dict) else {}
    extracted = ("image" in d or "image_url" in d or "video" in d
                 or d.get("type", "text") in ("image", "image_url", "video"))
    if not extracted:
        return Reading(False, why="qwen-vl-utils' extract_vision_info only picks parts with an "
                       "\"image\", \"image_url\" or \"video\" key or type")
    if "image" in d or "image_url" in d:
        src = d["image"] if "image" in d else d["image_url"]
        if isinstance(src, str):
            if src.startswith("data:") and not (src.startswith("data:image") and "base64," in src):
                return Reading(True, "ValueError: Unrecognized image input, support local path, "
                               "http url, base64 and PIL.Image",
                               "fetch_image only decodes data URIs of the form data:image/...;base64,")
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
