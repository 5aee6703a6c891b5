"""ms-swift: how its preprocessors and template read a dataset record, and the media budgets it
takes from the environment.

Modelled from ms-swift 4.x (``modelscope/ms-swift`` ``3602360a``), not run here:

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
- The media budgets: qwen-vl-utils' defaults, overridden by the environment variables ms-swift
  reads (``MAX_PIXELS``, ``MIN_PIXELS``, ``VIDEO_MAX_PIXELS``, ``VIDEO_MIN_PIXELS``, ``FPS``,
  ``FPS_MAX_FRAMES``, ``FPS_MIN_FRAMES``), applied as qwen-vl-utils per-item options.
"""

from __future__ import annotations

from typing import Any, Mapping

from qwenlint.consumers.base import Target, framework_reading
from qwenlint.consumers.records import (
    MEDIA_KINDS,
    PLURAL,
    SINGULAR,
    RecordView,
    Turn,
    has_inline_media,
    media_refs,
)
from qwenlint.ir import Conversation, Kind

TARGET = Target.MS_SWIFT
#: ms-swift calls qwen-vl-utils, then the HF processor.
PIPELINE = "qwen-vl-utils"
reading = framework_reading
#: The environment variables ms-swift reads its media budgets from, per kind: (variable, option).
ENV_OPTIONS = {Kind.IMAGE: (("MAX_PIXELS", "max_pixels"), ("MIN_PIXELS", "min_pixels")),
               Kind.VIDEO: (("VIDEO_MAX_PIXELS", "max_pixels"), ("VIDEO_MIN_PIXELS", "min_pixels"),
                            ("FPS", "fps"), ("FPS_MAX_FRAMES", "max_frames"),
                            ("FPS_MIN_FRAMES", "min_frames"))}


def ignored_options(part: Any) -> list[str]:
    """Per-part options are not reported for ms-swift."""
    return []


def tags(environ: Mapping[str, str]) -> dict[Kind, str]:
    """The fixed tags ``<image>`` / ``<video>`` / ``<audio>``."""
    return {Kind.IMAGE: "<image>", Kind.VIDEO: "<video>", Kind.AUDIO: "<audio>"}


def media_options(kind: Kind, environ: Mapping[str, str]) -> dict[str, Any]:
    """The per-item qwen-vl-utils options ms-swift applies to ``kind``: the budgets set in the
    environment (:data:`ENV_OPTIONS`; a value that is not a number is ignored)."""
    opts: dict[str, Any] = {}
    for var, key in ENV_OPTIONS.get(kind, ()):
        v = environ.get(var)
        if v is not None:
            try:
                opts[key] = float(v) if key == "fps" else int(v)
            except ValueError:
                pass
    return opts


_SWIFT_MEDIA_COLUMNS = {k: (PLURAL[k], SINGULAR[k]) for k in MEDIA_KINDS}
_SWIFT_USER = ("user", "human")
_SWIFT_ASSISTANT = ("assistant", "gpt", "bot")


def view(conv: Conversation, environ: Mapping[str, str]) -> RecordView:
    """ms-swift's ``RowPreprocessor`` column aliases and ``Template._add_default_tags``."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    view = RecordView(TARGET, conv, tags=tags(environ))
    rp = conv.record_pointer
    for kind, cols in _SWIFT_MEDIA_COLUMNS.items():
        col = next((c for c in cols if c in rec), None)
        view.media_column[kind] = col
        view.media[kind] = media_refs(conv, rp, col, kind)
    col = next((c for c in ("messages", "conversation", "conversations")
                if isinstance(rec.get(c), list)), None)
    if col is None:
        return view
    base = f"{rp}/{col}"  # one of the fixed names above: nothing to escape
    msgs = rec[col]
    view.inline_media = has_inline_media(msgs, "content") or has_inline_media(msgs, "value")
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
