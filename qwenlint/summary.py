"""What a person wants at the end of a run over a big dataset (``qwenlint check --statistics``).

- counts per rule;
- the token-length distribution of the conversations (vision pads + text, the budget rule's
  accounting, :func:`qwenlint.rules.budget.conversation_tokens`): a histogram in power-of-two
  buckets, kept as counts, so memory does not grow with the number of records;
- the N worst records: most errors, then most warnings, then most tokens, with ``file:line``;
  and the N longest (most tokens; ``--format html`` shows them).

Also the progress line ``check`` draws on a terminal (:class:`Progress`).
"""

from __future__ import annotations

import heapq
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, TextIO

from qwenlint.terminal import printable_text

#: Lower edges of the histogram buckets (tokens); the last bucket is open-ended.
EDGES = [0, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]


@dataclass(order=True)
class RecordStat:
    """One conversation (or a record without one) and how bad it is."""

    errors: int
    warnings: int
    tokens: int
    file: str = field(compare=False)
    line: int | None = field(compare=False)
    pointer: str = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "pointer": self.pointer,
                "errors": self.errors, "warnings": self.warnings, "tokens": self.tokens}


class Summary:
    """Accumulates the token histogram and the worst records, in constant memory."""

    def __init__(self, worst: int = 10, budget: int | None = None):
        self.counts = [0] * len(EDGES)
        self.n = 0
        self.total = 0
        self.max = 0
        self.min: int | None = None
        self.over_budget = 0
        self.budget = budget
        self.worst_n = worst
        self._heap: list[tuple[tuple[int, int, int, int], RecordStat]] = []
        self._long: list[tuple[tuple[int, int], RecordStat]] = []  # (tokens, -seq): the longest
        self._seq = 0

    def add_tokens(self, tokens: int) -> None:
        i = 0
        while i + 1 < len(EDGES) and tokens >= EDGES[i + 1]:
            i += 1
        self.counts[i] += 1
        self.n += 1
        self.total += tokens
        self.max = max(self.max, tokens)
        self.min = tokens if self.min is None else min(self.min, tokens)
        if self.budget is not None and tokens > self.budget:
            self.over_budget += 1

    def add(self, stat: RecordStat) -> None:
        if stat.errors == 0 and stat.warnings == 0 and stat.tokens <= 0:
            return
        self._seq += 1
        # Ties keep the earlier record (a smaller -seq loses the min-heap's pop).
        for heap, key in ((self._heap, (stat.errors, stat.warnings, stat.tokens, -self._seq)),
                          (self._long, (stat.tokens, -self._seq))):
            if stat.tokens <= 0 and heap is self._long:
                continue
            if len(heap) < self.worst_n:
                heapq.heappush(heap, (key, stat))
            elif key > heap[0][0]:
                heapq.heapreplace(heap, (key, stat))

    def merge(self, other: Summary) -> None:
        """Add another summary's counts and worst records (files checked with another
        configuration).  Budgets that differ leave the merged one with none."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts)]
        self.n += other.n
        self.total += other.total
        self.max = max(self.max, other.max)
        if other.min is not None:
            self.min = other.min if self.min is None else min(self.min, other.min)
        self.over_budget += other.over_budget
        if other.budget != self.budget:
            self.budget = None
        seen = set()
        for _, stat in sorted(other._heap, key=lambda kv: kv[0], reverse=True):
            seen.add(id(stat))
            self.add(stat)
        for _, stat in sorted(other._long, key=lambda kv: kv[0], reverse=True):
            if id(stat) not in seen:  # a record among the other's longest only
                self._seq += 1
                key = (stat.tokens, -self._seq)
                if len(self._long) < self.worst_n:
                    heapq.heappush(self._long, (key, stat))
                elif key > self._long[0][0]:
                    heapq.heapreplace(self._long, (key, stat))

    @property
    def worst(self) -> list[RecordStat]:
        return [s for _, s in sorted(self._heap, key=lambda kv: kv[0], reverse=True)]

    @property
    def longest(self) -> list[RecordStat]:
        """The records with the most tokens, most first."""
        return [s for _, s in sorted(self._long, key=lambda kv: kv[0], reverse=True)]

    def percentile(self, q: float) -> int | None:
        """An upper bound of the q-quantile: the upper edge of its bucket (or the maximum)."""
        if not self.n:
            return None
        need, seen = q * self.n, 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= need and c:
                return min(EDGES[i + 1], self.max) if i + 1 < len(EDGES) else self.max
        return self.max

    def histogram(self) -> list[dict[str, Any]]:
        return [{"from": EDGES[i], "to": EDGES[i + 1] if i + 1 < len(EDGES) else None,
                 "count": c} for i, c in enumerate(self.counts)]

    def to_json(self) -> dict[str, Any]:
        return {
            "conversations": self.n,
            "tokens": {"total": self.total, "mean": round(self.total / self.n, 1) if self.n else None,
                       "min": self.min, "max": self.max if self.n else None,
                       "p50_at_most": self.percentile(0.5), "p90_at_most": self.percentile(0.9),
                       "p99_at_most": self.percentile(0.99),
                       "budget": self.budget, "over_budget": self.over_budget if self.budget else None,
                       "histogram": self.histogram()},
            "worst": [s.to_json() for s in self.worst],
        }


def rule_counts(diagnostics) -> list[dict[str, Any]]:
    counts = Counter((d.rule, d.name, d.severity.value) for d in diagnostics)
    return [{"rule": r, "name": n, "severity": s, "count": c}
            for (r, n, s), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _fmt_tokens(n: int) -> str:
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}k"
    return str(n)


def render_text(rows: list[dict[str, Any]], summary: Summary | None, width: int = 40) -> str:
    out = [f"{row['count']:>6}  {row['rule']}  [{row['severity']}]  {row['name']}" for row in rows]
    if summary is None:
        return printable_text("\n".join(out))
    if out:
        out.append("")
    s = summary
    if s.n:
        out.append(f"token length per conversation ({s.n} conversations): mean "
                   f"{s.total / s.n:.0f}, min {s.min}, max {s.max}, p50 ≤ {s.percentile(0.5)}, "
                   f"p90 ≤ {s.percentile(0.9)}, p99 ≤ {s.percentile(0.99)}"
                   + (f"; {s.over_budget} over --max-model-len {s.budget}" if s.budget else ""))
        used = [i for i, c in enumerate(s.counts) if c]
        top = max(s.counts)
        for i in range(used[0], used[-1] + 1):
            lo = _fmt_tokens(EDGES[i])
            hi = _fmt_tokens(EDGES[i + 1]) if i + 1 < len(EDGES) else "∞"
            bar = "█" * max(1 if s.counts[i] else 0, round(width * s.counts[i] / top))
            out.append(f"  {lo:>5} – {hi:<5} {s.counts[i]:>9}  {bar}")
    else:
        out.append("token length per conversation: no conversations")
    worst = s.worst
    if worst:
        out.append("")
        out.append(f"worst {len(worst)} record{'s' * (len(worst) != 1)} (errors, warnings, tokens):")
        for w in worst:
            where = f"{w.file}:{w.line}" if w.line is not None else w.file
            ptr = f" {w.pointer}" if w.pointer else ""
            out.append(f"  {where}{ptr}  {w.errors} error{'s' * (w.errors != 1)}, "
                       f"{w.warnings} warning{'s' * (w.warnings != 1)}, {w.tokens} tokens")
    return printable_text("\n".join(out))  # file names and pointers are the user's text


class Progress:
    """A one-line progress display on a terminal: records, records/s, percent and ETA.

    Rate-limited (at most every ``interval`` seconds); the total is estimated from bytes read
    against the input files' sizes, so nothing is counted in advance.
    """

    def __init__(self, total_bytes: int, stream: TextIO | None = None, interval: float = 0.2):
        self.total = max(total_bytes, 1)
        self.stream = stream or sys.stderr
        self.interval = interval
        self.start = self.last = time.monotonic()
        self.records = 0
        self.bytes = 0
        self.shown = False

    def update(self, records: int, nbytes: int) -> None:
        self.records += records
        self.bytes += nbytes
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.records / elapsed
        frac = min(self.bytes / self.total, 1.0)
        line = f"qwenlint: {self.records:,} records  {rate:,.0f} records/s  {frac * 100:3.0f}%"
        if 0 < frac < 1:
            eta = elapsed * (1 - frac) / frac
            line += f"  ETA {int(eta // 60)}:{int(eta % 60):02d}"
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
