"""Which files ``qwenlint check`` reads, and the configuration of each (ruff's file discovery).

* **Paths named on the command line** are checked as named, even when an exclude pattern or a
  ``.gitignore`` matches them — unless ``force-exclude`` is on (ruff's flag, for pre-commit, which
  names every file): then a named path is treated as a walk treats what it finds.  It is left out
  when an ``exclude`` / ``extend-exclude`` glob of its configuration matches it or a directory
  above it (below the configuration's root), or when it is a model or tool configuration file by
  name (``config.json``, ``tokenizer_config.json``, ...), and skipped when it holds JSON in no
  dialect qwenlint reads.  (``.gitignore`` is not consulted for named paths.)
* **Directories are walked** in sorted order (:func:`qwenlint.load.files.walk`: ``*.json``,
  ``*.jsonl``, ``*.ndjson``, ``*.jsonlines``, less the model and tool configuration files known by
  name).  An entry is left out, with all it holds, when a glob of the configuration of its
  directory matches it (:meth:`qwenlint.config.Config.exclusions`: ``exclude``, by default
  :data:`~qwenlint.load.files.DEFAULT_EXCLUDE`, and ``extend-exclude``), or, with
  ``respect-gitignore`` (the default), when the ``.gitignore`` files say git ignores it.  A file a
  walk finds that holds JSON in no dialect qwenlint reads is then skipped by the runners
  (:meth:`qwenlint.engine.Engine.foreign`), not reported.
* **.gitignore** files are read with pathspec (git's wildmatch rules, negation, directory-only
  patterns): those of the walked directories and of the directories above the walk up to the
  root of its git repository (the nearest directory holding ``.git``; there also
  ``.git/info/exclude``), the deeper file deciding first, the last matching line within a file.
  Outside a repository only the ``.gitignore`` files of the walked directories apply, and so it is
  for a directory named explicitly that git ignores.  Inside one, git's global excludes file
  applies too, below everything else (``core.excludesFile`` as ``git config`` reads it, else
  ``$XDG_CONFIG_HOME/git/ignore``).  tests/test_discovery_git.py compares walks with git's own
  ``ls-files --others --exclude-standard`` on drawn trees and patterns.
* **Each file's configuration** is the nearest ``qwenlint.toml`` / ``pyproject.toml`` with
  ``[tool.qwenlint]`` upward from the file's directory (found once per directory), unless
  ``--config`` or ``--isolated`` fixes one for every file.  ``force-exclude`` and
  ``respect-gitignore`` are read from the configuration of the working directory (ruff's root
  configuration), the command line overriding it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

from qwenlint.config import Config, config_in, load_config
from qwenlint.fsio import open_regular
from qwenlint.globs import excluded, relative
from qwenlint.load.files import NOT_CONVERSATIONS, Found, walk, walk_url
from qwenlint.remote import Access, is_url


@dataclass(frozen=True)
class Settings:
    """The command line's discovery flags (None: not given)."""

    exclude: tuple[str, ...] | None = None  # --exclude: replaces every configuration's exclude
    extend_exclude: tuple[str, ...] = ()  # --extend-exclude
    force_exclude: bool | None = None  # --force-exclude
    respect_gitignore: bool | None = None  # --respect-gitignore / --no-respect-gitignore


def split_globs(values: Iterable[str]) -> tuple[str, ...]:
    """Globs from repeated, comma-separated flag values (a comma inside ``{a,b}`` is the glob's)."""
    out: list[str] = []
    for value in values:
        depth, start = 0, 0
        for i, c in enumerate(value + ","):
            depth += (c == "{") - (c == "}" and depth > 0)
            if c == "," and depth == 0:
                if value[start:i].strip():
                    out.append(value[start:i].strip())
                start = i + 1
    return tuple(out)


