"""vLLM's OpenAI chat-completions request path (0.33 and 0.34), up to loading the media, as a pure function.

:func:`parse_request` takes a request body (the parsed JSON), the server's settings
(:class:`~qwenlint.consumers.vllm.server.Server`) and the model's supported modalities, and says
what the server does before it decodes any media byte: the media items it will load (in prompt
order, with the URL each one hands the media connector), or the first error it answers with
(status, type, message, where in the body, a stable cause key), the top-level fields it ignores,
and what it does silently.  :func:`url_error` is the media connector's checks that need no I/O.

The order of the checks is vLLM's (each step names the code it mirrors):

1. the HTTP request model (``ChatCompletionRequest``, :mod:`.schema`): its ``mode="before"``
   validators first, last-defined first (system-message warnings, ``continue_final_message`` with
   ``add_generation_prompt``, ``tools``/``tool_choice``, logprobs, stream options, response format,
   cache salt), then the fields (``messages`` union, types), FastAPI's 400 "N validation errors";
2. ``OnlineRenderer.render_chat``: ``tool_choice`` without a tool parser;
3. ``OnlineRenderer.validate_chat_template``: a request chat template without
   ``--trust-request-chat-template``;
4. ``validate_request_mm_kwargs`` (``preprocess_chat``): a non-empty ``mm_processor_kwargs``, then
   ``media_io_kwargs``, without ``--trust-request-mm-kwargs``;
5. ``parse_chat_messages_async``, message by message, part by part: the lazy content of the OpenAI
   message types is validated as it is iterated ("N validation errors for ValidatorIterator"),
   ``parse_chat_message_content_mm_part`` (missing/invalid ``type``, the ``MM_PARSER_MAP``
   TypeAdapters "1 validation error for ChatCompletionContentPartVideoParam", unsupported types),
   ``--enable-mm-embeds`` / ``--enable-prompt-embeds``, and the item tracker's limit ("At most N
   image(s) may be provided in one prompt.") as each item is added;
6. ``_postprocess_messages``: assistant ``tool_calls`` entries;
7. ``AsyncMultiModalItemTracker.resolve_items``: every item's fetch is started at once
   (``asyncio.gather``) and the first failure *in the tracker's order* is raised: items grouped
   by modality key (``image``, ``video``, ``audio``, ``image_embeds``, ...) in the order each key
   first appeared, then in content order.  The URL checks of ``MediaConnector.load_from_url_async``
   (:func:`url_error`) happen there, before a byte is read; then ``_resolve_items`` refuses raw and
   embedded items of one modality together;
8. after the load, what needs no pixel (``_render_checks``): ``safe_apply_chat_template`` turns
   "developer" messages into "system" ones when the template does not name that role (no Qwen-VL
   template does) and then merges every system message into one *text-only* message at the front
   (their media are dropped); transformers' ``apply_chat_template`` refuses an empty conversation
   and ``continue_final_message`` with ``add_generation_prompt`` (true by default), needs a text to
   continue, and cuts the prompt after it; the processor then fails (HTTP 500 "Failed to apply
   prompt replacement for mm_items['image'][N]") when a loaded item lost its placeholder.

Steps 7 and 8 come after media loading: a media item earlier in the load order that fails to
decode (not modelled: it needs the bytes) is what vLLM reports instead
(:meth:`ParsedRequest.items_loaded_before_error`).  The request's ``uuid`` on a part names the
media in the server's processor cache across requests (a note, not modelled).

``cause`` keys of :class:`ServerError`:

========================= ===================================================================
``schema``                the request model rejected a field (FastAPI's "N validation errors")
``request``               a request-model validator (tools, logprobs, generation prompt, ...)
``tool-choice``           ``tool_choice`` needs ``--enable-auto-tool-choice`` / a tool parser
``untrusted-chat-template`` request chat template without ``--trust-request-chat-template``
``untrusted-mm-kwargs``   request ``mm_processor_kwargs``/``media_io_kwargs`` without trust
``message``               a message vLLM cannot read (a Harmony message on the chat route)
``part-schema``           a content part failed the lazy ``Iterable`` validation
``part-validation``       an ``MM_PARSER_MAP`` TypeAdapter rejected the part
``missing-type``          a part with no ``type`` and no known media key
``invalid-type``          a ``type`` that is not a string
``part-type``             an unsupported part ``type``
``embeds-disabled``       ``*_embeds`` without ``--enable-mm-embeds``
``prompt-embeds``         ``prompt_embeds`` (empty, or without ``--enable-prompt-embeds``)
``limit``                 more items of a modality than the model/``--limit-mm-per-prompt`` allow
``tool-calls``            an assistant ``tool_calls`` entry that is not a function call object
``data-url``              a data URL without the ``,`` separator
``data-url-encoding``     a data URL that is not base64 (HTTP 501)
``url-parse``             a URL urllib3 cannot parse
``url-scheme``            neither http(s), data nor file
``domain``                an http(s) host outside ``--allowed-media-domains``
``local-files-disabled``  a file URL without ``--allowed-local-media-path`` (HTTP 500; 400 from 0.34)
``video-backend``         a ``video_backend`` the release has no loader of (HTTP 500)
``video-loader-lookup``   vLLM 0.24-0.30 with transformers 5.19 or later: a video's loader lookup fails (HTTP 400)
``local-path``            a file URL outside ``--allowed-local-media-path``
``mixed-embeds``          raw and embedded items of one modality
``empty-conversation``    no message (``apply_chat_template``)
``generation-prompt``     ``continue_final_message`` with ``add_generation_prompt`` (default true)
``continue-final-message`` ``continue_final_message`` without a text in the final message
``dropped-media``         a loaded item whose placeholder the template stage dropped (HTTP 500)
``internal``              vLLM itself crashes on the input (HTTP 500, e.g. a non-PIL ``image_pil``)
========================= ===================================================================

Left out (they are not about media): the served-model-name check (404), the render route's
beam-search refusal, ``kv_transfer_params["prompt_token_ids"]`` re-use, Mistral/Harmony models,
the ``string`` chat-template content format (Qwen templates are detected as ``openai``, so
parts keep their order and no ``<##IMAGE##>`` placeholders are involved), the reserved
``<prompt_embeds>`` text check, the type checks of the fields :mod:`.schema` leaves as ``Any``,
``media_io_kwargs`` values the media classes reject when they are built, non-ASCII (IDNA) hosts,
and symbolic links (a file path is resolved lexically).
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from pydantic import TypeAdapter, ValidationError

from qwenlint.consumers.vllm import OTHER_VIDEO_BACKENDS, URL_CAUSES, merge_media_io_video, video_backends
from qwenlint.consumers.vllm import schema as S
from qwenlint.consumers.vllm.server import (
    DATA_URL_PARTITIONED,
    DECODE_BUDGET,
    EMBEDS_DECODED_LATER,
    FETCH_ERRORS_IN_ORDER,
    INPUT_AUDIO_KEY,
    LOCAL_FILES_REFUSED_AS_400,
    NAMED_TOOL_CHOICE_DESCRIBED,
    REASONING_EMBEDS,
    REQUEST_MM_KWARGS_GATED,
    VALIDATION_ERROR_CLASS,
    VALIDATION_SUMMARIZED,
    VIDEO_EMBEDS,
    Server,
)

__all__ = ["LOAD_STAGE_CAUSES", "ParsedRequest", "QWEN_OMNI_MODALITIES", "QWEN_VL_MODALITIES",
           "RequestItem", "ServerError", "allowed_limits", "parse_request", "sanitize_message",
           "url_error"]

#: ``get_supported_mm_limits()`` of the Qwen2-VL / Qwen2.5-VL / Qwen3-VL processors
#: (``vllm/model_executor/models/qwen2_vl.py``): images and videos, no fixed maximum.
QWEN_VL_MODALITIES: Mapping[str, int | None] = {"image": None, "video": None}
#: The Omni models add audio.
QWEN_OMNI_MODALITIES: Mapping[str, int | None] = {"image": None, "video": None, "audio": None}


@dataclass(frozen=True)
class ServerError:
    """What the server answers instead of rendering the prompt."""

    status: int      #: the HTTP status (400, 500, 501, ...)
    type: str        #: "BadRequestError", "Bad Request", "NotImplementedError", "InternalServerError"
    message: str     #: the server's message, as vLLM's ``sanitize_message`` leaves it
    pointer: str     #: JSON pointer into the body where the cause is ("" for the whole body)
    cause: str       #: a stable key (see the module docstring)


@dataclass(frozen=True)
class ServerNote:
    """Something the server does with the request silently: it renders, but not what was sent."""

    pointer: str     #: JSON pointer into the body ("" for the whole body)
    message: str     #: what the server does, and what vLLM logs, if anything
    help: str        #: how to send what was meant
    warning: bool = True  #: False: the server only logs it (the prompt is what was sent)


@dataclass(frozen=True)
class RequestItem:
    """One media item vLLM will load."""

    modality: str    #: "image" | "video" | "audio"
    pointer: str     #: the content part's pointer in the body
    part_type: str   #: how vLLM read the part ("image_url", "input_image", "video_url", ...)
    url: str | None  #: what the media connector is given (None: embeds, PIL, an empty URL)


@dataclass
class ParsedRequest:
    """What vLLM does with a request body before it decodes a media byte."""

    #: the media items, in the order their placeholders appear in the prompt (content order)
    items: list[RequestItem]
    #: the first error vLLM answers with, in vLLM's order (see the module docstring); an error
    #: whose cause is in :data:`LOAD_STAGE_CAUSES` is raised while or after the media load, so it
    #: is the answer only if the items before it in :attr:`load_order` load (decode) fine
    error: ServerError | None
    #: top-level request fields vLLM ignores (``__log_extra_fields__`` logs them)
    ignored_fields: tuple[str, ...] = ()
    #: what vLLM does silently (skipped parts, ignored ``detail``, warnings it logs)
    notes: list[ServerNote] = field(default_factory=list)
    #: the items in the order the tracker loads them and reports their failures: grouped by
    #: modality key (``image``, ``video``, ``image_embeds``, ...) in the order each first appears
    load_order: list[RequestItem] = field(default_factory=list)

    #: for a fetch's error: how many items of :attr:`load_order` vLLM loads before it
    fetched_before: int = 0
    #: before vLLM 0.27 (``EMBEDS_DECODED_LATER``): the embeddings decoded while the messages are
    #: parsed, before the error (a payload that does not decode fails there)
    decoded_while_parsing: list[RequestItem] = field(default_factory=list)
    #: before vLLM 0.26 (``FETCH_ERRORS_IN_ORDER``): the items read in worker threads beside the one
    #: whose fetch failed there: one of them failing to decode might fail first
    racing: list[RequestItem] = field(default_factory=list)

    def items_loaded_before_error(self) -> list[RequestItem]:
        """The items vLLM loads before it raises :attr:`error` (all of them for the checks after
        the load, none for the checks before it)."""
        if self.error is None or self.error.cause not in LOAD_STAGE_CAUSES:
            return list(self.decoded_while_parsing) if self.error is not None else list(self.load_order)
        if self.error.cause in _FETCH_CAUSES:  # every one raised by _run's fetches, which set fetched_before
            before = self.load_order[:self.fetched_before]
            return [*(it for it in self.decoded_while_parsing if it not in before), *before]
        return list(self.load_order)


#: causes raised at one item's fetch, after the items before it in the load order: the URL checks,
#: the video loader a release does not have, and vLLM 0.24-0.30's video loader lookup
_FETCH_CAUSES = URL_CAUSES | {"video-backend", "video-loader-lookup"}
#: the fetch checks made before the fetch's first ``await`` (the others run in a worker thread):
#: before :data:`FETCH_ERRORS_IN_ORDER` they fail first among a modality's items
_SYNC_FETCH_CAUSES = frozenset({"url-parse", "url-scheme", "domain", "video-backend", "video-loader-lookup"})
#: causes vLLM raises while loading the media (the fetches) or after (raw and embedded items
#: mixed; apply_chat_template): a media item before it that fails to decode is reported instead
LOAD_STAGE_CAUSES = _FETCH_CAUSES | {"mixed-embeds", "empty-conversation", "generation-prompt",
                                   "continue-final-message", "dropped-media"}


class _Stop(Exception):
    def __init__(self, error: ServerError) -> None:
        super().__init__(error.message)
        self.error = error


# ---------------------------------------------------------------------------------------------
# vllm/entrypoints/serve/exception_handling: messages and statuses
# ---------------------------------------------------------------------------------------------

_ADDR_RE = re.compile(r" at 0x[0-9a-fA-F]+>")
_TB_RE = re.compile(r'\n?\s*File "[^"]+", line \d+, in \S+(\n\s+.*)?')
_SYS_PATH_RE = re.compile(r"/(?:home|usr|opt|var|tmp|root|lib|mnt|srv)(?:/[\w.\-]+)+")
_FILE_PATH_RE = re.compile(r"(?:/[\w\-]+)+/[\w\-]+\.\w+")


def sanitize_message(message: str) -> str:
    """exception_handling/utils.py ``sanitize_message``: addresses, tracebacks and file paths
    (``/tmp/...``, ``/a/b.png``) become ``<path>``."""
    message = _ADDR_RE.sub(">", message)
    message = _TB_RE.sub("", message)
    message = _SYS_PATH_RE.sub("<path>", message)
    message = _FILE_PATH_RE.sub("<path>", message)
    return message.strip()


def _from_exception(exc: BaseException, pointer: str, cause: str) -> ServerError:
    """error_response.py ``create_error_response``: VLLMValidationError, ValueError (pydantic's
    ValidationError included), TypeError, OverflowError are 400 "BadRequestError";
    NotImplementedError 501; anything else 500 "InternalServerError"."""
    if isinstance(exc, (S.VLLMValidationError, ValueError, TypeError, OverflowError)):
        status, kind = 400, "BadRequestError"
    elif isinstance(exc, NotImplementedError):
        status, kind = 501, "NotImplementedError"
    else:
        status, kind = 500, "InternalServerError"
    return ServerError(status, kind, sanitize_message(str(exc)), pointer, cause)


def _client_error(server: Server, message: str, parameter: str) -> Exception:
    """The exception of a check that raises a ``VLLMValidationError`` naming its parameter, or, before
    :data:`VALIDATION_ERROR_CLASS`, the plain ``ValueError`` it raised (its message without the parameter)."""
    if server.since(VALIDATION_ERROR_CLASS):
        return S.VLLMValidationError(message, parameter=parameter)
    return ValueError(message)


def _bad_request(message: str, pointer: str, cause: str) -> ServerError:
    """``OnlineRenderer.create_error_response(message)``: 400 "BadRequestError"."""
    return ServerError(400, "BadRequestError", sanitize_message(message), pointer, cause)


# handlers/validation.py: FastAPI's RequestValidationError, reformatted by vLLM
_BRACKETED_INTERNAL_RE = re.compile(r"[\[\]{}()]")
_INTERNAL_LOC_MARKERS = frozenset({
    "function-wrap", "function-after", "function-before", "function-plain", "json-or-python",
    "lax-or-strict", "chain", "default", "nullable", "tagged-union", "union", "call", "arguments",
    "is-instance", "is-subclass", "callable", "str", "int", "float", "bool", "bytes", "bytearray",
    "list", "tuple", "dict", "set", "frozenset", "complex", "none", "nonetype"})


def _is_internal_loc_segment(segment: str) -> bool:
    return bool(_BRACKETED_INTERNAL_RE.search(segment)) or segment.lower() in _INTERNAL_LOC_MARKERS


def _clean_loc(loc: tuple) -> str:
    parts = [str(p) for p in loc if not _is_internal_loc_segment(str(p))]
    return ".".join(parts) if parts else ".".join(str(p) for p in loc)


def _summarize_error_input(value: object) -> object:
    if isinstance(value, str):
        return value[:200] + "...[truncated]" if len(value) > 200 else value
    if isinstance(value, (bytes, bytearray)):
        return f"<{type(value).__name__} of {len(value)} bytes>"
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return f"<{type(value).__name__} of {len(value)} items>"
    try:
        text = str(value)
    except Exception:
        return f"<{type(value).__name__}>"
    return text[:200] + "...[truncated]" if len(text) > 200 else text


def _format_error(err: dict) -> str:
    err = dict(err)
    if "input" in err:
        err["input"] = _summarize_error_input(err["input"])
    loc = err.get("loc")
    if isinstance(loc, (tuple, list)):
        err["loc"] = _clean_loc(tuple(loc))
    text = str(err)
    return text[:1000] + "...[truncated]" if len(text) > 1000 else text


def _validation_message(errors: list[dict], server: Server) -> str:
    """``validation_exception_handler``: "N validation error(s):" then up to 10 errors, one a line,
    each summarized (:data:`VALIDATION_SUMMARIZED`); before, every error as pydantic gives it.
    Before :data:`PATHS_REDACTED` the message is FastAPI's, which goes on with the server's own
    file and route and the error list once more: that tail is left out here."""
    if not errors:
        return "Validation error"
    count = len(errors)
    label = "error" if count == 1 else "errors"
    reported = [_format_error(err) for err in errors[:10]] if server.since(VALIDATION_SUMMARIZED) else errors
    message = f"{count} validation {label}:\n" + "".join(f"  {err}\n" for err in reported)
    if count > len(reported):
        message += f"  ...and {count - len(reported)} more {label}\n"
    return sanitize_message(message.rstrip())


def _pointer(*keys: object) -> str:
    return "".join("/" + str(k).replace("~", "~0").replace("/", "~1") for k in keys)


def _loc_pointer(body: Any, loc: tuple) -> str:
    """The body keys of a pydantic ``loc`` (union tags and wrappers skipped)."""
    keys: list[object] = []
    node = body
    for seg in loc:
        if isinstance(node, dict) and isinstance(seg, str) and seg in node:
            keys.append(seg)
            node = node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
            keys.append(seg)
            node = node[seg]
    return _pointer(*keys)


# ---------------------------------------------------------------------------------------------
# limits: vllm/multimodal/processing/context.py BaseProcessingInfo.validate_num_items
# ---------------------------------------------------------------------------------------------


def _user_limit(server: Server, modality: str) -> int:
    """config/multimodal.py ``get_limit_per_prompt``: ``--limit-mm-per-prompt``, else 999."""
    value = (server.limit_mm_per_prompt or {}).get(modality)
    if value is None:
        return 999
    if isinstance(value, Mapping):
        return int(value.get("count", 999))
    return int(value)


def allowed_limits(server: Server, supported: Mapping[str, int | None]) -> dict[str, int]:
    """``allowed_mm_limits``: per supported modality, the user's limit (999 by default) capped by
    the model's own maximum.  A modality the model does not support allows 0."""
    out = {}
    for modality, supported_limit in supported.items():
        user = _user_limit(server, modality)
        out[modality] = user if supported_limit is None else min(user, supported_limit)
    return out


