"""Opening the user's files: only regular files are read.

A FIFO blocks ``open`` until a writer comes (and then never ends), a device such as
``/dev/zero`` or ``/dev/urandom`` never ends, a socket cannot be read: given as a template, a
configuration, a checkpoint's file or a framework YAML, any of them would hang qwenlint or fill its
memory.  :func:`open_regular` opens without blocking (``O_NONBLOCK``), checks what it opened
(``fstat``: no race with a file swapped in between) and refuses anything but a regular file with
an ``OSError`` whose message says so, which every reader already turns into its own diagnostic or
usage error.  Conversation files (qwenlint.load) and media (qwenlint.media) check the same way.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import IO, Any

NOT_REGULAR = "not a regular file (a FIFO, socket or device)"


def not_regular(path: str | os.PathLike) -> str | None:
    """Why ``path`` (followed through symlinks) must not be read; None for a regular file, a
    directory or a path that does not exist (the caller's own checks report those)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"{os.fspath(path)}: {NOT_REGULAR}"


def open_regular(path: str | os.PathLike, mode: str = "rb", encoding: str | None = None) -> IO[Any]:
    """``open(path, mode)`` for reading, refusing anything but a regular file (``OSError``,
    ``errno.EINVAL``, its ``strerror`` :data:`NOT_REGULAR`) before reading a byte."""
    if any(c in mode for c in "wax+"):
        raise ValueError(f"open_regular reads only, not {mode!r}")
    if not_regular(path):  # a socket cannot even be opened: say what it is
        raise OSError(errno.EINVAL, NOT_REGULAR, os.fspath(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, NOT_REGULAR, os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, mode, encoding=encoding)
    except BaseException:
        os.close(fd)
        raise
