"""What reading a file gives: its records and its load problems (shared by the whole-file and the
streamed readers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from qwenlint.ir import Record


@dataclass(slots=True)
class LoadProblem:
    """Why (part of) a file could not be read.  ``kind`` selects the rule that reports it."""

    kind: str  # "unreadable", "binary", "encoding", "empty", "invalid-json", "too-large", "too-deep",
    # "damaged-table", "no-pyarrow" (a Parquet / Arrow file: qwenlint.load.parquet)
    message: str
    line: int | None = None
    column: int | None = None
    pointer: str = ""  # where in the record, when known (then line/column are found from it)


@dataclass(slots=True)
class Source:
    """One input file: its records and the text needed to locate diagnostics later."""

    path: str
    display: str
    format: str  # "json" | "jsonl" | "parquet" | "arrow"
    records: Iterator[Record] | list[Record] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)
    streamed: bool = False  # a top-level array of records read element by element
    size: int = 0  # bytes (for progress)


def deepest_position(text: str, limit: int = 900) -> tuple[int, int]:
    """Where nesting first exceeds ``limit`` (iterative scan, strings skipped)."""
    depth = 0
    in_str = esc = False
    line, col = 1, 0
    for ch in text:
        col += 1
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return line, col
        elif ch in "]}":
            depth -= 1
        elif ch == "\n":
            line, col = line + 1, 0
    return 1, 1
