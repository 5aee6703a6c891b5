"""Project configuration: ``[tool.qwenlint]`` in ``pyproject.toml``, or a ``qwenlint.toml``.

For each checked file, the file is found by walking up from that file's directory, as ruff
does (:mod:`qwenlint.discovery`, once per directory; :func:`discover` from the current directory
gives the working directory's, whose ``force-exclude`` and ``respect-gitignore`` apply to the
run); ``--config PATH`` names one for every file, ``--isolated`` ignores them all.  In each
directory ``qwenlint.toml`` (top-level keys, like ``ruff.toml``) wins over ``pyproject.toml``; a
``pyproject.toml`` without a ``[tool.qwenlint]`` table is skipped, as ruff does.  Keys (kebab-case)::

    [tool.qwenlint]
    family = "qwen2.5-vl"
    model = "checkpoints/Qwen2.5-VL-7B-Instruct"   # relative to the config file
    template = "templates/chat_template.jinja"
    target = "qwen-vl-utils"
    max-model-len = 32768
    media-root = "data/media"
    media-io-kwargs = {video = {fps = 1, max_frames = 64}}   # vLLM's --media-io-kwargs
    vllm-args = "--max-model-len 32k --trust-request-mm-kwargs"  # the vllm serve flags
    swift-args = "swift rlhf --rlhf_type dpo --max_length 4096"  # the swift sft / rlhf arguments
    select = ["QL1", "QL2"]
    extend-select = ["QL5"]        # added to select (ruff's extend-select)
    ignore = ["QL207"]
    output-format = "text"         # check's --output-format: text, json, sarif, github, html
    engine = "local"               # check's --engine: local, or ray (qwenlint.ray)
    extend-exclude = ["data/raw"]      # file discovery: also leave these out of directory walks
    # exclude = [...]                  # replaces DEFAULT_EXCLUDE (hidden entries, venv, build, ...)
    # force-exclude = true             # excludes apply to files named on the command line too
    # respect-gitignore = false        # default true

    [tool.qwenlint.per-file-ignores]
    "data/legacy/*.jsonl" = ["QL205"]
    "**/vllm_*.json" = ["part-dropped-by-consumer"]

Command-line flags override the file: ``--select`` replaces ``select`` and ``extend-select``;
``--extend-select`` and ``--ignore`` add to ``extend-select`` and ``ignore``; ``--output-format``
replaces ``output-format``.  Without any ``select`` every rule is selected, so ``extend-select``
only widens a ``select``.  ``swift-args``' ``--max_length`` is the budget ``max-model-len`` is: when both are
in effect they must be equal (else exit 2), except that a ``--swift-args`` max_length on the command
line replaces the file's ``max-model-len``, as any command-line budget replaces the file's.  Relative paths in the file are relative to the file's directory; per-file-ignores
and exclude globs are matched against paths relative to it (:mod:`qwenlint.globs`: ``*`` stays
within a directory, ``**`` crosses directories, ``{a,b}`` alternates, a leading ``!`` negates in
per-file-ignores, and a pattern without ``/`` also matches the base name); ``--exclude`` replaces
``exclude`` and ``--extend-exclude`` adds, their globs relative to the working directory.  A
config that cannot be read, or has an unknown key or a bad value, is a :class:`ConfigError`: the
CLI prints its one-line message and exits 2.
"""

from __future__ import annotations

import difflib
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from qwenlint import remote
from qwenlint.consumers.versions import parse_assume
from qwenlint.diagnostics import Diagnostic
from qwenlint.fsio import open_regular
from qwenlint.globs import matches, relative
from qwenlint.load.files import DEFAULT_EXCLUDE
from qwenlint.options import ENGINES, FAMILIES, FORMATS, Options

CONFIG_NAMES = ("qwenlint.toml", "pyproject.toml")

#: Every key the configuration accepts (``exit-zero`` is deliberately CLI-only, as in ruff).
KEYS = ("family", "model", "template", "target", "max-model-len", "media-root", "framework-config",
        "use-audio-in-video", "media-io-kwargs",
        "vllm-args", "swift-args", "assume", "python",
        "select", "extend-select", "ignore", "per-file-ignores", "output-format", "engine",
        "exclude", "extend-exclude", "force-exclude", "respect-gitignore",
        "allow-network", "storage-options")


