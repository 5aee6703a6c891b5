"""``--fix`` / ``--diff`` / ``--unsafe-fixes`` and :mod:`qwenlint.fix`.

Every rule that offers a fix round-trips, in a pretty JSON file and in a JSONL file: the fix is
applied, the file is checked again, that diagnostic is gone, the file is still valid JSON, and
every byte outside the fixed value is unchanged.
"""

from __future__ import annotations

import inspect
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from qwenlint import fix as fixer
from qwenlint.cli import main
from qwenlint.diagnostics import Applicability, Diagnostic, Fix, Severity
from qwenlint.load.positions import value_spans
from qwenlint.rules import REGISTRY

# code -> (a conversation that triggers it, extra CLI options); "CODE:variant" for more cases.
CASES: dict[str, tuple[object, tuple[str, ...]]] = {
    "QL102": ([[{"role": "user", "content": "a"}], {"role": "user", "content": "b"}], ()),
    "QL103": ({"role": "user", "content": "Describe."}, ()),
    "QL104": ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}, "more"],
              ()),
    "QL106": ([{"role": "用户", "content": "你好"}], ()),
    "QL107": ([{"role": "user", "content": {"type": "text", "text": "Hi"}}], ()),
    "QL112": ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
              ("--target", "transformers", "--assume", "transformers==5.6.0")),
    "QL201": ([{"role": "user", "content": [{"type": "imgae", "imgae": "cat.jpg"}]}], ()),
    "QL202": ([{"role": "user", "content": [{"type": "视频", "视频": "clip.mp4", "fps": 1.0}]}], ()),
    "QL203": ([{"role": "user", "content": [{"type": "image", "image": "a.jpg",
                                             "max_pixel": 200704}]}], ()),
    "QL205": ([{"role": "user", "content": [{"type": "video_url", "video_url": {"url": "v.mp4"}}]}],
              ("--target", "transformers")),
    "QL206": ([{"role": "user", "content": [{"type": "image_url",
                                             "image_url": {"url": "https://x/a.jpg"}}]}],
              ("--target", "qwen-vl-utils")),
    "QL206:typeless-text": ([{"role": "user", "content": [{"text": "hi"}]}],
                            ("--target", "transformers")),
    "QL208": ([{"role": "user", "content": [{"type": "video", "video": ["f1.jpg", "f2.jpg"],
                                             "sample_fps": "1"}]}], ()),
    "QL209": ([{"role": "user", "content": ["Describe", {"type": "image", "image": "a.jpg"}]}], ()),
    "QL604": ({"conversations": [{"from": "user", "value": "<image>What is it?"},
                                 {"from": "gpt", "value": "A cat."}], "image": "a.jpg"},
              ("--target", "qwen-finetune")),
    "QL608": ({"messages": [{"role": "user",
                             "content": "<|vision_start|><|image_pad|><|vision_end|>What is it?"},
                            {"role": "assistant", "content": "A cat."}], "images": ["a.jpg"]},
              ("--target", "llamafactory")),
}
CLEAN = [{"role": "user", "content": [{"type": "text", "text": "上下文 ok"}]}]


def run(*args: str):
    """The CLI; ``check`` ignores missing media (QL401): these fixtures name files that don't exist."""
    args = tuple(str(a) for a in args)
    if args and args[0] == "check" and "--select" not in args:
        args += ("--ignore", "QL401")
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def diagnostics(path, *opts) -> list[dict]:
    return json.loads(run("check", path, "--format", "json", *opts).stdout)["diagnostics"]


def _fixable(d: dict, code: str) -> bool:
    return d["rule"] == code and d["fix"] is not None


def _offers_fix(rule) -> bool:
    return "Fix(" in inspect.getsource(rule.check)


def test_every_rule_that_offers_a_fix_has_a_round_trip_case():
    offering = {code for code, r in REGISTRY.items() if _offers_fix(r)}
    covered = {c.split(":")[0] for c in CASES}
    assert offering - covered == set(), f"add a CASES entry for {sorted(offering - covered)}"


