"""``--format json``: the document of the command-line contract (docs/cli.md)."""

from __future__ import annotations

import json
import math

from qwenlint.result import Result

VERSION = 1


def document(result: Result) -> dict:
    return {
        "version": VERSION,
        "diagnostics": [d.to_json() for d in result.diagnostics],
        "summary": {"files": result.files, "conversations": result.conversations,
                    "errors": result.errors, "warnings": result.warnings},
        "assumed": list(result.assumed),
        "files": [r.to_json(path) for path, r in result.readings.items()],
    }


def _finite(value):
    """JSON has no NaN or Infinity: such numbers (from a user's ``NaN`` literal) become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def dumps(doc: object) -> str:
    """``doc`` as strict JSON (no NaN / Infinity: see :func:`_finite`), as every JSON writer
    prints it (this one and SARIF)."""
    try:
        return json.dumps(doc, ensure_ascii=False, indent=1, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(doc), ensure_ascii=False, indent=1, allow_nan=False)


def render(result: Result, **_: object) -> str:
    return dumps(document(result))
