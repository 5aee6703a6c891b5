"""Run the stages on a value and return the rules' Context (no rules): for stage tests."""

from __future__ import annotations

from qwenlint.engine import Checker
from qwenlint.options import Options
from qwenlint.rules.base import Context


def run_stages(tmp_path, value, **opts) -> Context:
    seen: list[Context] = []

    class _Capture(Checker):
        def after_stages(self, ctx: Context) -> None:
            seen.append(ctx)

    _Capture(Options(**opts), rules=[]).check_value(value, base_dir=str(tmp_path))
    return seen[0]
