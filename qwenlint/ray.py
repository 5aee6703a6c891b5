"""Ray Data: the record loop in Ray workers, folded on the driver in row order.

Two entries, one mechanism:

* :func:`check_dataset` checks a :class:`ray.data.Dataset` of records (rows with ``messages`` /
  ``conversations`` / ``images`` ... columns, as ``ray.data.read_parquet`` or ``read_json`` give
  them).  Row ``i`` (in the dataset's order) is the record :func:`qwenlint.load.table.row_record`
  makes of it: pointer ``/<i>``, no text, so its diagnostics carry the JSON pointer only.  Ray
  Data gives a row no position of its own (``Dataset.zip`` with a range is deprecated, relies on
  an order Ray does not promise, and deadlocked on a 2-CPU cluster when checking actors held every
  CPU): the driver streams the dataset's batches in order (``preserve_order``), numbers the rows,
  and hands them to the checkers a window (:data:`WINDOW` rows) at a time with their index in a
  column.  The rows pass through the driver (Arrow tables, zero-copy on one node), which bounds
  the throughput by the driver's network on a multi-node cluster; the checking runs in the
  workers.
* :func:`run_ray` is ``qwenlint check --engine ray``: the driver reads each file with the engine's
  own reader, as the serial run reads it (JSON Lines line by line, large JSON arrays element by
  element), and ships windows of records, as their source text with line, pointer, column and index, to Ray;
  the workers parse them and check them.  Reading on the driver is what keeps the output
  identical to the local run: the same records, the same lines and columns, the same file names
  (Ray Data's own JSON reader would turn records into Arrow rows: keys unified across rows with
  nulls, numbers promoted, no lines).  A record that has no text (a table row) travels pickled.

In both, ``map_batches`` runs :func:`_check_batch` in Ray tasks: each Ray worker process builds
one :class:`~qwenlint.engine.Engine` (its run resources: the template, the token counter, the
media cache) once per run and returns each batch's :class:`~qwenlint.engine.RecordOutcome` objects, pickled,
in one row.  The driver feeds them, in row order (``preserve_order``; each batch says the index of
its first record and the driver checks the sequence), to the same
:class:`~qwenlint.engine.Fold` a local run uses: scopes, cross-record conclusions, counts and
statistics are those of the local run.

Ray is imported here only, on these paths; without it a :class:`RayUnavailable` names
``pip install 'qwenlint[ray]'``.  A Ray failure (a task that raises or a worker that dies past
Ray's retries, a cluster that cannot be reached) is a :class:`RayFailed` with Ray's one-line
reason, never a hang; a record qwenlint itself fails on is QL005 on that record, as locally.
"""

from __future__ import annotations

import os
import pickle
import re
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

from qwenlint.engine import Engine, FileScope, RecordOutcome, in_shard, read_files
from qwenlint.ir import Record
from qwenlint.load import limits
from qwenlint.load.files import Found, display_path
from qwenlint.load.table import row_record
from qwenlint.options import Options
from qwenlint.result import Result

#: Records per ``map_batches`` batch (as ``--jobs``' chunk: enough work to amortise the traffic).
BATCH = 256
#: Records the driver holds per Ray execution of ``--engine ray`` (bounds the driver's memory).
WINDOW = 50_000
INSTALL = "pip install 'qwenlint[ray]'"


class RayUnavailable(ImportError):
    """Ray (``ray[data]``) is not installed."""


class RayFailed(RuntimeError):
    """Ray could not run the check: a task failed past its retries, a worker died, or the cluster
    could not be reached."""


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is a separate extra of ray
    except ImportError as e:
        raise RayUnavailable(f"Ray Data is not installed ({e}): {INSTALL}") from None
    return ray


# --- in a Ray worker -------------------------------------------------------------------------------

#: Each Ray worker process's engine for the run it last worked for: (the run's token, the engine).
_ENGINE: tuple[str, Engine] | None = None
#: How often Ray runs a batch again after its worker process died (a crash, the OOM killer).
RETRIES = 2


