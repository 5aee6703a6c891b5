"""Serve stage: what vLLM's OpenAI-compatible server answers each request.

For every conversation whose consumer is vLLM, the request body (the record holding the messages;
a bare message list is sent as ``{"messages": [...]}``) goes through vLLM's request path in the
order vLLM takes it:

1. the request itself — the HTTP request model, per-request kwargs and chat templates, every
   content part, the per-prompt limits (:func:`qwenlint.consumers.vllm.request.parse_request`);
2. each media item, in the order vLLM loads them: its URL (data URL, scheme, ``file://`` inside
   ``--allowed-local-media-path``, allowed domains), the file (a missing file is HTTP 500), its
   bytes (the media stage's facts: an image that does not decode, a video that does not open);
3. after every item loaded: an item with no data must name cached media with a ``uuid``;
4. the processor (the vision stage's predictions: a ``VisionError`` is the processor raising;
   its exception class gives the HTTP status, as ``create_error_response`` maps it).

Fills ``ctx.responses[conv.index]`` with a :class:`~qwenlint.context.ServerResponse`: the error the
server answers (the first one, as vLLM raises it), or none, with the media items it renders.
Where the answer cannot be known here, ``ServerResponse.unknown`` says why: an http(s) URL (never
fetched), a ``uuid`` (the server's processor cache may hold other media under it), an embeddings
or PIL payload (not modelled).
"""

from __future__ import annotations

import base64
import binascii

from qwenlint.consumers import Target
from qwenlint.consumers.vllm import (
    MODALITY_DICTS,
    OTHER_VIDEO_BACKENDS,
    PIXEL_KWARGS,
    VIDEO_BACKENDS,
    body_pointer,
    video_settings,
)
from qwenlint.consumers.vllm import request as vreq
from qwenlint.consumers.vllm import schema as S
from qwenlint.consumers.vllm.server import (
    BOMB_AS_LOAD_ERROR,
    OPENCV_DEMUX_COUNT,
    QWEN_LOADER_CAPS,
    SCOPED_MM_KWARGS,
    UUID_ERROR_NAMES_PARAMETER,
    WHOLE_CONTEXT_FOR_PROMPT,
    Server,
)
from qwenlint.context import RecordContext, ServerResponse
from qwenlint.ir import Conversation
from qwenlint.media import ImageFacts, MediaError, VideoFacts, bomb_error
from qwenlint.media.video import opencv_header_counts
from qwenlint.vision.frames import VLLM_MAX_FPS, VLLM_MAX_FRAMES, vllm_loader
from qwenlint.vision import VisionError

#: vLLM's messages for what the media stage found about a file it loads (vLLM 0.33 and 0.34: the
#: media connector and the image / video loaders).  ``<path>`` is how the server sanitises paths.
_FILE_ERRORS = {
    "not-found": (500, "InternalServerError", "[Errno 2] No such file or directory: '<path>'"),
    "not-a-file": (500, "InternalServerError", "[Errno 21] Is a directory: '<path>'"),
    "permission-denied": (500, "InternalServerError", "[Errno 13] Permission denied: '<path>'"),
}


def _base64_error(url: str) -> str | None:
    """pybase64's message for a payload its strict decoder (``b64decode(validate=True)``) rejects
    (None: it decodes).  pybase64 is Python's strict decoder that also refuses a length that is
    not a multiple of 4 (checked on every string of up to 6 characters over ``A=/+ %\\n``), and
    every refusal has the one message."""
    payload = url.partition(",")[2]
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return "Non-base64 digit found"
    return None if len(payload) % 4 == 0 else "Non-base64 digit found"


def _pil_message(facts: MediaError) -> str:
    """What ``PIL.Image.open`` raises for bytes the media stage could not read as an image, as vLLM
    shows it (object addresses removed)."""
    if facts.code in ("not-an-image", "unsupported") or facts.message.endswith("header is truncated or invalid"):
        return "cannot identify image file <_io.BytesIO object>"
    kind, sep, rest = facts.message.partition(": ")
    return rest if sep and kind.isidentifier() else facts.message


