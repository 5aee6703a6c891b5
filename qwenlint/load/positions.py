"""Map RFC 6901 JSON pointers back to line and column in the source text.

Files are parsed with the fast C ``json`` module, which keeps no positions.  Positions are only
needed for files that have diagnostics, so this module re-scans such a file once, with a regular
expression tokenizer (no recursion, so any nesting depth is fine), and records the offset of every
value whose pointer was asked for.  A clean file never reaches this code.
"""

from __future__ import annotations

import bisect
import json
import re
from typing import Iterable

# One JSON token: a string, a structural character, or a scalar literal run.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)


def escape_token(token: str) -> str:
    """Escape one reference token for a JSON pointer (RFC 6901: ``~`` → ``~0``, ``/`` → ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: object) -> str:
    """Append reference tokens (keys or indices) to a pointer."""
    return pointer + "".join("/" + escape_token(str(t)) for t in tokens)


def split(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _unquote(token: str) -> str:
    """The value of a JSON string token."""
    return json.loads(token) if "\\" in token else token[1:-1]


def find_offsets(text: str, pointers: Iterable[str]) -> dict[str, int]:
    """Return the character offset where the value at each pointer starts.

    Pointers that do not exist in the text are left out.  One linear pass; stops early once every
    pointer was found.
    """
    wanted = set(pointers)
    found: dict[str, int] = {}
    if not wanted:
        return found
    # Every proper prefix of a wanted pointer must be descended into; anything else is skipped
    # cheaply (we still have to tokenize it, but we do not build its paths).
    prefixes: set[str] = set()
    for p in wanted:
        parts = split(p)
        for k in range(len(parts)):
            prefixes.add(join("", *parts[:k]))
    # Stack of containers being walked: [kind, pointer, next index or pending key, interesting]
    stack: list[list] = []
    pending_key: str | None = None
    for m in _TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c in "]}":
            stack.pop()
            continue
        if c == ",":
            if stack and stack[-1][0] == "a":
                stack[-1][2] += 1
            continue
        if c == ":":
            continue
        top = stack[-1] if stack else None
        if top is not None and top[0] == "o" and pending_key is None:
            # In an object, expecting a key.
            if c == '"':
                pending_key = _unquote(tok) if top[3] else ""
            continue
        # A value starts here.
        if top is None:
            ptr = ""
        elif not top[3]:
            ptr = None
        elif top[0] == "a":
            ptr = top[1] + "/" + str(top[2])
        else:
            ptr = top[1] + "/" + escape_token(pending_key or "")
        pending_key = None
        if ptr is not None and ptr in wanted and ptr not in found:
            found[ptr] = m.start()
            if len(found) == len(wanted):
                return found
        if c == "[":
            stack.append(["a", ptr, 0, ptr is not None and ptr in prefixes])
        elif c == "{":
            stack.append(["o", ptr, 0, ptr is not None and ptr in prefixes])
    return found


class LineIndex:
    """Offset → (line, column), both 1-based, column counted in characters."""

    def __init__(self, text: str, first_line: int = 1):
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._first = first_line

    def position(self, offset: int) -> tuple[int, int]:
        i = bisect.bisect_right(self._starts, offset) - 1
        return self._first + i, offset - self._starts[i] + 1


def locate(text: str, pointers: Iterable[str], first_line: int = 1) -> dict[str, tuple[int, int]]:
    """Line and column of each pointer's value in ``text``.

    A pointer that does not exist (e.g. a key that is missing, where the diagnostic is about its
    absence) falls back to its nearest existing ancestor.
    """
    pointers = list(pointers)
    want: set[str] = set()
    for p in pointers:
        parts = split(p)
        for k in range(len(parts) + 1):
            want.add(join("", *parts[:k]))
    offsets = find_offsets(text, want)
    index = LineIndex(text, first_line)
    out: dict[str, tuple[int, int]] = {}
    for p in pointers:
        parts = split(p)
        for k in range(len(parts), -1, -1):
            q = join("", *parts[:k])
            if q in offsets:
                out[p] = index.position(offsets[q])
                break
    return out
