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


def _trie(pointers: Iterable[str]) -> tuple[list, int]:
    """A trie of reference tokens.  Node: [children, wanted pointer or None, offset or None]."""
    root: list = [{}, None, None]
    count = 0
    for p in set(pointers):
        node = root
        for tok in split(p):
            node = node[0].setdefault(tok, [{}, None, None])
        if node[1] is None:
            node[1] = p
            count += 1
    return root, count


def _scan(text: str, root: list, count: int) -> None:
    """Record in each trie node the offset where its value starts.

    One linear pass over the tokens, guided by the trie (no pointer strings are built, so depth
    costs nothing); stops early once every wanted pointer was reached.
    """
    reached = 0
    stack: list[list] = []  # [is_array, trie node or None, next index]
    pending_key: str | None = None
    for m in _TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c in "]}":
            stack.pop()
            continue
        if c == ",":
            if stack and stack[-1][0]:
                stack[-1][2] += 1
            continue
        if c == ":":
            continue
        top = stack[-1] if stack else None
        if top is not None and not top[0] and pending_key is None:
            if c == '"':  # a key; decoded only inside wanted containers
                pending_key = _unquote(tok) if top[1] is not None else ""
            continue
        if top is None:
            node = root
        elif top[1] is None:
            node = None
        else:
            node = top[1][0].get(str(top[2]) if top[0] else pending_key)
        pending_key = None
        if node is not None and node[2] is None:
            node[2] = m.start()
            if node[1] is not None:
                reached += 1
                if reached == count:
                    return
        if c == "[" or c == "{":
            stack.append([c == "[", node if node is not None and node[0] else None, 0])


def find_offsets(text: str, pointers: Iterable[str]) -> dict[str, int]:
    """The character offset where the value at each pointer starts (missing pointers left out)."""
    root, count = _trie(pointers)
    if not count:
        return {}
    _scan(text, root, count)
    out: dict[str, int] = {}
    todo = [root]
    while todo:
        node = todo.pop()
        if node[1] is not None and node[2] is not None:
            out[node[1]] = node[2]
        todo.extend(node[0].values())
    return out


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
    root, count = _trie(pointers)
    out: dict[str, tuple[int, int]] = {}
    if not count:
        return out
    _scan(text, root, count)
    index = LineIndex(text, first_line)
    for p in pointers:
        node, best = root, root[2]
        for tok in split(p):
            node = node[0].get(tok)
            if node is None or node[2] is None:
                break
            best = node[2]
        if best is not None:
            out[p] = index.position(best)
    return out