def _status(exc_type: str) -> tuple[int, str]:
    """The HTTP status and error type vLLM answers an exception class with (``create_error_response``)."""
    if exc_type in ("ValueError", "TypeError", "OverflowError", "VLLMValidationError"):
        return 400, "BadRequestError"
    if exc_type == "NotImplementedError":
        return 501, "NotImplementedError"
    return 500, "InternalServerError"


def _vision_error(e: VisionError, pointer: str) -> vreq.ServerError:
    status, kind = _status(e.exc_type)
    return vreq.ServerError(status, kind, e.message, pointer, "loader" if e.loading else "processor")


def _load_error(ctx: RecordContext, conv: Conversation, item: vreq.RequestItem) -> vreq.ServerError | None:
    """What loading one media item answers once its URL passed the connector's checks (None: it
    loads): a base64 payload the strict decoder rejects, a missing or unreadable file, bytes that
    do not decode, the video loader raising."""
    url = item.url
    if url is None:
        return None
    if url[:5].lower() == "data:":
        bad = _base64_error(url)
        if bad is not None:
            return vreq.ServerError(400, "BadRequestError", bad, item.pointer, "data-url")
    facts = ctx.facts.get(body_pointer(conv, item.pointer))
    if isinstance(facts, MediaError):
        if facts.code in _FILE_ERRORS:
            status, kind, message = _FILE_ERRORS[facts.code]
            return vreq.ServerError(status, kind, message, item.pointer, facts.code)
        if item.modality == "image":
            return vreq.ServerError(400, "BadRequestError", f"Failed to load image: {_pil_message(facts)}",
                                    item.pointer, "decode")
        if item.modality == "video":
            return vreq.ServerError(400, "BadRequestError", "Could not open video stream",
                                    item.pointer, "decode")
    if isinstance(facts, ImageFacts) and facts.bomb == "error":
        # Image.open raises DecompressionBombError: vLLM 0.33 does not catch it (HTTP 500); 0.34
        # wraps it like any undecodable image (vllm/multimodal/media/image.py ``load_bytes``)
        if ctx.run.server.since(BOMB_AS_LOAD_ERROR):
            return vreq.ServerError(400, "BadRequestError", "Failed to load image: " + bomb_error(facts.pixels),
                                    item.pointer, "decode")
        return vreq.ServerError(500, "InternalServerError", bomb_error(facts.pixels), item.pointer, "decode")
    if isinstance(facts, ImageFacts) and facts.truncated:
        return vreq.ServerError(400, "BadRequestError", "Failed to load image: image file is truncated",
                                item.pointer, "decode")
    pred = ctx.predictions.get(body_pointer(conv, item.pointer))
    if isinstance(pred, VisionError) and pred.loading:
        return _vision_error(pred, item.pointer)
    return None


def _raw_part(conv: Conversation, pointer: str) -> object:
    """The content part at ``pointer`` (a pointer into the request body)."""
    pointer = body_pointer(conv, pointer)
    for m in conv.messages:
        for p in m.parts:
            if p.pointer == pointer:
                return p.raw
    return None


def _data(conv: Conversation, item: vreq.RequestItem) -> str:
    """What the item hands the loader: "url", "payload" (embeddings or a PIL image, not modelled)
    or "none" (an empty URL, ``image_pil: null``, ``image_embeds: null``)."""
    if item.url is not None:
        return "url"
    raw = _raw_part(conv, item.pointer)
    carries = item.part_type == "image_pil" or item.part_type.endswith("_embeds")
    if carries and isinstance(raw, dict) and raw.get(item.part_type) is not None:
        return "payload"
    return "none"


def _uuid_error(conv: Conversation, items: list[vreq.RequestItem], server: Server) -> vreq.ServerError | None:
    """An item with no data (``image_pil: null``, ``image_embeds: null``) must name cached media
    with a ``uuid`` (``BaseRenderer._validate_mm_uuids``, after every item loaded; before
    :data:`UUID_ERROR_NAMES_PARAMETER` a ValueError, without the parameter)."""
    index: dict[str, int] = {}
    for item in items:
        i = index[item.modality] = index.get(item.modality, -1) + 1
        raw = _raw_part(conv, item.pointer)
        if _data(conv, item) == "none" and not (isinstance(raw, dict) and raw.get("uuid") is not None):
            m = item.modality
            message = f"multi_modal_data[{m!r}][{i}] is empty but multi_modal_uuids[{m!r}][{i}] is missing."
            if server.since(UUID_ERROR_NAMES_PARAMETER):
                message = str(S.VLLMValidationError(message, parameter="multi_modal_uuids"))
            return vreq.ServerError(400, "BadRequestError", message, item.pointer, "uuid")
    return None


