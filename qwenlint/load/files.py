"""Read conversation files (JSON, JSONL) into records, turning every failure into a located fact.

Nothing here raises for a bad *input*: an unreadable, binary, empty, huge, invalid or too deeply
nested file becomes a :class:`LoadProblem` with the parser's position.  Only the caller's bugs raise.
JSONL is streamed line by line, and a large top-level JSON array of dataset records element by
element (:mod:`qwenlint.load.stream`), so memory stays flat in the number of records.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from qwenlint import remote
from qwenlint.dialects import keys as dialect_keys
from qwenlint.globs import excluded

from qwenlint.ir import Record
from qwenlint.load import limits, parquet
from qwenlint.load import stream as streaming
from qwenlint.load.source import LoadProblem, Source, deepest_position

#: A JSON document larger than this is not loaded whole (Python objects take ~10x the bytes).
MAX_JSON_BYTES = 256 * 1024 * 1024
#: A JSON file larger than this whose top level is an array of dataset records is streamed
#: element by element (qwenlint.load.stream) instead of loaded whole; 0 streams every such file.
STREAM_JSON_BYTES = 32 * 1024 * 1024
#: One JSONL record larger than this is reported instead of parsed.
MAX_LINE_BYTES = 64 * 1024 * 1024

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")


def _check_regular_file(path: str) -> LoadProblem | None:
    try:
        st = os.stat(path)
    except OSError as e:
        return LoadProblem("unreadable", f"cannot read {path}: {e.strerror or e}")
    if stat.S_ISDIR(st.st_mode):
        return LoadProblem("unreadable", f"{path} is a directory")
    if not stat.S_ISREG(st.st_mode):
        # FIFOs, sockets and devices could block or never end.
        return LoadProblem("unreadable", f"{path} is not a regular file")
    return None


def _decode(data: bytes, line_offset: int = 0) -> tuple[str | None, LoadProblem | None]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        return None, LoadProblem("binary", "binary data (NUL bytes), not a JSON text file", 1 + line_offset, 1)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        before = data[: e.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        return None, LoadProblem(
            "encoding", f"invalid UTF-8 byte 0x{data[e.start]:02x}: JSON files must be UTF-8",
            line + line_offset, col,
        )


def _parse(text: str, line_offset: int = 0) -> tuple[object, LoadProblem | None]:
    try:
        return limits.loads(text), None
    except json.JSONDecodeError as e:
        return None, LoadProblem("invalid-json", f"invalid JSON: {e.msg}", e.lineno + line_offset, e.colno)
    except RecursionError:
        line, col = deepest_position(text)
        return None, LoadProblem(
            "too-deep",
            "JSON nested too deeply to parse (Python's json and every consumer give up at about "
            "1000 levels)",
            line + line_offset, col,
        )


def read_json(path: str, display: str, stream: bool | None = None,
              access: remote.Access | None = None) -> Source:
    """One JSON file.  A top-level array of dataset records is streamed when it is larger than
    :data:`STREAM_JSON_BYTES` (or always with ``stream=True``; never with ``stream=False``).
    ``path`` may be a URL (:mod:`qwenlint.remote`, read with ``access``)."""
    src = Source(path=path, display=display, format="json")
    problem, size, opener = _opened(path, access)
    if problem is None:
        src.size = size
        big = src.size > STREAM_JSON_BYTES or src.size > MAX_JSON_BYTES
        if (stream or (stream is None and big)) and streaming.is_record_array(path, opener):
            src.streamed = True
            src.records = streaming.iter_records(path, src, opener=opener)
            return src
    if problem is None and size > MAX_JSON_BYTES:
        problem = LoadProblem(
            "too-large",
            f"{size / 2**20:.0f} MiB is too large to load as one JSON document "
            f"(limit {MAX_JSON_BYTES // 2**20} MiB); write datasets as JSONL, one record per line",
            1, 1,
        )
    if problem is None:
        try:
            with opener() as f:
                data = f.read()
        except OSError as e:
            problem = LoadProblem("unreadable", f"cannot read {path}: {e.strerror or e}")
        else:
            text, problem = _decode(data)
            if problem is None:
                assert text is not None
                if not text.strip():
                    problem = LoadProblem("empty", "empty file: expected a JSON conversation", 1, 1)
                else:
                    value, problem = _parse(text)
                    if problem is None:
                        src.records = [Record(value=value, text=text, index=0)]
    if problem is not None:
        src.problems.append(problem)
    return src


def read_jsonl(path: str, display: str, access: remote.Access | None = None) -> Source:
    src = Source(path=path, display=display, format="jsonl")
    problem, size, opener = _opened(path, access)
    if problem is not None:
        src.problems.append(problem)
        return src
    src.size = size
    src.records = _iter_jsonl(path, src, opener)
    return src


def _opened(path: str, access: remote.Access | None) -> tuple[LoadProblem | None, int, Callable]:
    """Why ``path`` cannot be read (None: it can), its size, and how to open it (binary): a local
    regular file, or a URL through fsspec (:func:`qwenlint.remote.open_binary`)."""
    if not remote.is_url(path):
        problem = _check_regular_file(path)
        return problem, (os.path.getsize(path) if problem is None else 0), lambda: open(path, "rb")
    access = access or remote.Access()
    try:
        meta = remote.info(path, access)
    except remote.RemoteError as e:
        return LoadProblem("unreadable", f"cannot read {e}"), 0, _no_opener
    if meta["type"] == "directory":
        return LoadProblem("unreadable", f"{path} is a prefix (a folder), not an object"), 0, _no_opener
    return None, int(meta["size"] or 0), url_opener(path, access)


def url_opener(url: str, access: remote.Access) -> Callable:
    """How a reader opens ``url``: a callable giving a seekable binary file object (range reads
    through fsspec), raising ``OSError`` with one sentence; it takes the path as an optional
    argument, so it is also an ``open_binary(path)`` hook: a table reader plugs in with
    ``read_table(path, display, open_binary=url_opener(path, access))``."""
    def opener(_path: str | None = None):
        try:
            return remote.open_binary(url, access, block_size=remote.DATA_BLOCK_BYTES)[0]
        except remote.RemoteError as e:
            raise OSError(str(e)) from None

    return opener


def _no_opener():
    raise OSError("not readable")


def _lines(f, src: Source) -> Iterator[bytes]:
    """The lines of ``f``; a read that fails part-way (a connection lost) ends them with a problem."""
    try:
        yield from f
    except OSError as e:
        src.problems.append(LoadProblem("unreadable", f"reading stopped: {e.strerror or e}"))


def _iter_jsonl(path: str, src: Source, opener: Callable | None = None) -> Iterator[Record]:
    """Yield one record per non-blank line; problems are appended to ``src.problems`` as found."""
    try:
        f = opener() if opener is not None else open(path, "rb")
    except OSError as e:
        src.problems.append(LoadProblem("unreadable", f"cannot read {path}: {e.strerror or e}"))
        return
    seen_any = False
    index = 0
    with f:
        for lineno, raw in enumerate(_lines(f, src), start=1):
            if len(raw) > MAX_LINE_BYTES:
                src.problems.append(LoadProblem(
                    "too-large", f"line of {len(raw) / 2**20:.0f} MiB is over the "
                    f"{MAX_LINE_BYTES // 2**20} MiB limit for one record", lineno, 1))
                continue
            text, problem = _decode(raw.rstrip(b"\r\n"), lineno - 1)
            if problem is not None:
                src.problems.append(problem)
                continue
            assert text is not None
            if not text.strip():
                continue
            seen_any = True
            value, problem = _parse(text, lineno - 1)
            if problem is not None:
                src.problems.append(problem)
                continue
            yield Record(value=value, line=lineno, text=text, index=index)
            index += 1
    if not seen_any and not src.problems:
        src.problems.append(LoadProblem("empty", "empty file: expected JSON records, one per line", 1, 1))


def read(path: str, display: str | None = None, stream: bool | None = None,
         access: remote.Access | None = None) -> Source:
    """Read one file; the format comes from its suffix (``.jsonl``/``.ndjson`` are JSON Lines).

    ``stream``: for JSON files, whether an array of dataset records is read element by element
    (None: only above :data:`STREAM_JSON_BYTES`).  ``.parquet`` / ``.arrow`` files are tables
    (:mod:`qwenlint.load.parquet`), read row group by row group.  ``path`` may be a URL
    (:mod:`qwenlint.remote`): read through fsspec with ``access`` (default: no network), the same
    records as from a local copy of the same bytes."""
    display = display or path
    url = remote.is_url(path)
    name = path.split("?", 1)[0] if url else path
    if parquet.is_table(name):  # Parquet / Arrow (pyarrow imported there, only for such a file)
        return parquet.read_table(path, display, open_binary=url_opener(path, access) if url else None)
    if name.lower().endswith(JSONL_SUFFIXES):
        return read_jsonl(path, display, access)
    return read_json(path, display, stream, access)


def columns(path: str, nested: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """The keys any record of ``path`` has, and the keys any object in any record's ``nested``
    list has: the columns (and message fields) the HF ``datasets`` JSON loader gives every record.
    A Parquet / Arrow file's come from its schema, without reading its rows."""
    if parquet.is_table(path):
        got = parquet.schema_columns(path, nested)
        return got if got is not None else (frozenset(), frozenset())
    top: set[str] = set()
    inner: set[str] = set()
    values = (v for record in read(path).records
              for v in (record.value if isinstance(record.value, list) else [record.value]))
    for v in values:  # a small JSON array is read as one value
        if not isinstance(v, dict):
            continue
        top.update(v)
        items = v.get(nested) if nested else None
        if isinstance(items, list):
            for m in items:
                if isinstance(m, dict):
                    inner.update(m)
    return frozenset(top), frozenset(inner)


