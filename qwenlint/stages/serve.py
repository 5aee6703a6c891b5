"""Serve stage: what vLLM's OpenAI-compatible server answers each request.

For every conversation whose consumer is vLLM, the request body (the record holding the messages;
a bare message list is sent as ``{"messages": [...]}``) goes through vLLM's request path in the
order vLLM takes it:

1. the request itself — the HTTP request model, per-request kwargs and chat templates, every
   content part, the per-prompt limits (:func:`qwenlint.consumers.vllm.request.parse_request`);
2. each media item, in the order vLLM loads them: its URL (data URL, scheme, ``file://`` inside
   ``--allowed-local-media-path``, allowed domains), the file (a missing file is HTTP 500), its
   bytes (the media stage's facts: an image that does not decode, a video that does not open);
3. the processor (the vision stage's predictions: a ``VisionError`` is the processor raising).

Fills ``ctx.responses[conv.index]`` with a :class:`~qwenlint.context.ServerResponse`: the error the
server answers (the first one, as vLLM raises it), or none, with the media items it renders.
http(s) URLs are never fetched: a request that needs one cannot be answered here
(``ServerResponse.unknown`` says why).
"""

from __future__ import annotations

import base64
import binascii

from qwenlint.consumers import Target
from qwenlint.consumers.vllm import request as vreq
from qwenlint.context import RecordContext, ServerResponse
from qwenlint.ir import Conversation
from qwenlint.media import ImageFacts, MediaError
from qwenlint.vision import VisionError

#: vLLM's messages for what the media stage found about a file it loads (vLLM 0.33: the media
#: connector and the image / video loaders).  ``<path>`` is how the server sanitises paths.
_FILE_ERRORS = {
    "not-found": (500, "InternalServerError", "[Errno 2] No such file or directory: '<path>'"),
    "not-a-file": (500, "InternalServerError", "[Errno 21] Is a directory: '<path>'"),
    "permission-denied": (500, "InternalServerError", "[Errno 13] Permission denied: '<path>'"),
}


def _base64_error(url: str) -> str | None:
    """binascii's message for a base64 payload vLLM's strict decoder rejects (None: it decodes)."""
    payload = url.partition(",")[2]
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as e:
        return str(e)
    return None


def _load_error(ctx: RecordContext, item: vreq.RequestItem) -> vreq.ServerError | None:
    """What loading one media item answers once its URL passed the connector's checks (None: it
    loads): a base64 payload the strict decoder rejects, a missing or unreadable file, bytes that
    do not decode, the processor raising."""
    url = item.url
    if url is None:
        return None
    if url[:5].lower() == "data:":
        bad = _base64_error(url)
        if bad is not None:
            return vreq.ServerError(400, "BadRequestError", bad, item.pointer, "data-url")
    facts = ctx.facts.get(item.pointer)
    if isinstance(facts, MediaError):
        if facts.code in _FILE_ERRORS:
            status, kind, message = _FILE_ERRORS[facts.code]
            return vreq.ServerError(status, kind, message, item.pointer, facts.code)
        if item.modality == "image":
            return vreq.ServerError(400, "BadRequestError", f"Failed to load image: {facts.message}",
                                    item.pointer, "decode")
        if item.modality == "video":
            return vreq.ServerError(400, "BadRequestError", "Could not open video stream",
                                    item.pointer, "decode")
    if isinstance(facts, ImageFacts) and facts.truncated:
        return vreq.ServerError(400, "BadRequestError", "Failed to load image: image file is truncated",
                                item.pointer, "decode")
    pred = ctx.predictions.get(item.pointer)
    if isinstance(pred, VisionError):
        return vreq.ServerError(400, "BadRequestError", pred.message, item.pointer, "processor")
    return None


def respond(ctx: RecordContext, conv: Conversation) -> ServerResponse:
    """The server's answer to one conversation's request (see the module docstring)."""
    parsed = ctx.requests[conv.index]
    answer = (tuple(parsed.items), parsed.ignored_fields, tuple(parsed.notes))
    if parsed.error is not None and parsed.error.cause not in vreq.LOAD_STAGE_CAUSES:
        return ServerResponse(parsed.error, *answer)
    unknown = None
    for item in parsed.items_loaded_before_error():
        if item.url is not None and item.url[:4].lower() == "http":
            unknown = unknown or f"{item.url[:80]} is fetched by the server; qwenlint does not fetch"
            continue
        err = _load_error(ctx, item)
        if err is not None:
            return ServerResponse(err, *answer)
    return ServerResponse(parsed.error, *answer, unknown=unknown)


def run(ctx: RecordContext) -> None:
    for conv in ctx.conversations:
        if ctx.target(conv) is Target.VLLM and conv.index in ctx.requests:
            ctx.responses[conv.index] = respond(ctx, conv)
