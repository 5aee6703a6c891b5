"""Ray Data (qwenlint.ray): the same engine in Ray workers gives the local run's result.

One local Ray cluster (2 CPUs, bound to 127.0.0.1, no dashboard) serves the whole session: Ray
takes several seconds to start, so every test shares it; its finaliser shuts it down and checks
that no process of the session survives.  Each comparison is field by field: the JSON report
(diagnostics with file, pointer, line, column, fix), the record lines, the counts, the
``--statistics`` summary (token histogram, worst records) and the failures.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

from click.testing import CliRunner  # noqa: E402

from qwenlint import ray as qray  # noqa: E402
from qwenlint.cli import main  # noqa: E402
from qwenlint.diagnostics import Severity  # noqa: E402
from qwenlint.engine import Engine, FileScope, run_serial  # noqa: E402
from qwenlint.load import files as loader  # noqa: E402
from qwenlint.load.table import row_record  # noqa: E402
from qwenlint.options import Options  # noqa: E402
from qwenlint.report.json_report import document  # noqa: E402
from qwenlint.rules import REGISTRY, Rule, Scope, select_rules  # noqa: E402

IMAGES = Path(__file__).parent / "fixtures" / "datasets" / "ms-swift" / "good" / "images"
CAT = "data:image/png;base64," + base64.b64encode((IMAGES / "cat.png").read_bytes()).decode()
RUN_SCOPE = {r.code for r in REGISTRY.values() if r.scope is Scope.RUN}
WHOLE_UNDER = loader.STREAM_JSON_BYTES  # a JSON array below this size is read whole


def _cluster_processes(session: str) -> dict[int, float]:
    """The processes of the Ray session: those naming it (GCS, raylet, agents) and all their
    descendants (the workers, whose command line Ray rewrites to ``ray::...``): pid -> start time."""
    import psutil

    found: dict[int, float] = {}
    for p in psutil.process_iter(["pid", "cmdline", "create_time"]):
        if session in " ".join(p.info["cmdline"] or []):
            found[p.pid] = p.info["create_time"]
            try:
                for child in p.children(recursive=True):
                    found[child.pid] = child.create_time()
            except psutil.Error:
                pass
    return found


def _alive(processes: dict[int, float]) -> list[str]:
    import psutil

    alive = []
    for pid, started in processes.items():
        try:
            p = psutil.Process(pid)
            if p.create_time() == started and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid}: {' '.join(p.cmdline())[:100]}")
        except psutil.Error:
            pass
    return alive


@pytest.fixture(scope="session")
def cluster():
    """A local Ray cluster for the session; no process of it outlives the session."""
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False)
    session = os.path.basename(ray._private.worker._global_node.get_session_dir_path())
    yield ray
    processes = _cluster_processes(session)
    assert processes, "the cluster's processes carry the session's name"
    ray.shutdown()
    left: list[str] = []
    for _ in range(60):  # Ray's processes exit asynchronously after shutdown
        left = _alive(processes)
        if not left:
            break
        time.sleep(0.5)
    assert not left, f"Ray processes outlived the session: {left}"


def _out(result) -> dict:
    """Everything a report shows, field by field."""
    return {"doc": document(result),
            "record_lines": [d.record_line for d in result.diagnostics],
            "records": result.records, "skipped": result.skipped,
            "summary": result.summary.to_json() if result.summary is not None else None,
            "failures": [m for m, _ in result.failures]}


def _write(tmp: Path, records: list, raw_lines: list[str]) -> list[str]:
    (tmp / "images").mkdir(exist_ok=True)
    for name in ("cat.png", "dog.png"):
        (tmp / "images" / name).write_bytes((IMAGES / name).read_bytes())
    jl = tmp / "data.jsonl"
    lines = [json.dumps(r) for r in records]
    for k, raw in enumerate(raw_lines):  # unparsable lines among the records: load problems
        lines.insert(min(len(lines), 2 * k + 1), raw)
    jl.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    js = tmp / "data.json"
    js.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return [str(jl), str(js)]


# --- records of several dialects, clean and broken ---------------------------------------------------

MEDIA = st.sampled_from(["images/cat.png", "images/dog.png", "images/missing.png", CAT])
IDS = st.sampled_from(["a", "b", "c", 7, None])  # few ids: duplicates (QL606)


@st.composite
def _record(draw):
    kind = draw(st.sampled_from(["ms-swift", "sharegpt", "qwen-finetune", "native", "broken"]))
    media = draw(st.lists(MEDIA, max_size=2))
    tags = "<image>" * draw(st.integers(0, 2))  # the tags may not match the media (QL601)
    text = draw(st.sampled_from(["What is this?", "Describe <|image_pad|>.", ""]))
    rid = draw(IDS)
    if kind == "ms-swift":
        rec = {"messages": [{"role": "user", "content": tags + text},
                            {"role": "assistant", "content": "A cat."}], "images": media}
    elif kind == "sharegpt":
        rec = {"conversations": [{"from": "human", "value": tags + text},
                                 {"from": "gpt", "value": "A cat."}], "images": media}
    elif kind == "qwen-finetune":  # its media key "image": the file's formats mix (QL615)
        rec = {"image": media[0] if len(media) == 1 else media,
               "conversations": [{"from": "human", "value": tags + text},
                                 {"from": "gpt", "value": "A cat."}]}
    elif kind == "native":
        return [{"role": "user", "content": [{"type": "image", "image": m} for m in media]
                 + [{"type": "text", "text": text}]}]
    else:
        rec = draw(st.sampled_from([{"messages": 3}, {"messages": [{"role": "robot"}]},
                                    {"conversations": [], "images": ["images/cat.png"]}]))
    if rid is not None:
        rec["id"] = rid
    return rec


OPTIONS = st.sampled_from([Options(), Options(target="ms-swift"),
                           Options(family="qwen4-exp")])  # qwen4-exp: no bundled template (run scope)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(_record(), min_size=1, max_size=14),
       raw=st.lists(st.sampled_from(["not json", "{", "[1, 2"]), max_size=2),
       options=OPTIONS, window=st.integers(1, 9), batch=st.integers(1, 4), stream=st.booleans())
def test_engine_ray_equals_the_local_run(cluster, monkeypatch, records, raw, options, window, batch,
                                         stream):
    # Small windows and batches: a window ends inside a file and spans two, batches split records.
    monkeypatch.setattr(qray, "WINDOW", window)
    monkeypatch.setattr(qray, "BATCH", batch)
    # The JSON array read whole (one record) or streamed element by element (one per element).
    monkeypatch.setattr(loader, "STREAM_JSON_BYTES", 0 if stream else WHOLE_UNDER)
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(Path(tmp), records, raw)
        local = run_serial(Engine(options, statistics=True), paths)
        remote = qray.run_ray(Engine(options, statistics=True), paths)
    assert _out(remote) == _out(local)


def test_every_scope_fires_and_ray_agrees(cluster, monkeypatch, tmp_path):
    """Run scope (QL309: no bundled template), file scope (QL607's key), cross-record (QL606
    duplicate ids, QL615 mixed formats), record rules and load problems, identical on Ray."""
    monkeypatch.setattr(qray, "WINDOW", 4)
    monkeypatch.setattr(qray, "BATCH", 2)
    swift = {"messages": [{"role": "user", "content": "<image>Hi"},
                          {"role": "assistant", "content": "Yo"}], "images": ["images/cat.png"]}
    finetune = {"id": "x", "image": "images/cat.png",
                "conversations": [{"from": "human", "value": "<image>Hi"}, {"from": "gpt", "value": "Yo"}]}
    records = [dict(finetune, id=i % 3) for i in range(5)] + [
        {"id": "y", "images": ["images/dog.png"], "conversations": finetune["conversations"]},
        dict(swift, images=["images/missing.png"]), dict(swift, images=[CAT, CAT]),
        [{"role": "user", "content": [{"type": "text", "text": "rendered"}]}]]  # a template
    paths = _write(tmp_path, records, ["not json"])
    for options in (Options(family="qwen4-exp"), Options(target="qwen-finetune")):
        local = run_serial(Engine(options, statistics=True), paths)
        remote = qray.run_ray(Engine(options, statistics=True), paths)
        assert _out(remote) == _out(local)
        rules = [d.rule for d in local.diagnostics]
        if options.family == "qwen4-exp":
            assert len([r for r in rules if r in RUN_SCOPE]) == 1, rules
            assert {"QL606", "QL615", "QL001"} <= set(rules), rules
        else:
            assert "QL607" in rules and "QL606" in rules, rules
        assert any(d.line and d.column for d in remote.diagnostics)


def test_cli_engine_ray_prints_what_the_local_run_prints(cluster, tmp_path):
    records = [{"id": 1, "messages": [{"role": "user", "content": "<image><image>two"}],
                "images": ["images/cat.png"]}, {"id": 1, "messages": 3}]
    paths = _write(tmp_path, records, ["{"])
    runner = CliRunner()
    for extra in ([], ["--output-format", "json"], ["--statistics"],
                  ["--statistics", "--output-format", "json"]):
        local = runner.invoke(main, ["check", *paths, "--isolated", *extra])
        remote = runner.invoke(main, ["check", *paths, "--isolated", "--engine", "ray", *extra])
        assert (remote.exit_code, remote.output) == (local.exit_code, local.output)
        assert local.exit_code == 1
    # The configuration's key does what the flag does.
    (tmp_path / "qwenlint.toml").write_text('engine = "ray"\n')
    local = runner.invoke(main, ["check", *paths, "--isolated", "--output-format", "json"])
    remote = runner.invoke(main, ["check", *paths, "--config", str(tmp_path / "qwenlint.toml"),
                                  "--output-format", "json"])
    assert remote.output == local.output


def test_cli_engine_ray_on_parquet_with_embedded_images(cluster, tmp_path):
    """A Parquet file (rows with embedded image bytes, as Hugging Face writes them): the driver
    reads it with qwenlint's own reader and ships the rows pickled; the output is the local one."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    png = (IMAGES / "cat.png").read_bytes()
    rows = [{"id": i % 5, "messages": [{"role": "user", "content": "<image>" * (1 + i % 2) + "Q"},
                                       {"role": "assistant", "content": "A"}],
             "images": [{"bytes": png if i % 3 else b"not an image", "path": None}]} for i in range(17)]
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=4)
    runner = CliRunner()
    for extra in (["--output-format", "json"], ["--statistics"]):
        local = runner.invoke(main, ["check", str(path), "--isolated", *extra])
        remote = runner.invoke(main, ["check", str(path), "--isolated", "--engine", "ray", *extra])
        assert (remote.exit_code, remote.output) == (local.exit_code, local.output)
    report = runner.invoke(main, ["check", str(path), "--isolated", "--output-format", "json"])
    rules = {d["rule"] for d in json.loads(report.output)["diagnostics"]}
    assert "QL606" in rules and len(rules) >= 2, rules  # duplicate ids, and the images' findings


