"""Pad attribution: which message part made the template emit each pad.

How it works (one render, exact in the common case, self-checking otherwise):

1. **Instrumented compile.** The template's AST is rewritten so that every pad string it can
   output literally (raw template text, or a string constant printed by ``{{ ... }}``, possibly
   inside ``+`` / ``~``) is produced by a call ``__qwenlint_pad('<|image_pad|>')``. The call
   returns the same pad followed by an invisible marker naming the *current part* at the moment
   the pad is evaluated.
2. **Tracked inputs.** Every message and every dict part of a list content is a ``dict``
   subclass that records reads (``[]``, ``.get``, ``in``, iteration) and sets the current
   message / part. Reading a message's own keys keeps the current part if it belongs to that
   message; reading another message clears it. This is what llama.cpp's capability detector does
   with value-use statistics, applied per part.
3. **User text.** Pad strings typed inside user values get a marker too, naming the value
   (message, part, key), so they are reported as stray pads with their origin.
4. **Read back.** The markers are stripped from the output; each pad that carried a marker is
   attributed; a pad without one (built at run time from pieces, or typed below a message's or
   part's own strings, e.g. in tool-call arguments) is "unknown". Pad constants in a
   ``{% set %}`` expression are marked like printed ones (the Qwen3-Omni templates build each
   message's text with ``{% set content.text = content.text ~ '<|image_pad|>' %}``).

Because the marker is evaluated where the pad is evaluated, buffered output (macros such as the
Qwen3-VL ``render_content``, ``{% set %}`` blocks, ``{% generation %}``) is attributed correctly,
and a pad evaluated but thrown away never shows up. Markers could change what a template
computes from a *buffered* string (``|length``, ``==``); so when a marker sat inside a buffered
construct, or user text was marked, the caller re-renders without instrumentation and keeps the
attribution only if the texts agree (``exact``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2.nodes as nodes
import jinja2.parser

from qwenlint.template.sandbox import PlainCall, compile_ast, environment, parse_source

_OPEN = "\ue000"
_CLOSE = "\ue001"
_NONCE = secrets.token_hex(4)  # a template cannot forge markers without knowing it
PAD_FUNC = "__qwenlint_pad"
_MARKER_RE = re.compile(f"{_OPEN}{_NONCE}([TU])([^{_CLOSE}]*){_CLOSE}")
_BUFFERING = (nodes.Macro, nodes.CallBlock, nodes.AssignBlock, nodes.FilterBlock)


@dataclass(frozen=True)
class Instrumented:
    """A template compiled with pad markers; ``buffered`` is True when a marker sits in buffered output."""

    template: Any
    buffered: bool


def _pieces(text: str, pad_re: re.Pattern[str], lineno: int) -> list[nodes.Expr] | None:
    """Split a literal around its pads: [Const('before'), Call(pad), Const('after'), ...]; None if no pad."""
    if not pad_re.search(text):
        return None
    out: list[nodes.Expr] = []
    pos = 0
    for m in pad_re.finditer(text):
        if m.start() > pos:
            out.append(nodes.Const(text[pos : m.start()], lineno=lineno))
        out.append(
            nodes.Call(nodes.Name(PAD_FUNC, "load", lineno=lineno), [nodes.Const(m.group(), lineno=lineno)], [], None, None, lineno=lineno)
        )
        pos = m.end()
    if pos < len(text):
        out.append(nodes.Const(text[pos:], lineno=lineno))
    return out


class _Marker:
    def __init__(self, pad_re: re.Pattern[str]) -> None:
        self.pad_re = pad_re
        self.buffered = False

    def expr(self, node: nodes.Expr, buffered: bool) -> nodes.Expr:
        """Rewrite pad constants in an expression printed by ``{{ }}``: the constant itself, ``+`` / ``~``
        operands, or either branch of an inline ``if``."""
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            pieces = _pieces(node.value, self.pad_re, node.lineno)
            if pieces is None:
                return node
            self._count(pieces, buffered)
            return nodes.Concat(pieces, lineno=node.lineno)
        if isinstance(node, nodes.Add):
            node.left = self.expr(node.left, buffered)
            node.right = self.expr(node.right, buffered)
        elif isinstance(node, nodes.CondExpr):
            node.expr1 = self.expr(node.expr1, buffered)
            if node.expr2 is not None:
                node.expr2 = self.expr(node.expr2, buffered)
        elif isinstance(node, nodes.Concat):
            node.nodes = [self.expr(n, buffered) for n in node.nodes]
        return node

    def _count(self, pieces: list[nodes.Expr], buffered: bool) -> None:
        self.buffered |= buffered and any(isinstance(p, nodes.Call) for p in pieces)

    def visit(self, node: nodes.Node, buffered: bool) -> None:
        if isinstance(node, nodes.Output):
            new: list[nodes.Expr] = []
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    pieces = _pieces(child.data, self.pad_re, child.lineno)
                    if pieces is None:
                        new.append(child)
                    else:
                        self._count(pieces, buffered)
                        new.extend(nodes.TemplateData(p.value, lineno=p.lineno) if isinstance(p, nodes.Const) else p for p in pieces)
                else:
                    new.append(self.expr(child, buffered))
            node.nodes = new
        elif isinstance(node, nodes.Assign):
            # {% set x = x ~ '<|image_pad|>' %} (Qwen3-Omni builds each message's text so): the pad
            # is evaluated, and marked, where the part is current; the value is stored, so it counts
            # as buffered (the plain render must agree)
            node.node = self.expr(node.node, True)
        inner = buffered or isinstance(node, _BUFFERING)
        for child in node.iter_child_nodes():
            self.visit(child, inner)


@lru_cache(maxsize=64)
def instrument(source: str, pad_pattern: str) -> Instrumented:
    """Compile ``source`` with pad markers (cached by source and pad set). Raises TemplateSyntaxIssue."""
    parse_source(source)  # raises TemplateSyntaxIssue with a position; cached
    ast = jinja2.parser.Parser(environment(), source).parse()  # a fresh tree: the cached one stays untouched
    marker = _Marker(re.compile(pad_pattern))
    marker.visit(ast, False)
    return Instrumented(compile_ast(ast, source), marker.buffered)


# ---------------------------------------------------------------------------------------------
# Tracked inputs.


class Tracker(PlainCall):
    """Current message / part while the template runs, the keys read per part, and the user-text table.

    The instrumented template calls the tracker itself for each pad it evaluates.
    """

    __slots__ = ("msg", "part", "part_msg", "reads", "user_values")

    def __init__(self) -> None:
        self.msg: int | None = None
        self.part: int | None = None
        self.part_msg: int | None = None
        self.reads: dict[tuple[int, int], set[str]] = {}
        self.user_values: list[tuple[int, int | None, str]] = []

    def __call__(self, token: str) -> str:
        """The pad followed by a marker naming the current message and part."""
        owner = f"{self.part_msg},{self.part}" if self.part is not None else "-"
        return f"{token}{_OPEN}{_NONCE}T{'' if self.msg is None else self.msg};{owner}{_CLOSE}"


# The tracking methods inline their bookkeeping (no shared helper call): they run for every key
# the template reads, and one Python frame less per read is most of their cost.


class _TrackedMessage(dict):  # type: ignore[type-arg]
    """A message: reading it makes it current, and clears the current part unless that part is its own."""

    __slots__ = ("_qwenlint_t", "_qwenlint_m")

    def __getitem__(self, key: Any) -> Any:
        t = self._qwenlint_t
        t.msg = m = self._qwenlint_m
        if t.part_msg != m:
            t.part = None
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        t = self._qwenlint_t
        t.msg = m = self._qwenlint_m
        if t.part_msg != m:
            t.part = None
        return dict.get(self, key, default)

    def __contains__(self, key: Any) -> bool:
        t = self._qwenlint_t
        t.msg = m = self._qwenlint_m
        if t.part_msg != m:
            t.part = None
        return dict.__contains__(self, key)


class _TrackedPart(dict):  # type: ignore[type-arg]
    """A dict part: reading it makes it (and its message) current and records the key read."""

    __slots__ = ("_qwenlint_t", "_qwenlint_m", "_qwenlint_p", "_qwenlint_reads")

    def _touch(self, key: Any) -> None:
        t = self._qwenlint_t
        t.msg = t.part_msg = self._qwenlint_m
        t.part = self._qwenlint_p
        self._qwenlint_reads.add(key if isinstance(key, str) else repr(key))

    def __getitem__(self, key: Any) -> Any:
        t = self._qwenlint_t
        t.msg = t.part_msg = self._qwenlint_m
        t.part = self._qwenlint_p
        self._qwenlint_reads.add(key if isinstance(key, str) else repr(key))
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        t = self._qwenlint_t
        t.msg = t.part_msg = self._qwenlint_m
        t.part = self._qwenlint_p
        self._qwenlint_reads.add(key if isinstance(key, str) else repr(key))
        return dict.get(self, key, default)

    def __contains__(self, key: Any) -> bool:
        t = self._qwenlint_t
        t.msg = t.part_msg = self._qwenlint_m
        t.part = self._qwenlint_p
        self._qwenlint_reads.add(key if isinstance(key, str) else repr(key))
        return dict.__contains__(self, key)

    def __iter__(self) -> Any:
        self._touch("*")
        return dict.__iter__(self)

    def items(self) -> Any:
        self._touch("*")
        return dict.items(self)

    def keys(self) -> Any:
        self._touch("*")
        return dict.keys(self)

    def values(self) -> Any:
        self._touch("*")
        return dict.values(self)


def _mark_user(value: str, where: tuple[int, int | None, str], tracker: Tracker, pad_re: re.Pattern[str]) -> str:
    if not pad_re.search(value):
        return value
    tracker.user_values.append(where)
    code = f"{_OPEN}{_NONCE}U{len(tracker.user_values) - 1}{_CLOSE}"
    return pad_re.sub(lambda m: m.group() + code, value)


def track(chat: list[dict[str, Any]], tracker: Tracker, pad_re: re.Pattern[str], pad_prefix: str = "") -> list[dict[str, Any]]:
    """Wrap prepared messages and their dict parts in tracking dicts; mark pads typed in user strings.

    ``pad_prefix`` is a prefix every pad starts with (``"<|"``): a string without it holds no pad,
    so the regex runs only on strings that contain it. The tracked dicts are filled with
    ``dict.__init__`` (which bypasses ``__setitem__``; they define none anyway), then only the
    marked strings are replaced.
    """
    out: list[dict[str, Any]] = []
    reads = tracker.reads
    for m, message in enumerate(chat):
        msg = _TrackedMessage(message)
        msg._qwenlint_t = tracker
        msg._qwenlint_m = m
        for key, value in message.items():
            if type(value) is str:
                if pad_prefix in value:
                    dict.__setitem__(msg, key, _mark_user(value, (m, None, str(key)), tracker, pad_re))
            elif key == "content" and isinstance(value, list):
                parts: list[Any] = []
                for p, part in enumerate(value):
                    if isinstance(part, dict):
                        tp = _TrackedPart(part)
                        tp._qwenlint_t = tracker
                        tp._qwenlint_m = m
                        tp._qwenlint_p = p
                        tp._qwenlint_reads = reads[(m, p)] = set()
                        for k, v in part.items():
                            if type(v) is str and pad_prefix in v:
                                dict.__setitem__(tp, k, _mark_user(v, (m, p, str(k)), tracker, pad_re))
                        parts.append(tp)
                    else:
                        parts.append(part)
                dict.__setitem__(msg, key, parts)
        out.append(msg)
    return out


@dataclass(frozen=True)
class PadMark:
    """One pad in the rendered (unmarked) text with what its marker said."""

    kind: str
    offset: int
    source: str  # "part" | "template" | "user-text" | "unknown"
    message: int | None  # message the pad fell in (current message when it was evaluated / owner of the text)
    owner: tuple[int, int] | None  # (message, part) that made the template emit it
    user: tuple[int, int | None, str] | None = None  # (message, part, key) of the user string it came from


def read_back(marked: str, tracker: Tracker, pad_re: re.Pattern[str], kind_of: dict[str, str]) -> tuple[str, list[PadMark]]:
    """Strip the markers from an instrumented render; return the plain text and every pad in it."""
    by_offset: dict[int, tuple[str, str]] = {}
    if _OPEN not in marked:  # no marker at all (e.g. no pad was emitted): nothing to strip
        text = marked
    else:
        pieces: list[str] = []
        pos = 0
        length = 0
        for m in _MARKER_RE.finditer(marked):
            chunk = marked[pos : m.start()]
            pieces.append(chunk)
            length += len(chunk)
            by_offset[length] = (m.group(1), m.group(2))  # the marker follows its pad: key by the pad's end
            pos = m.end()
        pieces.append(marked[pos:])
        text = "".join(pieces)
    marks: list[PadMark] = []
    for m in pad_re.finditer(text):
        kind = kind_of[m.group()]
        info = by_offset.get(m.end())
        if info is None:
            marks.append(PadMark(kind, m.start(), "unknown", None, None))
        elif info[0] == "T":
            cur, _, owner = info[1].partition(";")
            message = int(cur) if cur else None
            if owner == "-":
                marks.append(PadMark(kind, m.start(), "template", message, None))
            else:
                om, _, op = owner.partition(",")
                marks.append(PadMark(kind, m.start(), "part", message, (int(om), int(op))))
        else:
            where = tracker.user_values[int(info[1])]
            marks.append(PadMark(kind, m.start(), "user-text", where[0], None, where))
    return text, marks