def _limit_error(modality: str, num_items: int, server: Server,
                 supported: Mapping[str, int | None]) -> str | None:
    supported_limit = supported.get(modality, 0)
    allowed = allowed_limits(server, supported).get(modality, 0)
    if supported_limit is None:
        supported_limit = allowed
    limit = min(supported_limit, allowed)
    if num_items > limit:
        msg = f"At most {limit} {modality}(s) may be provided in one prompt."
        if num_items <= supported_limit:
            msg += " Set `--limit-mm-per-prompt` to increase this limit."
        return str(S.VLLMValidationError(msg, parameter=modality))
    return None


# ---------------------------------------------------------------------------------------------
# the media connector: vllm/multimodal/media/connector.py load_from_url(_async)
# ---------------------------------------------------------------------------------------------

# urllib3 2.x util/url.py parse_url, the parts that decide scheme, host and path
_SCHEME_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+-]*:|/)")
_URI_RE = re.compile(r"^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?://([^\\/?#]*))?([^?#]*)"
                     r"(?:\?([^#]*))?(?:#(.*))?$", re.UNICODE | re.DOTALL)
_IPV4_PAT = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"
_HEX_PAT = "[0-9A-Fa-f]{1,4}"
_LS32_PAT = f"(?:{_HEX_PAT}:{_HEX_PAT}|{_IPV4_PAT})"
_subs = {"hex": _HEX_PAT, "ls32": _LS32_PAT}
_variations = [
    "(?:%(hex)s:){6}%(ls32)s", "::(?:%(hex)s:){5}%(ls32)s", "(?:%(hex)s)?::(?:%(hex)s:){4}%(ls32)s",
    "(?:(?:%(hex)s:)?%(hex)s)?::(?:%(hex)s:){3}%(ls32)s",
    "(?:(?:%(hex)s:){0,2}%(hex)s)?::(?:%(hex)s:){2}%(ls32)s",
    "(?:(?:%(hex)s:){0,3}%(hex)s)?::%(hex)s:%(ls32)s", "(?:(?:%(hex)s:){0,4}%(hex)s)?::%(ls32)s",
    "(?:(?:%(hex)s:){0,5}%(hex)s)?::%(hex)s", "(?:(?:%(hex)s:){0,6}%(hex)s)?::",
]
_UNRESERVED_PAT = r"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._\-~"
_IPV6_PAT = "(?:" + "|".join([x % _subs for x in _variations]) + ")"
_ZONE_ID_PAT = "(?:%25|%)(?:[" + _UNRESERVED_PAT + "]|%[a-fA-F0-9]{2})+"
_IPV6_ADDRZ_PAT = r"\[" + _IPV6_PAT + r"(?:" + _ZONE_ID_PAT + r")?\]"
_REG_NAME_PAT = r"(?:[^\[\]%:/?#]|%[a-fA-F0-9]{2})*"
_HOST_PORT_RE = re.compile(f"^({_REG_NAME_PAT}|{_IPV4_PAT}|{_IPV6_ADDRZ_PAT})"
                           r"(?::0*?(|0|[1-9][0-9]{0,4}))?$", re.UNICODE | re.DOTALL)
