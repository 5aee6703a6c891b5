"""The one intermediate representation every dialect normalises into.

``Conversation`` → ``Message`` → ``Part``.  Every node keeps the JSON pointer of where it was
written, and the raw value as the user wrote it, so rules can quote it and fixes can replace it.
The IR records *facts* about the input (unknown keys, how a part was spelt, which shape a batch
had); judging them is the rules' job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterator


class StrEnum(str, enum.Enum):
    """A string enum whose members print and format as their value (``f"{Target.VLLM}"`` is
    ``vllm``), compare equal to it, and serialise to JSON as it: ``enum.StrEnum`` for Python 3.10."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return self.value.__format__(spec)


class Dialect(StrEnum):
    """How a conversation was written; decides the default consumer (:mod:`qwenlint.consumers`)."""

    NATIVE = "native"  # qwen-vl-utils / transformers messages: {"type": "image", "image": ...}
    OPENAI = "openai"  # OpenAI / vLLM parts: {"type": "image_url", "image_url": {"url": ...}}
    SHAREGPT = "sharegpt"  # a dataset record of {"from", "value"} turns
    MESSAGES_RECORD = "messages-record"  # a dataset record of {"role", "content"} messages + columns
    ALPACA = "alpaca"  # a dataset record of instruction / input / output

    @property
    def is_dataset(self) -> bool:
        """A fine-tuning dataset record: the framework renders it with its own template."""
        return self in _DATASET_DIALECTS


class Kind(str, enum.Enum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    UNKNOWN = "unknown"

    def __init__(self, value: str) -> None:
        # ``is_media`` is read for every part by many rules: a plain attribute set once per member
        # (members are singletons, so it cannot go stale) instead of a property doing a lookup.
        self.is_media: bool = value in ("image", "video", "audio")


_DATASET_DIALECTS = frozenset({Dialect.SHAREGPT, Dialect.MESSAGES_RECORD, Dialect.ALPACA})


class Form(str, enum.Enum):
    """How a part was spelt.  Consumers read different forms (see :mod:`qwenlint.consumers`)."""

    TYPED = "typed"  # {"type": "image", "image": ...}
    TYPELESS = "typeless"  # {"image": ...}
    URL_KEY = "url-key"  # {"type": "image", "url"|"path"|"base64": ...}  (transformers)
    OPENAI = "openai"  # {"type": "image_url", "image_url": {"url": ...}}
    OPENAI_STRING = "openai-string"  # {"type": "image_url", "image_url": "..."}
    OPENAI_AUDIO = "openai-audio"  # {"type": "input_audio", "input_audio": {"data", "format"}}
    VALUE = "value"  # LLaMA-Factory v1: {"type": "image_url", "value": ...}
    NO_SOURCE = "no-source"  # {"type": "image"} with nothing to load
    STRING = "string"  # the message's content is a plain string
    TRANSLATED = "translated"  # keys written in another language
    UNKNOWN = "unknown"


@dataclass(slots=True)
class Part:
    """One content item of a message (or the whole string content, as one text part)."""

    index: int
    pointer: str
    kind: Kind
    form: Form
    raw: Any
    declared_type: str | None = None
    source: Any = None  # str, list of frame sources, or None
    source_key: str | None = None  # the key the source was read from ("image", "url", ...)
    source_pointer: str | None = None
    text: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    unknown_keys: list[str] = field(default_factory=list)
    # For translated/misspelt parts: what the part would be in English.
    suggestion: dict[str, Any] | None = None

    @property
    def is_frame_list(self) -> bool:
        return self.kind is Kind.VIDEO and isinstance(self.source, list)


@dataclass(slots=True)
class MediaRef:
    """A media entry of a dataset record's ``images`` / ``videos`` / ``audios`` column."""

    kind: Kind
    index: int
    pointer: str
    source: Any


@dataclass(slots=True)
class Message:
    index: int
    pointer: str
    raw: Any
    role: Any = None  # as written (normally a str); None when missing
    role_pointer: str | None = None
    content_kind: str = "list"  # "list" | "string" | "missing" | "null" | "invalid"
    content_pointer: str | None = None
    parts: list[Part] = field(default_factory=list)
    unknown_keys: list[str] = field(default_factory=list)

    @property
    def role_name(self) -> str | None:
        return self.role if isinstance(self.role, str) else None

    def media_parts(self) -> Iterator[Part]:
        return (p for p in self.parts if p.kind.is_media)


@dataclass(slots=True)
class Conversation:
    """One conversation: what ``apply_chat_template`` renders into one prompt."""

    index: int  # position in the file's batch / records
    pointer: str  # pointer of the conversation's message list ("" for a bare list)
    dialect: Dialect
    messages: list[Message] = field(default_factory=list)
    record_pointer: str = ""  # pointer of the record holding it ("" for a bare list)
    media: list[MediaRef] = field(default_factory=list)  # dataset columns
    record: Any = None  # the raw record (dataset / request object), if any
    record_line: int | None = None  # JSONL: the 1-based line of the record

    def parts(self) -> Iterator[tuple[Message, Part]]:
        for m in self.messages:
            for p in m.parts:
                yield m, p

    def media_parts(self) -> Iterator[tuple[Message, Part]]:
        for m in self.messages:
            for p in m.parts:
                if p.kind.is_media:
                    yield m, p


@dataclass(slots=True)
class ShapeIssue:
    """A structural fact found while splitting a document into conversations."""

    kind: str  # "mixed-nesting", "not-a-conversation", "single-message", "empty", ...
    pointer: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SchemaIssue:
    """A value of the wrong type or shape at a pointer (from pydantic validation)."""

    kind: str  # "message", "role", "content", "part", "option"
    pointer: str
    message: str
    value: Any = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Record:
    """One parsed unit of a file: the whole JSON document, or one JSONL line."""

    value: Any
    line: int | None = None  # JSONL: 1-based line number of the record
    text: str | None = None  # the source text the value was parsed from (to locate diagnostics)
    # An element of a streamed top-level JSON array (qwenlint.load.stream): its pointer in the
    # file ("/<index>"), and ``line`` / ``column`` are where the element starts.
    pointer: str | None = None
    column: int = 1
    index: int | None = None  # the record's ordinal in its file (for --shard)


@dataclass(slots=True)
class Batch:
    """What the dialect stage makes of one record."""

    conversations: list[Conversation] = field(default_factory=list)
    shape_issues: list[ShapeIssue] = field(default_factory=list)
    schema_issues: list[SchemaIssue] = field(default_factory=list)
    shape: str = "conversation"  # "conversation", "batch", "records", "request", "invalid"
