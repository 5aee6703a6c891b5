"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run; ``tool.driver.rules`` lists every registered rule (``id`` = the stable code, ``name``,
``shortDescription`` = the summary, ``fullDescription`` / ``help`` = the rule docs, and
``defaultConfiguration.level``), so viewers can explain a result without qwenlint installed.
Each result carries ``ruleId``/``ruleIndex``, ``level``, the message, a physical location (a URI
relative to ``%SRCROOT%`` — the current directory — with a 1-based line and column counted in
Unicode code points, declared by ``columnKind``), the JSON pointer as a logical location and as a
property, and a ``partialFingerprints`` entry built from the rule, file and pointer, which stays
the same when lines move.  Validated against the OASIS schema in tests/test_report_formats.py.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
from typing import Any
from urllib.parse import quote

from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.report.json_report import dumps
from qwenlint.result import Result
from qwenlint.version import __version__

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
#: Where users learn about the tool; shown by code scanning next to each alert.
INFORMATION_URI = "https://github.com/qwenlint/qwenlint"
RULES_DOC = "docs/rules.md"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _rules() -> list:
    from qwenlint.rules import REGISTRY

    return [REGISTRY[c] for c in sorted(REGISTRY)]


def rule_markdown(rule) -> str:
    parts = [f"**{rule.code} {rule.name}** ({rule.severity.value}): {rule.summary}"]
    for section, title in (("What", "What it finds"), ("Why", "Why it matters"),
                           ("Example", "Example"), ("Fix", "How to fix it")):
        if rule.docs.get(section):
            parts.append(f"## {title}\n\n{rule.docs[section]}")
    return "\n\n".join(parts)


def help_uri(rule) -> str:
    """The address of a rule's section of docs/rules.md."""
    return f"{INFORMATION_URI}/blob/main/{RULES_DOC}#{rule.code.lower()}-{rule.name}"


def _rule_text(rule) -> str:
    return "\n\n".join(f"{s}: {rule.docs[s]}" for s in ("What", "Why", "Fix") if rule.docs.get(s)) \
        or rule.summary


def reporting_descriptor(rule) -> dict[str, Any]:
    """The SARIF ``reportingDescriptor`` of one rule."""
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _rule_text(rule), "markdown": rule_markdown(rule)},
        "help": {"text": _rule_text(rule), "markdown": rule_markdown(rule)},
        "helpUri": help_uri(rule),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": [rule.stage], "problem.severity": rule.severity.value,
                       # the releases in which (cases of) the failure happen (docs/rules.md "Versions")
                       **({"versions": [span.releases() + ": " + span.what for span in rule.versions]}
                          if rule.versions else {})},
    }


def artifact_uri(file: str, base: str | None = None) -> tuple[str, bool]:
    """``(uri, relative)``: a URI relative to ``base`` (default: cwd) when the file lies below it,
    else an absolute ``file://`` URI.  Always forward slashes, percent-encoded."""
    base = os.path.abspath(base or os.getcwd())
    absolute = os.path.abspath(file)
    rel = os.path.relpath(absolute, base)
    if not rel.startswith(os.pardir) and not os.path.isabs(rel):
        return quote(rel.replace(os.sep, "/")), True
    return pathlib.Path(absolute).as_uri(), False


def _location(d: Diagnostic, base: str | None) -> dict[str, Any]:
    uri, relative = artifact_uri(d.file or "", base)
    artifact: dict[str, Any] = {"uri": uri}
    if relative:
        artifact["uriBaseId"] = "%SRCROOT%"
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if d.line:
        physical["region"] = {"startLine": d.line, "startColumn": d.column or 1}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if d.pointer:
        name = d.pointer.rsplit("/", 1)[-1]
        loc["logicalLocations"] = [{"name": name, "fullyQualifiedName": d.pointer,
                                    "kind": "value"}]
    return loc


def _fingerprint(d: Diagnostic, uri: str) -> str:
    key = f"{d.rule}\0{uri}\0{d.record_line or 0}\0{d.pointer}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def sarif_result(d: Diagnostic, rule_index: dict[str, int], base: str | None = None) -> dict:
    """The SARIF ``result`` of one diagnostic."""
    message = d.message + (f"\nhelp: {d.help}" if d.help else "")
    location = _location(d, base)
    out: dict[str, Any] = {
        "ruleId": d.rule,
        "level": LEVELS[d.severity],
        "message": {"text": message},
        "locations": [location],
        "partialFingerprints": {
            "qwenlintPointer/v1": _fingerprint(
                d, location["physicalLocation"]["artifactLocation"]["uri"]),
        },
        "properties": {"name": d.name, "pointer": d.pointer},
    }
    if d.rule in rule_index:
        out["ruleIndex"] = rule_index[d.rule]
    if d.record_line is not None:
        out["properties"]["recordLine"] = d.record_line
    if d.fix is not None:
        out["properties"]["fix"] = d.fix.to_json()
    return out


def document(result: Result, base: str | None = None) -> dict[str, Any]:
    """The SARIF log of ``result`` as plain JSON data."""
    rules = _rules()
    index = {r.code: i for i, r in enumerate(rules)}
    root = os.path.abspath(base or os.getcwd())
    root_uri = pathlib.Path(root).as_uri()
    root_uri += "" if root_uri.endswith("/") else "/"
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "qwenlint",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [reporting_descriptor(r) for r in rules],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
            "columnKind": "unicodeCodePoints",
            "results": [sarif_result(d, index, root) for d in result.diagnostics],
            "properties": {"assumed": list(result.assumed),
                           "files": [r.to_json(path) for path, r in result.readings.items()]},
        }],
    }


def render(result: Result, **_: object) -> str:
    return dumps(document(result))
