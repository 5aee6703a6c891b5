"""Which version of each consumer a check assumes, and why.

A verdict is only right for the version that runs the input: the same part is dropped by
transformers 5.1 and loaded by 5.2, crashes qwen-vl-utils 0.0.14 and is resized silently by 0.0.11
(shared reference versions.md lists the changes and their sources).  :func:`resolve` picks one
version per package, in this order:

1. ``--assume NAME==VERSION`` (config key ``assume``);
2. the package installed in the Python environment named by ``--python PATH`` (config key
   ``python``), else in the one qwenlint runs in (package metadata only: nothing is imported);
3. the newest version the target framework's assumed release allows (``--target llamafactory``:
   LLaMA-Factory 0.9.5 pins ``transformers<=5.6.0``, 0.9.4 ``<=4.57.1``);
4. the newest modelled version.

A version outside the modelled range is modelled as the nearest end of the range, and the report
says so.  Every report lists the versions it assumed, with the reason (:meth:`Versions.describe`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from qwenlint.consumers.base import Target

#: The packages whose version changes a verdict: (oldest, newest) modelled, as released.
#: A range widens only with the branches that model its older releases, each proven against that
#: release by a differential test.
MODELLED: dict[str, tuple[str, str]] = {
    "transformers": ("4.55.4", "5.23.0"),  # vision/processor.py TF_*, consumers/transformers.py
    "qwen-vl-utils": ("0.0.10", "0.0.14"),  # branches: vision/qvu.py, consumers/qwen_vl_utils.py; 0.0.12 was never released
    "vllm": ("0.23.0", "0.34.0"),  # the render servers the differential tests run
    # tests/differential/test_llamafactory.py runs 0.9.4 and 0.9.5's own dataset code
    "llamafactory": ("0.9.4", "0.9.5"),
    # tests/differential/test_ms_swift.py runs 3.12.6 (the last 3.x) and 4.6.0's own dataset code
    "ms-swift": ("3.12.6", "4.6.0"),
    # tests/differential/test_qwen_omni_utils.py runs 0.0.9's process_mm_info
    "qwen-omni-utils": ("0.0.9", "0.0.9"),
}

#: The package that is each framework (its release decides the two tables below).
FRAMEWORK_PACKAGE: dict[Target, str] = {Target.LLAMAFACTORY: "llamafactory", Target.MS_SWIFT: "ms-swift"}

#: The newest transformers each framework release allows (its install requirement), and why: per
#: target, (the first release it holds for, pins), oldest first.
_FRAMEWORK_PINS: dict[Target, tuple[tuple[str, dict[str, tuple[str, str]]], ...]] = {
    Target.LLAMAFACTORY: (
        ("0.9.4", {"transformers": ("4.57.1", "LLaMA-Factory 0.9.4 requires transformers<=4.57.1")}),
        ("0.9.5", {"transformers": ("5.6.0", "LLaMA-Factory 0.9.5 requires transformers<=5.6.0")}),
    ),
    Target.MS_SWIFT: tuple(
        (release, {"transformers": (newest, f"ms-swift {release} requires transformers<{below}")})
        for release, below, newest in (("3.12.6", "4.58", "4.57.6"), ("4.0.0", "5.3.0", "5.2.0"),
                                       ("4.1.0", "5.6.0", "5.5.4"), ("4.2.0", "5.9.0", "5.8.1"),
                                       ("4.3.0", "5.11.0", "5.10.4"), ("4.4.0", "5.13.0", "5.12.1"),
                                       ("4.5.0", "5.17.0", "5.16.1"), ("4.6.0", "5.20.0", "5.19.0"))),
}

#: What each framework release requires of a modelled package, at start-up (it refuses to run
#: otherwise): per target, (the first release it holds for, requirements), oldest first; a
#: requirement is (package, specifier, the families it applies to (empty: all), how it refuses).
#: LLaMA-Factory ``extras/misc.py:check_dependencies`` (skipped with DISABLE_VERSION_CHECK=1;
#: 0.9.4 allows transformers 4.51.0 to 4.57.1, 0.9.5 4.55.0 to 5.6.0, neither 4.52.0 nor 4.57.0);
#: ms-swift: the transformers its wheel requires (3.12.6, the last 3.x: <4.58; each 4.x minor read
#: from its .0 release's metadata), and ``require_version`` in its Qwen-VL model registrations, the
#: same in 3.12.6 and 4.6.0 (qwen-vl-utils 0.0.12 was never released: "<0.0.12 or >=0.0.14" is
#: written as "!=0.0.12,!=0.0.13").
FRAMEWORK_REQUIREMENTS: dict[Target, tuple[tuple[str, tuple[tuple[str, str, tuple[str, ...], str], ...]], ...]] = {
    Target.LLAMAFACTORY: (
        ("0.9.4", (("transformers", ">=4.51.0,<=4.57.1,!=4.52.0,!=4.57.0", (),
                    "LLaMA-Factory 0.9.4 stops at start-up (ImportError from check_dependencies; "
                    "DISABLE_VERSION_CHECK=1 skips the check)"),)),
        ("0.9.5", (("transformers", ">=4.55.0,<=5.6.0,!=4.57.0", (),
                    "LLaMA-Factory 0.9.5 stops at start-up (ImportError from check_dependencies; "
                    "DISABLE_VERSION_CHECK=1 skips the check)"),)),
    ),
    Target.MS_SWIFT: tuple(
        (release, (
            ("transformers", f">=4.33,<{below}", (), f"ms-swift {release} does not install or start with it"),
            ("qwen-vl-utils", "!=0.0.12,!=0.0.13", ("qwen2-vl", "qwen2.5-vl"),
             f"ms-swift {release} refuses it when it loads a Qwen2-VL / Qwen2.5-VL model (ImportError from require_version)"),
            ("qwen-vl-utils", ">=0.0.14", ("qwen3-vl",),
             f"ms-swift {release} refuses it when it loads a Qwen3-VL model (ImportError from require_version)"),
        ))
        for release, below in (("3.12.6", "4.58"), ("4.0.0", "5.3.0"), ("4.1.0", "5.6.0"), ("4.2.0", "5.9.0"),
                               ("4.3.0", "5.11.0"), ("4.4.0", "5.13.0"), ("4.5.0", "5.17.0"), ("4.6.0", "5.20.0"))),
}


def for_release(table: Mapping[Target, tuple[tuple[str, Any], ...]], target: Target,
                release: Version | None) -> Any:
    """The entry of a per-release ``table`` that holds for ``target`` at ``release``: the newest
    whose first release is not after it (the oldest for an older release; None: no entry)."""
    rows = table.get(target, ())
    if not rows:
        return None
    chosen = rows[0][1]
    for first, value in rows:
        if release is not None and Version(first) <= release:
            chosen = value
    return chosen


#: The packages each consumer's verdicts depend on.
PACKAGES: dict[Target, tuple[str, ...]] = {
    Target.QWEN_VL_UTILS: ("qwen-vl-utils", "transformers"),
    Target.TRANSFORMERS: ("transformers",),
    # the server environment's transformers: vLLM 0.30's video loader lookup (consumers/vllm/server.py)
    Target.VLLM: ("vllm", "transformers"),
    Target.LLAMAFACTORY: ("llamafactory", "transformers"),
    Target.MS_SWIFT: ("ms-swift", "qwen-vl-utils", "transformers"),
    Target.QWEN_FINETUNE: ("qwen-vl-utils", "transformers"),
    Target.QWEN_OMNI_UTILS: ("qwen-omni-utils", "transformers"),
}

_SUBPROCESS_SECONDS = 20


@dataclass(frozen=True)
class Assumed:
    """One package's version as the check models it."""

    name: str
    version: Version  #: the version modelled (inside the modelled range)
    why: str  #: where it came from ("--assume", "installed in /usr/bin/python3", ...)
    given: str | None = None  #: the version named or installed, when outside the range

    def __str__(self) -> str:
        if self.given is None:
            return f"{self.name} {self.version} ({self.why})"
        lo, hi = MODELLED[self.name]
        span = hi if lo == hi else f"{lo} to {hi}"
        return f"{self.name} {self.given} ({self.why}) as {self.version}: only {span} is modelled"


