"""Inputs by URL: data files and media in object storage or on the web, through fsspec.

* **Which strings are URLs** (:func:`is_url`): ``s3://`` (``s3a://``), ``gs://`` / ``gcs://``,
  ``hf://``, ``http://`` / ``https://``, ``memory://`` (tests and the Python API), ``file://``, and
  any other ``scheme://`` that fsspec's registry knows (``az://``, ``abfs://``, ...; fsspec is
  imported to ask only when such a string is met).  Windows drive letters and plain paths never are.
* **Which need the network** (:func:`needs_network`): all but ``memory://`` and ``file://``.
  :class:`Access` says whether the run may use it (``--allow-network``) and with which fsspec
  storage options (``--storage-option KEY=VALUE``); :meth:`Access.refusal` is the sentence that
  names the flag when it may not.
* **Opening** (:func:`open_binary`): a binary file object with a block size for range reads
  (:data:`BLOCK_BYTES`), read lazily: a media probe that reads a header and seeks to a ``moov`` box
  costs a few requests of that size, never the whole object.
* **Listing** (:func:`walk`): a prefix (``s3://bucket/data/``) walked like a local directory, the
  caller's ``keep(name)`` / ``skip(url, is_dir)`` filtering what a local walk filters.
* **Timeouts**: connect :data:`CONNECT_TIMEOUT_S`, read :data:`READ_TIMEOUT_S`, and few retries,
  so an unreachable endpoint ends with a :class:`RemoteError` (a diagnostic), never a hang.

fsspec and its backends (s3fs, gcsfs, huggingface_hub, aiohttp) are imported only here, and only
when a URL is used: without them, :class:`RemoteError` names ``pip install 'qwenlint[remote]'``.
``gs://`` (gcsfs) and ``hf://`` (huggingface_hub's HfFileSystem) take the same path as ``s3://``
but are not exercised by the tests (they need Google's and Hugging Face's servers; there is no
local stand-in like moto's S3 server): see docs/remote.md.

This module imports nothing of qwenlint (it sits beside ``fsio`` at the bottom of the layers).
"""

from __future__ import annotations

import os
import posixpath
import re
import threading
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterator

#: Schemes qwenlint opens without asking fsspec's registry.
KNOWN_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "hf", "http", "https", "memory", "file"})
#: Schemes that stay on this machine.
LOCAL_SCHEMES = frozenset({"memory", "file"})
#: The package each backend comes from (for the message when it is missing).
_BACKENDS = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "hf": "huggingface_hub",
             "http": "aiohttp", "https": "aiohttp"}
INSTALL = "pip install 'qwenlint[remote]'"

#: Bytes fetched ahead per range request for media (fsspec's read-ahead block).  A JPEG / PNG
#: header fits in one; a large read (an MP4's ``moov`` of a long video) is one request of its own
#: size plus this.
BLOCK_BYTES = 64 * 1024
#: Data files (JSON, JSONL) are read sequentially: larger blocks, fewer requests.
DATA_BLOCK_BYTES = 4 * 1024 * 1024
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
#: Attempts per request (botocore's and s3fs's own retry loops both honour it).
ATTEMPTS = 2

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class RemoteError(Exception):
    """Why a URL could not be used: one sentence, for a diagnostic or a usage error.  ``kind``:
    ``refused`` (no --allow-network), ``missing-package``, ``invalid``, ``not-found``,
    ``unreachable`` (connection or timeout), ``denied``, ``unreadable``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def scheme(path: str) -> str | None:
    """The lower-cased scheme of a ``scheme://`` string, else None."""
    m = _SCHEME.match(path) if isinstance(path, str) else None
    return m.group(1).lower() if m else None


def is_url(path: Any) -> bool:
    """Whether qwenlint opens ``path`` through fsspec (see the module docstring)."""
    s = scheme(path) if isinstance(path, str) else None
    if s is None or len(s) < 2:  # "c://" is no scheme fsspec has; a drive letter has no "//"
        return False
    if s in KNOWN_SCHEMES:
        return True
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        return False
    return s in known_implementations


def needs_network(url: str) -> bool:
    return is_url(url) and scheme(url) not in LOCAL_SCHEMES