_HOST_INVALID_CHAR_RE = re.compile(r"[\x00-\x20\x7f]")
_IPV6_ADDRZ_RE = re.compile("^" + _IPV6_ADDRZ_PAT + "$")
_IPV4_RE = re.compile(r"^(?:0[xX][0-9a-fA-F]+|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]+|[0-9]+)){0,3}$")
_HOST_PERCENT_RE = re.compile(r"%[a-fA-F0-9]{2}|%")


@dataclass(frozen=True)
class _Url:
    scheme: str | None
    host: str | None
    port: int | None
    path: str | None

    @property
    def netloc(self) -> str | None:
        if self.host is None:
            return None
        return f"{self.host}:{self.port}" if self.port is not None else self.host


def _parse_url(url: str) -> _Url:
    """urllib3 ``parse_url``: raises ValueError("Failed to parse: ...") (``LocationParseError``)."""
    if not url:
        return _Url(None, None, None, None)
    if not _SCHEME_RE.search(url):
        url = "//" + url
    m = _URI_RE.match(url)
    assert m is not None
    scheme, authority, path, query, fragment = m.groups()
    normalizable = scheme is None or scheme.lower() in ("http", "https")
    if scheme:
        scheme = scheme.lower()
    host: str | None
    port: str | None
    if authority:
        _auth, _, host_port = authority.rpartition("@")
        hp = _HOST_PORT_RE.fullmatch(host_port)
        if not hp:
            bad = _HOST_INVALID_CHAR_RE.search(host_port)
            if bad:
                raise ValueError(f"Failed to parse: Host {host_port!r} contains invalid "
                                 f"character {bad.group()!r}")
            raise ValueError(f"Failed to parse: {host_port!r} is not a valid host or port")
        host, port = hp.groups()
        if port == "":
            port = None
    else:
        host, port = None, None
    port_int = None
    if port is not None:
        port_int = int(port)
        if not 0 <= port_int <= 65535:
            raise ValueError(f"Failed to parse: {url}")
    if host:
        bad = _HOST_INVALID_CHAR_RE.search(host)
        if bad:
            raise ValueError(f"Failed to parse: Host {host!r} contains invalid character "
                             f"{bad.group()!r}")
        if scheme in ("http", "https", None):
            if _IPV6_ADDRZ_RE.match(host):
                host = host.lower()  # (zone ids are normalised further by urllib3)
            elif not _IPV4_RE.match(host):
                if "%" in host:
                    for pm in _HOST_PERCENT_RE.finditer(host):
                        if pm.group(0) == "%":
                            raise ValueError(f"Failed to parse: {host!r} is not a valid host")
                host = host.lower()  # (non-ASCII names go through IDNA in urllib3)
    if normalizable and path:
        path = _remove_dot_segments(path)
    if not path:
        path = "" if (query is not None or fragment is not None) else None
    if path and not path.startswith("/"):
        path = "/" + path
    return _Url(scheme, host, port_int, path)


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")
    output: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment != "..":
            output.append(segment)
        elif output:
            output.pop()
    if path.startswith("/") and (not output or output[0]):
        output.insert(0, "")
    if path.endswith(("/.", "/..")):
        output.append("")
    return "/".join(output)


