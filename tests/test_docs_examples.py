"""Every Python example in the README and docs/ runs as written.

A fenced ```python block is run in a fresh interpreter, in a scratch directory that holds the
repository's ``examples/`` (the README's paths are relative to the repository root), and must exit
0.  A block whose first line starts with ``# a sketch`` is an illustration of internal code (a rule
in docs/design.md) and is only compiled.  A block that imports an optional library qwenlint's tests
install (torch and transformers for the tiny checkpoints, qwen-vl-utils) needs it: without it the
block is skipped, unless ``QWENLINT_REQUIRE_DIFF=1`` (CI), where a missing library is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
OPTIONAL = {"qwen_vl_utils": "qwen_vl_utils", "qwenlint.checkpoints": "transformers"}


def _blocks() -> list:
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            out.append(pytest.param(doc, m.group(1), id=f"{doc.relative_to(ROOT)}:{line}"))
    return out


BLOCKS = _blocks()


def test_the_docs_have_python_examples():
    """The collection itself can fail: the README's examples are found."""
    assert sum(doc.name == "README.md" for doc, _ in (p.values for p in BLOCKS)) >= 2


@pytest.mark.parametrize("doc, code", BLOCKS)
def test_python_example_runs(doc: Path, code: str, tmp_path: Path):
    if code.startswith("# a sketch"):
        compile(code, str(doc), "exec")
        return
    for module, needs in OPTIONAL.items():
        if re.search(rf"^\s*(from|import) {re.escape(module)}\b", code, re.M) and \
                importlib.util.find_spec(needs) is None:
            if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
                pytest.fail(f"{needs} is not installed (QWENLINT_REQUIRE_DIFF=1)")
            pytest.skip(f"needs {needs}")
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300, env=env)
    assert out.returncode == 0, f"{doc.name}:\n{code}\n--- stderr ---\n{out.stderr[-3000:]}"
