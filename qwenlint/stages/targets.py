"""Targets stage: which consumer reads each conversation, and what it does with each media part.

``--target`` when given, else the default consumer of the conversation's dialect
(:func:`qwenlint.consumers.infer_target`; dataset records of a file that a ``dataset_info.json``
declares are LLaMA-Factory's).  Fills ``ctx.targets`` (conversation index -> consumer) and
``ctx.readings`` (media part pointer -> :class:`qwenlint.consumers.Reading`).
"""

from __future__ import annotations

from qwenlint import consumers
from qwenlint.context import RecordContext


def run(ctx: RecordContext) -> None:
    forced = ctx.options.target
    declared = ctx.dataset_entry is not None
    for conv in ctx.conversations:
        target = forced or consumers.infer_target(conv, declared)
        ctx.targets[conv.index] = target
        for _m, p in conv.media_parts():
            ctx.readings[p.pointer] = consumers.reading(target, p)
