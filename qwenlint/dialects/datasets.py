"""Fine-tuning frameworks' record formats, and what each framework does with a record.

A dataset record is read three different ways by the three frameworks qwenlint models.  This module
builds one :class:`RecordView` per record and framework: the turns *as the framework maps them*
(which role each turn becomes, which turns have their media tags expanded), the media lists *it*
loads (and the columns it ignores), and the reasons it would drop the record.  The QL6xx rules
(:mod:`qwenlint.rules.dataset`) judge the view; they never re-derive framework behaviour.

Modelled versions and the source each behaviour is read from:

* **LLaMA-Factory** (``hiyouga/LLaMA-Factory`` 0.9.x, ``ff6d4d12``):

  - ``data/parser.py`` ``DatasetAttr`` / ``DatasetAttr.join``: the ``dataset_info.json`` entry.
    Defaults ``formatting="alpaca"``, ``messages="conversations"``, tags ``from`` / ``value`` /
    ``human`` / ``gpt`` / ``observation`` / ``function_call`` / ``system``.  **When an entry has
    ``columns`` (or ``tags``), every column (tag) it does not list becomes ``None``** —
    ``set_attr(key, obj, default=None)`` — so a ``tags`` block without ``system_tag`` makes a
    system turn an invalid role.
  - ``data/converter.py`` ``SharegptDatasetConverter``: an optional leading system turn, then turns
    must alternate ``(user_tag, observation_tag)`` / ``(assistant_tag, function_tag)`` and come in
    pairs; otherwise ``Invalid role tag in [...]`` / ``Invalid message count in [...]`` and
    ``Skipping this abnormal example.`` (the record is blanked, then dropped by
    ``processor/supervised.py``: ``Dropped invalid example``).  ``AlpacaDatasetConverter``: the
    prompt is ``instruction + "\\n" + input``.  ``DatasetConverter._find_medias``: media paths are
    joined to ``media_dir`` (default: ``dataset_dir``, the folder of ``dataset_info.json``) and
    fall back to the path as written (relative to the working directory).
  - ``data/mm_plugin.py`` ``MMPluginMixin._validate_messages``: the number of ``IMAGE_PLACEHOLDER``
    (``<image>``, env ``IMAGE_PLACEHOLDER``) / ``VIDEO_PLACEHOLDER`` / ``AUDIO_PLACEHOLDER``
    occurrences over *all* messages (prompt and response, not the system prompt) must equal the
    length of the media list: ``ValueError: The number of images does not match the number of
    <image> tokens in [...]`` — the run stops.  Placeholders are expanded in every turn, the
    assistant's included.
  - LLaMA-Factory v1 (``data/v1_*.jsonl``) writes media inline as ``{"type": "image_url",
    "value": ...}`` parts; there are no tags to count.

* **ms-swift** (``modelscope/ms-swift`` 4.x, ``3602360a``):

  - ``dataset/preprocessor/core.py`` ``RowPreprocessor``: the columns ``image`` / ``video`` /
    ``audio`` are renamed to ``images`` / ``videos`` / ``audios`` (when both exist, the plural
    wins); ``conversation(s)`` become ``messages``; ``from`` / ``value`` and ``human`` / ``gpt`` /
    ``bot`` are accepted.  Rows that fail the checks are deleted (``There are errors in the
    dataset, the data will be deleted``).
  - ``template/base.py`` ``Template._add_default_tags``: tags are counted over the system prompt
    and every message; if there are *fewer* tags than media, the missing tags are prepended to the
    first (non-system) message; if there are *more*, it logs ``num_media: …, num_media_tags: ….
    We will only replace the frontmost media_tags while keeping the subsequent media_tags.``
    (older ms-swift versions raised ``AssertionError: Number of media: …, number of media_tags: …``).
    ``_pre_tokenize_images`` expands a tag only while ``image_idx < len(images)``: surplus tags,
    and all tags of a record without media, stay literal text and are trained on.
  - Tags are expanded in any role (the multimodal pre-training and agent formats put ``<image>``
    in assistant and ``tool_response`` turns).  ``<ref-object>`` / ``<bbox>`` are filled from the
    ``objects`` column (``objects['ref'][i]``, ``objects['bbox'][i]``).

* **qwen-vl-finetune** (``QwenLM/Qwen3-VL`` ``qwen-vl-finetune``, ``96588727``):

  - ``qwenvl/data/data_processor.py`` ``_build_messages``: media from ``image`` / ``video`` (a
    string or a list; ``images`` / ``videos`` are never read); ``role = "user" if turn["from"] ==
    "human" else "assistant"``; ``<image>`` / ``<video>`` are split out of user turns only
    (assistant text is kept literally); ``ValueError: Number of <image> placeholders exceeds the
    number of provided images`` and ``ValueError: {n} image(s) remain unused (not consumed by
    placeholders)``.  ``LazySupervisedDataset.__getitem__`` retries a failing sample, then
    silently substitutes the next one.  Paths are joined to the dataset's ``data_path``.
  - ``tools/check_image.py``: ``GPT response contains media token (<image> or <video>)``.

Where media paths resolve: qwenlint resolves relative paths against ``--media-root`` when given,
else the data file's folder — LLaMA-Factory's ``media_dir`` default when ``dataset_info.json``
sits next to the data, qwen-vl-finetune's ``data_path`` and ms-swift's working directory are the
usual places to point ``--media-root`` at.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from qwenlint.ir import Conversation, Kind, MediaRef
from qwenlint.load.positions import join

LLAMAFACTORY = "llamafactory"
MS_SWIFT = "ms-swift"
QWEN_FINETUNE = "qwen-finetune"
FRAMEWORKS = (LLAMAFACTORY, MS_SWIFT, QWEN_FINETUNE)

#: How the frameworks are named in messages.
FRAMEWORK_NAMES = {LLAMAFACTORY: "LLaMA-Factory", MS_SWIFT: "ms-swift",
                   QWEN_FINETUNE: "qwen-vl-finetune"}

MEDIA_KINDS = (Kind.IMAGE, Kind.VIDEO, Kind.AUDIO)
_PLURAL = {Kind.IMAGE: "images", Kind.VIDEO: "videos", Kind.AUDIO: "audios"}
_SINGULAR = {Kind.IMAGE: "image", Kind.VIDEO: "video", Kind.AUDIO: "audio"}

#: Qwen's own vision tokens.  Typed into dataset text they are tokenised as the real special tokens
#: and break the pad/feature agreement (``Image features and image tokens do not match``).
VISION_SPECIAL_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>",
                         "<|vision_pad|>", "<|IMAGE|>", "<|VIDEO|>", "<|AUDIO|>",
                         "<|vision_bos|>", "<|vision_eos|>", "<|audio_bos|>", "<|audio_eos|>")


def placeholders(framework: str, environ: dict[str, str] | None = None) -> dict[Kind, str]:
    """The tag text each framework replaces with a media item.

    LLaMA-Factory reads ``IMAGE_PLACEHOLDER`` / ``VIDEO_PLACEHOLDER`` / ``AUDIO_PLACEHOLDER`` from
    the environment (``extras/constants.py``); the others use fixed tags.
    """
    env = os.environ if environ is None else environ
    if framework == LLAMAFACTORY:
        return {Kind.IMAGE: env.get("IMAGE_PLACEHOLDER", "<image>"),
                Kind.VIDEO: env.get("VIDEO_PLACEHOLDER", "<video>"),
                Kind.AUDIO: env.get("AUDIO_PLACEHOLDER", "<audio>")}
    if framework == QWEN_FINETUNE:
        return {Kind.IMAGE: "<image>", Kind.VIDEO: "<video>"}
    return {Kind.IMAGE: "<image>", Kind.VIDEO: "<video>", Kind.AUDIO: "<audio>"}


#: Spellings users write for a tag that no framework recognises (tags are matched exactly).
_NEAR_MISS = re.compile(r"<\s*/?\s*(image|img|video|audio|picture|photo)s?\s*(?:_?\d+)?\s*/?\s*>",
                        re.I)


def near_miss_tags(text: str, exact: Iterable[str]) -> list[str]:
    """Tag-like spellings in ``text`` that are not one of the ``exact`` tags (``<Image>``, ``<img>``,
    ``<image_1>``, ``< image >``)."""
    exact = set(exact)
    return [m.group(0) for m in _NEAR_MISS.finditer(text) if m.group(0) not in exact]


# --- LLaMA-Factory dataset_info.json ------------------------------------------------------------

#: Keys ``DatasetAttr.join`` reads from ``columns`` and ``tags``.
LF_COLUMN_KEYS = ("prompt", "query", "response", "history", "messages", "system", "tools",
                  "images", "videos", "audios", "chosen", "rejected", "kto_tag")
LF_TAG_KEYS = ("role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag",
               "function_tag", "system_tag")
LF_FORMATTINGS = ("alpaca", "sharegpt", "openai")


class LFDatasetInfoEntry(BaseModel):
    """One entry of LLaMA-Factory's ``dataset_info.json`` (the keys qwenlint uses)."""

    model_config = ConfigDict(extra="allow")

    file_name: str | None = None
    formatting: str = "alpaca"
    ranking: bool = False
    columns: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None


