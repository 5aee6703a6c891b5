"""Media stage: facts about every image and video a record names, read from headers only.

For each image / video part (a path, a ``file://`` URL, a data URI or a list of frames) and each
dataset media entry (``conv.media``, or the framework's media lists), the source is classified
relative to ``ctx.base_dir`` (``--media-root``, else the input file's folder) and probed through
one `FactsCache` per run (kept in ``ctx.env``), so a file named by ten thousand records is probed
once.  Results go to ``ctx.facts[pointer]``:

* an image or video part / media entry: `ImageFacts` | `VideoFacts` | `MediaError`;
* a list of frames: a list with one `ImageFacts` | `MediaError` per frame;
* remote URLs are never fetched: ``MediaError("remote")``.

``ctx.facts["media:sources"]`` maps the same pointers to the `MediaSource` (a list for frame
lists), ``ctx.facts["media:items"]`` lists every probed item as a `MediaItem`, in reading order.
The stage never raises for bad input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from qwenlint import consumers
from qwenlint.ir import Conversation, Form, Kind, MediaRef, Part
from qwenlint.media import FactsCache, MediaError, classify_source, probe_source
from qwenlint.media.sources import MediaSource
from qwenlint.rules.base import Context

SOURCES_KEY = "media:sources"
ITEMS_KEY = "media:items"
CACHE_KEY = "media:cache"
_DATASET_TARGETS = set(consumers.DATASET_TARGETS)


@dataclass(slots=True)
class MediaItem:
    """One image or video the consumer of ``conv`` loads, with where it was written."""

    conv: Conversation
    pointer: str  # the part's (or the media entry's) pointer: the key of facts and predictions
    source_pointer: str  # where the source string is (the value a finding points at)
    kind: Kind
    source: Any  # as written: a string, or a list of frame strings
    options: dict[str, Any] = field(default_factory=dict)  # the part's own options
    part: Part | None = None  # None for a dataset media entry
    ref: MediaRef | None = None
    framework_fallback: bool = False  # resolved against the working directory (LLaMA-Factory)

    @property
    def is_frame_list(self) -> bool:
        return self.kind is Kind.VIDEO and isinstance(self.source, list)


def cache(ctx: Context) -> FactsCache:
    c = ctx.env.get(CACHE_KEY)
    if c is None:
        c = ctx.env[CACHE_KEY] = FactsCache()
    return c


def _base_dir(ctx: Context) -> str:
    return ctx.options.media_root or ctx.base_dir


def _classify(ctx: Context, value: Any, item_conv: Conversation, dataset: bool) -> tuple[MediaSource, bool]:
    """The source, and whether it resolved through the framework's working-directory fallback."""
    s = classify_source(value, _base_dir(ctx))
    if (dataset and s.is_local and s.resolved and s.path and not os.path.isabs(s.path)
            and ctx.target(item_conv) != "qwen-finetune" and not os.path.exists(s.resolved)
            and os.path.exists(s.path)):
        # LLaMA-Factory / ms-swift: "Media x does not exist in `media_dir`. Use original path."
        return classify_source(value, None), True
    return s, False


def _probe(ctx: Context, s: MediaSource, kind: str):
    # One run probes each (file, kind) once: a per-run memo in front of the FactsCache, which
    # would otherwise realpath() and stat() the file again for every record naming it.
    memo = ctx.env.setdefault("media:memo", {})
    key = (s.kind, s.resolved if kind == "image" else s.video_resolved, kind) if s.is_local else None
    if key is not None and key in memo:
        return memo[key]
    try:
        result = probe_source(s, kind, cache=cache(ctx))  # type: ignore[arg-type]
        if key is not None:
            memo[key] = result
        return result
    except Exception as e:  # noqa: BLE001 - a probe bug must not stop the lint run
        return MediaError("unreadable", f"could not probe: {type(e).__name__}: {e}", path=s.raw[:200])


def _items(ctx: Context) -> list[MediaItem]:
    items: list[MediaItem] = []
    for conv in ctx.conversations:
        target = ctx.target(conv)
        for _m, p in conv.media_parts():
            if p.kind not in (Kind.IMAGE, Kind.VIDEO):
                continue
            if p.form in (Form.TRANSLATED, Form.UNKNOWN, Form.NO_SOURCE):
                continue
            src = p.source
            if not (isinstance(src, str) or (p.kind is Kind.VIDEO and isinstance(src, list))):
                continue
            items.append(MediaItem(conv, p.pointer, p.source_pointer or p.pointer, p.kind, src,
                                   dict(p.options), part=p))
        if target in _DATASET_TARGETS or conv.media:
            for ref in _dataset_refs(ctx, conv):
                if ref.kind not in (Kind.IMAGE, Kind.VIDEO):
                    continue
                src = ref.source
                if not (isinstance(src, str) or (ref.kind is Kind.VIDEO and isinstance(src, list))):
                    continue
                items.append(MediaItem(conv, ref.pointer, ref.pointer, ref.kind, src, {}, ref=ref))
    seen: set[str] = set()
    out = []
    for it in items:
        if it.pointer not in seen:
            seen.add(it.pointer)
            out.append(it)
    return out


def _dataset_refs(ctx: Context, conv: Conversation) -> list[MediaRef]:
    """The media entries the framework reads (its view), else the normalised ``conv.media``."""
    target = ctx.target(conv)
    if target in _DATASET_TARGETS and isinstance(conv.record, dict):
        try:
            from qwenlint.dialects import datasets as D

            view = D.view_for(ctx, conv)
        except Exception:  # noqa: BLE001 - the dataset model is another stage's business
            view = None
        if view is not None:
            if view.dropped:
                return []
            return [r for kind in (Kind.IMAGE, Kind.VIDEO) for r in view.media.get(kind, [])]
    return list(conv.media)


def run(ctx: Context) -> None:
    """Fill ``ctx.facts`` for every image and video of the record (see the module docstring)."""
    items = _items(ctx)
    if not items:
        return
    sources: dict[str, Any] = ctx.facts.setdefault(SOURCES_KEY, {})
    for item in items:
        dataset = item.ref is not None
        if isinstance(item.source, list):
            srcs, facts = [], []
            for frame in item.source:
                s, _ = _classify(ctx, frame, item.conv, dataset)
                srcs.append(s)
                facts.append(_probe(ctx, s, "image") if isinstance(frame, str) else
                             MediaError("invalid-path", f"a frame must be a string, got "
                                        f"{type(frame).__name__}"))
            sources[item.pointer] = srcs
            ctx.facts[item.pointer] = facts
        else:
            s, fallback = _classify(ctx, item.source, item.conv, dataset)
            item.framework_fallback = fallback
            sources[item.pointer] = s
            ctx.facts[item.pointer] = _probe(ctx, s, item.kind.value)
    ctx.facts[ITEMS_KEY] = items


def items(ctx: Context) -> list[MediaItem]:
    """The media items the stage probed (empty when it did not run or found none)."""
    return ctx.facts.get(ITEMS_KEY, [])