def _check_batch(batch: Any, *, run: str, options: Options, rules: list, statistics: bool,
                 scopes: list[FileScope]) -> dict:
    """``map_batches``' function: the outcomes of a batch, pickled in one row.  The engine (its run
    resources) is built once per worker process and run, and kept for the run's next batches.

    A function in Ray tasks, not a callable class in an actor pool: Ray Data restarts a pool's
    actor whose process died and runs its batch again without end (Ray 2.60, even with
    ``max_restarts=0``), so a record that crashes a worker would hang the check; a task is run
    :data:`RETRIES` more times, then the check fails with Ray's ``WorkerCrashedError``."""
    global _ENGINE
    if _ENGINE is None or _ENGINE[0] != run:
        _ENGINE = (run, Engine(options, rules, statistics=statistics))
    engine = _ENGINE[1]
    rows = batch.to_pylist()  # a pyarrow.Table: plain Python values, bytes kept
    first = int(rows[0][INDEX]) if rows else -1
    outcomes = [_check_row(engine, scopes, row) for row in rows]
    return {"first": [first], "n": [len(rows)], "outcomes": [pickle.dumps(outcomes, protocol=5)]}


def _check_row(engine: Engine, scopes: list[FileScope], row: dict) -> RecordOutcome:
    scope = scopes[row.pop(SCOPE, 0)]
    try:
        record = _record(row)
    except Exception as e:  # noqa: BLE001 - QL005 on this record, as check_record does
        return engine.failure(scope.file, None, e)
    outcome = engine.check_record(record, scope)
    outcome.record = None  # the driver has what the fold needs
    return outcome


#: The column that carries a row's index in its file or dataset.
INDEX = "__qwenlint_index"
#: ``run_ray``'s records: the source text, line, pointer and column, or the pickled record.
TEXT, LINE, POINTER, COLUMN, ORDINAL, PICKLED, SCOPE = (
    f"__qwenlint_{k}" for k in ("text", "line", "pointer", "column", "ordinal", "record", "scope"))


def _record(row: dict) -> Record:
    """The record a shipped row stands for: a record the driver read (``run_ray``), or a row of
    a dataset (``check_dataset``: its columns, and its index)."""
    index = int(row.pop(INDEX))
    if TEXT not in row:
        return row_record(row, index)  # the row's position in the dataset
    if row[TEXT] is None:
        return pickle.loads(row[PICKLED])
    text = row[TEXT]
    return Record(value=limits.loads(text), line=row[LINE], text=text, pointer=row[POINTER],
                  column=row[COLUMN], index=row[ORDINAL])


# --- on the driver ---------------------------------------------------------------------------------

@contextmanager
def _ordered(ray: Any) -> Iterator[None]:
    """Ray Data's execution in row order, without progress bars, restored after."""
    import logging
    import warnings

    ctx = ray.data.DataContext.get_current()
    saved = ctx.execution_options.preserve_order, ctx.enable_progress_bars
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    # Ray Data's execution plans and tuning hints are not the report: errors only on stderr.
    log = logging.getLogger("ray.data")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"ray(\.|$)")
            yield
    finally:
        ctx.execution_options.preserve_order, ctx.enable_progress_bars = saved
        log.setLevel(level)


def _raised(ray: Any, e: BaseException) -> RayFailed | None:
    """Ray's error (a task that raised, a worker that died, ...) as a RayFailed; None: not Ray's."""
    import ray.exceptions as rex

    if not isinstance(e, rex.RayError) and not type(e).__module__.startswith("ray."):
        return None
    # A task's error carries the remote traceback in its text: its last "SomeError: message" line
    # is the user's code, the reader or the worker; else Ray's own first line.
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(e).splitlines()]
    raised = [line for line in lines if re.match(r"[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*: ", line)
              and not re.match(r"(ray\.|RayTaskError|UserCodeException)", line)]
    if raised:
        return RayFailed(raised[-1])
    first = next((line for line in lines if line), "")
    return RayFailed(f"{type(e).__name__}: {first}" if first else type(e).__name__)


