"""Acceptance: the real ``pre-commit`` runs this repository's ``.pre-commit-hooks.yaml``.

As check-jsonschema does, the hooks are exercised end to end: a temporary git repository holds a
copy of this checkout (package, bundled templates, pyproject, manifest) with one commit, and
fixture repositories (tests/fixtures/precommit/{good,bad}) point at it with ``repo: <path>``,
``rev: <commit>``. pre-commit then builds the hook's virtualenv and ``pip install``s qwenlint
from that copy.

That install must not reach the internet, so pip runs with ``PIP_NO_INDEX=1`` and
``PIP_FIND_LINKS`` set to a wheelhouse holding qwenlint's build requirements and dependencies.
The wheelhouse is filled once with ``pip download`` (the only step that uses the package index)
and cached under ``$QWENLINT_WHEELHOUSE`` (default ``~/.cache/qwenlint/test-wheelhouse``).  If
pre-commit is not installed, or the wheelhouse cannot be filled, or the offline install fails,
the test is skipped with the reason — unless ``QWENLINT_REQUIRE_PRECOMMIT=1``, when it fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "precommit"
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
REQUIRE = os.environ.get("QWENLINT_REQUIRE_PRECOMMIT") == "1"

pytestmark = pytest.mark.slow

GIT_ENV = {"GIT_AUTHOR_NAME": "qwenlint-tests", "GIT_AUTHOR_EMAIL": "tests@qwenlint.invalid",
           "GIT_COMMITTER_NAME": "qwenlint-tests", "GIT_COMMITTER_EMAIL": "tests@qwenlint.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"QWENLINT_REQUIRE_PRECOMMIT=1 but {reason}")
    pytest.skip(reason)


def _load_yaml(path: Path):
    yaml = pytest.importorskip("yaml")  # pre-commit depends on PyYAML
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _hooks() -> dict[str, dict]:
    return {h["id"]: h for h in _load_yaml(MANIFEST)}


# --- the manifest itself (cheap, no install) -------------------------------------------------


def test_manifest_is_valid_for_pre_commit():
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or \
        shutil.which("pre-commit")
    if exe is None:
        _unavailable("pre-commit is not installed (pip install pre-commit)")
    r = subprocess.run([exe, "validate-manifest", str(MANIFEST)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path, selected", [
    ("data/conversation.json", True),
    ("train.jsonl", True),
    ("shards/part-0001.ndjson", True),
    ("model/tokenizer_config.json", False),
    ("model/config.json", False),
    ("model/chat_template.json", False),
    ("dataset_info.json", False),
    ("my_config.json", True),
    ("notes.md", False),
])
def test_qwenlint_hook_selects_conversation_files(path, selected):
    hook = _hooks()["qwenlint"]
    hit = bool(re.search(hook["files"], path)) and not re.search(hook["exclude"], path)
    assert hit is selected


@pytest.mark.parametrize("path, selected", [
    ("chat_template.jinja", True),
    ("model/chat_template.json", True),
    ("model/tokenizer_config.json", True),
    ("data/conversation.json", False),
    ("my_tokenizer_config.json", False),
])
def test_template_hook_selects_template_files(path, selected):
    hook = _hooks()["qwenlint-template"]
    assert bool(re.search(hook["files"], path)) is selected


def test_jsonl_is_only_text_to_identify():
    """Why the hooks use ``files`` + ``types: [text]`` rather than ``types_or: [json]``."""
    identify = pytest.importorskip("identify.identify")
    assert "json" not in identify.tags_from_filename("train.jsonl")
    assert all(h["types"] == ["text"] for h in _hooks().values())


def test_hook_entries_are_cli_commands():
    from qwenlint.cli import main

    for hook in _hooks().values():
        words = shlex.split(hook["entry"])
        assert words[0] == "qwenlint"
        assert words[1] in main.commands, f"hook {hook['id']}: no command `qwenlint {words[1]}`"


def _selected(hook: dict, root: Path) -> list[str]:
    """The files under ``root`` that pre-commit would pass to ``hook`` (by name)."""
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and re.search(hook["files"], rel) and \
                not re.search(hook.get("exclude", "^$"), rel):
            out.append(rel)
    return out


def _run_entry(hook: dict, root: Path, monkeypatch) -> tuple[int, str, list[str]]:
    """Run a hook's entry on its files in-process, as check-jsonschema's acceptance tests do."""
    from click.testing import CliRunner

    from qwenlint.cli import main

    files = _selected(hook, root)
    monkeypatch.chdir(root)
    r = CliRunner().invoke(main, shlex.split(hook["entry"])[1:] + list(hook.get("args", []))
                           + files, catch_exceptions=False)
    return r.exit_code, r.stdout, files


def test_qwenlint_entry_on_fixtures(monkeypatch):
    hook = _hooks()["qwenlint"]
    code, out, files = _run_entry(hook, FIXTURES / "good", monkeypatch)
    assert files == ["data/conversation.json", "data/train.jsonl"]  # model/*.json excluded
    assert code == 0, out
    code, out, files = _run_entry(hook, FIXTURES / "bad", monkeypatch)
    assert code == 1 and "QL102" in out and "QL202" in out


def test_template_entry_on_fixtures(monkeypatch):
    hook = _hooks()["qwenlint-template"]
    code, out, files = _run_entry(hook, FIXTURES / "templates", monkeypatch)
    assert files == ["model/chat_template.jinja", "model/chat_template.json"]
    assert code == 0, out
    assert "part type:video" in out  # the capability table of each template


# --- the real pre-commit ---------------------------------------------------------------------


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout.strip()


def _requirements() -> list[str]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["build-system"]["requires"]) + list(data["project"].get("dependencies", []))


def _wheelhouse() -> Path:
    reqs = _requirements()
    key = hashlib.sha256("\n".join(sorted(reqs) + [sys.version]).encode()).hexdigest()[:16]
    base = Path(os.environ.get("QWENLINT_WHEELHOUSE",
                               Path.home() / ".cache" / "qwenlint" / "test-wheelhouse"))
    house = base / key
    if (house / ".complete").exists():
        return house
    house.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check",
                        "--only-binary=:all:", "--dest", str(house), *reqs],
                       capture_output=True, text=True, timeout=240)
    if r.returncode != 0:
        _unavailable("cannot fill the wheelhouse for an offline hook install "
                     f"(pip download failed: {r.stderr.strip().splitlines()[-1:]})")
    (house / ".complete").write_text("\n".join(reqs))
    return house


def _hook_repo(tmp: Path) -> tuple[Path, str]:
    """A git repository with this checkout's package, templates and manifest, committed."""
    repo = tmp / "hook-repo"
    repo.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "qwenlint", repo / "qwenlint", ignore=ignore)
    shutil.copytree(ROOT / "templates", repo / "templates", ignore=ignore)  # qwenlint._templates
    for name in ("pyproject.toml", ".pre-commit-hooks.yaml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, repo / name)
    if not (repo / "README.md").exists():  # pyproject names it; the build needs it
        (repo / "README.md").write_text("qwenlint\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "hooks under test")
    return repo, _git(repo, "rev-parse", "HEAD")


def _fixture_repo(tmp: Path, name: str, hook_repo: Path, rev: str, hooks: list[str]) -> Path:
    work = tmp / name
    shutil.copytree(FIXTURES / name, work)
    ids = "\n".join(f"      - id: {h}" for h in hooks)
    (work / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n{ids}\n")
    _git(work, "init", "-q")
    _git(work, "add", "-A")
    return work


def _precommit() -> str:
    """The pre-commit executable (beside this Python first), and git: else unavailable."""
    exe = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or \
        shutil.which("pre-commit")
    if exe is None:
        _unavailable("pre-commit is not installed (pip install pre-commit)")
    if shutil.which("git") is None:
        _unavailable("git is not installed")
    return exe


@pytest.fixture(scope="module")
def precommit(tmp_path_factory):
    """Run ``pre-commit run --all-files`` in a fixture repository; offline pip install."""
    exe = _precommit()
    tmp = tmp_path_factory.mktemp("precommit")
    house = _wheelhouse()
    hook_repo, rev = _hook_repo(tmp)
    env = {**os.environ, **GIT_ENV,
           "PRE_COMMIT_HOME": str(tmp / "cache"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(house),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
           "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_REQUIRE_VIRTUALENV", "VIRTUAL_ENV"):
        env.pop(var, None)

    def run(name: str, hooks: list[str]) -> subprocess.CompletedProcess:
        work = _fixture_repo(tmp, name, hook_repo, rev, hooks)
        return subprocess.run([exe, "run", "--all-files", "--color", "never"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    # Install once (the environments are shared through PRE_COMMIT_HOME).
    r = subprocess.run([exe, "install-hooks"], cwd=_fixture_repo(tmp, "good", hook_repo, rev,
                                                                  ["qwenlint"]),
                       env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        log = tmp / "cache" / "pre-commit.log"
        detail = log.read_text()[-1500:] if log.exists() else (r.stdout + r.stderr)[-1500:]
        _unavailable(f"pre-commit could not install the hook offline:\n{detail}")
    shutil.rmtree(tmp / "good")
    return run


def test_precommit_passes_a_clean_repository(precommit):
    r = precommit("good", ["qwenlint"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^qwenlint\.+Passed$", r.stdout, re.M), r.stdout


def test_precommit_fails_a_broken_repository_and_prints_the_findings(precommit):
    r = precommit("bad", ["qwenlint"])
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^qwenlint\.+Failed$", r.stdout, re.M), r.stdout
    assert "- exit code: 1" in r.stdout
    assert "data/mixed.json:4:3: QL102 [error]" in r.stdout
    assert "data/train.jsonl:2:44: QL202 [error]" in r.stdout


# --- the README's configuration, as written ----------------------------------------------------


def _readme_config() -> str:
    """The ``.pre-commit-config.yaml`` block of README.md, verbatim."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"```yaml\n(# \.pre-commit-config\.yaml.*?)```", text, re.S)
    assert m, "README.md has no ```yaml block starting with '# .pre-commit-config.yaml'"
    return m.group(1)


def test_readme_config_is_local_hooks_of_this_checkout():
    """The README's hooks are the manifest's, as local hooks: same entry, files and types."""
    repo = _load_yaml_text(_readme_config())["repos"][0]
    assert repo["repo"] == "local"
    hooks = _hooks()
    for hook in repo["hooks"]:
        assert hook["language"] == "system"
        for key in ("entry", "files", "types"):
            assert hook[key] == hooks[hook["id"]][key], (hook["id"], key)


def _load_yaml_text(text: str):
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(text)


def test_readme_config_runs_as_written(tmp_path):
    """``pre-commit run --all-files`` with the README's YAML, as written, in a repository with
    conversations, a model's configuration files, a chat template and a training run's outputs:
    it passes; with broken conversations it fails and prints the findings."""
    exe = _precommit()
    bindir = Path(sys.executable).parent
    if not (bindir / "qwenlint").exists():
        _unavailable(f"no qwenlint executable beside {sys.executable}")
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
           # language: system runs the `qwenlint` on PATH: make it this checkout's
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}

    def run(name: str) -> subprocess.CompletedProcess:
        work = tmp_path / name
        shutil.copytree(FIXTURES / name, work)
        if name == "good":
            (work / "model" / "tokenizer_config.json").unlink()  # a text-only template: an error
            shutil.copytree(FIXTURES / "templates" / "model", work / "model", dirs_exist_ok=True)
            (work / "out").mkdir()
            (work / "out" / "trainer_state.json").write_text('{"epoch": 1.0, "log_history": []}')
            (work / ".vscode").mkdir()
            (work / ".vscode" / "settings.json").write_text('{"editor.formatOnSave": true}')
        (work / ".pre-commit-config.yaml").write_text(_readme_config(), encoding="utf-8")
        _git(work, "init", "-q")
        _git(work, "add", "-A")
        return subprocess.run([exe, "run", "--all-files", "--color", "never"], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    r = run("good")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^qwenlint\.+Passed$", r.stdout, re.M), r.stdout
    assert re.search(r"^qwenlint template\.+Passed$", r.stdout, re.M), r.stdout
    r = run("bad")
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^qwenlint\.+Failed$", r.stdout, re.M), r.stdout
    assert "data/mixed.json:4:3: QL102 [error]" in r.stdout
    assert "data/train.jsonl:2:44: QL202 [error]" in r.stdout
