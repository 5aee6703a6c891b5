"""A fine-tuning framework's view of one dataset record, shared by the three framework modules.

A dataset record is read three different ways by LLaMA-Factory, ms-swift and qwen-vl-finetune.
Each framework module (:mod:`.llamafactory`, :mod:`.ms_swift`, :mod:`.qwen_finetune`) builds one
:class:`RecordView` per record: the turns *as the framework maps them* (which role each turn
becomes, which turns have their media tags expanded), the media lists *it* loads (and the columns
it ignores), and the reasons it would drop the record.  The QL6xx rules (:mod:`qwenlint.rules.dataset`)
judge the view; they never re-derive framework behaviour.

Where media paths resolve: qwenlint resolves relative paths against ``--media-root`` when given,
else the data file's folder — LLaMA-Factory's ``media_dir`` default when ``dataset_info.json``
sits next to the data, qwen-vl-finetune's ``data_path``; ms-swift's working directory is the
usual place to point ``--media-root`` at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from qwenlint.consumers.base import Target
from qwenlint.ir import Conversation, Kind, MediaRef
from qwenlint.pointer import join

FRAMEWORK_NAMES = {Target.LLAMAFACTORY: "LLaMA-Factory", Target.MS_SWIFT: "ms-swift",
                   Target.QWEN_FINETUNE: "qwen-vl-finetune"}
MEDIA_KINDS = (Kind.IMAGE, Kind.VIDEO, Kind.AUDIO)
#: A media column's name, per kind: the plural every framework documents, and the singular.
PLURAL = {Kind.IMAGE: "images", Kind.VIDEO: "videos", Kind.AUDIO: "audios"}
SINGULAR = {Kind.IMAGE: "image", Kind.VIDEO: "video", Kind.AUDIO: "audio"}

#: Qwen's own vision tokens.  Typed into dataset text they are tokenised as the real special tokens
#: and break the pad/feature agreement (``Image features and image tokens do not match``).
VISION_SPECIAL_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>",
                         "<|vision_pad|>", "<|IMAGE|>", "<|VIDEO|>", "<|AUDIO|>",
                         "<|vision_bos|>", "<|vision_eos|>", "<|audio_bos|>", "<|audio_eos|>")

#: Spellings users write for a tag that no framework recognises (tags are matched exactly).
_NEAR_MISS = re.compile(r"<\s*/?\s*(image|img|video|audio|picture|photo)s?\s*(?:_?\d+)?\s*/?\s*>",
                        re.I)


def near_miss_tags(text: str, exact: Iterable[str]) -> list[str]:
    """Tag-like spellings in ``text`` that are not one of the ``exact`` tags (``<Image>``, ``<img>``,
    ``<image_1>``, ``< image >``)."""
    exact = set(exact)
    return [m.group(0) for m in _NEAR_MISS.finditer(text) if m.group(0) not in exact]


@dataclass(slots=True)
class Turn:
    """One message as the framework sees it."""

    index: int  # position in the record's message list (or alpaca field order)
    pointer: str  # the message (or the alpaca field)
    role: Any  # as written
    as_role: str | None  # what the framework makes of it; None: a role it rejects
    text: str | None  # the string content; None when absent or not a string
    text_pointer: str | None
    expands_tags: bool = True  # does the framework replace media tags in this turn?
    counted: bool = True  # does its tag count include this turn?
    branch: int = 0  # a preference record's answers: 1 chosen, 2 rejected (0: every sequence has it)


@dataclass(slots=True)
class Dropped:
    """Why the framework drops (skips) the whole record, with the message it logs."""

    pointer: str
    reason: str
    logged: str
    stops: bool = False  # the framework stops the whole run (``logged``: what it raises), not one record


@dataclass(slots=True)
class UnreadColumn:
    """A record column holding media that the framework never reads."""

    column: str
    kind: Kind
    pointer: str
    reads: str | None  # the column the framework reads instead (None: none for this kind)


@dataclass(slots=True)
class RecordView:
    framework: Target
    conv: Conversation
    turns: list[Turn] = field(default_factory=list)
    media: dict[Kind, list[MediaRef]] = field(default_factory=dict)
    media_column: dict[Kind, str | None] = field(default_factory=dict)
    unread: list[UnreadColumn] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    mapping_errors: list[Dropped] = field(default_factory=list)  # crashes from a bad mapping
    tags: dict[Kind, str] = field(default_factory=dict)
    inline_media: bool = False  # media written as content parts (LLaMA-Factory v1, ms-swift lists)
    attr: Any = None  # LLaMA-Factory: the dataset_info.json mapping (llamafactory.DatasetAttr)
    stage: str | None = None  # LLaMA-Factory: the stage its dataset processor runs ("sft", "rm", "kto", ...)
    #: ms-swift: the ``--swift-args`` command assumed ("swift rlhf --rlhf_type kto"; None: the columns decide)
    command: str | None = None
    #: a preference sequence's own media lists, where they are not :attr:`media` (ms-swift's
    #: ``rejected_images``; an empty dict: that sequence has no media of any kind)
    branch_media: dict[int, dict[Kind, list[MediaRef]]] = field(default_factory=dict)
    branch_column: dict[int, dict[Kind, str | None]] = field(default_factory=dict)  # their columns
    pair: bool = False  # ms-swift: a chosen and a rejected sequence, even where one has no own turn

    @property
    def name(self) -> str:
        return FRAMEWORK_NAMES[self.framework]

    @property
    def record(self) -> dict:
        return self.conv.record if isinstance(self.conv.record, dict) else {}

    @property
    def branches(self) -> list[int]:
        """The sequences the framework builds of the record: ``[1, 2]`` for a preference record
        (the turns with the chosen answer, then with the rejected one), else ``[0]``."""
        if self.pair:
            return [1, 2]
        return sorted({t.branch for t in self.turns if t.branch}) or [0]

    def media_of(self, kind: Kind, branch: int = 0) -> list[MediaRef]:
        """``kind``'s media that sequence ``branch`` loads: its own list (:attr:`branch_media`),
        else the record's."""
        if branch in self.branch_media:
            return self.branch_media[branch].get(kind, [])
        return self.media.get(kind, [])

    def tag_positions(self, kind: Kind, *, counted_only: bool = True,
                      branch: int = 0) -> list[tuple[Turn, int]]:
        """Every occurrence of ``kind``'s tag in sequence ``branch`` (the shared turns, and that
        answer of a preference record): (turn, character offset), in reading order."""
        tag = self.tags.get(kind)
        out: list[tuple[Turn, int]] = []
        if not tag:
            return out
        for t in self.turns:
            if t.text is None or (counted_only and not t.counted) or t.branch not in (0, branch):
                continue
            start = t.text.find(tag)
            while start >= 0:
                out.append((t, start))
                start = t.text.find(tag, start + len(tag))
        return out


def media_refs(conv: Conversation, record_pointer: str, column: str | None, kind: Kind) -> list[MediaRef]:
    """The entries of ``column`` (a string counts as one entry, ``None`` / ``[]`` as none)."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    if not column or column not in rec:
        return []
    v = rec[column]
    base = join(record_pointer, column)
    if v is None:
        return []
    if isinstance(v, list):
        return [MediaRef(kind, i, f"{base}/{i}", s) for i, s in enumerate(v)]
    return [MediaRef(kind, 0, base, v)]


def has_inline_media(messages: list, content_key: str) -> bool:
    return any(isinstance(m, dict) and isinstance(m.get(content_key), list) for m in messages)


def unread_columns(view: RecordView, read: dict[Kind, str | None],
                   candidates: dict[Kind, tuple[str, ...]]) -> None:
    """Record in ``view.unread`` the candidate media columns that hold media but are not read."""
    rec = view.record
    for kind, cols in candidates.items():
        for col in cols:
            if col == read.get(kind) or col not in rec or rec[col] in (None, [], ""):
                continue
            view.unread.append(UnreadColumn(col, kind, join(view.conv.record_pointer, col),
                                            read.get(kind)))