def _outcomes(ray: Any, window: Any, engine: Engine, run: str, scopes: list[FileScope],
              first: int, workers: int) -> Iterator[RecordOutcome]:
    """The outcomes of the rows of ``window`` (a Ray Dataset with the :data:`INDEX` column, the
    first row's index ``first``; :data:`SCOPE`: the index of its file's scope in ``scopes``, else
    the first), checked by ``workers`` checkers, in row order."""
    checked = window.map_batches(
        _check_batch, fn_kwargs={"run": run, "options": engine.options,
                                 "rules": engine.rules, "statistics": engine.statistics,
                                 "scopes": scopes},
        batch_size=BATCH, batch_format="pyarrow", compute=ray.data.TaskPoolStrategy(size=workers),
        max_retries=RETRIES)
    expected = first
    try:
        for batch in checked.iter_batches(batch_size=None, batch_format="pyarrow"):
            for start, n, blob in zip(batch["first"].to_pylist(), batch["n"].to_pylist(),
                                      batch["outcomes"].to_pylist()):
                if n and start != expected:
                    raise RayFailed(f"Ray returned the records out of order (record {start} where "
                                    f"{expected} was due)")
                expected += n
                yield from pickle.loads(blob)
    except RayFailed:
        raise
    except Exception as e:  # noqa: BLE001 - a task or worker failure, as Ray reports it
        failed = _raised(ray, e)
        if failed is None:
            raise
        raise failed from e


def _run_name() -> str:
    """A new name for a check's engine in the workers (they build theirs once per name)."""
    import uuid

    return uuid.uuid4().hex


def _workers(ray: Any, concurrency: int | None) -> int:
    """``concurrency``, else one task at a time per CPU of the cluster."""
    if concurrency:
        return concurrency
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


@contextmanager
def connected(address: str | None = None) -> Iterator[Any]:
    """Ray, connected: to the cluster ``ray.init`` already joined, else to ``address`` (None:
    ``RAY_ADDRESS``, as Ray reads it, else a local cluster started here and stopped after)."""
    ray = _ray()
    if ray.is_initialized():
        yield ray
        return
    where = address or os.environ.get("RAY_ADDRESS")
    # A cluster started here listens on the loopback interface only.
    local = {} if where else {"_node_ip_address": "127.0.0.1"}
    try:
        ray.init(address=address or None, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, **local)
    except Exception as e:  # noqa: BLE001 - a cluster that cannot be reached, a bad address
        raise RayFailed(f"cannot start or reach Ray ({where or 'a local cluster'}): "
                        f"{type(e).__name__}: {e}") from e
    try:
        yield ray
    finally:
        ray.shutdown()


def check_dataset(ds: Any, *, name: str = "<ray dataset>", base_dir: str = ".",
                  statistics: bool = False, concurrency: int | None = None,
                  **options: Any) -> Result:
    """Check the records of a Ray Dataset on the Ray cluster the driver is connected to.

    Row ``i`` (in the dataset's order) is checked as :func:`qwenlint.load.table.row_record` makes
    it: pointer ``/<i>``; ``name`` is the diagnostics' file, ``base_dir`` where relative media
    paths resolve (it must be visible to every Ray worker); ``options`` are
    :class:`qwenlint.Options` fields (``family``, ``target``, ``max_model_len``, ``select`` ...);
    ``statistics`` fills ``Result.summary`` (token histogram, worst records) as ``--statistics``
    does; ``concurrency``: batches checked at a time (default: the cluster's CPUs).  The result is the
    one checking the same rows in one process gives.  Raises :class:`RayFailed` when Ray cannot
    run it."""
    ray = _ray()
    engine = Engine(Options(**options), statistics=statistics)
    scope = FileScope(name, os.path.abspath(base_dir))
    fold = engine.fold()
    fold.result.files = 1
    workers, run_name = _workers(ray, concurrency), _run_name()
    with _ordered(ray):
        tables: list = []
        start = count = 0

        def run() -> Iterator[RecordOutcome]:
            window = ray.data.from_arrow(tables)
            return _outcomes(ray, window, engine, run_name, [scope], start, min(workers, len(tables)))

        try:
            # The driver numbers the rows as they stream in, in order (preserve_order), and hands
            # them to the checkers a window at a time: Ray Data gives a row no position of its own.
            for table in ds.iter_batches(batch_size=BATCH, batch_format="pyarrow"):
                tables.append(table.append_column(INDEX, _arange(count, table.num_rows)))
                count += table.num_rows
                if count - start >= WINDOW:
                    _fold(fold, run(), start)
                    tables, start = [], count
            if tables:
                _fold(fold, run(), start)
        except RayFailed:
            raise
        except Exception as e:  # noqa: BLE001 - reading the dataset failed in Ray
            failed = _raised(ray, e)
            if failed is None:
                raise
            raise failed from e
    return fold.finish()


