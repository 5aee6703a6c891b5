"""Stages that enrich a record's :class:`~qwenlint.rules.base.Context` before the rules run.

Each stage is ``run(ctx) -> None``: it reads the normalised conversations and fills one field of
the context — ``facts`` (media headers), ``predictions`` (grid and pad counts), ``renders`` (the
chat template's output with pads per part).  Resources that are the same for every record of a
run (the loaded template, the family profile, the tokenizer) are built once and kept in
``ctx.env``.  Stages never raise for bad input: what cannot be computed is recorded as an error
value for the rules to report.
"""

from __future__ import annotations

from typing import Callable

from qwenlint.rules.base import Context
from qwenlint.stages import media, template, vision

#: In order: each stage may read what the ones before it produced (media facts, then
#: predictions, then the template render, which quotes predicted feature counts).
STAGES: list[Callable[[Context], None]] = [media.run, vision.run, template.run]

__all__ = ["STAGES"]
