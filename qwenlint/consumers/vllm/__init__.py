"""vLLM's OpenAI-compatible server: which parts a chat-completions request may hold, what the chat
template is handed, and the server and request settings that change the video frames.

Read from vLLM 0.33's OpenAI chat parser (``vllm/entrypoints/chat_utils.py``), its video loaders
(``vllm/multimodal/video.py``; the loaders' arithmetic is :mod:`qwenlint.vision.frames`'
``vllm_video_indices``) and its Qwen-VL processors (``vllm/model_executor/models/qwen2_vl.py``,
``qwen3_vl.py``).  The server's flags are :mod:`.server`, the request path :mod:`.request`.
tests/differential/test_vllm_server.py runs the real vLLM 0.33 and 0.34 render servers on generated
request bodies and compares every verdict and pad count (docs/token-math.md "Through vLLM").  Where
0.34 differs, the branch names its release (``Server.since``); the server's ``version`` is the one
consumers/versions.py resolves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from qwenlint.consumers.base import Reading, Target
from qwenlint.consumers.versions import Versions
from qwenlint.consumers.vllm.server import QWEN3_VIDEO_PIXELS_FOLDED, QWEN_VIDEO_LOADERS, SCOPED_MM_KWARGS, Server
from qwenlint.ir import Conversation, Part

TARGET = Target.VLLM
PIPELINE = "vllm"

#: Part types the chat parser accepts.
PART_TYPES = frozenset({"text", "image_url", "video_url", "audio_url", "input_audio", "image_embeds",
                        "image_pil", "input_text", "refusal", "thinking"})
#: The ``mm_processor_kwargs`` keys that change a prediction: the pixel budgets, and the frame
#: options the Qwen3-VL processor reads when it samples again (the loader kept every frame).
PIXEL_KWARGS = ("size", "min_pixels", "max_pixels")
FRAME_KWARGS = ("fps", "num_frames")
_SCOPES = {"images_kwargs": PIXEL_KWARGS, "videos_kwargs": PIXEL_KWARGS + FRAME_KWARGS}
#: The modality dicts of ``mm_processor_kwargs``.
MODALITY_DICTS = tuple(_SCOPES)
#: Guided-decoding request fields vLLM 0.33 no longer has: ignored, with a logged warning.
REMOVED_GUIDED_FIELDS = frozenset({"guided_json", "guided_regex", "guided_choice", "guided_grammar",
                                   "guided_decoding_backend", "guided_whitespace_pattern"})
#: Video loaders whose sampling is modelled (``media_io_kwargs["video"]["video_backend"]``).
VIDEO_BACKENDS = ("qwen3_vl", "qwen2_vl", "opencv")
#: The loaders vLLM registers for other models (``VIDEO_LOADER_REGISTRY``, 0.23 to 0.34): named as a
#: Qwen video's ``video_backend`` they decode it their own way, which is not modelled.  A name that is
#: neither these nor a modelled loader of the release fails each video: HTTP 500 "Extension class X
#: not found" (vllm/utils/registry.py ``ExtensionManager.load``).
OTHER_VIDEO_BACKENDS = frozenset({"opencv_dynamic", "glm46v", "glm5next", "glmga", "molmo2", "nemotron_vl",
                                  "openpangu", "embedding_gemma2", "clef_omni"})
#: ``media_io_kwargs["video"]`` keys that change which frames the loader samples, and their types.
_VIDEO_NUMBERS = {"num_frames": int, "fps": (int, float), "min_frames": int, "max_frames": int,
                  "temporal_patch_size": int}


def reading(part: Part, versions: Versions | None = None) -> Reading:
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


#: The causes (``request.ServerError.cause``) about a media URL (the URL checks).
URL_CAUSES = frozenset({"data-url", "data-url-encoding", "url-parse", "url-scheme", "domain",
                        "local-files-disabled", "local-path"})
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


def parse_media_io_kwargs(value: Any, any_backend: bool = False) -> dict:
    """Validate ``vllm serve --media-io-kwargs`` (a JSON string or a mapping); raise ValueError.

    Only ``"video"`` matters to token counts: ``video_backend`` (the loader: ``qwen3_vl``,
    ``qwen2_vl`` or ``opencv``; ``any_backend``: any, as a request may name one) and the numbers in
    ``_VIDEO_NUMBERS``.  Other keys (the decoder ``backend``, ``seek_mode``, ``num_ffmpeg_threads``,
    ``image``/``audio`` entries) are accepted and do not change the prediction.
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
    if backend is not None and backend not in VIDEO_BACKENDS and not any_backend:
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
        video = parse_media_io_kwargs(request, any_backend=True).get("video") or {}
    except ValueError:
        return dict(server)
    merged = {**server, **video}
    if "fps" in video and "num_frames" not in video:
        merged.pop("num_frames", None)
    elif "num_frames" in video and "fps" not in video:
        merged.pop("fps", None)
    return merged


