"""Read Parquet and Arrow dataset files as records, batch by batch, in bounded memory.

* ``.parquet``: :class:`pyarrow.parquet.ParquetFile` and ``iter_batches`` (:data:`BATCH_ROWS` rows
  at a time) one row group after the other (over the whole file pyarrow reads row groups ahead).
  pyarrow decodes one row group's column chunks at a time, so memory is bounded by the largest row
  group plus a batch of Python rows, not by the number of rows (Hugging Face
  ``datasets`` writes image sets in row groups of 100 rows; pyarrow's own default is 1 Mi rows).
* ``.arrow``: the Arrow IPC *file* format (``ARROW1`` magic, Feather v2) and the IPC *stream*
  format that Hugging Face ``datasets`` writes in its cache and ``save_to_disk``
  (``data-00000-of-00001.arrow``); read record batch by record batch.

Each row becomes :func:`qwenlint.load.table.row_record` (pointer ``/<row>``, no text: diagnostics
carry the file and the JSON pointer only).  An image column keeps Hugging Face's ``{"bytes": ...,
"path": ...}`` structs as dicts with bytes; the media stage reads their facts from the bytes.

pyarrow is imported only here, and only when such a file is read: without it the file is a load
problem (QL002) that names ``pip install 'qwenlint[parquet]'``.  A damaged or truncated file is a
load problem at the file (QL002, with pyarrow's own message), after the rows read before the damage.

``open_binary(path)`` opens the file (default: :func:`open` ``"rb"``); a caller reading from object
storage passes its own (an fsspec file object: it must be seekable for Parquet and the IPC file
format).
"""

from __future__ import annotations

import os
from typing import IO, Any, Callable, Iterator

from qwenlint.ir import Record
from qwenlint.load.source import LoadProblem, Source
from qwenlint.load.table import row_record

PARQUET_SUFFIXES = (".parquet",)
ARROW_SUFFIXES = (".arrow",)
TABLE_SUFFIXES = PARQUET_SUFFIXES + ARROW_SUFFIXES
#: Rows turned into Python objects at a time.
BATCH_ROWS = 256
INSTALL_HINT = "pip install 'qwenlint[parquet]'"
_ARROW_FILE_MAGIC = b"ARROW1"

OpenBinary = Callable[[str], IO[bytes]]


def is_table(path: str) -> bool:
    """Whether ``path`` names a Parquet or Arrow file (by its suffix)."""
    return path.lower().endswith(TABLE_SUFFIXES)


def _open(path: str) -> IO[bytes]:
    return open(path, "rb")


