"""Scale: streamed JSON arrays, --jobs, --shard, the --statistics summary, the progress line."""

from __future__ import annotations

import io
import json
import re
import shutil
import tracemalloc
from pathlib import Path

import pytest

from qwenlint.engine import Engine, run_serial
from qwenlint.load import files as loader
from qwenlint.load import stream
from qwenlint.options import Options
from qwenlint.parallel import run_parallel
from qwenlint.rules import REGISTRY, Scope
from qwenlint.summary import Progress, Summary

RUN_SCOPE = {r.code for r in REGISTRY.values() if r.scope is Scope.RUN}

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def _records(n: int, dup_every: int = 0, bad_every: int = 0) -> list[dict]:
    out = []
    for i in range(n):
        rid = f"id{i % dup_every}" if dup_every else f"id{i}"
        user = f"<image>Question {i}?" if not bad_every or i % bad_every else "<image><image>two"
        out.append({"id": rid, "messages": [
            {"role": "user", "content": user},
            {"role": "assistant", "content": f"Answer {i}."}], "images": ["images/cat.png"]})
    return out


def _dataset(tmp_path: Path, records: list, name: str = "data.json", indent=None) -> Path:
    shutil.copytree(FIXTURES / "ms-swift" / "good" / "images", tmp_path / "images",
                    dirs_exist_ok=True)
    p = tmp_path / name
    if name.endswith(".jsonl"):
        p.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        p.write_text(json.dumps(records, indent=indent), encoding="utf-8")
    return p


def _out(result) -> list[dict]:
    return [d.to_json() | {"record_line": d.record_line} for d in result.diagnostics]


def _check(paths, options=None, jobs: int = 1, shard=None, statistics: bool = False):
    engine = Engine(options or Options(target="ms-swift"), statistics=statistics)
    paths = [str(p) for p in paths]
    if jobs > 1:
        return run_parallel(engine, paths, jobs=jobs, shard=shard)
    return run_serial(engine, paths, shard=shard)


# --- streaming JSON arrays -----------------------------------------------------------------------

@pytest.mark.parametrize("indent", [None, 1])
def test_streamed_array_gives_the_whole_load_diagnostics(tmp_path, indent):
    p = _dataset(tmp_path, _records(40, dup_every=7, bad_every=5) + [3, {"x": 1}], indent=indent)
    whole = _check([p])
    assert loader.read(str(p)).streamed is False
    src = loader.read(str(p), stream=True)
    assert src.streamed
    engine = Engine(Options(target="ms-swift"))
    fold = engine.fold()
    for outcome in engine.check_source(src):
        fold.add(outcome)
    result = fold.finish()
    want = [d for d in _out(whole)]
    got = [d | {"file": want[0]["file"]} for d in _out(result)]
    assert got == want
    assert {d["rule"] for d in want} >= {"QL601", "QL606"}
    assert whole.conversations == result.conversations


def test_streaming_above_the_threshold(tmp_path, monkeypatch):
    p = _dataset(tmp_path, _records(30, dup_every=4), indent=2)
    whole = _check([p])
    monkeypatch.setattr(loader, "STREAM_JSON_BYTES", 0)
    assert loader.read(str(p)).streamed
    assert _out(_check([p])) == _out(whole)


def test_small_buffers_split_strings_and_numbers(tmp_path):
    recs = [{"messages": [{"role": "user", "content": "ü" * (i % 13) + '"\\/' + "x" * i}],
             "n": 12345678901234567890 + i} for i in range(60)]
    p = tmp_path / "d.json"
    p.write_text(" \n[ " + " ,\n".join(json.dumps(r, ensure_ascii=i % 2 == 0)
                                      for i, r in enumerate(recs)) + "\n ]\n", encoding="utf-8")
    src = loader.Source(str(p), "d.json", "json")
    got = list(stream.iter_records(str(p), src, chunk=7))
    assert src.problems == []
    assert [r.value for r in got] == recs
    text = p.read_text(encoding="utf-8")
    lines = text.split("\n")
    for r in got:
        assert lines[r.line - 1][r.column - 1:].startswith(r.text[:20])
        assert json.loads(r.text) == r.value


