"""Configuration: ``[tool.qwenlint]`` / ``qwenlint.toml``, precedence, errors, per-file-ignores."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlint.cli import main
from qwenlint.config import (Config, ConfigError, discover, filter_per_file_ignores, find_config,
                             load_config)
from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.options import Options

# One error (QL202 translated-keys) and one warning (QL108 system-not-first).
BAD = [{"role": "user", "content": [{"type": "视频", "视频": "clip.mp4"}]},
       {"role": "system", "content": "Be brief."}]


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def rules_of(result) -> list[str]:
    return sorted(d["rule"] for d in json.loads(result.stdout)["diagnostics"])


@pytest.fixture
def repo(tmp_path, monkeypatch):
    (tmp_path / "data" / "legacy").mkdir(parents=True)
    for name in ("data/a.json", "data/legacy/b.json"):
        (tmp_path / name).write_text(json.dumps(BAD, ensure_ascii=False), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _diag(rule: str, file: str) -> Diagnostic:
    return Diagnostic(rule=rule, name="x", severity=Severity.ERROR, message="m", file=file)


# --- finding ---------------------------------------------------------------------------------


def test_pyproject_without_table_is_skipped_upward(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.qwenlint]\nfamily = "qwen3-vl"\n')
    sub = tmp_path / "pkg" / "deep"
    sub.mkdir(parents=True)
    (tmp_path / "pkg" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert find_config(str(sub)) == str(tmp_path / "pyproject.toml")


def test_qwenlint_toml_wins_in_the_same_directory(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.qwenlint]\nfamily = "qwen3-vl"\n')
    (tmp_path / "qwenlint.toml").write_text('family = "qwen2-vl"\n')
    path = find_config(str(tmp_path))
    assert path == str(tmp_path / "qwenlint.toml")
    assert load_config(path).values == {"family": "qwen2-vl"}


def test_no_config_anywhere(tmp_path):
    assert find_config(str(tmp_path)) is None
    assert discover(start=str(tmp_path)) == Config()


def test_isolated_ignores_files(repo):
    (repo / "qwenlint.toml").write_text('family = "qwen2-vl"\n')
    assert discover(isolated=True) == Config()


# --- values ----------------------------------------------------------------------------------


def test_all_keys_are_read_and_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "t.jinja").write_text("{{ messages }}")
    (tmp_path / "qwenlint.toml").write_text(
        'family = "qwen3-vl"\nmodel = "model"\ntemplate = "t.jinja"\ntarget = "vllm"\n'
        'max-model-len = 4096\nmedia-root = "media"\nselect = ["QL1", "QL202"]\n'
        'ignore = ["QL108,QL109"]\nmedia-io-kwargs = {video = {fps = 1}}\n'
        '[per-file-ignores]\n"data/*.json" = ["QL2"]\n')
    cfg = load_config(str(tmp_path / "qwenlint.toml"))
    assert cfg.values == {"family": "qwen3-vl", "model": str(tmp_path / "model"),
                          "template": str(tmp_path / "t.jinja"), "target": "vllm",
                          "max_model_len": 4096, "media_root": str(tmp_path / "media"),
                          "select": ("QL1", "QL202"), "ignore": ("QL108", "QL109"),
                          "media_io_kwargs": {"video": {"fps": 1}}}
    assert cfg.per_file_ignores == (("data/*.json", ("QL2",)),)


def test_framework_config_is_read_relative_to_the_file(tmp_path):
    (tmp_path / "train.yaml").write_text("image_max_pixels: 262144\n")
    (tmp_path / "qwenlint.toml").write_text('framework-config = "train.yaml"\n')
    cfg = load_config(str(tmp_path / "qwenlint.toml"))
    assert cfg.values == {"framework_config": str(tmp_path / "train.yaml")}
    assert cfg.apply(Options()).llamafactory().image_max_pixels == 262144
    (tmp_path / "train.yaml").write_text("image_max_pixels: 16\n")  # below image_min_pixels
    with pytest.raises(ConfigError, match="framework-config: .*cannot be smaller"):
        load_config(str(tmp_path / "qwenlint.toml"))


def test_cli_values_override_and_ignores_join():
    cfg = Config(values={"family": "qwen3-vl", "max_model_len": 100, "select": ("QL1",),
                         "ignore": ("QL108",)})
    merged = cfg.apply(Options(family="qwen2-vl", ignore=("QL109",)))
    assert merged.family == "qwen2-vl"  # the flag wins
    assert merged.max_model_len == 100  # the file fills what the flag left unset
    assert merged.select == ("QL1",)
    assert merged.ignore == ("QL108", "QL109")
    assert cfg.apply(Options(select=("QL2",))).select == ("QL2",)


@pytest.mark.parametrize("body, message", [
    ('famly = "qwen3-vl"\n', "unknown key 'famly' in qwenlint.toml (did you mean 'family'?)"),
    ('max_model_len = 5\n', "(did you mean 'max-model-len'?)"),
    ('exit-zero = true\n', "exit-zero is a command-line flag only"),
    ('a = 1\nb = 2\n', "unknown keys 'a', 'b'"),
    ('family = "qwen9"\n', "family 'qwen9' is not one of"),
    ('target = "vlm"\n', "(did you mean 'vllm'?)"),
    ('max-model-len = "big"\n', "max-model-len must be a positive integer"),
    ('max-model-len = 0\n', "max-model-len must be a positive integer"),
    ('select = ["QL999"]\n', "'select': no rule matches 'QL999'"),
    ('ignore = [1]\n', "'ignore' must be a list of rule codes"),
    ('model = "nowhere"\n', "model 'nowhere' is not a directory"),
    ('[per-file-ignores]\n"x" = ["nope"]\n', "no rule matches 'nope'"),
    ('family = \n', "invalid TOML"),
    ('media-io-kwargs = "{video"\n', "media-io-kwargs: not valid JSON"),
    ('media-io-kwargs = {video = {video_backend = "decord"}}\n', "video_backend 'decord' is not modelled"),
    ('media-io-kwargs = {video = {max_frames = "64"}}\n', "video.max_frames must be an integer"),
    ('media-io-kwargs = {video = 3}\n', '"video" must be an object'),
    ('framework-config = "train.yaml"\n', "framework-config 'train.yaml' is not a file"),
    ('exclude = "data"\n', "exclude must be a list of globs"),
    ('extend-exclude = [1]\n', "extend-exclude must be a list of globs"),
    ('force-exclude = "yes"\n', "force-exclude must be true or false"),
    ('respect-gitignore = 1\n', "respect-gitignore must be true or false"),
    ('exclud = ["x"]\n', "(did you mean 'exclude'?)"),
])
def test_bad_configs_name_the_problem(tmp_path, body, message):
    (tmp_path / "qwenlint.toml").write_text(body)
    with pytest.raises(ConfigError) as e:
        load_config(str(tmp_path / "qwenlint.toml"))
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_broken_pyproject_that_is_not_ours_is_skipped(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\n")
    assert find_config(str(tmp_path)) is None
    (tmp_path / "pyproject.toml").write_text("[tool.qwenlint\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        find_config(str(tmp_path))


# --- file discovery --------------------------------------------------------------------------


def test_discovery_keys_and_exclusions(tmp_path, monkeypatch):
    """exclude replaces the default list, extend-exclude adds; the file's globs are relative to
    the file, the command line's to the working directory, and the command line's exclude
    replaces the file's."""
    from qwenlint.load.files import DEFAULT_EXCLUDE

    (tmp_path / "qwenlint.toml").write_text('extend-exclude = ["data/old"]\nforce-exclude = true\n'
                                            'respect-gitignore = false\n')
    cfg = load_config(str(tmp_path / "qwenlint.toml"))
    assert (cfg.exclude, cfg.extend_exclude, cfg.force_exclude, cfg.respect_gitignore) == \
        (None, ("data/old",), True, False)
    root = str(tmp_path)
    assert cfg.exclusions() == tuple((p, root) for p in DEFAULT_EXCLUDE) + (("data/old", root),)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert cfg.exclusions(("x",), ("y",)) == (("x", str(work)), ("data/old", root), ("y", str(work)))
    (tmp_path / "qwenlint.toml").write_text('exclude = ["tmp"]\n')
    assert load_config(str(tmp_path / "qwenlint.toml")).exclusions() == (("tmp", root),)
    assert Config().exclusions() == tuple((p, str(work)) for p in DEFAULT_EXCLUDE)


