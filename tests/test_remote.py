"""Inputs by URL (qwenlint/remote.py): data files and media in object storage or on the web.

Against real servers on 127.0.0.1, started and stopped by the fixtures (tests/conftest.py): moto's
S3 server (tests/s3_server.py) and a Range-capable HTTP server that counts the bytes it sends
(tests/http_range_server.py); ``memory://`` for the fast unit tests.  gs:// (gcsfs) and hf://
(huggingface_hub) take the same code path but have no local stand-in: not exercised here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "media"))

from mediasynth import have_av  # noqa: E402

from qwenlint import remote  # noqa: E402
from qwenlint.media import probe_image, probe_video  # noqa: E402
from qwenlint.media.probe import probe_opened  # noqa: E402

pytest.importorskip("fsspec")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RECEIPT = EXAMPLES / "good" / "media" / "receipt.jpg"


def _bucket(s3) -> str:
    name = "b" + uuid.uuid4().hex[:16]
    s3.client().create_bucket(Bucket=name)
    return name


def _put(s3, bucket: str, key: str, data: bytes) -> str:
    s3.client().put_object(Bucket=bucket, Key=key, Body=data)
    return f"s3://{bucket}/{key}"


def _net(s3) -> list[str]:
    return ["--allow-network", "--storage-option", f"endpoint_url={s3.endpoint}"]


# --- which strings are URLs, and which need the network --------------------------------------------

@pytest.mark.parametrize("value, url, network", [
    ("s3://b/k.jsonl", True, True), ("S3://b/k", True, True), ("gs://b/k", True, True),
    ("gcs://b/k", True, True), ("hf://datasets/x/y/a.json", True, True),
    ("https://h/a.json", True, True), ("http://h/a.json", True, True),
    ("memory://d/a.json", True, False), ("file:///tmp/a.json", True, False),
    ("data/a.json", False, False), ("/abs/a.json", False, False), ("C:\\x\\a.json", False, False),
    ("c://x", False, False), ("nosuchscheme://x/y", False, False), ("", False, False),
])
def test_which_strings_are_urls(value, url, network):
    assert remote.is_url(value) is url
    assert remote.needs_network(value) is network


def test_url_folders_and_joins_stay_inside_the_bucket():
    assert remote.parent("s3://b/d/x.jsonl") == "s3://b/d"
    assert remote.parent("s3://b/x.jsonl?versionId=1") == "s3://b"
    assert remote.join("s3://b/d", "img/a.jpg") == "s3://b/d/img/a.jpg"
    assert remote.join("s3://b/d", "../../../../etc/passwd") == "s3://b/etc/passwd"
    assert remote.join("https://h:8/p", "./a/../b.jpg") == "https://h:8/p/b.jpg"


def test_storage_options_are_parsed_and_bad_ones_refused():
    assert remote.parse_storage_options(["anon=true", "endpoint_url=http://127.0.0.1:9000",
                                         "client_kwargs.region_name=eu-west-1", "n=3"]) == {
        "anon": True, "endpoint_url": "http://127.0.0.1:9000",
        "client_kwargs": {"region_name": "eu-west-1"}, "n": 3}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        remote.parse_storage_options(["anon"])


@pytest.mark.parametrize("url, why", [
    ("s3://", "no bucket"), ("s3:///k.json", "no bucket"), ("gs:///k.json", "no bucket"),
    ("s3://b/../other/k.json", "'..'"), ("s3://b/k.json?versionId=3", "query string"),
])
def test_hostile_urls_are_refused_with_a_sentence(url, why):
    with pytest.raises(remote.RemoteError, match=why) as e:
        remote.info(url, remote.Access(allow_network=True))
    assert e.value.kind == "invalid"


def test_without_allow_network_the_refusal_names_the_flag():
    with pytest.raises(remote.RemoteError, match="--allow-network") as e:
        remote.open_binary("s3://b/k.json", remote.Access())
    assert e.value.kind == "refused"
    # memory:// stays in this process: no flag needed
    import fsspec

    fsspec.filesystem("memory").pipe("/refusal/a.json", b"[]")
    fp, size = remote.open_binary("memory://refusal/a.json", remote.Access())
    assert (fp.read(), size) == (b"[]", 2)


def test_the_cli_refuses_a_network_url_without_the_flag(cli):
    for args in (["s3://bucket/train.jsonl"], ["https://example.invalid/a.json"],
                 ["x.json", "--media-root", "s3://bucket/media"]):
        res = cli("check", *args)
        assert res.exit_code == 2, res.output
        assert "--allow-network" in res.output


def test_the_api_reports_a_refused_url_as_a_diagnostic():
    import qwenlint

    result = qwenlint.check_files(["s3://bucket/train.jsonl"])
    assert [(d.rule, d.file) for d in result] == [("QL002", "s3://bucket/train.jsonl")]
    assert "allow_network=True" in result[0].message


def test_missing_packages_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)
    with pytest.raises(remote.RemoteError, match=r"pip install 'qwenlint\[remote\]'"):
        remote.info("memory://x/a.json", remote.Access())


def test_a_plain_local_check_never_imports_fsspec_or_s3fs():
    code = ("import sys; from qwenlint.cli import main\n"
            "try:\n    main(['check', '--isolated', sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'fsspec', 's3fs', 'gcsfs', "
            "'huggingface_hub', 'aiohttp', 'botocore', 'aiobotocore'})\n"
            "assert not bad, bad\n"
            "assert 'qwenlint.remote' in sys.modules  # the check did ask whether paths are URLs\n")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    subprocess.run([sys.executable, "-c", code, str(EXAMPLES / "good")], env=env, check=True,
                   capture_output=True, timeout=120)


# --- memory://: the same records, lines and columns as the local file ----------------------------

def test_memory_prefix_is_walked_like_a_local_folder(tmp_path):
    import fsspec

    import qwenlint

    files = {"a.jsonl": b'{"messages": [{"role": "robot", "content": "hi"}]}\n',
             "sub/b.json": b'[{"role": "user", "content": [{"type": "imag", "image": "x.jpg"}]}]',
             ".hidden/c.json": b'[{"role": "robot", "content": "x"}]',
             "build/d.json": b'[{"role": "robot", "content": "x"}]',
             "config.json": b'{"model_type": "qwen2_vl"}',
             "notes.txt": b"not json", "trainer_state.json": b'{"log_history": []}'}
    fs = fsspec.filesystem("memory")
    prefix = f"walk{uuid.uuid4().hex[:8]}"
    for name, data in files.items():
        fs.pipe(f"/{prefix}/{name}", data)
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    here = qwenlint.check_files([str(tmp_path)])
    there = qwenlint.check_files([f"memory://{prefix}/"])
    strip = [(d.file.replace(str(tmp_path), "<root>"), d.line, d.column, d.rule, d.pointer) for d in here]
    assert strip == [(d.file.replace(f"memory://{prefix}", "<root>"), d.line, d.column, d.rule, d.pointer)
                     for d in there]
    assert {d.file for d in there} == {f"memory://{prefix}/a.jsonl", f"memory://{prefix}/sub/b.json"}
    assert (here.files, here.skipped) == (there.files, there.skipped) == (2, 1)


# --- S3 (moto on 127.0.0.1): identical diagnostics to the local file ------------------------------

_part = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, st.text(max_size=12)),
    st.sampled_from([{"type": "image", "image": "media/missing.jpg"},
                     {"type": "video", "video": "clips/none.mp4", "fps": 2.0},
                     {"type": "视频", "视频": "a.mp4"}, {"type": "text", "text": "<|image_pad|>"},
                     {"type": "image", "image": "s3://elsewhere/a.jpg"}, {"type": "imag"}]),
)
_message = st.fixed_dictionaries({
    "role": st.sampled_from(["user", "assistant", "system", "robot"]),
    "content": st.one_of(st.text(max_size=8), st.lists(_part, max_size=3))})
_record = st.fixed_dictionaries({"messages": st.lists(_message, max_size=3)})
_line = st.one_of(_record.map(lambda r: json.dumps(r, ensure_ascii=False).encode()),
                  _record.map(lambda r: json.dumps(r).encode()),
                  st.sampled_from([b"", b"  ", b"{bad", b"[1,", b'{"messages": 3}', b"\xff\xfe",
                                   b"\xef\xbb\xbf{}"]))
_jsonl = st.tuples(st.lists(_line, min_size=0, max_size=6), st.sampled_from([b"\n", b"\r\n"]),
                   st.booleans()).map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else b""))
_json = st.one_of(
    st.lists(_record, max_size=4).map(lambda rs: json.dumps(rs, indent=2, ensure_ascii=False).encode()),
    st.lists(_message, max_size=3).map(lambda ms: json.dumps(ms).encode()),
    st.tuples(st.lists(_record, min_size=1, max_size=3), st.sampled_from([b"", b",", b" ]", b"\n{"]))
    .map(lambda t: json.dumps(t[0], indent=1).encode() + t[1]),
)


def _diagnostics(res, base: str) -> list[dict]:
    doc = json.loads(res.output)
    out = []
    for d in doc["diagnostics"]:
        d = dict(d)
        d.pop("file")
        out.append(json.loads(json.dumps(d).replace(base, "<base>")))
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.one_of(_jsonl.map(lambda b: ("train.jsonl", b)), _json.map(lambda b: ("train.json", b))),
       shard=st.booleans())
def test_s3_gives_the_diagnostics_of_the_same_bytes_on_disk(cli, s3, data, shard):
    """Hypothesis-generated JSON / JSONL files (valid, broken, non-UTF-8, BOM, CRLF): checked from
    moto's S3 and from a local copy, every diagnostic (rule, message, pointer, line, column, fix)
    is the same but for the file's name; ``--shard 0/1`` reads a JSON array element by element
    (qwenlint/load/stream.py) through the same fsspec file object."""
    name, raw = data
    bucket = _bucket(s3)
    url = _put(s3, bucket, f"d/{name}", raw)
    extra = ["--shard", "0/1"] if shard else []
    with tempfile.TemporaryDirectory() as d:
        local = Path(d) / name
        local.write_bytes(raw)
        here = cli("check", "--isolated", "--format", "json", str(local), "--allow-network", *extra)
        there = cli("check", "--isolated", "--format", "json", url, *_net(s3), *extra)
        assert here.exit_code == there.exit_code, (here.output, there.output)
        assert _diagnostics(here, d) == _diagnostics(there, f"s3://{bucket}/d")
    assert json.loads(there.output)["summary"] == json.loads(here.output)["summary"]


def test_an_s3_prefix_is_walked_like_the_same_local_folder(cli, s3, tmp_path):
    bucket = _bucket(s3)
    files = {"b.jsonl": b'{"messages": [{"role": "robot", "content": "hi"}]}\n',
             "a/x.json": b'[{"role": "user", "content": [{"type": "imag"}]}]',
             "a/deeper/y.jsonl": b"{bad\n", ".git/z.json": b"[]", "node_modules/n.json": b"{bad",
             "tokenizer_config.json": b"{}", "adapter_config.json": b'{"peft_type": "LORA"}'}
    for name, data in files.items():
        _put(s3, bucket, f"ds/{name}", data)
        (tmp_path / "ds" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ds" / name).write_bytes(data)
    here = cli("check", "--isolated", "--format", "json", str(tmp_path / "ds"))
    there = cli("check", "--isolated", "--format", "json", f"s3://{bucket}/ds/", *_net(s3))
    assert here.exit_code == there.exit_code == 1
    local = [f["path"].replace(str(tmp_path / "ds"), "") for f in here.doc["files"]]
    assert [f["path"].replace(f"s3://{bucket}/ds", "") for f in there.doc["files"]] == local
    assert _diagnostics(here, str(tmp_path / "ds")) == _diagnostics(there, f"s3://{bucket}/ds")
    assert sorted({d["file"] for d in there.doc["diagnostics"]}) == [
        f"s3://{bucket}/ds/a/deeper/y.jsonl", f"s3://{bucket}/ds/a/x.json", f"s3://{bucket}/ds/b.jsonl"]
    # the same prefix without the trailing slash is a folder too (the store lists it)
    again = cli("check", "--isolated", "--format", "json", f"s3://{bucket}/ds", *_net(s3))
    assert again.doc["diagnostics"] == there.doc["diagnostics"]


def test_a_missing_object_or_bucket_is_a_diagnostic(cli, s3):
    bucket = _bucket(s3)
    for url in (f"s3://{bucket}/nope.jsonl", f"s3://nobucket{uuid.uuid4().hex[:8]}/x.json"):
        res = cli("check", "--isolated", "--format", "json", url, *_net(s3))
        assert res.exit_code == 1, res.output
        (d,) = res.doc["diagnostics"]
        assert (d["rule"], d["file"]) == ("QL002", url)
        assert "no such object" in d["message"]


def test_an_unreachable_endpoint_ends_with_a_diagnostic(cli, s3):
    with socket.socket() as sock:  # a port nothing listens on (bound, never listening)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        res = cli("check", "--isolated", "--format", "json", "s3://bucket/train.jsonl",
                  "--allow-network", "--storage-option", f"endpoint_url=http://127.0.0.1:{port}")
    assert res.exit_code == 1, res.output
    (d,) = res.doc["diagnostics"]
    assert d["rule"] == "QL002" and "cannot reach the endpoint" in d["message"]


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"])
def test_s3fs_honours_aws_endpoint_url(cli, s3, monkeypatch, variable):
    """botocore reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_S3: no --storage-option needed."""
    bucket = _bucket(s3)
    url = _put(s3, bucket, "t.jsonl", b"{bad\n")
    monkeypatch.setenv(variable, s3.endpoint)
    # a filesystem made before the variable was set would not read it (nor should a later test
    # get this one): a fresh cache for this test only
    monkeypatch.setattr(remote, "_FS", {})
    res = cli("check", "--isolated", "--format", "json", url, "--allow-network")
    assert res.rules() == [("QL001", "")], res.output


def test_allow_network_and_storage_options_from_the_configuration(cli, s3, tmp_path, monkeypatch):
    bucket = _bucket(s3)
    url = _put(s3, bucket, "t.jsonl", b"{bad\n")
    (tmp_path / "qwenlint.toml").write_text(
        f'allow-network = true\nstorage-options = {{endpoint_url = "{s3.endpoint}"}}\n')
    monkeypatch.chdir(tmp_path)
    res = cli("check", "--format", "json", url)
    assert res.rules() == [("QL001", "")], res.output
    refused = cli("check", "--format", "json", url, "--no-allow-network")
    assert refused.exit_code == 2 and "--allow-network" in refused.output


# --- media of remote data files, and http(s) parts, by byte range ---------------------------------

def _noise_jpeg(path: Path, w: int, h: int) -> None:
    from PIL import Image

    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(path, quality=95)


def _noise_mp4(path: Path, frames: int, faststart: bool) -> None:
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "+faststart"} if faststart else {}) as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "0"}
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _http_opener(url: str):
    access = remote.Access(allow_network=True)
    return lambda: remote.open_binary(url, access)


@pytest.mark.skipif(not have_av(), reason="PyAV is needed to write the videos")
def test_media_by_range_reads_a_small_fraction(http_files):
    """The server counts the bytes it sends: a large MP4 with its moov at the front and at the end
    and a large JPEG give the facts of their local files from a small fraction of their bytes."""
    www = Path(http_files.root)
    _noise_jpeg(www / "big.jpg", 3000, 2000)
    _noise_mp4(www / "end.mp4", 60, faststart=False)
    _noise_mp4(www / "front.mp4", 60, faststart=True)
    for name, kind, local in (("big.jpg", "image", probe_image), ("end.mp4", "video", probe_video),
                              ("front.mp4", "video", probe_video)):
        url = http_files.url(name)
        facts = probe_opened(_http_opener(url), url, kind)
        assert facts == local(str(www / name)), name
        size = (www / name).stat().st_size
        assert size > 3_000_000
        # a header and, for the MP4, the moov box: a block or two of read-ahead
        assert 0 < http_files.served[name] <= 4 * remote.BLOCK_BYTES < size / 10, (name, http_files.served[name], size)


def test_a_remote_data_file_resolves_its_media_beside_it_and_reads_each_once(cli, s3, tmp_path):
    """Relative media paths of an S3 data file resolve against its folder; the token counts are
    those of the same files on disk; a URL named by many records is read once."""
    bucket = _bucket(s3)
    jpeg = RECEIPT.read_bytes()
    _put(s3, bucket, "ds/media/receipt.jpg", jpeg)
    rows = [{"messages": [{"role": "user", "content": [
        {"type": "image", "image": "media/receipt.jpg"}, {"type": "image", "image": "media/none.jpg"},
        {"type": "text", "text": f"q{i}"}]}]} for i in range(5)]
    raw = b"".join(json.dumps(r).encode() + b"\n" for r in rows)
    url = _put(s3, bucket, "ds/train.jsonl", raw)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "receipt.jpg").write_bytes(jpeg)
    (tmp_path / "train.jsonl").write_bytes(raw)
    here = cli("tokens", "--isolated", "--format", "json", str(tmp_path / "train.jsonl"))
    there = cli("tokens", "--isolated", "--format", "json", url, *_net(s3))
    assert here.exit_code == there.exit_code
    strip = lambda doc: [{k: v for k, v in e.items() if k != "file"} for e in doc["parts"]]  # noqa: E731
    assert strip(here.doc) == strip(there.doc) and len(strip(there.doc)) == 10
    checked = cli("check", "--isolated", "--format", "json", url, *_net(s3))
    missing = [d for d in checked.doc["diagnostics"] if d["rule"] == "QL401"]
    assert len(missing) == 5 and f"s3://{bucket}/ds/media/none.jpg" in missing[0]["message"]


def test_one_url_is_probed_once_per_run(monkeypatch):
    import fsspec

    import qwenlint
    from qwenlint.stages import media as media_stage

    prefix = f"once{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("memory").pipe(f"/{prefix}/img/r.jpg", RECEIPT.read_bytes())
    rows = [{"messages": [{"role": "user", "content": [{"type": "image", "image": "img/r.jpg"}]}]}] * 4
    fsspec.filesystem("memory").pipe(f"/{prefix}/t.jsonl", b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    opened = []
    real = media_stage.remote.open_binary
    monkeypatch.setattr(media_stage.remote, "open_binary", lambda u, a, **k: opened.append(u) or real(u, a, **k))
    result = qwenlint.check_files([f"memory://{prefix}/t.jsonl"])
    assert [u for u in opened if u.endswith(".jpg")] == [f"memory://{prefix}/img/r.jpg"], opened
    assert not [d for d in result if d.rule.startswith("QL4")]


def test_http_media_parts_are_read_only_with_allow_network(cli, http_files, tmp_path):
    """An http(s) image part (which qwen-vl-utils, transformers and vLLM fetch themselves): without
    --allow-network its size is unknown (QL406 with a budget), with it the header is read by range
    and the tokens are those of the local file."""
    www = Path(http_files.root)
    (www / "r.jpg").write_bytes(RECEIPT.read_bytes())
    conv = [{"role": "user", "content": [{"type": "image", "image": http_files.url("r.jpg")},
                                          {"type": "text", "text": "total?"}]}]
    local = [{"role": "user", "content": [{"type": "image", "image": str(RECEIPT)},
                                          {"type": "text", "text": "total?"}]}]
    (tmp_path / "remote.json").write_text(json.dumps(conv))
    (tmp_path / "local.json").write_text(json.dumps(local))
    off = cli("check", "--isolated", "--format", "json", str(tmp_path / "remote.json"), "--max-model-len", "4096")
    assert ("QL406", "/0/content/0/image") in off.rules()
    assert http_files.served["r.jpg"] == 0
    on = cli("tokens", "--isolated", "--format", "json", str(tmp_path / "remote.json"), "--allow-network")
    ref = cli("tokens", "--isolated", "--format", "json", str(tmp_path / "local.json"))
    assert on.doc["parts"][0]["tokens"] == ref.doc["parts"][0]["tokens"] > 0
    assert 0 < http_files.served["r.jpg"] <= len(RECEIPT.read_bytes())


def test_s3_in_a_part_stays_a_missing_local_path(cli, s3, tmp_path):
    """qwen-vl-utils, transformers, LLaMA-Factory and ms-swift hand an s3:// string to a local
    open: qwenlint reports what they meet, a missing file, and never fetches it, even with
    --allow-network."""
    bucket = _bucket(s3)
    _put(s3, bucket, "r.jpg", RECEIPT.read_bytes())
    conv = [{"role": "user", "content": [{"type": "image", "image": f"s3://{bucket}/r.jpg"}]}]
    (tmp_path / "c.json").write_text(json.dumps(conv))
    res = cli("check", "--isolated", "--format", "json", str(tmp_path / "c.json"), *_net(s3))
    assert ("QL401", "/0/content/0/image") in res.rules(), res.output


def test_media_root_may_be_a_url(cli, s3, tmp_path):
    bucket = _bucket(s3)
    _put(s3, bucket, "m/receipt.jpg", RECEIPT.read_bytes())
    conv = [{"role": "user", "content": [{"type": "image", "image": "receipt.jpg"}]}]
    (tmp_path / "c.json").write_text(json.dumps(conv))
    res = cli("tokens", "--isolated", "--format", "json", str(tmp_path / "c.json"),
              "--media-root", f"s3://{bucket}/m", *_net(s3))
    ref = cli("tokens", "--isolated", "--format", "json", str(tmp_path / "c.json"),
              "--media-root", str(RECEIPT.parent))
    assert res.doc["parts"][0]["tokens"] == ref.doc["parts"][0]["tokens"] > 0, res.output


def test_a_missing_remote_image_and_bad_bytes_are_media_errors():
    import fsspec

    prefix = f"bad{uuid.uuid4().hex[:8]}"
    fsspec.filesystem("memory").pipe(f"/{prefix}/x.jpg", b"not an image at all")
    access = remote.Access()

    def opener(url):
        def go():
            try:
                return remote.open_binary(url, access)
            except remote.RemoteError as e:
                from qwenlint.media import MediaError

                return MediaError("not-found" if e.kind == "not-found" else "unreadable", str(e), path=url)
        return go

    assert probe_opened(opener(f"memory://{prefix}/x.jpg"), "x", "image").code == "not-an-image"
    assert probe_opened(opener(f"memory://{prefix}/none.jpg"), "n", "image").code == "not-found"


def test_jobs_workers_read_remote_media_as_one_process_does(cli, s3):
    """--jobs 2: the parent reads the S3 data file, the workers probe its media over S3."""
    bucket = _bucket(s3)
    _put(s3, bucket, "ds/media/receipt.jpg", RECEIPT.read_bytes())
    rows = [{"messages": [{"role": "user", "content": [
        {"type": "image", "image": "media/receipt.jpg" if i % 2 else "media/none.jpg"},
        {"type": "text", "text": f"q{i}"}]}]} for i in range(6)]
    url = _put(s3, bucket, "ds/train.jsonl", b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    one = cli("check", "--isolated", "--format", "json", url, *_net(s3))
    two = cli("check", "--isolated", "--format", "json", url, "--jobs", "2", *_net(s3))
    assert one.doc["diagnostics"] == two.doc["diagnostics"]
    assert [d["line"] for d in one.doc["diagnostics"] if d["rule"] == "QL401"] == [1, 3, 5]


def test_an_http_data_file_gives_the_diagnostics_of_the_local_file(cli, http_files):
    raw = (b'{"messages": [{"role": "robot", "content": "hi"}]}\n{bad\n'
           b'{"messages": [{"role": "user", "content": [{"type": "imag"}]}]}\n')
    (Path(http_files.root) / "t.jsonl").write_bytes(raw)
    here = cli("check", "--isolated", "--format", "json", str(Path(http_files.root) / "t.jsonl"))
    there = cli("check", "--isolated", "--format", "json", http_files.url("t.jsonl"), "--allow-network")
    assert here.exit_code == there.exit_code == 1
    assert _diagnostics(here, http_files.root) == _diagnostics(there, http_files.base)
    assert {d["file"] for d in there.doc["diagnostics"]} == {http_files.url("t.jsonl")}
    missing = cli("check", "--isolated", "--format", "json", http_files.url("none.jsonl"), "--allow-network")
    assert [(d["rule"], "no such object" in d["message"]) for d in missing.doc["diagnostics"]] == [("QL002", True)]


@pytest.mark.skipif(not have_av(), reason="PyAV is needed to write the video")
def test_a_video_outside_the_sample_table_envelope_gets_header_values_by_range(http_files):
    """A WebM (no MP4 sample tables): PyAV reads its header through a range-read file object, with
    no packet scan (it would read the whole video): the local file's ``scan=False`` facts."""
    from dataclasses import replace

    from mediasynth import make_video

    www = Path(http_files.root)
    make_video(str(www / "c.webm"), 64, 48, 10, 12, codec="libvpx-vp9")
    url = http_files.url("c.webm")
    facts = probe_opened(_http_opener(url), url, "video")
    local = probe_video(str(www / "c.webm"), scan=False)
    assert facts.exact is False and "no packet scan" in facts.note
    assert replace(facts, note=None) == replace(local, note=None)


def test_remote_audio_gives_the_local_facts():
    import fsspec

    from mediasynth import make_wav

    from qwenlint.media import probe_audio

    with tempfile.TemporaryDirectory() as d:
        wav = make_wav(os.path.join(d, "a.wav"), 16000, 12345)
        name = f"/aud{uuid.uuid4().hex[:8]}/a.wav"
        fsspec.filesystem("memory").pipe(name, Path(wav).read_bytes())
        url = f"memory:/{name}"
        got = probe_opened(lambda: remote.open_binary(url, remote.Access()), url, "audio")
        assert got == probe_audio(wav)


@pytest.mark.parametrize("flag", ["--fix", "--diff"])
def test_fix_and_diff_refuse_a_url(cli, flag):
    import fsspec

    fsspec.filesystem("memory").pipe("/fixme/a.json", b'[{"role": "user", "content": "hi"}]')
    res = cli("check", "memory://fixme/a.json", flag)
    assert res.exit_code == 2 and "not written in place" in res.output
