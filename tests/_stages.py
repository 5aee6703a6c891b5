"""Run the stages on a value and return the record's context (no rules): for stage tests."""

from __future__ import annotations

from qwenlint.context import RecordContext
from qwenlint.engine import Engine, FileScope
from qwenlint.ir import Record
from qwenlint.options import Options


def run_stages(tmp_path, value, **opts) -> RecordContext:
    engine = Engine(Options(**opts), rules=[])
    outcome = engine.check_record(Record(value=value), FileScope("<memory>", str(tmp_path)), keep=True)
    return outcome.context