class Discovery:
    """Finds the files to check and their configurations; ``root`` is the working directory's
    configuration (or ``--config``'s; empty with ``--isolated``), ``fixed`` when it applies to every
    file (``--config``, ``--isolated``).  Raises :class:`qwenlint.config.ConfigError` for a
    configuration file that cannot be used."""

    def __init__(self, root: Config, settings: Settings = Settings(), *, fixed: bool = False,
                 access: Access | None = None):
        self.root, self.settings, self.fixed = root, settings, fixed
        self.access = access or Access()  # URLs (qwenlint.remote): the network, storage options
        self.force_exclude = _first(settings.force_exclude, root.force_exclude, False)
        self.respect_gitignore = _first(settings.respect_gitignore, root.respect_gitignore, True)
        self._nearest: dict[str, str | None] = {}  # directory -> its configuration file
        self._configs: dict[str | None, Config] = {root.path: root}
        self._exclusions: dict[str | None, tuple[tuple[str, str], ...]] = {}
        self._gitignore = _GitIgnore()

    # --- configurations -----------------------------------------------------------------------

    def config_for(self, directory: str) -> Config:
        """The configuration of the files in ``directory``."""
        if self.fixed:
            return self.root
        path = self._nearest_file(os.path.abspath(directory or "."))
        if path not in self._configs:
            self._configs[path] = load_config(path) if path is not None else Config()
        return self._configs[path]

    def _nearest_file(self, directory: str) -> str | None:
        if directory not in self._nearest:
            found = config_in(directory)
            parent = os.path.dirname(directory)
            if found is None and parent != directory:
                found = self._nearest_file(parent)
            self._nearest[directory] = found
        return self._nearest[directory]

    def _excludes(self, config: Config) -> tuple[tuple[str, str], ...]:
        if config.path not in self._exclusions:
            self._exclusions[config.path] = config.exclusions(self.settings.exclude,
                                                              self.settings.extend_exclude)
        return self._exclusions[config.path]

    # --- files --------------------------------------------------------------------------------

    def files(self, paths: Iterable[str]) -> Iterator[tuple[Found, Config]]:
        """Every file to check, in the order of ``paths`` (a walk's in sorted order), with its
        configuration."""
        for p in paths:
            if is_url(p):
                # a URL prefix is walked like a folder, the root configuration's globs relative to
                # the prefix; no .gitignore, no configuration file in the bucket
                patterns = tuple((g, "/") for g, _ in self._excludes(self.root))

                def url_skip(rel: str, is_dir: bool, patterns=patterns) -> bool:
                    return excluded("/" + rel, patterns)

                yield from ((f, self.root) for f in walk_url(p, self.access, url_skip))
                continue
            forced = self.force_exclude and p != "-"  # named, but treated as a walk's find
            if forced and (self._excluded_path(p) or os.path.basename(p) in NOT_CONVERSATIONS):
                continue
            if not os.path.isdir(p):
                yield Found(p, walked=forced), self.config_for(os.path.dirname(p))
                continue
            top, repo = self._gitignore.scope(os.path.abspath(p)) if self.respect_gitignore \
                else (None, None)

            def skip(path: str, is_dir: bool, top=top, repo=repo) -> bool:
                if excluded(path, self._excludes(self.config_for(os.path.dirname(path)))):
                    return True
                return top is not None and self._gitignore.ignored(path, is_dir, top, repo)

            for f in walk(p, skip):
                yield Found(f, walked=True), self.config_for(os.path.dirname(f))

    def _excluded_path(self, path: str) -> bool:
        """``--force-exclude``: whether a glob matches a named path or a directory above it that
        is below its configuration's root."""
        a = os.path.abspath(path)
        config = self.config_for(os.path.dirname(a))
        patterns = self._excludes(config)
        stop = config.root
        while True:
            if excluded(a, patterns):
                return True
            parent = os.path.dirname(a)
            if parent == a or not parent.startswith(stop.rstrip(os.sep) + os.sep):
                return False
            a = parent


def group(found: Iterable[tuple[Found, Config]]) -> list[tuple[Config, list[Found]]]:
    """The files grouped by configuration, groups in the order of their first file."""
    groups: dict[int, tuple[Config, list[Found]]] = {}
    for f, config in found:
        groups.setdefault(id(config), (config, []))[1].append(f)
    return list(groups.values())


def _first(*values):
    return next(v for v in values if v is not None)


