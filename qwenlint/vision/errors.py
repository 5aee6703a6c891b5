"""`VisionError`: the one exception the predictor raises when the real library would raise.

The arithmetic in this package mirrors the real code line by line, on the *same Python values*
the user wrote (a JSON string stays a string).  So when the real code would raise, the mirrored
code raises the same built-in exception with the same message: an ``assert`` with its text, a
``ValueError`` with the library's f-string, or a ``TypeError`` that Python itself produces for
``1 / "2"``.  The :func:`mirrors` decorator turns that native exception into a `VisionError` that
says which library raised it, the exception class name and the exact message, so a rule can quote
it verbatim (``AssertionError: The max_pixels of image must be greater than or equal to
min_pixels.``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

QWEN_VL_UTILS = "qwen-vl-utils"
TRANSFORMERS = "transformers"
VLLM = "vllm"

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Exceptions the mirrored code can raise on user data.  Anything else is a qwenlint bug and is
#: left to propagate unchanged.
_MIRRORED_EXCEPTIONS = (AssertionError, ValueError, TypeError, ZeroDivisionError, OverflowError,
                        IndexError, RuntimeError, KeyError)


class VisionError(Exception):
    """The real library raises on this input.

    ``library`` is ``"qwen-vl-utils"``, ``"transformers"`` or ``"vllm"``; ``exc_type`` the class name
    the user would see (``"AssertionError"``, ``"ValueError"``, ``"TypeError"``, ``"RuntimeError"``
    for torch errors); ``message`` the exact text; ``where`` the mirrored source (file:function);
    ``loading``: raised while the consumer loads the media (vLLM's video loader samples the frames
    before any processor runs), not by the processor.
    """

    def __init__(self, library: str, exc_type: str, message: str, where: str = "",
                 loading: bool = False) -> None:
        super().__init__(f"{library}: {exc_type}: {message}")
        self.library = library
        self.exc_type = exc_type
        self.message = message
        self.where = where
        self.loading = loading

    @property
    def quoted(self) -> str:
        """The line the user's traceback ends with, e.g. ``ValueError: nframes should ...``."""
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type

    def __reduce__(self) -> tuple[type[VisionError], tuple[str, str, str, str, bool]]:
        return (VisionError, (self.library, self.exc_type, self.message, self.where, self.loading))


def raise_as(library: str, where: str, exc: BaseException) -> VisionError:
    """Wrap a native exception raised by mirrored code (see module docstring)."""
    return VisionError(library, type(exc).__name__, str(exc), where)


def mirrors(library: str, where: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorate a function that mirrors ``where`` in ``library``.

    Native exceptions from its body become `VisionError` attributed to ``library``; a
    `VisionError` from a nested mirrored call passes through with its own attribution.
    """

    def decorate(func: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(func)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return func(*args, **kwargs)
            except VisionError:
                raise
            except _MIRRORED_EXCEPTIONS as exc:
                raise raise_as(library, where, exc) from None

        return wrapper

    return decorate
