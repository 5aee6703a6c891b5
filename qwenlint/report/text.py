"""``--output-format text``: ``file:line:col: CODE message`` lines, readable in a terminal (as in ruff).

Colour: ``NO_COLOR`` set and not empty (no-color.org) turns it off; else ``FORCE_COLOR`` set and not
empty (force-color.org) turns it on even when the output is not a terminal; else it is on when the
output is a terminal.  ``NO_COLOR`` wins when both are set.
"""

from __future__ import annotations

import os
import sys

import json
from collections import Counter

from qwenlint.diagnostics import Applicability, Diagnostic, Severity
from qwenlint.result import Result
from qwenlint.terminal import printable as p
from qwenlint.terminal import printable_text as pt

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def use_color(stream=None) -> bool:
    """Whether text written to ``stream`` (default: stdout) is coloured (see the module docstring)."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def _where(d: Diagnostic) -> str:
    """``file:line:column``; ``file:/<row>/...`` for a diagnostic located by its JSON pointer alone
    (a row of a Parquet / Arrow table has no text, so no line)."""
    if d.line is None and d.pointer:
        return f"{p(d.file)}:{p(d.pointer)}"
    return f"{p(d.file)}:{d.line or 1}:{d.column or 1}"


def render(result: Result, color: bool = False, quiet: bool = False, **_: object) -> str:
    """The diagnostics, then the summary and ``Assumed:`` lines (not with ``quiet``)."""
    def c(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    lines: list[str] = []
    # Every string from the diagnostics may hold the user's text: printed escaped (terminal.py).
    for d in result.diagnostics:
        loc = f"{_where(d)}:"
        sev = c(_COLORS[d.severity], d.severity.value)
        lines.append(f"{c(_BOLD, loc)} {c(_COLORS[d.severity] + _BOLD, d.rule)} [{sev}] {pt(d.message)}")
        if d.pointer and d.line is not None:
            lines.append(f"    {c(_DIM, 'at')} {p(d.pointer)}  {c(_DIM, '(' + d.name + ')')}")
        else:
            lines.append(f"    {c(_DIM, '(' + d.name + ')')}")
        if d.help:
            lines.append(f"    {c(_DIM, 'help:')} {pt(d.help)}")
        if d.fix:
            tag = "fix" if d.fix.applicability.value == "safe" else f"fix ({d.fix.applicability.value})"
            lines.append(f"    {c(_DIM, tag + ':')} {pt(d.fix.message)}")
    if quiet:
        return "\n".join(lines)
    e, w = result.errors, result.warnings
    conv = f"{result.conversations} conversation{'s' * (result.conversations != 1)}"
    files = f"{result.files} file{'s' * (result.files != 1)}"
    if result.diagnostics:
        lines.append("")
    if e or w:
        lines.append(c(_BOLD, f"Found {e} error{'s' * (e != 1)} and {w} warning{'s' * (w != 1)} "
                           f"in {files} ({conv})."))
    else:
        lines.append(f"All checks passed: {files}, {conv}.")
    if result.skipped:  # found by a walk, in no format qwenlint reads (trainer_state.json, ...)
        n = result.skipped
        lines.append(c(_DIM, f"Skipped {n} JSON file{'s' * (n != 1)} in no format qwenlint reads "
                             "(name a file to check it anyway)."))
    read_as = _read_as(result)
    for i, line in enumerate(read_as):
        lines.append(c(_DIM, ("Read as: " if i == 0 else "         ") + line))
    if result.assumed:
        lines.append(c(_DIM, "Assumed: " + "; ".join(map(p, result.assumed)) + "."))
    return "\n".join(lines)


_DIALECT_WORDS = {"native": "conversations", "openai": "OpenAI messages",
                  "sharegpt": "ShareGPT records", "messages-record": "messages records",
                  "alpaca": "Alpaca records"}
_FILES_SHOWN = 3


def _read_as(result: Result) -> list[str]:
    """One line per way of reading files: the family, the dialects and the consumers they went to
    (with counts when a file's conversations were read in more than one way), and the files."""
    groups: dict[str, list[str]] = {}
    for path, reading in result.readings.items():
        several = len(reading.read_as) > 1
        how = ", ".join(f"{_DIALECT_WORDS.get(d, d)} for {t}" + (f" (×{n})" if several else "")
                        for (d, t), n in reading.read_as.items())
        groups.setdefault(f"{reading.family} {how}" if reading.family else how, []).append(path)
    out = []
    for how, paths in groups.items():
        shown = ", ".join(map(p, paths[:_FILES_SHOWN]))
        more = len(paths) - _FILES_SHOWN
        out.append(f"{how}: {shown}" + (f" and {more} more file{'s' * (more != 1)}" if more > 0 else ""))
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{('es' if word.endswith('x') else 's') * (n != 1)}"


def render_fixed(applied: dict[str, list[Diagnostic]]) -> str:
    """``--show-fixes`` with ``--fix``: the fixes applied, per file and rule (as ruff's
    ``Fixed N errors:`` enumeration); ``applied`` maps a file to the diagnostics fixed in it."""
    total = sum(len(v) for v in applied.values())
    if not total:
        return "No fixes applied."
    lines = [f"Fixed {_plural(total, 'issue')}:"]
    for file, diags in applied.items():
        if not diags:
            continue
        lines.append(f"- {p(file)}:")
        for (code, name), n in sorted(Counter((d.rule, d.name) for d in diags).items()):
            lines.append(f"    {n} × {code} ({name})")
    return "\n".join(lines)


def _short(value: object, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render_fixable(diagnostics: list[Diagnostic], unsafe: bool = False) -> str:
    """``--show-fixes`` without ``--fix``: each fixable diagnostic's fix (the value it writes at
    its JSON pointer), and how many ``--fix`` (with ``unsafe``: ``--fix --unsafe-fixes``) would
    apply.  Fixes shown only (``display``) are listed and never applied."""
    fixable = [d for d in diagnostics if d.fix is not None]
    if not fixable:
        return "No fixes available."
    lines = [f"Fixes ({len(fixable)}):"]
    for d in fixable:
        fix = d.fix
        lines.append(f"- {_where(d)}: {d.rule} [{fix.applicability.value}] "
                     f"{pt(fix.message)}: {p(fix.pointer or '/')} = {p(_short(fix.value))}")
    safe = sum(d.fix.applicability is Applicability.SAFE for d in fixable)
    risky = sum(d.fix.applicability is Applicability.UNSAFE for d in fixable)
    if unsafe:
        lines.append(f"{_plural(safe + risky, 'fix')} available with `--fix --unsafe-fixes`.")
    else:
        lines.append(f"{_plural(safe, 'fix')} available with `--fix`"
                     + (f" ({risky} more with `--unsafe-fixes`)." if risky else "."))
    return "\n".join(lines)
