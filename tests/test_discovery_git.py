"""Directory walks leave out what git ignores, as git itself decides (issue 18).

qwenlint reads ``.gitignore`` files, ``.git/info/exclude`` and git's global excludes file with
pathspec (:mod:`qwenlint.discovery`); here git is the oracle: on drawn trees and drawn patterns
(negations, directory-only and anchored patterns, ``**``, character classes, comments, escapes)
the files a walk finds are exactly the untracked files ``git ls-files --others --exclude-standard``
lists, among those qwenlint reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qwenlint.config import Config
from qwenlint.discovery import Discovery

GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="no git command")
EXAMPLES = int(os.environ.get("QWENLINT_GIT_EXAMPLES", "60"))

_DIRS = ["a", "b", "sub"]
_FILES = ["x.json", "y.json", "a.json", "b.jsonl", "z.tmp.json", "n.txt"]
_PATTERNS = ["x.json", "*.json", "a", "a/", "/a", "/x.json", "sub/x.json", "**/y.json", "a/**",
             "!x.json", "!a/", "!a", "*.tmp.json", "!*.tmp.json", "b/*.json", "[xy].json",
             "?.json", "#x.json", "", "\\!x.json", "sub/**/a.json", "a/b", "*", "!*.jsonl", "b",
             "/sub/", "**/b/", "x.json ", "!/sub/a.json", "*.json\\ ", "a/*/x.json", "**"]

_tree = st.lists(st.tuples(st.lists(st.sampled_from(_DIRS), max_size=2), st.sampled_from(_FILES)),
                 min_size=1, max_size=12)
_lines = st.lists(st.sampled_from(_PATTERNS), max_size=5)


def _git(cwd: str, *args: str, env: dict) -> str:
    return subprocess.run([GIT, *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_tree,
       ignores=st.dictionaries(st.sampled_from(["", "a", "b", "sub", "a/b", "sub/a"]), _lines, max_size=4),
       info=_lines, global_lines=_lines, how=st.sampled_from(["xdg", "config"]),
       walk=st.sampled_from([".", "a", "sub"]))
def test_a_walk_finds_what_git_does_not_ignore(tree, ignores, info, global_lines, how, walk):
    with tempfile.TemporaryDirectory() as tmp:
        home, repo = os.path.join(tmp, "home"), os.path.join(tmp, "repo")
        os.makedirs(os.path.join(home, "xdg", "git"))
        os.makedirs(repo)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "GIT_CONFIG_NOSYSTEM": "1",
               "XDG_CONFIG_HOME": os.path.join(home, "xdg")}
        if how == "xdg":  # the default global excludes file
            excludes = os.path.join(home, "xdg", "git", "ignore")
        else:  # core.excludesFile in ~/.gitconfig, with a ~ git expands
            excludes = os.path.join(home, "my-ignores")
            with open(os.path.join(home, ".gitconfig"), "w") as f:
                f.write("[core]\n\texcludesFile = ~/my-ignores\n")
        with open(excludes, "w") as f:
            f.write("\n".join(global_lines) + "\n")
        _git(repo, "init", "-q", env=env)
        with open(os.path.join(repo, ".git", "info", "exclude"), "w") as f:
            f.write("\n".join(info) + "\n")
        for dirs, name in tree:
            folder = os.path.join(repo, *dirs)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, name), "w") as f:
                f.write("[]")
        for folder, lines in ignores.items():
            os.makedirs(os.path.join(repo, folder), exist_ok=True)
            with open(os.path.join(repo, folder, ".gitignore"), "w") as f:
                f.write("\n".join(lines) + "\n")
        os.makedirs(os.path.join(repo, walk), exist_ok=True)

        if walk != ".":
            # A directory git ignores, named explicitly, is walked with its own .gitignore files
            # only (as a named file is checked): not git's behaviour, by design (discovery.py).
            ignored = subprocess.run([GIT, "check-ignore", "-q", "--no-index", walk + "/"], cwd=repo,
                                     env=env, timeout=60).returncode == 0
            assume(not ignored)
        listed = _git(repo, "ls-files", "--others", "--exclude-standard", "-z", "--", walk, env=env)
        expected = sorted(p for p in listed.split("\0") if p.endswith((".json", ".jsonl")))

        saved = {k: os.environ.get(k) for k in env}
        cwd = os.getcwd()
        try:
            os.environ.update(env)  # qwenlint asks git for core.excludesFile with this environment
            os.chdir(repo)
            found = Discovery(Config()).files([walk])
            got = sorted(os.path.relpath(f.path, ".").replace(os.sep, "/") for f, _ in found)
        finally:
            os.chdir(cwd)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        assert got == expected, (ignores, info, global_lines)
