"""The chat-template sandbox: the environment transformers 5.23 renders templates in, plus limits.

Mirrors ``transformers.utils.chat_template_utils._cached_compile_jinja_template`` (5.23.0):

* ``ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
  extensions=[AssistantTracker, jinja2.ext.loopcontrols])``;
* the ``tojson`` filter overridden with ``json.dumps(x, ensure_ascii=False, ...)``;
* the globals ``raise_exception`` (raises ``jinja2.exceptions.TemplateError``), ``strftime_now``,
  ``dict`` (a ``TemplateDict`` callable that only builds dicts) and ``namespace`` (a
  ``TemplateNamespace`` that rejects underscore-prefixed names);
* the ``{% generation %}...{% endgeneration %}`` tag, which renders its body unchanged.

and the input conversion of ``render_jinja_template`` (``_plain_template_data``,
``_alias_reasoning_fields``). ``tests/differential/test_render_transformers.py`` checks the output
is identical to transformers'.

What is added, and only changes the outcome of hostile or runaway templates, never the text of a
template that finishes within the limits:

* a budget of steps and a deadline: every loop iteration and every call (functions, methods,
  macros) is a step, and so is every element a filter walks in C (``map``, ``sort``, ``unique``,
  ``sum``, ``join``, ``list``, ... are charged the length of what they are given before they run,
  or per element of a lazy sequence); every few hundred steps the clock is read.  Steps make the
  bound independent of the machine's speed, the clock catches what steps cannot see;
* one stop per template and run: given a ``stops`` memo (one per run: the engine's, the
  prober's), once a render of a template is stopped by a limit, its later renders in that run stop
  at once with the same verdict (a hostile template costs one render's budget per run, not one per
  conversation; a long-lived process — the language server, a pipeline calling ``validate`` —
  starts each check afresh);
* size caps: ``+``, ``*``, ``**``, ``%``, ``~`` and the string methods and filters that can build
  huge values (``center``, ``ljust``, ``replace``, ``indent``, ``format``, ``batch``, ...) check
  the size of their result *before* building it;
* an output cap, checked as the rendered chunks stream out.

A stopped render raises :class:`~qwenlint.template.errors.TemplateLimitError`, never hangs and
never raises ``MemoryError``. Sandbox escapes raise :class:`TemplateSecurityError`.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from functools import lru_cache
from types import TracebackType
from typing import Any

import jinja2
import jinja2.exceptions
import jinja2.ext
import jinja2.nodes
import jinja2.runtime
import jinja2.utils
from jinja2.compiler import CodeGenerator, Frame
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from qwenlint.template.errors import (
    LimitKind,
    TemplateLimitError,
    TemplateRenderError,
    TemplateSecurityError,
    TemplateSyntaxIssue,
)

__all__ = [
    "Limits",
    "DEFAULT_LIMITS",
    "PlainCall",
    "environment",
    "compile_source",
    "parse_source",
    "render_compiled",
    "plain_template_data",
    "alias_reasoning_fields",
    "MAX_INPUT_DEPTH",
    "InputTooDeepError",
]


@dataclass(frozen=True)
class Limits:
    """Bounds of one render: wall-clock seconds, characters of output, characters of any value built."""

    timeout_s: float = 2.0
    max_output_chars: int = 16_000_000
    max_value_chars: int = 16_000_000
    #: loop iterations, calls and elements walked by filters, per render (a real chat template
    #: takes a few per message part; a 10 000-message conversation stays far below)
    max_steps: int = 500_000


DEFAULT_LIMITS = Limits()


class _Stop(BaseException):
    """Raised inside the template to stop it. A BaseException, so no ``except Exception`` in Jinja swallows it."""

    def __init__(self, limit: LimitKind, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message


class _Guard:
    """Per-render deadline and size bounds. ``tick()`` is called from the compiled template code."""

    __slots__ = ("deadline", "countdown", "limits", "steps")

    CHECK_EVERY = 256

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout_s
        self.countdown = self.CHECK_EVERY
        self.steps = 0  # steps taken before the current countdown

    def tick(self) -> None:
        self.countdown -= 1
        if self.countdown <= 0:
            self._check()

    def charge(self, n: int) -> None:
        """``n`` steps at once (the elements a filter is about to walk)."""
        self.countdown -= n
        if self.countdown <= 0:
            self._check()

    def _check(self) -> None:
        self.steps += self.CHECK_EVERY - self.countdown
        self.countdown = self.CHECK_EVERY
        if self.steps > self.limits.max_steps:
            raise _Stop("steps", f"rendering took more than {self.limits.max_steps:,} steps (loop "
                                 "iterations, calls and elements walked by filters)")
        if time.monotonic() > self.deadline:
            raise _Stop("time", f"rendering took longer than {self.limits.timeout_s:g} s")


class _NoDeadline(_Guard):
    """The guard of a template rendered outside render_compiled: size checks only, no deadline."""

    __slots__ = ()

    def tick(self) -> None:
        pass

    def charge(self, n: int) -> None:
        pass


_local = threading.local()
_UNGUARDED = _NoDeadline(DEFAULT_LIMITS)


def _guard() -> _Guard:
    return getattr(_local, "guard", None) or _UNGUARDED


def _size_stop(what: str, size: int) -> _Stop:
    return _Stop("size", f"{what} would build a value of {size:,} characters, above the limit")


def _check_len(what: str, size: int) -> None:
    if size > _guard().limits.max_value_chars:
        raise _size_stop(what, size)


# ---------------------------------------------------------------------------------------------
# Code generation: tick once per loop iteration, and bound `~` concatenation.


class _GuardedCodeGenerator(CodeGenerator):
    """Jinja's code generator, plus one ``environment.ql_tick()`` per loop iteration and a bounded ``~``."""

    def writeline(self, x: str, node: jinja2.nodes.Node | None = None, extra: int = 0) -> None:
        super().writeline(x, node, extra)
        if x == "_loop_vars = {}":  # the first line of every for-loop body (CodeGenerator.visit_For)
            super().writeline("environment.ql_tick()")

    def visit_Concat(self, node: jinja2.nodes.Concat, frame: Frame) -> None:
        # Same as CodeGenerator.visit_Concat for a non-autoescaping environment (str_join), with a size check.
        self.write("environment.ql_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


# ---------------------------------------------------------------------------------------------
# Mirrors of transformers' helpers (chat_template_utils._cached_compile_jinja_template).


class GenerationTag(Extension):
    """``{% generation %}...{% endgeneration %}``: transformers' ``AssistantTracker`` without span tracking.

    The body renders unchanged (``_generation_support`` returns ``caller()``).
    """

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.CallBlock:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context: jinja2.nodes.EvalContext, caller: jinja2.runtime.Macro) -> str:
        return caller()  # type: ignore[no-any-return]