@pytest.mark.parametrize("text", [
    '[{"messages": []}, {"messages": [}]',
    '[{"messages": []}\n {"messages": []}]',
    '[{"messages": []},\n\n  ]',
    '[{"messages": []}] x',
    '[{"messages": []}, {"messages": "abc',
    '[{"messages": []},',
    '[{"messages": []}, {"a": ' + "[" * 5000 + "]" * 5000 + "}]",
])
def test_invalid_json_is_located_like_the_whole_load(tmp_path, text):
    p = tmp_path / "bad.json"
    p.write_text(text, encoding="utf-8")
    whole = loader.read(str(p), stream=False).problems
    for chunk in (3, 1 << 20):
        src = loader.Source(str(p), "bad.json", "json")
        list(stream.iter_records(str(p), src, chunk=chunk))
        assert [(q.kind, q.message, q.line, q.column) for q in src.problems] == \
               [(q.kind, q.message, q.line, q.column) for q in whole], chunk


def test_encoding_error_is_a_problem(tmp_path):
    p = tmp_path / "enc.json"
    p.write_bytes(b'[{"messages": []},\n {"messages": "\xff"}]')
    whole = loader.read(str(p), stream=True)  # the first chunk fails: the whole-load path
    assert not whole.streamed and [(q.kind, q.line) for q in whole.problems] == [("encoding", 2)]
    src = loader.Source(str(p), "enc.json", "json")
    assert len(list(stream.iter_records(str(p), src, chunk=8))) == 1
    assert [(q.kind, q.line) for q in src.problems] == [("encoding", 2)]


def test_only_arrays_of_records_stream(tmp_path):
    conv = tmp_path / "conv.json"
    conv.write_text(json.dumps([{"role": "user", "content": "hi"}]))
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([[{"role": "user", "content": "hi"}]]))
    assert not loader.read(str(conv), stream=True).streamed
    assert not loader.read(str(batch), stream=True).streamed


def test_streaming_memory_is_bounded(tmp_path):
    # 20 000 records (≈ 4 MiB) keep the test fast; the bound is relative to the file size, and
    # the whole load of the same file is measured side by side.
    n = 20_000
    p = tmp_path / "big.json"
    with open(p, "w", encoding="utf-8") as f:
        f.write("[\n")
        for i in range(n):
            f.write(json.dumps({"id": i, "messages": [
                {"role": "user", "content": f"<image>What is in picture {i}?"},
                {"role": "assistant", "content": "A cat sitting on a mat. " * 4}],
                "images": ["images/cat.png"]}) + (",\n" if i < n - 1 else "\n"))
        f.write("]\n")
    size = p.stat().st_size

    tracemalloc.start()
    src = loader.Source(str(p), "big.json", "json")
    count = sum(1 for _ in stream.iter_records(str(p), src))
    _, streamed_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == n and not src.problems

    tracemalloc.start()
    whole = loader.read(str(p), stream=False)
    _, whole_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(whole.records[0].value) == n
    # The buffer (1 MiB of text) plus one record: far below the file, let alone the whole load.
    assert streamed_peak < 8 * 2**20 + size // 4, (streamed_peak, size)
    assert streamed_peak * 3 < whole_peak, (streamed_peak, whole_peak)


# --- --jobs ----------------------------------------------------------------------------------------

def test_jobs_output_equals_one_process_on_the_fixtures():
    paths = [str(FIXTURES)]
    one = _check(paths, Options())
    two = _check(paths, Options(), jobs=2)
    assert _out(two) == _out(one)
    assert (two.files, two.conversations) == (one.files, one.conversations)


