"""Pydantic models of the accepted message formats.

They serve two purposes: validating the *types* of what a part carries (a string ``fps`` is a
``TypeError`` inside qwen-vl-utils; a list where a path belongs crashes the loader), and generating
the JSON Schema editors use (``qwenlint schema``, built from these models in
:mod:`qwenlint.dialects.schema`).  Which *keys* a part may have, and which of them
a given consumer reads, is decided in :mod:`qwenlint.dialects.normalise` and
:mod:`qwenlint.consumers`, because it depends on the consumer; these models accept every known key.

Numbers are strict (``"1"`` is not a number; ``true`` is not an int): the consumers do arithmetic
on them without converting, so a string fails at run time.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
)

# A finite number, not a string or a boolean.  Option fields are typed ``Number = None``: a
# missing key defaults to None (defaults are not validated), but an explicit ``null`` is an error
# — qwen-vl-utils does ``min(None, ...)`` / ``total / fps * None`` with it and raises TypeError.
Number = Annotated[Union[StrictInt, Annotated[StrictFloat, AllowInfNan(False)]],
                   Field(json_schema_extra={"type": "number"})]
Count = Annotated[StrictInt, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


# --- native dialect: qwen-vl-utils and transformers -----------------------------------------

class TextPart(_Model):
    """``{"type": "text", "text": "..."}`` (``type`` may be omitted)."""

    type: Literal["text"] | None = None
    text: StrictStr


class ImagePart(_Model):
    """An image: a path, ``file://``/``http(s)://`` URL or data URI under ``image`` (qwen-vl-utils
    also reads a string ``image_url``; transformers also reads ``url``, ``path``, ``base64``)."""

    type: Literal["image", "image_url"] | None = None
    image: StrictStr | None = None
    image_url: StrictStr | None = None
    url: StrictStr | None = None
    path: StrictStr | None = None
    base64: StrictStr | None = None
    min_pixels: Number = None  # type: ignore[assignment]
    max_pixels: Number = None  # type: ignore[assignment]
    resized_height: Number = None  # type: ignore[assignment]
    resized_width: Number = None  # type: ignore[assignment]


class VideoPart(_Model):
    """A video: a path/URL, or a list of frame images, under ``video`` (transformers: ``url``,
    ``path``).  Options are read by qwen-vl-utils ``fetch_video``."""

    type: Literal["video"] | None = None
    video: StrictStr | list[StrictStr] | None = None
    url: StrictStr | None = None
    path: StrictStr | None = None
    fps: Number = None  # type: ignore[assignment]
    nframes: Number = None  # type: ignore[assignment]
    min_frames: Number = None  # type: ignore[assignment]
    max_frames: Number = None  # type: ignore[assignment]
    min_pixels: Number = None  # type: ignore[assignment]
    max_pixels: Number = None  # type: ignore[assignment]
    total_pixels: Number = None  # type: ignore[assignment]
    resized_height: Number = None  # type: ignore[assignment]
    resized_width: Number = None  # type: ignore[assignment]
    video_start: Number = None  # type: ignore[assignment]
    video_end: Number = None  # type: ignore[assignment]
    sample_fps: Number = None  # type: ignore[assignment]
    raw_fps: Number = None  # type: ignore[assignment]


class AudioPart(_Model):
    """An audio clip (Omni models): ``audio`` (transformers also ``url``, ``path``)."""

    type: Literal["audio"] | None = None
    audio: StrictStr | None = None
    url: StrictStr | None = None
    path: StrictStr | None = None
    audio_start: Number = None  # type: ignore[assignment]
    audio_end: Number = None  # type: ignore[assignment]


# --- OpenAI / vLLM dialect --------------------------------------------------------------------

class _Url(_Model):
    url: StrictStr
    detail: Literal["auto", "low", "high"] | None = None


class ImageUrlPart(_Model):
    """``{"type": "image_url", "image_url": {"url": ...}}`` (vLLM also takes a bare string)."""

    type: Literal["image_url"] | None = None
    image_url: _Url | StrictStr


class VideoUrlPart(_Model):
    """``{"type": "video_url", "video_url": {"url": ...}}`` (vLLM)."""

    type: Literal["video_url"] | None = None
    video_url: _Url | StrictStr


class AudioUrlPart(_Model):
    type: Literal["audio_url"] | None = None
    audio_url: _Url | StrictStr


class _InputAudio(_Model):
    data: StrictStr
    format: StrictStr


class InputAudioPart(_Model):
    """``{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav"}}``."""

    type: Literal["input_audio"] = "input_audio"
    input_audio: _InputAudio


class ValuePart(_Model):
    """LLaMA-Factory v1: ``{"type": "image_url" | "video_url" | "audio_url" | "text", "value": ...}``."""

    type: StrictStr
    value: StrictStr | list[StrictStr]


# --- messages ---------------------------------------------------------------------------------

Part = Union[TextPart, ImagePart, VideoPart, AudioPart, ImageUrlPart, VideoUrlPart, AudioUrlPart,
             InputAudioPart]


class Message(_Model):
    """One turn.  ``content`` is a string or a list of parts."""

    role: Literal["system", "user", "assistant", "tool"] | StrictStr
    content: StrictStr | list[Part] | None = None


Conversation = list[Message]
Batch = list[Conversation]

#: Validators per part kind, used by the normaliser.
PART_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "text": TypeAdapter(TextPart),
    "image": TypeAdapter(ImagePart),
    "video": TypeAdapter(VideoPart),
    "audio": TypeAdapter(AudioPart),
    "image_url": TypeAdapter(ImageUrlPart),
    "video_url": TypeAdapter(VideoUrlPart),
    "audio_url": TypeAdapter(AudioUrlPart),
    "input_audio": TypeAdapter(InputAudioPart),
    "value": TypeAdapter(ValuePart),
}