def _raise_exception(message: Any) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(
    x: Any,
    ensure_ascii: bool = False,
    indent: int | str | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    """transformers' ``tojson`` override (no HTML escaping), with a bound on ``indent``."""
    if isinstance(indent, int) and indent > 1000:
        raise _size_stop("tojson(indent=...)", indent)
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


class _TemplateDict:
    """transformers' ``TemplateDict``: ``dict(...)`` in a template builds a plain dict, nothing more."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict(*args, **kwargs)

    def fromkeys(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return dict.fromkeys(*args, **kwargs)


class _TemplateNamespace(jinja2.utils.Namespace):
    """transformers' ``TemplateNamespace``: rejects underscore-prefixed attribute names."""

    def __init__(*args: Any, **kwargs: Any) -> None:  # noqa: N805 - same signature trick as jinja2's Namespace
        self, args = args[0], args[1:]
        attrs = dict(*args, **kwargs)
        for name in attrs:
            _TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name: str, value: Any) -> None:
        _TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check_name(name: Any) -> None:
        if isinstance(name, str) and name.startswith("_"):
            raise SecurityError(
                f"Chat templates cannot store underscore-prefixed attributes on a namespace, but got {name!r}. "
                "Please rename the attribute."
            )


# ---------------------------------------------------------------------------------------------
# Size bounds of the operations that can build huge values from small inputs.

