"""The import rule of docs/design.md, and the middle layer's conventions, checked on the code.

* ``lint-imports`` (import-linter, contracts in pyproject.toml): each layer imports only the layers
  below it, reporters never import the engine, stages never import the rules, the leaves import
  nothing of qwenlint outside themselves, no cycles between the modules of a package.
* No private name crosses modules: no ``from x import _name`` and no ``x._name`` on an imported
  module, except a package's private submodule (``media/_movscan.py``) used within that package.
* Rules only read their context: no rule assigns to ``ctx`` or mutates what it holds, and no rule
  module keeps state of its own.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qwenlint"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> list[tuple[str, Path, ast.Module]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        out.append((_module_name(path), path, ast.parse(path.read_text(encoding="utf-8"))))
    return out


def _package_of(module: str, path: Path) -> str:
    """The private scope of a module: its subpackage (a module directly under qwenlint/ is a
    scope of its own)."""
    pkg = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return module if pkg == "qwenlint" else pkg


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT / rel).with_suffix(".py").is_file() or (ROOT / rel / "__init__.py").is_file()


def _within(importer_pkg: str, target: str) -> bool:
    """``target`` lies inside the importer's package (its own private parts)."""
    return target == importer_pkg or target.startswith(importer_pkg + ".")


def test_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe is not None, "import-linter is not installed: pip install -e '.[dev]'"
    out = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def private_crossings() -> list[str]:
    bad = []
    for module, path, tree in _modules():
        pkg = _package_of(module, path)
        aliases: dict[str, str] = {}  # local name -> imported qwenlint module
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("qwenlint"):
                        aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "qwenlint"
                        if any(_private(p) for p in a.name.split(".")) and not _within(pkg, a.name):
                            bad.append(f"{module}: import {a.name}")
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qwenlint"):
                for a in node.names:
                    target = f"{node.module}.{a.name}"
                    aliases[a.asname or a.name] = target
                    private_parts = [p for p in node.module.split(".") if _private(p)]
                    if private_parts and not _within(pkg, node.module):
                        bad.append(f"{module}: from {node.module} import {a.name}")
                    elif _private(a.name) and not (_is_module(target) and _within(pkg, target)):
                        bad.append(f"{module}: from {node.module} import {a.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                    _private(node.attr) and node.value.id in aliases:
                target = f"{aliases[node.value.id]}.{node.attr}"
                if not (_is_module(target) and _within(pkg, target)):
                    bad.append(f"{module}: {node.value.id}.{node.attr}")
    return bad


def test_no_private_name_crosses_modules():
    assert private_crossings() == []


#: Methods that change a container in place.
_MUTATORS = {"append", "extend", "add", "update", "setdefault", "pop", "popitem", "clear",
             "remove", "discard", "insert", "sort"}


def _ctx_rooted(node: ast.AST) -> bool:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return isinstance(node, ast.Name) and node.id == "ctx"


def test_rules_only_read_their_context():
    bad = []
    for module, path, tree in _modules():
        if not module.startswith("qwenlint.rules."):
            continue
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, ast.Delete):
                targets = node.targets
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in _MUTATORS and _ctx_rooted(node.func.value):
                bad.append(f"{module}:{node.lineno}: ctx...{node.func.attr}()")
            elif isinstance(node, ast.Global):
                bad.append(f"{module}:{node.lineno}: global {', '.join(node.names)}")
            for t in targets:
                if isinstance(t, (ast.Attribute, ast.Subscript)) and _ctx_rooted(t):
                    bad.append(f"{module}:{node.lineno}: assigns to {ast.unparse(t)}")
    assert bad == []


def test_the_checks_above_can_fail(tmp_path, monkeypatch):
    """The private-name scan finds a crossing and an attribute access when there is one."""
    fake = {"qwenlint.x": (PACKAGE / "x.py", ast.parse(
        "from qwenlint.load.positions import _unquote\nimport qwenlint.fix as f\nf._line_spans('')\n"))}
    monkeypatch.setattr(sys.modules[__name__], "_modules",
                        lambda: [(m, p, t) for m, (p, t) in fake.items()])
    assert private_crossings() == ["qwenlint.x: from qwenlint.load.positions import _unquote",
                                   "qwenlint.x: f._line_spans"]
