"""``--format github``: GitHub Actions workflow commands, one annotation per diagnostic.

``::error file=data/a.json,line=7,col=9,title=QL102 mixed-batch-nesting::message`` — errors
become ``::error``, warnings ``::warning``, info ``::notice``.  Values are escaped as the Actions
runner expects (``%`` → ``%25``, CR → ``%0D``, LF → ``%0A``; in properties also ``:`` → ``%3A``
and ``,`` → ``%2C``); other control characters (escape sequences, which the log viewer
interprets) are shown escaped first (qwenlint.terminal).  GitHub *shows* at most 10 error and 10 warning annotations per step and 50
per job; every diagnostic is still printed (the log keeps them all), followed by a plain summary
line that says when the limit was passed.
"""

from __future__ import annotations

import os

from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.result import Result
from qwenlint.terminal import printable, printable_text

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
#: Annotations GitHub displays per step, per severity (error and warning), and per job.
STEP_LIMIT, JOB_LIMIT = 10, 50


def escape_data(value: str) -> str:
    """Escape a workflow command's message (actions/toolkit ``escapeData``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value (actions/toolkit ``escapeProperty``)."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _path(file: str | None) -> str:
    """The file as GitHub matches it: relative to the workspace (the current directory)."""
    if not file:
        return ""
    if os.path.isabs(file):
        rel = os.path.relpath(file)
        if not rel.startswith(os.pardir):
            file = rel
    return file.replace(os.sep, "/")


def annotation(d: Diagnostic) -> str:
    """One workflow command for one diagnostic."""
    props = []
    if d.file:
        props.append(f"file={escape_property(printable(_path(d.file)))}")
    if d.line:
        props.append(f"line={d.line}")
        # col is only allowed on a single-line annotation; ours have no endLine, so it is.
        props.append(f"col={d.column or 1}")
    props.append(f"title={escape_property(f'{d.rule} {d.name}')}")
    body = printable_text(d.message)
    if d.pointer:
        body += f"\nat {printable(d.pointer)}"
    if d.help:
        body += f"\nhelp: {printable_text(d.help)}"
    return f"::{COMMANDS[d.severity]} {','.join(props)}::{escape_data(body)}"


def render(result: Result, quiet: bool = False, **_: object) -> str:
    lines = [annotation(d) for d in result.diagnostics]
    if quiet:  # the annotations only, no summary line
        return "\n".join(lines)
    e, w = result.errors, result.warnings
    summary = (f"qwenlint: {e} error{'s' * (e != 1)} and {w} warning{'s' * (w != 1)} in "
               f"{result.files} file{'s' * (result.files != 1)}")
    if e > STEP_LIMIT or w > STEP_LIMIT or len(lines) > JOB_LIMIT:
        summary += (f" (GitHub shows only {STEP_LIMIT} error and {STEP_LIMIT} warning annotations "
                    f"per step and {JOB_LIMIT} per job; all {len(lines)} are in this log)")
    lines.append(summary)
    return "\n".join(lines)