@pytest.fixture(autouse=True)
def _cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _outside_span_unchanged(before: str, after: str, span: tuple[int, int]) -> None:
    start, end = span
    # Every byte before the value and after it is identical (so every untouched line is).
    assert after.startswith(before[:start])
    assert after.endswith(before[end:])


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("layout", ["pretty-json", "jsonl"])
def test_fix_round_trips(tmp_path, case, layout):
    code = case.split(":")[0]
    value, opts = CASES[case]
    if layout == "pretty-json":
        path = tmp_path / "conv.json"
        path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        path = tmp_path / "data.jsonl"
        lines = [json.dumps({"messages": CLEAN}, ensure_ascii=False),
                 json.dumps({"messages": value} if isinstance(value, list) and
                            not isinstance(value[0], list) else value, ensure_ascii=False),
                 json.dumps({"messages": CLEAN}, ensure_ascii=False)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    unsafe = ("--unsafe-fixes",)
    reported = diagnostics(path.name, *opts)
    found = [d for d in reported if _fixable(d, code)]
    if not found:
        pytest.skip(f"{case} does not fire in the {layout} layout")  # e.g. bare lists in JSONL
    target = found[0]
    edit = target["fix"]["edits"][0]
    # Where the value to replace is (in the record's own text for JSONL).
    if layout == "jsonl":
        line_no = target["line"]
        offset = sum(len(x) + 1 for x in before.split("\n")[:line_no - 1])
        record = before.split("\n")[line_no - 1]
        s, e = value_spans(record, [edit["pointer"]])[edit["pointer"]]
        span = (offset + s, offset + e)
    else:
        span = value_spans(before, [edit["pointer"]])[edit["pointer"]]

    r = run("check", path.name, "--fix", *unsafe, *opts)
    assert "qwenlint: fixed" in r.stderr
    after = path.read_text(encoding="utf-8")
    assert after != before
    # Still valid JSON, with the fix's value in place.
    if layout == "jsonl":
        records = [json.loads(x) for x in after.splitlines() if x.strip()]
        assert len(after.splitlines()) == len(before.splitlines())
        for i, (x, y) in enumerate(zip(before.splitlines(), after.splitlines(), strict=True), start=1):
            if i != target["line"]:
                assert x == y  # other records byte-identical
        assert records[0] == {"messages": CLEAN}
    else:
        doc = json.loads(after)
        if "fixed 1 issue " in r.stderr:  # no later fix changed it again
            assert fixer.resolve(doc, edit["pointer"]) == edit["value"]
    _outside_span_unchanged(before, after, span)
    # That diagnostic is gone.
    remaining = [(d["rule"], d["pointer"]) for d in diagnostics(path.name, *opts)]
    assert (code, target["pointer"]) not in remaining
    # ... and no new kind of finding came with the fix (pointers may move: a list was wrapped)
    assert {r for r, _ in remaining} <= {d["rule"] for d in reported}, remaining
    assert "\\u" not in after[span[0]:]  # non-ASCII stays as it was written (ensure_ascii=False)


def test_pretty_style_follows_the_document(tmp_path):
    path = tmp_path / "m.json"
    text = ('[\n\t{\n\t\t"role": "user",\n\t\t"content": [\n\t\t\t{\n\t\t\t\t"type": "视频",\n'
            '\t\t\t\t"视频": "clip.mp4"\n\t\t\t}\n\t\t]\n\t}\n]')
    path.write_text(text.replace("\n", "\r\n"), encoding="utf-8")
    run("check", "m.json", "--fix")
    after = path.read_bytes().decode("utf-8")
    assert after == ('[\n\t{\n\t\t"role": "user",\n\t\t"content": [\n\t\t\t{\n\t\t\t\t"type": "video",\n'
                     '\t\t\t\t"video": "clip.mp4"\n\t\t\t}\n\t\t]\n\t}\n]').replace("\n", "\r\n")


def test_compact_jsonl_stays_compact_and_bom_is_kept(tmp_path):
    path = tmp_path / "d.jsonl"
    rec = '{"messages":[{"role":"user","content":[{"type":"视频","视频":"v.mp4"}]}]}'
    path.write_bytes(("\ufeff" + rec + "\n" + rec + "\n").encode("utf-8"))
    run("check", "d.jsonl", "--fix")
    fixed = '{"messages":[{"role":"user","content":[{"type":"video","video":"v.mp4"}]}]}'
    assert path.read_bytes() == ("\ufeff" + fixed + "\n" + fixed + "\n").encode("utf-8")


def test_inline_value_in_a_pretty_file_stays_inline(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('[\n  {"role": "user", "content": [{"type": "视频", "视频": "v.mp4"}]}\n]\n',
                    encoding="utf-8")
    run("check", "m.json", "--fix")
    assert path.read_text(encoding="utf-8") == \
        '[\n  {"role": "user", "content": [{"type": "video", "video": "v.mp4"}]}\n]\n'


def test_nested_fixes_apply_outermost_first_then_recheck(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"role": "user", "content": [{"type": "视频", "视频": "v.mp4"}]},
                               ensure_ascii=False, indent=1), encoding="utf-8")
    assert {d["rule"] for d in diagnostics("m.json")} >= {"QL103"}
    r = run("check", "m.json", "--fix")
    assert json.loads(path.read_text(encoding="utf-8")) == \
        [{"role": "user", "content": [{"type": "video", "video": "v.mp4"}]}]
    assert r.exit_code == 0 and "fixed 2 issues" in r.stderr