@pytest.mark.parametrize("pattern, path, hit", [
    (".*", ".venv", True),
    (".*", "data/.cache", True),
    (".*", ".", False),  # the root itself is never excluded
    ("venv", "a/b/venv", True),
    ("data/old", "data/old", True),
    ("data/old", "x/data/old", False),  # a pattern with "/" is anchored at its root
    ("data/*.tmp.json", "data/a.tmp.json", True),
    ("**/raw", "a/b/raw", True),
    ("outputs/", "a/outputs", True),  # written as in a .gitignore
])
def test_exclude_globs(tmp_path, pattern, path, hit):
    from qwenlint.globs import excluded

    assert excluded(str(tmp_path / path), [(pattern, str(tmp_path))]) is hit


def test_split_globs_keeps_braces():
    from qwenlint.discovery import split_globs

    assert split_globs(["a,b", "{x,y}/*.json", " c "]) == ("a", "b", "{x,y}/*.json", "c")


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """The specification of qwenlint.globs: a ruff-style glob (``*``, ``**``, ``?``, ``[..]``,
    ``{a,b}``) as a regex — the translation qwenlint ran before its linear matcher (a backtracking
    regex is exponential on hostile globs), kept here to test the matcher against."""
    out, i, n, depth = [], 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = j
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