@dataclass(slots=True)
class DatasetAttr:
    """``llamafactory.data.parser.DatasetAttr`` after ``join``: which column and tag is read."""

    name: str | None = None  # the dataset_info entry, None when inferred from the records
    path: str | None = None  # the dataset_info.json it came from
    formatting: str = "alpaca"
    ranking: bool = False
    prompt: str | None = "instruction"
    query: str | None = "input"
    response: str | None = "output"
    history: str | None = None
    messages: str | None = "conversations"
    system: str | None = None
    tools: str | None = None
    images: str | None = None
    videos: str | None = None
    audios: str | None = None
    role_tag: str | None = "from"
    content_tag: str | None = "value"
    user_tag: str | None = "human"
    assistant_tag: str | None = "gpt"
    observation_tag: str | None = "observation"
    function_tag: str | None = "function_call"
    system_tag: str | None = "system"
    unknown_columns: list[str] = field(default_factory=list)
    unknown_tags: list[str] = field(default_factory=list)

    @property
    def inferred(self) -> bool:
        return self.name is None

    def media_column(self, kind: Kind) -> str | None:
        return getattr(self, _PLURAL[kind])

    @classmethod
    def from_entry(cls, name: str, entry: LFDatasetInfoEntry, path: str | None) -> "DatasetAttr":
        """``DatasetAttr.join``: listed keys are read, unlisted ones become ``None``."""
        attr = cls(name=name, path=path, formatting=entry.formatting, ranking=entry.ranking)
        if entry.columns is not None:
            for key in LF_COLUMN_KEYS:
                if hasattr(attr, key):
                    v = entry.columns.get(key)
                    setattr(attr, key, v if isinstance(v, str) else None)
            attr.unknown_columns = [k for k in entry.columns if k not in LF_COLUMN_KEYS]
        if entry.tags is not None:
            for key in LF_TAG_KEYS:
                v = entry.tags.get(key)
                setattr(attr, key, v if isinstance(v, str) else None)
            attr.unknown_tags = [k for k in entry.tags if k not in LF_TAG_KEYS]
        return attr


