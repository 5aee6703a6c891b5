"""LLaMA-Factory's own dataset code on generated Parquet datasets with embedded images, against
qwenlint's verdicts for the same file.

The worker of test_llamafactory.py (_lf_worker.py) runs ``llamafactory.data.get_dataset`` -- the
``dataset_info.json`` entry, the HF ``datasets`` Parquet loader, the ShareGPT converter (which joins
``media_dir`` to string entries only and leaves a ``{"bytes", "path"}`` struct as it is), the Qwen
template and ``mm_plugin._regularize_images`` (``Image.open(BytesIO(image["bytes"]))`` when the bytes
are not None, else ``Image.open(image["path"])``, relative to the working directory) with the real
processor -- on one generated folder per case.  Nothing of LLaMA-Factory is stubbed.

Generated: one to three ShareGPT records written with pyarrow, half of the files with the schema
metadata Hugging Face ``datasets`` writes (the ``images`` column an ``Image`` feature: the loader
decodes each struct to a PIL image before LLaMA-Factory sees it, raising its own errors) and half
without (the loader gives the struct to LLaMA-Factory as a dict), an ``images`` column of structs, each a valid
PNG or JPEG of a drawn size as bytes (with or without a path beside them), undecodable or truncated
bytes, bytes None with the path of an existing file (relative to the working directory, or absolute),
bytes None with a missing path, or neither; ``<image>`` tags one per image, or one too many or too
few; the training YAML's ``image_max_pixels``.

Compared (test_llamafactory.predict): whether the run stops and with which exception, whether every
record is dropped, and for each kept record its images and image pad tokens, with qwenlint's check
and token report of the Parquet file (``--target llamafactory``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from test_llamafactory import FAMILIES, ask, assert_same_run, image_pads, lf, predict, where_lf_ran  # noqa: F401

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.differential
EXAMPLES = int(os.environ.get("QWENLINT_LF_PARQUET_EXAMPLES", "40"))

SCHEMA = pa.schema([
    ("conversations", pa.list_(pa.struct([("from", pa.string()), ("value", pa.string())]))),
    ("images", pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))),
])
#: What a cell holds: the loadable kinds drawn three times as often as the broken ones (one broken
#: cell stops the whole run, so a file of three rows would rarely be kept otherwise).
GOOD = ("png", "jpeg", "jpeg_with_path", "path_cwd", "path_absolute")
BROKEN = ("undecodable", "truncated", "path_missing", "none")
KINDS = GOOD * 3 + BROKEN
SIZES = st.tuples(st.integers(8, 700), st.integers(8, 700))


def encoded(w: int, h: int, fmt: str) -> bytes:
    buf = io.BytesIO()
    real.pil_image(w, h).save(buf, "PNG" if fmt == "png" else "JPEG")
    return buf.getvalue()


@st.composite
def cases(draw):
    records = []
    for r in range(draw(st.integers(1, 3))):
        images = [(draw(st.sampled_from(KINDS)), *draw(SIZES)) for _ in range(draw(st.integers(0, 2)))]
        tags = max(0, len(images) + draw(st.sampled_from([0] * 8 + [1, -1])))
        records.append({"text": "<image>" * tags + "what is it?", "images": images})
    return {"records": records, "image_max_pixels": draw(st.sampled_from([None, 256 * 28 * 28, 1024 * 28 * 28])),
            "hf_features": draw(st.booleans())}


#: The schema metadata Hugging Face ``datasets`` writes (``Dataset.to_parquet``): the ``images``
#: column is an ``Image`` feature, which the loader decodes to PIL images before LLaMA-Factory sees it.
HF_FEATURES = {b"huggingface": json.dumps({"info": {"features": {
    "conversations": {"feature": {"from": {"dtype": "string", "_type": "Value"},
                                  "value": {"dtype": "string", "_type": "Value"}}, "_type": "List"},
    "images": {"feature": {"_type": "Image"}, "_type": "List"}}}}).encode()}


def write_case(root: str, case: dict) -> dict:
    d = {k: os.path.join(root, k) for k in ("data", "cwd", "elsewhere")}
    for p in d.values():
        os.makedirs(p)
    rows = []
    for r, rec in enumerate(case["records"]):
        images = []
        for k, (kind, w, h) in enumerate(rec["images"]):
            name = f"r{r}i{k}.png"
            if kind in ("png", "jpeg", "jpeg_with_path"):
                images.append({"bytes": encoded(w, h, "png" if kind == "png" else "jpeg"),
                               "path": name if kind == "jpeg_with_path" else None})
            elif kind == "undecodable":
                images.append({"bytes": b"this is not an image", "path": None})
            elif kind == "truncated":
                images.append({"bytes": encoded(w, h, "png")[:20], "path": None})
            elif kind in ("path_cwd", "path_absolute"):
                folder = d["cwd"] if kind == "path_cwd" else d["elsewhere"]
                real.pil_image(w, h).save(os.path.join(folder, name))
                images.append({"bytes": None, "path": name if kind == "path_cwd" else os.path.join(folder, name)})
            elif kind == "path_missing":
                images.append({"bytes": None, "path": name})
            else:
                images.append({"bytes": None, "path": None})
        rows.append({"conversations": [{"from": "human", "value": rec["text"]}, {"from": "gpt", "value": "a"}],
                     "images": images})
    path = os.path.join(d["data"], "d.parquet")
    schema = SCHEMA.with_metadata(HF_FEATURES) if case.get("hf_features") else SCHEMA
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    info = os.path.join(d["data"], "dataset_info.json")
    with open(info, "w") as f:
        json.dump({"d": {"file_name": "d.parquet", "formatting": "sharegpt",
                         "columns": {"messages": "conversations", "images": "images"}}}, f)
    processor = {"image_max_pixels": case["image_max_pixels"]} if case["image_max_pixels"] else {}
    config = os.path.join(root, "train.yaml")
    with open(config, "w") as f:
        f.write("".join(f"{k}: {json.dumps(v)}\n" for k, v in processor.items()) or "template: qwen2_vl\n")
    return {"path": path, "dir": d["data"], "cwd": d["cwd"], "records": len(rows), "info": info,
            "config": config, "processor": processor, "yaml_media_dir": False, "media_dir": None}


@contextlib.contextmanager
def case_files(case: dict):
    root = tempfile.mkdtemp(prefix="qwenlint-lf-parquet-")
    try:
        yield write_case(root, case)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=cases(), family=st.sampled_from(sorted(FAMILIES)))
def test_llamafactory_parquet_agrees(lf, case, family):  # noqa: F811 - lf: the worker fixture
    release, worker = lf
    with case_files(case) as files:
        got = ask(worker, files, family, FAMILIES[family])
        with where_lf_ran(files):
            want = predict(files, family, release)
        event(f"LLaMA-Factory: {got[0]}" + (f" {got[1]}" if got[0] == "error" else ""))
        context = f"LLaMA-Factory {release}, {family}: {case}\nreal {got}\nours {want}"
        assert_same_run(got, want, context)
        if got[0] == "kept":
            assert image_pads(got) == want[2], context