def _resolved(path: str, cwd: str | None) -> str:
    """``Path.resolve()`` done lexically (symbolic links are not followed): a relative path is
    taken from ``cwd``, the server's working directory."""
    if not path.startswith("/"):
        path = posixpath.join(cwd or "/nonexistent-server-cwd", path)
    return posixpath.normpath(path).replace("//", "/")


def file_url_path(url: str, cwd: str | None = None) -> str | None:
    """The file the server opens for a ``file:`` URL (any case, with or without ``//``; None: not
    a file URL, or one the URL parser rejects): the host and path, percent-decoded, taken from
    ``cwd`` when relative (``MediaConnector._load_file_url``; ``file://host/x.png`` is the relative
    path ``host/x.png``)."""
    if not isinstance(url, str) or url[:5].lower() != "file:":
        return None
    try:
        spec = _parse_url(url)
    except ValueError:
        return None
    raw = unquote((spec.netloc or "") + (spec.path or ""))
    if "\x00" in raw:
        return None
    return _resolved(raw or ".", cwd)


def video_backend_given(server: Server, media_io_kwargs: Any) -> bool:
    """Whether the video loader's settings name a ``video_backend`` (the server's
    ``--media-io-kwargs`` or the request's own ``media_io_kwargs``): then vLLM 0.30 does not look
    the loader up by the checkpoint's video processor (``Server.video_lookup_fails``)."""
    video = media_io_kwargs.get("video") if isinstance(media_io_kwargs, dict) else None
    return "video_backend" in server.video or (isinstance(video, dict) and "video_backend" in video)


def url_error(url: str, server: Server, *, cwd: str | None = None) -> ServerError | None:
    """What ``MediaConnector.load_from_url_async`` raises for ``url`` before reading a byte, or
    None (then it fetches / decodes: an http(s) download, a base64 payload, a local file).

    ``cwd`` is the server's working directory, where a relative file path lands
    (``file://host/x.png`` is the relative path ``host/x.png``); unknown (None), such a path is
    taken to be outside ``--allowed-local-media-path``.  The pointer of the returned error is ""
    (:func:`parse_request` sets the part's)."""
    try:
        _check_url(url, server, cwd)
    except _Stop as stop:
        return stop.error
    return None


def _check_url(url: str, server: Server, cwd: str | None) -> None:
    if url[:5].lower() == "data:" and not server.since(DATA_URL_PARTITIONED):
        # _load_data_url: ``data_spec, data = url[5:].split(",", 1)``, ``media_type, data_type =
        # data_spec.split(";", 1)``: a missing separator fails to unpack
        pieces = url[5:].split(",", 1)
        spec = pieces[0].split(";", 1)
        if len(pieces) < 2 or len(spec) < 2:
            raise _Stop(_from_exception(ValueError("not enough values to unpack (expected 2, got 1)"), "",
                                        "data-url"))
        if spec[1] != "base64":
            raise _Stop(_from_exception(NotImplementedError("Only base64 data URLs are supported for now."), "",
                                        "data-url-encoding"))
        return
    if url[:5].lower() == "data:":
        # _load_data_url: RFC 2397 data:[<mediatype>][;<param>=<value>]*[;base64],<data>
        data_spec, sep, _data = url[5:].partition(",")
        if not sep:
            raise _Stop(_from_exception(
                ValueError(f"Invalid data URL {url[:32]!r}: missing ',' separator."), "", "data-url"))
        _media_type, sep, encoding = data_spec.rpartition(";")
        if not sep or encoding != "base64":
            raise _Stop(_from_exception(
                NotImplementedError("Only base64 data URLs are supported for now."), "",
                "data-url-encoding"))
        return
    try:
        spec = _parse_url(url)
    except ValueError as e:
        raise _Stop(_from_exception(e, "", "url-parse")) from None
    if spec.scheme and spec.scheme.startswith("http"):
        # _assert_url_in_allowed_media_domains
        domains = list(server.allowed_media_domains or [])
        if domains and spec.host not in domains:
            raise _Stop(_from_exception(ValueError(
                f"The URL must be from one of the allowed domains: {domains}. "
                f"Input URL domain: {spec.host}"), "", "domain"))
        return
    if spec.scheme == "file":
        # _load_file_url
        if not server.allowed_local_media_path:
            # a RuntimeError (500) until 0.33; a VLLMValidationError (400) from 0.34
            error = S.VLLMValidationError if server.since(LOCAL_FILES_REFUSED_AS_400) else RuntimeError
            raise _Stop(_from_exception(error(
                "Cannot load local files without `--allowed-local-media-path`."), "",
                "local-files-disabled"))
        allowed = posixpath.normpath(os.path.abspath(server.allowed_local_media_path))
        raw = unquote((spec.netloc or "") + (spec.path or ""))  # url2pathname
        if "\x00" in raw:  # Path.resolve(): ValueError
            raise _Stop(_from_exception(ValueError("embedded null byte"), "", "local-path"))
        shown = str(PurePosixPath(raw))  # the message shows Path(...), not resolved
        full = _resolved(raw or ".", cwd)
        parent = posixpath.dirname(full)
        parents = set()
        while True:
            parents.add(parent)
            nxt = posixpath.dirname(parent)
            if nxt == parent:
                break
            parent = nxt
        if full == "/" or allowed not in parents:
            raise _Stop(_from_exception(ValueError(
                f"The file path {shown} must be a subpath of "
                f"`--allowed-local-media-path {allowed}`."), "", "local-path"))
        return
    raise _Stop(_from_exception(ValueError("The URL must be either a HTTP, data or file URL."),
                                "", "url-scheme"))


