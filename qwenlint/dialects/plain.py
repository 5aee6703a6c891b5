"""A part that is plainly valid, told without pydantic.

Most parts in a file are valid, and for them the pydantic models of :mod:`qwenlint.dialects.models`
have nothing to say; importing pydantic and building those models is a third of a one-file
check's start-up.  :func:`plainly_valid` accepts a part only when every field the part's model
declares is present with a value of exactly the type the model takes (``str`` for a string, an
``int`` or a finite ``float`` for a number, never a ``bool``) and every required field is there;
anything else — a subclass, ``None`` where a number belongs, a missing key — is left to pydantic,
which gives the diagnostic.  So it answers "valid" only where the model does too
(``tests/test_normalise.py`` proves it on drawn parts, and that :data:`FIELDS` names exactly each
model's fields); it may answer "ask pydantic" for a valid part, which costs time, never a verdict.
"""

from __future__ import annotations

import math
from typing import Any, Callable


def _str(v: Any) -> bool:
    return type(v) is str


def _opt_str(v: Any) -> bool:  # StrictStr | None = None: an explicit null is valid
    return v is None or type(v) is str


def _number(v: Any) -> bool:  # Number = None: an explicit null is not
    return type(v) is int or (type(v) is float and math.isfinite(v))


def _str_or_strs(v: Any) -> bool:
    return type(v) is str or (type(v) is list and all(type(x) is str for x in v))


def _opt_str_or_strs(v: Any) -> bool:
    return v is None or _str_or_strs(v)


def _url(v: Any) -> bool:  # _Url | StrictStr
    if type(v) is str:
        return True
    return (type(v) is dict and all(type(k) is str for k in v) and type(v.get("url")) is str
            and v.get("detail", None) in (None, "auto", "low", "high"))


def _input_audio(v: Any) -> bool:  # _InputAudio
    return (type(v) is dict and all(type(k) is str for k in v)
            and type(v.get("data")) is str and type(v.get("format")) is str)


def _literal(*values: str | None) -> Callable[[Any], bool]:
    return lambda v: v in values and (v is None or type(v) is str)


_IMAGE_OPTIONS = dict.fromkeys(("min_pixels", "max_pixels", "resized_height", "resized_width"), _number)
_VIDEO_OPTIONS = dict.fromkeys(("fps", "nframes", "min_frames", "max_frames", "min_pixels", "max_pixels",
                                "total_pixels", "resized_height", "resized_width", "video_start",
                                "video_end", "sample_fps", "raw_fps"), _number)

#: Per adapter of ``models.PART_ADAPTERS``: each declared field and the check of its value.
FIELDS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "text": {"type": _literal("text", None), "text": _str},
    "image": {"type": _literal("image", "image_url", None), "image": _opt_str, "image_url": _opt_str,
              "url": _opt_str, "path": _opt_str, "base64": _opt_str, **_IMAGE_OPTIONS},
    "video": {"type": _literal("video", None), "video": _opt_str_or_strs, "url": _opt_str,
              "path": _opt_str, **_VIDEO_OPTIONS},
    "audio": {"type": _literal("audio", None), "audio": _opt_str, "url": _opt_str, "path": _opt_str,
              "audio_start": _number, "audio_end": _number},
    "image_url": {"type": _literal("image_url", None), "image_url": _url},
    "video_url": {"type": _literal("video_url", None), "video_url": _url},
    "audio_url": {"type": _literal("audio_url", None), "audio_url": _url},
    "input_audio": {"type": _literal("input_audio"), "input_audio": _input_audio},
    "value": {"type": _str, "value": _str_or_strs},
}

#: The fields without a default, per adapter.
REQUIRED: dict[str, tuple[str, ...]] = {
    "text": ("text",), "image_url": ("image_url",), "video_url": ("video_url",),
    "audio_url": ("audio_url",), "input_audio": ("input_audio",), "value": ("type", "value"),
}


def plainly_valid(adapter: str, part: dict) -> bool:
    """True when ``part`` is valid for ``adapter``'s model beyond doubt (see the module's doc);
    False means "ask pydantic", not "invalid"."""
    fields = FIELDS[adapter]
    if any(k not in part for k in REQUIRED.get(adapter, ())):
        return False
    for k, v in part.items():
        if type(k) is not str:
            return False
        check = fields.get(k)
        if check is not None and not check(v):
            return False
    return True
