"""Render a conversation exactly as transformers would, and say which part produced which pad.

``render()`` mirrors, for ``tokenize=False``, transformers 5.23 by default, or the release given
as ``transformers`` (4.55 and later; the differences are the constants below):

* ``consumer="processor"``: ``ProcessorMixin.apply_chat_template`` — ``_normalize_conversations``
  (drop ``None``-valued message keys, from 5.23; ``{"type": "image_url", "image_url": {"url": u}}``
  becomes ``{"type": "image", "url": u}``, from 5.2), then ``render_jinja_template``;
* ``consumer="tokenizer"``: ``PreTrainedTokenizerBase.apply_chat_template`` (drop ``None`` keys,
  from 5.23);
* ``consumer="template"``: ``render_jinja_template`` alone.

``render_jinja_template`` converts inputs with ``_plain_template_data`` (5.22; a no-op for JSON
input) and ``_alias_reasoning_fields`` (from 5.21) and calls the template with ``messages``,
``tools``, ``documents``, ``add_generation_prompt`` and the keyword arguments, which start from the
tokenizer's ``special_tokens_map`` (``FamilyTokens.special_tokens_map`` here).

Pad attribution is described in :mod:`qwenlint.template.attribution`. Indices in the result are
those of the caller's ``messages`` list and of each message's ``content`` list (normalisation
keeps them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from packaging.version import Version

from qwenlint.template.attribution import (
    PAD_FUNC,
    Tracker,
    instrument,
    read_back,
    track,
)
from qwenlint.template.errors import (
    TemplateError,
    TemplateLimitError,
    TemplateRenderError,
    TemplateSecurityError,
    TemplateSyntaxIssue,
)
from qwenlint.template.sandbox import (
    DEFAULT_LIMITS,
    MAX_INPUT_DEPTH,
    Limits,
    alias_reasoning_fields,
    compile_source,
    plain_template_data,
    render_compiled,
)
from qwenlint.template.tokens import QWEN_VL_TOKENS, FamilyTokens

__all__ = ["Consumer", "PartPads", "StrayPad", "LiteralToken", "RenderError", "RenderResult", "render", "render_text"]

Consumer = Literal["processor", "tokenizer", "template"]
ErrorKind = Literal["syntax", "input", "raise_exception", "type-error", "undefined", "security", "limit", "error"]


@dataclass(frozen=True)
class PartPads:
    """Pads the template emitted for one dict part of a list content (zero when it dropped the part)."""

    message_index: int
    part_index: int
    image: int = 0
    video: int = 0
    audio: int = 0
    fell_in: tuple[int, ...] = ()  # messages being rendered when those pads were emitted
    keys_read: frozenset[str] = frozenset()  # keys the template read or tested on this part ("*" = iterated)

    @property
    def total(self) -> int:
        return self.image + self.video + self.audio


@dataclass(frozen=True)
class StrayPad:
    """A pad in the rendered text that no part accounts for."""

    kind: str  # "image" | "video" | "audio"
    offset: int  # character offset in RenderResult.text
    source: Literal["template", "user-text", "unknown"]
    message_index: int | None
    part_index: int | None = None  # for user text: where the literal was typed
    key: str | None = None


@dataclass(frozen=True)
class LiteralToken:
    """A control token typed inside a user-supplied string (it shifts every pad count after it)."""

    token: str
    message_index: int
    part_index: int | None  # None for a string content or a message-level key
    key: str  # dotted key path inside the message or part ("content", "text", "image_url.url", ...)
    offset: int  # character offset inside that string


@dataclass(frozen=True)
class RenderError:
    """Why a render failed, with the template line (and column for syntax errors) when known."""

    kind: ErrorKind
    message: str
    exception_type: str
    line: int | None = None
    column: int | None = None
    limit: str | None = None  # "time" | "output" | "size" for kind == "limit"


@dataclass(frozen=True)
class RenderResult:
    """The rendered text (None on error), pad totals, per-part attribution, stray pads and literal tokens."""

    text: str | None
    error: RenderError | None
    pad_counts: Mapping[str, int]
    parts: tuple[PartPads, ...]
    stray_pads: tuple[StrayPad, ...]
    literal_tokens: tuple[LiteralToken, ...]
    attribution: Literal["exact", "approximate", "off"]
    template_sha256: str
    _index: Mapping[tuple[int, int], PartPads] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def part(self, message_index: int, part_index: int) -> PartPads | None:
        """Attribution of one part (None when attribution is off or the part is not a dict)."""
        return self._index.get((message_index, part_index))


@lru_cache(maxsize=256)
def source_sha256(source: str) -> str:
    """The sha256 of a template text (the key of its compiled forms)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _error_from(exc: TemplateError) -> RenderError:
    if isinstance(exc, TemplateSyntaxIssue):
        return RenderError("syntax", exc.message, "TemplateSyntaxError", exc.line, exc.column)
    if isinstance(exc, TemplateLimitError):
        return RenderError("limit", exc.message, exc.exception_type, exc.line, limit=exc.limit)
    if isinstance(exc, TemplateSecurityError):
        return RenderError("security", exc.message, exc.exception_type, exc.line)
    if isinstance(exc, TemplateRenderError):
        kind: ErrorKind = {"TemplateError": "raise_exception", "TypeError": "type-error", "UndefinedError": "undefined"}.get(
            exc.exception_type, "error"
        )  # type: ignore[assignment]
        return RenderError(kind, exc.message, exc.exception_type, exc.line)
    return RenderError("error", exc.message, type(exc).__name__, exc.line)