_WIDTH_RE = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format string


def _check_format_string(fmt: Any) -> None:
    if isinstance(fmt, str):
        for match in _WIDTH_RE.finditer(fmt):
            _check_len("a format width", int(match.group()))


def _sized(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if isinstance(n, int) and isinstance(seq, (str, list, tuple)):
                _check_len("repetition", _sized(seq) * n)
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > 1_000_000:
                raise _size_stop("integer multiplication", left.bit_length() + right.bit_length())
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            if left.bit_length() * right > 1_000_000:
                raise _size_stop("integer power", left.bit_length() * right)
    elif operator == "+":
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            _check_len("concatenation", len(left) + len(right))
    elif operator == "%":
        _check_format_string(left)


def _bounded_filter(name: str, original: Callable[..., Any], size: Callable[..., int]) -> Callable[..., Any]:
    """Wrap a Jinja filter so that it checks the size of its result before building it."""

    @functools.wraps(original)  # keeps its jinja_pass_arg (the environment / context argument)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_len(f"the {name} filter", size(*args, **kwargs))
        return original(*args, **kwargs)

    return bounded


#: Filters that walk their whole input in C, without a loop the guard sees: charged its length.
_WALKING_FILTERS = ("map", "select", "reject", "selectattr", "rejectattr", "sort", "unique", "sum",
                    "join", "list", "groupby", "dictsort", "batch", "slice", "reverse", "min",
                    "max", "items", "pprint", "tojson", "last")


def _ticking(items: Any) -> Any:
    """A lazy sequence that charges one step per element as a filter pulls it."""
    guard = _guard()
    for item in items:
        guard.tick()
        yield item


def _sum_size(*args: Any, **kwargs: Any) -> int:
    """The elements ``sum`` of lists (or characters, of strings) builds, before building it."""
    seq = args[1] if len(args) > 1 else kwargs.get("iterable")  # sum takes the environment first
    start = _arg(args, kwargs, 3, "start", 0)
    if not isinstance(seq, (list, tuple)) or not isinstance(start, (list, tuple, str)):
        return 0
    size = len(start) + sum(len(x) for x in seq if isinstance(x, (list, tuple, str)))
    _guard().charge(size)  # and every element copied is a step: repeated doubling runs out of them
    return size


def _walking_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter that walks its input: charge the input's length (or tick per element of a
    lazy one) before it runs."""
    pass_arg = getattr(original, "jinja_pass_arg", None)
    at = 1 if pass_arg is not None else 0  # the value follows the environment / context argument

    @functools.wraps(original)  # keeps its jinja_pass_arg
    def walking(*args: Any, **kwargs: Any) -> Any:
        if len(args) > at:
            value = args[at]
            if isinstance(value, (str, bytes)):
                _guard().charge(len(value) // 64)  # characters are cheap in C: 64 to a step
            elif isinstance(value, (list, tuple, dict, set, frozenset, range)):
                _guard().charge(len(value))
            elif value is not None and hasattr(value, "__iter__"):
                args = (*args[:at], _ticking(value), *args[at + 1:])
        return original(*args, **kwargs)

    return walking


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def _replace_size(s: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not (isinstance(s, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    n = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        n = min(n, count)
    return len(s) + n * max(0, len(new) - len(old))


def _filter_sizes() -> dict[str, Callable[..., int]]:
    def indent_size(*a: Any, **k: Any) -> int:
        s = a[0] if a else ""
        width = _arg(a, k, 1, "width", 4)
        w = len(width) if isinstance(width, str) else _int(width)
        return _sized(s) + w * (str(s).count("\n") + 1)

    return {
        "center": lambda *a, **k: _int(_arg(a, k, 1, "width", 80)),
        "indent": indent_size,
        # wordwrap, replace and slice take the environment / eval context first (jinja_pass_arg)
        "wordwrap": lambda *a, **k: _sized(a[1] if len(a) > 1 else "") * 2,
        "replace": lambda *a, **k: _replace_size(
            str(a[1]) if len(a) > 1 else "", _arg(a, k, 2, "old", ""), _arg(a, k, 3, "new", ""), _arg(a, k, 4, "count", -1)
        ),
        "batch": lambda *a, **k: _int(_arg(a, k, 1, "linecount", 0)),
        "slice": lambda *a, **k: _int(_arg(a, k, 2, "slices", 0)),
        "truncate": lambda *a, **k: 0,
    }


def _format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_format_string(value)
    return jinja2.filters.do_format(value, *args, **kwargs)  # type: ignore[attr-defined]


_STR_SIZE_METHODS: dict[str, Callable[..., int]] = {
    "ljust": lambda s, w=0, *a: _int(w),
    "rjust": lambda s, w=0, *a: _int(w),
    "center": lambda s, w=0, *a: _int(w),
    "zfill": lambda s, w=0: _int(w),
    "expandtabs": lambda s, tabsize=8: len(s) * max(1, _int(tabsize)),
    "replace": lambda s, old="", new="", count=-1: _replace_size(s, old, new, count),
}


_SAFE_ATTRIBUTE: dict[tuple[type, str], bool] = {}


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    """transformers' chat-template environment, with deadline and size checks added (see the module docstring)."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset(["+", "*", "**", "%"])

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``SandboxedEnvironment.getattr`` with the ``is_safe_attribute`` verdict cached per (type, name).

        The verdict of ``ImmutableSandboxedEnvironment.is_safe_attribute`` depends only on the
        object's type and the attribute name (``is_internal_attribute`` and
        ``modifies_known_mutable`` are ``isinstance`` tests), so caching it changes nothing but speed.
        """
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                pass
        else:
            fmt = self.wrap_str_format(value)
            if fmt is not None:
                return fmt
            key = (type(obj), attribute)
            safe = _SAFE_ATTRIBUTE.get(key)
            if safe is None:
                if len(_SAFE_ATTRIBUTE) > 4096:
                    _SAFE_ATTRIBUTE.clear()
                safe = _SAFE_ATTRIBUTE[key] = self.is_safe_attribute(obj, attribute, value)
            if safe:
                return value
            return self.unsafe_undefined(obj, attribute)
        return self.undefined(obj=obj, name=attribute)

    def ql_tick(self) -> None:
        _guard().tick()

    def ql_join(self, seq: tuple[Any, ...]) -> str:
        parts = [str(x) for x in seq]
        _check_len("concatenation", sum(map(len, parts)))
        return "".join(parts)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _guard().tick()
        if _PLAIN_CALLABLES.get(id(__obj)) is __obj or isinstance(__obj, PlainCall):
            # Our own callables: safe, and Context.call would call them plainly (no pass_context &c.)
            kwargs.pop("_loop_vars", None)
            kwargs.pop("_block_vars", None)
            return __obj(*args, **kwargs)
        target = getattr(__obj, "__wrapped__", __obj)  # str.format is wrapped by wrap_str_format
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            name = getattr(target, "__name__", "")
            plain_kwargs = {k: v for k, v in kwargs.items() if k not in ("_loop_vars", "_block_vars")}
            if name in ("format", "format_map"):
                _check_format_string(owner)
            elif name in _STR_SIZE_METHODS:
                try:
                    size = _STR_SIZE_METHODS[name](owner, *args, **plain_kwargs)
                except TypeError:
                    size = 0  # wrong arguments: let Python raise its own TypeError
                _check_len(f"str.{name}()", size)
            elif name == "join":
                items = args[0] if args else ()
                if isinstance(items, (list, tuple)):
                    _check_len("str.join()", sum(_sized(x) for x in items) + len(owner) * len(items))
        return super().call(__context, __obj, *args, **kwargs)


_PLAIN_CALLABLES: dict[int, Any] = {}


class PlainCall:
    """Base of qwenlint's own callables passed into templates: called directly, like the globals above."""

    __slots__ = ()