# ---------------------------------------------------------------------------------------------
# parsing the messages: vllm/renderers/chat_utils/chat_message.py and content_parser.py
# ---------------------------------------------------------------------------------------------

_REQUEST = TypeAdapter(S.ChatCompletionRequest)
_IMAGE_PARSER = TypeAdapter(S.ChatCompletionContentPartImageParam).validate_python
_AUDIO_PARSER = TypeAdapter(S.ChatCompletionContentPartAudioParam).validate_python
_VIDEO_PARSER = TypeAdapter(S.ChatCompletionContentPartVideoParam).validate_python
_RESPONSES_IMAGE_PARSER = TypeAdapter(S.ResponseInputImageParam).validate_python


@functools.cache
def _older_request() -> TypeAdapter:
    return TypeAdapter(S.ChatCompletionRequestBefore033)


@functools.cache
def _oldest_request() -> TypeAdapter:
    return TypeAdapter(S.ChatCompletionRequestBefore029)


def _request_adapter(server: Server) -> TypeAdapter:
    """The request model of ``server``'s release (:data:`~.server.REASONING_EMBEDS`,
    :data:`~.server.VIDEO_EMBEDS`)."""
    if server.since(REASONING_EMBEDS):
        return _REQUEST
    return _older_request() if server.since(VIDEO_EMBEDS) else _oldest_request()


#: ``MM_PARSER_MAP``: how each ``type`` reads its content (three validate with a TypeAdapter)
_MM_PARSER_MAP: dict[str, Any] = {
    "text": lambda part: part.get("text", None),
    "thinking": lambda part: part.get("thinking", None),
    "input_text": lambda part: part.get("text", None),
    "output_text": lambda part: part.get("text", None),
    "input_image": lambda part: _RESPONSES_IMAGE_PARSER(part).get("image_url", None),
    "image_url": lambda part: _IMAGE_PARSER(part).get("image_url", {}).get("url", None),
    "image_embeds": lambda part: part.get("image_embeds", None),
    "audio_embeds": lambda part: part.get("audio_embeds", None),
    "video_embeds": lambda part: part.get("video_embeds", None),
    "prompt_embeds": lambda part: part.get("data", None),
    "image_pil": lambda part: part.get("image_pil", None),
    "audio_url": lambda part: _AUDIO_PARSER(part).get("audio_url", {}).get("url", None),
    "input_audio": lambda part: part.get("input_audio", None),
    "refusal": lambda part: part.get("refusal", None),
    "video_url": lambda part: _VIDEO_PARSER(part).get("video_url", {}).get("url", None),
    "tool_reference": lambda part: part.get("name", None),
}
_PART_TYPES_TO_SKIP_NONE_CONTENT = ("text", "refusal")
_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text", "refusal", "thinking"})
_SUPPORTED = sorted(_MM_PARSER_MAP.keys() | set(_PART_TYPES_TO_SKIP_NONE_CONTENT))


def _mm_part(part: dict, server: Server) -> tuple[str, Any]:
    """``parse_chat_message_content_mm_part`` (raises as vLLM does)."""
    part_type = part.get("type", None)
    uuid = part.get("uuid", None)
    embeds = server.since(VIDEO_EMBEDS)
    if isinstance(part_type, str) and part_type in _MM_PARSER_MAP and uuid is None \
            and (embeds or part_type != "video_embeds"):
        return part_type, _MM_PARSER_MAP[part_type](part)
    if part_type is None or uuid is not None:
        if "image_url" in part:
            image_url = part.get("image_url", None)
            if isinstance(image_url, dict):
                image_url = image_url.get("url", None)
            return "image_url", image_url
        if "image_pil" in part:
            return "image_pil", part.get("image_pil", None)
        if "image_embeds" in part:
            return "image_embeds", part.get("image_embeds", None)
        if "audio_embeds" in part and (part_type != "video_embeds" or not embeds):
            return "audio_embeds", part.get("audio_embeds", None)
        if "video_embeds" in part and embeds:
            return "video_embeds", part.get("video_embeds", None)
        if "prompt_embeds" in part:
            return "prompt_embeds", part.get("data", None)
        if "audio_url" in part:
            audio_url = part.get("audio_url", None)
            if isinstance(audio_url, dict):
                audio_url = audio_url.get("url", None)
            return "audio_url", audio_url
        if "input_audio" in part if server.since(INPUT_AUDIO_KEY) else part.get("input_audio") is not None:
            return "input_audio", part.get("input_audio", None)
        if "video_url" in part:
            video_url = part.get("video_url", None)
            if isinstance(video_url, dict):
                video_url = video_url.get("url", None)
            return "video_url", video_url
        if "tool_reference" in part:
            return "tool_reference", part.get("name", None)
        raise _Stop(_from_exception(_client_error(server, "Missing 'type' field in multimodal part.", "type"),
                                    "", "missing-type"))
    if not isinstance(part_type, str):
        raise _Stop(_from_exception(_client_error(server, "Invalid 'type' field in multimodal part.", "type"),
                                    "", "invalid-type"))
    return part_type, "unknown part_type content"


def _enabled(server: Server, flag: str) -> bool:
    """Whether a flag :class:`Server` has no field for is on: ``Server.ignored`` holds each such
    flag once, in its long spelling, a boolean in the form given last (``--no-X``: off)."""
    return flag in server.ignored


class _Tracker:
    """``AsyncMultiModalItemTracker`` and ``AsyncMultiModalContentParser``: items by modality key
    (in first-appearance order), the limit checked as each is added."""

    def __init__(self, server: Server, supported: Mapping[str, int | None],
                 mm_processor_kwargs: Mapping[str, Any] | None) -> None:
        self.server = server
        self.supported = supported
        self.mm_processor_kwargs = mm_processor_kwargs
        self.by_key: dict[str, list[RequestItem]] = {}
        self.items: list[RequestItem] = []
        #: embeddings decoded while the messages are parsed (before :data:`EMBEDS_DECODED_LATER`)
        self.decoded: list[RequestItem] = []

    def add(self, key: str, item: RequestItem) -> None:
        if key != "prompt_embeds":
            modality = key.replace("_embeds", "")
            num_items = len(self.by_key.get(key, ())) + 1
            skip = (self.server.enable_mm_embeds and _user_limit(self.server, modality) == 0
                    and key.endswith("_embeds"))
            if not skip:
                msg = _limit_error(modality, num_items, self.server, self.supported)
                if msg is not None:
                    raise _Stop(ServerError(400, "BadRequestError", msg, item.pointer, "limit"))
        self.by_key.setdefault(key, []).append(item)
        if key != "prompt_embeds":
            self.items.append(item)

    def embeds_enabled(self, key: str, pointer: str) -> None:
        if not self.server.enable_mm_embeds:
            raise _Stop(_from_exception(_client_error(self.server, f"You must set `--enable-mm-embeds` to input `{key}`",
                                                      key), pointer, "embeds-disabled"))