def parse_storage_options(items: Any) -> dict[str, Any]:
    """``KEY=VALUE`` strings (``--storage-option``, config ``storage-options``) or a mapping as
    fsspec storage options; ``true`` / ``false`` / ``none`` and integers become Python values.
    A dotted key nests (``client_kwargs.region_name=eu-west-1``).  ValueError for a bad item."""
    if isinstance(items, dict):
        return dict(items)
    if isinstance(items, str):
        items = (items,)
    out: dict[str, Any] = {}
    for item in items or ():
        if not isinstance(item, str) or "=" not in item or not item.split("=", 1)[0].strip():
            raise ValueError(f"storage option {item!r} is not KEY=VALUE")
        key, value = (x.strip() for x in item.split("=", 1))
        low = value.lower()
        parsed: Any = {"true": True, "false": False, "none": None}.get(low, value)
        if parsed is value and re.fullmatch(r"-?\d{1,18}", value):
            parsed = int(value)
        target = out
        *heads, last = key.split(".")
        for h in heads:
            target = target.setdefault(h, {})
            if not isinstance(target, dict):
                raise ValueError(f"storage option {key!r} nests under a value")
        target[last] = parsed
    return out


@dataclass(frozen=True)
class Access:
    """What a run may do with URLs: use the network (``--allow-network``) and which fsspec storage
    options it passes (``--storage-option``; applied to every URL whose scheme takes them)."""

    allow_network: bool = False
    storage_options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, allow_network: bool = False, storage_options: Any = None) -> "Access":
        opts = parse_storage_options(storage_options or {})
        return cls(bool(allow_network), tuple(sorted((k, _freeze(v)) for k, v in opts.items())))

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be opened in this run (a sentence naming the flag), else None."""
        if needs_network(url) and not self.allow_network:
            return (f"{url}: reading it needs the network, which qwenlint uses only when asked: "
                    "pass --allow-network (Python: allow_network=True)")
        return None

    def options(self) -> dict[str, Any]:
        return {k: _thaw(v) for k, v in self.storage_options}


def _freeze(v: Any) -> Any:
    return tuple(sorted((k, _freeze(x)) for k, x in v.items())) if isinstance(v, dict) else v


def _thaw(v: Any) -> Any:
    if isinstance(v, tuple) and all(isinstance(x, tuple) and len(x) == 2 for x in v):
        return {k: _thaw(x) for k, x in v}
    return v


# --- filesystems ------------------------------------------------------------------------------

_FS: dict[tuple, Any] = {}
_FS_LOCK = threading.Lock()


def _defaults(proto: str, given: dict[str, Any]) -> dict[str, Any]:
    """Timeouts and retries per backend, under what the user gave."""
    opts = dict(given)
    if proto in ("s3", "s3a"):
        config = dict(opts.get("config_kwargs") or {})
        config.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        config.setdefault("read_timeout", READ_TIMEOUT_S)
        config.setdefault("retries", {"total_max_attempts": ATTEMPTS, "mode": "standard"})
        opts["config_kwargs"] = config
        endpoint = opts.pop("endpoint_url", None)  # a top-level key is the usual spelling
        if endpoint is not None:
            client = dict(opts.get("client_kwargs") or {})
            client.setdefault("endpoint_url", endpoint)
            opts["client_kwargs"] = client
    elif proto in ("http", "https"):
        import aiohttp

        client = dict(opts.get("client_kwargs") or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S,
                                                           sock_read=READ_TIMEOUT_S))
        opts["client_kwargs"] = client
        opts.setdefault("block_size", BLOCK_BYTES)
    elif proto in ("gs", "gcs"):
        opts.setdefault("retries", ATTEMPTS)
        opts.setdefault("requests_timeout", READ_TIMEOUT_S)
    return opts


def _quiet_backends() -> None:
    """The backends log their retries and tracebacks (gcsfs: "_request out of retries", with the
    traceback): every failure is a diagnostic here, so with no logging configured they print
    nothing (a NullHandler keeps Python's last-resort handler away; a configured root handler
    still receives them)."""
    import logging

    for name in ("fsspec", "s3fs", "gcsfs", "huggingface_hub", "aiobotocore", "botocore"):
        log = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
            log.addHandler(logging.NullHandler())


def filesystem(url: str, access: Access) -> tuple[Any, str]:
    """The fsspec filesystem for ``url`` (one per scheme and options, kept for the process) and the
    path in it.  Raises :class:`RemoteError` (refused, missing package, bad URL)."""
    why = access.refusal(url)
    if why:
        raise RemoteError("refused", why)
    proto = scheme(url) or "file"
    _validate(proto, url)  # before any backend is made (gcsfs looks for credentials then)
    try:
        import fsspec
    except ImportError:
        raise RemoteError("missing-package", f"{url}: reading URLs needs fsspec: {INSTALL}") from None
    _quiet_backends()
    key = (proto, access.storage_options, os.getpid())  # a forked worker makes its own
    with _FS_LOCK:
        fs = _FS.get(key)
    if fs is None:
        try:
            cls = fsspec.get_filesystem_class(proto)
            fs = cls(**_defaults(proto, access.options() if proto not in LOCAL_SCHEMES else {}))
            if proto in ("s3", "s3a"):
                fs.retries = ATTEMPTS  # s3fs's own retry loop (a class attribute, 5 by default)
        except ImportError as e:
            pkg = _BACKENDS.get(proto, getattr(e, "name", None) or "its fsspec backend")
            raise RemoteError("missing-package", f"{url}: {proto}:// needs {pkg}: {INSTALL}") from None
        except ValueError as e:
            raise RemoteError("invalid", f"{url}: {e}") from None
        except TypeError as e:  # a storage option the backend does not take
            raise RemoteError("invalid", f"{url}: bad --storage-option for {proto}://: {e}") from None
        with _FS_LOCK:
            fs = _FS.setdefault(key, fs)
    path = url if proto in ("http", "https") else fs._strip_protocol(url)
    return fs, path


def _validate(proto: str, url: str) -> None:
    """Refuse URLs that name no object: ``s3://`` with no bucket, ``..`` segments in a bucket
    path (object stores keep them literally; qwenlint would walk out of the named prefix)."""
    if proto in ("s3", "s3a", "gs", "gcs", "hf"):
        rest = url.split("://", 1)[1]
        bucket = rest.split("/", 1)[0]
        if not bucket or bucket in (".", ".."):
            raise RemoteError("invalid", f"{url}: no bucket (write {proto}://BUCKET/KEY)")
        if ".." in rest.split("/"):
            raise RemoteError("invalid", f"{url}: '..' in an object key is not resolved by object "
                              "stores; write the key without it")
        if proto in ("s3", "s3a") and ("?" in rest):
            raise RemoteError("invalid", f"{url}: a query string is not part of an S3 key "
                              "(versionId and the like are not supported)")


def _error(url: str, e: BaseException) -> RemoteError:
    """An exception of a backend as one sentence."""
    if isinstance(e, RemoteError):
        return e
    if isinstance(e, FileNotFoundError):
        return RemoteError("not-found", f"{url}: no such object (or no such bucket)")
    if isinstance(e, IsADirectoryError):
        return RemoteError("not-found", f"{url}: is a prefix (a folder), not an object")
    if isinstance(e, PermissionError):
        return RemoteError("denied", f"{url}: access denied ({_short(e)})")
    name = type(e).__name__
    text = _short(e)
    if any(w in name for w in ("Timeout", "Connect", "Connection")) or "connect" in text.lower() \
            or isinstance(e, (TimeoutError, ConnectionError)):
        return RemoteError("unreachable", f"{url}: cannot reach the endpoint ({name}: {text})")
    if "NoCredentials" in name or "credentials" in text.lower():
        return RemoteError("denied", f"{url}: no credentials ({text}); for a public bucket pass "
                           "--storage-option anon=true")
    return RemoteError("unreadable", f"{url}: {name}: {text}")


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def info(url: str, access: Access) -> dict[str, Any]:
    """``{"type": "file" | "directory", "size": int | None}`` of ``url``.  Raises RemoteError."""
    try:
        fs, path = filesystem(url, access)
        got = fs.info(path)
    except Exception as e:  # noqa: BLE001 - every backend error becomes one sentence
        raise _error(url, e) from None
    return {"type": got.get("type", "file"), "size": got.get("size")}


def open_binary(url: str, access: Access, *, block_size: int = BLOCK_BYTES) -> tuple[IO[bytes], int | None]:
    """A seekable binary file object over ``url`` reading ``block_size`` bytes per request, and the
    object's size.  Raises :class:`RemoteError` (a directory or prefix is ``not-found``)."""
    try:
        fs, path = filesystem(url, access)
        meta = fs.info(path)
        if meta.get("type") == "directory":
            raise IsADirectoryError(url)
        f = fs.open(path, "rb", block_size=block_size, cache_type="readahead")
    except Exception as e:  # noqa: BLE001
        raise _error(url, e) from None
    return _Guarded(f, url), meta.get("size")