@lru_cache(maxsize=1)
def environment() -> SandboxEnvironment:
    """The shared environment (one per process, like transformers' per-template compile cache)."""
    env = SandboxEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    for name, size in _filter_sizes().items():
        env.filters[name] = _bounded_filter(name, env.filters[name], size)
    env.filters["format"] = _format_filter
    env.filters["sum"] = _bounded_filter("sum", env.filters["sum"], _sum_size)
    for name in dict.fromkeys(_WALKING_FILTERS):
        env.filters[name] = _walking_filter(name, env.filters[name])
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    env.globals["dict"] = _TemplateDict()
    env.globals["namespace"] = _TemplateNamespace
    for obj in (_raise_exception, _strftime_now, env.globals["dict"], _TemplateNamespace, env.globals["range"]):
        _PLAIN_CALLABLES[id(obj)] = obj
    return env


# ---------------------------------------------------------------------------------------------
# Parsing and compiling, cached by source.


def _syntax_issue(exc: jinja2.exceptions.TemplateSyntaxError, source: str, token: Any = None) -> TemplateSyntaxIssue:
    line = exc.lineno or 1
    column = _syntax_error_column(source, line, exc.message or str(exc), token)
    return TemplateSyntaxIssue(exc.message or str(exc), line=line, column=column)


