"""The official chat templates of the repository's top-level ``templates/`` folder, by family.

``templates/manifest.json`` lists, per family (and per named variant), the file, its sha256, the
checkpoint file the text is of, where the text was read and how it was checked. A manifest entry's
``status`` is one of

* ``"verified"``: the text is tied to the official checkpoint file (a pinned hash, the hub's file
  size, an independent second copy);
* ``"unverified-text"``: a file is bundled, but from a single source that could not be tied to the
  official file (Qwen3-Omni); :attr:`BundledTemplate.status` keeps this value and
  :attr:`BundledTemplate.reason` says why, so whatever names the template can say it is unverified;
* ``"unverified"``: no file; a stated ``fallback`` family (or none) and a ``reason``.

Nothing here is invented: a missing template is reported as missing. ``templates/README.md`` says
how a file is verified and added; docs/templates.md has the provenance of each file.

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

#: ``verified``: an official text; ``unverified-text``: a bundled text NOT tied to the official file
#: (``reason`` says why); ``fallback``: another family's template stands in (``resolved_family``);
#: ``missing``: no template at all.
Status = Literal["verified", "unverified-text", "fallback", "missing"]

#: The manifest statuses of an entry with a file, as :data:`Status` values.
_FILE_STATUS: dict[str, Status] = {"verified": "verified", "unverified-text": "unverified-text"}


@dataclass(frozen=True)
class BundledTemplate:
    """The bundled template for a family: ``template`` is None when there is neither one nor a fallback."""

    family: str
    status: Status
    template: LoadedTemplate | None
    resolved_family: str | None  # the family whose template was returned (differs on fallback)
    reason: str | None  # why it is a fallback / missing / an unverified text (None when verified)

    @property
    def verified(self) -> bool:
        """Whether the template returned is the family's own official text."""
        return self.status == "verified"

    @property
    def label(self) -> str:
        """How to name the template in a message; says so when it is an unverified text or a fallback."""
        name = self.resolved_family or self.family
        if self.status == "unverified-text":
            return f"the bundled {name} template (unverified text, not the confirmed official file)"
        if self.status == "fallback":
            return f"the bundled {name} template (a fallback for {self.family}, whose official template was not found)"
        return f"the bundled {name} template"

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
    """The bundled template of ``family`` (the keys of the manifest's ``families``: ``qwen2-vl``,
    ``qwen2.5-vl``, ``qwen3-vl``, ``qwen3-vl-thinking``, ``qwen3.5``, ``qwen3.6``, ``qwen2.5-omni``,
    ``qwen3-omni``, ``qwen4-exp``), or its stated fallback.

    ``variant`` picks a listed variant: ``"generation-tag"`` for qwen2-vl (the hub file with
    ``{% generation %}``), ``"small"`` for qwen3.5 (the Qwen3.5-2B-and-smaller text, thinking off by
    default; the family default is the 4B-and-larger text, thinking on), ``"thinking"`` for
    qwen3-omni (the Thinking model's text; both Qwen3-Omni texts are ``unverified-text``).
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
        status = _FILE_STATUS.get(entry["status"])
        if status is None:
            raise TemplateLoadError(f"bundled template {entry['file']} has an unknown status {entry['status']!r} "
                                    "in templates/manifest.json")
        reason = None if status == "verified" else entry.get("verified")
        return BundledTemplate(family, status, _load(entry["file"], entry["sha256"], variant or family), family, reason)
    fallback = entry.get("fallback")
    if fallback:
        inner = bundled_template(fallback)
        return BundledTemplate(family, "fallback", inner.template, fallback, entry["reason"])
    return BundledTemplate(family, "missing", None, None, entry["reason"])
