"""qwen-vl-finetune (``--target qwen-finetune``) against its own data processor, run for real.

QwenLM/Qwen3-VL's ``qwen-vl-finetune`` is not on PyPI: its data code is vendored byte for byte in
tests/differential/vendor/qwen_vl_finetune (commit 96588727, see vendor/README.md).  Per drawn
dataset file, the real ``LazySupervisedDataset`` (the dataset registered in its ``data_dict``, as a
user adds one) with ``DataArguments``' defaults written into the family's real processor by
``update_processor_pixels``, and each record through ``preprocess_qwen_visual`` — the function
``__getitem__`` calls (``_build_messages``, then ``processor.apply_chat_template(tokenize=True)``).

Run at transformers 4.57.6 (qwen-vl-finetune's README pins 4.57, through a worker) and 5.23.0,
where ``update_processor_pixels`` writes no pixel bound (transformers 5.4 keeps them in a
``SizeDict``): the checkpoint's own bounds apply.

Drawn: ShareGPT records with ``image`` / ``video`` as a string, a list, empty or absent (and the
``images`` spelling it never reads), ``<image>`` / ``<video>`` tags in human and gpt turns, as many
as the media or not, roles other than human/gpt, images of any size (present or missing), short
videos.  Compared per record: whether it raises (qwenlint: an error the framework stops on), and
for a record that loads, its image and video pads.  ``__getitem__`` retries a failing record, then
silently trains on the next one: that wrapper is not compared (qwenlint reports the failing
record, QL601 / QL401, which is what a user must fix).
"""

from __future__ import annotations

import json
import os
import shutil

import tempfile

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mediasynth import make_video  # tests/media, on the path through _real

from qwenlint.diagnostics import Severity
from qwenlint.options import Options
from qwenlint.tokens import collect

pytestmark = pytest.mark.differential
#: qwenlint family -> qwen-vl-finetune's ``data_args.model_type`` (train_qwen.py)
FAMILIES = {"qwen2-vl": "qwen2vl", "qwen2.5-vl": "qwen2.5vl", "qwen3-vl": "qwen3vl"}
#: qwenlint's errors that say the record raises in qwen-vl-finetune's data processor.
STOPS = {"QL601", "QL401", "QL402", "QL407", "QL603"}


#: transformers releases run: qwen-vl-finetune's README pins 4.57 (its data arguments reach the
#: processor), the environment's 5.23 (they do not: qwen_finetune.PIXELS_IGNORED).
RELEASES = ("5.23.0", "4.57.6")


@pytest.fixture(scope="module", params=RELEASES)
def release(request):
    if request.param == "5.23.0":
        yield request.param, None
        return
    worker = real.transformers_worker(request.param)
    yield request.param, worker
    worker.close()


sizes = st.one_of(st.tuples(st.integers(20, 1100), st.integers(20, 1100)), st.sampled_from([(3000, 2000), (28, 28)]))


@st.composite
def records(draw):
    images = [draw(st.tuples(sizes, st.sampled_from([True, True, True, False]))) for _ in range(draw(st.integers(0, 2)))]
    videos = draw(st.integers(0, 1 if draw(st.integers(0, 3)) == 0 else 0))
    n_img = len(images) + draw(st.sampled_from([0, 0, 0, 1, -1]))
    tags = ["<image>"] * max(0, n_img) + ["<video>"] * (videos + draw(st.sampled_from([0, 0, 0, 1])))
    turns = [["human", ""], ["gpt", "ok"]] * draw(st.integers(1, 2))
    for tag in tags:
        k = draw(st.sampled_from([0, 0, 0, 1] if len(turns) == 2 else [0, 0, 2, 1]))
        turns[k][1] += tag
    for t in turns:
        t[1] += draw(st.sampled_from(["what?", "", " describe"]))
    if draw(st.integers(0, 5)) == 0:
        turns[0][0] = draw(st.sampled_from(["user", "system"]))
    record: dict = {"conversations": [{"from": f, "value": v} for f, v in turns]}
    names = [f"i{k}_{w}x{h}.png" for k, ((w, h), _) in enumerate(images)]
    key = draw(st.sampled_from(["image", "image", "image", "images"]))
    if names:
        record[key] = names[0] if len(names) == 1 and draw(st.booleans()) else names
    elif draw(st.integers(0, 3)) == 0:
        record[key] = draw(st.sampled_from(["", []]))
    if videos:
        record["video"] = "v0.mp4"
    return {"record": record, "images": [(n, s, present) for n, (s, present) in zip(names, images)],
            "video": bool(videos)}


@settings(max_examples=int(os.environ.get("QWENLINT_QFT_EXAMPLES", "60")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(cases=st.lists(records(), min_size=1, max_size=3), family=st.sampled_from(sorted(FAMILIES)),
       jsonl=st.booleans())
def test_qwen_finetune_agrees(release, cases, family, jsonl):
    tf, worker = release
    root = tempfile.mkdtemp(prefix="qwenlint-qft-")
    try:
        for case in cases:
            for name, (w, h), present in case["images"]:
                if present:
                    real.pil_image(w, h).save(os.path.join(root, name))
            if case["video"]:
                make_video(os.path.join(root, "v0.mp4"), 64, 48, 8, 12)
        path = os.path.join(root, "d.jsonl" if jsonl else "d.json")
        recs = [c["record"] for c in cases]
        with open(path, "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in recs) if jsonl else json.dumps(recs))

        if worker is None:
            got = real.qwen_finetune_outcomes(family, recs, root)
        else:
            answer = worker.ask(family=family, kind="qwen-finetune", records=recs, data_path=root)
            assert answer[0] == "ok", answer
            got = [tuple(o) if o[0] == "error" else ("ok", tuple(o[1])) for o in answer[1]]

        assume = (f"transformers=={tf}",)
        options = Options(target="qwen-finetune", family=family, media_root=root, assume=assume)
        import qwenlint

        result = qwenlint.check_files([path], target="qwen-finetune", family=family, media_root=root, assume=assume)
        parts = collect([path], options).document()["parts"]

        def record_of(d) -> int:
            pointer = d["pointer"] if isinstance(d, dict) else d.pointer
            if jsonl:
                return (d["line"] if isinstance(d, dict) else d.line) - 1
            return int(pointer[1:].split("/")[0])

        stops = {record_of(d) for d in result.diagnostics if d.severity is Severity.ERROR and d.rule in STOPS}
        for r, outcome in enumerate(got):
            context = (f"transformers {tf}, {family} record {r}: {json.dumps(cases[r], default=str)}\nreal {outcome}\n"
                       f"ours {[(d.rule, d.message) for d in result.diagnostics if record_of(d) == r]}")
            event(f"{tf} real: {outcome[0]}")
            assert (outcome[0] == "error") == (r in stops), context
            if outcome[0] == "ok":
                mine = [p for p in parts if record_of(p) == r]
                pads = (sum(p["tokens"] or 0 for p in mine if p["kind"] == "image"),
                        sum(p["tokens"] or 0 for p in mine if p["kind"] == "video"))
                assert pads == outcome[1], context + f"\nours pads {pads}"
    finally:
        shutil.rmtree(root, ignore_errors=True)
