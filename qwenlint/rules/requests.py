"""QL211-QL214 — chat-completions requests to a vLLM server: what the server refuses, ignores,
changes silently, or what cannot be known without it.

The targets stage parses every vLLM request as the server does (:mod:`qwenlint.consumers.vllm.request`,
``ctx.requests``), the serve stage says what the server answers (``ctx.responses``).  A part the
server rejects is QL206's (each bad part is found, the server stops at the first); a media file it
cannot read is QL401-QL403's; these rules report the rest: what the request as a whole, or the
server's settings (``--vllm-args``), make the server refuse, and the fields it silently ignores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwenlint.consumers.vllm import PART_CAUSES, REMOVED_GUIDED_FIELDS, URL_CAUSES, body_pointer
from qwenlint.consumers.vllm.server import (
    EMPTY_TOOLS_AS_NONE,
    QWEN_VIDEO_LOADERS,
    REQUEST_MM_KWARGS_GATED,
    VIDEO_LOOKUP_PINNED,
)
from qwenlint.context import RecordContext
from qwenlint.diagnostics import Severity
from qwenlint.rules.base import Finding, Span, needs, rule

if TYPE_CHECKING:
    from qwenlint.consumers.vllm import request as vreq

#: A fix hint per cause (the server's message says the rest).
_HELP = {
    "untrusted-mm-kwargs": "start the server with --trust-request-mm-kwargs (and tell qwenlint: "
                           "--vllm-args '--trust-request-mm-kwargs'), or set the kwargs on the server "
                           "(--mm-processor-kwargs / --media-io-kwargs) instead of in the request",
    "untrusted-chat-template": "start the server with --trust-request-chat-template, or give the "
                               "template to the server (--chat-template)",
    "limit": "send fewer media in one request, or raise --limit-mm-per-prompt on the server",
    "local-files-disabled": "start the server with --allowed-local-media-path DIR, or send the media "
                            "as a data URL",
    "local-path": "put the file under the server's --allowed-local-media-path, or send it as a data URL",
    "url-scheme": "write a file:// URL (under --allowed-local-media-path), an http(s) URL or a base64 "
                  "data URL; vLLM does not read plain paths",
    "data-url": "write the data URL as data:<mime>;base64,<payload>",
    "data-url-encoding": "encode the payload as base64: data:<mime>;base64,<payload>",
    "domain": "use a host from the server's --allowed-media-domains",
    "uuid": "give the part its media, or the \"uuid\" of media the server has cached",
    "video-backend": "name a video loader the server's vLLM has (opencv; qwen2_vl and qwen3_vl from 0.24), "
                     "or leave video_backend out",
}
#: Load failures other rules report (QL401 missing files, QL402/QL403 undecodable media).
_MEDIA_CAUSES = frozenset({"not-found", "not-a-file", "permission-denied", "decode", "data-url-base64",
                           "processor"})


@rule("QL211", "vllm-rejects-request", Severity.ERROR,
      "The vLLM server answers this request with an error instead of running it.",
      versions=(Span("vllm", "`\"tools\": []`: HTTP 400 \"`tools` must not be an empty array\" (later, no tools)",
                     until=EMPTY_TOOLS_AS_NONE),
                Span("vllm", "a request's own `mm_processor_kwargs` / `media_io_kwargs` without "
                     "`--trust-request-mm-kwargs`: HTTP 400 (before, always taken)", since=REQUEST_MM_KWARGS_GATED),
                Span("vllm", "a video, with transformers 5.19 or later beside vLLM, a checkpoint whose "
                     "video_preprocessor_config.json does not name its `video_processor_type` and no "
                     "`video_backend` media_io_kwarg: HTTP 400 \"unhashable type: 'dict'\"",
                     since=QWEN_VIDEO_LOADERS, until=VIDEO_LOOKUP_PINNED),
                Span("vllm", "a video whose `video_backend` is `qwen2_vl` or `qwen3_vl`: HTTP 500 \"Extension "
                     "class qwen3_vl not found\" (no Qwen loader yet)", until=QWEN_VIDEO_LOADERS)))
@needs("request")
def vllm_rejects_request(ctx: RecordContext):
    """What: A chat-completions request that vLLM's OpenAI-compatible server refuses, as vLLM's own
    request path decides it (modelled on vLLM 0.23 to 0.34, with the server's flags from ``--vllm-args``):
    the request model rejects a field, per-request ``mm_processor_kwargs`` / ``media_io_kwargs``
    or a chat template without the server's trust flag, more images or videos than
    ``--limit-mm-per-prompt`` allows (or audio on a model without audio), a media URL the server
    will not load (a plain path, a ``file://`` URL outside ``--allowed-local-media-path``, a data
    URL that is not base64, a host outside ``--allowed-media-domains``).  The message is the
    server's, with its HTTP status.

    Why: The client gets an HTTP 400 (or 500 / 501) and no answer: ``Per-request
    mm_processor_kwargs are disabled by default because they can change multimodal preprocessing
    resource usage. Start the server with --trust-request-mm-kwargs only when clients are
    trusted.``, ``At most 1 image(s) may be provided in one prompt.``, ``The file path
    /data/a.png must be a subpath of `--allowed-local-media-path <path>`.``

    Example: ``{"model": "Qwen/Qwen2.5-VL-7B-Instruct", "messages": [{"role": "user", "content":
    "Hi"}], "mm_processor_kwargs": {"max_pixels": 200704}}`` with ``--target vllm`` (a server
    started without ``--trust-request-mm-kwargs``)

    A media URL problem in a bare message list (not a whole request body) is a warning: the
    client that sends it builds the URLs.  So is a ``file://`` URL when qwenlint was not told the
    server's flags (``--allowed-local-media-path`` is off by default, but your server may set it).

    Fix: Change the request as the message says, or start the server with the flag it names (and
    pass the same flags to qwenlint with ``--vllm-args``).
    """
    for conv in ctx.conversations:
        parsed = ctx.requests.get(conv.index)
        if parsed is None:
            continue
        errors: list[tuple[str, vreq.ServerError]] = []
        if parsed.error is not None and parsed.error.cause not in PART_CAUSES:
            errors.append((body_pointer(conv, parsed.error.pointer), parsed.error))
        response = ctx.responses.get(conv.index)
        if response is not None and response.error is not None and response.error.cause == "uuid":
            errors.append((body_pointer(conv, response.error.pointer), response.error))
        # Every media URL the server would refuse (the server stops at the first problem).
        for _m, p in conv.media_parts():
            alone = ctx.part_requests.get(p.pointer)
            if alone is not None and alone.error is not None and alone.error.cause not in PART_CAUSES:
                errors.append((p.pointer, alone.error))
        server = ctx.run.server
        assumed = "" if server.given else f" [a server with vLLM {server.version}'s defaults: pass yours with --vllm-args]"
        is_body = isinstance(conv.record, dict) and "messages" in conv.record
        seen = set()
        for pointer, e in errors:
            if e.cause in _MEDIA_CAUSES or (pointer, e.cause) in seen:
                continue
            seen.add((pointer, e.cause))
            # a bare message list is not the request itself (the client builds the URLs it sends)
            soft = e.cause in URL_CAUSES and (not is_body or (e.cause == "local-files-disabled"
                                                                and not server.given))
            yield Finding(pointer,
                          f"vLLM answers HTTP {e.status} ({e.type}): {e.message.splitlines()[0]}{assumed}",
                          help=_HELP.get(e.cause, "change the request as the server's message says"),
                          severity=Severity.WARNING if soft else None,
                          data={"status": e.status, "cause": e.cause})


@rule("QL212", "request-field-ignored", Severity.WARNING,
      "A request field the vLLM server ignores.")
@needs("request")
def request_field_ignored(ctx: RecordContext):
    """What: A top-level field of a chat-completions request that vLLM's request model does not
    have — a misspelling (``mm_processor_kwarg``), a field of another API (``max_pixels``,
    ``images``), or an option meant for the processor written at the top level.

    Why: vLLM accepts the request and only logs ``The following fields were present in the
    request but ignored: {'max_pixels'}``: the setting has no effect and nothing tells the client.

    Example: ``{"model": "Qwen/Qwen2.5-VL-7B-Instruct", "messages": [{"role": "user", "content":
    "Hi"}], "max_pixels": 200704}`` with ``--target vllm``

    Fix: Move the setting where vLLM reads it (``mm_processor_kwargs``: ``{"max_pixels": ...}``;
    frame sampling: ``media_io_kwargs``), fix the name, or remove it.
    """
    for conv in ctx.conversations:
        parsed = ctx.requests.get(conv.index)
        if parsed is None or not isinstance(conv.record, dict) or "messages" not in conv.record:
            continue
        for name in parsed.ignored_fields:
            pointer = body_pointer(conv, "/" + name.replace("~", "~0").replace("/", "~1"))
            if name in REMOVED_GUIDED_FIELDS:
                yield Finding(pointer, f"vLLM no longer reads {name!r}: the output is NOT constrained "
                              "(it logs a warning)",
                              help="use structured_outputs (or response_format) instead")
                continue
            yield Finding(pointer,
                          f"vLLM ignores the request field {name!r} (it logs \"The following fields "
                          "were present in the request but ignored\"): the setting has no effect",
                          help="move it where vLLM reads it (mm_processor_kwargs, media_io_kwargs), "
                               "fix its name, or remove it")


@rule("QL213", "vllm-changes-request", Severity.WARNING,
      "The vLLM server renders the request without part of what it holds.")
@needs("request")
def vllm_changes_request(ctx: RecordContext):
    """What: A request the vLLM server accepts and renders, but not as sent: a media part in a
    ``developer`` or system message that is merged into one text-only system message, media after
    the final text of a ``continue_final_message`` message, a part with no content, a per-request
    ``media_io_kwargs`` setting that only works at start-up, ``image_url.detail``.  (As info: a
    system message with media, which vLLM logs and renders.)

    Why: The answer comes back with HTTP 200, but the model never saw the dropped media or
    setting; vLLM at most logs a line on the server.

    Example: ``{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url",
    "image_url": {"url": "https://example.com/a.png", "detail": "high"}}]}]}`` with
    ``--target vllm``

    Fix: Send what the server reads: media in user messages, settings on the server
    (``--media-io-kwargs``) or in ``mm_processor_kwargs`` (``max_pixels`` for a resolution).
    """
    for conv in ctx.conversations:
        parsed = ctx.requests.get(conv.index)
        if parsed is None:
            continue
        for note in parsed.notes:
            yield Finding(body_pointer(conv, note.pointer), note.message, help=note.help,
                          severity=None if note.warning else Severity.INFO)


@rule("QL214", "vllm-answer-unknown", Severity.INFO,
      "What the vLLM server answers this request depends on something qwenlint cannot see.")
@needs("request")
def vllm_answer_unknown(ctx: RecordContext):
    """What: The server's answer to this request cannot be predicted here: it fetches an
    ``http(s)`` URL (qwenlint fetches none without ``--allow-network``), a part names cached media with a ``uuid`` (the
    server's processor cache may hold other media under it), a payload qwenlint does not model
    (embeddings, audio), a video for vLLM 0.24 to 0.30 beside transformers 5.19 or later whose
    checkpoint files qwenlint has not read (pass ``--model``: whether its
    video_preprocessor_config.json names the video processor decides it), a video loader vLLM has
    for another model, an item the server loads that qwenlint has no prediction for (a video whose
    header gives its frames no size, which nothing decodes; audio before vLLM 0.30), a Qwen loader
    asked for more than 0.30's caps on vLLM 0.24 to 0.29, or, before
    vLLM 0.26, an item read in a worker thread beside one whose fetch fails there (which fails first
    is a race).  The other checks still run; this says which verdict is missing.

    Why: A clean report would otherwise read as "the server accepts this request".

    Example: ``{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url",
    "image_url": {"url": "https://example.com/a.png"}}]}]}`` with ``--target vllm``

    Fix: Nothing to fix; for an exact answer point the request at local copies of the media
    (a ``file://`` URL under the server's ``--allowed-local-media-path``, or a data URL).
    """
    for conv in ctx.conversations:
        response = ctx.responses.get(conv.index)
        if response is not None and response.unknown:
            yield Finding(body_pointer(conv, response.unknown_at), "the vLLM server's answer is not known here: "
                          f"{response.unknown}", help="check the request against the running server")
