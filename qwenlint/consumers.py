"""What each consumer (``--target``) does with a content part: load it, drop it, or crash on it.

The same part means different things to different consumers.  ``{"type": "video_url", ...}`` is a
valid vLLM part and is silently dropped by transformers; ``{"type": "image", "url": ...}`` is loaded
by transformers and crashes qwen-vl-utils.  This module models the *loading* side, read from the
sources of the versions qwenlint mirrors (qwen-vl-utils 0.0.14 ``extract_vision_info`` /
``process_vision_info`` / ``fetch_image``; transformers 5.23 ``ProcessorMixin.apply_chat_template``
and ``_normalize_conversations``; vLLM's OpenAI chat parser).  Whether the chat template *renders* a
pad for the part is the template stage's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from qwenlint.dialects import keys as K
from qwenlint.ir import Conversation, Form, Kind, Part

TARGETS = ("qwen-vl-utils", "transformers", "vllm", "llamafactory", "ms-swift", "qwen-finetune")
DATASET_TARGETS = ("llamafactory", "ms-swift", "qwen-finetune")


@dataclass(frozen=True, slots=True)
class Reading:
    """What ``target`` does with one media part."""

    loaded: bool
    crash: str | None = None  # the exception the consumer raises, quoted
    why: str = ""  # one sentence on the behaviour, for messages


def infer_target(conv: Conversation) -> str:
    """The default consumer for a conversation's dialect (design.md: ``--target``).

    ShareGPT records (``conversations`` of ``from``/``value``): media under the singular ``image`` /
    ``video`` keys (and no plural column) is qwen-vl-finetune's format; anything else is read as
    LLaMA-Factory's.  The choice is per record, so a text-only record of a qwen-vl-finetune file
    is checked as LLaMA-Factory's: pass ``--target`` for such files.  (The engine picks
    ``llamafactory`` for any file a ``dataset_info.json`` next to it declares.)
    """
    if conv.dialect == "openai":
        return "vllm"
    if conv.dialect == "sharegpt":
        rec = conv.record if isinstance(conv.record, dict) else {}
        plural = any(k in rec for k in ("images", "videos", "audios"))
        return "qwen-finetune" if ("image" in rec or "video" in rec) and not plural \
            else "llamafactory"
    if conv.dialect in ("messages-record",):
        return "ms-swift"
    if conv.dialect == "alpaca":
        return "llamafactory"
    return "qwen-vl-utils"


def _qvu(part: Part) -> Reading:
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


def _transformers(part: Part) -> Reading:
    d = part.raw if isinstance(part.raw, dict) else {}
    t = d.get("type")
    if t == "image_url" and "image_url" in d:  # _normalize_conversations
        return Reading(True)
    if "type" not in d:
        return Reading(False, "KeyError: 'type'", "transformers' apply_chat_template(tokenize=True) "
                       "reads block[\"type\"] of every content item")
    keys = {"image": ("image", "url", "path", "base64"), "video": ("video", "url", "path"),
            "audio": ("audio", "url", "path")}.get(t)
    if keys is None:
        return Reading(False, why=f"transformers only loads parts of type image, video and audio "
                       f"(and normalises image_url); type {t!r} is neither")
    if not any(k in d for k in keys):
        return Reading(False, why=f"transformers loads a {t} part from the keys "
                       f"{', '.join(keys)}; this part has none")
    return Reading(True)


_VLLM_TYPES = {"text", "image_url", "video_url", "audio_url", "input_audio", "image_embeds",
               "image_pil", "input_text", "refusal", "thinking"}


def _vllm(part: Part) -> Reading:
    d = part.raw if isinstance(part.raw, dict) else {}
    t = d.get("type")
    if t is None and any(k in d for k in ("image_url", "video_url", "audio_url")):
        return Reading(True)  # vLLM's "simple" forms {"image_url": "..."}
    if t in _VLLM_TYPES:
        return Reading(True)
    return Reading(False, f"BadRequestError: Unknown part type: {t}" if t else
                   "BadRequestError: part has no \"type\"",
                   "vLLM's OpenAI server accepts image_url / video_url / audio_url / input_audio "
                   "parts, not the qwen-vl-utils dialect")


def _framework(part: Part) -> Reading:
    if part.form in (Form.TRANSLATED, Form.UNKNOWN):
        return Reading(False, why="the framework does not recognise this part")
    return Reading(True)


def reading(target: str, part: Part) -> Reading:
    """What ``target`` does with a media part (text parts are not asked about)."""
    if part.form in (Form.TRANSLATED, Form.UNKNOWN) and target != "vllm":
        return Reading(False, why=f"{target} only reads English keys and known part types")
    return _READERS.get(target, _framework)(part)


_READERS = {"qwen-vl-utils": _qvu, "transformers": _transformers, "vllm": _vllm}


def ignored_options(target: str, part: Part) -> list[str]:
    """Per-part options written on ``part`` that ``target`` never reads."""
    if not part.options:
        return []
    if target == "qwen-vl-utils":
        allowed = K.IMAGE_OPTIONS if part.kind is Kind.IMAGE else (
            K.VIDEO_OPTIONS if part.kind is Kind.VIDEO else ())
        if part.is_frame_list is False and part.kind is Kind.VIDEO:
            allowed = tuple(k for k in allowed if k not in ("sample_fps", "raw_fps"))
        return [k for k in part.options if k not in allowed]
    if target in ("transformers", "vllm"):
        return list(part.options)
    return []
