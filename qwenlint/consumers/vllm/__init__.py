"""vLLM's OpenAI-compatible server: which parts a chat-completions request may hold, what the chat
template is handed, and the server and request settings that change the video frames.

Read from vLLM's OpenAI chat parser (``vllm/entrypoints/chat_utils.py``) and its video loaders
(``vllm/multimodal/video.py``); the loaders' arithmetic is :mod:`qwenlint.vision.frames`'
``vllm_video_indices``.  vLLM itself does not run in the tests (it needs its own environment):
what is modelled here is checked against its source, see docs/token-math.md "Through vLLM".
"""

from __future__ import annotations

import json
from typing import Any

from qwenlint.consumers.base import Reading, Target
from qwenlint.ir import Conversation, Part

TARGET = Target.VLLM
PIPELINE = "vllm"

#: Part types the chat parser accepts.
PART_TYPES = frozenset({"text", "image_url", "video_url", "audio_url", "input_audio", "image_embeds",
                        "image_pil", "input_text", "refusal", "thinking"})
#: The keys of a request's ``mm_processor_kwargs`` that change a prediction (pixel budgets; frame
#: options there do not change the frames the video loader already sampled).
PIXEL_KWARGS = ("size", "min_pixels", "max_pixels")
#: Video loaders whose sampling is modelled (``media_io_kwargs["video"]["video_backend"]``).
VIDEO_BACKENDS = ("qwen3_vl", "qwen2_vl", "opencv")
#: ``media_io_kwargs["video"]`` keys that change which frames the loader samples, and their types.
_VIDEO_NUMBERS = {"num_frames": int, "fps": (int, float), "min_frames": int, "max_frames": int,
                  "temporal_patch_size": int}


def reading(part: Part) -> Reading:
    d = part.raw if isinstance(part.raw, dict) else {}
    t = d.get("type")
    if t is None and any(k in d for k in ("image_url", "video_url", "audio_url")):
        return Reading(True)  # vLLM's "simple" forms {"image_url": "..."}
    if t in PART_TYPES:
        return Reading(True)
    return Reading(False, f"BadRequestError: Unknown part type: {t}" if t else
                   "BadRequestError: part has no \"type\"",
                   "vLLM's OpenAI server accepts image_url / video_url / audio_url / input_audio "
                   "parts, not the qwen-vl-utils dialect")


def ignored_options(part: Part) -> list[str]:
    """The server reads no per-part option: every one is ignored (budgets go in
    ``mm_processor_kwargs``, frame sampling in ``media_io_kwargs``)."""
    return list(part.options)


def request_body(conv: Conversation) -> dict[str, Any]:
    """The chat-completions body a conversation is sent as: the request object holding its
    messages, or ``{"messages": [...]}`` for a bare message list."""
    if isinstance(conv.record, dict) and "messages" in conv.record:
        return conv.record
    return {"messages": [m.raw for m in conv.messages]}


def body_pointer(conv: Conversation, pointer: str) -> str:
    """A pointer into :func:`request_body` as a pointer into the input file."""
    if isinstance(conv.record, dict) and "messages" in conv.record:
        return conv.record_pointer + pointer
    if pointer == "/messages" or pointer.startswith("/messages/"):
        return conv.pointer + pointer[len("/messages"):]
    return conv.pointer


#: The causes (``request.ServerError.cause``) that belong to one content part.
PART_CAUSES = frozenset({"part-schema", "part-validation", "missing-type", "invalid-type", "part-type",
                         "embeds-disabled", "prompt-embeds"})


def part_request(part: Part, role: Any, server: Any, supported: Any) -> Any:
    """The request path of :mod:`.request` on a request holding only ``part`` (in a message of
    ``role``): how the server reads this part on its own.  Every bad part of a request is found this
    way (the server itself stops at the first)."""
    from qwenlint.consumers.vllm import request as vreq

    role = role if isinstance(role, str) else "user"
    return vreq.parse_request({"messages": [{"role": role, "content": [part.raw]}]}, server, supported)


