"""``qwenlint check --jobs N``: the record loop in worker processes, folded in file order.

The parent reads the files (JSONL line by line, JSON arrays of records element by element, Parquet /
Arrow tables batch by batch) and sends chunks of records (their source text, line and pointer; a
table row, which has no text, as its value: a dict of plain Python values and bytes) to a pool of worker processes
(``forkserver`` where available, else ``spawn``: never ``fork``, which would copy a half-built
run).  Each worker holds its own :class:`~qwenlint.engine.Engine` (its own run resources, built
once per worker) and returns the chunk's :class:`~qwenlint.engine.RecordOutcome` objects.  The
parent feeds them, in file order, to the same :class:`~qwenlint.engine.Fold` a serial run uses,
so rule scopes (findings kept once per file or per run, cross-record rules) and statistics come
out identical to ``--jobs 1``.  At most a few chunks per worker are in flight, so memory stays
bounded.  Load problems of a file are checked by the parent, in their place in file order.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import deque
from typing import Any, Iterable

from qwenlint.engine import Engine, FileScope, RecordOutcome, in_shard, read_files
from qwenlint.ir import Record
from qwenlint.load import limits
from qwenlint.load.files import Found, display_path
from qwenlint.result import Result

#: Records per task: large enough to amortise the inter-process traffic (≈ 60 ms of work).
CHUNK = 256

_WORKER: Engine | None = None


def resolve_jobs(jobs: int) -> int:
    """``--jobs``: 0 means every core this process may use."""
    if jobs and jobs > 0:
        return jobs
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Terminated(BaseException):
    """SIGTERM arrived during a ``--jobs`` run: the workers are stopped, the CLI exits 143."""


def _init(options, rules, statistics: bool, environ: dict[str, str]) -> None:
    global _WORKER
    # Ctrl-C reaches the whole process group: the parent alone answers it (it stops the pool),
    # so a worker never prints a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The parent's environment now, not the forkserver's from when it started (an earlier run in
    # the same process): what the frameworks read (MAX_PIXELS, ...) and object storage's
    # credentials and endpoint.
    os.environ.clear()
    os.environ.update(environ)
    _WORKER = Engine(options, rules, statistics=statistics)


def _terminated(signum, frame) -> None:
    raise Terminated()


def _check_chunk(scope: FileScope, records: list[tuple]) -> list[RecordOutcome]:
    """In a worker: the outcomes of records given as (text, line, pointer, column, index, value):
    parsed from their text, or (a table row, which has none) the value itself, pickled."""
    assert _WORKER is not None
    out = []
    for text, line, pointer, column, index, value in records:
        rec = Record(value=limits.loads(text) if text is not None else value, line=line, text=text,
                     pointer=pointer, column=column, index=index)
        outcome = _WORKER.check_record(rec, scope)
        outcome.record = None  # the parent has it
        out.append(outcome)
    return out


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_parallel(engine: Engine, paths: Iterable[str | Found], *, jobs: int,
                 shard: tuple[int, int] | None = None, progress: Any = None) -> Result:
    """Check ``paths`` with ``jobs`` worker processes running ``engine``'s options and rules."""
    fold = engine.fold()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    pool = _context().Pool(jobs, initializer=_init,
                           initargs=(engine.options, engine.rules, engine.statistics, dict(os.environ)))
    # In file order: (records, their future) for a chunk, or (None, outcome) checked here.
    pending: deque = deque()
    limit = jobs * 4

    def drain(keep: int) -> None:
        while len(pending) > keep:
            records, got, scope = pending.popleft()
            if records is None:
                fold.add(got)
                continue
            try:
                outcomes = got.get()
            except Exception:  # noqa: BLE001 - a chunk the worker could not do or send back:
                # check it here, where a record qwenlint fails on becomes QL005 on its own
                outcomes = [engine.check_record(rec, scope) for rec in records]
            for rec, outcome in zip(records, outcomes):
                outcome.record = rec
                fold.add(outcome)
            if progress is not None:
                progress.update(len(records), sum(len(r.text or "") for r in records))

    try:
        for found, src, failed in read_files(engine, paths, fold, split=True):
            if failed is not None:
                pending.append((None, failed, None))
                continue
            try:
                _submit_file(engine, pool, src, shard, pending, drain, limit)
            except Exception as e:  # noqa: BLE001 - reading the file failed: QL005, the run goes on
                pending.append((None, engine.failure(display_path(found.path), None, e), None))
        drain(0)
    finally:  # also on Ctrl-C (KeyboardInterrupt) and SIGTERM (Terminated): no worker outlives us
        pool.terminate()
        pool.join()
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    return fold.finish()


def _submit_file(engine: Engine, pool: Any, src: Any, shard: tuple[int, int] | None,
                 pending: deque, drain: Any, limit: int) -> None:
    """Queue the records of one read file, in chunks, and its load problems, in file order."""
    scope = engine.file_scope(src)
    chunk: list[Record] = []

    def submit() -> None:
        payload = [(r.text, r.line, r.pointer, r.column, r.index, r.value if r.text is None else None)
                   for r in chunk]
        pending.append((list(chunk), pool.apply_async(_check_chunk, (scope, payload)), scope))
        chunk.clear()
        drain(limit)

    for record in src.records:
        if not in_shard(record, shard):
            continue
        if record.text is None and record.pointer is None:  # not a row, not from text: here
            pending.append((None, engine.check_record(record, scope), None))
            continue
        chunk.append(record)  # a table row (no text) travels as its value
        if len(chunk) >= CHUNK:
            submit()
    if chunk:
        submit()
    if src.problems and (shard is None or shard[0] == 0):
        pending.append((None, engine.check_problems(scope, src.problems), None))
