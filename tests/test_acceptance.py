"""The shared acceptance cases (seeds and real-world files), judged by their own harness.

Each case folder under ``<shared>/acceptance/seeds`` and ``<shared>/acceptance/realworld`` is run
with ``run_cases.run_case`` against the installed ``qwenlint`` executable (next to
``sys.executable``).  Cases whose stage is not integrated yet are listed in ``PENDING`` below as
strict xfails: when a stage lands and its case passes, the xfail turns into a failure, and the
name is removed from the set.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

#: ../shared next to the repository (CI puts it there); QWENLINT_SHARED overrides.
SHARED = Path(os.environ.get("QWENLINT_SHARED", Path(__file__).resolve().parents[2] / "shared"))


ACCEPTANCE = SHARED / "acceptance"

#: Case folder name -> the stage it needs.  Edit this set as stages are integrated.
#: (Until the stages were integrated it held: seed-c-template-without-video-branch: templates,
#: seed-d-original-implicit-min: vision errors, qft-demo-video-qwen2.5vl: budget,
#: qft-readme-examples-qwen2.5vl: budget, swift-doc-chat-template-kwargs-image-tag-without-images:
#: datasets.)  Every case passes with all stages in the working tree, so it is empty.
PENDING: dict[str, str] = {
}

if not (ACCEPTANCE / "run_cases.py").is_file():
    pytest.skip(f"no acceptance cases at {ACCEPTANCE}", allow_module_level=True)


def _harness():
    spec = importlib.util.spec_from_file_location("qwenlint_acceptance_run_cases",
                                                  ACCEPTANCE / "run_cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # adds its folder to sys.path (for media.py)
    return mod


run_cases = _harness()
QWENLINT = Path(sys.executable).with_name("qwenlint")
CASES = run_cases.find_cases([str(ACCEPTANCE / "seeds"), str(ACCEPTANCE / "realworld")])


def _param(case_dir: str):
    name = os.path.basename(case_dir)
    group = os.path.basename(os.path.dirname(case_dir))
    marks = []
    if name in PENDING:
        marks.append(pytest.mark.xfail(strict=True, reason=f"needs {PENDING[name]}"))
    return pytest.param(case_dir, id=f"{group}/{name}", marks=marks)


def test_cases_found():
    assert len(CASES) >= 40, CASES
    names = {os.path.basename(c) for c in CASES}
    assert not set(PENDING) - names, f"PENDING names no case: {set(PENDING) - names}"


@pytest.mark.parametrize("case_dir", [_param(c) for c in CASES])
def test_case(case_dir):
    assert QWENLINT.exists(), f"qwenlint is not installed next to {sys.executable}"
    name, case, ok, reason, detail = run_cases.run_case(case_dir, [str(QWENLINT)], None, 120)
    assert ok, f"{name} [expect {(case or {}).get('expect')}]: {reason} ({detail})"