class _Guarded:
    """A file object whose read/seek errors are :class:`RemoteError` (a connection lost mid-file
    is an ``OSError`` the readers already turn into a diagnostic)."""

    def __init__(self, f: Any, url: str):
        self._f, self._url = f, url
        self.name = url

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)
        except Exception as e:  # noqa: BLE001
            err = _error(self._url, e)
            raise OSError(str(err)) from None

    def readline(self, limit: int = -1) -> bytes:
        try:
            return self._f.readline() if limit is None or limit < 0 else self._f.read(limit)
        except Exception as e:  # noqa: BLE001
            raise OSError(str(_error(self._url, e))) from None

    def __iter__(self) -> Iterator[bytes]:
        """The lines (``b"\\n"`` kept), as iterating a local binary file gives them, read in
        :data:`DATA_BLOCK_BYTES` pieces (fsspec's own ``readline`` copies a whole block per line)."""
        buf = bytearray()
        scanned = 0
        while True:
            chunk = self.read(DATA_BLOCK_BYTES)
            if not chunk:
                if buf:
                    yield bytes(buf)
                return
            buf += chunk
            start = 0
            while True:
                i = buf.find(b"\n", max(start, scanned))
                if i < 0:
                    break
                yield bytes(buf[start:i + 1])
                start = i + 1
            del buf[:start]
            scanned = len(buf)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def tell(self) -> int:
        return self._f.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()

    @property
    def closed(self) -> bool:
        return self._f.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- URL paths --------------------------------------------------------------------------------

