"""Dataset stage: the framework's view of every dataset record whose consumer is a framework.

Fills ``ctx.views`` (conversation index -> :class:`qwenlint.consumers.RecordView`): the turns as the
framework maps them, the media lists it loads, the columns it ignores, why it would drop the
record.  LLaMA-Factory's view reads the ``dataset_info.json`` entry that declares the file
(``ctx.dataset_entry``, found once per file by the run's reader).  A ``dataset_info.json`` checked
itself gets its entries' problems (``ctx.registry_problems``) instead.
"""

from __future__ import annotations

from qwenlint import consumers
from qwenlint.consumers import llamafactory
from qwenlint.context import RecordContext


def run(ctx: RecordContext) -> None:
    if ctx.registry is not None:  # a dataset_info.json: its entries as LLaMA-Factory reads them
        ctx.registry_problems = llamafactory.registry_problems(ctx.registry, ctx.base_dir)
        return
    for conv in ctx.conversations:
        target = ctx.target(conv)
        if not target.is_framework:
            continue
        view = consumers.record_view(conv, target, dataset_entry=ctx.dataset_entry,
                                     environ=ctx.run.environ, versions=ctx.run.versions,
                                     stage=ctx.options.llamafactory().stage, swift=ctx.options.ms_swift())
        if view is not None:
            ctx.views[conv.index] = view
