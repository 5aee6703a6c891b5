"""LLaMA-Factory: its ``dataset_info.json``, how its converters read a record, and its media
preprocessing.

Modelled from LLaMA-Factory 0.9.x (``hiyouga/LLaMA-Factory`` ``ff6d4d12``), not run here:

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
- ``hparams/model_args.py`` ``ProcessorArguments`` and ``data/mm_plugin.py``
  ``_preprocess_image`` / ``_get_video_sample_indices``: images are pre-resized to at most
  ``image_max_pixels`` (768*768) pixels (``int`` truncation of the sides), videos sampled at
  ``video_fps`` (2) up to ``video_maxlen`` (128) frames, each pre-resized to ``video_max_pixels``
  (256*256), before the HF processor runs with no further frame sampling.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

from qwenlint.consumers.base import Target, framework_reading
from qwenlint.consumers.records import (
    MEDIA_KINDS,
    PLURAL,
    SINGULAR,
    Dropped,
    RecordView,
    Turn,
    has_inline_media,
    media_refs,
    unread_columns,
)
from qwenlint.ir import Conversation, Kind
from qwenlint.pointer import join

TARGET = Target.LLAMAFACTORY
#: The HF processor runs after LLaMA-Factory's own pre-resize and frame sampling.
PIPELINE = "transformers"
reading = framework_reading

#: ``ProcessorArguments`` defaults (hparams/model_args.py).
IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS = 768 * 768, 32 * 32
VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS = 256 * 256, 16 * 16
VIDEO_FPS, VIDEO_MAXLEN = 2.0, 128


def ignored_options(part: Any) -> list[str]:
    """Per-part options are not LLaMA-Factory's concern (its records carry none): none reported."""
    return []


def tags(environ: Mapping[str, str]) -> dict[Kind, str]:
    """The tag text replaced with a media item: ``IMAGE_PLACEHOLDER`` / ``VIDEO_PLACEHOLDER`` /
    ``AUDIO_PLACEHOLDER`` from the environment (``extras/constants.py``), else ``<image>`` ..."""
    return {Kind.IMAGE: environ.get("IMAGE_PLACEHOLDER", "<image>"),
            Kind.VIDEO: environ.get("VIDEO_PLACEHOLDER", "<video>"),
            Kind.AUDIO: environ.get("AUDIO_PLACEHOLDER", "<audio>")}


# --- media preprocessing (mm_plugin.py) ------------------------------------------------------------

def preresize(width: int, height: int, max_pixels: int, min_pixels: int) -> tuple[int, int]:
    """``_preprocess_image``: scale into [min, max] pixels, sides truncated to int."""
    if width * height > max_pixels:
        f = math.sqrt(max_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    if width * height < min_pixels:
        f = math.sqrt(min_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    return max(width, 1), max(height, 1)


def image_size(width: int, height: int) -> tuple[int, int]:
    """An image's size after the pre-resize (``image_max_pixels`` / ``image_min_pixels``)."""
    return preresize(width, height, IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS)


def frame_size(width: int, height: int) -> tuple[int, int]:
    """A video frame's size after the pre-resize (``video_max_pixels`` / ``video_min_pixels``)."""
    return preresize(width, height, VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS)


def video_frames(num_frames: int, fps: float) -> int:
    """``_get_video_sample_indices``: ``floor(duration * video_fps)`` frames, at most
    ``video_maxlen`` and the file's frame count."""
    return min(num_frames, VIDEO_MAXLEN, max(1, math.floor(num_frames / fps * VIDEO_FPS)))


# --- dataset_info.json ----------------------------------------------------------------------------

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
        return getattr(self, PLURAL[kind])

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


class DatasetInfo:
    """The one reader of ``dataset_info.json``: finds the entry that declares a data file.

    LLaMA-Factory finds the entry by ``--dataset NAME`` inside ``dataset_dir``; qwenlint goes the
    other way, from the file to the entry whose ``file_name`` resolves to it, looking in the
    file's folder and its parent (``file_name`` may also name a folder of data files).  The first
    matching entry wins.  Each ``dataset_info.json`` is read once per run (and again if it changes).
    """

    def __init__(self) -> None:
        self._files: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._entries: dict[str, DatasetAttr | None] = {}

    def _read(self, path: str) -> dict[str, Any] | None:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return None
        got = self._files.get(path)
        if got is None or got[0] != mtime:
            try:
                with open(path, encoding="utf-8") as f:
                    info = json.load(f)
            except (OSError, ValueError):
                info = None
            got = self._files[path] = (mtime, info if isinstance(info, dict) else None)
        return got[1]

    def entry_for(self, data_file: str) -> DatasetAttr | None:
        """The entry declaring ``data_file`` (None: no ``dataset_info.json`` declares it)."""
        data_file = os.path.abspath(data_file)
        if data_file in self._entries:
            return self._entries[data_file]
        found = None
        directory = os.path.dirname(data_file)
        for d in (directory, os.path.dirname(directory)):
            path = os.path.join(d, "dataset_info.json")
            info = self._read(path)
            if not info:
                continue
            for name, raw in info.items():
                if not isinstance(raw, dict) or not isinstance(raw.get("file_name"), str):
                    continue
                declared = os.path.normpath(os.path.join(d, raw["file_name"]))
                if declared != data_file and not data_file.startswith(declared + os.sep):
                    continue
                try:
                    entry = LFDatasetInfoEntry.model_validate(raw)
                except ValidationError:
                    continue
                found = DatasetAttr.from_entry(name, entry, path)
                break
            if found is not None:
                break
        self._entries[data_file] = found
        return found


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
        for col in (PLURAL[kind], SINGULAR[kind]):
            if col in record:
                setattr(attr, PLURAL[kind], col)
                break
    if "system" in record:
        attr.system = "system"
    return attr


# --- the converters' view of one record -------------------------------------------------------------

def view(conv: Conversation, attr: DatasetAttr | None, environ: Mapping[str, str]) -> RecordView:
    """LLaMA-Factory's converters (``converter.py``) and tag check (``mm_plugin.py``)."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    attr = attr or infer_dataset_attr(rec)
    view = RecordView(TARGET, conv, tags=tags(environ), attr=attr)
    rp = conv.record_pointer
    for kind in MEDIA_KINDS:
        col = attr.media_column(kind)
        view.media_column[kind] = col
        view.media[kind] = media_refs(conv, rp, col, kind)
    unread_columns(view, view.media_column,
                   {k: (PLURAL[k], SINGULAR[k]) for k in MEDIA_KINDS})
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
    if has_inline_media(messages, attr.content_tag or "content"):
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