def scan_literal_tokens(messages: Sequence[Any], tokens: FamilyTokens = QWEN_VL_TOKENS) -> tuple[LiteralToken, ...]:
    """Control tokens typed in any string of the raw messages, with message, part, key path and offset.

    Strings are first tested for the tokens' common prefix (``"<|"``), so a clean conversation
    costs one substring test per string.
    """
    found: list[LiteralToken] = []
    search = tokens.control_re
    prefix = tokens.common_prefix

    def hit(value: str, m: int, p: int | None, key: str) -> None:
        if search.search(value):
            found.extend(LiteralToken(t.group(), m, p, key, t.start()) for t in search.finditer(value))

    def deep(value: Any, m: int, p: int | None, key: str, depth: int = 0) -> None:
        # Bounded like plain_template_data: deeper values are refused by render() anyway.
        if isinstance(value, str):
            if prefix in value:
                hit(value, m, p, key)
        elif depth >= MAX_INPUT_DEPTH:
            return
        elif isinstance(value, Mapping):
            for k, v in value.items():
                deep(v, m, p, f"{key}.{k}" if key else str(k), depth + 1)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                deep(v, m, p, f"{key}.{i}" if key else str(i), depth + 1)

    for m, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue
        for key, value in message.items():
            kind = type(value)
            if kind is str:
                if prefix in value:
                    hit(value, m, None, str(key))
            elif kind is list and key == "content":
                for p, part in enumerate(value):
                    if type(part) is dict:
                        for k, v in part.items():
                            if type(v) is str:
                                if prefix in v:
                                    hit(v, m, p, str(k))
                            elif type(v) not in _NON_TEXT:
                                deep(v, m, p, str(k))
                    else:
                        deep(part, m, p, "" if isinstance(part, Mapping) else "content")
            elif kind not in _NON_TEXT:
                deep(value, m, None, str(key))
    return tuple(found)


_NON_TEXT = frozenset({int, float, bool, type(None)})

#: The transformers releases that changed what a template is given (read in each release's
#: ``processing_utils.py`` / ``tokenization_utils_base.py`` / ``utils/chat_template_utils.py``;
#: tests/differential/test_render_transformers.py runs 4.55.4 to 5.23.0):
#: 5.2.0 turns an OpenAI ``image_url`` part into an image part (huggingface/transformers#43786),
#: 5.21.0 fills ``reasoning_content`` from a ``reasoning`` / ``thinking`` key, 5.23.0 drops
#: ``None``-valued message keys.
IMAGE_URL_NORMALISED = Version("5.2.0")
REASONING_ALIASED = Version("5.21.0")
NONE_KEYS_DROPPED = Version("5.23.0")
NEWEST = NONE_KEYS_DROPPED


def _normalize(messages: Sequence[Any], consumer: Consumer, release: Version) -> list[Any]:
    """ProcessorMixin._normalize_conversations / the tokenizer's None-dropping, for one conversation."""
    if consumer == "template":
        return list(messages)
    chat = []
    for msg in messages:
        if release < NONE_KEYS_DROPPED:
            chat.append(msg)
            continue
        if not isinstance(msg, Mapping):
            raise TypeError(f"'{type(msg).__name__}' object has no attribute 'items'")
        chat.append({k: v for k, v in msg.items() if v is not None})
    if consumer == "processor" and release >= IMAGE_URL_NORMALISED:
        for message in chat:
            content = message.get("content")
            if not isinstance(content, list):
                continue
            new_content = []
            for part in content:
                if isinstance(part, dict) and part.get("type") == "image_url" and "image_url" in part:
                    info = part["image_url"]
                    url = info.get("url", "") if isinstance(info, dict) else info
                    new_content.append({"type": "image", "url": url})
                else:
                    new_content.append(part)
            message["content"] = new_content
    return chat


