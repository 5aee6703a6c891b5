"""Output formats: one module per format, each a function ``render(result, ...) -> str``."""

from qwenlint.report import json_report, text

FORMATS = {"text": text.render, "json": json_report.render}

__all__ = ["FORMATS"]
