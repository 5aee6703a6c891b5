"""``qwenlint check --jobs N``: check chunks of records in worker processes.

The parent reads the files (JSONL line by line, JSON arrays of records element by element) and
sends chunks of records (their source text, line and pointer) to a pool of worker processes
(``forkserver`` where available, else ``spawn``: never ``fork``, which would copy a half-built
run).  At most a few chunks per worker are in flight, so memory stays bounded; results are merged
in file order, so the output is deterministic and identical to ``--jobs 1``:

- every worker keeps its own per-run resources (the template, the profile, the media facts cache
  keyed by path and mtime), built once per worker;
- state that spans records is merged by the parent: the ids QL606 saw are replayed in file order
  (a worker only records them); findings that are reported once per file (QL607, QL609: tagged
  ``_once``) or once per run (:data:`qwenlint.engine.RUN_ONCE_RULES`) are kept the first time
  they occur in file order; a worker resets that state for every chunk;
- load problems of a file are reported by the parent, as in one process.
"""

from __future__ import annotations

import json
import multiprocessing
from collections import deque
from dataclasses import replace
from typing import Any

from qwenlint.ir import Record

#: Records per task: large enough to amortise the inter-process traffic (≈ 60 ms of work).
CHUNK = 256

_WORKER: Any = None


def _init(options, rules, statistics: bool) -> None:
    global _WORKER
    from qwenlint.engine import Checker

    _WORKER = Checker(options, rules, statistics=statistics)


def _check_chunk(file: str, base_dir: str, records: list[tuple]) -> list[tuple]:
    """In a worker: check records given as (text, line, pointer, column, index)."""
    from qwenlint.engine import RUN_ONCE_ENV, _IdRecorder

    checker = _WORKER
    for k in RUN_ONCE_ENV:
        checker.env.pop(k, None)
    ids = _IdRecorder()
    checker.begin_file(file, ids)
    out = []
    for text, line, pointer, column, index in records:
        rec = Record(value=json.loads(text), line=line, text=text, pointer=pointer,
                     column=column, index=index)
        tagged, convs, n = checker.check_record(rec, file, base_dir)
        out.append((tagged, convs, n, ids.entries))
        ids.entries = []
    return out


class _Merge:
    """The parent's side of the state that spans records."""

    def __init__(self, checker):
        from qwenlint.rules import find_rule

        self.checker = checker
        self.run_seen: set[str] = set()
        self.file: str | None = None
        self.said: set[str] = set()
        self.ids: dict[str, Any] = {}
        r = find_rule("QL606")
        self.ql606 = r if r is not None and any(x.code == "QL606" for x in checker.rules) else None

    def add(self, result, file: str, records: list[Record], outs: list[tuple]) -> None:
        from qwenlint.engine import RUN_ONCE_RULES
        from qwenlint.rules.dataset import duplicate_id_finding

        checker = self.checker
        if file != self.file:
            self.file, self.said, self.ids = file, set(), {}
        for rec, (tagged, convs, n, ids) in zip(records, outs):
            diags = []
            fired: set[str] = set()
            for d, tag in tagged:
                if d.rule in RUN_ONCE_RULES:
                    if d.rule in self.run_seen:
                        continue
                    fired.add(d.rule)
                if tag is not None:
                    if tag in self.said:
                        continue
                    self.said.add(tag)
                diags.append(d)
            self.run_seen |= fired
            for key, here in ids:
                first = self.ids.get(key)
                if first is None:
                    self.ids[key] = here
                    continue
                if self.ql606 is None:
                    continue
                finding = duplicate_id_finding(json.loads(key), first, here[1])
                made = checker.make_diagnostics(self.ql606, [finding], file,
                                                (rec.line or 1) if rec.pointer is None else 1)
                diags.extend(d for d, _ in checker.locate_all(made, file, rec.text, rec.line or 1,
                                                              rec.pointer, rec.column))
            checker.collect(result, file, rec, diags, convs, n)


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def check_paths(checker, paths: list[str], result) -> None:
    """Check ``paths`` with ``checker.jobs`` worker processes, adding to ``result``."""
    jobs = checker.jobs
    opts = replace(checker.options)
    pool = _context().Pool(jobs, initializer=_init,
                           initargs=(opts, checker.rules, checker.statistics))
    merge = _Merge(checker)
    pending: deque = deque()
    limit = jobs * 4

    def drain(keep: int) -> None:
        while len(pending) > keep:
            file, records, fut = pending.popleft()
            merge.add(result, file, records, fut.get())
            if checker.progress is not None:
                checker.progress.update(len(records), sum(len(r.text or "") for r in records))

    try:
        for path in paths:
            result.files += 1
            src = checker.read(path)
            base_dir = checker.base_dir(src)
            chunk: list[Record] = []

            def submit(chunk=chunk) -> None:
                payload = [(r.text, r.line, r.pointer, r.column, r.index) for r in chunk]
                fut = pool.apply_async(_check_chunk, (src.display, base_dir, payload))
                pending.append((src.display, list(chunk), fut))
                chunk.clear()
                drain(limit)

            for record in src.records:
                if not checker.in_shard(record):
                    continue
                if record.text is None:  # cannot be sent as text: check it here
                    drain(0)
                    checker._check_record(record, src.display, base_dir, result, True)
                    continue
                chunk.append(record)
                if len(chunk) >= CHUNK:
                    submit()
            if chunk:
                submit()
            checker.file_problems(src, result)
        drain(0)
    finally:
        pool.terminate()
        pool.join()
