"""Stream a top-level JSON array of dataset records element by element, in bounded memory.

A dataset written as one JSON array (LLaMA-Factory's ``data.json``) can hold millions of records;
loading it whole builds every record at once (about ten times the file's bytes).  This reader
decodes one element at a time with :meth:`json.JSONDecoder.raw_decode` over a buffered text
stream, so memory is bounded by the buffer plus the largest element:

- whitespace, commas and the closing bracket are handled between elements; an element (or a
  string inside it) that spans a buffer boundary is retried with more data;
- invalid JSON becomes an ``invalid-json`` :class:`~qwenlint.load.files.LoadProblem` with the same
  message, line and column ``json.loads`` of the whole file would give; nesting too deep for
  Python's parser becomes ``too-deep``; undecodable bytes ``encoding``.  Reading stops at the
  first such problem (the records before it were already yielded and are checked);
- each element becomes a :class:`~qwenlint.ir.Record` whose ``pointer`` is ``/<index>`` (so
  diagnostics point into the whole file) and whose ``line`` / ``column`` are where the element
  starts.

Only arrays whose first element is a dataset record (an object with ``messages`` /
``conversations`` / ``instruction`` and no ``role``) are streamed: :func:`is_record_array` says
so.  Anything else (one conversation, a batch of conversations) keeps the whole-document path.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Iterator

from qwenlint.dialects.keys import looks_like_record
from qwenlint.ir import Record
from qwenlint.load import limits
from qwenlint.load.source import LoadProblem, Source, deepest_position

#: Bytes read from the file at a time.
CHUNK_BYTES = 1 << 20
#: One element larger than this (in characters) is reported instead of decoded.
MAX_ELEMENT_CHARS = 64 * 1024 * 1024

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Stop(Exception):
    """Reading ends with this problem."""

    def __init__(self, problem: LoadProblem):
        self.problem = problem


def _problem(kind: str, message: str, line: int | None = None, column: int | None = None):
    return LoadProblem(kind, message, line, column)


class _Reader:
    """A window of decoded text over a binary file, with line/column bookkeeping."""

    def __init__(self, f, chunk: int = CHUNK_BYTES):
        self.f = f
        self.chunk = chunk
        self.dec = codecs.getincrementaldecoder("utf-8")("strict")
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # line number of buf[0]
        self.col0 = 1  # column of buf[0]
        self.started = False
        self.bytes_read = 0
        self._cursor = (0, 1, 1)  # a known (offset, line, column): positions only move forward

    def position(self, p: int) -> tuple[int, int]:
        """1-based (line, column) of buffer offset ``p``, columns counted in characters."""
        cp, cl, cc = self._cursor
        if p < cp:
            cp, cl, cc = 0, self.line, self.col0
        n = self.buf.count("\n", cp, p)
        if n:
            out = (cl + n, p - self.buf.rfind("\n", cp, p))
        else:
            out = (cl, cc + p - cp)
        self._cursor = (p, out[0], out[1])
        return out

    def fill(self, at_least: int = 0) -> bool:
        """Append at least one chunk (more when ``at_least`` asks); False at end of file."""
        if self.eof:
            return False
        want = max(self.chunk, at_least)
        data = self.f.read(want)
        self.bytes_read += len(data)
        final = not data
        if not self.started:
            self.started = True
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            if b"\x00" in data[:8192]:
                raise _Stop(_problem("binary", "binary data (NUL bytes), not a JSON text file", 1, 1))
        try:
            text = self.dec.decode(data, final)
        except UnicodeDecodeError as e:
            prefix = data[: max(e.start, 0)].decode("utf-8", "replace")
            saved, self.buf = self.buf, self.buf + prefix
            line, col = self.position(len(self.buf))
            self.buf, self._cursor = saved, (0, self.line, self.col0)
            bad = data[e.start] if 0 <= e.start < len(data) else 0
            raise _Stop(_problem("encoding", f"invalid UTF-8 byte 0x{bad:02x}: JSON files must "
                                 "be UTF-8", line, col)) from None
        if final:
            self.eof = True
        self.buf += text
        return not final or bool(text)

    def compact(self) -> None:
        """Drop the consumed prefix of the buffer."""
        p = self.pos
        if p < self.chunk:
            return
        self.line, self.col0 = self.position(p)
        self.buf = self.buf[p:]
        self.pos = 0
        self._cursor = (0, self.line, self.col0)

    def skip_ws(self) -> str:
        """Skip whitespace (reading on as needed); the next character, or "" at end of file."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def invalid(self, msg: str, p: int) -> _Stop:
        line, col = self.position(p)
        return _Stop(_problem("invalid-json", f"invalid JSON: {msg}", line, col))

    def value(self):
        """Decode the value starting at ``pos``; returns (value, end offset)."""
        start = self.pos
        last: tuple[str, int] | None = None
        while True:
            try:
                value, end = limits.raw_decode(_DECODER, self.buf, start)
            except json.JSONDecodeError as e:
                have = len(self.buf)
                # Truncated by the buffer, or really invalid?  The same error at the same place
                # after more data, not at the buffer's end, is real (an unterminated string
                # stays "unterminated" until its end is read, so it is always read on).
                real = (last == (e.msg, e.pos) and e.pos < have - 1
                        and not e.msg.startswith("Unterminated string"))
                if self.eof or real:
                    raise self.invalid(e.msg, e.pos) from None
                if have - start > MAX_ELEMENT_CHARS:
                    line, col = self.position(start)
                    raise _Stop(_problem("too-large", f"array element of more than "
                                         f"{MAX_ELEMENT_CHARS // 2**20} MiB: over the limit for "
                                         "one record", line, col))
                last = (e.msg, e.pos)
                self.fill(have - start)
                continue
            except RecursionError:
                # The enclosing array is one level of the whole document's nesting.
                line, col = deepest_position(self.buf[start:], limit=899)
                base_line, base_col = self.position(start)
                raise _Stop(_problem(
                    "too-deep", "JSON nested too deeply to parse (Python's json and every "
                    "consumer give up at about 1000 levels)",
                    base_line + line - 1, col + (base_col - 1 if line == 1 else 0))) from None
            if end >= len(self.buf) and not self.eof:
                # A number may go on in the next chunk ("12" | "34"): decode again with more.
                self.fill()
                continue
            return value, end