def _pyarrow() -> Any:
    """pyarrow, or None when it is not installed."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.ipc  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return None
    return pyarrow


def _missing_pyarrow(path: str) -> LoadProblem:
    kind = "Parquet" if path.lower().endswith(PARQUET_SUFFIXES) else "Arrow"
    return LoadProblem("no-pyarrow", f"reading {kind} files needs pyarrow, which is not installed: "
                       f"{INSTALL_HINT}")


def _damaged(path: str, exc: BaseException, rows: int) -> LoadProblem:
    kind = "Parquet" if path.lower().endswith(PARQUET_SUFFIXES) else "Arrow"
    after = f" after {rows} row{'s' * (rows != 1)}" if rows else ""
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return LoadProblem("damaged-table", f"not a readable {kind} file{after} (damaged or truncated?): {text}")


class _Batches:
    """The record batches of one open file, and its schema."""

    def __init__(self, pa: Any, f: IO[bytes], parquet: bool, batch_rows: int):
        self.parquet_file = None
        if parquet:
            self.parquet_file = pa.parquet.ParquetFile(f)
            self.schema = self.parquet_file.schema_arrow
            self.num_rows: int | None = self.parquet_file.metadata.num_rows
            # one row group at a time: iter_batches over the whole file reads row groups ahead
            pf = self.parquet_file
            self._batches = (batch for group in range(pf.num_row_groups)
                             for batch in pf.iter_batches(batch_size=batch_rows, row_groups=[group]))
            return
        head = f.read(len(_ARROW_FILE_MAGIC))
        f.seek(0)
        if head == _ARROW_FILE_MAGIC:  # the IPC file format (random access, a footer)
            reader = pa.ipc.open_file(f)
            self.schema, self.num_rows = reader.schema, None
            self._batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:  # the IPC stream format (Hugging Face datasets' cache files)
            reader = pa.ipc.open_stream(f)
            self.schema, self.num_rows = reader.schema, None
            self._batches = iter(reader)

    def __iter__(self) -> Iterator[Any]:
        return self._batches


def open_batches(path: str, open_binary: OpenBinary | None = None, batch_rows: int = BATCH_ROWS):
    """``(file, batches)`` of a table file (raises pyarrow's errors and ``OSError``)."""
    pa = _pyarrow()
    if pa is None:
        raise ImportError(INSTALL_HINT)
    f = (open_binary or _open)(path)
    try:
        return f, _Batches(pa, f, path.lower().endswith(PARQUET_SUFFIXES), batch_rows)
    except BaseException:
        f.close()
        raise


def read_table(path: str, display: str | None = None, open_binary: OpenBinary | None = None, *,
               batch_rows: int = BATCH_ROWS) -> Source:
    """A Parquet or Arrow file as a :class:`Source` whose records are read lazily, batch by batch."""
    src = Source(path=path, display=display or path,
                 format="parquet" if path.lower().endswith(PARQUET_SUFFIXES) else "arrow")
    if open_binary is None:
        try:
            src.size = os.path.getsize(path)
        except OSError as e:
            src.problems.append(LoadProblem("unreadable", f"cannot read {path}: {e.strerror or e}"))
            return src
        if os.path.isdir(path):
            src.problems.append(LoadProblem("unreadable", f"{path} is a directory"))
            return src
    if _pyarrow() is None:
        src.problems.append(_missing_pyarrow(path))
        return src
    src.records = _iter_rows(path, src, open_binary, batch_rows)
    return src


def _iter_rows(path: str, src: Source, open_binary: OpenBinary | None, batch_rows: int) -> Iterator[Record]:
    """Yield one record per row; a read error ends the file as a load problem in ``src``."""
    index = 0
    try:
        f, batches = open_batches(path, open_binary, batch_rows)
    except Exception as e:  # noqa: BLE001 - pyarrow's ArrowInvalid / OSError: a damaged file
        src.problems.append(_damaged(path, e, 0))
        return
    with f:
        it = iter(batches)
        while True:
            try:
                batch = next(it, None)
                rows = batch.to_pylist() if batch is not None else None
            except Exception as e:  # noqa: BLE001 - damage inside the file, found while reading
                src.problems.append(_damaged(path, e, index))
                return
            if rows is None:
                break
            for row in rows:
                yield row_record(row, index)
                index += 1
    if index == 0:
        src.problems.append(LoadProblem("empty", "the table has no rows: expected dataset records"))


def schema_columns(path: str, nested: str | None,
                   open_binary: OpenBinary | None = None) -> tuple[frozenset[str], frozenset[str]] | None:
    """The columns of a table file and the fields of the structs in its ``nested`` list column,
    from the schema alone (no row is read); None when the file cannot be opened."""
    try:
        f, batches = open_batches(path, open_binary)
    except Exception:  # noqa: BLE001 - reported when the rows are read
        return None
    with f:
        schema = batches.schema
    top = frozenset(schema.names)
    inner: frozenset[str] = frozenset()
    if nested and nested in schema.names:
        t = schema.field(nested).type
        value = getattr(t, "value_type", None)  # a list (or large list) column
        if value is not None and hasattr(value, "num_fields"):
            inner = frozenset(value.field(i).name for i in range(value.num_fields))
    return top, inner