def _unknowable(ctx: RecordContext, conv: Conversation, item: vreq.RequestItem) -> tuple[str, str] | None:
    """Where and why the server's answer for ``item`` cannot be known here (None: it can)."""
    url = item.url
    if url is not None and url[:4].lower() == "http":
        return item.pointer, f"the server fetches {url[:80]}; qwenlint does not fetch"
    raw = _raw_part(conv, item.pointer)
    if isinstance(raw, dict) and raw.get("uuid") is not None:
        return item.pointer, (f"the part names its media uuid {raw['uuid']!r}: the server's processor "
                              "cache may hold other media under it, from an earlier request")
    if _data(conv, item) == "payload":
        return item.pointer, f"the {item.part_type} payload is not modelled"
    return None


def _opencv_unknown(ctx: RecordContext, conv: Conversation, item: vreq.RequestItem) -> tuple[str, str] | None:
    """A video vLLM's OpenCV loader reads in a way not modelled: before :data:`OPENCV_DEMUX_COUNT`
    one without a frame count or rate in its header."""
    if item.modality != "video":
        return None
    facts = ctx.facts.get(body_pointer(conv, item.pointer))
    if not isinstance(facts, VideoFacts):
        return None
    version = ctx.run.server.version
    if not ctx.run.server.since(OPENCV_DEMUX_COUNT) and not all(v > 0 for v in opencv_header_counts(facts)):
        return item.pointer, (f"vLLM {version} finds no frame count or no frame rate in this video's header "
                              "(OpenCV's CAP_PROP_FRAME_COUNT, CAP_PROP_FPS): what its loader then does is not "
                              "modelled")
    return None


def _unpredicted(ctx: RecordContext, conv: Conversation, item: vreq.RequestItem) -> tuple[str, str] | None:
    """An item the server loads that qwenlint has no prediction for (``RecordContext.unpredicted``):
    what the server then does is not known here.  E.g. a video whose header gives its frames no
    size: nothing decodes, and vLLM 0.33 and 0.34 answer 500 "division by zero" for a PNG header
    sent as a video (seen by test_vllm_request); audio before vLLM 0.30."""
    why = ctx.unpredicted.get(body_pointer(conv, item.pointer))
    if why is None:
        return None
    return item.pointer, (f"qwenlint has no prediction for this {item.modality} ({why}): what vLLM "
                          f"{ctx.run.server.version} then answers is not modelled")


def _video_lookup_unknown(ctx: RecordContext, conv: Conversation, item: vreq.RequestItem) -> tuple[str, str] | None:
    """vLLM 0.30 with transformers 5.19 or later, a checkpoint whose files were not read: whether its
    video loader lookup fails (``Server.video_lookup_fails``) is not known."""
    server = ctx.run.server
    if item.modality == "video" and item.url is not None and server.video_lookup_fails is None \
            and not vreq.video_backend_given(server, conv.record.get("media_io_kwargs") if isinstance(conv.record, dict)
                                             else None):
        return item.pointer, (f"vLLM {server.version} with transformers 5.19 or later answers 400 \"unhashable type: "
                              "'dict'\" for every video unless the checkpoint's video_preprocessor_config.json names "
                              "its video_processor_type (pass --model to read it) or media_io_kwargs name a "
                              "video_backend")
    return None


def _other_loader_unknown(ctx: RecordContext, conv: Conversation, item: vreq.RequestItem) -> tuple[str, str] | None:
    """A video whose ``video_backend`` is a loader vLLM registers for another model."""
    if item.modality != "video" or item.url is None:
        return None
    server = ctx.run.server
    video = video_settings(conv.record, server)
    backend = video.get("video_backend")
    if backend in OTHER_VIDEO_BACKENDS:
        return item.pointer, (f"video_backend {backend!r} is vLLM's loader for another model: how it samples "
                              f"a Qwen video is not modelled (qwenlint knows {', '.join(VIDEO_BACKENDS)})")
    loader = vllm_loader(video, ctx.run.profile.video.kind)
    if loader != "opencv" and not server.since(QWEN_LOADER_CAPS) and (
            _number(video.get("fps")) > VLLM_MAX_FPS or _number(video.get("max_frames")) > VLLM_MAX_FRAMES):
        return item.pointer, (f"vLLM {server.version}'s {loader} loader takes an fps above {VLLM_MAX_FPS} or a "
                              f"max_frames above {VLLM_MAX_FRAMES} as given (0.30 caps them): not modelled")
    return None