class ConfigError(Exception):
    """The configuration cannot be used; ``str(err)`` is one line naming the file and problem."""


@dataclass(frozen=True)
class Config:
    """A loaded configuration: option values (``Options`` field names) and per-file ignores."""

    path: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    output_format: str | None = None  # ``output-format``: check's --output-format when not given
    engine: str | None = None  # ``engine``: check's --engine when not given (ENGINES)
    #: File discovery (qwenlint.discovery): ``exclude`` (None: DEFAULT_EXCLUDE), ``extend-exclude``,
    #: and the two switches (None: not set here).
    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    force_exclude: bool | None = None
    respect_gitignore: bool | None = None

    @property
    def root(self) -> str:
        """The directory that relative paths and per-file-ignores globs are relative to."""
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def apply(self, options: Options) -> Options:
        """``options`` (from the command line) completed with this file's values.

        A value given on the command line wins; ``ignore`` lists are joined.
        """
        changes: dict[str, Any] = {}
        for name, value in self.values.items():
            if name in ("ignore", "assume"):  # joined; for assume, a command-line entry wins
                changes[name] = tuple(value) + tuple(getattr(options, name))
            elif name == "extend_select":  # joined, unless --select replaced the file's selection
                if not options.select:
                    changes[name] = tuple(value) + tuple(options.extend_select)
            elif name == "storage_options":  # a table, or KEY=VALUE strings
                if not options.storage_options:
                    changes[name] = value
            elif name in ("select", "vllm_args", "swift_args"):
                if not getattr(options, name):
                    changes[name] = tuple(value)
            elif getattr(options, name) is None:
                changes[name] = value
        return replace(options, **changes)

    def exclusions(self, exclude: tuple[str, ...] | None = None,
                   extend_exclude: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
        """The ``(glob, root)`` pairs that exclude a path under this configuration, as ruff reads
        them: the command line's ``exclude`` (relative to the working directory) replaces this
        file's, which replaces :data:`DEFAULT_EXCLUDE`; both ``extend-exclude`` lists are added."""
        cwd = os.getcwd()
        if exclude is not None:
            base = tuple((p, cwd) for p in exclude)
        else:
            base = tuple((p, self.root) for p in
                         (self.exclude if self.exclude is not None else DEFAULT_EXCLUDE))
        return (base + tuple((p, self.root) for p in self.extend_exclude)
                + tuple((p, cwd) for p in extend_exclude))

    def filter(self, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
        """The diagnostics that no per-file-ignores entry suppresses."""
        return filter_per_file_ignores(diagnostics, self.per_file_ignores, self.root)


# --- finding and reading ---------------------------------------------------------------------


def _has_tool_table(path: str) -> bool:
    """Whether a ``pyproject.toml`` holds ``[tool.qwenlint]``.

    A broken file that mentions ``tool.qwenlint`` is ours and is reported; any other unreadable
    ``pyproject.toml`` is someone else's and is skipped.
    """
    try:
        with open_regular(path) as f:
            raw = f.read()
    except OSError:
        return False
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as e:
        if b"tool.qwenlint" in raw:
            raise ConfigError(f"{path}: invalid TOML: {_toml_error(e)}") from None
        return False
    return isinstance(data.get("tool"), dict) and "qwenlint" in data["tool"]


def _toml_error(e: Exception) -> str:
    """tomllib's message; its parser recurses once per nesting level, so a value nested past
    Python's recursion limit is a RecursionError: said so, not an internal error."""
    return "nested too deeply to read" if isinstance(e, RecursionError) else str(e)


def config_in(directory: str) -> str | None:
    """The configuration file of ``directory`` itself: its ``qwenlint.toml``, else its
    ``pyproject.toml`` when that has ``[tool.qwenlint]``; None when neither."""
    for name in CONFIG_NAMES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and (name == "qwenlint.toml" or _has_tool_table(candidate)):
            return candidate
    return None


def find_config(start: str | None = None) -> str | None:
    """The nearest ``qwenlint.toml``, or ``pyproject.toml`` with ``[tool.qwenlint]``, upward from
    ``start`` (default: the current directory); None when there is none."""
    directory = os.path.abspath(start or os.getcwd())
    while True:
        found = config_in(directory)
        if found is not None:
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load_config(path: str) -> Config:
    """Read and validate one configuration file (``qwenlint.toml`` or ``pyproject.toml``)."""
    try:
        with open_regular(path) as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ConfigError(f"{path}: invalid TOML: {_toml_error(e)}") from None
    if os.path.basename(path) == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("qwenlint") if isinstance(tool, dict) else None
        if table is None:
            return Config(path=path)  # named with --config but has no [tool.qwenlint]: nothing set
        where = "[tool.qwenlint]"
    else:
        table, where = data, os.path.basename(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {where} must be a table")
    return _validate(path, table, where)


def discover(config_path: str | None = None, isolated: bool = False,
             start: str | None = None) -> Config:
    """The configuration the CLI uses: ``--config PATH``, else the nearest file, else empty."""
    if isolated:
        return Config()
    path = config_path or find_config(start)
    if path is None:
        return Config()
    if config_path and not os.path.isfile(config_path):
        raise ConfigError(f"{config_path}: no such configuration file")
    return load_config(path)


# --- validation ------------------------------------------------------------------------------


def _did_you_mean(key: str, candidates: Iterable[str]) -> str:
    norm = key.replace("_", "-").lower()
    close = difflib.get_close_matches(norm, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _strings(path: str, key: str, value: Any) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key!r} must be a string or a list of strings")
    return tuple(value)


def _str_list(path: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{path}: {key!r} must be a list of rule codes, prefixes or names")
    codes = tuple(s.strip() for v in value for s in v.split(",") if s.strip())
    _check_selectors(path, key, codes)
    return codes


def _check_selectors(path: str, key: str, codes: Iterable[str]) -> None:
    from qwenlint.rules import (
        select_rules,  # the registry; imported late to keep config light
    )

    bad = [c for c in codes if c.upper() != "ALL" and not select_rules((c,))]
    if bad:
        raise ConfigError(f"{path}: {key!r}: no rule matches {', '.join(map(repr, bad))}")


def _validate(path: str, table: dict[str, Any], where: str) -> Config:
    unknown = [k for k in table if k not in KEYS]
    if unknown:
        k = unknown[0]
        hint = _did_you_mean(k, KEYS)
        if k == "exit-zero":
            hint = " (exit-zero is a command-line flag only)"
        names = ", ".join(repr(u) for u in unknown)
        raise ConfigError(f"{path}: unknown key{'s' * (len(unknown) > 1)} {names} in {where}{hint}")
    root = os.path.dirname(os.path.abspath(path))
    values: dict[str, Any] = {}
    pfi: tuple[tuple[str, tuple[str, ...]], ...] = ()
    output_format = engine = None
    walk: dict[str, Any] = {}  # the discovery fields of Config
    for key, value in table.items():
        if key == "family":
            if value not in FAMILIES:
                raise ConfigError(f"{path}: family {value!r} is not one of {', '.join(FAMILIES)}"
                                  + _did_you_mean(str(value), FAMILIES))
            values["family"] = value
        elif key == "target":
            from qwenlint.consumers import TARGETS

            if value not in TARGETS:
                raise ConfigError(f"{path}: target {value!r} is not one of {', '.join(TARGETS)}"
                                  + _did_you_mean(str(value), TARGETS))
            values["target"] = value
        elif key == "max-model-len":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{path}: max-model-len must be a positive integer, "
                                  f"not {value!r}")
            values["max_model_len"] = value
        elif key in ("model", "template", "media-root", "framework-config"):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{path}: {key} must be a path (a string)")
            if key == "media-root" and remote.is_url(value):  # media in object storage
                values["media_root"] = value
                continue
            resolved = os.path.normpath(os.path.join(root, os.path.expanduser(value)))
            if key == "model" and not os.path.isdir(resolved):
                raise ConfigError(f"{path}: model {value!r} is not a directory")
            if key in ("template", "framework-config") and not os.path.isfile(resolved):
                raise ConfigError(f"{path}: {key} {value!r} is not a file")
            if key == "framework-config":
                try:
                    Options(framework_config=resolved)
                except ValueError as e:
                    raise ConfigError(f"{path}: framework-config: {e}") from None
            values[key.replace("-", "_")] = resolved
        elif key == "allow-network":
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: allow-network must be true or false, not {value!r}")
            values["allow_network"] = value
        elif key == "storage-options":  # a table, or KEY=VALUE strings as on the command line
            try:
                if not isinstance(value, dict):
                    value = _strings(path, key, value)
                remote.parse_storage_options(value)
            except ValueError as e:
                raise ConfigError(f"{path}: storage-options: {e}") from None
            values["storage_options"] = value
        elif key == "use-audio-in-video":
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: use-audio-in-video must be true or false, not {value!r}")
            values["use_audio_in_video"] = value
        elif key == "media-io-kwargs":
            try:
                from qwenlint.consumers.vllm import parse_media_io_kwargs

                values["media_io_kwargs"] = parse_media_io_kwargs(value)
            except ValueError as e:
                raise ConfigError(f"{path}: media-io-kwargs: {e}") from None
        elif key in ("vllm-args", "swift-args"):  # a consumer's command line, parsed as Options does
            args = _strings(path, key, value)
            name = key.replace("-", "_")
            try:
                values[name] = getattr(Options(**{name: " ".join(args) if isinstance(value, str) else args}), name)
            except ValueError as e:
                raise ConfigError(f"{path}: {key}: {e}") from None
        elif key == "assume":
            entries = _strings(path, key, value)
            try:
                parse_assume(entries)
            except ValueError as e:
                raise ConfigError(f"{path}: assume: {e}") from None
            values["assume"] = entries
        elif key == "python":
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{path}: python must be the path of a Python interpreter")
            # a path is relative to the file; a bare name ("python3") is looked up on PATH
            values["python"] = (os.path.normpath(os.path.join(root, os.path.expanduser(value)))
                                if os.sep in value or "/" in value else value)
        elif key in ("select", "extend-select", "ignore"):
            values[key.replace("-", "_")] = _str_list(path, key, value)
        elif key == "output-format":
            if value not in FORMATS:
                raise ConfigError(f"{path}: output-format {value!r} is not one of {', '.join(FORMATS)}"
                                  + _did_you_mean(str(value), FORMATS))
            output_format = value
        elif key == "engine":
            if value not in ENGINES:
                raise ConfigError(f"{path}: engine {value!r} is not one of {', '.join(ENGINES)}")
            engine = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: per-file-ignores must be a table of glob = [codes]")
            pfi = tuple((pattern, _str_list(path, f"per-file-ignores.{pattern}", codes))
                        for pattern, codes in value.items())
        elif key in ("exclude", "extend-exclude"):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(f"{path}: {key} must be a list of globs (strings)")
            walk[key.replace("-", "_")] = tuple(value)
        elif key in ("force-exclude", "respect-gitignore"):
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: {key} must be true or false, not {value!r}")
            walk[key.replace("-", "_")] = value
    return Config(path=path, values=values, per_file_ignores=pfi, output_format=output_format,
                  engine=engine, **walk)


# --- per-file ignores ------------------------------------------------------------------------


def ignored_codes(file: str, per_file_ignores: Iterable[tuple[str, tuple[str, ...]]],
                  root: str) -> set[str]:
    """The rule codes that per-file-ignores switch off for ``file`` (a path as reported)."""
    from qwenlint.rules import select_rules

    absolute = os.path.abspath(file)
    rel = relative(absolute, root)
    codes: set[str] = set()
    for pattern, selectors in per_file_ignores:
        negate = pattern.startswith("!")
        hit = matches(pattern[1:] if negate else pattern, rel)
        if hit != negate:
            codes.update(r.code for r in select_rules(selectors))
    return codes


def filter_per_file_ignores(diagnostics: Iterable[Diagnostic],
                            per_file_ignores: Iterable[tuple[str, tuple[str, ...]]],
                            root: str) -> list[Diagnostic]:
    """Drop the diagnostics whose rule is ignored for their file."""
    per_file_ignores = tuple(per_file_ignores)
    diagnostics = list(diagnostics)
    if not per_file_ignores:
        return diagnostics
    cache: dict[str, set[str]] = {}
    out = []
    for d in diagnostics:
        f = d.file or ""
        if f not in cache:
            cache[f] = ignored_codes(f, per_file_ignores, root) if f else set()
        if d.rule not in cache[f]:
            out.append(d)
    return out