# --- per-file ignores ------------------------------------------------------------------------


@pytest.mark.parametrize("pattern, path, hit", [
    ("data/*.json", "data/a.json", True),
    ("data/*.json", "data/legacy/b.json", False),
    ("data/**/*.json", "data/legacy/b.json", True),
    ("data/**/*.json", "data/a.json", True),
    ("**/{legacy,old}/*", "data/legacy/b.json", True),
    ("b.json", "data/legacy/b.json", True),  # no slash: the base name matches
    ("?.json", "data/a.json", True),
    ("[ab].json", "data/c.json", False),
])
def test_globs(pattern, path, hit):
    from qwenlint.globs import matches as _matches

    assert _matches(pattern, path) is hit, glob_to_regex(pattern).pattern


_GLOB_PIECES = ["a", "b", "x", ".", "/", "*", "**", "**/", "?", "[ab]", "[!a]", "{a,b}", "{x,a/b}"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_GLOB_PIECES), max_size=7).map("".join),
       st.lists(st.sampled_from(["a", "b", "x", ".", "/"]), max_size=10).map("".join))
def test_the_glob_matcher_agrees_with_the_glob_regex(pattern, path):
    """The matcher (linear: a set of token states per character) says what the regex translation
    of the same glob says, on drawn patterns and paths small enough for the regex."""
    from qwenlint.globs import _match

    assert _match(pattern, path) == bool(glob_to_regex(pattern).match(path)), \
        (pattern, path, glob_to_regex(pattern).pattern)


def test_hostile_globs_are_linear_and_never_internal_errors():
    """issue 20: ``'**/' * 14 + 'x'`` against a deep path ran past two minutes (regex
    backtracking); an unbalanced brace was a regex error.  Both are answered now."""
    import time

    from qwenlint.globs import matches as _matches

    start = time.monotonic()
    assert _matches("**/" * 14 + "x", "/".join(["a"] * 60) + "/y") is False
    assert _matches("*a" * 30 + "b", "a" * 200) is False
    assert time.monotonic() - start < 5
    assert _matches("{a,b", "{a,b") is True and _matches("data/{a", "data/a") is False
    assert _matches("{" + ",".join("abcdefghij") + "}" * 1 + "{" + ",".join("abcdefghij") + "}"
                    + "{" + ",".join("abcdefghij") + "}", "aaa") is False  # 1000 alternatives: none