def test_a_small_array_of_mixed_formats_gives_one_verdict_read_whole_or_split(tmp_path):
    """A small JSON array of records is read whole by one process and element by element by
    --jobs (and --engine ray reads as one process): QL615 compared only the first record of a
    whole-array read, so it fired with --jobs alone (found by the Ray tests)."""
    recs = [{"image": "a.png", "conversations": [{"from": "human", "value": "<image>hi"},
                                                 {"from": "gpt", "value": "ok"}]},
            {"images": ["b.png"], "conversations": [{"from": "human", "value": "<image>hi"},
                                                    {"from": "gpt", "value": "ok"}]}]
    path = _dataset(tmp_path, recs, "mixed.json", indent=1)
    one = _check([path], Options())
    two = _check([path], Options(), jobs=2)
    assert _out(two) == _out(one)
    assert [d.rule for d in one.diagnostics].count("QL615") == 1


def test_jobs_workers_see_the_environment_of_the_run_not_of_the_forkserver(tmp_path, monkeypatch):
    """The forkserver starts with the process's environment at the first --jobs run; a later run
    in the same process (the Python API, a test) changed it: the workers must check with the
    environment of their run, as one process does (ms-swift's MAX_PIXELS here; S3 credentials
    and endpoints in the same way)."""
    from PIL import Image

    Image.new("RGB", (1000, 800)).save(tmp_path / "big.png")
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"<image>q{i}"},
                                                     {"role": "assistant", "content": "a"}],
                                        "images": ["big.png"]}) + "\n" for i in range(12)))
    monkeypatch.delenv("MAX_PIXELS", raising=False)
    _check([path], jobs=2, statistics=True)  # the forkserver starts without MAX_PIXELS
    monkeypatch.setenv("MAX_PIXELS", "12544")
    one = _check([path], statistics=True)
    two = _check([path], jobs=2, statistics=True)
    assert two.summary.to_json() == one.summary.to_json()
    monkeypatch.delenv("MAX_PIXELS")
    assert _check([path], statistics=True).summary.to_json() != one.summary.to_json()  # it matters


def test_jobs_duplicate_ids_across_chunks(tmp_path, monkeypatch):
    from qwenlint import parallel

    monkeypatch.setattr(parallel, "CHUNK", 7)
    recs = _records(60, dup_every=9, bad_every=4)
    jl = _dataset(tmp_path, recs, "data.jsonl")
    js = _dataset(tmp_path, recs, "data.json", indent=1)
    opts = Options(target="ms-swift")
    one = _check([jl, js], opts)
    two = _check([jl, js], opts, jobs=2)
    assert _out(two) == _out(one)
    rules = [d.rule for d in one.diagnostics]
    assert rules.count("QL606") == 2 * (60 - 9)
    assert rules.count("QL601") >= 2 * 15


def test_jobs_run_once_findings(tmp_path, monkeypatch):
    from qwenlint import parallel

    monkeypatch.setattr(parallel, "CHUNK", 5)
    conv = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    p = tmp_path / "convs.jsonl"
    p.write_text("".join(json.dumps(conv) + "\n" for _ in range(23)))
    tpl = tmp_path / "t.jinja"
    tpl.write_text("{% for m in messages %}{{ m['role'] }}")
    for opts in (Options(template=str(tpl)), Options(family="qwen4-exp")):  # qwen4-exp: no bundled template (QL309)
        one = _check([p], opts)
        two = _check([p], opts, jobs=2)
        assert _out(two) == _out(one)
        once = [d.rule for d in one.diagnostics if d.rule in RUN_SCOPE]
        assert len(once) == 1, [d.rule for d in one.diagnostics]


# --- --shard ---------------------------------------------------------------------------------------

