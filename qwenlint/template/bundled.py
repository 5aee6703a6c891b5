"""The official chat templates of the repository's top-level ``templates/`` folder, by family.

``templates/manifest.json`` lists, per family, the file, its sha256, the checkpoint file the text
is of, where the text was read and how it was checked; families whose official template was not
found are ``"unverified"`` with a stated fallback (or none). Nothing here is invented: a missing
template is reported as missing. ``templates/README.md`` says how a file is verified and added;
docs/templates.md has the provenance of each file.

Where the folder is (:data:`TEMPLATES_DIR`): a wheel installs it as the data-only package
``qwenlint._templates`` (``package-dir`` in pyproject.toml), i.e. ``qwenlint/_templates/`` beside
this package; a source checkout (an editable install, or the checkout on ``PYTHONPATH``) has no
such folder and reads ``templates/`` beside ``qwenlint/``. Each file's sha256 is checked on load.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from qwenlint.template.errors import TemplateLoadError
from qwenlint.template.load import LoadedTemplate

__all__ = ["BundledTemplate", "TEMPLATES_DIR", "bundled_template", "manifest"]


def _templates_dir() -> Path:
    package = Path(__file__).resolve().parents[1]  # qwenlint/
    installed = package / "_templates"  # a wheel: templates/ installed as qwenlint._templates
    checkout = package.parent / "templates"  # a source checkout: <repo>/templates
    if not (installed / "manifest.json").is_file() and (checkout / "manifest.json").is_file():
        return checkout
    return installed


#: The folder of ``manifest.json`` and the per-family ``.jinja`` files.
TEMPLATES_DIR = _templates_dir()

Status = Literal["verified", "assumed-identical", "fallback", "missing"]


@dataclass(frozen=True)
class BundledTemplate:
    """The bundled template for a family: ``template`` is None when there is neither one nor a fallback."""

    family: str
    status: Status
    template: LoadedTemplate | None
    resolved_family: str | None  # the family whose template was returned (differs on fallback)
    reason: str | None  # why it is a fallback / missing / assumed

    @property
    def source(self) -> str:
        if self.template is None:
            raise TemplateLoadError(f"no bundled template for {self.family}: {self.reason}")
        return self.template.source


@lru_cache(maxsize=1)
def manifest() -> dict[str, Any]:
    """``templates/manifest.json``."""
    path = TEMPLATES_DIR / "manifest.json"
    if not path.is_file():
        raise TemplateLoadError(
            f"the bundled templates are missing ({path} not found): reinstall qwenlint", file=str(path))
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@lru_cache(maxsize=32)
def _load(relative: str, sha256: str, name: str) -> LoadedTemplate:
    path = TEMPLATES_DIR / relative
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise TemplateLoadError(f"bundled template {relative} has sha256 {actual}, manifest says {sha256}", file=str(path))
    return LoadedTemplate(data.decode("utf-8"), str(path), "bundled", None, actual, name)


def bundled_template(family: str, variant: str | None = None) -> BundledTemplate:
    """The bundled official template of ``family`` (``qwen2-vl``, ``qwen2.5-vl``, ``qwen3-vl``,
    ``qwen3-vl-thinking``, ``qwen3.5``, ``qwen2.5-omni``, ``qwen3-omni``), or its stated fallback.

    ``variant`` picks a listed variant (``"generation-tag"`` for qwen2-vl).
    """
    families = manifest()["families"]
    if family not in families:
        raise KeyError(f"unknown family {family!r}; known: {', '.join(families)}")
    entry = families[family]
    if variant is not None:
        entry = entry.get("variants", {}).get(variant)
        if entry is None:
            raise KeyError(f"{family} has no bundled variant {variant!r}")
    if entry.get("file"):
        status: Status = "verified" if entry["status"] == "verified" else "assumed-identical"
        reason = None if status == "verified" else entry.get("verified")
        return BundledTemplate(family, status, _load(entry["file"], entry["sha256"], variant or family), family, reason)
    fallback = entry.get("fallback")
    if fallback:
        inner = bundled_template(fallback)
        return BundledTemplate(family, "fallback", inner.template, fallback, entry["reason"])
    return BundledTemplate(family, "missing", None, None, entry["reason"])
