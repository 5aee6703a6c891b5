"""What every stage and rule produces: a located, coded finding with a fix.

A :class:`Diagnostic` is created with a JSON pointer into the file's own structure.  Line and
column are filled in later, and only for files that have something to report (see
:mod:`qwenlint.load.positions`), so clean files never pay for position tracking.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any


class Severity(str, enum.Enum):
    """How bad a finding is.  Only ``error`` findings make ``qwenlint check`` exit 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


class Applicability(str, enum.Enum):
    """Whether ``--fix`` may apply a fix on its own (as in ruff)."""

    SAFE = "safe"  # meaning-preserving: applied by --fix
    UNSAFE = "unsafe"  # may change meaning: needs --unsafe-fixes
    DISPLAY = "display"  # shown only, never applied


@dataclass(frozen=True, slots=True)
class Fix:
    """A machine-applicable change: replace the JSON value at ``pointer`` with ``value``.

    ``pointer`` is an RFC 6901 pointer into the same document as the diagnostic; ``value`` is
    plain JSON data.  ``message`` says in words what the fix does.
    """

    message: str
    pointer: str
    value: Any
    applicability: Applicability = Applicability.SAFE

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "applicability": self.applicability.value,
            "edits": [{"op": "replace", "pointer": self.pointer, "value": self.value}],
        }


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding.

    ``pointer`` is an RFC 6901 JSON pointer into the file's own structure (for JSONL: into the
    record, with ``line`` the record's line).  ``help`` always says how to fix it in words; ``fix``
    is set when the change is machine-applicable.
    """

    rule: str
    name: str
    severity: Severity
    message: str
    file: str | None = None
    pointer: str = ""
    line: int | None = None
    column: int | None = None
    help: str | None = None
    fix: Fix | None = None
    # For JSONL: the 1-based line of the record the pointer is relative to.
    record_line: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def located(self, **changes: Any) -> "Diagnostic":
        return replace(self, **changes)

    def sort_key(self) -> tuple:
        # without a line (a table row): in row order, /2 before /10
        rows = () if self.line is not None else tuple(
            (0, int(t), "") if t.isdigit() else (1, 0, t) for t in self.pointer.split("/")[1:])
        return (self.file or "", self.line or 0, self.column or 0, rows, self.rule, self.pointer)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.file,
            "pointer": self.pointer,
            "line": self.line,
            "column": self.column,
            "help": self.help,
            "fix": self.fix.to_json() if self.fix else None,
        }
        if self.extra:
            out["data"] = self.extra
        return out