@functools.lru_cache(maxsize=64)
def _read_dataset_info(path: str, mtime: float) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def find_dataset_info(data_file: str) -> DatasetAttr | None:
    """The ``dataset_info.json`` entry that declares ``data_file`` (in its folder or the parent).

    The one configuration read of this module (cached per file and mtime).  LLaMA-Factory finds the
    entry by ``--dataset NAME`` inside ``dataset_dir``; qwenlint goes the other way, from the file
    to the entry whose ``file_name`` resolves to it.  The first matching entry wins.
    """
    data_file = os.path.abspath(data_file)
    directory = os.path.dirname(data_file)
    for d in (directory, os.path.dirname(directory)):
        path = os.path.join(d, "dataset_info.json")
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            continue
        info = _read_dataset_info(path, mtime)
        if not info:
            continue
        for name, raw in info.items():
            if not isinstance(raw, dict) or not isinstance(raw.get("file_name"), str):
                continue
            declared = os.path.normpath(os.path.join(d, raw["file_name"]))
            # file_name may also name a folder of data files (LLaMA-Factory loads them all).
            if declared != data_file and not data_file.startswith(declared + os.sep):
                continue
            try:
                entry = LFDatasetInfoEntry.model_validate(raw)
            except ValidationError:
                continue
            return DatasetAttr.from_entry(name, entry, path)
    return None


