"""The transformers releases the differential tests run beside the environment's (scripts/test.sh
installs each into ``.versions/transformers-X``; ``QWENLINT_TF_RELEASES`` names others,
``QWENLINT_VERSIONS_DIR`` another folder)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VERSIONS_DIR = Path(os.environ.get("QWENLINT_VERSIONS_DIR") or REPO / ".versions")
TF_RELEASES = tuple(os.environ.get("QWENLINT_TF_RELEASES", "4.55.4 4.56.2 4.57.6 5.1.0 5.6.0 5.17.0").split())
