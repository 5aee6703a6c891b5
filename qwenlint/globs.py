"""Ruff-style path globs: the one matcher for ``per-file-ignores`` and ``exclude``.

A pattern is matched against a path relative to a root (the configuration file's directory, or the
working directory for the command line), with ``/`` separators: ``*`` stays within a directory,
``**`` crosses directories, ``?`` is one character, ``[..]`` a set, ``{a,b}`` alternates, and a
pattern without ``/`` also matches the base name (``"venv"`` matches ``a/b/venv``).  A leading
``./`` is dropped.  (A leading ``!`` is per-file-ignores' negation; the caller handles it.)
"""

from __future__ import annotations

import functools
import os
import re
from typing import Iterable


@functools.lru_cache(maxsize=1024)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Translate a ruff-style glob (``*``, ``**``, ``?``, ``[..]``, ``{a,b}``) to a regex."""
    out, i, n, depth = [], 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def matches(pattern: str, rel: str) -> bool:
    """Whether ``pattern`` matches ``rel`` (a ``/``-separated path relative to the pattern's root),
    or its base name when the pattern has no ``/``."""
    rx = glob_to_regex(pattern[2:] if pattern.startswith("./") else pattern)
    if rx.match(rel):
        return True
    return "/" not in pattern and bool(rx.match(rel.rsplit("/", 1)[-1]))


def relative(path: str, root: str) -> str:
    """``path`` relative to ``root``, with ``/`` separators (``../..`` when outside it)."""
    return os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")


def excluded(path: str, patterns: Iterable[tuple[str, str]]) -> bool:
    """Whether a ``(pattern, root)`` pair matches ``path`` (``exclude``: no negation; a trailing
    ``/``, as in ``outputs/``, is dropped).  A root itself and the ``..`` above it are never
    matched (``.*`` must not exclude ``.``)."""
    rels: dict[str, str] = {}  # the patterns share a root or two
    for pattern, root in patterns:
        rel = rels.get(root)
        if rel is None:
            rel = rels[root] = relative(path, root)
        pattern = pattern.rstrip("/") or pattern
        if rel.rsplit("/", 1)[-1] not in (".", "..") and matches(pattern, rel):
            return True
    return False