def _arange(start: int, n: int) -> Any:
    import pyarrow as pa

    return pa.array(range(start, start + n), type=pa.int64())


def _fold(fold: Any, outcomes: Iterable[RecordOutcome], start: int) -> None:
    """Fold the outcomes of a window of table rows (their records rebuilt without the values)."""
    for index, outcome in enumerate(outcomes, start):
        outcome.record = Record(value=None, pointer=f"/{index}", index=index, column=1)
        fold.add(outcome)


def run_ray(engine: Engine, paths: Iterable[str | Found], *, address: str | None = None,
            shard: tuple[int, int] | None = None, concurrency: int | None = None,
            progress: Any = None) -> Result:
    """``qwenlint check --engine ray``: check ``paths`` on Ray (see the module docstring); the
    output is the local run's.  A window of records may span files (each row names its file's
    scope), so a folder of small files costs one Ray execution, not one per file."""
    fold = engine.fold()
    with connected(address) as ray, _ordered(ray):
        window = _Window(ray, engine, fold, _workers(ray, concurrency), progress)
        # read as run_serial reads (a small JSON array is one record; a large one is streamed
        # element by element; --shard always splits): the same records
        for found, src, failed in read_files(engine, paths, fold,
                                             split=True if shard is not None else None):
            if failed is not None:
                window.local(failed)
                continue
            try:
                scope = engine.file_scope(src)
                for record in src.records:
                    if in_shard(record, shard):
                        window.add(scope, record)
                if src.problems and (shard is None or shard[0] == 0):
                    window.local(engine.check_problems(scope, src.problems))
            except Exception as e:  # noqa: BLE001 - reading the file failed: QL005, the run goes on
                window.local(engine.failure(display_path(found.path), None, e))
        window.run()
    return fold.finish()


class _Window:
    """``run_ray``'s records and local outcomes (load problems, files that failed), in file order,
    until :data:`WINDOW` records are due: then the records go to Ray and everything is folded."""

    def __init__(self, ray: Any, engine: Engine, fold: Any, workers: int, progress: Any):
        self.ray, self.engine, self.fold, self.workers, self.progress = ray, engine, fold, workers, progress
        self.run_name = _run_name()
        self.entries: list[tuple[Record | None, RecordOutcome | None]] = []
        self.rows: list[dict] = []
        self.scopes: list[FileScope] = []  # of the window's files, in order

    def add(self, scope: FileScope, record: Record) -> None:
        if not self.scopes or self.scopes[-1] is not scope:
            self.scopes.append(scope)
        self.rows.append({INDEX: len(self.rows), SCOPE: len(self.scopes) - 1,
                          TEXT: record.text, LINE: record.line, POINTER: record.pointer,
                          COLUMN: record.column, ORDINAL: record.index,
                          PICKLED: None if record.text is not None else pickle.dumps(record, protocol=5)})
        self.entries.append((record, None))
        if len(self.rows) >= WINDOW:
            self.run()

    def local(self, outcome: RecordOutcome) -> None:
        self.entries.append((None, outcome))

    def run(self) -> None:
        """Check the window's records on Ray and fold everything, in order."""
        outcomes: Iterator[RecordOutcome] = iter(())
        if self.rows:
            blocks = max(1, min(len(self.rows) // BATCH, self.workers * 4))
            ds = self.ray.data.from_items(self.rows, override_num_blocks=blocks)
            outcomes = _outcomes(self.ray, ds, self.engine, self.run_name, self.scopes, 0,
                                 min(self.workers, blocks))
        for record, outcome in self.entries:
            if record is not None:
                outcome = next(outcomes)
                outcome.record = record
            self.fold.add(outcome)
        if self.progress is not None:
            records = [r for r, _ in self.entries if r is not None]
            self.progress.update(len(records), sum(len(r.text or "") for r in records))
        self.entries, self.rows, self.scopes = [], [], []
