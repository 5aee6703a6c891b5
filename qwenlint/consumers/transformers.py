"""transformers: ``processor.apply_chat_template(tokenize=True)`` loading the media itself.

Read from transformers 5.23 (``ProcessorMixin.apply_chat_template``,
``_normalize_conversations``).  The processors' arithmetic is :mod:`qwenlint.vision.processor`'s.
"""

from __future__ import annotations

from packaging.version import Version

from qwenlint.consumers.base import Reading, Target
from qwenlint.consumers.versions import Versions
from qwenlint.ir import Part
from qwenlint.template.render import IMAGE_URL_NORMALISED

TARGET = Target.TRANSFORMERS
PIPELINE = "transformers"

#: The keys ``apply_chat_template`` loads a part of each type from.
SOURCE_KEYS = {"image": ("image", "url", "path", "base64"), "video": ("video", "url", "path"),
               "audio": ("audio", "url", "path")}


# IMAGE_URL_NORMALISED (5.2.0, its home is qwenlint.template.render): ``_normalize_conversations``
# turns an OpenAI ``image_url`` part into an image part (huggingface/transformers#43786); before,
# apply_chat_template loads nothing for it and the template is given the part as written.


#: 5.23.0: the processor checks the pads against the media (``validate_inputs``) and raises.
PADS_VALIDATED = Version("5.23.0")


def pad_without_media(kind: str, pad: str, pads: int, release: Version | None) -> str:
    """What the processor of transformers ``release`` (None: a vLLM server's, which pins an older
    one) does with ``pads`` pads (``pad``) of ``kind`` that no loaded item fills (run on 5.1.0,
    5.17.0 and 5.23.0)."""
    if release is not None and release >= PADS_VALIDATED:
        return (f"the processor raises ValueError: Found {pads} {pad} tokens in the text but no {kind}s "
                "were passed (or the counts mismatch)")
    shown = f"transformers {release}" if release is not None else "the server's transformers"
    return (f"{shown}'s processor leaves the pad unexpanded: the model silently gets no {kind} for it, "
            f"or, with other {kind}s in the prompt, the processor raises IndexError: index N is out of "
            "bounds for axis 0")


def reading(part: Part, versions: Versions | None = None) -> Reading:
    d = part.raw if isinstance(part.raw, dict) else {}
    t = d.get("type")
    if t == "image_url" and "image_url" in d:  # _normalize_conversations
        if versions is not None and versions["transformers"] < IMAGE_URL_NORMALISED:
            return Reading(False, why=f"transformers {versions['transformers']} loads no image for an image_url "
                           f"part; apply_chat_template reads it from {IMAGE_URL_NORMALISED} on")
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


#: The first transformers release that knows each family's ``model_type`` (versions.md: Qwen3-VL
#: and Qwen3-Omni came in 4.57.0, Qwen3.5 and Qwen3.6 (model type ``qwen3_5``) in 5.2.0, Qwen4-Exp
#: in 5.16.0 -- ``models/qwen4_exp/`` is in the 5.16.0 wheel and not in 5.15.1's;
#: tests/differential/test_vision_transformers_versions.py loads a config of each type with every
#: installed release).  Before it, loading the checkpoint raises ``ValueError: The checkpoint you
#: are trying to load has model type `qwen3_5` but Transformers does not recognize this
#: architecture``.  The other families are older than every modelled release.
FAMILY_SINCE: dict[str, Version] = {
    "qwen3-vl": Version("4.57.0"),
    "qwen3-omni": Version("4.57.0"),
    "qwen3.5": Version("5.2.0"),
    "qwen3.6": Version("5.2.0"),
    "qwen4-exp": Version("5.16.0"),
}


def knows_family(family: str, release: Version) -> bool:
    """Whether transformers ``release`` can load a ``family`` checkpoint at all."""
    since = FAMILY_SINCE.get(family)
    return since is None or release >= since


#: 5.7.0: ``apply_chat_template(tokenize=True)`` skips a message whose content is a string when it
#: collects the media (before, it iterates the string and indexes each character with ``"type"``).
#: Read in the sources of 5.1.0 to 5.8.0 and run on 4.57.6, 5.1.0, 5.6.0 and 5.17.0.
STRING_CONTENT_SKIPPED = Version("5.7.0")


def content_crash(content: object, release: Version) -> str | None:
    """The error ``apply_chat_template(tokenize=True)`` of ``release`` raises for a message with this
    ``content`` while it collects the media, or None.  (A missing or null content is QL107's.)"""
    if isinstance(content, str) and content and release < STRING_CONTENT_SKIPPED:
        return "TypeError: string indices must be integers, not 'str'"
    return None
