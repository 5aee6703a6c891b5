"""``--format json``: the document of the command-line contract (docs/cli.md)."""

from __future__ import annotations

import json

from qwenlint.engine import Result

VERSION = 1


def document(result: Result) -> dict:
    return {
        "version": VERSION,
        "diagnostics": [d.to_json() for d in result.diagnostics],
        "summary": {"files": result.files, "conversations": result.conversations,
                    "errors": result.errors, "warnings": result.warnings},
    }


def render(result: Result, **_: object) -> str:
    return json.dumps(document(result), ensure_ascii=False, indent=1)
