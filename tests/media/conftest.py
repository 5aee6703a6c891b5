"""Shared helpers for the media tests: synthesise images and videos in tmp dirs."""

from __future__ import annotations

import os
import sys

import pytest

ACCEPTANCE = "/work/shared/acceptance"


def _acceptance_media():
    """The project's acceptance synthesiser (`/work/shared/acceptance/media.py`), if present."""
    if os.path.isdir(ACCEPTANCE) and ACCEPTANCE not in sys.path:
        sys.path.insert(0, ACCEPTANCE)
    try:
        import media  # type: ignore[import-not-found]
    except ImportError:
        return None
    return media


@pytest.fixture(scope="session")
def acceptance_media():
    return _acceptance_media()


