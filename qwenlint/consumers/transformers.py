"""transformers: ``processor.apply_chat_template(tokenize=True)`` loading the media itself.

Read from transformers 5.23 (``ProcessorMixin.apply_chat_template``,
``_normalize_conversations``).  The processors' arithmetic is :mod:`qwenlint.vision.processor`'s.
"""

from __future__ import annotations

from qwenlint.consumers.base import Reading, Target
from qwenlint.ir import Part

TARGET = Target.TRANSFORMERS
PIPELINE = "transformers"

#: The keys ``apply_chat_template`` loads a part of each type from.
SOURCE_KEYS = {"image": ("image", "url", "path", "base64"), "video": ("video", "url", "path"),
               "audio": ("audio", "url", "path")}


def reading(part: Part) -> Reading:
    d = part.raw if isinstance(part.raw, dict) else {}
    t = d.get("type")
    if t == "image_url" and "image_url" in d:  # _normalize_conversations
        return Reading(True)
    if "type" not in d:
        return Reading(False, "KeyError: 'type'", "transformers' apply_chat_template(tokenize=True) "
                       "reads block[\"type\"] of every content item")
    keys = SOURCE_KEYS.get(t)
    if keys is None:
        return Reading(False, why=f"transformers only loads parts of type image, video and audio "
                       f"(and normalises image_url); type {t!r} is neither")
    if not any(k in d for k in keys):
        return Reading(False, why=f"transformers loads a {t} part from the keys "
                       f"{', '.join(keys)}; this part has none")
    return Reading(True)


def ignored_options(part: Part) -> list[str]:
    """``apply_chat_template`` reads no per-part option: every one is ignored."""
    return list(part.options)
