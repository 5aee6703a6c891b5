"""An in-process cache of media facts, keyed by (realpath, mtime_ns, size, probe options).

A dataset that names the same image in ten thousand records probes it once.  A file changed on disk
gets a new key (its mtime or size changes), so stale facts are never returned.  Errors are cached
as well (a missing file stays missing for the run), except when the path cannot even be stat'ed:
then there is no key, and the probe runs each time (it is cheap).  Thread-safe; unbounded by
design for one lint run, with `clear()` for long-lived processes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

Key = tuple[str, int, int, Hashable]


def file_key(path: str | os.PathLike[str], options: Hashable = ()) -> Key | None:
    """(realpath, mtime_ns, size, options) of an existing path, or None when it cannot be stat'ed."""
    try:
        p = os.fspath(path)
        if "\x00" in p:
            return None
        real = os.path.realpath(p)
        st = os.stat(real)
    except (OSError, ValueError, TypeError):
        return None
    return (real, st.st_mtime_ns, st.st_size, options)


class FactsCache:
    """Memoises `probe(path)` results per file version.  `get_or_probe` is the only entry point."""

    def __init__(self) -> None:
        self._data: dict[Key, object] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_probe(self, path: str | os.PathLike[str], probe: Callable[[str | os.PathLike[str]], T],
                     options: Hashable = ()) -> T:
        """The cached result for this file version and `options`, else `probe(path)` (then cached).

        `options` must name everything besides the file that changes the result (the probe kind
        and its keyword arguments), e.g. `("video", True)`.
        """
        key = file_key(path, options)
        if key is None:
            return probe(path)
        with self._lock:
            if key in self._data:
                self.hits += 1
                return self._data[key]  # type: ignore[return-value]
        result = probe(path)
        with self._lock:
            self.misses += 1
            self._data[key] = result
        return result

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._data)