def parent(url: str) -> str:
    """The folder of ``url`` (``s3://b/d/x.jsonl`` -> ``s3://b/d``), query and fragment dropped."""
    head, rest = url.split("://", 1)
    rest = rest.split("?", 1)[0].split("#", 1)[0]
    return f"{head}://{posixpath.dirname(rest.rstrip('/')) if '/' in rest else rest}"


def join(base: str, relative: str) -> str:
    """``relative`` (a POSIX path) under the URL folder ``base``; ``..`` and ``.`` are resolved
    within the URL's path (never above its bucket or host)."""
    head, rest = base.split("://", 1)
    root, _, path = rest.partition("/")
    parts: list[str] = [p for p in path.split("/") if p]
    for seg in relative.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    return f"{head}://{root}/" + "/".join(parts)


def is_prefix(url: str, access: Access) -> bool:
    """Whether ``url`` names a folder (a trailing ``/``, or a prefix the store lists)."""
    if url.endswith("/"):
        return True
    try:
        fs, path = filesystem(url, access)
        return bool(fs.isdir(path))
    except RemoteError:
        raise
    except Exception as e:  # noqa: BLE001
        raise _error(url, e) from None


def walk(url: str, access: Access, keep: Callable[[str], bool],
         skip: Callable[[str, bool], bool] | None = None) -> Iterator[str]:
    """The objects under the prefix ``url``, sorted as :func:`qwenlint.load.files.walk` sorts a local
    folder (per folder: subfolders first, each level sorted), whose names ``keep`` accepts and that
    ``skip(relative_path, is_dir)`` does not leave out (a folder with all it holds).  Raises
    RemoteError."""
    fs, path = filesystem(url, access)
    base = url.rstrip("/")  # the user's spelling of the prefix: objects are named under it
    root = path.rstrip("/")
    try:
        fs.invalidate_cache(root)  # a listing kept from before (a long-lived process) may be stale
        entries = fs.find(root, withdirs=False, detail=False)
    except Exception as e:  # noqa: BLE001
        raise _error(url, e) from None
    tree: dict[str, tuple[list[str], list[str]]] = {}
    for full in sorted(entries):
        rel = full[len(root):].lstrip("/") if full.startswith(root) else full
        if not rel:
            continue
        *dirs, name = rel.split("/")
        for i in range(len(dirs)):
            d = "/".join(dirs[:i])
            tree.setdefault(d, ([], []))
            if dirs[i] not in tree[d][0]:
                tree[d][0].append(dirs[i])
        tree.setdefault("/".join(dirs), ([], []))[1].append(name)

    def visit(d: str) -> Iterator[str]:
        subdirs, names = tree.get(d, ([], []))
        for n in sorted(names):
            rel = f"{d}/{n}" if d else n
            if keep(n) and not (skip and skip(rel, False)):
                yield f"{base}/{rel}"
        for s in sorted(subdirs):
            rel = f"{d}/{s}" if d else s
            if not (skip and skip(rel, True)):
                yield from visit(rel)

    yield from visit("")