def _number(value: object) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _length_error(ctx: RecordContext, conv: Conversation, parsed: vreq.ParsedRequest,
                  processed: bool) -> tuple[vreq.ServerError | None, str | None]:
    """``--max-model-len`` against the prompt: before the processor, the tokenized text (one pad
    per item; the tokenizer stops at the limit + 1, ``TokenizeParams._token_len_check``); after it,
    the expanded prompt (``get_max_tokens``: "Input length (N) exceeds ...").  (error, why the
    answer is unknown)."""
    server = ctx.run.server
    limit = server.max_model_len
    ct = ctx.tokens.get(conv.index)
    if limit is None or ct is None:
        return None, None
    body = conv.record if isinstance(conv.record, dict) else {}
    if _requested_output(body) > limit:
        return None, "max_tokens above --max-model-len (\"cannot be greater than max_model_len\"): not modelled"
    # before vLLM 0.32 the tokenizer's limit leaves room for the requested output tokens
    # (renderers/params.py ``TokenizeParams.max_input_tokens``)
    out = 0 if processed or server.since(WHOLE_CONTEXT_FOR_PROMPT) else _requested_output(body)
    initial = ct.text - ct.extra_text + len(parsed.items)
    total = ct.total
    n = initial if not processed else total
    if n <= limit - out:
        return None, None
    if body.get("truncate_prompt_tokens") is not None:
        return None, "the request truncates its prompt (truncate_prompt_tokens): not modelled"
    if not ct.exact or ct.unknown:
        return None, (f"the prompt is about {n} tokens against --max-model-len {limit}: the exact count "
                      "needs --model's tokenizer and every item's size")
    mcpt = ctx.run.text.max_chars_per_token if ctx.run.text is not None else None
    if not processed and ct.chars is not None and mcpt and ct.chars > (limit - out) * mcpt:
        # TokenizeParams._text_len_check, before tokenizing: no token holds more than mcpt characters
        chars = (f"{ct.chars} characters (more than {(limit - out) * mcpt} characters, which is the upper bound "
                 f"for {limit - out} input tokens)")
        message = (f"This model's maximum context length is {limit} tokens. However, you requested {out} output "
                   f"tokens and your prompt contains {chars}. Please reduce the length of the input prompt or the "
                   "number of requested output tokens." if not server.since(WHOLE_CONTEXT_FOR_PROMPT) else
                   f"This model's maximum context length is {limit} tokens. However, your prompt contains {chars}. "
                   "Please reduce the length of the input prompt.")
        return vreq.ServerError(400, "BadRequestError", str(S.VLLMValidationError(
            message, parameter="input_text", value=ct.chars)), "", "max-model-len"), None
    if not processed and not server.since(WHOLE_CONTEXT_FOR_PROMPT):
        n = limit - out + 1
        return vreq.ServerError(400, "BadRequestError", str(S.VLLMValidationError(
            f"This model's maximum context length is {limit} tokens. However, you requested {out} output tokens "
            f"and your prompt contains at least {n} input tokens, for a total of at least {n + out} tokens. "
            "Please reduce the length of the input prompt or the number of requested output tokens.",
            parameter="input_tokens", value=n)), "", "max-model-len"), None
    if not processed:
        return vreq.ServerError(400, "BadRequestError", str(S.VLLMValidationError(
            f"This model's maximum context length is {limit} tokens. However, your prompt contains at "
            f"least {limit + 1} input tokens, which exceeds this limit even without any output tokens. "
            "Please reduce the length of the input prompt.", parameter="input_tokens", value=limit + 1)),
            "", "max-model-len"), None
    return vreq.ServerError(400, "BadRequestError", f"Input length ({total}) exceeds model's maximum "
                            f"context length ({limit}).", "", "max-model-len"), None