def _syntax_error_column(source: str, line: int, message: str, token: Any) -> int:
    """Best-effort 1-based column of a syntax error: Jinja reports only the line.

    The lexer's messages carry an absolute offset (``unexpected char '$' at 57``); otherwise the
    parser's current token is looked up on the reported line (inside a ``{{``/``{%`` tag when
    possible); at the end of the template the column is the end of the last line.
    """
    lines = source.split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    at = re.search(r" at (\d+)$", message)
    if at:
        offset = int(at.group(1))
        line_start = source.rfind("\n", 0, offset) + 1
        return offset - line_start + 1
    if "end of template" in message.lower():
        return len(text) + 1
    # the lexer's "unexpected '}'" names a character past the parser's current token (the lexer
    # runs one token ahead): look for it after that token
    char = re.fullmatch(r"unexpected '(.{1,2})'", message)
    value = getattr(token, "value", None)
    if isinstance(value, str) and value and getattr(token, "lineno", line) == line:
        # the token inside a {{ / {% / {# tag when possible, else anywhere on the line
        found = next((f for tag in re.finditer(r"\{[{%#]", text) if (f := text.find(value, tag.end())) >= 0),
                     text.find(value))
        if found >= 0:
            if char and char.group(1) != value:
                return _after(text, found + len(value), char.group(1))
            return found + 1
    tag = re.search(r"\{[{%]", text)
    return (tag.start() + 1) if tag else 1


def _after(text: str, start: int, char: str) -> int:
    """The 1-based column of ``char`` at or after ``start`` in ``text`` (``start + 1`` if absent)."""
    found = text.find(char, start)
    return (found if found >= 0 else start) + 1


@lru_cache(maxsize=128)
def parse_source(source: str) -> jinja2.nodes.Template:
    """Parse a template (cached). Raises :class:`TemplateSyntaxIssue` with line and column."""
    env = environment()
    parser = jinja2.parser.Parser(env, source)
    try:
        return parser.parse()
    except jinja2.exceptions.TemplateSyntaxError as exc:
        raise _syntax_issue(exc, source, getattr(parser.stream, "current", None)) from None
    except RecursionError:
        raise _too_deep(source, getattr(parser.stream, "current", None)) from None


