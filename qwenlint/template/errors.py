"""Typed errors of the template stage.

Every error carries a position when one is known: ``line`` / ``column`` are 1-based and refer to
the template text itself; ``file_line`` / ``file_column`` refer to the file the template was read
from (they differ for templates embedded as a JSON string).
"""

from __future__ import annotations

from typing import Literal

LimitKind = Literal["time", "steps", "output", "size"]


class TemplateError(Exception):
    """Base class of every error raised by ``qwenlint.template``."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        file: str | None = None,
        file_line: int | None = None,
        file_column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.file = file
        self.file_line = file_line if file_line is not None else line
        self.file_column = file_column if file_column is not None else column

    def __str__(self) -> str:
        where = ""
        if self.file_line is not None:
            where = f" (line {self.file_line}" + (
                f", column {self.file_column})" if self.file_column is not None else ")"
            )
        return f"{self.message}{where}"


class TemplateLoadError(TemplateError):
    """A template file or model directory could not be read (missing file, invalid JSON, no template)."""


class TemplateSyntaxIssue(TemplateError):
    """The template does not parse (``jinja2.TemplateSyntaxError``), with the position in the template and file."""


class TemplateRenderError(TemplateError):
    """Rendering raised: ``raise_exception(...)``, a ``TypeError`` from Jinja, an undefined value, ...

    ``exception_type`` is the name of the original exception class (``TemplateError`` for
    ``raise_exception``, ``TypeError``, ``UndefinedError``, ...).
    """

    def __init__(self, message: str, *, exception_type: str, line: int | None = None) -> None:
        super().__init__(message, line=line)
        self.exception_type = exception_type


class TemplateSecurityError(TemplateRenderError):
    """The template tried to leave the sandbox (``jinja2.sandbox.SecurityError``)."""


class TemplateLimitError(TemplateRenderError):
    """The render was stopped: it ran past the time limit, produced too much output, or built a too-large value."""

    def __init__(self, message: str, *, limit: LimitKind, line: int | None = None) -> None:
        super().__init__(message, exception_type="TemplateLimitError", line=line)
        self.limit: LimitKind = limit