def _complete_size_aliases(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``size.shortest_edge`` / ``min_pixels`` and ``size.longest_edge`` / ``max_pixels`` are one
    control: where only one of a pair is given (not None), the other is added, flat and within each
    scope separately (``Qwen2VLProcessingInfo._complete_mm_processor_size_aliases``)."""
    def complete(d: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(d)
        size = dict(out["size"]) if isinstance(out.get("size"), Mapping) else {}
        for edge, pixels in (("shortest_edge", "min_pixels"), ("longest_edge", "max_pixels")):
            if pixels not in out:
                if size.get(edge) is not None:
                    out[pixels] = size[edge]
            elif out[pixels] is not None and edge not in size:
                size[edge] = out[pixels]
                out["size"] = size
        return out

    out = complete(kwargs)
    for scope in _SCOPES:
        if isinstance(out.get(scope), Mapping):
            out[scope] = complete(out[scope])
    return out


def _merge(configured: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
    """Nested mappings merged recursively, the request's values first (``_merge_mm_processor_kwargs``)."""
    out = dict(configured)
    for key, value in request.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def processor_kwargs(configured: Mapping[str, Any], request: Any,
                     video_size: tuple[int, int] | None = None, recursive: bool = True,
                     video_pixels: bool = True) -> dict[str, Any]:
    """The modelled processor kwargs vLLM hands the HF processor for one request: the server's
    ``--mm-processor-kwargs`` merged with the request's ``mm_processor_kwargs``, flat keys routed
    into ``images_kwargs`` / ``videos_kwargs`` (a scoped value wins), and the pixel budgets folded
    into ``size`` (``min_pixels`` / ``max_pixels`` override its edges; missing edges come from the
    processor's defaults downstream).  Folding matters for Qwen3-VL video: its processor has no
    ``min_pixels`` / ``max_pixels`` of its own, and ``size.longest_edge`` budgets the whole video,
    not one frame.  ``video_size``: the video processor's own size edges, which fill a partial video
    size (``video_processor.size``; for the Omni models it is not the size their processor uses by
    default, so a request's ``max_pixels`` also lowers the video's smallest size).  ``recursive``:
    False before vLLM 0.33 (``SCOPED_MM_KWARGS``), where a request's key replaces the server's whole
    value (``kwargs | dict(inference_kwargs)``, vllm/config/multimodal.py).  ``video_pixels``: False
    where the video processor drops ``min_pixels`` / ``max_pixels`` (Qwen3-VL's before vLLM folds them,
    :data:`QWEN3_VIDEO_PIXELS_FOLDED`)."""
    # the aliases (vLLM 0.32) change nothing where the pixel budgets are folded into ``size`` anyway
    req = (_complete_size_aliases(request) if video_pixels else dict(request)) if isinstance(request, Mapping) else {}
    merged = _merge(configured, req) if recursive else {**configured, **req}
    out: dict[str, Any] = {}
    for scope, keys in _SCOPES.items():
        scoped = {k: merged[k] for k in keys if k in merged}
        nested = merged.get(scope)
        if isinstance(nested, Mapping):
            scoped.update({k: nested[k] for k in keys if k in nested})
        if scope == "videos_kwargs" and not video_pixels:
            scoped = {k: v for k, v in scoped.items() if k not in ("min_pixels", "max_pixels")}
        size = dict(scoped["size"]) if isinstance(scoped.get("size"), Mapping) else {}
        if scoped.get("min_pixels") is not None:
            size["shortest_edge"] = scoped["min_pixels"]
        if scoped.get("max_pixels") is not None:
            size["longest_edge"] = scoped["max_pixels"]
        scoped = {k: v for k, v in scoped.items() if k not in PIXEL_KWARGS and v is not None}
        if size and scope == "videos_kwargs" and video_size is not None:
            size = {"shortest_edge": video_size[0], "longest_edge": video_size[1], **size}
        if size:
            scoped["size"] = size
        if scope == "videos_kwargs" and "num_frames" in scoped and "fps" not in scoped:
            scoped["fps"] = None  # qwen3_vl.py: so the processor's default fps does not join in
        if scoped:
            out[scope] = scoped
    return out


def video_backends(server: Server) -> tuple[str, ...]:
    """The modelled loaders ``server``'s release registers (the Qwen ones from :data:`QWEN_VIDEO_LOADERS`)."""
    return VIDEO_BACKENDS if server.since(QWEN_VIDEO_LOADERS) else ("opencv",)


def video_settings(body: Any, server: Server) -> dict:
    """The video loader settings of one chat-completions request body: its ``media_io_kwargs`` merged
    over the server's, naming the generic loader before :data:`QWEN_VIDEO_LOADERS` (no other yet)."""
    video = server.video
    if isinstance(body, dict) and "media_io_kwargs" in body:
        video = merge_media_io_video(video, body["media_io_kwargs"])
    return video if server.since(QWEN_VIDEO_LOADERS) else {"video_backend": "opencv", **video}


def request_settings(body: Any, server: Server, video_size: tuple[int, int] | None = None,
                     qwen3_video: bool = False) -> tuple[dict, dict]:
    """The video loader settings and the processor kwargs of one chat-completions request body:
    `video_settings`, and `processor_kwargs`.  ``qwen3_video``: the model's video processor is
    Qwen3-VL's."""
    request_kwargs = body.get("mm_processor_kwargs") if isinstance(body, dict) else None
    return video_settings(body, server), processor_kwargs(server.mm_processor_kwargs, request_kwargs, video_size,
                                   recursive=server.since(SCOPED_MM_KWARGS),
                                   video_pixels=not qwen3_video or server.since(QWEN3_VIDEO_PIXELS_FOLDED))