@dataclass(frozen=True)
class Versions:
    """The version of every modelled package a run assumes."""

    packages: Mapping[str, Assumed] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Version:
        return self.packages[name].version

    def at_least(self, name: str, version: str) -> bool:
        """Whether the assumed ``name`` is ``version`` or later (a branch point of its behaviour)."""
        return self[name] >= Version(version)

    def refused(self, target: Target, family: str) -> list[tuple[Assumed, str]]:
        """The assumed versions ``target`` refuses to run with for a ``family`` model, each with
        what the framework requires and does (:data:`FRAMEWORK_REQUIREMENTS`)."""
        from packaging.specifiers import SpecifierSet  # ~5 ms: only where a framework is checked

        out = []
        target = Target(target)
        framework = self.packages.get(FRAMEWORK_PACKAGE.get(target, ""))
        rows = for_release(FRAMEWORK_REQUIREMENTS, target, framework.version if framework else None)
        for name, requirement, families, how in rows or ():
            a = self.packages.get(name)
            if a is None or (families and family not in families):
                continue
            spec = SpecifierSet(requirement)
            if not spec.contains(a.given or str(a.version), prereleases=True):
                out.append((a, f"requires {name}{spec}: {how}"))
        return out

    def describe(self, targets: Iterable[Target]) -> list[str]:
        """One line per package the given consumers depend on."""
        names = dict.fromkeys(n for t in targets for n in PACKAGES.get(Target(t), ()))
        return [str(self.packages[n]) for n in names if n in self.packages]