def test_check_dataset_equals_the_same_rows_checked_locally(cluster):
    rows = [{"id": i % 4, "messages": [{"role": "user", "content": "<image>" * (i % 3) + "Q"},
                                       {"role": "assistant", "content": "A"}],
             "images": [["images/cat.png"], ["images/missing.png"], [CAT]][i % 3]} for i in range(23)]
    ds = ray.data.from_items(rows, override_num_blocks=5)
    got = qray.check_dataset(ds, name="train", base_dir=str(IMAGES.parent), statistics=True,
                             target="ms-swift")
    # The same rows, as Ray gives them, checked in one process.
    engine = Engine(Options(target="ms-swift"), statistics=True)
    fold = engine.fold()
    fold.result.files = 1
    scope = FileScope("train", str(IMAGES.parent))
    for i, row in enumerate(ds.take_all()):
        fold.add(engine.check_record(row_record(row, i), scope))
    want = fold.finish()
    assert _out(got) == _out(want)
    assert got.records == 23 and {"QL601", "QL606"} <= {d.rule for d in got.diagnostics}
    assert {d.pointer.split("/")[1] for d in got.diagnostics if d.rule == "QL606"} == \
        {str(i) for i in range(4, 23)}


def _boom(ctx):
    """A rule that fails on a record holding "BOOM" (a bug in qwenlint, as far as it knows)."""
    if "BOOM" in repr([c.messages for c in ctx.conversations]):
        raise ValueError("boom")
    return ()


