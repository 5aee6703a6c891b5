"""Open a local media file safely: regular files only, never block, never follow a loop forever.

A FIFO given as a path would block `open()` until a writer appears, a device could stream forever,
and a symlink loop raises ELOOP: all of these become `MediaError` values before anything is read.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from .errors import MediaError


def check_bytes(data: bytes, max_bytes: int | None) -> MediaError | None:
    """The size checks every probe applies to in-memory media (decoded data URIs)."""
    if not data:
        return MediaError("empty", "0 bytes")
    if max_bytes is not None and len(data) > max_bytes:
        return MediaError("too-large", f"{len(data)} bytes, above the {max_bytes}-byte limit")
    return None


def stat_regular(path: str | os.PathLike[str]) -> os.stat_result | MediaError:
    """`os.stat` of a path that must be a non-empty regular file (symlinks followed)."""
    p = os.fspath(path)
    if not isinstance(p, str) or p == "" or "\x00" in p:
        return MediaError("invalid-path", "empty path or a path containing a NUL byte", path=str(p))
    try:
        st = os.stat(p)
    except FileNotFoundError:
        if os.path.islink(p):
            return MediaError("not-found", "dangling symlink", path=p)
        return MediaError("not-found", "no such file", path=p)
    except NotADirectoryError:
        return MediaError("not-found", "a parent of the path is not a directory", path=p)
    except PermissionError:
        return MediaError("permission-denied", "permission denied", path=p)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return MediaError("symlink-loop", "too many levels of symbolic links", path=p)
        if e.errno == errno.ENAMETOOLONG:
            return MediaError("invalid-path", "file name too long", path=p)
        return MediaError("unreadable", f"cannot stat: {e.strerror or e}", path=p)
    except ValueError as e:  # e.g. embedded NUL via a PathLike, or an unencodable name
        return MediaError("invalid-path", str(e), path=p)
    if stat.S_ISDIR(st.st_mode):
        return MediaError("not-a-file", "is a directory", path=p)
    if not stat.S_ISREG(st.st_mode):
        return MediaError("not-a-file", "not a regular file (FIFO, socket or device)", path=p)
    if st.st_size == 0:
        return MediaError("empty", "file is empty (0 bytes)", path=p)
    return st


def open_regular(path: str | os.PathLike[str], *,
                 max_bytes: int | None = None) -> tuple[BinaryIO, os.stat_result] | MediaError:
    """Open a regular file for reading, or say why not.  The caller closes the file.

    Opened with O_NONBLOCK and re-checked with `fstat`, so a FIFO swapped in after the `stat` still
    cannot block.
    """
    st = stat_regular(path)
    if isinstance(st, MediaError):
        return st
    p = os.fspath(path)
    if max_bytes is not None and st.st_size > max_bytes:
        return MediaError("too-large", f"file is {st.st_size} bytes, above the {max_bytes}-byte limit", path=p)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except PermissionError:
        return MediaError("permission-denied", "permission denied", path=p)
    except OSError as e:
        return MediaError("unreadable", f"cannot open: {e.strerror or e}", path=p)
    try:
        st2 = os.fstat(fd)
        if not stat.S_ISREG(st2.st_mode):
            os.close(fd)
            return MediaError("not-a-file", "not a regular file", path=p)
        return os.fdopen(fd, "rb"), st2
    except OSError as e:
        os.close(fd)
        return MediaError("unreadable", f"cannot open: {e.strerror or e}", path=p)