def parse_assume(values: Iterable[str]) -> dict[str, str]:
    """``["transformers==5.6.0", ...]`` as a mapping; ValueError names a bad entry."""
    out: dict[str, str] = {}
    for raw in values:
        name, sep, version = str(raw).partition("==")
        name = name.strip().lower().replace("_", "-")
        if name == "qwen_vl_utils":
            name = "qwen-vl-utils"
        if not sep or not version.strip():
            raise ValueError(f"--assume {raw!r}: write NAME==VERSION, for example transformers==5.6.0")
        if name not in MODELLED:
            raise ValueError(f"--assume {raw!r}: {name!r} is not a modelled package "
                             f"(one of {', '.join(MODELLED)})")
        try:
            Version(version.strip())
        except InvalidVersion:
            raise ValueError(f"--assume {raw!r}: {version.strip()!r} is not a version") from None
        out[name] = version.strip()
    return out


def installed(python: str | None = None) -> tuple[dict[str, str], str]:
    """The modelled packages installed in ``python``'s environment (None: this process's), read
    from package metadata without importing them, and how to say where they came from."""
    if python is None:
        import importlib.metadata as md

        found = {}
        for name in MODELLED:
            try:
                found[name] = md.version(name)
            except md.PackageNotFoundError:
                pass
        return found, "installed in this environment"
    import subprocess

    code = ("import importlib.metadata as m, json, sys\nout = {}\nfor n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))")
    try:
        proc = subprocess.run([python, "-I", "-c", code, *MODELLED], capture_output=True, text=True,
                              timeout=_SUBPROCESS_SECONDS, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        raise ValueError(f"--python {python}: cannot run it ({e})") from None
    try:
        found = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ValueError(f"--python {python}: it did not answer as a Python interpreter "
                         f"({(proc.stderr or proc.stdout).strip()[:200]!r})") from None
    return {str(k): str(v) for k, v in found.items() if k in MODELLED}, f"installed in {python}"


def resolve(assume: Mapping[str, str] | Iterable[str] = (), python: str | None = None,
            target: Target | None = None, *, found: tuple[dict[str, str], str] | None = None) -> Versions:
    """The versions a run assumes (see the module docstring).  ``found``: what :func:`installed`
    returns, when the caller has it already.  Raises ValueError for a bad ``--assume`` or
    ``--python``."""
    named = dict(assume) if isinstance(assume, Mapping) else parse_assume(assume)
    present, where = found if found is not None else installed(python)
    out: dict[str, Assumed] = {}
    framework = FRAMEWORK_PACKAGE.get(Target(target)) if target is not None else None
    # the framework first: which of its releases is assumed decides the pins of the others
    order = sorted(MODELLED, key=lambda n: n != framework)
    pins: dict[str, tuple[str, str]] = {}
    for name in order:
        lo, hi = MODELLED[name]
        if name in named:
            version, why = named[name], "--assume"
        elif name in present:
            version, why = present[name], where
        elif name in pins:
            version, why = pins[name]
        else:
            version, why = hi, "the newest modelled"
        v = Version(version)
        if v < Version(lo) or v > Version(hi):
            out[name] = Assumed(name, Version(lo if v < Version(lo) else hi), why, given=version)
        else:
            out[name] = Assumed(name, v, why)
        if name == framework:
            pins = for_release(_FRAMEWORK_PINS, Target(target), out[name].version) or {}
    return Versions({n: out[n] for n in MODELLED})
