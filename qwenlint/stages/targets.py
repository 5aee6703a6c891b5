"""Targets stage: which consumer reads each conversation, and what it does with each media part.

``--target`` when given, else the default consumer of the conversation's dialect
(:func:`qwenlint.consumers.infer_target`; dataset records of a file that a ``dataset_info.json``
declares are LLaMA-Factory's).  Fills ``ctx.targets`` (conversation index -> consumer),
``ctx.readings`` (media part pointer -> :class:`qwenlint.consumers.Reading`) and, for a vLLM
server, ``ctx.requests`` (the request as the server parses it, before any media is loaded).
"""

from __future__ import annotations

from qwenlint import consumers
from qwenlint.consumers import Target
from qwenlint.consumers.vllm import part_reading, part_request, request_body
from qwenlint.context import RecordContext


def run(ctx: RecordContext) -> None:
    forced = ctx.options.target
    declared = ctx.dataset_entry is not None
    for conv in ctx.conversations:
        target = forced or consumers.infer_target(conv, declared)
        ctx.targets[conv.index] = target
        if target is Target.VLLM:
            from qwenlint.consumers.vllm import (
                request as vreq,  # ~50 ms of pydantic models: vLLM runs only
            )

            server = ctx.run.server
            supported = vreq.QWEN_OMNI_MODALITIES if ctx.run.profile.is_omni else vreq.QWEN_VL_MODALITIES
            ctx.requests[conv.index] = vreq.parse_request(request_body(conv), server, supported)
            for m, p in conv.media_parts():
                alone = ctx.part_requests[p.pointer] = part_request(p, m.role, server, supported)
                ctx.readings[p.pointer] = part_reading(alone)
            continue
        for _m, p in conv.media_parts():
            ctx.readings[p.pointer] = consumers.reading(target, p, ctx.run.versions)