def test_a_record_qwenlint_fails_on_is_ql005_on_ray_too(cluster, tmp_path):
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the rule travels by value
    rule = Rule("QL698", "boom", Severity.ERROR, "Fails.", "structure", check=_boom)
    records = [[{"role": "user", "content": "fine"}], [{"role": "user", "content": "BOOM"}],
               [{"role": "user", "content": "fine too"}]]
    paths = _write(tmp_path, records, [])
    rules = select_rules((), ()) + [rule]
    local = run_serial(Engine(Options(), rules), paths)
    remote = qray.run_ray(Engine(Options(), rules), paths)
    assert _out(remote) == _out(local)
    assert [d.rule for d in remote.diagnostics if d.rule == "QL005"] == ["QL005", "QL005"]
    assert len(remote.failures) == 2 and "boom" in remote.failures[0][0]


def _explode(row):
    if row["id"] == 3:
        raise RuntimeError("the reader broke on row 3")
    return row


def test_a_ray_task_failure_is_a_clear_error(cluster):
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ds = ray.data.from_items([{"id": i, "messages": []} for i in range(6)]).map(_explode)
    with pytest.raises(qray.RayFailed, match="the reader broke on row 3"):
        qray.check_dataset(ds)


def _crash(ctx):
    """A rule whose worker process dies on a record holding "CRASH" (a segfault, the OOM killer)."""
    if "CRASH" in repr([c.messages for c in ctx.conversations]):
        os._exit(3)
    return ()