def test_unsafe_fixes_need_the_flag(tmp_path):
    path = tmp_path / "m.json"
    original = json.dumps([{"role": "user", "content": [{"type": "imgae", "imgae": "a.jpg"}]}])
    path.write_text(original, encoding="utf-8")
    r = run("check", "m.json", "--fix")
    assert path.read_text(encoding="utf-8") == original
    assert r.exit_code == 1 and "1 more with --unsafe-fixes" in r.stderr
    r = run("check", "m.json", "--fix", "--unsafe-fixes")
    assert json.loads(path.read_text(encoding="utf-8"))[0]["content"][0] == \
        {"type": "image", "image": "a.jpg"}
    assert r.exit_code == 0


def test_display_fixes_are_never_applied():
    d = Diagnostic("QL202", "translated-keys", Severity.ERROR, "m", file="x.json", pointer="/0",
                   fix=Fix("show", "/0", 2, Applicability.DISPLAY))
    assert fixer.fix_text("[1]", [d], jsonl=False, unsafe=True) == ("[1]", [])
    assert not fixer.applicable(d.fix, unsafe=True)


def test_diff_prints_and_writes_nothing(tmp_path):
    path = tmp_path / "m.json"
    original = json.dumps([{"role": "user", "content": [{"type": "视频", "视频": "v.mp4"}]}],
                          ensure_ascii=False, indent=2)
    path.write_text(original, encoding="utf-8")
    mtime = os.stat(path).st_mtime_ns
    r = run("check", "m.json", "--diff")
    assert r.exit_code == 1
    assert r.stdout.startswith("--- a/m.json\n+++ b/m.json\n@@")
    assert '-        "type": "视频",\n' in r.stdout and '+        "type": "video",\n' in r.stdout
    assert "\\ No newline at end of file" in fixer.unified_diff(fixer.FileFix("x.json", "[1]", "[2]"))
    assert path.read_text(encoding="utf-8") == original and os.stat(path).st_mtime_ns == mtime
    assert "would fix 1 issue in 1 file" in r.stderr
    clean = tmp_path / "ok.json"
    clean.write_text(json.dumps(CLEAN), encoding="utf-8")
    r = run("check", "ok.json", "--diff")
    assert r.exit_code == 0 and r.stdout == ""


def test_nothing_is_written_without_fix(tmp_path):
    path = tmp_path / "m.json"
    original = json.dumps([{"role": "user", "content": [{"type": "视频", "视频": "v.mp4"}]}])
    path.write_text(original, encoding="utf-8")
    for fmt in ("text", "json", "sarif", "github"):
        run("check", "m.json", "--format", fmt)
    assert path.read_text(encoding="utf-8") == original
    assert sorted(os.listdir(tmp_path)) == ["m.json"]


def _translated(path):
    path.write_text(json.dumps([{"role": "user", "content": [{"type": "视频", "视频": "v"}]}]),
                    encoding="utf-8")