def _parse_part(part: Any, pointer: str, tracker: _Tracker, notes: list[ServerNote]) -> dict | None:
    """``parse_chat_message_content_part`` with the openai content format (``wrap_dicts``, what
    vLLM detects for the Qwen templates): the block the chat template is handed (``{"type":
    "text", "text": ...}``, ``{"type": "image"}``, ...) or None for a skipped part."""
    if isinstance(part, str):
        return {"type": "text", "text": part}
    try:
        part_type, content = _mm_part(part, tracker.server)
    except _Stop as stop:
        raise _Stop(_with_pointer(stop.error, pointer)) from None
    except ValidationError as e:  # an MM_PARSER_MAP TypeAdapter
        raise _Stop(_from_exception(e, pointer, "part-validation")) from None
    if part_type in _PART_TYPES_TO_SKIP_NONE_CONTENT and content is None:
        notes.append(ServerNote(pointer, f"vLLM skips this {part_type} part: it has no content (the server logs "
                                "'Skipping multimodal part ... with empty / unparsable content')",
                                "give the part its media, or remove it"))
        return None
    if part_type in _TEXT_PART_TYPES:
        return {"type": "text", "text": content}

    def item(modality: str, url: Any = None) -> RequestItem:
        return RequestItem(modality, pointer, part_type, url if isinstance(url, str) and url
                           else None)

    if part_type == "image_pil":
        if content is not None and tracker.server.since(DECODE_BUDGET):  # decoded_budget.charge(image_pil.size...)
            raise _Stop(_from_exception(AttributeError(
                f"'{type(content).__name__}' object has no attribute 'size'"), pointer, "internal"))
        tracker.add("image", item("image"))
        modality = "image"
    elif part_type in ("image_url", "input_image"):
        tracker.add("image", item("image", content))
        modality = "image"
    elif part_type in ("image_embeds", "audio_embeds"):
        tracker.embeds_enabled(part_type, pointer)
        modality = part_type.replace("_embeds", "")
        embeds = item(modality)
        if content is not None and not tracker.server.since(EMBEDS_DECODED_LATER):
            tracker.decoded.append(embeds)  # decoded here, before the limit check
        tracker.add(part_type, embeds)
    elif part_type == "video_embeds" and tracker.server.since(VIDEO_EMBEDS):
        tracker.embeds_enabled("video_embeds", pointer)
        tracker.add("video_embeds", item("video"))
        if part.get("audio_embeds") is not None:
            tracker.embeds_enabled("audio_embeds", pointer)
            tracker.add("audio_embeds", item("audio"))
        modality = "video"
    elif part_type == "prompt_embeds":
        if not content:
            raise _Stop(_from_exception(_client_error(
                tracker.server, "prompt_embeds content part requires a non-empty `data` field with "
                "base64-encoded tensor bytes.", "prompt_embeds"), pointer, "prompt-embeds"))
        if not _enabled(tracker.server, "--enable-prompt-embeds"):
            raise _Stop(_from_exception(_client_error(
                tracker.server, "You must set `--enable-prompt-embeds` to input `prompt_embeds`", "prompt_embeds"),
                pointer, "prompt-embeds"))
        tracker.add("prompt_embeds", item("prompt_embeds"))
        return {"type": "text", "text": "<prompt_embeds>"}
    elif part_type == "audio_url":
        tracker.add("audio", item("audio", content))
        modality = "audio"
    elif part_type == "input_audio":
        url = None
        try:
            if content:
                data = content.get("data", "")
                fmt = content.get("format", "")
                url = f"data:audio/{fmt};base64,{data}" if data else None
        except Exception as e:  # a non-dict input_audio: AttributeError, HTTP 500
            raise _Stop(_from_exception(e, pointer, "internal")) from None
        tracker.add("audio", item("audio", url))
        modality = "audio"
    elif part_type == "video_url":
        tracker.add("video", item("video", content))
        kwargs = tracker.mm_processor_kwargs
        if content and kwargs and kwargs.get("use_audio_in_video", False):
            tracker.add("audio", item("audio", content))
        modality = "video"
    elif part_type == "tool_reference":
        return {"type": "tool_reference"}
    else:
        supported = _SUPPORTED if tracker.server.since(VIDEO_EMBEDS) else [t for t in _SUPPORTED if t != "video_embeds"]
        raise _Stop(_from_exception(S.VLLMValidationError(
            f"Unsupported chat content part type: {part_type!r}. "
            f"Supported types: {', '.join(supported)}.", parameter="type", value=part_type),
            pointer, "part-type"))
    return {"type": modality}


def _with_pointer(error: ServerError, pointer: str) -> ServerError:
    return ServerError(error.status, error.type, error.message, pointer, error.cause)


def _iter_parts(content: Any, base: str) -> Iterator[tuple[str, Any]]:
    """Iterate a message's content as vLLM does; the OpenAI types' lazy ``Iterable`` validates
    each part as it comes (a ``ValidationError`` "for ValidatorIterator", HTTP 400)."""
    it = iter(content)
    index = 0
    while True:
        try:
            part = next(it)
        except StopIteration:
            return
        except ValidationError as e:
            raise _Stop(_from_exception(e, f"{base}/{index}", "part-schema")) from None
        yield f"{base}/{index}", part
        index += 1


def _parse_message(i: int, message: Any, tracker: _Tracker, notes: list[ServerNote]) -> dict:
    """``parse_chat_message_content``: the conversation message vLLM builds (role, the blocks
    or, for a tool message of text only, the joined string; tool calls)."""
    base = f"/messages/{i}"
    if not isinstance(message, dict):  # a Harmony ``Message``: message["role"] raises TypeError
        raise _Stop(_from_exception(
            TypeError(f"'{type(message).__name__}' object is not subscriptable"), base, "message"))
    role = message["role"]
    content = message.get("content")
    reasoning = message.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("type") == "prompt_embeds":
        _parse_part(reasoning, f"{base}/reasoning", tracker, notes)
    if content is None:
        content = []
    elif isinstance(content, str):
        content = [{"type": "text", "text": content}]
    parts: Any = content
    if role == "system":
        # _strip_claude_code_billing_header iterates (and so validates) the whole content first
        parts = list(_iter_parts(content, f"{base}/content"))
    else:
        parts = _iter_parts(content, f"{base}/content")
    blocks = []
    for pointer, part in parts:
        block = _parse_part(part, pointer, tracker, notes)
        if block is not None:
            blocks.append(block)
    out: dict[str, Any] = {"index": i, "role": role, "content": blocks}
    if role == "tool" and not any(b["type"] != "text" for b in blocks):
        # a tool message of text parts only is joined into one string
        try:
            out["content"] = "\n".join(b.get("text", "") for b in blocks) if blocks else ""
        except Exception as e:  # TypeError: sequence item 0: expected str instance, ... found
            raise _Stop(_from_exception(e, f"{base}/content", "message")) from None
    if role == "assistant" and message.get("tool_calls") is not None:
        out["tool_calls"] = list(message["tool_calls"])
    return out


def _postprocess(conversation: list[dict]) -> None:
    """``_postprocess_messages``: assistant tool calls must be function-call objects."""
    for entry in conversation:
        calls = entry.get("tool_calls")
        if not isinstance(calls, list):
            continue
        for j, call in enumerate(calls):
            pointer = f"/messages/{entry['index']}/tool_calls/{j}"
            if not isinstance(call, dict):
                raise _Stop(_from_exception(S.VLLMValidationError(
                    "assistant tool_calls entries must be objects.", parameter="tool_calls"),
                    pointer, "tool-calls"))
            function = call.get("function")
            if call.get("type", "function") != "function" or not isinstance(function, dict):
                raise _Stop(_from_exception(S.VLLMValidationError(
                    "chat completions only support assistant tool_calls of type 'function'.",
                    parameter="tool_calls"), pointer, "tool-calls"))


