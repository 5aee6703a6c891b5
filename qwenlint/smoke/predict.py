"""The predicted side of ``qwenlint smoke``: every conversation through the engine's own loop.

Each record goes through :meth:`qwenlint.engine.Engine.check_source` with its context kept, so the
predictions compared with the real run are exactly those ``qwenlint check`` and ``qwenlint tokens``
make: the consumer of each conversation and what it does with each part (``ctx.readings``), the
predicted grid and pads (``ctx.predictions``), the pads the chat template renders per part
(``ctx.renders``), and ``qwenlint check``'s diagnostics on the conversation (folded, as a check
reports them).  No torch here.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable

from qwenlint.context import RecordContext
from qwenlint.diagnostics import Severity
from qwenlint.ir import Conversation, Dialect, Kind, Part
from qwenlint.media import MediaError
from qwenlint.options import Options
from qwenlint.pointer import split, under
from qwenlint.smoke.report import SUPPORTED_TARGETS, ConversationResult, PartResult
from qwenlint.vision import (
    Prediction,
    ProfileError,
    VisionError,
    profile_from_model_dir,
)


@dataclass
class Item:
    """One conversation to run for real: its result row, the messages to send, its diagnostics."""

    result: ConversationResult
    messages: list[Any]
    diagnostics: list[Any]


def detect_family(model_dir: str) -> str | None:
    """The family of a checkpoint directory: ``config.json``'s ``model_type``, else the family
    nearest to the processor classes its files name (`profile_from_model_dir`); None: unknown."""
    try:
        return profile_from_model_dir(model_dir).family
    except ProfileError:
        return None


def _resolve(value: Any, pointer: str) -> Any:
    for tok in split(pointer):
        value = value[int(tok)] if isinstance(value, list) else value[tok]
    return value


def absolutise(value: Any, base_dir: str) -> Any:
    """A copy of the messages with relative local media paths made absolute (the real libraries
    resolve them against the working directory; qwenlint against the file's directory)."""
    value = copy.deepcopy(value)
    keys = ("image", "video", "audio", "url", "path", "image_url", "video_url")

    def fix(s: Any) -> Any:
        if isinstance(s, str) and not re.match(r"^([a-z]+:)", s) and not os.path.isabs(s) and s:
            return os.path.normpath(os.path.join(base_dir, s))
        if isinstance(s, str) and s.startswith("file://") and not os.path.isabs(s[7:]):
            return "file://" + os.path.normpath(os.path.join(base_dir, s[7:]))
        return s

    def walk(v: Any) -> None:
        if isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k in list(v):
                if k in keys and isinstance(v[k], str):
                    v[k] = fix(v[k])
                elif k in ("video",) and isinstance(v[k], list):
                    v[k] = [fix(x) for x in v[k]]
                elif k in ("image_url", "video_url") and isinstance(v[k], dict) and isinstance(v[k].get("url"), str):
                    v[k]["url"] = fix(v[k]["url"])
                elif k in ("content",) or isinstance(v[k], (list, dict)):
                    walk(v[k])

    walk(value)
    return value


def _part(ctx: RecordContext, conv: Conversation, part: Part) -> PartResult:
    """A part's predicted side, read from the record's context."""
    target = ctx.target(conv)
    res = PartResult(part.pointer, part.kind.value, loaded=False, rendered=None)
    reading = ctx.reading(part)
    if not reading.loaded:
        res.note = f"not loaded by {target}" + (f": {reading.why}" if reading.why else "")
        return res
    res.loaded = True
    if reading.crash:
        res.predicted_error = reading.crash
        return res
    pred = ctx.predictions.get(part.pointer)
    if isinstance(pred, Prediction):
        res.predicted_grid, res.predicted_pads = list(pred.grid_thw), pred.tokens
    elif isinstance(pred, VisionError):
        res.predicted_error = f"{pred.exc_type}: {pred.message}"
    else:
        facts = ctx.facts.get(part.pointer)
        bad = next((f for f in facts if isinstance(f, MediaError)), None) if isinstance(facts, list) else facts
        res.note = "no prediction: " + (bad.message if isinstance(bad, MediaError) else "the media could not be read")
    return res


def _conversation(ctx: RecordContext, conv: Conversation, row: ConversationResult) -> None:
    """Fill ``row``'s parts and predicted outcome (what the template renders, per part)."""
    for m, part in conv.parts():
        if part.kind in (Kind.IMAGE, Kind.VIDEO):
            row.parts.append(_part(ctx, conv, part))
    rr = ctx.renders.get(conv.index)
    if rr is None:
        return
    if not rr.ok:
        row.predicted_outcome = f"template raises: {rr.error.exception_type}: {rr.error.message}"
        return
    by_pointer = {p.pointer: (i, p) for i, m in enumerate(conv.messages) for p in m.parts}
    for pr in row.parts:
        msg_i, ir_part = by_pointer[pr.pointer]
        pp = rr.part(msg_i, ir_part.index)
        pr.rendered = None if pp is None else getattr(pp, pr.kind)
    loaded = {k: sum(1 for p in row.parts if p.kind == k and p.loaded and not p.predicted_error)
              for k in ("image", "video")}
    placeholders = {k: int(rr.pad_counts.get(k, 0)) for k in ("image", "video")}
    bad = [k for k in ("image", "video") if placeholders[k] != loaded[k]]
    if any(p.predicted_error for p in row.parts):
        row.predicted_outcome = "raises: " + next(p.predicted_error for p in row.parts if p.predicted_error)
    elif bad:
        row.predicted_outcome = "processor raises: " + "; ".join(
            f"{placeholders[k]} {k} placeholder(s) in the text for {loaded[k]} loaded {k}(s)" for k in bad)
    elif all(p.predicted_pads is not None for p in row.parts if p.loaded):
        row.predicted_pad_ids = {k: sum(p.predicted_pads or 0 for p in row.parts
                                        if p.kind == k and p.loaded) for k in ("image", "video")}


def prepare(paths: Iterable[str], options: Options) -> tuple[list[Item], int]:
    """Check and predict every conversation of ``paths`` with the engine (``options.model`` is the
    checkpoint directory); returns the conversations to run for real and the number of files."""
    from qwenlint.engine import Engine
    from qwenlint.load.files import found_files

    engine = Engine(options)
    fold = engine.fold()
    items: list[Item] = []
    files = 0
    for found in found_files(paths):
        path = found.path
        src = engine.read(path)
        if found.walked and engine.foreign(src):  # a directory walk's trainer_state.json, ...
            continue
        files += 1
        base_dir = options.media_root or os.path.dirname(os.path.abspath(path))
        for outcome in engine.check_source(src, keep=True):
            diags = fold.add(outcome)
            ctx, record = outcome.context, outcome.record
            if ctx is None or record is None:
                continue
            for conv in ctx.conversations:
                items.append(_item(ctx, conv, record, diags, base_dir))
    return items, files


def _item(ctx: RecordContext, conv: Conversation, record: Any, diags: list, base_dir: str) -> Item:
    target = str(ctx.target(conv))
    pointer = conv.pointer if record.line is None else f"{record.line}:{conv.pointer or '/'}"
    row = ConversationResult(ctx.file, pointer, conv.index, target)
    mine = [d for d in diags if under(d.pointer or "", conv.pointer)]
    row.check_errors = [f"{d.rule} {d.name} at {d.pointer or '/'}: {d.message}"
                        for d in mine if d.severity is Severity.ERROR]
    if target not in SUPPORTED_TARGETS:
        row.skipped = (f"target {target!r} is not run by smoke (only {', '.join(SUPPORTED_TARGETS)}); "
                       "pass --target")
        return Item(row, [], mine)
    if conv.dialect not in (Dialect.NATIVE, Dialect.OPENAI) and target == "qwen-vl-utils":
        row.skipped = f"{conv.dialect} records are not conversations the real pipeline takes"
        return Item(row, [], mine)
    try:
        raw = _resolve(record.value, conv.pointer)
    except (KeyError, IndexError, ValueError, TypeError):
        row.skipped = "cannot locate the conversation's messages"
        return Item(row, [], mine)
    _conversation(ctx, conv, row)
    return Item(row, absolutise(raw, base_dir), mine)
