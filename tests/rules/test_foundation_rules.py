"""The foundation rules (QL0xx-QL2xx): each finding carries the rule's registered severity, and the
Example of each rule's docs (a JSON value) fires the rule."""

from __future__ import annotations

import json
import re

import pytest

import qwenlint
from examples_ql012 import EXAMPLES
from qwenlint.rules import REGISTRY
from _examples import run

FOUNDATION = sorted(c for c in REGISTRY if c[:3] in ("QL0", "QL1", "QL2"))


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_default_severity_of_positive_example(code, tmp_path):
    """Findings carry the rule's registered severity (QL111 may raise it to error on purpose)."""
    diags = [f for f in run(EXAMPLES[code], tmp_path, "positive") if f.rule == code]
    assert {f.severity for f in diags} == {REGISTRY[code].severity.value}


# --- the "Example" of each rule's docs fires the rule -----------------------------------------

#: Examples that are prose or a file, not a JSON value (covered by EXAMPLES above).
_PROSE_EXAMPLES = {"QL001", "QL002", "QL004", "QL005"}


def _doc_example(code):
    """The first ``...`` span of the rule's Example section as a value, and the options it names."""
    text = REGISTRY[code].docs.get("Example", "")
    m = re.search(r"``(.*?)``", text, re.S)
    value = json.loads(m.group(1))
    if isinstance(value, dict) and "role" not in value and ("type" in value or len(value) == 1) \
            and not any(k in value for k in ("messages", "mesages", "conversations")):
        value = [{"role": "user", "content": [value]}]  # a part: put it in a user turn
    opts = {}
    for opt in ("target", "family"):
        hit = re.search(rf"--{opt} ([\w.-]+)", text)
        if hit:
            opts[opt] = hit.group(1)
    assumed = re.findall(r"--assume\s+([\w.=-]+)", text)
    if assumed:
        opts["assume"] = tuple(assumed)
    if "for vLLM" in text:
        opts["target"] = "vllm"
    return value, opts


_DOC_XFAIL: dict[str, str] = {}  # documented examples that do not fire yet (none)


@pytest.mark.parametrize("code", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=_DOC_XFAIL[c])) if c in _DOC_XFAIL
    else c for c in FOUNDATION if c not in _PROSE_EXAMPLES])
def test_documented_example_fires_the_rule(code):
    value, opts = _doc_example(code)
    diags = qwenlint.check(value, **opts).diagnostics
    assert code in {d.rule for d in diags}, [(d.rule, d.pointer) for d in diags]