class _GitIgnore:
    """The patterns of ``.gitignore`` files, read once per directory."""

    def __init__(self) -> None:
        self._patterns: dict[tuple[str, bool], list] = {}

    def scope(self, directory: str) -> tuple[str, str | None]:
        """For a walk of ``directory``: the highest directory whose ``.gitignore`` applies, and
        the repository root (None outside a repository)."""
        repo = directory
        while not os.path.exists(os.path.join(repo, ".git")):
            parent = os.path.dirname(repo)
            if parent == repo:
                return directory, None
            repo = parent
        if repo != directory and self.ignored(directory, True, repo, repo):
            return directory, None  # an ignored directory, named explicitly: its own files only
        return repo, repo

    def patterns(self, directory: str, repo_root: bool) -> list:
        key = (directory, repo_root)
        if key not in self._patterns:
            lines: list[str] = []
            files = [os.path.join(directory, ".gitignore")]
            if repo_root:  # the lowest precedence first: a later line wins
                files[:0] = [p for p in (_global_excludes_file(directory),
                                         os.path.join(directory, ".git", "info", "exclude")) if p]
            for path in files:
                try:
                    with open_regular(path) as f:  # a FIFO named .gitignore must not hang a walk
                        lines.extend(f.read().decode("utf-8", "replace").splitlines())
                except OSError:
                    pass
            if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
                self._patterns[key] = []  # no pattern: pathspec (30 modules) is not imported
                return self._patterns[key]
            import pathspec

            try:
                self._patterns[key] = [p for p in pathspec.GitIgnoreSpec.from_lines(lines).patterns
                                       if p.include is not None]
            except Exception:  # noqa: BLE001 - a pattern pathspec cannot compile: git's file, not ours
                self._patterns[key] = []
        return self._patterns[key]

    def ignored(self, path: str, is_dir: bool, top: str, repo: str | None) -> bool:
        """Whether git ignores ``path``: the deepest ``.gitignore`` (up to ``top``) with a matching
        line decides, by its last matching line."""
        path = os.path.abspath(path)
        directory = os.path.dirname(path)
        while True:
            rel = relative(path, directory)
            verdict = None
            for pattern in self.patterns(directory, directory == repo):
                if _matches(pattern.regex, rel, is_dir):
                    verdict = pattern.include
            if verdict is not None:
                return verdict
            parent = os.path.dirname(directory)
            if directory == top or parent == directory:
                return False
            directory = parent


def _matches(regex, rel: str, is_dir: bool) -> bool:
    """Whether a ``.gitignore`` pattern (pathspec's regex) names ``rel`` itself, as git matches
    it.  pathspec's regexes also match what lies *inside* a matching directory (its ``ps_d``
    group, then more): git never matches a path through its parent (a directory it ignores is not
    entered; the walk prunes it), so such a match is not one here; otherwise ``!a`` after
    ``x.json`` would bring ``a/x.json`` back, which git does not.  A directory is also tried with
    a trailing ``/`` for directory-only patterns (``a/``), and ``a/**`` does not name ``a``."""
    m = regex.search(rel)
    if m is not None and (m.re.groupindex.get("ps_d") is None or m.start("ps_d") == -1):
        return True
    if not is_dir or "ps_d" not in regex.groupindex:
        return False
    m = regex.search(rel + "/")
    return m is not None and m.start("ps_d") != -1 and m.end("ps_d") == len(rel) + 1


def _global_excludes_file(repo: str) -> str | None:
    """git's global excludes file for ``repo``: ``core.excludesFile`` as git reads its
    configuration (global, XDG, system and the repository's, includes and ``~`` expanded: git is
    asked, not imitated), else ``$XDG_CONFIG_HOME/git/ignore`` (``~/.config/git/ignore``).  Without
    a git command, only the default file."""
    import subprocess

    try:
        got = subprocess.run(["git", "-C", repo, "config", "--path", "--get", "core.excludesFile"],
                             capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
        if got.returncode == 0 and got.stdout.strip():
            path = got.stdout.strip()
            return path if os.path.isabs(path) else os.path.join(repo, path)
    except (OSError, subprocess.SubprocessError):
        pass
    home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(home, "git", "ignore")