def _too_deep(source: str, token: Any = None) -> TemplateSyntaxIssue:
    """A template nested past what Jinja's recursive parser and compiler handle: jinja2 raises
    ``RecursionError`` on it (in transformers too), so it is a syntax error at the nesting."""
    line = getattr(token, "lineno", None) or 1
    return TemplateSyntaxIssue(
        "template nested too deeply: Jinja's parser and compiler recurse once per level and give "
        "up at Python's recursion limit (RecursionError in transformers as here)",
        line=line, column=_syntax_error_column(source, line, "", token) if token else 1)


def compile_ast(ast: jinja2.nodes.Template, source: str) -> jinja2.Template:
    """Compile a parsed (possibly transformed) template, as ``Environment.from_string`` would."""
    env = environment()
    try:
        code = env.compile(ast, raw=False)
    except jinja2.exceptions.TemplateSyntaxError as exc:  # e.g. assigning to `loop`, detected by the compiler
        raise _syntax_issue(exc, source) from None
    except RecursionError:
        raise _too_deep(source) from None
    except SyntaxError as exc:  # Python refuses the generated code: more than 100 nested blocks
        # ("too many levels of indentation") or 20 nested loops ("too many statically nested
        # blocks"); transformers compiles the template the same way and fails the same way
        raise TemplateSyntaxIssue(
            f"template nested too deeply: Jinja compiles it to Python, which refuses it "
            f"({type(exc).__name__}: {exc.msg})", line=1, column=1) from None
    # A flat snapshot of the globals instead of Jinja's ChainMap: the same names and values (the
    # environment's globals never change after environment()), and new_context() copies a dict
    # much faster than it walks a ChainMap.
    return env.template_class.from_code(env, code, dict(env.make_globals(None)), None)


@lru_cache(maxsize=128)
def compile_source(source: str) -> jinja2.Template:
    """Compile a template source (cached by source). Raises :class:`TemplateSyntaxIssue`."""
    return compile_ast(parse_source(source), source)


# ---------------------------------------------------------------------------------------------
# Rendering with limits.


def _template_line(tb: TracebackType | None) -> int | None:
    """The template line of the innermost template frame of a traceback (jinja2.debug does the same)."""
    line = None
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if template is not None:
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


#: A run's memo of the templates a limit stopped: template -> (limit, message, line).
Stops = dict


def render_compiled(template: jinja2.Template, variables: dict[str, Any], limits: Limits = DEFAULT_LIMITS,
                    stops: Stops | None = None) -> str:
    """Render a compiled template with the given top-level variables, streaming its output under ``limits``.

    Same result as ``jinja2.Template.render(**variables)`` (which transformers calls), or a typed
    error: :class:`TemplateLimitError`, :class:`TemplateSecurityError`, :class:`TemplateRenderError`
    (with ``exception_type`` the original class name and ``line`` the template line).
    """
    stopped = stops.get(template) if stops is not None else None
    if stopped is not None:
        limit, message, line = stopped
        raise TemplateLimitError(f"{message} (on an earlier conversation: this template is not "
                                 "rendered again in this run)", limit=limit, line=line)
    guard = _Guard(limits)
    previous = getattr(_local, "guard", None)
    _local.guard = guard
    max_output = limits.max_output_chars
    chunks: list[str] = []
    size = 0
    try:
        context = template.new_context(variables)
        for chunk in template.root_render_func(context):
            size += len(chunk)
            if size > max_output:
                raise _Stop("output", f"rendered output exceeds {max_output:,} characters")
            chunks.append(chunk)
    except _Stop as stop:
        line = _template_line(stop.__traceback__)
        if stops is not None:
            stops[template] = (stop.limit, stop.message, line)
        raise TemplateLimitError(stop.message, limit=stop.limit, line=line) from None
    except RecursionError as exc:
        raise TemplateLimitError(
            "maximum recursion depth exceeded", limit="size", line=_template_line(exc.__traceback__)
        ) from None
    except MemoryError as exc:  # last resort: the size checks above should prevent it
        raise TemplateLimitError("out of memory", limit="size", line=_template_line(exc.__traceback__)) from None
    except SecurityError as exc:
        raise TemplateSecurityError(str(exc), exception_type="SecurityError", line=_template_line(exc.__traceback__)) from None
    except Exception as exc:
        raise TemplateRenderError(
            str(exc), exception_type=type(exc).__name__, line=_template_line(exc.__traceback__)
        ) from None
    finally:
        _local.guard = previous
    return "".join(chunks)


