"""The wheel holds every package and every bundled template.

pyproject.toml lists the packages by hand (the top-level ``templates/`` folder is mapped to
``qwenlint._templates`` with ``package-dir``, which ``packages.find`` cannot discover), so these
tests fail when a package folder under qwenlint/ or a data file would be silently left out. The
last one builds the wheel from a copy of the checkout and reads the templates from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
PACKAGE_DIR = SETUPTOOLS.get("package-dir", {})
PACKAGE_DATA = SETUPTOOLS.get("package-data", {})


def _source_dir(package: str) -> Path:
    """Where setuptools reads ``package`` from (the nearest mapping in package-dir)."""
    parts = package.split(".")
    for i in range(len(parts), 0, -1):
        mapped = PACKAGE_DIR.get(".".join(parts[:i]))
        if mapped is not None:
            return ROOT / mapped / Path(*parts[i:])
    return ROOT / PACKAGE_DIR.get("", ".") / Path(*parts)


def _is_code(path: Path) -> bool:
    return path.suffix in (".py", ".pyc") or "__pycache__" in path.parts


def test_every_package_folder_is_listed():
    """Every folder under qwenlint/ with Python files (an __init__.py or not) is a listed package."""
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "qwenlint").rglob("*.py") if "__pycache__" not in p.parts}
    listed = set(SETUPTOOLS["packages"])
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"qwenlint._templates"}, "packages listed in pyproject.toml but not found"
    assert _source_dir("qwenlint._templates") == ROOT / "templates"
    assert (ROOT / "templates" / "manifest.json").is_file()
    assert not (ROOT / "qwenlint" / "_templates").exists()  # only a wheel has it


def test_package_data_covers_every_data_file():
    """Each non-Python file in a package folder matches a package-data pattern of its package."""
    packages = sorted(SETUPTOOLS["packages"], key=lambda p: -p.count("."))
    uncovered = []
    for package in packages:
        src = _source_dir(package)
        patterns = PACKAGE_DATA.get(package, []) + PACKAGE_DATA.get("*", [])
        covered = {p for pattern in patterns for p in src.glob(pattern) if p.is_file()}
        inner = [_source_dir(p) for p in packages if p.startswith(package + ".")]
        for f in src.rglob("*"):
            if f.is_file() and not _is_code(f) and not any(d in f.parents for d in inner) \
                    and f not in covered:
                uncovered.append(f.relative_to(ROOT).as_posix())
    assert uncovered == [], "not in the wheel: add a pattern to [tool.setuptools.package-data]"


def test_the_wheel_ships_the_templates_and_reads_them(tmp_path):
    """Build the wheel (offline, with this environment's setuptools), unpack it, and load every
    bundled template from the unpacked copy, as an installed qwenlint would."""
    pytest.importorskip("setuptools")
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("qwenlint", "templates"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    out = tmp_path / "wheel"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        pytest.skip(f"cannot build the wheel offline here: {r.stderr.strip()[-500:]}")
    (wheel,) = out.glob("qwenlint-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"qwenlint/_templates/{p.relative_to(ROOT / 'templates').as_posix()}"
                for p in (ROOT / "templates").rglob("*") if p.is_file() and not _is_code(p)}
    assert expected <= names
    assert {"qwenlint/_templates/manifest.json", "qwenlint/_templates/README.md"} <= expected
    assert not any(n.startswith("templates/") for n in names)

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import qwenlint, qwenlint.template.bundled as b\n"
        f"assert qwenlint.__file__.startswith({str(site)!r}), qwenlint.__file__\n"
        f"assert b.TEMPLATES_DIR == b.Path({str(site / 'qwenlint' / '_templates')!r}), b.TEMPLATES_DIR\n"
        "for family in b.manifest()['families']:\n"
        "    t = b.bundled_template(family)\n"
        "    assert t.status == 'missing' or t.template.source, family\n"
        "print(b.bundled_template('qwen2-vl', 'generation-tag').template.origin_file)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().startswith(str(site / "qwenlint" / "_templates" / "qwen2-vl"))