def part_reading(parsed: Any) -> Reading:
    """What the server does with a media part, from its :func:`part_request`."""
    e = parsed.error
    if e is not None and e.cause in PART_CAUSES:
        return Reading(True, f"HTTP {e.status} {e.type}: {e.message.splitlines()[0]}",
                       "vLLM's request path rejects the part: the whole request fails")
    if not parsed.items:
        return Reading(False, why="vLLM reads no media from this part")
    return Reading(True)


def template_messages(conv: Conversation) -> list[Any]:
    """What vLLM hands the chat template for OpenAI parts: media become
    ``{"type": "image"|"video"|"audio"}``, text parts ``{"type": "text", "text": ...}``."""
    out = []
    for m in conv.messages:
        raw = m.raw
        if not isinstance(raw, dict) or not isinstance(raw.get("content"), list):
            out.append(raw)
            continue
        content = []
        for p in m.parts:
            if p.kind.is_media:
                content.append({"type": p.kind.value})
            elif p.kind.value == "text" and p.text is not None:
                content.append({"type": "text", "text": p.text})
            else:
                content.append(p.raw)
        out.append({**raw, "content": content})
    return out


def parse_media_io_kwargs(value: Any) -> dict:
    """Validate ``vllm serve --media-io-kwargs`` (a JSON string or a mapping); raise ValueError.

    Only ``"video"`` matters to token counts: ``video_backend`` (the loader: ``qwen3_vl``,
    ``qwen2_vl`` or ``opencv``) and the numbers in ``_VIDEO_NUMBERS``.  Other keys (the decoder
    ``backend``, ``seek_mode``, ``num_ffmpeg_threads``, ``image``/``audio`` entries) are accepted
    and do not change the prediction.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ValueError('expected a JSON object such as {"video": {"fps": 1}}')
    video = value.get("video", {})
    if not isinstance(video, dict):
        raise ValueError('"video" must be an object')
    backend = video.get("video_backend")
    if backend is not None and backend not in VIDEO_BACKENDS:
        raise ValueError(f"video_backend {backend!r} is not modelled; qwenlint knows "
                         f"{', '.join(VIDEO_BACKENDS)}")
    for key, kind in _VIDEO_NUMBERS.items():
        v = video.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, kind)):
            what = "an integer" if kind is int else "a number"
            raise ValueError(f"video.{key} must be {what}, not {v!r}")
    if video.get("temporal_patch_size", 1) < 1:
        raise ValueError("video.temporal_patch_size must be at least 1")
    return value


def merge_media_io_video(server: dict, request: Any) -> dict:
    """The loader settings of one request: the server's ``"video"`` entry updated with the request
    body's ``media_io_kwargs["video"]`` (vLLM's ``merge_kwargs``: a request that sets only ``fps``
    drops the server's ``num_frames``, and the reverse).  An invalid request value is ignored here
    (vLLM rejects the request)."""
    try:
        video = parse_media_io_kwargs(request).get("video") or {}
    except ValueError:
        return dict(server)
    merged = {**server, **video}
    if "fps" in video and "num_frames" not in video:
        merged.pop("num_frames", None)
    elif "num_frames" in video and "fps" not in video:
        merged.pop("fps", None)
    return merged


def request_settings(body: Any, server_video: dict) -> tuple[dict, dict]:
    """The video loader settings and processor kwargs of one chat-completions request body: its
    ``media_io_kwargs`` merged over the server's, and the pixel budgets of its
    ``mm_processor_kwargs``."""
    video, kwargs = server_video, {}
    if isinstance(body, dict):
        if "media_io_kwargs" in body:
            video = merge_media_io_video(video, body["media_io_kwargs"])
        mm = body.get("mm_processor_kwargs")
        if isinstance(mm, dict):
            kwargs = {k: mm[k] for k in PIXEL_KWARGS if k in mm}
    return video, kwargs
