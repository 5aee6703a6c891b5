"""Parquet and Arrow dataset files (qwenlint/load/parquet.py): rows as records located by JSON
pointer, read batch by batch, embedded ``{"bytes", "path"}`` media probed from their bytes, the
``dataset_info.json`` column mapping, damaged files, a missing pyarrow, and ``--fix`` / ``--shard`` /
``--jobs`` / the reporters on such a file.

The records of a Parquet file are compared with the same records written as a JSON array (the
reader qwenlint already had): same rules at the same pointers with the same messages."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
from PIL import Image  # noqa: E402

from qwenlint.load import files as loader  # noqa: E402
from qwenlint.load import parquet as table_reader  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 20, 30)).save(buf, "JPEG")
    return buf.getvalue()


def record(text: str | None = None, images=None, answer: str = "A cat.") -> dict:
    """A messages record with one <image> tag per image (unless ``text`` says otherwise)."""
    images = images if images is not None else []
    text = "<image>" * len(images) + "What is this?" if text is None else text
    return {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": answer}],
            "images": images}


def write_parquet(path, rows, **kwargs) -> str:
    os.makedirs(os.path.dirname(str(path)) or ".", exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), str(path), **kwargs)
    return str(path)


def diags(result) -> list[tuple[str, str, str]]:
    return [(d["rule"], d["pointer"], d["message"]) for d in result.doc["diagnostics"]]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- reading ----------------------------------------------------------------------------------

def test_rows_are_records_located_by_pointer(in_tmp, cli):
    write_parquet(in_tmp / "data.parquet", [record(), record(images=[{"bytes": b"junk", "path": None}])])
    r = cli("check", "--format", "json", "--target", "llamafactory", "data.parquet")
    got = r.doc["diagnostics"]
    assert [(d["rule"], d["pointer"]) for d in got] == [("QL402", "/1/images/0")]
    assert got[0]["line"] is None and got[0]["column"] is None and got[0]["file"] == "data.parquet"


def test_text_and_sarif_locate_a_row_by_pointer(in_tmp, cli):
    write_parquet(in_tmp / "data.parquet", [record()] * 12 + [record(images=[{"bytes": b"x", "path": None}])])
    text = cli("check", "--target", "llamafactory", "data.parquet").output
    assert text.startswith("data.parquet:/12/images/0: QL402 [error]"), text
    assert ":1:1:" not in text
    sarif = cli("check", "--format", "sarif", "--target", "llamafactory", "data.parquet").doc
    (res,) = sarif["runs"][0]["results"]
    loc = res["locations"][0]
    assert "region" not in loc["physicalLocation"]
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "/12/images/0"


def test_diagnostics_come_in_row_order(in_tmp, cli):
    bad = record(images=[{"bytes": b"x", "path": None}])
    write_parquet(in_tmp / "data.parquet", [bad if i in (2, 10, 11) else record() for i in range(12)])
    got = [p for _, p, _ in diags(cli("check", "--format", "json", "--target", "llamafactory", "data.parquet"))]
    assert got == ["/2/images/0", "/10/images/0", "/11/images/0"]


texts = st.sampled_from(["<image>What is this?", "What is this?", "<image><image>Two?", "", "Hi <video>"])
roles = st.sampled_from(["user", "assistant", "system", "User", "bot"])
paths = st.sampled_from(["a.png", "missing.png", "b.txt", "sub/a.png"])


@st.composite
def json_records(draw):
    n = draw(st.integers(1, 4))
    return [{"messages": [{"role": draw(roles), "content": draw(texts)} for _ in range(draw(st.integers(0, 3)))],
             "images": draw(st.lists(paths, max_size=2))} for _ in range(n)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=json_records(), target=st.sampled_from(["llamafactory", "ms-swift"]))
def test_parquet_gives_what_the_same_json_array_gives(tmp_path, cli, rows, target):
    """The same records as a Parquet file and as a JSON array: the same rules at the same
    pointers with the same messages (a JSON array's records are /<i>/... too)."""
    import pathlib
    import tempfile

    d = pathlib.Path(tempfile.mkdtemp(dir=tmp_path))
    (d / "a.png").write_bytes(png(32, 32))
    (d / "sub").mkdir()
    (d / "sub" / "a.png").write_bytes(png(40, 30))
    (d / "b.txt").write_text("not an image")
    write_parquet(d / "data.parquet", rows)
    (d / "data.json").write_text(json.dumps(rows))
    cwd = os.getcwd()
    os.chdir(d)
    try:
        a = diags(cli("check", "--format", "json", "--target", target, "data.parquet"))
        b = diags(cli("check", "--format", "json", "--target", target, "data.json"))
    finally:
        os.chdir(cwd)
    assert sorted(a) == sorted(b)  # (the JSON file orders them by line, the table by row)


def test_arrow_ipc_file_and_stream(in_tmp, cli):
    t = pa.Table.from_pylist([record(), record(images=[{"bytes": b"x", "path": None}])])
    with pa.ipc.new_file(str(in_tmp / "file.arrow"), t.schema) as w:
        w.write_table(t)
    with pa.ipc.new_stream(str(in_tmp / "stream.arrow"), t.schema) as w:  # datasets' cache files
        w.write_table(t, max_chunksize=1)
    for name in ("file.arrow", "stream.arrow"):
        got = diags(cli("check", "--format", "json", "--target", "llamafactory", name))
        assert [(r, p) for r, p, _ in got] == [("QL402", "/1/images/0")], name


def test_directory_walk_finds_the_hugging_face_layout(in_tmp, cli):
    for i in range(3):
        write_parquet(in_tmp / "data" / f"train-0000{i}-of-00003.parquet", [record()])
    write_parquet(in_tmp / "data" / "test-00000-of-00001.parquet", [record(images=[{"bytes": b"", "path": None}])])
    r = cli("check", "--format", "json", "--target", "llamafactory", ".")
    assert r.exit_code == 1
    assert [(d["file"], d["pointer"]) for d in r.doc["diagnostics"]] == \
        [(os.path.join("data", "test-00000-of-00001.parquet"), "/0/images/0")]
    assert loader.is_candidate("train-00000-of-00003.parquet") and loader.is_candidate("x.arrow")


def test_a_save_to_disk_folder_is_walked_without_its_metadata(in_tmp, cli):
    """``Dataset.save_to_disk`` writes its own ``dataset_info.json`` (a DatasetInfo: features,
    citation, ...) and ``state.json`` beside the Arrow stream: a walk checks the rows and skips
    both (the first was read as LLaMA-Factory's registry, each key an entry)."""
    t = pa.Table.from_pylist([record(), record(images=[{"bytes": b"x", "path": None}])])
    os.makedirs(in_tmp / "ds")
    with pa.ipc.new_stream(str(in_tmp / "ds" / "data-00000-of-00001.arrow"), t.schema) as w:
        w.write_table(t)
    features = {"messages": [{"content": {"dtype": "string", "_type": "Value"},
                              "role": {"dtype": "string", "_type": "Value"}}],
                "images": {"feature": {"_type": "Image"}, "_type": "List"}}
    (in_tmp / "ds" / "dataset_info.json").write_text(json.dumps(
        {"citation": "", "description": "", "features": features, "homepage": "", "license": ""}))
    (in_tmp / "ds" / "state.json").write_text(json.dumps(
        {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "5f1c0e2a",
         "_format_columns": None, "_format_kwargs": {}, "_format_type": None,
         "_output_all_columns": False, "_split": None}))
    r = cli("check", "--format", "json", "--target", "llamafactory", "ds")
    assert [(d["file"], d["rule"], d["pointer"]) for d in r.doc["diagnostics"]] == \
        [(os.path.join("ds", "data-00000-of-00001.arrow"), "QL402", "/1/images/0")]
    # LLaMA-Factory's own registry is still read in a walk.
    (in_tmp / "lf").mkdir()
    (in_tmp / "lf" / "dataset_info.json").write_text(json.dumps({"mine": {"file_name": "missing.json"}}))
    assert any(d["file"].endswith("dataset_info.json") for d in cli("check", "--format", "json", "lf").doc["diagnostics"])


def test_a_walk_skips_a_table_of_no_dialect(in_tmp, cli):
    """As for JSON: a table found by a walk whose first row is no record qwenlint reads is skipped;
    named on the command line it is checked."""
    write_parquet(in_tmp / "d" / "metrics.parquet", [{"step": 1, "loss": 0.5}])
    write_parquet(in_tmp / "d" / "train.parquet", [record()])
    walked = cli("check", "--format", "json", "d")
    assert walked.exit_code == 0 and walked.doc["diagnostics"] == [] and walked.doc["summary"]["files"] == 1
    named = cli("check", "--format", "json", "d/metrics.parquet")
    assert [d["rule"] for d in named.doc["diagnostics"]] == ["QL101"]


class CountingFile(io.RawIOBase):
    """A binary file that counts the bytes read through it."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.read_bytes = 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, *a):
        return self.f.seek(*a)

    def tell(self):
        return self.f.tell()

    def readinto(self, b):
        n = self.f.readinto(b)
        self.read_bytes += n or 0
        return n

    def close(self):
        self.f.close()
        super().close()


def test_rows_are_read_lazily_row_group_by_row_group(tmp_path):
    """A file of 40 row groups (each with ~40 KiB of image bytes): the first record is available
    after reading a small part of the file, and reading stops where the caller stops."""
    rows = [record(images=[{"bytes": os.urandom(4000), "path": None}]) for _ in range(400)]
    path = write_parquet(tmp_path / "big.parquet", rows, row_group_size=10, compression="none",
                         write_statistics=False)  # (binary min/max statistics would make the footer large)
    assert pq.ParquetFile(path).num_row_groups == 40
    opened: list[CountingFile] = []

    def open_binary(p):
        opened.append(CountingFile(p))
        return opened[0]

    src = table_reader.read_table(path, "big.parquet", open_binary=open_binary)
    assert opened == []  # nothing is read before the records are asked for
    it = iter(src.records)
    first = next(it)
    assert first.pointer == "/0" and first.index == 0 and first.text is None
    size = os.path.getsize(path)
    assert opened[0].read_bytes < size / 4, (opened[0].read_bytes, size)
    rest = sum(1 for _ in it)
    assert rest == 399 and opened[0].read_bytes >= size * 0.9
    assert opened[0].closed


def test_read_table_takes_an_open_binary_callable(tmp_path):
    path = write_parquet(tmp_path / "x.parquet", [record(), record()])
    src = table_reader.read_table("memory://x.parquet", "x.parquet", open_binary=lambda _p: open(path, "rb"))
    assert [r.pointer for r in src.records] == ["/0", "/1"] and src.problems == []


# --- embedded media --------------------------------------------------------------------------

def test_embedded_bytes_are_probed(in_tmp, cli):
    (in_tmp / "on_disk.png").write_bytes(png(64, 48))
    rows = [
        record(images=[{"bytes": png(56, 56), "path": None}]),            # 0: fine
        record(images=[{"bytes": jpeg(80, 60), "path": "ignored.jpg"}]),  # 1: bytes win over the path
        record(images=[{"bytes": b"\x89PNG broken", "path": None}]),     # 2: QL402
        record(images=[{"bytes": None, "path": "on_disk.png"}]),          # 3: the path, fine
        record(images=[{"bytes": None, "path": "missing.png"}]),          # 4: QL401
        record(images=[{"bytes": None, "path": None}]),                   # 5: nothing to load: QL401
        record(images=[{"bytes": b"", "path": "on_disk.png"}]),           # 6: empty bytes
    ]
    write_parquet(in_tmp / "data.parquet", rows)
    lf = cli("check", "--format", "json", "--target", "llamafactory", "data.parquet")
    json.dumps(lf.doc)  # serialisable: no bytes anywhere
    assert [(r, p) for r, p, _ in diags(lf)] == [
        ("QL402", "/2/images/0"), ("QL401", "/4/images/0"), ("QL401", "/5/images/0"), ("QL402", "/6/images/0")]
    assert "b'" not in lf.output and "\\x89" not in lf.output
    # ms-swift: image['bytes'] or image['path'] -- empty bytes fall back to the path
    swift = cli("check", "--format", "json", "--target", "ms-swift", "data.parquet")
    assert [(r, p) for r, p, _ in diags(swift)] == [
        ("QL402", "/2/images/0"), ("QL401", "/4/images/0"), ("QL401", "/5/images/0")]


def test_embedded_image_pads_come_from_the_bytes(in_tmp):
    """The vision prediction of an embedded image comes from its bytes' size (a 56x56 image is
    2x2 merged patches for a Qwen2.5-VL: 4 pads; a 560x560 one 400)."""
    from qwenlint.engine import Engine
    from qwenlint.options import Options

    write_parquet(in_tmp / "data.parquet", [record(images=[{"bytes": png(56, 56), "path": None}]),
                                            record(images=[{"bytes": png(560, 560), "path": "x.png"}])])
    engine = Engine(Options(target="llamafactory"))
    pads = [outcome.context.predictions[f"/{outcome.record.index}/images/0"].tokens
            for outcome in engine.check_source(engine.read("data.parquet"), keep=True)]
    assert pads == [4, 400]


def test_a_video_struct_cannot_be_loaded_by_llamafactory(in_tmp, cli):
    rows = [{"messages": [{"role": "user", "content": "<video>What?"}, {"role": "assistant", "content": "A."}],
             "videos": [{"bytes": b"\x00\x00\x00\x18ftypmp42", "path": None}]}]
    write_parquet(in_tmp / "v.parquet", rows)
    got = diags(cli("check", "--format", "json", "--target", "llamafactory", "v.parquet"))
    assert ("QL402", "/0/videos/0") in [(r, p) for r, p, _ in got]
    assert any("av.open" in m for _, _, m in got)


# --- dataset_info.json -------------------------------------------------------------------------

def test_dataset_info_mapping_reads_the_schema_not_the_rows(in_tmp, cli, monkeypatch):
    rows = [{"conversations": [{"from": "human", "value": "<image>What?"}, {"from": "gpt", "value": "A."}],
             "pics": [{"bytes": png(28, 28), "path": None}]},
            {"conversations": [{"from": "human", "value": "<image><image>Two?"}, {"from": "gpt", "value": "A."}],
             "pics": [{"bytes": png(28, 28), "path": None}]}]
    write_parquet(in_tmp / "data" / "train-00000-of-00001.parquet", rows)
    (in_tmp / "dataset_info.json").write_text(json.dumps({"mine": {
        "file_name": "data", "formatting": "sharegpt", "columns": {"messages": "conversations", "images": "pics"}}}))
    top, inner = loader.columns(str(in_tmp / "data" / "train-00000-of-00001.parquet"), "conversations")
    assert top == {"conversations", "pics"} and inner == {"from", "value"}
    par = diags(cli("check", "--format", "json", "data/train-00000-of-00001.parquet"))
    # without "images" in the entry's columns LLaMA-Factory reads no image: both rows' tags are surplus
    (in_tmp / "dataset_info.json").write_text(json.dumps({"mine": {
        "file_name": "data", "formatting": "sharegpt", "columns": {"messages": "conversations"}}}))
    unmapped = diags(cli("check", "--format", "json", "data/train-00000-of-00001.parquet"))
    assert [(r, p) for r, p, _ in unmapped] == [("QL601", "/0/conversations/0/value"),
                                                ("QL601", "/1/conversations/0/value")]
    (in_tmp / "dataset_info.json").write_text(json.dumps({"mine": {
        "file_name": "data", "formatting": "sharegpt", "columns": {"messages": "conversations", "images": "pics"}}}))
    # the same records as a JSON file the same entry declares
    (in_tmp / "data" / "train-00000-of-00001.parquet").unlink()
    rows_json = [{**r, "pics": ["a.png"]} for r in rows]
    (in_tmp / "data" / "a.png").write_bytes(png(28, 28))
    (in_tmp / "data" / "train.json").write_text(json.dumps(rows_json))
    js = diags(cli("check", "--format", "json", "data/train.json"))
    assert [(r, p) for r, p, _ in par] == [(r, p) for r, p, _ in js]
    assert [(r, p) for r, p, _ in par] == [("QL601", "/1/conversations/0/value")]
    assert '1 image in "pics"' in par[0][2]  # the entry's column, read through the mapping


def test_columns_come_from_the_schema_without_reading_rows(tmp_path, monkeypatch):
    path = write_parquet(tmp_path / "x.parquet", [record()])
    monkeypatch.setattr(table_reader, "_iter_rows", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
    assert loader.columns(path, "messages") == (frozenset({"messages", "images"}), frozenset({"role", "content"}))


# --- damaged files, no pyarrow --------------------------------------------------------------------

def test_damaged_files_are_load_problems(in_tmp, cli):
    good = write_parquet(in_tmp / "good.parquet", [record() for _ in range(50)], row_group_size=5,
                         compression="none")
    data = open(good, "rb").read()
    (in_tmp / "truncated.parquet").write_bytes(data[: len(data) // 2])
    (in_tmp / "garbage.parquet").write_bytes(b"this is not parquet at all")
    (in_tmp / "empty.arrow").write_bytes(b"")
    middle = bytearray(data)  # the page header of row group 5 (rows 25-29) broken, the footer intact
    offset = pq.ParquetFile(good).metadata.row_group(5).column(0).data_page_offset
    middle[offset: offset + 16] = b"\xff" * 16
    (in_tmp / "middle.parquet").write_bytes(bytes(middle))
    for name in ("truncated.parquet", "garbage.parquet", "empty.arrow", "middle.parquet"):
        r = cli("check", "--format", "json", name)
        assert r.exit_code == 1, (name, r.output, r.exception)
        ds = r.doc["diagnostics"]
        assert ds and all(d["file"] == name for d in ds), (name, ds)
        assert [d["rule"] for d in ds] == ["QL002"], (name, ds)
        text = cli("check", name).output
        assert "Traceback" not in text
    (d,) = cli("check", "--format", "json", "middle.parquet").doc["diagnostics"]
    assert "after 25 rows" in d["message"] and "write the Parquet / Arrow file again" in d["help"]
    assert cli("check", "--format", "json", "--statistics", "middle.parquet").doc["records"] == 25


def test_without_pyarrow_a_table_is_a_load_problem(in_tmp, cli, monkeypatch):
    write_parquet(in_tmp / "data.parquet", [record()])
    for mod in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.setitem(sys.modules, mod, None)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    r = cli("check", "--format", "json", "data.parquet")
    (d,) = r.doc["diagnostics"]
    assert d["rule"] == "QL002" and "pip install 'qwenlint[parquet]'" in d["message"] + d["help"]
    assert r.exit_code == 1


def test_checking_json_does_not_import_pyarrow(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps([{"role": "user", "content": "hi"}]))
    code = ("import sys\nfrom qwenlint.cli import main\n"
            "try:\n    main(['check', 'c.json'])\nexcept SystemExit:\n    pass\n"
            "print('PYARROW' if 'pyarrow' in sys.modules else 'CLEAN')")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": REPO}, timeout=120)
    assert out.stdout.strip().endswith("CLEAN"), out.stdout + out.stderr


# --- --fix, --shard, --jobs ---------------------------------------------------------------------

def test_fix_never_writes_a_table(in_tmp, cli):
    rows = [{"messages": [{"role": "user", "content": [{"type": "text", "texte": "hi"}]},
                          {"role": "assistant", "content": [{"type": "text", "texte": "A."}]}]}]
    path = write_parquet(in_tmp / "fx.parquet", rows)
    before = open(path, "rb").read()
    r = cli("check", "--fix", "fx.parquet")
    assert open(path, "rb").read() == before
    assert "fixes are not written to Parquet / Arrow files" in r.stderr
    assert "QL203" in r.output and r.exit_code == 1


def test_shards_split_the_rows(in_tmp, cli):
    bad = {"bytes": b"x", "path": None}
    write_parquet(in_tmp / "d.parquet", [record(images=[bad]) for _ in range(7)], row_group_size=2)
    whole = [p for _, p, _ in diags(cli("check", "--format", "json", "--target", "llamafactory", "d.parquet"))]
    parts = [[p for _, p, _ in diags(cli("check", "--format", "json", "--target", "llamafactory",
                                         "--shard", f"{i}/3", "d.parquet"))] for i in range(3)]
    assert sorted(sum(parts, []), key=lambda p: int(p.split("/")[1])) == whole
    assert parts[1] == ["/1/images/0", "/4/images/0"]


def test_jobs_give_the_serial_result(in_tmp, cli):
    rows = [record(images=[{"bytes": b"x" if i % 3 == 0 else png(28 + i, 28), "path": None}]) for i in range(300)]
    write_parquet(in_tmp / "d.parquet", rows, row_group_size=50)
    serial = cli("check", "--format", "json", "--target", "llamafactory", "d.parquet").doc
    par = cli("check", "--format", "json", "--target", "llamafactory", "--jobs", "2", "d.parquet").doc
    assert par["diagnostics"] == serial["diagnostics"] and len(serial["diagnostics"]) == 100
    stats = [cli("check", "--format", "json", "--statistics", "--target", "llamafactory", *jobs, "d.parquet").doc
             for jobs in ((), ("--jobs", "2"))]
    assert stats[0] == stats[1] and stats[0]["records"] == 300