# ---------------------------------------------------------------------------------------------
# the request path
# ---------------------------------------------------------------------------------------------



def parse_request(body: Any, server: Server, limits: Mapping[str, int | None] = QWEN_VL_MODALITIES,
                  *, cwd: str | None = None, template: str | None = None) -> ParsedRequest:
    """What the chat-completions route of vLLM ``server.version`` does with ``body`` up to loading the media.

    ``limits`` is the served model's *supported* modalities and their maxima, as its processor's
    ``get_supported_mm_limits()`` says (``None``: no maximum; a modality left out is not
    supported): :data:`QWEN_VL_MODALITIES` for Qwen2/2.5/3-VL, :data:`QWEN_OMNI_MODALITIES` for
    the Omni models.  The limit of each modality is then computed as vLLM does
    (:func:`allowed_limits`): ``--limit-mm-per-prompt`` (``server.limit_mm_per_prompt``, 999 when
    unset) capped by that maximum, and 0 for an unsupported modality ("At most 0 audio(s) ...").

    Flags that :class:`Server` has no field for are read from ``server.ignored``:
    ``--tool-call-parser``, ``--enable-auto-tool-choice`` and ``--enable-prompt-embeds``.

    ``cwd`` is the server's working directory (see :func:`url_error`); ``template`` the chat
    template the server renders with, only to know whether it names the "developer" role (None:
    it does not, like every Qwen-VL template).  The body is not modified.
    """
    result = ParsedRequest(items=[], error=None)
    try:
        _run(body, server, limits, cwd, template, result)
    except _Stop as stop:
        result.error = stop.error
    return result


