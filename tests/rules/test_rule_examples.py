"""Tests mirror the rules: every registered rule, of every stage, has a positive and a negative
example, and each runs: the positive input fires the rule at its pointer (with its severity, a
message and a fix hint), the fixed input does not fire it, and ``select`` / ``ignore`` run or
silence it alone.

The tables are one module per stage group (``examples_ql012.py`` ... ``examples_ql6.py``); adding
a rule means adding its entry to its stage's table.  ``_examples.py`` is the table type and runner.
"""

from __future__ import annotations

import pytest

import examples_ql3
import examples_ql4
import examples_ql5
import examples_ql6
import examples_ql012
import qwenlint
from _examples import api_keys, check_negative, check_positive, check_select, rule_code
from qwenlint.rules import REGISTRY

#: table module -> the code prefixes whose examples it holds
TABLES = {examples_ql012: ("QL0", "QL1", "QL2"), examples_ql3: ("QL3",), examples_ql4: ("QL4",),
          examples_ql5: ("QL5",), examples_ql6: ("QL6",)}
ALL = {key: ex for table in TABLES for key, ex in table.EXAMPLES.items()}
assert len(ALL) == sum(len(t.EXAMPLES) for t in TABLES), "a key is in two tables"


@pytest.mark.parametrize("key", sorted(ALL))
def test_positive_example_fires_at_pointer(key, tmp_path):
    check_positive(key, ALL[key], tmp_path)


@pytest.mark.parametrize("key", sorted(ALL))
def test_negative_example_does_not_fire(key, tmp_path):
    check_negative(key, ALL[key], tmp_path)


@pytest.mark.parametrize("key", api_keys(ALL))
def test_select_runs_only_the_selected_rule(key, tmp_path):
    check_select(key, ALL[key], tmp_path)


def _registry() -> dict:
    qwenlint.check([])  # every rule module is registered by the time a check runs
    return REGISTRY


def test_every_registered_rule_has_an_example():
    covered = {rule_code(k) for k in ALL}
    missing = sorted(code for code in _registry() if code not in covered)
    assert not missing, f"rules without a positive/negative example: {missing}"


def test_no_example_for_an_unregistered_rule():
    stale = sorted({rule_code(k) for k in ALL} - set(_registry()))
    assert not stale, f"examples for rules that are not registered: {stale}"


@pytest.mark.parametrize("table", list(TABLES), ids=lambda m: m.__name__)
def test_each_table_holds_its_own_stage(table):
    wrong = [key for key in table.EXAMPLES if not rule_code(key).startswith(TABLES[table])]
    assert not wrong, f"{table.__name__} has examples of other stages: {wrong}"
