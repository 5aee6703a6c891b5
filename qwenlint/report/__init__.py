"""Output formats: one module per format, each a function ``render(result, ...) -> str``."""

from qwenlint.report import github, html, json_report, sarif, text

FORMATS = {"text": text.render, "json": json_report.render, "sarif": sarif.render,
           "github": github.render, "html": html.render}

__all__ = ["FORMATS"]
