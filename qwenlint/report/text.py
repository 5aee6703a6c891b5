"""``--format text``: ``file:line:col: CODE message`` lines, readable in a terminal (as in ruff)."""

from __future__ import annotations

import os
import sys

from qwenlint.diagnostics import Severity
from qwenlint.result import Result
from qwenlint.terminal import printable as p
from qwenlint.terminal import printable_text as pt

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def use_color(stream=None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def render(result: Result, color: bool = False, **_: object) -> str:
    def c(code: str, s: str) -> str:
        return f"{code}{s}{_RESET}" if color else s

    lines: list[str] = []
    # Every string from the diagnostics may hold the user's text: printed escaped (terminal.py).
    for d in result.diagnostics:
        loc = f"{p(d.file)}:{d.line or 1}:{d.column or 1}:"
        sev = c(_COLORS[d.severity], d.severity.value)
        lines.append(f"{c(_BOLD, loc)} {c(_COLORS[d.severity] + _BOLD, d.rule)} [{sev}] {pt(d.message)}")
        if d.pointer:
            lines.append(f"    {c(_DIM, 'at')} {p(d.pointer)}  {c(_DIM, '(' + d.name + ')')}")
        else:
            lines.append(f"    {c(_DIM, '(' + d.name + ')')}")
        if d.help:
            lines.append(f"    {c(_DIM, 'help:')} {pt(d.help)}")
        if d.fix:
            tag = "fix" if d.fix.applicability.value == "safe" else f"fix ({d.fix.applicability.value})"
            lines.append(f"    {c(_DIM, tag + ':')} {pt(d.fix.message)}")
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
    if result.assumed:
        lines.append(c(_DIM, "Assumed: " + "; ".join(map(p, result.assumed)) + "."))
    return "\n".join(lines)
