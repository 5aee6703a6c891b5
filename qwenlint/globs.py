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


def matches(pattern: str, rel: str) -> bool:
    """Whether ``pattern`` matches ``rel`` (a ``/``-separated path relative to the pattern's root),
    or its base name when the pattern has no ``/``."""
    pattern = pattern[2:] if pattern.startswith("./") else pattern
    if _match(pattern, rel):
        return True
    return "/" not in pattern and _match(pattern, rel.rsplit("/", 1)[-1])


#: Alternatives ``{a,b}`` expands to at most; a pattern with more is matched as no path.
MAX_ALTERNATIVES = 256


def _match(pattern: str, path: str) -> bool:
    """Decided in time proportional to the pattern's tokens times the path's characters: the
    regex translation this replaced (kept in tests/test_config.py as the specification) backtracks
    exponentially on patterns such as ``'**/' * 14 + 'x'`` against a deep path (issue 20: past
    two minutes)."""
    return any(_match_tokens(tokens, path) for tokens in _compiled(pattern))


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The token lists of ``pattern``'s brace alternatives: ``("lit", c)``, ``("any", "")`` (one
    character but ``/``), ``("set", regex)``, ``("star", "")`` (within a directory), ``("glob",
    "")`` (``**``: anything), ``("dirs", "")`` (``**/``: nothing, or anything ending in ``/``)."""
    out = []
    for alt in _expand(pattern):
        tokens, i, n = [], 0, len(alt)
        while i < n:
            c = alt[i]
            if c == "*":
                if alt.startswith("**", i):
                    i += 2
                    if i < n and alt[i] == "/":
                        tokens.append(("dirs", ""))
                        i += 1
                    else:
                        tokens.append(("glob", ""))
                    continue
                tokens.append(("star", ""))
            elif c == "?":
                tokens.append(("any", ""))
            elif c == "[" and (regex := _set_regex(alt, i)) is not None:
                tokens.append(("set", regex))
                i = alt.find("]", i + 1)
            else:
                tokens.append(("lit", c))
            i += 1
        out.append(tuple(tokens))
    return tuple(out)


def _expand(pattern: str) -> list[str]:
    """``{a,b}`` alternatives, nested ones too (as the regex's groups); unbalanced braces are
    literal, as there; more than :data:`MAX_ALTERNATIVES`: none."""
    start = pattern.find("{")
    if start == -1:
        return [pattern]
    depth, parts, last = 0, [], start + 1
    for j in range(start, len(pattern)):
        ch = pattern[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                parts.append(pattern[last:j])
                head, tail = pattern[:start], pattern[j + 1:]
                out: list[str] = []
                for part in parts:
                    for rest in _expand(head + part + tail):
                        out.append(rest)
                        if len(out) > MAX_ALTERNATIVES:
                            return []
                return out
        elif ch == "," and depth == 1:
            parts.append(pattern[last:j])
            last = j + 1
    return [pattern]  # no closing brace: every brace and comma is a literal character


def _match_tokens(tokens: tuple[tuple[str, str], ...], path: str) -> bool:
    """Run the tokens as a nondeterministic automaton over ``path``: the set of states after each
    character (a state is a token index; ``n + 1 + i`` is "inside ``**/`` number ``i``", which
    must end with a ``/`` before the next token)."""
    n = len(tokens)
    states = _closure({0}, tokens)
    for ch in path:
        nxt: set[int] = set()
        for i in states:
            if i > n:  # inside "**/": anything, and a "/" may end it
                nxt.add(i)
                if ch == "/":
                    nxt.add(i - n)  # the token after it: (i - n - 1) + 1
                continue
            if i == n:
                continue
            kind, arg = tokens[i]
            if kind == "lit":
                if ch == arg:
                    nxt.add(i + 1)
            elif kind == "any":
                if ch != "/":
                    nxt.add(i + 1)
            elif kind == "set":
                if _set(arg).fullmatch(ch):
                    nxt.add(i + 1)
            elif kind == "star":
                if ch != "/":
                    nxt.add(i)
            elif kind == "glob":
                nxt.add(i)
            elif kind == "dirs":  # its non-empty alternative starts with this character
                nxt.add(n + 1 + i)
                if ch == "/":
                    nxt.add(i + 1)
        if not nxt:
            return False
        states = _closure(nxt, tokens)
    return n in states


def _set_regex(alt: str, i: int) -> str | None:
    """The regex of the character set ``[...]`` at ``i`` (``[!a]``: not ``a``); None when there is
    no closing ``]`` or it is no set (``[z-a]``): then its ``[`` is a literal character."""
    j = alt.find("]", i + 1)
    if j == -1:
        return None
    body = alt[i + 1:j]
    regex = "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
    try:
        _set(regex)
    except re.error:
        return None
    return regex


@functools.lru_cache(maxsize=256)
def _set(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _closure(states: set[int], tokens: tuple[tuple[str, str], ...]) -> set[int]:
    """Add the states reachable without consuming a character: past a ``*`` or ``**`` (which may
    match nothing) and past ``**/`` (its empty alternative)."""
    n = len(tokens)
    out, todo = set(states), list(states)
    while todo:
        i = todo.pop()
        if i < n and tokens[i][0] in ("star", "glob", "dirs") and i + 1 not in out:
            out.add(i + 1)
            todo.append(i + 1)
    return out


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