def _variables(
    chat: list[Any],
    *,
    add_generation_prompt: bool,
    add_vision_id: bool | None,
    enable_thinking: bool | None,
    tools: Sequence[Mapping[str, Any]] | None,
    documents: Sequence[Mapping[str, Any]] | None,
    extra_kwargs: Mapping[str, Any] | None,
    special_tokens: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(special_tokens)
    if add_vision_id is not None:
        kwargs["add_vision_id"] = add_vision_id
    if enable_thinking is not None:
        kwargs["enable_thinking"] = enable_thinking
    if extra_kwargs:
        kwargs.update(extra_kwargs)
    if tools is not None and not all(isinstance(t, Mapping) for t in tools):
        raise ValueError("Tools should be JSON schemas (dicts); callables are converted by transformers, not here.")
    if documents is not None and not all(isinstance(d, Mapping) for d in documents):
        raise TypeError("Documents should be a list of dicts with 'title' and 'text' keys!")
    kwargs = plain_template_data(kwargs)
    for reserved in ("messages", "tools", "documents", "add_generation_prompt"):
        kwargs.pop(reserved, None)
    return {
        **kwargs,
        "messages": chat,
        "tools": plain_template_data(list(tools)) if tools is not None else None,
        "documents": plain_template_data(list(documents)) if documents is not None else None,
        "add_generation_prompt": add_generation_prompt,
    }


def _prepare(messages: Sequence[Any], consumer: Consumer, release: Version = NEWEST) -> list[dict[str, Any]]:
    chat = plain_template_data(_normalize(messages, consumer, release))
    for message in chat:
        if not isinstance(message, dict):
            raise TypeError(f"Chat messages should be dicts, dataclasses or pydantic models, but got {message!r}.")
    if release < REASONING_ALIASED:
        return chat
    return alias_reasoning_fields(chat)  # type: ignore[no-any-return]


def _failed(error: RenderError, sha: str, literal: tuple[LiteralToken, ...]) -> RenderResult:
    return RenderResult(None, error, {}, (), (), literal, "off", sha)


def render(
    template: Any,
    messages: Sequence[Mapping[str, Any]],
    *,
    add_generation_prompt: bool = True,
    add_vision_id: bool | None = None,
    enable_thinking: bool | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    documents: Sequence[Mapping[str, Any]] | None = None,
    extra_kwargs: Mapping[str, Any] | None = None,
    tokens: FamilyTokens = QWEN_VL_TOKENS,
    consumer: Consumer = "processor",
    attribute: bool = True,
    limits: Limits = DEFAULT_LIMITS,
    transformers: Version | None = None,
    stops: dict | None = None,
) -> RenderResult:
    """Render one conversation (the raw message dicts given to ``apply_chat_template``) and attribute its pads.

    ``template`` is a template source string or a ``LoadedTemplate``. ``add_vision_id`` and
    ``enable_thinking`` are passed to the template only when not None (as a caller passing them as
    keyword arguments would). Never raises for a bad template or bad messages: the result carries
    a :class:`RenderError` instead.  ``transformers``: the release mirrored (None: the newest).
    ``stops``: the run's memo of templates a limit stopped (:func:`render_compiled`).
    """
    source: str = getattr(template, "source", template)
    sha = source_sha256(source)
    literal = scan_literal_tokens(messages, tokens)
    try:
        compiled = compile_source(source)
        chat = _prepare(messages, consumer, transformers or NEWEST)
        variables = _variables(
            chat, add_generation_prompt=add_generation_prompt, add_vision_id=add_vision_id,
            enable_thinking=enable_thinking, tools=tools, documents=documents,
            extra_kwargs=extra_kwargs, special_tokens=tokens.special_tokens_map,
        )
    except TemplateError as exc:
        return _failed(_error_from(exc), sha, literal)
    except (TypeError, ValueError, AttributeError) as exc:  # InputTooDeepError is a ValueError
        return _failed(RenderError("input", str(exc), type(exc).__name__), sha, literal)
    except RecursionError:  # last resort (e.g. a model_dump() that recurses): never raise for bad input
        return _failed(RenderError("input", "maximum recursion depth exceeded while converting the input",
                                   "RecursionError"), sha, literal)

    pads = tokens.pads
    if not attribute:
        try:
            text = render_compiled(compiled, variables, limits, stops)
        except TemplateError as exc:
            return _failed(_error_from(exc), sha, literal)
        counts = {kind: text.count(tok) for kind, tok in pads.items()}
        return RenderResult(text, None, counts, (), (), literal, "off", sha)

    pad_re = tokens.pad_re
    tracker = Tracker()
    marked_template = instrument(source, pad_re.pattern)
    try:
        marked: str | None = render_compiled(
            marked_template.template, {**variables, "messages": track(chat, tracker, pad_re, tokens.common_prefix), PAD_FUNC: tracker}, limits,
            stops)
    except TemplateError as exc:
        if not (marked_template.buffered or tracker.user_values):
            return _failed(_error_from(exc), sha, literal)
        marked = None  # the markers may be what made it fail: the plain render below decides
    if marked is not None and not (marked_template.buffered or tracker.user_values):
        text, marks = read_back(marked, tracker, pad_re, tokens.kind_of)
        return _assemble(text, marks, tracker, chat, literal, True, sha, pads)
    # Markers sat in buffered output or user text and may have changed what the template computed
    # from those strings: the plain render is the truth, the markers count only if it agrees.
    try:
        plain = render_compiled(compiled, variables, limits, stops)
    except TemplateError as exc:
        return _failed(_error_from(exc), sha, literal)
    text, marks = read_back(marked if marked is not None else plain, tracker, pad_re, tokens.kind_of)
    # On disagreement the per-part counts still come from the markers ("approximate"); stray-pad
    # offsets then refer to the instrumented text.
    return _assemble(plain, marks, tracker, chat, literal, marked is not None and text == plain, sha, pads)


def _assemble(
    text: str,
    marks: list[Any],
    tracker: Tracker,
    chat: list[dict[str, Any]],
    literal: tuple[LiteralToken, ...],
    exact: bool,
    sha: str,
    pads: Mapping[str, str],
) -> RenderResult:
    per_part: dict[tuple[int, int], dict[str, int]] = {}
    fell_in: dict[tuple[int, int], set[int]] = {}
    stray: list[StrayPad] = []
    for mark in marks:
        if mark.source == "part" and mark.owner is not None:
            counts = per_part.setdefault(mark.owner, {})
            counts[mark.kind] = counts.get(mark.kind, 0) + 1
            if mark.message is not None:
                fell_in.setdefault(mark.owner, set()).add(mark.message)
        elif mark.source == "user-text" and mark.user is not None:
            stray.append(StrayPad(mark.kind, mark.offset, "user-text", mark.user[0], mark.user[1], mark.user[2]))
        else:
            stray.append(StrayPad(mark.kind, mark.offset, mark.source, mark.message))
    parts: list[PartPads] = []
    for m, message in enumerate(chat):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for p, part in enumerate(content):
            if not isinstance(part, dict):
                continue
            counts = per_part.get((m, p), {})
            parts.append(
                PartPads(
                    m, p, counts.get("image", 0), counts.get("video", 0), counts.get("audio", 0),
                    tuple(sorted(fell_in.get((m, p), ()))), frozenset(tracker.reads.get((m, p), ())),
                )
            )
    index = {(pp.message_index, pp.part_index): pp for pp in parts}
    counts = {kind: text.count(tok) for kind, tok in pads.items()}
    return RenderResult(
        text, None, counts, tuple(parts), tuple(stray), literal, "exact" if exact else "approximate", sha, index
    )


def render_text(
    template: Any,
    messages: Sequence[Mapping[str, Any]],
    *,
    add_generation_prompt: bool = False,
    tools: Sequence[Mapping[str, Any]] | None = None,
    documents: Sequence[Mapping[str, Any]] | None = None,
    consumer: Consumer = "template",
    limits: Limits = DEFAULT_LIMITS,
    **kwargs: Any,
) -> str:
    """Just the text, raising typed errors — the counterpart of ``render_jinja_template(...)[0][0]``.

    ``kwargs`` are the template keyword arguments (special tokens included) exactly as transformers
    receives them; nothing is added.
    """
    source: str = getattr(template, "source", template)
    compiled = compile_source(source)
    chat = _prepare(messages, consumer)
    variables = _variables(
        chat, add_generation_prompt=add_generation_prompt, add_vision_id=None, enable_thinking=None,
        tools=tools, documents=documents, extra_kwargs=kwargs, special_tokens=(),
    )
    return render_compiled(compiled, variables, limits)
