"""Every rule is documented, and docs/rules.md is generated from the registry and up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import qwenlint.engine  # noqa: F401  - registers every rule the CLI knows
from qwenlint.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("What", "Why", "Example", "Fix")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_rules_doc", ROOT / "scripts" / "gen_rules_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_rules():
    assert len(REGISTRY) >= 10


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_has_every_doc_section(code):
    rule = REGISTRY[code]
    missing = [s for s in SECTIONS if not rule.docs.get(s, "").strip()]
    assert not missing, f"{code} {rule.name}: docstring lacks {', '.join(missing)} (What/Why/Example/Fix)"
    assert rule.summary.strip() and rule.summary.strip()[-1] in ".?!", f"{code}: summary is one sentence"


def test_rules_md_is_up_to_date():
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert text == _generator().render(), \
        "docs/rules.md is stale: run `python scripts/gen_rules_doc.py`"


def test_rules_md_lists_every_rule_with_its_sections():
    text = _generator().render()
    for code, rule in REGISTRY.items():
        assert f"\n## {code} {rule.name}\n" in text
        assert f"| [{code}](#{code.lower()}-{rule.name}) |" in text
        section = text.split(f"\n## {code} {rule.name}\n", 1)[1].split("\n## ", 1)[0]
        for title in ("What it finds", "Why it matters", "Example", "Fix"):
            assert f"### {title}" in section
        assert rule.docs["Why"].splitlines()[0] in section


def test_a_missing_section_is_visible_in_the_page():
    from dataclasses import replace

    rule = next(iter(REGISTRY.values()))
    broken = replace(rule, docs={k: v for k, v in rule.docs.items() if k != "Example"})
    assert "*(missing)*" in _generator().render([broken])


def test_check_mode_reports_a_stale_page(tmp_path):
    gen = _generator()
    out = tmp_path / "rules.md"
    out.write_text("stale\n", encoding="utf-8")
    assert gen.main(["--check", "--output", str(out)]) == 1
    assert gen.main(["--output", str(out)]) == 0
    assert gen.main(["--check", "--output", str(out)]) == 0
