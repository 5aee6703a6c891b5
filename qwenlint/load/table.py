"""Rows of a table (a Parquet or Arrow file, a Ray Dataset) as the records the engine checks.

A row is one dataset record, like an element of a top-level JSON array of records: its pointer is
``/<row>`` and its diagnostics are located by JSON pointer only (a table has no text, so no line or
column).  Values are made plain Python (numpy scalars and arrays, which Ray and pandas give, become
numbers and lists); bytes stay bytes: an image column holds ``{"bytes": ..., "path": ...}`` structs
as Hugging Face datasets' ``Image`` feature writes them.

Neither pyarrow nor numpy is imported here: values are recognised by duck typing.
"""

from __future__ import annotations

from typing import Any, Mapping

from qwenlint.ir import Record


def plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars (and mappings and sequences of them) made plain Python."""
    if value is None or isinstance(value, (str, bytes, bool, int, float)):
        return value
    if type(value) is dict:  # pyarrow's to_pylist: plain already but for what it holds (fast path:
        return {str(k): plain(v) for k, v in value.items()}  # isinstance(x, Mapping) is slow)
    if type(value) is list:
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist) and type(value).__module__.split(".")[0] == "numpy":
        return plain(tolist())
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def row_record(row: Mapping[str, Any], index: int) -> Record:
    """Row ``index`` of a table as a record (pointer ``/<index>``, no text)."""
    return Record(value=plain(row), pointer=f"/{index}", index=index, line=None, column=1)
