"""test_render_transformers.py against every other installed transformers release: the module run in
a subprocess with the release first on ``PYTHONPATH`` (it renders with ``transformers=`` that
release, so qwenlint's release branches of the template input are proven: ``image_url`` parts
normalised from 5.2, reasoning keys aliased from 5.21, ``None``-valued keys dropped from 5.23)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _releases import TF_RELEASES, VERSIONS_DIR

pytestmark = pytest.mark.differential
MODULE = Path(__file__).with_name("test_render_transformers.py")


@pytest.mark.parametrize("release", TF_RELEASES)
def test_render_matches_each_release(release: str) -> None:
    folder = VERSIONS_DIR / f"transformers-{release}"
    if not (folder / "transformers" / "__init__.py").is_file():
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise FileNotFoundError(f"QWENLINT_REQUIRE_DIFF=1 but transformers {release} is not in {folder}")
        pytest.skip(f"transformers {release} is not in {folder}")
    env = {**os.environ, "PYTHONPATH": str(folder), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          str(MODULE)], env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1], run.stdout[-2000:]