def test_a_worker_that_dies_ends_the_check_with_a_clear_error(cluster, tmp_path):
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    rule = Rule("QL697", "crash", Severity.ERROR, "Kills its worker.", "structure", check=_crash)
    paths = _write(tmp_path, [[{"role": "user", "content": "fine"}],
                              [{"role": "user", "content": "CRASH"}]], [])
    with pytest.raises(qray.RayFailed, match="WorkerCrashedError"):
        qray.run_ray(Engine(Options(), select_rules((), ()) + [rule]), paths[:1])
    # The cluster is still there for the next check.
    assert len(qray.run_ray(Engine(Options()), paths[:1])) == len(run_serial(Engine(Options()), paths[:1]))


def test_without_ray_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as when it is not installed
    with pytest.raises(qray.RayUnavailable, match=r"pip install 'qwenlint\[ray\]'"):
        qray.check_dataset(object())
    result = CliRunner().invoke(main, ["check", "examples/good/train.jsonl", "--engine", "ray"])
    assert result.exit_code == 2
    assert "pip install 'qwenlint[ray]'" in result.output


def test_a_plain_check_does_not_import_ray():
    import subprocess

    root = Path(__file__).resolve().parent.parent
    code = ("import sys\nfrom qwenlint.cli import main\ntry:\n    main(['check', 'examples/good/train.jsonl'])\n"
            "except SystemExit:\n    pass\nprint('RAY' if 'ray' in sys.modules else 'CLEAN')")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.stdout.strip().splitlines()[-1] == "CLEAN", out.stderr[-2000:]


def test_the_engine_key_is_checked(tmp_path):
    from qwenlint.config import ConfigError, load_config

    (tmp_path / "qwenlint.toml").write_text('engine = "spark"\n')
    with pytest.raises(ConfigError, match="engine 'spark' is not one of local, ray"):
        load_config(str(tmp_path / "qwenlint.toml"))
    (tmp_path / "qwenlint.toml").write_text('engine = "ray"\n')
    assert load_config(str(tmp_path / "qwenlint.toml")).engine == "ray"


def _embedded_rows(n: int) -> list[dict]:
    png = (IMAGES / "cat.png").read_bytes()
    return [{"id": i % 7, "messages": [{"role": "user", "content": "<image>" * (1 + (i % 5 == 0)) + "Q"},
                                       {"role": "assistant", "content": "A"}],
             "images": [{"bytes": png + i.to_bytes(4, "big") if i % 6 else b"not an image", "path": None}]}
            for i in range(n)]


def test_engine_ray_on_parquet_in_s3_prints_what_the_local_run_prints(cluster, s3, tmp_path):
    """Issue 19's path end to end, small: a Parquet file with embedded images in the local S3
    server (moto on 127.0.0.1), read through fsspec by range, checked by the local engine and by
    Ray: the same output (benchmarks/bench_scale.py runs it at 1M rows)."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(_embedded_rows(40)), path, row_group_size=8)
    client = s3.client()
    client.create_bucket(Bucket="ray-bench")
    client.upload_file(str(path), "ray-bench", "data/train.parquet")
    base = ["check", "s3://ray-bench/data/train.parquet", "--isolated", "--allow-network",
            "--storage-option", f"endpoint_url={s3.endpoint}", "--target", "llamafactory"]
    runner = CliRunner()
    for extra in (["--output-format", "json"], ["--statistics"]):
        local = runner.invoke(main, [*base, *extra])
        remote = runner.invoke(main, [*base, "--engine", "ray", *extra])
        assert (remote.exit_code, remote.output) == (local.exit_code, local.output)
    doc = json.loads(runner.invoke(main, [*base, "--output-format", "json"]).output)
    rules = [d["rule"] for d in doc["diagnostics"]]
    assert "QL402" in rules and "QL601" in rules, rules
    assert all(d["file"] == "s3://ray-bench/data/train.parquet" for d in doc["diagnostics"])


def test_check_dataset_on_a_dataset_ray_read_from_parquet(cluster, tmp_path):
    """``check_dataset`` on ``ray.data.read_parquet``'s rows (Ray's own reader: its batches, its
    Python values for struct and list columns) gives what checking the file gives."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(_embedded_rows(30)), path, row_group_size=7)
    got = qray.check_dataset(ray.data.read_parquet(str(path)), name="train.parquet",
                             base_dir=str(tmp_path), target="llamafactory")
    engine = Engine(Options(target="llamafactory"))
    want = engine.fold()
    src = engine.read(str(path))
    want.result.files = 1
    for outcome in engine.check_source(src):
        want.add(outcome)
    mine = [(d.rule, d.pointer, d.message) for d in got.diagnostics]
    theirs = [(d.rule, d.pointer, d.message) for d in want.finish().diagnostics]
    assert mine == theirs and mine