def _open(path: str, opener=None):
    try:
        return opener() if opener is not None else open(path, "rb")
    except OSError as e:
        raise _Stop(_problem("unreadable", f"cannot read {path}: {e.strerror or e}")) from None


def is_record_array(path: str, opener=None) -> bool:
    """True when the file is a JSON array whose first element is a dataset record (``opener``: how
    to open ``path``, e.g. a URL's, default ``open(path, "rb")``)."""
    try:
        with _open(path, opener) as f:
            r = _Reader(f, chunk=64 * 1024)
            if r.skip_ws() != "[":
                return False
            r.pos += 1
            if r.skip_ws() in ("", "]"):
                return False
            value, _ = r.value()
    except (_Stop, OSError):
        return False
    return isinstance(value, dict) and looks_like_record(value)


def iter_records(path: str, src: Source, chunk: int = CHUNK_BYTES, opener=None) -> Iterator[Record]:
    """Yield the elements of the top-level array in ``path``; problems go to ``src.problems``."""
    try:
        with _open(path, opener) as f:
            r = _Reader(f, chunk)
            c = r.skip_ws()
            if c != "[":
                raise r.invalid("Expecting value", r.pos)
            r.pos += 1
            index = 0
            c = r.skip_ws()
            if c == "]":
                r.pos += 1
            else:
                while True:
                    if c == "":
                        raise r.invalid("Expecting value", r.pos)
                    start = r.pos
                    value, end = r.value()
                    line, col = r.position(start)
                    yield Record(value=value, line=line, text=r.buf[start:end],
                                 pointer=f"/{index}", column=col, index=index)
                    index += 1
                    r.pos = end
                    c = r.skip_ws()
                    if c == ",":
                        r.pos += 1
                        r.compact()
                        c = r.skip_ws()
                        continue
                    if c == "]":
                        r.pos += 1
                        break
                    raise r.invalid("Expecting ',' delimiter", r.pos)
            if r.skip_ws() != "":
                raise r.invalid("Extra data", r.pos)
    except _Stop as stop:
        src.problems.append(stop.problem)
    except OSError as e:  # a read that fails part-way (a URL's connection lost)
        src.problems.append(_problem("unreadable", f"reading stopped: {e.strerror or e}"))