#: File names that are configuration, not conversations, when a directory is walked (read by name,
#: before any content: some are large, like tokenizer.json).
NOT_CONVERSATIONS = frozenset({
    "config.json", "generation_config.json", "preprocessor_config.json",
    "video_preprocessor_config.json", "processor_config.json", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "chat_template.json", "package.json", "package-lock.json",
    "tsconfig.json", "manifest.json", "case.json",
})
#: What a directory walk leaves out unless the configuration's ``exclude`` replaces it: ruff's
#: default list (its hidden directories, .git, .venv, .vscode, .mypy_cache, .tox, ..., written as
#: ``.*``: every hidden file and directory) and ``__pycache__`` and ``build``.  Globs, matched as
#: qwenlint.globs matches them.
DEFAULT_EXCLUDE = (".*", "__pycache__", "__pypackages__", "_build", "buck-out", "build", "dist",
                   "node_modules", "site-packages", "venv")
_DEFAULT_PATTERNS = tuple((p, "/") for p in DEFAULT_EXCLUDE)  # no "/" in them: any root will do


@dataclass(frozen=True, slots=True)
class Found:
    """A file to check: named on the command line, or found by walking a directory (``walked``:
    then a file in no dialect qwenlint reads is skipped, not reported)."""

    path: str
    walked: bool = False