def test_shards_partition_the_records(tmp_path):
    recs = _records(50, bad_every=3)
    jl = _dataset(tmp_path, recs, "data.jsonl")
    js = _dataset(tmp_path, recs, "data.json")
    (tmp_path / "broken.jsonl").write_text('{"messages": []}\nnot json\n')
    paths = [jl, js, tmp_path / "broken.jsonl"]
    full = _check(paths)
    n = 4
    parts = [_check(paths, shard=(i, n)) for i in range(n)]
    # Every record in exactly one shard (the JSON array is split into its 50 elements).
    assert sum(p.records for p in parts) == 50 + 50 + 1
    assert sum(p.conversations for p in parts) == full.conversations
    merged = sorted((d for p in parts for d in _out(p)), key=lambda d: (d["file"], d["line"],
                                                                        d["column"], d["rule"]))
    assert merged == sorted(_out(full), key=lambda d: (d["file"], d["line"], d["column"], d["rule"]))
    # Load problems belong to shard 0 only.
    assert [d.rule for d in parts[1].diagnostics if d.file.endswith("broken.jsonl")] == []
    lines = {d.line for d in parts[1].diagnostics if d.file.endswith("data.jsonl")}
    assert lines and all((line - 1) % n == 1 for line in lines)


def test_shard_cli(cli, tmp_path):
    p = _dataset(tmp_path, _records(9, bad_every=2), "data.jsonl")
    counts = []
    for i in range(3):
        r = cli("check", str(p), "--target", "ms-swift", "--shard", f"{i}/3", "--format", "json")
        counts.append(len(r.doc["diagnostics"]))
    full = cli("check", str(p), "--target", "ms-swift", "--format", "json")
    assert sum(counts) == len(full.doc["diagnostics"])
    assert cli("check", str(p), "--shard", "3/3").exit_code == 2
    assert cli("check", str(p), "--shard", "x").exit_code == 2


# --- --statistics ----------------------------------------------------------------------------------

def test_statistics_summary(cli, tmp_path):
    p = _dataset(tmp_path, _records(20, bad_every=3), "data.jsonl")
    r = cli("check", str(p), "--target", "ms-swift", "--statistics", "--format", "json")
    doc = r.doc
    assert doc["rules"][0]["rule"] == "QL601"
    assert doc["records"] == 20 and doc["conversations"] == 20
    hist = doc["tokens"]["histogram"]
    assert sum(b["count"] for b in hist) == 20
    assert hist[0]["from"] == 0 and hist[-1]["to"] is None
    worst = doc["worst"]
    assert worst[0]["errors"] >= 1 and worst[0]["line"] == 1
    text = cli("check", str(p), "--target", "ms-swift", "--statistics").output
    assert "token length per conversation" in text and "█" in text
    assert re.search(r"data\.jsonl:1 ", text)
    two = cli("check", str(p), "--target", "ms-swift", "--statistics", "--format", "json",
              "--jobs", "2").doc
    assert two == doc


def test_summary_histogram_and_worst():
    s = Summary(worst=2, budget=1000)
    for t in (10, 200, 5000, 5000):
        s.add_tokens(t)
    assert s.counts[0] == 1 and s.counts[1] == 1 and s.counts[6] == 2
    assert s.over_budget == 2 and s.max == 5000 and s.percentile(0.5) == 256
    from qwenlint.summary import RecordStat

    for e, t in ((0, 9000), (2, 10), (2, 50), (1, 0)):
        s.add(RecordStat(e, 0, t, "f", 1, ""))
    assert [(w.errors, w.tokens) for w in s.worst] == [(2, 50), (2, 10)]


def test_progress_line_is_rate_limited():
    buf = io.StringIO()
    p = Progress(1000, stream=buf, interval=0.0)
    p.update(10, 500)
    assert "10 records" in buf.getvalue() and "50%" in buf.getvalue() and "ETA" in buf.getvalue()
    p.close()
    slow = Progress(1000, stream=io.StringIO(), interval=3600)
    slow.update(1, 1)
    assert slow.stream.getvalue() == ""