def infer_dataset_attr(record: dict) -> DatasetAttr:
    """The mapping a record implies when no ``dataset_info.json`` declares its file.

    qwenlint assumes the user's entry matches the record's own keys: ``conversations`` or
    ``messages`` (sharegpt, with the tags the first message uses), ``instruction`` (alpaca), and
    the ``images`` / ``videos`` / ``audios`` columns (or their singular spellings) as written.
    """
    attr = DatasetAttr()
    for col in ("messages", "conversations"):
        if isinstance(record.get(col), list):
            attr.formatting, attr.messages = "sharegpt", col
            first = next((m for m in record[col] if isinstance(m, dict)), {})
            if "role" in first or "content" in first:
                # OpenAI-style messages: read them as formatting "openai" would (parallel tool
                # results in consecutive turns are merged, not an invalid role order).
                attr.formatting = "openai"
                attr.role_tag, attr.content_tag = "role", "content"
                attr.user_tag, attr.assistant_tag = "user", "assistant"
                attr.observation_tag, attr.function_tag = "tool", "function_call"
            else:
                # ShareGPT variants write "user" / "assistant" in "from"; assume the (unseen)
                # entry maps them rather than report every record as dropped.
                roles = {m.get("from") for m in record[col]
                         if isinstance(m, dict) and isinstance(m.get("from"), str)}
                if "user" in roles and "human" not in roles:
                    attr.user_tag = "user"
                if "assistant" in roles and "gpt" not in roles:
                    attr.assistant_tag = "assistant"
            break
    for kind in MEDIA_KINDS:
        for col in (_PLURAL[kind], _SINGULAR[kind]):
            if col in record:
                setattr(attr, _PLURAL[kind], col)
                break
    if "system" in record:
        attr.system = "system"
    return attr


# --- the framework's view of one record ---------------------------------------------------------

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


@dataclass(slots=True)
class Dropped:
    """Why the framework drops (skips) the whole record, with the message it logs."""

    pointer: str
    reason: str
    logged: str


@dataclass(slots=True)
class UnreadColumn:
    """A record column holding media that the framework never reads."""

    column: str
    kind: Kind
    pointer: str
    reads: str | None  # the column the framework reads instead (None: none for this kind)


@dataclass(slots=True)
class RecordView:
    framework: str
    conv: Conversation
    turns: list[Turn] = field(default_factory=list)
    media: dict[Kind, list[MediaRef]] = field(default_factory=dict)
    media_column: dict[Kind, str | None] = field(default_factory=dict)
    unread: list[UnreadColumn] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    mapping_errors: list[Dropped] = field(default_factory=list)  # crashes from a bad mapping
    tags: dict[Kind, str] = field(default_factory=dict)
    inline_media: bool = False  # media written as content parts (LLaMA-Factory v1, ms-swift lists)
    attr: DatasetAttr | None = None

    @property
    def name(self) -> str:
        return FRAMEWORK_NAMES[self.framework]

    @property
    def record(self) -> dict:
        return self.conv.record if isinstance(self.conv.record, dict) else {}

    def tag_positions(self, kind: Kind, *, counted_only: bool = True) -> list[tuple[Turn, int]]:
        """Every occurrence of ``kind``'s tag: (turn, character offset), in reading order."""
        tag = self.tags.get(kind)
        out: list[tuple[Turn, int]] = []
        if not tag:
            return out
        for t in self.turns:
            if t.text is None or (counted_only and not t.counted):
                continue
            start = t.text.find(tag)
            while start >= 0:
                out.append((t, start))
                start = t.text.find(tag, start + len(tag))
        return out


def _media_refs(conv: Conversation, record_pointer: str, column: str | None, kind: Kind) -> list[MediaRef]:
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


def _has_inline_media(messages: list, content_key: str) -> bool:
    return any(isinstance(m, dict) and isinstance(m.get(content_key), list) for m in messages)