def test_per_file_ignores_filter_by_path_and_selector(tmp_path):
    pfi = (("data/legacy/*", ("QL2",)), ("*.jsonl", ("system-not-first",)),
           ("!data/**", ("QL110",)))
    diags = [_diag("QL202", str(tmp_path / "data/legacy/b.json")),
             _diag("QL108", str(tmp_path / "data/legacy/b.json")),
             _diag("QL202", str(tmp_path / "data/a.json")),
             _diag("QL108", str(tmp_path / "x.jsonl")),
             _diag("QL110", str(tmp_path / "x.jsonl")),
             _diag("QL110", str(tmp_path / "data/a.json"))]
    kept = filter_per_file_ignores(diags, pfi, str(tmp_path))
    assert [(d.rule, d.file.replace(str(tmp_path), "")) for d in kept] == [
        ("QL108", "/data/legacy/b.json"), ("QL202", "/data/a.json"), ("QL110", "/data/a.json")]


# --- through the CLI -------------------------------------------------------------------------


def test_cli_reads_pyproject_and_applies_per_file_ignores(repo):
    assert rules_of(run("check", "data", "--format", "json")) == ["QL108", "QL108", "QL202", "QL202"]
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.qwenlint]\nignore = ["QL108"]\n\n'
        '[tool.qwenlint.per-file-ignores]\n"data/legacy/*.json" = ["translated-keys"]\n')
    r = run("check", "data", "--format", "json")
    assert rules_of(r) == ["QL202"]
    assert json.loads(r.stdout)["diagnostics"][0]["file"] == "data/a.json"
    assert r.exit_code == 1
    # CLI --select replaces the file's select; its ignore still applies.
    assert rules_of(run("check", "data", "--format", "json", "--select", "QL1")) == []
    assert rules_of(run("check", "data", "--format", "json", "--isolated")) == \
        ["QL108", "QL108", "QL202", "QL202"]


def test_config_found_from_a_subdirectory(repo, monkeypatch):
    (repo / "qwenlint.toml").write_text('select = ["QL108"]\n')
    monkeypatch.chdir(repo / "data")
    assert rules_of(run("check", ".", "--format", "json")) == ["QL108", "QL108"]


def test_explicit_config_and_exit_2_on_errors(repo):
    (repo / "custom.toml").write_text('ignore = ["QL2"]\n')
    r = run("check", "data/a.json", "--format", "json", "--config", "custom.toml")
    assert rules_of(r) == ["QL108"] and r.exit_code == 0
    (repo / "qwenlint.toml").write_text('selct = ["QL1"]\n')
    r = run("check", "data/a.json")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        f"qwenlint: {repo / 'qwenlint.toml'}: unknown key 'selct' in qwenlint.toml "
        "(did you mean 'select'?)"]
    r = run("check", "data/a.json", "--config", "missing.toml")
    assert r.exit_code == 2 and "no such configuration file" in r.stderr


def test_a_toml_nested_past_the_recursion_limit_is_a_config_error_or_skipped(tmp_path, monkeypatch):
    """issue 20: a deeply nested pyproject.toml up the tree was an internal error (tomllib recurses
    per level).  Ours ([tool.qwenlint]) is a configuration error naming the file; someone else's is
    skipped, as any unreadable pyproject.toml that is not ours."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.json").write_text('[{"role": "user", "content": "hi"}]', encoding="utf-8")
    monkeypatch.chdir(tmp_path / "sub")
    deep = "[" * 5000 + "]" * 5000
    (tmp_path / "pyproject.toml").write_text(f'[tool.qwenlint]\nfamily = "qwen2.5-vl"\nx = {deep}\n',
                                             encoding="utf-8")
    r = CliRunner().invoke(main, ["check", "c.json"])
    assert r.exit_code == 2 and "pyproject.toml: invalid TOML: nested too deeply to read" in r.output
    (tmp_path / "pyproject.toml").write_text(f"[tool.other]\nx = {deep}\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["check", "c.json"])
    assert r.exit_code == 0, r.output