def is_candidate(name: str) -> bool:
    """Whether a walk checks a file of this name (JSON / JSON Lines, not a known config file;
    Parquet / Arrow tables, as Hugging Face lays them out: ``data/train-00000-of-00003.parquet``)."""
    return (name.lower().endswith((".json",) + JSONL_SUFFIXES + parquet.TABLE_SUFFIXES)
            and name not in NOT_CONVERSATIONS)


def walk(directory: str, skip: Callable[[str, bool], bool] | None = None) -> Iterator[str]:
    """The candidate files under ``directory``, sorted; ``skip(path, is_dir)`` leaves an entry
    out (a directory with all it holds).  Default: :data:`DEFAULT_EXCLUDE`."""
    if skip is None:
        def skip(path: str, is_dir: bool) -> bool:
            return excluded(path, _DEFAULT_PATTERNS)
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not skip(os.path.join(root, d), True))
        for n in sorted(names):
            if is_candidate(n) and not skip(os.path.join(root, n), False):
                yield os.path.join(root, n)


def walk_url(url: str, access: remote.Access,
             skip: Callable[[str, bool], bool] | None = None) -> Iterator[Found]:
    """A URL as the files to check: the candidates under a prefix (``s3://bucket/data/``, walked as
    :func:`walk` walks a folder; ``skip(relative path, is_dir)``, default
    :data:`DEFAULT_EXCLUDE`), else the URL itself as named.  A URL that cannot be listed (refused,
    unreachable) is named as it is: reading it reports why."""
    if skip is None:
        def skip(rel: str, is_dir: bool) -> bool:
            return excluded("/" + rel, _DEFAULT_PATTERNS)
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if not url.endswith("/") and is_candidate(name):
        return iter([Found(url)])  # a data file by its name: no listing request
    try:
        if remote.is_prefix(url, access):
            return iter([Found(u, walked=True) for u in remote.walk(url, access, is_candidate, skip)])
    except remote.RemoteError:
        pass
    return iter([Found(url)])


def found_files(paths: Iterable[str | Found], access: remote.Access | None = None) -> Iterator[Found]:
    """``paths`` as :class:`Found` files: a :class:`Found` as it is, a directory walked with the
    default exclusions (:func:`walk`; a URL prefix too, :func:`walk_url`), any other path as named."""
    for p in paths:
        if isinstance(p, Found):
            yield p
        elif remote.is_url(p):
            yield from walk_url(p, access or remote.Access())
        elif os.path.isdir(p):
            yield from (Found(f, walked=True) for f in walk(p))
        else:
            yield Found(p)


def foreign(src: Source) -> bool:
    """Whether ``src`` holds JSON in no dialect qwenlint reads (qwenlint.dialects.keys.foreign),
    judged by its first record; a file with a load problem never is.  Peeks a lazy reader's first
    record and puts it back."""
    return _first_is(src, dialect_keys.foreign)


def hf_dataset_info(src: Source) -> bool:
    """Whether ``src`` (a ``dataset_info.json``) is Hugging Face datasets' own metadata
    (qwenlint.dialects.keys.hf_dataset_info), not LLaMA-Factory's registry."""
    return _first_is(src, dialect_keys.hf_dataset_info)


def _first_is(src: Source, test: Callable[[object], bool]) -> bool:
    if src.problems or src.streamed:  # a streamed array is one of dataset records
        return False
    records = iter(src.records)
    first = next(records, None)
    src.records = records if first is None else itertools.chain([first], records)
    return first is not None and not src.problems and test(first.value)


def display_path(path: str) -> str:
    """How a file is named in diagnostics: relative to the working directory unless absolute (a
    URL as written)."""
    if remote.is_url(path):
        return path
    return os.path.relpath(path) if not os.path.isabs(path) else path
