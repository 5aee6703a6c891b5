"""Tests mirror the rules: every registered rule, of every stage, has a positive and a negative
example (QL0-QL2 in tests/test_rules_examples.py, QL3-QL6 in this folder's tables)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: the foundation table

import test_examples_ql3 as _ql3  # noqa: E402
import test_examples_ql4 as _ql4  # noqa: E402
import test_examples_ql5 as _ql5  # noqa: E402
import test_examples_ql6 as _ql6  # noqa: E402
import test_rules_examples as _foundation  # noqa: E402
from _examples import rule_code  # noqa: E402

import qwenlint  # noqa: E402
from qwenlint.rules import REGISTRY  # noqa: E402

#: table module -> the code prefixes whose examples it holds
TABLES = {_foundation: ("QL0", "QL1", "QL2"), _ql3: ("QL3",), _ql4: ("QL4",), _ql5: ("QL5",),
          _ql6: ("QL6",)}


def _registry() -> dict:
    qwenlint.check([])  # the checker imports every rule module it runs
    return REGISTRY


def _covered() -> dict[str, list[str]]:
    """code -> the tables (module names) with an example for it."""
    out: dict[str, list[str]] = {}
    for module in TABLES:
        for key in module.EXAMPLES:
            out.setdefault(rule_code(key), []).append(module.__name__)
    return out


def test_every_registered_rule_has_an_example():
    covered = _covered()
    missing = sorted(code for code in _registry() if code not in covered)
    assert not missing, f"rules without a positive/negative example: {missing}"


def test_no_example_for_an_unregistered_rule():
    stale = sorted(code for code in _covered() if code not in _registry())
    assert not stale, f"examples for rules that are not registered: {stale}"


@pytest.mark.parametrize("module", list(TABLES), ids=lambda m: m.__name__)
def test_each_table_holds_its_own_stage(module):
    wrong = [key for key in module.EXAMPLES if not rule_code(key).startswith(TABLES[module])]
    assert not wrong, f"{module.__name__} has examples of other stages: {wrong}"


def test_every_stage_is_covered():
    """A sanity check on the registry itself: each stage has rules (so a table is not vacuous)."""
    stages = {code[:3] for code in _registry()}
    assert stages >= {"QL0", "QL1", "QL2", "QL3", "QL4", "QL5", "QL6"}, stages