# ---------------------------------------------------------------------------------------------
# Input conversion, as transformers' render_jinja_template does it.

_REASONING_FIELDS = ("reasoning_content", "thinking", "reasoning")


_SCALARS = frozenset({str, int, float, bool, type(None)})

#: Deepest nesting of containers (lists, dicts, tuples, dataclasses, models) accepted in a
#: conversation, its tools, documents or keyword arguments. transformers' ``_plain_template_data``
#: recurses without a bound and raises ``RecursionError`` near Python's limit (~1 000 levels, which
#: ``json.loads`` still accepts); Jinja's printing of a value (``repr``) and ``tojson`` recurse too.
#: Real chat data is a handful of levels deep, so 200 leaves room and keeps every later walk far
#: from the recursion limit. A self-containing list from a Python caller stops here too.
MAX_INPUT_DEPTH = 200


class InputTooDeepError(ValueError):
    """A value of the input is nested more than :data:`MAX_INPUT_DEPTH` levels deep."""

    def __init__(self) -> None:
        super().__init__(
            f"a value in the conversation is nested more than {MAX_INPUT_DEPTH} levels deep: not rendered "
            "(transformers would recurse past Python's recursion limit near 1 000 levels)"
        )


def plain_template_data(value: Any, _depth: int = 0) -> Any:
    """Mirror of transformers' ``_plain_template_data``: rebuild inputs out of plain JSON types.

    Anything that is not a JSON scalar, mapping, list, tuple, dataclass or pydantic model becomes a
    placeholder string naming its type (``"<ndarray>"``, ``"<Image>"``). Exact dicts and lists of
    scalars take a fast path with the same result. Containers nested deeper than
    :data:`MAX_INPUT_DEPTH` raise :class:`InputTooDeepError` (transformers: ``RecursionError``).
    """
    kind = type(value)
    if kind in _SCALARS:
        return value
    if _depth >= MAX_INPUT_DEPTH:
        raise InputTooDeepError()
    d = _depth + 1
    if kind is dict:
        return {
            (k if type(k) in _SCALARS else plain_template_data(k, d)): (v if type(v) in _SCALARS else plain_template_data(v, d))
            for k, v in value.items()
        }
    if kind is list:
        return [v if type(v) in _SCALARS else plain_template_data(v, d) for v in value]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, Mapping):
        return {plain_template_data(key, d): plain_template_data(item, d) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_template_data(item, d) for item in value]
    if isinstance(value, tuple):
        return tuple(plain_template_data(item, d) for item in value)
    if type(value).__module__ == "numpy" and type(value).__name__ != "ndarray" and hasattr(value, "item"):
        return plain_template_data(value.item(), d)  # a numpy scalar (np.generic), without importing numpy
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain_template_data(getattr(value, field.name), d) for field in fields(value)}
    if callable(getattr(value, "model_dump", None)):
        return plain_template_data(value.model_dump(), d)
    return f"<{type(value).__name__}>"


def alias_reasoning_fields(chat: list[Any]) -> list[Any]:
    """Mirror of transformers' ``_alias_reasoning_fields``: fill ``thinking`` / ``reasoning_content``."""
    aliased = []
    for message in chat:
        if isinstance(message, dict):
            reasoning = next((message[key] for key in _REASONING_FIELDS if message.get(key) is not None), None)
            if reasoning is not None:
                message = {"thinking": reasoning, **message, "reasoning_content": reasoning}
        aliased.append(message)
    return aliased
