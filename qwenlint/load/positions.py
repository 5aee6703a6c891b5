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
from typing import Any, Iterable

from qwenlint.pointer import escape_token, join, split

# One JSON token: a string, a structural character, or a scalar literal run.
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+', re.S)


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
    for m in TOKEN.finditer(text):
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


def value_spans(text: str, pointers: Iterable[str]) -> dict[str, tuple[int, int]]:
    """The ``(start, end)`` character offsets of the value at each pointer in one JSON text.

    One linear pass with the same tokenizer as :func:`locate`.  For a duplicated key the
    *last* occurrence is returned, as ``json.loads`` keeps the last one.  Missing pointers are left
    out.
    """
    wanted = set(pointers)
    spans: dict[str, tuple[int, int]] = {}
    if not wanted:
        return spans
    prefixes: set[str] = set()
    for p in wanted:
        parts = split(p)
        for k in range(len(parts)):
            prefixes.add(join("", *parts[:k]))
    # Stack of open containers: [kind, pointer, next index, descend?, start offset].
    stack: list[list[Any]] = []
    pending_key: str | None = None
    for m in TOKEN.finditer(text):
        tok = m.group()
        c = tok[0]
        if c in "]}":
            kind, ptr, _, _, start = stack.pop()
            if ptr is not None and ptr in wanted:
                spans[ptr] = (start, m.end())
            continue
        if c == ",":
            if stack and stack[-1][0] == "a":
                stack[-1][2] += 1
            continue
        if c == ":":
            continue
        top = stack[-1] if stack else None
        if top is not None and top[0] == "o" and pending_key is None:
            if c == '"':
                pending_key = (json.loads(tok) if "\\" in tok else tok[1:-1]) if top[3] else ""
            continue
        if top is None:
            ptr: str | None = ""
        elif not top[3]:
            ptr = None
        elif top[0] == "a":
            ptr = f"{top[1]}/{top[2]}"
        else:
            ptr = f"{top[1]}/{escape_token(pending_key or '')}"
        pending_key = None
        if c in "[{":
            stack.append(["a" if c == "[" else "o", ptr, 0, ptr is not None and ptr in prefixes,
                          m.start()])
        elif ptr is not None and ptr in wanted:
            spans[ptr] = (m.start(), m.end())
    return spans
