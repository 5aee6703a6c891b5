"""What a check produces: the diagnostics, the counts, and (with ``--statistics``) a summary.

A bottom module: the engine builds a :class:`Result`, the reporters and the public API read it,
and neither needs the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.summary import Summary


@dataclass
class Result:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    conversations: int = 0
    records: int = 0
    summary: Summary | None = None  # with statistics
    #: the consumer versions the verdicts assume, one line each ("transformers 5.23.0 (installed
    #: here)"), for the consumers the checked conversations went to
    assumed: list[str] = field(default_factory=list)
    #: internal errors: (one line naming the file and the error, its traceback), one per record or
    #: file qwenlint failed on (each is also a QL005 diagnostic); the command line exits 2
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)