def _requested_output(body: dict) -> int:
    """``max_completion_tokens``, else ``max_tokens``, else 0 (the request model has checked them)."""
    value = body.get("max_completion_tokens")
    if value is None:
        value = body.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def respond(ctx: RecordContext, conv: Conversation) -> ServerResponse:
    """The server's answer to one conversation's request (see the module docstring)."""
    parsed = ctx.requests[conv.index]
    unknown: tuple[str, str] | None = None  # (pointer, why) of the first thing not known here

    def answer(err: vreq.ServerError | None) -> ServerResponse:
        at, why = unknown or ("", None)
        return ServerResponse(err, tuple(parsed.items), parsed.ignored_fields, tuple(parsed.notes),
                              unknown=why, unknown_at=at)

    server = ctx.run.server
    for item in parsed.decoded_while_parsing:  # before vLLM 0.27, ahead of the error
        unknown = unknown or _unknowable(ctx, conv, item)
    if parsed.error is not None and parsed.error.cause not in vreq.LOAD_STAGE_CAUSES:
        return answer(parsed.error)
    for item in parsed.items_loaded_before_error():
        fetched = item.url is not None and item.url[:4].lower() == "http"
        if fetched or _data(conv, item) == "payload":  # its load may fail in ways not known here
            unknown = unknown or _unknowable(ctx, conv, item)
            continue
        loader = (_opencv_unknown(ctx, conv, item) or _video_lookup_unknown(ctx, conv, item)
                  or _other_loader_unknown(ctx, conv, item))
        if loader is not None:
            unknown = unknown or loader
            continue
        err = _load_error(ctx, conv, item)
        if err is not None:
            return answer(err)
        unknown = unknown or _unpredicted(ctx, conv, item)
    racing = next((it for it in parsed.racing if _load_error(ctx, conv, it) is not None), None)
    if racing is not None:
        unknown = unknown or (racing.pointer, f"vLLM {server.version} reads this item in a worker thread beside "
                              f"{parsed.error.pointer}, whose fetch fails there: which of the two fails first "
                              "is a race (from 0.26 the first in the request's order)")
    if parsed.error is not None:
        return answer(parsed.error)
    err = _uuid_error(conv, parsed.items, ctx.run.server)
    if err is not None:
        return answer(err)
    if parsed.items and not ctx.run.server.since(SCOPED_MM_KWARGS):
        # the server's and the request's mm_processor_kwargs reach the processor unscoped
        body = conv.record if isinstance(conv.record, dict) else {}
        given = [kw for kw in (ctx.run.server.mm_processor_kwargs, body.get("mm_processor_kwargs"))
                 if isinstance(kw, dict)]
        if any(isinstance(kw.get(k), dict) for kw in given for k in MODALITY_DICTS):
            unknown = unknown or ("", f"vLLM {ctx.run.server.version} hands an images_kwargs / videos_kwargs dict "
                                  "in mm_processor_kwargs to the processor unscoped: whether it applies it is not "
                                  "modelled (the real 0.30 to 0.32 ignore a request's images_kwargs for "
                                  "Qwen2.5-VL images)")
        if ctx.run.profile.is_omni and any(k in kw for kw in given for k in PIXEL_KWARGS):
            unknown = unknown or ("", f"vLLM {ctx.run.server.version} hands flat mm_processor_kwargs "
                                  "(size, min_pixels, max_pixels) to the Omni processor unscoped: which of "
                                  "them it applies is not modelled")
    err, why = _length_error(ctx, conv, parsed, processed=False)
    if err is not None or why is not None:
        unknown = unknown or (why and ("", why))
        return answer(err)
    for item in parsed.items:
        unknown = unknown or _unknowable(ctx, conv, item)
        pred = ctx.predictions.get(body_pointer(conv, item.pointer))
        if isinstance(pred, VisionError):  # the processor raising
            return answer(_vision_error(pred, item.pointer))
    err, why = _length_error(ctx, conv, parsed, processed=True)
    unknown = unknown or (why and ("", why))
    return answer(err)


def run(ctx: RecordContext) -> None:
    for conv in ctx.conversations:
        if ctx.target(conv) is Target.VLLM and conv.index in ctx.requests:
            ctx.responses[conv.index] = respond(ctx, conv)
