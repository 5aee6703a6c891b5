"""What one record may hold before it is refused: how deep its values nest, how long its integers
are.  Checked on every record before any stage sees it (``Engine.check_record``), whether it came
from a file, a streamed array, a worker process or the Python API, so no later walk (the stages,
the writers, ``--fix``, pickling for ``--jobs``) meets a value it cannot handle.

* **Depth.**  Python's ``json`` parses up to about 1 000 levels, but every recursive walk after it
  — transformers' ``_plain_template_data``, Jinja's ``tojson``, qwenlint's own stages and writers,
  ``pickle`` — gives up near Python's recursion limit with a ``RecursionError``.  Real
  conversations are a handful of levels deep; :data:`MAX_DEPTH` (the template sandbox's bound too)
  leaves ample room.
* **Integers.**  Python refuses to convert integers of more than 4 300 digits to or from text
  (``ValueError: Exceeds the limit (4300 digits) for integer string conversion``): ``json.loads``
  raises on them, so every Python consumer fails on the record.  :func:`loads` reads such a number
  as a :class:`LongNumber` marker instead, and :func:`violation` reports it at its pointer.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from qwenlint.pointer import join

#: Deepest nesting of lists and objects accepted in one record (the template sandbox's
#: ``MAX_INPUT_DEPTH`` is the same bound).
MAX_DEPTH = 200
#: Python's limit on the digits of an integer converted from or to text (``sys.int_info``).
MAX_INT_DIGITS = getattr(sys.int_info, "default_max_str_digits", 4300) or 4300


class LongNumber(str):
    """An integer literal with more than :data:`MAX_INT_DIGITS` digits, kept as its text."""


def _parse_int(text: str) -> int | LongNumber:
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else LongNumber(text)


_DECODER = json.JSONDecoder(parse_int=_parse_int)


def loads(text: str) -> Any:
    """``json.loads``, except that an integer too long for Python becomes a :class:`LongNumber`
    (the plain parser runs first; the slower one only when it refused such a number)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        return _DECODER.decode(text)


def raw_decode(decoder: json.JSONDecoder, text: str, start: int) -> tuple[Any, int]:
    """``decoder.raw_decode`` with :func:`loads`' handling of long integers."""
    try:
        return decoder.raw_decode(text, start)
    except json.JSONDecodeError:
        raise
    except ValueError:
        return _DECODER.raw_decode(text, start)


#: A run of digits longer than Python's limit, found in linear time: the look-behind lets a match
#: start only where a run starts (``[0-9]{4301}`` alone restarts inside every long run).
_LONG_RUN = re.compile(r"(?<![0-9])[0-9]{%d}" % (MAX_INT_DIGITS + 1))


def may_violate(text: str | None, limit: int = MAX_DEPTH) -> bool:
    """False when the JSON ``text`` of a record cannot nest deeper than ``limit`` (it has no more
    brackets than that) nor hold a too long integer: the fast test that spares most records the
    walk of :func:`violation`.  None (a Python value, no text): the walk is needed."""
    if text is None:
        return True
    return text.count("[") + text.count("{") > limit or _LONG_RUN.search(text) is not None


def violation(value: Any, limit: int = MAX_DEPTH) -> tuple[str, str, str] | None:
    """``(kind, pointer, message)`` (kind ``too-deep-value`` or ``long-integer``) for the first place (in document order) where ``value`` nests deeper
    than ``limit`` levels or holds an integer too long for Python; None when it holds neither.
    Iterative, so any depth (and a self-containing list from a Python caller) is fine."""
    # (value, depth, parent entry, key): pointers are built only for the one that is reported.
    stack: list[tuple[Any, int, Any, Any]] = [(value, 0, None, None)]
    while stack:
        entry = stack.pop()
        v, depth = entry[0], entry[1]
        if isinstance(v, dict):
            items = list(v.items())
        elif isinstance(v, (list, tuple)):
            items = list(enumerate(v))
        else:
            message = _scalar_problem(v)
            if message:
                return "long-integer", _pointer(entry), message
            continue
        if depth >= limit:
            return "too-deep-value", _pointer(entry), (
                f"nested more than {limit} levels deep: not checked (the chat template's "
                "conversion in transformers, Jinja's tojson and pickle recurse once per level and "
                "fail near Python's recursion limit of about 1 000; real conversations are a "
                "handful of levels deep)")
        for k, child in reversed(items):
            if isinstance(child, (dict, list, tuple, LongNumber)) or type(child) is int:
                stack.append((child, depth + 1, entry, k))
    return None


def _scalar_problem(v: Any) -> str | None:
    if isinstance(v, LongNumber):
        digits = len(v.lstrip("-"))
    elif type(v) is int and v.bit_length() - 1 >= MAX_INT_DIGITS * math.log2(10):
        digits = None  # >= 10 ** MAX_INT_DIGITS (counting them is the conversion Python refuses)
    else:
        return None
    return (f"an integer of {digits or f'more than {MAX_INT_DIGITS}'} "
            f"digits: Python refuses integers over {MAX_INT_DIGITS} digits ('ValueError: Exceeds "
            f"the limit ({MAX_INT_DIGITS} digits) for integer string conversion'), so json.loads "
            "fails on this record in every Python consumer")


def _pointer(entry: tuple[Any, int, Any, Any]) -> str:
    keys = []
    while entry[2] is not None:
        keys.append(entry[3])
        entry = entry[2]
    return join("", *reversed(keys))