def test_write_is_in_place_and_keeps_permissions_links_and_the_inode(tmp_path):
    """--fix writes like an editor saving the file (issue 20): the same inode (mode, owner and
    hard links kept), a symlink's target written, no temporary file at any time."""
    path = tmp_path / "m.json"
    _translated(path)
    os.chmod(path, 0o640)
    inode = os.stat(path).st_ino
    hard = tmp_path / "hard.json"
    os.link(path, hard)
    link = tmp_path / "link.json"
    link.symlink_to(path.name)
    r = run("check", "link.json", "--fix")
    assert "fixed 1 issue" in r.stderr
    assert link.is_symlink()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert os.stat(path).st_ino == inode and os.stat(path).st_nlink == 2
    assert '"video"' in path.read_text(encoding="utf-8") and '"video"' in hard.read_text(encoding="utf-8")
    assert sorted(os.listdir(tmp_path)) == ["hard.json", "link.json", "m.json"]  # no temporary file


def test_a_signal_during_the_write_waits_for_the_whole_file(tmp_path):
    """Ctrl-C (or SIGTERM) arriving while a fix is written in place is held until the file is
    whole, then delivered (issue 20): the file is the fixed text, never half of it.  The signal is
    sent from inside the write, after its first chunk, so the test does not depend on timing; it
    runs in a fresh interpreter, whose main thread writes (as qwenlint's does; a test runner's
    worker may run tests elsewhere)."""
    import subprocess
    import sys

    path = tmp_path / "m.json"
    path.write_text("x" * 300_000, encoding="utf-8")
    script = f"""
import os, signal
from qwenlint import fix as fixer
real_write, sent = os.write, []
def write_in_chunks(fd, data):
    if not sent:
        sent.append(1)
        os.kill(os.getpid(), signal.SIGINT)  # arrives mid-write
    return real_write(fd, bytes(data[:4096]))
fixer.os.write = write_in_chunks
try:
    fixer.write(fixer.FileFix({str(path)!r}, "x" * 300_000, "y" * 200_000), root={str(tmp_path)!r})
except KeyboardInterrupt:
    print("interrupted after the write" if sent else "no signal")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=str(Path(__file__).resolve().parents[1]))
    assert done.stdout.strip() == "interrupted after the write", done.stdout + done.stderr
    assert path.read_text(encoding="utf-8") == "y" * 200_000


def test_read_only_files_and_links_out_of_the_tree_are_not_written(tmp_path, monkeypatch):
    """A read-only file is refused (not replaced through the writable folder), and so is a
    symlink to a file outside the working tree: both named on stderr, their findings kept."""
    (tmp_path / "tree").mkdir()
    ro = tmp_path / "tree" / "ro.json"
    _translated(ro)
    os.chmod(ro, 0o444)
    outside = tmp_path / "outside.json"
    _translated(outside)
    (tmp_path / "tree" / "out.json").symlink_to(outside)
    before = ro.read_bytes(), outside.read_bytes()
    monkeypatch.chdir(tmp_path / "tree")
    r = run("check", "ro.json", "out.json", "--fix")
    assert (ro.read_bytes(), outside.read_bytes()) == before
    assert "ro.json is read-only: not written" in r.stderr
    assert "out.json links to" in r.stderr and "outside the working tree" in r.stderr
    assert "fixed 0 issues in 0 files" in r.stderr
    assert r.exit_code == 1 and "QL202" in r.stdout
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o444


def test_many_fixes_in_one_file_apply_in_one_round(tmp_path):
    """2 000 fixes of one file are applied together, each where it belongs (the splice is one pass
    over the text; it was one copy of the whole text per fix: docs/benchmarks.md)."""
    convs = [[{"role": "user", "content": [{"type": "视频", "视频": f"v{i}.mp4"}]}] for i in range(2000)]
    text = json.dumps(convs, ensure_ascii=False)
    (tmp_path / "b.json").write_text(text, encoding="utf-8")
    new, done = fixer.fix_text(text, _objects(tmp_path / "b.json"), jsonl=False)
    assert len(done) == 2000
    assert json.loads(new) == [[{"type": "video", "video": f"v{i}.mp4"}] and
                               [{"role": "user", "content": [{"type": "video", "video": f"v{i}.mp4"}]}]
                               for i in range(2000)]


def _objects(path):
    from qwenlint.engine import Engine, run_serial
    from qwenlint.options import Options

    return run_serial(Engine(Options(select=("QL202",))), [str(path)]).diagnostics


def test_value_spans_handle_escapes_duplicates_and_depth():
    text = '{"a/b": [1, {"x\\"y": "s,]}"}], "d": 1, "d": [2, 3]}'
    spans = value_spans(text, ["/a~1b/1/x\"y", "/d", "/a~1b", "", "/missing"])
    assert text[slice(*spans["/a~1b/1/x\"y"])] == '"s,]}"'
    assert text[slice(*spans["/d"])] == "[2, 3]"  # the last duplicate, as json.loads keeps
    assert text[slice(*spans["/a~1b"])] == '[1, {"x\\"y": "s,]}"}]'
    assert spans[""] == (0, len(text))
    assert "/missing" not in spans


def test_a_fix_that_does_not_land_is_refused():
    d = Diagnostic("QL202", "translated-keys", Severity.ERROR, "m", file="x.json", pointer="/0",
                   fix=Fix("f", "/0", {"a": 1}))
    new, done = fixer.fix_text('[{"b": 2}]', [d], jsonl=False)
    assert json.loads(new) == [{"a": 1}] and done == [d]
    with pytest.raises(fixer.FixError):
        fixer._verify('[{"b": 2}]', [fixer._Edit(1, 9, "", d)], jsonl=False)


def test_jsonl_with_a_broken_line_is_fixed_around_it(tmp_path):
    path = tmp_path / "d.jsonl"
    good = '{"messages": [{"role": "user", "content": [{"type": "视频", "视频": "v.mp4"}]}]}'
    path.write_text(good + "\n{not json\n" + good + "\r\n", encoding="utf-8")
    r = run("check", "d.jsonl", "--fix", "--format", "json")
    fixed = good.replace("视频", "video")
    assert path.read_bytes().decode("utf-8") == fixed + "\n{not json\n" + fixed + "\r\n"
    assert [d["rule"] for d in json.loads(r.stdout)["diagnostics"]] == ["QL001"]
    assert r.exit_code == 1


def test_fix_and_diff_over_files_with_different_configurations(tmp_path, monkeypatch):
    """check groups files by their nearest configuration; --diff and --fix cover every group,
    each file rechecked with its own configuration."""
    bad = json.dumps([{"role": "user", "content": [{"type": "视频", "视频": "v.mp4"}]}],
                     ensure_ascii=False)
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "m.json").write_text(bad, encoding="utf-8")
    (tmp_path / "b" / "qwenlint.toml").write_text('family = "qwen3-vl"\n')
    monkeypatch.chdir(tmp_path)
    r = run("check", ".", "--diff")
    assert r.exit_code == 1 and "would fix 2 issues in 2 files" in r.stderr
    assert "--- a/a/m.json" in r.stdout and "--- a/b/m.json" in r.stdout
    r = run("check", ".", "--fix")
    assert r.exit_code == 0 and "fixed 2 issues in 2 files" in r.stderr
    for d in ("a", "b"):
        assert json.loads((tmp_path / d / "m.json").read_text(encoding="utf-8"))[0]["content"][0] \
            == {"type": "video", "video": "v.mp4"}


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLES / "broken").iterdir()))
def test_fixing_the_bundled_examples_brings_no_new_finding(tmp_path, name):
    """The README shows these files: applying every fix (safe and unsafe) removes findings and
    never brings a new kind (the README's own example once did: a translated max_pixels below the
    video minimum, hidden while the part was dropped)."""
    import shutil

    shutil.copytree(EXAMPLES, tmp_path / "examples")
    path = tmp_path / "examples" / "broken" / name

    def codes() -> set[str]:
        r = CliRunner().invoke(main, ["check", "--isolated", str(path), "--format", "json"],
                               catch_exceptions=False)
        return {d["rule"] for d in json.loads(r.stdout)["diagnostics"]}

    before = codes()
    CliRunner().invoke(main, ["check", "--isolated", str(path), "--fix", "--unsafe-fixes"],
                       catch_exceptions=False)
    assert codes() <= before
