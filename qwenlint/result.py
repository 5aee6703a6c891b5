"""What a check produces: the diagnostics, the counts, and (with ``--statistics``) a summary.

A bottom module: the engine builds a :class:`Result`, the reporters and the public API read it,
and neither needs the other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.summary import Summary


@dataclass
class FileReading:
    """How one file was read: the model family, and per (dialect, consumer) how many
    conversations — the assumptions every verdict on the file rests on."""

    family: str | None
    read_as: dict[tuple[str, str], int] = field(default_factory=dict)

    def to_json(self, path: str) -> dict:
        return {"path": path, "family": self.family,
                "read_as": [{"dialect": d, "target": t, "conversations": n}
                            for (d, t), n in self.read_as.items()]}


@dataclass
class Result(Sequence[Diagnostic]):
    """The diagnostics of a check, in report order, with what was checked.

    A result *is* the sequence of its diagnostics (``for d in qwenlint.check(messages)``,
    ``len(result)``, ``result[0]``; empty, and so false, when nothing was found), and it also
    carries the counts and the versions the verdicts assumed.
    """

    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    conversations: int = 0
    records: int = 0
    #: files a directory walk found and left out: JSON in no dialect qwenlint reads
    skipped: int = 0
    summary: Summary | None = None  # with statistics
    #: the consumer versions the verdicts assume, one line each ("transformers 5.23.0 (installed
    #: here)"), for the consumers the checked conversations went to
    assumed: list[str] = field(default_factory=list)
    #: internal errors: (one line naming the file and the error, its traceback), one per record or
    #: file qwenlint failed on (each is also a QL005 diagnostic); the command line exits 2
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: per file (in the order first met): the family and how its conversations were read
    readings: dict[str, FileReading] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)

    def note_reading(self, file: str, family: str | None, read_as: tuple[tuple[str, str], ...]) -> None:
        """Count how ``file``'s conversations were read: (dialect, consumer) pairs, and the family."""
        entry = self.readings.setdefault(file, FileReading(family))
        for key in read_as:
            entry.read_as[key] = entry.read_as.get(key, 0) + 1

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.diagnostics)

    def __len__(self) -> int:
        return len(self.diagnostics)

    @overload
    def __getitem__(self, index: int) -> Diagnostic: ...

    @overload
    def __getitem__(self, index: slice) -> list[Diagnostic]: ...

    def __getitem__(self, index):
        return self.diagnostics[index]

    def __repr__(self) -> str:
        return (f"Result({len(self.diagnostics)} diagnostics: {self.errors} errors, "
                f"{self.warnings} warnings; {self.files} files, {self.conversations} conversations, "
                f"{self.records} records)")


def merge(results: list[Result]) -> Result:
    """The results of groups of files, each checked with its own configuration, as one: counts
    added, diagnostics in file order (as one run sorts them), assumed versions joined."""
    if len(results) == 1:
        return results[0]
    out = Result(summary=next((r.summary for r in results if r.summary is not None), None))
    for r in results:
        out.diagnostics.extend(r.diagnostics)
        out.files += r.files
        out.conversations += r.conversations
        out.records += r.records
        out.skipped += r.skipped
        out.failures.extend(r.failures)
        out.readings.update(r.readings)
        out.assumed.extend(a for a in r.assumed if a not in out.assumed)
        if r.summary is not None and r.summary is not out.summary:
            out.summary.merge(r.summary)
    out.diagnostics.sort(key=Diagnostic.sort_key)
    return out