def _unread_columns(view: RecordView, read: dict[Kind, str | None],
                    candidates: dict[Kind, tuple[str, ...]]) -> None:
    rec = view.record
    for kind, cols in candidates.items():
        for col in cols:
            if col == read.get(kind) or col not in rec or rec[col] in (None, [], ""):
                continue
            view.unread.append(UnreadColumn(col, kind, join(view.conv.record_pointer, col),
                                            read.get(kind)))


def llamafactory_view(conv: Conversation, attr: DatasetAttr | None) -> RecordView:
    """LLaMA-Factory's converters (``converter.py``) and tag check (``mm_plugin.py``)."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    attr = attr or infer_dataset_attr(rec)
    view = RecordView(LLAMAFACTORY, conv, tags=placeholders(LLAMAFACTORY), attr=attr)
    rp = conv.record_pointer
    for kind in MEDIA_KINDS:
        col = attr.media_column(kind)
        view.media_column[kind] = col
        view.media[kind] = _media_refs(conv, rp, col, kind)
    _unread_columns(view, view.media_column,
                    {k: (_PLURAL[k], _SINGULAR[k]) for k in MEDIA_KINDS})
    # A media column absent from one record is fine: HF datasets fills it with None for records
    # that lack it (``_find_medias(None)`` → no media), so nothing is reported per record.

    if attr.formatting == "alpaca":
        _lf_alpaca(view, rec, attr)
        return view
    col = attr.messages
    messages = rec.get(col) if col else None
    if not isinstance(messages, list):
        if not attr.inferred:
            if col is None:
                reason = (f"dataset_info.json entry {attr.name!r} has a \"columns\" block without "
                          "\"messages\", so LLaMA-Factory reads the messages from no column")
            elif col not in rec:
                reason = (f"dataset_info.json entry {attr.name!r} reads messages from column "
                          f"{col!r}, which this record does not have")
            else:
                reason = f"column {col!r} is not a list of messages"
            view.mapping_errors.append(Dropped(rp or "", reason, f"KeyError: {col!r}" if col not in rec
                                               else "TypeError"))
        return view
    base = join(rp, col)
    if _has_inline_media(messages, attr.content_tag or "content"):
        view.inline_media = True  # LLaMA-Factory v1: media are parts, no tags to count
    role_tag, content_tag = attr.role_tag, attr.content_tag
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            view.turns.append(Turn(i, f"{base}/{i}", None, None, None, None))
            continue
        role = m.get(role_tag) if role_tag else None
        content = m.get(content_tag) if content_tag else None
        view.turns.append(Turn(i, f"{base}/{i}", role, None,
                               content if isinstance(content, str) else None,
                               join(base, i, content_tag) if content_tag and content_tag in m else None))
        if not attr.inferred and (role_tag not in m or content_tag not in m):
            missing = role_tag if role_tag not in m else content_tag
            view.mapping_errors.append(Dropped(
                f"{base}/{i}", f"message has no {missing!r} key, but dataset_info.json entry "
                f"{attr.name!r} reads {'roles' if missing == role_tag else 'contents'} from "
                f"{missing!r} (tags.{'role_tag' if missing == role_tag else 'content_tag'})",
                f"KeyError: {missing!r}"))
    if view.mapping_errors:
        return view
    _lf_align(view, attr)
    return view


def _lf_align(view: RecordView, attr: DatasetAttr) -> None:
    """``SharegptDatasetConverter.__call__`` (and the OpenAI converter's tool-turn merge)."""
    turns = view.turns
    role_map = {attr.user_tag: "user", attr.assistant_tag: "assistant",
                attr.observation_tag: "observation", attr.function_tag: "function",
                attr.system_tag: "system"}
    role_map.pop(None, None)
    body = turns
    if attr.system_tag and turns and isinstance(turns[0].role, str) and \
            turns[0].role == attr.system_tag:
        turns[0].as_role, turns[0].counted = "system", False
        body = turns[1:]
    if attr.formatting == "openai":
        # OpenAIDatasetConverter: consecutive observation turns are merged into one.
        merged: list[Turn] = []
        for t in body:
            if merged and t.role == attr.observation_tag and merged[-1].role == attr.observation_tag:
                t.as_role = "observation"
                continue
            merged.append(t)
        body = merged
    odd, even = (attr.user_tag, attr.observation_tag), (attr.assistant_tag, attr.function_tag)
    broken = False
    for n, t in enumerate(body):
        accepted = (odd, even)[n % 2]
        if not isinstance(t.role, str) or t.role not in accepted:
            view.dropped.append(Dropped(
                t.pointer, _role_reason(t, n, accepted, attr), "Invalid role tag in [...]. "
                "Skipping this abnormal example."))
            broken = True
            break
        t.as_role = role_map.get(t.role)
    if not broken and (len(body) % 2 != 0) != attr.ranking:
        last = body[-1] if body else None
        view.dropped.append(Dropped(
            last.pointer if last else join(view.conv.record_pointer, attr.messages or ""),
            f"{len(body)} turns after the system turn: LLaMA-Factory needs user/assistant pairs "
            "(the last turn must be an assistant answer)" if not attr.ranking else
            f"{len(body)} turns: a ranking record needs an odd number (the prompt)",
            "Invalid message count in [...]. Skipping this abnormal example."))


def _role_reason(t: Turn, n: int, accepted: tuple, attr: DatasetAttr) -> str:
    names = " or ".join(repr(a) for a in accepted if a)
    if t.role is None:
        return f"turn {t.index} has no role"
    if not isinstance(t.role, str):
        return f"turn {t.index} has a role that is not a string ({type(t.role).__name__})"
    if t.index == 0 and t.role == "system" and not attr.system_tag:
        return (f"turn {t.index} has role 'system', but dataset_info.json entry {attr.name!r} has "
                "a tags block without system_tag, so LLaMA-Factory does not know system turns")
    known = {attr.user_tag, attr.assistant_tag, attr.observation_tag, attr.function_tag}
    if t.role not in known:
        return (f"turn {t.index} has role {t.role!r}, which the mapping does not know "
                f"(expected {names})")
    return f"turn {t.index} is {t.role!r} where LLaMA-Factory expects {names} (turns must alternate)"


def _lf_alpaca(view: RecordView, rec: dict, attr: DatasetAttr) -> None:
    """``AlpacaDatasetConverter``: history pairs, then ``instruction\\ninput`` → ``output``."""
    rp = view.conv.record_pointer
    n = 0
    hist = rec.get(attr.history) if attr.history else None
    if isinstance(hist, list):
        for i, pair in enumerate(hist):
            if isinstance(pair, list) and len(pair) == 2:
                for j, role in ((0, "user"), (1, "assistant")):
                    v = pair[j]
                    view.turns.append(Turn(n, join(rp, attr.history, i, j), role, role,
                                           v if isinstance(v, str) else None,
                                           join(rp, attr.history, i, j)))
                    n += 1
    for key, role in ((attr.prompt, "user"), (attr.query, "user"), (attr.response, "assistant")):
        if key and isinstance(rec.get(key), str):
            view.turns.append(Turn(n, join(rp, key), role, role, rec[key], join(rp, key)))
            n += 1
    if attr.system and isinstance(rec.get(attr.system), str):
        view.turns.append(Turn(n, join(rp, attr.system), "system", "system", rec[attr.system],
                               join(rp, attr.system), counted=False))
    if not attr.inferred and not any(t.as_role == "user" and t.text for t in view.turns) and \
            any(k in rec for k in ("messages", "conversations")):
        view.mapping_errors.append(Dropped(
            rp or "", f"dataset_info.json entry {attr.name!r} has formatting "
            f"{attr.formatting!r} (the default when \"formatting\" is missing), but the record "
            "holds a message list: LLaMA-Factory builds an empty user turn",
            "ValueError: The number of images does not match the number of <image> tokens in "
            "[{'content': '', 'role': 'user'}, ...]"))


_SWIFT_MEDIA_COLUMNS = {k: (_PLURAL[k], _SINGULAR[k]) for k in MEDIA_KINDS}
_SWIFT_USER = ("user", "human")
_SWIFT_ASSISTANT = ("assistant", "gpt", "bot")


def ms_swift_view(conv: Conversation) -> RecordView:
    """ms-swift's ``RowPreprocessor`` column aliases and ``Template._add_default_tags``."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    view = RecordView(MS_SWIFT, conv, tags=placeholders(MS_SWIFT))
    rp = conv.record_pointer
    for kind, cols in _SWIFT_MEDIA_COLUMNS.items():
        col = next((c for c in cols if c in rec), None)
        view.media_column[kind] = col
        view.media[kind] = _media_refs(conv, rp, col, kind)
    col = next((c for c in ("messages", "conversation", "conversations")
                if isinstance(rec.get(c), list)), None)
    if col is None:
        return view
    base = f"{rp}/{col}"  # one of the fixed names above: nothing to escape
    msgs = rec[col]
    view.inline_media = _has_inline_media(msgs, "content") or _has_inline_media(msgs, "value")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            view.turns.append(Turn(i, f"{base}/{i}", None, None, None, None))
            continue
        rk = "role" if "role" in m else ("from" if "from" in m else None)
        ck = "content" if "content" in m else ("value" if "value" in m else None)
        role = m.get(rk) if rk else None
        as_role = ("user" if role in _SWIFT_USER else "assistant" if role in _SWIFT_ASSISTANT
                   else role if isinstance(role, str) else None)
        content = m.get(ck) if ck else None
        view.turns.append(Turn(i, f"{base}/{i}", role, as_role,
                               content if isinstance(content, str) else None,
                               f"{base}/{i}/{ck}" if ck else None))
    return view


def qwen_finetune_view(conv: Conversation) -> RecordView:
    """qwen-vl-finetune's ``_build_messages``."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    view = RecordView(QWEN_FINETUNE, conv, tags=placeholders(QWEN_FINETUNE))
    rp = conv.record_pointer
    for kind in (Kind.IMAGE, Kind.VIDEO):
        col = _SINGULAR[kind]
        view.media_column[kind] = col
        # ``item.get("image") or []``: a falsy value (``""``, ``[]``, null) is no media.
        view.media[kind] = _media_refs(conv, rp, col, kind) if rec.get(col) else []
    view.media_column[Kind.AUDIO] = None
    view.media[Kind.AUDIO] = []
    _unread_columns(view, view.media_column,
                    {Kind.IMAGE: ("images",), Kind.VIDEO: ("videos",),
                     Kind.AUDIO: ("audio", "audios")})
    msgs = rec.get("conversations")
    if not isinstance(msgs, list):
        return view
    base = f"{rp}/conversations"
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            view.turns.append(Turn(i, f"{base}/{i}", None, None, None, None))
            continue
        role = m.get("from")
        as_role = "user" if role == "human" else "assistant"
        v = m.get("value")
        view.turns.append(Turn(i, f"{base}/{i}", role, as_role, v if isinstance(v, str) else None,
                               f"{base}/{i}/value" if "value" in m else None,
                               expands_tags=as_role == "user", counted=as_role == "user"))
    return view


def record_view(conv: Conversation, framework: str, data_file: str | None = None) -> RecordView | None:
    """The framework's view of ``conv``'s record, or None when ``conv`` is not a dataset record."""
    if not isinstance(conv.record, dict) or framework not in FRAMEWORKS:
        return None
    if framework == LLAMAFACTORY:
        attr = find_dataset_info(data_file) if data_file else None
        return llamafactory_view(conv, attr)
    if framework == MS_SWIFT:
        return ms_swift_view(conv)
    return qwen_finetune_view(conv)


def view_for(ctx: Any, conv: Conversation) -> RecordView | None:
    """``record_view`` for a rule's context, memoised in ``ctx.facts`` (one build per record).

    ``stage(ctx)`` below fills the same entries up front; the engine may register it in
    ``engine.STAGES``.  Rules call this, so they work either way.
    """
    key = f"dataset-view:{conv.index}"
    if key not in ctx.facts:
        ctx.facts[key] = record_view(conv, ctx.target(conv), ctx.file)
    return ctx.facts[key]


def stage(ctx: Any) -> None:
    """Engine stage: build every record's framework view (see :func:`view_for`)."""
    for conv in ctx.conversations:
        view_for(ctx, conv)


# --- media for the budget predictor -------------------------------------------------------------

#: Each framework's default preprocessing settings, as per-part options in qwen-vl-utils terms
#: (``min_pixels`` / ``max_pixels`` per image or frame, ``fps``, ``min_frames`` / ``max_frames``).
#: LLaMA-Factory: ``hparams/model_args.py`` ``ProcessorArguments`` (image_max_pixels=768*768,
#: image_min_pixels=32*32, video_max_pixels=256*256, video_min_pixels=16*16, video_fps=2.0,
#: video_maxlen=128), applied by ``mm_plugin.py`` ``_preprocess_image`` before the HF processor.
#: qwen-vl-finetune: ``qwenvl/train/argument.py`` ``DataArguments`` (max_pixels=28*28*576,
#: min_pixels=28*28*16, video 256*28*28 to 1024*28*28 per frame, fps 2, 4 to 8 frames) written into
#: the processor by ``update_processor_pixels`` — which never sets ``do_sample_frames``, so the
#: HF video processor keeps every decoded frame (``do_sample_frames: False`` below).
#: ms-swift: qwen-vl-utils' defaults, overridden by the environment variables it reads
#: (``MAX_PIXELS``, ``MIN_PIXELS``, ``VIDEO_MAX_PIXELS``, ``VIDEO_MIN_PIXELS``, ``FPS``,
#: ``FPS_MAX_FRAMES``, ``FPS_MIN_FRAMES``; Qwen3-VL: ``IMAGE_MAX_TOKEN_NUM`` etc.).
FRAMEWORK_MEDIA_DEFAULTS: dict[str, dict[Kind, dict[str, Any]]] = {
    LLAMAFACTORY: {
        Kind.IMAGE: {"max_pixels": 768 * 768, "min_pixels": 32 * 32},
        Kind.VIDEO: {"max_pixels": 256 * 256, "min_pixels": 16 * 16, "fps": 2.0, "max_frames": 128},
        Kind.AUDIO: {},
    },
    QWEN_FINETUNE: {
        Kind.IMAGE: {"max_pixels": 28 * 28 * 576, "min_pixels": 28 * 28 * 16},
        Kind.VIDEO: {"max_pixels": 1024 * 28 * 28, "min_pixels": 256 * 28 * 28, "fps": 2.0,
                     "min_frames": 4, "max_frames": 8, "do_sample_frames": False},
        Kind.AUDIO: {},
    },
    MS_SWIFT: {Kind.IMAGE: {}, Kind.VIDEO: {}, Kind.AUDIO: {}},
}

_SWIFT_ENV = {Kind.IMAGE: (("MAX_PIXELS", "max_pixels"), ("MIN_PIXELS", "min_pixels")),
              Kind.VIDEO: (("VIDEO_MAX_PIXELS", "max_pixels"), ("VIDEO_MIN_PIXELS", "min_pixels"),
                           ("FPS", "fps"), ("FPS_MAX_FRAMES", "max_frames"),
                           ("FPS_MIN_FRAMES", "min_frames"))}


def media_options(framework: str, kind: Kind, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The per-item preprocessing options ``framework`` applies to ``kind`` by default."""
    opts = dict(FRAMEWORK_MEDIA_DEFAULTS.get(framework, {}).get(kind, {}))
    if framework == MS_SWIFT:
        env = os.environ if environ is None else environ
        for var, key in _SWIFT_ENV.get(kind, ()):
            v = env.get(var)
            if v is not None:
                try:
                    opts[key] = float(v) if key == "fps" else int(v)
                except ValueError:
                    pass
    return opts


def media_for_prediction(conv: Conversation, framework: str,
                         data_file: str | None = None) -> list[tuple[MediaRef, dict[str, Any]]]:
    """Every media item the framework loads for this record, in order, with its options.

    For the budget rule: each ``MediaRef`` (kind, pointer, source as written) paired with the
    framework's default settings from :data:`FRAMEWORK_MEDIA_DEFAULTS`.  Records the framework
    drops, and media it never reads, are left out; media written inline as parts (LLaMA-Factory
    v1) are the parts' business and are not listed here.
    """
    view = record_view(conv, framework, data_file)
    if view is None or view.dropped:
        return []
    out: list[tuple[MediaRef, dict[str, Any]]] = []
    for kind in MEDIA_KINDS:
        for ref in view.media.get(kind, []):
            out.append((ref, media_options(framework, kind)))
    return out