def _copy_json(value: Any) -> Any:
    """A copy of the dicts and lists of a JSON-like value (their leaves are shared): what
    ``copy.deepcopy`` would protect, at a third of its cost."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _run(body: Any, server: Server, limits: Mapping[str, int | None], cwd: str | None,
         template: str | None, result: ParsedRequest) -> None:
    notes = result.notes
    if isinstance(body, dict):
        # OpenAIBaseModel.__log_extra_fields__ (logged at debug level after a successful
        # validation; the removed guided-decoding fields with a warning)
        result.ignored_fields = tuple(k for k in body if k not in S.REQUEST_FIELDS)
        try:
            for pointer, part_type in S.system_media_part_types(body.get("messages", [])):
                notes.append(ServerNote(pointer, f"a part of type {part_type!r} in a system message: vLLM renders it, and "
                                        "logs that the OpenAI API allows only text there", "move the media to a user message", warning=False))
        except Exception:
            pass

    # 1. the request model (FastAPI validates the body with from_attributes=True, loc ("body",...))
    data = _copy_json(body)  # the validators below may change what they are given
    try:
        request = _request_adapter(server).validate_python(data, from_attributes=True, context={"server": server})
    except ValidationError as e:
        errors = [{**err, "loc": ("body", *err.get("loc", ()))} for err in e.errors(include_url=False)]
        first = errors[0].get("loc", ()) if errors else ()
        raise _Stop(ServerError(400, "Bad Request", _validation_message(errors, server),
                                _loc_pointer(body, tuple(first)[1:]), "schema")) from None
    except S.VLLMValidationError as e:
        where = _pointer(e.parameter) if e.parameter else _validator_pointer(e)
        if not server.since(VALIDATION_ERROR_CLASS):  # a ValueError: one of pydantic's errors
            error = {"type": "value_error", "loc": ("body",), "msg": f"Value error, {e}",
                     "input": _copy_json(body), "ctx": {"error": e}}
            raise _Stop(ServerError(400, "Bad Request", _validation_message([error], server), where,
                                    "schema")) from None
        raise _Stop(_from_exception(e, where, "request")) from None
    except Exception as e:  # TypeError: 'int' object is not iterable (messages), KeyError (tools)
        where = "/messages" if isinstance(e, TypeError) else ""
        raise _Stop(_from_exception(e, where, "request")) from None

    # 2. OnlineRenderer.render_chat: tool_choice needs a tool parser
    tool_parser = _enabled(server, "--tool-call-parser")
    auto_tools = _enabled(server, "--enable-auto-tool-choice")
    choice = request.tool_choice
    if not tool_parser and choice not in (None, "none"):
        if choice == "auto" and not auto_tools:
            raise _Stop(_bad_request('"auto" tool choice requires --enable-auto-tool-choice and '
                                     "--tool-call-parser to be set", "/tool_choice", "tool-choice"))
        if choice != "auto":
            desc = (f'function "{choice.function.name}"'
                    if isinstance(choice, S.ChatCompletionNamedToolChoiceParam)
                    and server.since(NAMED_TOOL_CHOICE_DESCRIBED) else f'"{choice}"')
            raise _Stop(_bad_request(f"tool_choice={desc} requires --tool-call-parser to be set",
                                     "/tool_choice", "tool-choice"))

    # 3. OnlineRenderer.validate_chat_template
    kwargs = request.chat_template_kwargs
    if not server.trust_request_chat_template and (
            request.chat_template is not None
            or (kwargs and kwargs.get("chat_template") is not None)):
        where = "/chat_template" if request.chat_template is not None \
            else "/chat_template_kwargs/chat_template"
        raise _Stop(_bad_request(
            "Chat template is passed with request, but --trust-request-chat-template is not set. "
            "Refused request with untrusted chat template.", where, "untrusted-chat-template"))

    # 4. validate_request_mm_kwargs (generate/base/protocol.py)
    if not server.trust_request_mm_kwargs and server.since(REQUEST_MM_KWARGS_GATED):
        for name, what in (("mm_processor_kwargs", "preprocessing resource usage"),
                           ("media_io_kwargs", "media loading resource usage")):
            if getattr(request, name):
                raise _Stop(_from_exception(S.VLLMValidationError(
                    f"Per-request {name} are disabled by default because they can change "
                    f"multimodal {what}. Start the server with --trust-request-mm-kwargs only "
                    "when clients are trusted.", parameter=name), f"/{name}",
                    "untrusted-mm-kwargs"))
    for k, v in (request.media_io_kwargs or {}).items():
        if k == "video":
            dropped = [x for x in ("hw_decoders", "max_width", "max_height", "pool_size", "device")
                       if x in v]
            for name in dropped:
                notes.append(ServerNote(f"/media_io_kwargs/video/{name}", f"vLLM drops media_io_kwargs.video.{name} "
                                        "from a request: it is a start-up setting",
                                        "set it on the server: --media-io-kwargs"))

    # 5. parse_chat_messages_async
    tracker = _Tracker(server, limits, request.mm_processor_kwargs)
    conversation = []

    def order() -> list[RequestItem]:
        return [it for key, group in tracker.by_key.items() for it in group
                if key != "prompt_embeds"]

    for i, message in enumerate(request.messages):
        try:
            conversation.append(_parse_message(i, message, tracker, notes))
        except _Stop:
            result.items, result.load_order = list(tracker.items), order()
            result.decoded_while_parsing = list(tracker.decoded)
            raise
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            _note_parts(i, body, notes)
    result.items, result.load_order = list(tracker.items), order()
    result.decoded_while_parsing = list(tracker.decoded)

    # 6. _postprocess_messages
    _postprocess(conversation)

    # 7. resolve_items: the fetches, in the tracker's order, then the raw/embeds mix
    backend = merge_media_io_video(server.video, request.media_io_kwargs).get("video_backend")

    def fetch_error(it: RequestItem) -> ServerError | None:
        if it.modality == "video" and backend is not None and backend not in video_backends(server) \
                and backend not in OTHER_VIDEO_BACKENDS:  # the loader is built before the URL is read
            return _from_exception(AssertionError(f"Extension class {backend} not found"), "", "video-backend")
        if it.modality == "video" and server.video_lookup_fails \
                and not video_backend_given(server, request.media_io_kwargs):
            return _from_exception(TypeError("unhashable type: 'dict'"), "", "video-loader-lookup")
        return url_error(it.url, server, cwd=cwd)

    fetched = [(i, it) for i, it in enumerate(result.load_order)
               if it.url is not None and not it.part_type.endswith("_embeds")]
    if server.since(FETCH_ERRORS_IN_ORDER):
        for i, it in fetched:
            if (error := fetch_error(it)) is not None:
                result.fetched_before = i
                raise _Stop(_with_pointer(error, it.pointer))
    else:  # each modality's fetches race: a check made before the first await fails first
        for key, group in tracker.by_key.items():
            ids = {id(it) for it in group}
            errors = [(i, it, e) for i, it in fetched if id(it) in ids and (e := fetch_error(it)) is not None]
            first = next((x for x in errors if x[2].cause in _SYNC_FETCH_CAUSES), errors[0] if errors else None)
            if first is not None:
                i, it, error = first
                start = next(j for j, x in enumerate(result.load_order) if id(x) in ids)
                result.fetched_before = start
                if error.cause not in _SYNC_FETCH_CAUSES:  # read in a thread, beside the items before it
                    result.racing = [x for j, x in fetched if start <= j < i and id(x) in ids]
                raise _Stop(_with_pointer(error, it.pointer))
    for modality in ("image", "audio", "video"):
        if modality in tracker.by_key and f"{modality}_embeds" in tracker.by_key:
            raise _Stop(_from_exception(_client_error(
                server, f"Mixing raw {modality} and embedding inputs is not allowed", f"{modality}_embeds"),
                tracker.by_key[f"{modality}_embeds"][0].pointer, "mixed-embeds"))

    # after the media are loaded: the chat template and the processor
    _render_checks(request, conversation, result, template, notes)


def _render_checks(request: S.ChatCompletionRequest, conversation: list[dict],
                   result: ParsedRequest, template: str | None, notes: list[ServerNote]) -> None:
    """What ``safe_apply_chat_template`` (vllm/renderers/hf.py), transformers'
    ``apply_chat_template`` / ``render_jinja_template`` and the processor's placeholder
    matching raise without looking at a pixel, for a Qwen-VL chat template (every image/video
    block rendered as its placeholder)."""
    # hf.py: a template that does not name the "developer" role gets them as "system" messages,
    # and then every system message is merged into one text-only message at the front
    if any(m["role"] == "developer" for m in conversation) and not (
            template is not None and ('"developer"' in template or "'developer'" in template)):
        first = next(m["index"] for m in conversation if m["role"] == "developer")
        notes.append(ServerNote(f"/messages/{first}" if first >= 0 else "/messages",
                                "the chat template does not know the 'developer' role: vLLM turns "
                                "developer messages into system messages, merged into one text-only "
                                "system message at the front",
                                "write the instructions as a system message"))
        converted = [{**m, "role": "system"} if m["role"] == "developer" else m
                     for m in conversation]
        systems = [i for i, m in enumerate(converted) if m["role"] == "system"]
        if systems and (systems[-1] > 0 or len(systems) > 1):
            merged = []
            for i in systems:
                content = converted[i]["content"]
                if isinstance(content, list):
                    dropped = [b["type"] for b in content if b["type"] in ("image", "video", "audio")]
                    if dropped:
                        notes.append(ServerNote(f"/messages/{converted[i]['index']}", "vLLM merges this "
                                                f"system message into the first one as text: its {dropped} "
                                                "parts are dropped from the prompt",
                                                "move the media to a user message"))
                    content = "\n".join(b["text"] if isinstance(b.get("text"), str) else ""
                                        for b in content if "text" in b)
                if content:
                    merged.append(content)
            conversation = [{"index": -1, "role": "system", "content": "\n\n".join(merged)}] + \
                [m for m in converted if m["role"] != "system"]
        else:
            conversation = converted

    # transformers apply_chat_template (errors come back as 400 with transformers' message)
    def template_error(message: str, pointer: str, cause: str) -> _Stop:
        return _Stop(_from_exception(S.VLLMValidationError(message), pointer, cause))

    if not conversation:
        raise template_error("Cannot apply chat template to an empty conversation. Provide at "
                             "least one message.", "/messages", "empty-conversation")
    if request.continue_final_message:
        if request.add_generation_prompt:
            raise template_error(
                "continue_final_message and add_generation_prompt are not compatible. Use "
                "continue_final_message when you want the model to continue the final message, "
                "and add_generation_prompt when you want to add a header that will prompt it to "
                "start a new assistant message instead.", "/continue_final_message",
                "generation-prompt")
        final = conversation[-1]
        where = f"/messages/{final['index']}" if final["index"] >= 0 else "/messages"
        content = final["content"]
        try:
            if isinstance(content, list):
                for k in range(len(content) - 1, -1, -1):
                    if "text" in content[k]:
                        content[k]["text"] + "CONTINUE_FINAL_MESSAGE_TAG "
                        break
                else:
                    raise ValueError("continue_final_message is set but we could not find any "
                                     "text to continue in the final message!")
                # the rendered prompt is cut where the last text ends: later parts are lost
                cut = [b["type"] for b in content[k + 1:] if b["type"] in ("image", "video")]
                if cut:
                    notes.append(ServerNote(where, "with continue_final_message, vLLM cuts the prompt "
                                            f"after the final message's last text: its later {cut} "
                                            "parts are dropped from the prompt",
                                            "end the final message with its text"))
                conversation = conversation[:-1] + [{**final, "content": content[:k + 1]}]
        except (TypeError, ValueError) as e:
            raise template_error(str(e), where, "continue-final-message") from None

    # the processor: one placeholder per item, matched in order, modality by modality
    rendered = Counter(b["type"] for m in conversation if isinstance(m["content"], list)
                       for b in m["content"])
    loaded = Counter(it.modality for it in result.items if it.modality in ("image", "video"))
    for modality in ("image", "video"):
        if rendered[modality] < loaded[modality]:
            raise _Stop(ServerError(
                500, "InternalServerError", "Failed to apply prompt replacement for "
                f"mm_items[{modality!r}][{rendered[modality]}]",
                [it for it in result.items if it.modality == modality][rendered[modality]].pointer,
                "dropped-media"))


def _validator_pointer(e: S.VLLMValidationError) -> str:
    if "continue_final_message" in e.message:
        return "/continue_final_message"
    if "structured outputs" in e.message:
        return "/structured_outputs"
    return ""


def _note_parts(i: int, body: Any, notes: list[ServerNote]) -> None:
    """Silent behaviours visible in the body's own parts (the validated parts lost the keys)."""
    try:
        raw = body["messages"][i]["content"]
    except Exception:
        return
    if not isinstance(raw, list):
        return
    for j, part in enumerate(raw):
        if not isinstance(part, dict):
            continue
        pointer = f"/messages/{i}/content/{j}"
        image_url = part.get("image_url")
        if isinstance(image_url, dict) and image_url.get("detail", "auto") != "auto":
            notes.append(ServerNote(f"{pointer}/image_url/detail", f"vLLM ignores image_url.detail "
                                    f"{image_url.get('detail')!r}: it reads only the URL",
                                    "set the resolution with mm_processor_kwargs (max_pixels)"))
