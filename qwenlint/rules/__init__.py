"""The rules, grouped by the stage that raises them; importing this package registers them all.

Codes: QL0xx files, QL1xx structure, QL2xx parts and dialects, QL3xx templates, QL4xx media and
geometry, QL5xx budget, QL6xx dataset formats.  :mod:`qwenlint.rules.base` is the registry: what a
rule is (code, name, severity, docs, the features it needs, its scope) and how it is declared.
"""

from qwenlint.rules import (  # noqa: F401  (registration)
    budget,
    dataset,
    files,
    media,
    parts,
    requests,
    structure,
    template,
)
from qwenlint.rules.base import (
    FEATURES,
    REGISTRY,
    Finding,
    Observation,
    Rule,
    Scope,
    Span,
    features,
    find_rule,
    rule,
    select_rules,
)

__all__ = ["FEATURES", "REGISTRY", "Finding", "Observation", "Rule", "Scope", "Span", "features",
           "find_rule", "rule", "select_rules"]
