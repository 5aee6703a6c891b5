"""LLaMA-Factory's own dataset code against qwenlint's model of it, run for real.

scripts/test.sh installs LLaMA-Factory 0.9.5 and 0.9.4 (``--no-deps``) into ``.versions/``, each
with the peft its data code imports, the packages both frameworks import (``.versions/frameworks-deps``:
datasets, accelerate, omegaconf, torchaudio, trl, ...) and the newest transformers each allows
(5.6.0 and 4.57.1).  A worker (_lf_worker.py) runs ``llamafactory.data.get_dataset`` — the
function its trainer calls: ``dataset_info.json`` parsing, the HF ``datasets`` JSON loader, the
converters, media path resolution, the Qwen template and ``mm_plugin`` with the real processor —
on one generated dataset folder per case.  Nothing of LLaMA-Factory is stubbed.

Generated, half of the time coherently (an entry that matches the record, one tag per image: the
records LLaMA-Factory keeps, whose image pads are compared), else freely: the ``dataset_info.json`` entry (formatting, a ``columns`` and a ``tags`` block with
keys kept, dropped, misspelt or pointing elsewhere), the record (ShareGPT ``from``/``value``,
OpenAI ``role``/``content`` or Alpaca columns; roles in or out of order, system turns, tool turns;
``<image>`` / ``<video>`` tags in any turn), the data file's place (beside ``dataset_info.json`` or
in a sub-folder) and each image's place (``dataset_dir``, the data file's folder, the working
directory, ``media_dir``, an absolute path, nowhere) and size (LLaMA-Factory's pre-resize
included).

The entry names its data as written, or as a folder (of one type, or with a stray text file),
or names a file that is not there, or no file, or a formatting LLaMA-Factory does not have
(QL614 checks ``dataset_info.json`` itself).  Files hold one to three records, some without a column others have (the loader fills it with
None; a column no record has is ``KeyError``), OpenAI records sometimes a tool call and its result
(0.9.4 and 0.9.5 differ there).

The training YAML (``--framework-config``) draws ``image_max_pixels`` / ``image_min_pixels`` and
gives ``media_dir`` there or as ``--media-root``.

Compared: whether the run stops (``get_dataset`` raises: qwenlint reports an error that says so),
whether the record is skipped (QL603), and for a kept record how many images LLaMA-Factory loads and
their image pad tokens, against qwenlint's check and token report with ``--target llamafactory
--assume llamafactory==R --assume transformers==T``.

``test_llamafactory_audio`` draws Omni records with WAV / FLAC audios; ``test_llamafactory_video``
ShareGPT / OpenAI records with a ``videos`` column (and sometimes an image), one ``<video>`` tag per
video in any turn (or a tag too many or too few), small synthetic clips (tests/media/mediasynth:
1 to 24 frames, integer and non-integer rates, MP4 with H.264 or MPEG-4 part 2 and sometimes a
display rotation, WebM, Matroska, MPEG-TS) and the YAML's ``video_fps`` / ``video_maxlen`` /
``video_max_pixels`` / ``video_min_pixels``, and compares whether the run stops and every kept
record's video and image pads.

``cutoff_len`` (test_llamafactory_cutoff): one record LLaMA-Factory keeps (ShareGPT or Alpaca,
system turn or column, images tagged anywhere in the prompts and now and then in an answer) with
``cutoff_len`` drawn around its length (a fraction of it, either side of it, either side of an
image's pads); the worker runs the supervised processor's own encoding once more without a cutoff
beside the real run; ``packing`` now and then (``cutoff_len - 1``).  qwenlint (``cutoff_len``,
``template`` and ``packing`` in the training YAML, the worker's
processor saved as ``--model`` so its text count is exact) must give the untruncated length
exactly, and QL501 must be an error exactly when the real truncation leaves fewer image pads than
the images have, a warning when it cuts text only, nothing when nothing is cut.

``use_audio_in_video`` (test_llamafactory_audio_in_video): one ShareGPT record of an Omni family
with one or two MP4 clips (with an AAC track or none) and the training YAML's
``use_audio_in_video: true``; one ``audios`` entry per video, or one fewer or more, or none, each
a WAV file or the video file itself; ``<video><audio>`` pairs in the first message, or the tags
anywhere.  Compared: whether the run stops (and with which exception), the video and audio pads,
the record's exact untruncated length, and for an interleaved record QL501 at a ``cutoff_len``
drawn at the edges of the interleaved runs.  Omni videos without the setting are covered there
too (a record without audios).

Ranking (DPO / reward-model pairs) and KTO records, with the training YAML's ``stage``, are
test_llamafactory_preference.py's.  Not generated yet:
``cutoff_len`` with videos of the VL families, tool calls or ``mask_history``, videos written as
frame lists, several records of an Omni family with ``use_audio_in_video``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass

import _real as real  # first: it skips this module when the real libraries are missing
from mediasynth import make_clip, make_video, make_wav  # tests/media, on the path through _real
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qwenlint.diagnostics import Severity
from qwenlint.ir import Kind
from qwenlint.options import Options
from qwenlint.tokens import collect

pytestmark = pytest.mark.differential

#: LLaMA-Factory release → the newest transformers it allows (its install requirement).
RELEASES = {"0.9.5": "5.6.0", "0.9.4": "4.57.1"}
FAMILIES = {"qwen2-vl": "qwen2_vl", "qwen2.5-vl": "qwen2_vl", "qwen3-vl": "qwen3_vl_nothink"}
EXAMPLES = int(os.environ.get("QWENLINT_LF_EXAMPLES", "100"))

#: qwenlint's errors that say LLaMA-Factory stops (its rules' messages name the exception; QL407:
#: the processor raises inside get_dataset).
STOPS = {"QL601", "QL401", "QL402", "QL609", "QL614", "QL407"}


@pytest.fixture(scope="module", params=list(RELEASES))
def lf(request):
    release = request.param
    worker = real.framework_worker(f"llamafactory-{release}", release, RELEASES[release], "_lf_worker.py")
    yield release, worker
    worker.close()


# --- the generator ----------------------------------------------------------------------------------

SHAREGPT_ROLES = ("human", "gpt", "system", "observation", "function_call", "user", "assistant")
OPENAI_ROLES = ("user", "assistant", "system", "tool", "human")
PLACES = ("dataset_dir", "data_file_dir", "cwd", "media_dir", "absolute", "missing")


@dataclass
class Image:
    name: str
    place: str
    width: int
    height: int


@st.composite
def texts(draw, tags: list[str]) -> str:
    words = draw(st.lists(st.sampled_from(["hi", "look", "<image>", "<video>", "<image><image>", " "] + tags),
                          max_size=3))
    return "".join(words) or draw(st.sampled_from(["", "ok"]))


@st.composite
def turns(draw, style: str) -> list[tuple[str, str]]:
    if style == "sharegpt":
        user, assistant, pool = "human", "gpt", SHAREGPT_ROLES
    else:
        user, assistant, pool = "user", "assistant", OPENAI_ROLES
    if draw(st.booleans()):  # in the order the converters accept
        n = draw(st.integers(1, 3))
        roles = ([draw(st.sampled_from(["system", "system", user]))] if draw(st.booleans()) else []) + \
            [user, assistant] * n
        if roles and roles[0] == user and len(roles) % 2:
            roles = roles[1:]
    else:
        roles = draw(st.lists(st.sampled_from(pool), max_size=5))
    return [(r, draw(texts([]))) for r in roles]


#: Image sizes: LLaMA-Factory's pre-resize (above 768*768 pixels), its 28-pixel minimum side and
#: its cut of an aspect ratio above 200.
SIZES = st.one_of(st.tuples(st.integers(20, 1100), st.integers(20, 1100)),
                  st.sampled_from([(9000, 30), (30, 9000), (6000, 20), (1500, 1200)]))


#: How the entry names its data (QL614 checks dataset_info.json itself): as written, a folder (of
#: one type, or with a stray text file), a file that is not there, no file_name, a formatting
#: LLaMA-Factory does not have.
REGISTRY = st.sampled_from([None] * 8 + ["folder", "folder_mixed", "wrong_file", "no_file_name", "formatting"])


#: The training YAML's image budgets (``--framework-config``; absent: LLaMA-Factory's defaults).
PROCESSOR = st.fixed_dictionaries({}, optional={
    "image_max_pixels": st.sampled_from([65536, 262144, 1003520, 12845056]),
    "image_min_pixels": st.sampled_from([1024, 65536, 200704])})


@st.composite
def coherent_cases(draw):
    """Records and an entry that agree (the form most files have), with one tag per image in a
    user turn: kept by LLaMA-Factory, so their image pads are compared.  Records may leave out a
    column others have (``input``, ``images``, ``system``): the loader fills it with None."""
    style = draw(st.sampled_from(["sharegpt", "openai", "alpaca"]))
    media_dir = draw(st.booleans())
    entry: dict = {"file_name": None, "formatting": style}
    rk, ck, user, assistant, col = (("from", "value", "human", "gpt", "conversations") if style == "sharegpt"
                                    else ("role", "content", "user", "assistant", "messages"))
    if style == "alpaca":
        entry["columns"] = {"prompt": "instruction", "query": "input", "response": "output"}
    else:
        entry["columns"] = {"messages": col}
        if style == "openai":
            entry["tags"] = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                             "assistant_tag": "assistant", "system_tag": "system"}
            if draw(st.booleans()):
                entry["tags"].update(observation_tag="tool", function_tag="function_call")
    records = []
    for r in range(draw(st.integers(1, 3))):
        images = [Image(f"r{r}i{k}.png", draw(st.sampled_from(["dataset_dir", "absolute", "cwd"]
                                                              + (["media_dir"] if media_dir else []))),
                        *draw(SIZES))
                  for k in range(draw(st.integers(0, 2)))]
        tags = ["<image>"] * len(images)
        if style == "alpaca":
            record = {"instruction": "".join(tags) + "what", "output": "ok"}
            if draw(st.booleans()):
                record["input"] = draw(st.sampled_from(["", "x"]))
        else:
            n = draw(st.integers(1, 3))
            texts_ = [draw(st.sampled_from(["q", "see"])) for _ in range(n)]
            for tag in tags:
                k = draw(st.integers(0, n - 1))
                texts_[k] = tag + texts_[k]
            msgs = ([{rk: "system", ck: "be brief"}] if draw(st.booleans()) else [])
            for t in texts_:
                msgs += [{rk: user, ck: t}, {rk: assistant, ck: "a"}]
            if style == "openai" and draw(st.integers(0, 2)) == 0:
                # a tool call and its result (the loader then gives every turn a tool_calls key)
                msgs += [{"role": "user", "content": "call f"},
                         {"role": "assistant", "content": "",
                          "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "content": "42"}, {"role": "assistant", "content": "42"}]
            record = {col: msgs}
        if images or draw(st.booleans()):
            record["images"] = [img.name for img in images]
        if draw(st.integers(0, 3)) == 0:
            record["system"] = "be brief"
        records.append((record, images))
    if any("images" in rec for rec, _ in records):
        entry["columns"]["images"] = "images"
    if any("system" in rec for rec, _ in records) and draw(st.booleans()):
        entry["columns"]["system"] = "system"
    return {"records": records, "entry": entry, "in_sub": draw(st.booleans()),
            "media_dir": media_dir, "jsonl": draw(st.booleans()), "registry": draw(REGISTRY),
            "processor": draw(PROCESSOR), "yaml_media_dir": draw(st.booleans())}


@st.composite
def any_record(draw, style: str, r: int, image_col: str | None) -> tuple[dict, list[Image]]:
    messages_col = {"sharegpt": "conversations", "openai": "messages", "alpaca": None}[style]
    record: dict = {}
    if style == "alpaca":
        record["instruction"] = draw(texts([]))
        if draw(st.booleans()):
            record["input"] = draw(texts([]))
        if draw(st.integers(0, 4)):
            record["output"] = draw(st.sampled_from(["ok", "", "<image>"]))
        if draw(st.booleans()):
            record["system"] = "be brief"
    else:
        rk, ck = ("from", "value") if style == "sharegpt" else ("role", "content")
        record[messages_col] = [{rk: role, ck: t} for role, t in draw(turns(style))]
        if style == "openai" and draw(st.integers(0, 3)) == 0:
            # an assistant turn calling a tool (the loader gives every message a tool_calls key)
            record[messages_col].append({"role": "assistant", "content": "",
                                         "tool_calls": [{"type": "function",
                                                         "function": {"name": "f", "arguments": "{}"}}]})
    images = [Image(f"r{r}i{k}.png", draw(st.sampled_from(PLACES)), *draw(SIZES))
              for k in range(draw(st.integers(0, 2)))]
    if image_col and (images or draw(st.booleans())):
        record[image_col] = [img.name for img in images]
    return record, images


@st.composite
def any_cases(draw):
    style = draw(st.sampled_from(["sharegpt", "openai", "alpaca"]))
    messages_col = {"sharegpt": "conversations", "openai": "messages", "alpaca": None}[style]
    image_col = draw(st.sampled_from(["images", "images", "image", None]))
    records = [draw(any_record(style, r, image_col)) for r in range(draw(st.integers(1, 2)))]
    # the dataset_info.json entry
    entry: dict = {"file_name": None}
    formatting = draw(st.sampled_from([style, style, style, "sharegpt", "openai", "alpaca", None]))
    if formatting == "openai" and style == "openai" and draw(st.booleans()):
        formatting = "sharegpt"  # role/content read through tags instead
    if formatting:
        entry["formatting"] = formatting
    if draw(st.integers(0, 3)):
        columns = {}
        if messages_col and draw(st.integers(0, 4)):
            columns["messages"] = draw(st.sampled_from([messages_col, messages_col, messages_col, "conversation"]))
        if style == "alpaca":
            columns.update({"prompt": "instruction", "query": "input", "response": "output"})
            if draw(st.booleans()):
                columns["system"] = "system"
        if image_col and draw(st.integers(0, 4)):
            columns[draw(st.sampled_from(["images", "images", "images", "image"]))] = image_col
        entry["columns"] = columns
    if style != "alpaca" and draw(st.booleans()):
        own = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
               "system_tag": "system"} if style == "sharegpt" else \
              {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
               "system_tag": "system"}
        entry["tags"] = {k: v for k, v in own.items() if draw(st.integers(0, 5))}
    return {"records": records, "entry": entry, "in_sub": draw(st.booleans()),
            "media_dir": draw(st.booleans()), "jsonl": draw(st.booleans()), "registry": draw(REGISTRY),
            "processor": draw(PROCESSOR), "yaml_media_dir": draw(st.booleans())}


def write_case(root: str, case: dict) -> dict:
    """The folders of one case: ``data/`` (dataset_dir), ``cwd/`` (the working directory),
    ``media/`` (media_dir when set), ``elsewhere/`` (absolute paths)."""
    d = {k: os.path.join(root, k) for k in ("data", "cwd", "media", "elsewhere")}
    for p in d.values():
        os.makedirs(p)
    data_dir = os.path.join(d["data"], "sub") if case["in_sub"] else d["data"]
    os.makedirs(data_dir, exist_ok=True)
    records = []
    for record, images in case["records"]:
        record = json.loads(json.dumps(record))
        col = next((c for c in ("images", "image") if c in record), None)
        for k, img in enumerate(images):
            folder = {"dataset_dir": d["data"], "data_file_dir": data_dir, "cwd": d["cwd"],
                      "media_dir": d["media"], "absolute": d["elsewhere"], "missing": None}[img.place]
            if folder is not None:
                real.pil_image(img.width, img.height).save(os.path.join(folder, img.name))
            if col and img.place == "absolute":
                record[col][k] = os.path.join(folder, img.name)
        records.append(record)
    name = "d.jsonl" if case["jsonl"] else "d.json"
    path = os.path.join(data_dir, name)
    with open(path, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records) if case["jsonl"] else json.dumps(records))
    entry = dict(case["entry"], file_name=os.path.relpath(path, d["data"]))
    registry = case.get("registry")
    if registry in ("folder", "folder_mixed") and case["in_sub"]:  # the sub-folder, not dataset_dir
        entry["file_name"] = os.path.relpath(data_dir, d["data"])
        if registry == "folder_mixed":
            with open(os.path.join(data_dir, "notes.txt"), "w") as f:
                f.write("not data\n")
    elif registry == "wrong_file":
        entry["file_name"] = "train.json"
    elif registry == "no_file_name":
        del entry["file_name"]
    elif registry == "formatting":
        entry["formatting"] = "ShareGPT"
    info = os.path.join(d["data"], "dataset_info.json")
    with open(info, "w") as f:
        json.dump({"d": entry}, f)
    # the training YAML qwenlint reads (--framework-config): the processor settings, and media_dir
    # there instead of --media-root when drawn so
    train = {**case.get("processor", {})}
    yaml_media = bool(case["media_dir"] and case.get("yaml_media_dir"))
    if yaml_media:
        train["media_dir"] = os.path.relpath(d["media"], d["cwd"])  # relative to the working directory
    config = os.path.join(root, "train.yaml")
    with open(config, "w") as f:
        f.write("".join(f"{k}: {json.dumps(v)}\n" for k, v in train.items()))
    return {"path": path, "dir": d["data"], "cwd": d["cwd"], "records": len(records), "info": info,
            "config": config, "processor": case.get("processor", {}), "yaml_media_dir": yaml_media,
            "media_dir": d["media"] if case["media_dir"] else None}


# --- qwenlint's verdict --------------------------------------------------------------------------------

def _record_of(d, jsonl: bool) -> int:
    """The record a diagnostic or token row is about: its line in a JSON Lines file, else the
    first step of its pointer (a JSON array of records)."""
    pointer = d["pointer"] if isinstance(d, dict) else d.pointer
    if jsonl:
        return (d["line"] if isinstance(d, dict) else d.line) - 1
    return int(pointer[1:].split("/")[0])


def predict(files: dict, family: str, release: str) -> tuple:
    """``("error", codes, exception names)`` when qwenlint says the run stops, ``("dropped",
    codes)`` when it says every record is skipped, else ``("kept", codes, [(images, image pads)
    per kept record])``."""
    import qwenlint

    try:
        Options(framework_config=files["config"])
    except ValueError as e:  # qwenlint refuses the training YAML, as LLaMA-Factory does (exit 2)
        return ("error", ["usage"], set(re.findall(r"\b(\w+Error)\b", str(e))))
    options = Options(target="llamafactory", family=family, framework_config=files["config"],
                      media_root=None if files["yaml_media_dir"] else files["media_dir"],
                      assume=(f"llamafactory=={release}", f"transformers=={RELEASES[release]}"))
    result = qwenlint.check_files([files["path"], files["info"]], **{
        k: getattr(options, k) for k in ("target", "family", "media_root", "assume", "framework_config")})
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    codes = sorted({d.rule for d in errors})
    if set(codes) & STOPS:
        # the exceptions qwenlint says LLaMA-Factory stops with (QL401: the file cannot be opened)
        named = {e for d in errors if d.rule in STOPS for e in re.findall(r"\b(\w+Error)\b", d.message)}
        return ("error", codes, named | ({"FileNotFoundError"} if "QL401" in codes else set()))
    jsonl = files["path"].endswith(".jsonl")
    dropped = {_record_of(d, jsonl) for d in errors if d.rule == "QL603"}
    if len(dropped) == files["records"]:
        return ("dropped", codes)
    parts = collect([files["path"]], options).document()["parts"]
    kept = []
    for r in range(files["records"]):
        if r in dropped:
            continue
        mine = [p for p in parts if p["kind"] == "image" and _record_of(p, jsonl) == r]
        kept.append((len(mine), sum(p["tokens"] or 0 for p in mine)))
    return ("kept", codes, kept)


# --- one case: its folders, LLaMA-Factory's answer, qwenlint's -----------------------------------------

@contextlib.contextmanager
def case_files(case: dict, prefix: str, *writers):
    """The case written under a fresh folder (`write_case`, then each ``writer(files, case)``: the
    audios, the videos), removed afterwards."""
    root = tempfile.mkdtemp(prefix=prefix)
    try:
        files = write_case(root, case)
        for write in writers:
            write(files, case)
        yield files
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def where_lf_ran(files: dict):
    """qwenlint run in LLaMA-Factory's working directory: it resolves LLaMA-Factory's fallback
    (and media_dir) there."""
    cwd = os.getcwd()
    os.chdir(files["cwd"])
    try:
        yield
    finally:
        os.chdir(cwd)


def ask(worker, files: dict, family: str, template: str, **settings_) -> tuple:
    """LLaMA-Factory's own ``get_dataset`` on the case (tests/differential/_lf_worker.py)."""
    settings_.setdefault("media_dir", files["media_dir"])
    settings_.setdefault("processor", files["processor"])
    return worker.ask(dir=files["dir"], dataset="d", family=family, template=template, cwd=files["cwd"],
                      **settings_)


def assert_same_run(got: tuple, want: tuple, context: str, *, exception: bool = True) -> None:
    """Both stop (with an exception qwenlint names, unless ``exception`` is False), both skip
    every record, or both keep records."""
    assert got[0] == want[0], context
    if got[0] == "error" and exception:
        assert got[1] in want[2], context


def image_pads(got: tuple) -> list[tuple[int, int]]:
    """(images, image pads) of every record LLaMA-Factory kept, as `predict` gives them."""
    return [(len(images), pads) for pads, _, images, *_ in got[1]]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=st.one_of(coherent_cases(), any_cases()), family=st.sampled_from(sorted(FAMILIES)))
def test_llamafactory_agrees(lf, case, family):
    release, worker = lf
    with case_files(case, "qwenlint-lf-case-") as files:
        got = ask(worker, files, family, FAMILIES[family])
        with where_lf_ran(files):
            want = predict(files, family, release)
        context = f"LLaMA-Factory {release}, {family}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}"
        assert_same_run(got, want, context)
        if got[0] == "kept":
            assert image_pads(got) == want[2], context


# --- audio: the Omni plugin (Qwen2OmniPlugin) ----------------------------------------------------------

OMNI_TEMPLATES = {"qwen2.5-omni": "qwen2_omni", "qwen3-omni": "qwen3_omni"}
AUDIO = st.fixed_dictionaries({"codec": st.sampled_from(["wav", "flac"]),
                               "rate": st.sampled_from([8000, 16000, 22050, 44100, 48000]),
                               "seconds": st.one_of(st.floats(0.01, 3.0), st.floats(28.0, 33.0)),
                               "channels": st.sampled_from([1, 2]),
                               # a WAV whose data ends inside a block, or of no sample: torchaudio.load
                               # (torchcodec) raises on it
                               "broken": st.sampled_from([None] * 8 + ["partial", "empty"])})


@st.composite
def audio_cases(draw):
    """ShareGPT records with an ``audios`` column (and sometimes images), one ``<audio>`` tag per
    audio in a user turn, or a tag too many or too few."""
    records = []
    for r in range(draw(st.integers(1, 2))):
        audios = draw(st.lists(AUDIO, min_size=0, max_size=2))
        images = [Image(f"r{r}i{k}.png", "dataset_dir", *draw(SIZES)) for k in range(draw(st.integers(0, 1)))]
        tags = ["<audio>"] * (len(audios) + draw(st.sampled_from([0, 0, 0, 1, -1]))) + ["<image>"] * len(images)
        text = "".join(tags) + "what is it?"
        record = {"conversations": [{"from": "human", "value": text}, {"from": "gpt", "value": "a"}],
                  "audios": [f"r{r}a{k}.{a['codec']}" for k, a in enumerate(audios)]}
        if images:
            record["images"] = [i.name for i in images]
        records.append((record, images, audios))
    entry = {"file_name": None, "formatting": "sharegpt",
             "columns": {"messages": "conversations", "audios": "audios"}}
    if any(imgs for _, imgs, _ in records):
        entry["columns"]["images"] = "images"
    return {"records": [(rec, imgs) for rec, imgs, _ in records], "audios": [a for _, _, a in records],
            "entry": entry, "in_sub": False, "media_dir": False, "jsonl": draw(st.booleans()), "registry": None,
            "processor": {}, "yaml_media_dir": False}


def _write_audios(files: dict, case: dict) -> None:
    for r, audios in enumerate(case["audios"]):
        for k, a in enumerate(audios):
            path = os.path.join(files["dir"], f"r{r}a{k}.{a['codec']}")
            if a.get("broken") and a["codec"] == "wav":
                make_wav(path, a["rate"], 0 if a["broken"] == "empty" else max(1, int(a["seconds"] * a["rate"])),
                         a["channels"], extra=1 if a["broken"] == "partial" else 0)
                continue
            make_clip(path, a["codec"], a["rate"], max(1, int(a["seconds"] * a["rate"])), a["channels"])


@settings(max_examples=int(os.environ.get("QWENLINT_LF_AUDIO_EXAMPLES", "40")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=audio_cases(), family=st.sampled_from(sorted(OMNI_TEMPLATES)))
def test_llamafactory_audio(lf, case, family):
    """LLaMA-Factory's Omni plugin loads each audio with torchaudio (resampled to 16 kHz) and pads
    and cuts it to the 30-second window for both Omni families: the audio pads of every kept
    record, and whether the run stops (a tag count that does not match; a WAV whose data ends
    inside a block or holds no sample, on which torchaudio's torchcodec raises), must agree."""
    release, worker = lf
    with case_files(case, "qwenlint-lf-audio-", _write_audios) as files:
        got = ask(worker, files, family, OMNI_TEMPLATES[family])
        with where_lf_ran(files):
            want = predict(files, family, release)
            parts = collect([files["path"]], Options(target="llamafactory", family=family, assume=(
                f"llamafactory=={release}", f"transformers=={RELEASES[release]}"))).document()["parts"]
        context = f"LLaMA-Factory {release}, {family}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}"
        event(f"real: {got[0]} {got[1] if got[0] == 'error' else ''}")
        assert_same_run(got, want, context)
        if got[0] == "kept":
            jsonl = files["path"].endswith(".jsonl")
            audio = [sum(p["tokens"] or 0 for p in parts if p["kind"] == "audio" and _record_of(p, jsonl) == r)
                     for r in range(files["records"])]
            assert [ex[4] for ex in got[1]] == audio, context + f"\naudio pads ours {audio}"


# --- cutoff_len: the supervised processor's truncation (infer_seqlen) ---------------------------------

#: Words of a drawn text: one byte a token for the tiny tokenizer, so lengths spread widely.
WORDS = st.sampled_from(["a", "see", "what is it", "describe the picture in detail", "\n", "好", " 42"])


#: The templates the cutoff test encodes with, per family (the Omni ones: their non-reasoning
#: templates, the ones qwenlint's encoding models).
CUTOFF_TEMPLATES = {**FAMILIES, "qwen2.5-omni": "qwen2_omni", "qwen3-omni": "qwen3_omni_nothink"}
#: Short audios, and some about the Omni feature extractor's 30-second window.
CUTOFF_AUDIO = st.fixed_dictionaries({"codec": st.sampled_from(["wav", "flac"]),
                                      "rate": st.sampled_from([8000, 16000, 44100]),
                                      "seconds": st.one_of(st.floats(0.05, 4.0), st.floats(29.0, 31.0)),
                                      "channels": st.just(1)})


@st.composite
def cutoff_cases(draw, omni: bool = False):
    """One record LLaMA-Factory keeps (ShareGPT, with or without a system turn or column, or
    Alpaca), its images (and, for an Omni family, audios) tagged anywhere in the user turns (and
    now and then in an answer, where LLaMA-Factory expands them too), texts of drawn lengths;
    ``cutoff_at`` places ``cutoff_len`` around the record's length: a fraction of it, or a few
    tokens either side of it, or either side of an item's pads."""
    style = draw(st.sampled_from(["sharegpt", "sharegpt", "alpaca"]))
    n_images = draw(st.integers(0, 2))
    images = [Image(f"r0i{k}.png", "dataset_dir", *draw(st.tuples(st.integers(20, 400), st.integers(20, 400))))
              for k in range(n_images)]
    audios = [draw(CUTOFF_AUDIO) for _ in range(draw(st.integers(1, 2)) if omni else 0)]
    tags = draw(st.permutations(["<image>"] * len(images) + ["<audio>"] * len(audios)))

    def text() -> list[str]:
        return draw(st.lists(WORDS, max_size=12))

    def tag(words: list[str], which: str) -> None:  # between two words (never inside another tag)
        words.insert(draw(st.integers(0, len(words))), which)

    if style == "alpaca":
        pieces = [text(), text()]
        for which in tags:
            tag(pieces[draw(st.integers(0, 1))], which)
        record = {"instruction": "".join(pieces[0]) or "q", "input": "".join(pieces[1]),
                  "output": "".join(text()) or "ok"}
        entry = {"file_name": None, "formatting": "alpaca",
                 "columns": {"prompt": "instruction", "query": "input", "response": "output"}}
        if draw(st.booleans()):
            record["system"] = "".join(text())
            entry["columns"]["system"] = "system"
    else:
        pairs = draw(st.integers(1, 3))
        texts_ = [text() for _ in range(2 * pairs)]
        for which in tags:  # mostly in a prompt, now and then in an answer
            k = draw(st.integers(0, pairs - 1)) * 2 + (draw(st.integers(0, 5)) == 0)
            tag(texts_[k], which)
        msgs = [{"from": "human" if k % 2 == 0 else "gpt", "value": "".join(t) or "x"} for k, t in enumerate(texts_)]
        entry = {"file_name": None, "formatting": "sharegpt", "columns": {"messages": "conversations"}}
        record = {"conversations": msgs}
        system = draw(st.sampled_from([None, "turn", "column"]))
        if system == "turn":
            msgs.insert(0, {"from": "system", "value": "".join(text())})
        elif system == "column":
            record["system"] = "".join(text())
            entry["columns"]["system"] = "system"
    if images:
        record["images"] = [img.name for img in images]
        entry["columns"]["images"] = "images"
    if audios:
        record["audios"] = [f"r0a{k}.{a['codec']}" for k, a in enumerate(audios)]
        entry["columns"]["audios"] = "audios"
    at_item = st.tuples(st.integers(0, 1), st.integers(-2, 2), st.integers(0, 3), st.booleans())
    cutoff_at = draw(st.one_of(st.floats(0.02, 1.2), st.sampled_from(["total-1", "total", "total+1"]),
                               *[at_item] * (2 if omni else 1)))
    return {"records": [(record, images)], "entry": entry, "in_sub": False, "media_dir": False,
            "jsonl": draw(st.booleans()), "registry": None, "processor": {}, "yaml_media_dir": False,
            "cutoff_at": cutoff_at, "packing": draw(st.integers(0, 3)) == 0, "audios": [audios]}


#: A family (the Omni ones half of the time), and a case for it.
FAMILY_CUTOFF_CASES = st.sampled_from(sorted(FAMILIES) + ["qwen2.5-omni", "qwen3-omni"] * 2).flatmap(
    lambda family: st.tuples(st.just(family), cutoff_cases(omni=family not in FAMILIES)))


@functools.cache
def _tokenizer_folder(family: str) -> str:
    """The processor the worker builds (the tiny real tokenizer, the published processor
    configs), saved: a checkpoint folder without weights, with its tokenizer.json, as qwenlint's
    ``--model``, so its text count is exact."""
    folder = tempfile.mkdtemp(prefix=f"qwenlint-lf-tok-{family}-")
    real.build_processor(family).save_pretrained(folder)
    assert os.path.isfile(os.path.join(folder, "tokenizer.json"))
    return folder


def _cutoff(at, total: int, blocks: list) -> int:
    """``cutoff_len`` for the drawn place ``at`` (see cutoff_cases) around qwenlint's own length of
    the record and its items' pads (the real length is compared too): a fraction of the length, a
    few tokens either side of it, or either side of the start or the end of one item's pads (an
    audio's, when asked and there is one)."""
    if isinstance(at, float):
        return max(1, round(total * at))
    if isinstance(at, str):
        return max(1, total + {"total-1": -1, "total": 0, "total+1": 1}[at])
    edge, delta, which, audio = at
    if not blocks:
        return max(1, total + delta)
    pool = [b for b in blocks if b.kind is Kind.AUDIO] if audio else []  # an audio's pads, when asked
    b = (pool or blocks)[which % len(pool or blocks)]
    if b.pair or b.side:  # a later turn: the budget the pairs before it leave
        return max(1, total + delta)
    return max(1, (b.start if edge == 0 else b.start + b.pads) + delta)


CUTOFF_EXAMPLES = int(os.environ.get("QWENLINT_LF_CUTOFF_EXAMPLES", "40"))


def test_llamafactory_cutoff(lf):
    """``cutoff_len`` drawn around the record's length: LLaMA-Factory's ``_encode_data_example``
    cuts each (prompt, answer) pair's head with ``infer_seqlen`` and keeps the record with all its
    images and audios.  Compared with qwenlint (``cutoff_len`` and the template in the training
    YAML, the tiny tokenizer as ``--model``): its length of the record (the template's tokens and
    the pads) must be the real untruncated length; QL501 must be an error exactly when the real
    truncation leaves fewer image pads than the images have (the model's forward then stops), a
    warning naming the audio when it leaves fewer audio pads only (the Omni models' forward checks no
    audio count: it silently takes the first features), a warning when it cuts text only, and
    absent when nothing is cut."""
    release, worker = lf
    tally: Counter = Counter()

    @settings(max_examples=CUTOFF_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(family_case=FAMILY_CUTOFF_CASES)
    def check(family_case):
        family, case = family_case
        template = CUTOFF_TEMPLATES[family]
        model = _tokenizer_folder(family)
        with case_files(case, "qwenlint-lf-cutoff-", _write_audios) as files:
            opts = dict(target="llamafactory", family=family, model=model,
                        assume=(f"llamafactory=={release}", f"transformers=={RELEASES[release]}"))
            with open(files["config"], "w") as f:
                f.write(f"template: {template}\n")
            with where_lf_ran(files):
                ours_total, blocks = _encoding(files["path"], Options(**opts, framework_config=files["config"]))
            cutoff = _cutoff(case["cutoff_at"], ours_total, blocks)
            with open(files["config"], "w") as f:
                f.write(f"cutoff_len: {cutoff}\ntemplate: {template}\n"
                        + ("packing: true\n" if case["packing"] else ""))
            got = ask(worker, files, family, template, cutoff_len=cutoff, packing=case["packing"] or None)
            with where_lf_ran(files):
                import qwenlint

                result = qwenlint.check_files([files["path"]], target="llamafactory", family=family, model=model,
                                              framework_config=files["config"], assume=opts["assume"])
            ql501 = [d for d in result.diagnostics if d.rule == "QL501"]
            context = (f"LLaMA-Factory {release}, {family}, cutoff_len {cutoff}: {json.dumps(case, default=vars)}\n"
                       f"real {got}\nours total {ours_total}, {[(d.severity.value, d.message) for d in ql501]}")
            assert got[0] == "kept" and len(got[1]) == 1, context
            pads, _, _, _, audio_pads, cut, _ = got[1][0]
            assert ours_total == cut["full"], context  # the template's tokens and the pads, exactly
            image_cut, audio_cut = pads != cut["full_pads"][0], audio_pads != cut["full_pads"][2]
            truncated = cut["full"] > cutoff - case["packing"]  # packing: cutoff_len - 1 (DataArguments)
            if not case["packing"]:  # a packed example is padded
                assert truncated == (cut["length"] < cut["full"]), context
            verdict = ("image pads cut" if image_cut else "audio pads cut" if audio_cut
                       else "text cut" if truncated else "kept whole")
            event(f"{release}: {verdict}")
            tally[verdict] += 1
            want = {"image pads cut": [Severity.ERROR], "audio pads cut": [Severity.WARNING],
                    "text cut": [Severity.WARNING], "kept whole": []}[verdict]
            assert [d.severity for d in ql501] == want, context
            if image_cut:  # the message says how many pads are left for how many features
                assert f": {pads} image tokens for {cut['full_pads'][0]} features" in ql501[0].message, context
                assert f"LLaMA-Factory {release}" in ql501[0].message, context
            elif audio_cut:  # the Omni forward checks no audio count: the first features fill the pads left
                assert (f"the first {audio_pads} of its {cut['full_pads'][2]} audio features"
                        in ql501[0].message), context
            elif truncated and not case["packing"]:
                assert f"drops {cut['full'] - cut['length']} text tokens" in ql501[0].message, context

    check()
    print(f"\n[LLaMA-Factory {release} cutoff_len] {dict(tally)}")
    if CUTOFF_EXAMPLES >= 40:  # every verdict is reached (a smaller run may miss one)
        assert set(tally) == {"image pads cut", "audio pads cut", "text cut", "kept whole"}, tally


def _encoding(path: str, options: Options) -> tuple[int | None, list]:
    """qwenlint's length of the case's one record and its encoding's image blocks
    (llamafactory.Encoding: where the pads are, to draw ``cutoff_len`` at their edges)."""
    from qwenlint.engine import Engine

    engine = Engine(options, rules=[], accounting=True)
    for outcome in engine.check_source(engine.read(path), keep=True):
        for ct in outcome.context.tokens.values():
            return ct.total, list(ct.encoding.blocks) if ct.encoding is not None else []
    return None, []


# --- videos: the Qwen plugins' PyAV decoding (Qwen2VLPlugin, Qwen3VLPlugin) ----------------------------

#: Small synthetic videos (tests/media/mediasynth.make_video): very short clips, integer and
#: non-integer rates, sizes below and above LLaMA-Factory's 256*256 frame pre-resize, MP4 (H.264,
#: MPEG-4 part 2; sometimes a display rotation), WebM (VP9: the stream has no frame count and no
#: duration), Matroska and MPEG-TS (H.264: a stream duration, no frame count).
VIDEO = st.fixed_dictionaries({
    "frames": st.one_of(st.integers(1, 4), st.integers(5, 24)),
    "fps": st.sampled_from(["1", "2", "3", "8", "24", "30000/1001", "5/2", "15/2", "1/2", "1/2", "1"]),
    "size": st.one_of(st.tuples(st.integers(12, 200), st.integers(12, 200)).map(lambda s: (2 * s[0], 2 * s[1])),
                      st.sampled_from([(640, 360), (96, 1280), (32, 32), (16, 400)])),
    "container": st.sampled_from(["mp4", "mp4", "mp4", "mpeg4", "webm", "mkv", "ts"]),
    "rotation": st.sampled_from([None, None, None, 90])})
#: The training YAML's video settings (``ProcessorArguments``, the same names in 0.9.4 and 0.9.5).
VIDEO_PROCESSOR = st.fixed_dictionaries({}, optional={
    "video_fps": st.sampled_from([0.5, 1.0, 2.0, 2.5, 3.0]),
    "video_maxlen": st.sampled_from([1, 2, 3, 8, 128]),
    "video_max_pixels": st.sampled_from([4096, 16384, 65536, 262144]),
    "video_min_pixels": st.sampled_from([256, 4096, 16384])})
_CODECS = {"mp4": ("mp4", "libx264"), "mpeg4": ("mp4", "mpeg4"), "webm": ("webm", "libvpx-vp9"),
           "mkv": ("mkv", "libx264"), "ts": ("ts", "libx264")}


@st.composite
def video_cases(draw):
    """ShareGPT or OpenAI records with a ``videos`` column (and sometimes an image), one ``<video>``
    tag per video, mostly in the first message, else in any turn (coherent), or, a quarter of the
    time, a tag too many or too few (LLaMA-Factory stops: the numbers do not match)."""
    style = draw(st.sampled_from(["sharegpt", "openai"]))
    rk, ck, user, assistant, col = (("from", "value", "human", "gpt", "conversations") if style == "sharegpt"
                                    else ("role", "content", "user", "assistant", "messages"))
    free = draw(st.integers(0, 3)) == 0
    records, videos = [], []
    for r in range(draw(st.integers(1, 2))):
        clips = [draw(VIDEO) for _ in range(draw(st.sampled_from([1, 2, 2] + ([0] if free else []))))]
        images = [Image(f"r{r}i{k}.png", "dataset_dir", *draw(SIZES)) for k in range(draw(st.integers(0, 1)))]
        n = draw(st.integers(1, 2))
        texts_ = ["q", "a"] * n
        tags = ["<video>"] * (len(clips) + (draw(st.sampled_from([-1, 1, 1])) if free else 0)) + \
            ["<image>"] * len(images)
        for tag in tags:  # mostly the first message; any other, the answers' included (LF expands tags there too)
            k = draw(st.sampled_from([0, 0, 0] + list(range(2 * n))))
            texts_[k] = tag + texts_[k]
        msgs = [{rk: "system", ck: "be brief"}] if draw(st.integers(0, 3)) == 0 else []
        msgs += [{rk: (user, assistant)[i % 2], ck: t} for i, t in enumerate(texts_)]
        record = {col: msgs, "videos": [f"r{r}v{k}.{_CODECS[c['container']][0]}" for k, c in enumerate(clips)]}
        if images:
            record["images"] = [i.name for i in images]
        records.append((record, images))
        videos.append(clips)
    entry: dict = {"file_name": None, "formatting": style, "columns": {"messages": col, "videos": "videos"}}
    if style == "openai":
        entry["tags"] = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant", "system_tag": "system"}
    if any(imgs for _, imgs in records):
        entry["columns"]["images"] = "images"
    return {"records": records, "videos": videos, "entry": entry, "in_sub": False, "media_dir": False,
            "jsonl": draw(st.booleans()), "registry": None, "processor": draw(VIDEO_PROCESSOR),
            "yaml_media_dir": False}


def _write_videos(files: dict, case: dict) -> None:
    for r, clips in enumerate(case["videos"]):
        for k, c in enumerate(clips):
            ext, codec = _CODECS[c["container"]]
            make_video(os.path.join(files["dir"], f"r{r}v{k}.{ext}"), *c["size"], c["fps"], c["frames"], codec=codec,
                       rotation=c["rotation"] if c["container"] in ("mp4", "mpeg4") else None)


@settings(max_examples=int(os.environ.get("QWENLINT_LF_VIDEO_EXAMPLES", "80")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=video_cases(), family=st.sampled_from(sorted(FAMILIES) + ["qwen3-vl"]))  # Qwen3VLPlugin twice as often
def test_llamafactory_video(lf, case, family):
    """LLaMA-Factory's Qwen plugins open each video with PyAV, sample ``floor(duration *
    video_fps)`` frames (at most ``video_maxlen`` and the stream's frame count), pad them to an even
    count and pre-resize each like an image to ``video_max_pixels`` / ``video_min_pixels`` before
    the video processor runs: whether the run stops and every kept record's video and image pads
    must agree."""
    release, worker = lf
    with case_files(case, "qwenlint-lf-video-", _write_videos) as files:
        got = ask(worker, files, family, FAMILIES[family])
        with where_lf_ran(files):
            want = predict(files, family, release)
            parts = collect([files["path"]], Options(
                target="llamafactory", family=family, framework_config=files["config"],
                assume=(f"llamafactory=={release}", f"transformers=={RELEASES[release]}"))).document()["parts"] \
                if want[0] == "kept" else []
        context = f"LLaMA-Factory {release}, {family}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}"
        event(f"real: {got[0]} {got[1] if got[0] == 'error' else ''}")
        # QL402: PyAV cannot open the file (its own error class)
        assert_same_run(got, want, context, exception="QL402" not in want[1])
        if got[0] == "kept":
            jsonl = files["path"].endswith(".jsonl")
            kept = range(files["records"])  # a video record is never skipped here
            video = [(sum(1 for p in parts if p["kind"] == "video" and _record_of(p, jsonl) == r),
                      sum(p["tokens"] or 0 for p in parts if p["kind"] == "video" and _record_of(p, jsonl) == r))
                     for r in kept]
            assert image_pads(got) == want[2], context
            assert [(len(ex[3]), ex[1]) for ex in got[1]] == video, context + f"\nvideo pads ours {video}"
            event(f"kept: {max(n for n, _ in video)} videos in a record")


# --- use_audio_in_video: the Omni plugin pairs each video with an audio entry --------------------------

#: Small MP4 clips (H.264), with an AAC sound track or (a third of the time) none; rates whose
#: position ids cross the plugin's 2-second chunks at different places.
AIV_VIDEO = st.fixed_dictionaries({
    "frames": st.integers(2, 12), "fps": st.sampled_from(["1", "2", "3", "8", "5/2"]),
    "size": st.sampled_from([(32, 32), (64, 48), (96, 64)]), "sound": st.sampled_from([True, True, False])})
#: An audios entry: a WAV file of its own, or the video file itself (LLaMA-Factory's torchaudio then
#: decodes its sound track, or fails on a video without one).
AIV_AUDIO = st.sampled_from(["wav", "wav", "track"]).flatmap(lambda codec: st.fixed_dictionaries({
    "codec": st.just(codec), "rate": st.sampled_from([16000, 22050, 44100]), "seconds": st.floats(0.05, 5.0),
    "channels": st.just(1)}))
AIV_EXAMPLES = int(os.environ.get("QWENLINT_LF_AIV_EXAMPLES", "30"))


@st.composite
def audio_in_video_cases(draw):
    """One ShareGPT record with a ``videos`` and (mostly) an ``audios`` column and the training
    YAML's ``use_audio_in_video: true``: one audio per video, or one fewer or more, or none; the
    tags ``<video><audio>`` in the first message (with words between and around them), or placed
    freely (an ``<audio>`` before its ``<video>``, in another turn); ``cutoff_at``: where a
    ``cutoff_len`` goes (see `_aiv_cutoff`)."""
    clips = [draw(AIV_VIDEO) for _ in range(draw(st.integers(1, 2)))]
    n_audios = max(0, len(clips) + draw(st.sampled_from([0, -9, -1, 1, 0, 0, 0, 0])))  # -9: no audios
    audios = [draw(AIV_AUDIO) for _ in range(n_audios)]
    pairs = draw(st.integers(1, 2))
    texts_ = [draw(st.lists(WORDS, max_size=3)) for _ in range(2 * pairs)]
    if draw(st.integers(0, 3)) != 3:  # coherent (hypothesis draws 0 more often than the others)
        for k in range(max(len(clips), len(audios))):
            texts_[0] += (["<video>"] if k < len(clips) else []) + draw(st.lists(WORDS, max_size=1)) + \
                (["<audio>"] if k < len(audios) else []) + draw(st.lists(WORDS, max_size=1))
    else:
        for tag in draw(st.permutations(["<video>"] * len(clips) + ["<audio>"] * len(audios))):
            words = texts_[draw(st.sampled_from([0, 0] + list(range(2 * pairs))))]
            words.insert(draw(st.integers(0, len(words))), tag)
    msgs = [{"from": "human" if k % 2 == 0 else "gpt", "value": "".join(t) or "x"} for k, t in enumerate(texts_)]
    record = {"conversations": msgs, "videos": [f"r0v{k}.mp4" for k in range(len(clips))]}
    entry = {"file_name": None, "formatting": "sharegpt", "columns": {"messages": "conversations", "videos": "videos"}}
    if audios:
        record["audios"] = [f"r0a{k}.wav" if a["codec"] == "wav" else f"r0v{min(k, len(clips) - 1)}.mp4"
                            for k, a in enumerate(audios)]
        entry["columns"]["audios"] = "audios"
    cutoff_at = draw(st.one_of(st.floats(0.05, 1.1), st.sampled_from(["total-1", "total", "total+1"]),
                               *[st.tuples(st.integers(0, 7), st.booleans(), st.integers(-1, 1))] * 2))
    return {"records": [(record, [])], "videos": [clips], "audios": [[a for a in audios if a["codec"] == "wav"]],
            "wav_index": [k for k, a in enumerate(audios) if a["codec"] == "wav"], "entry": entry, "in_sub": False,
            "media_dir": False, "jsonl": False, "registry": None, "processor": {"use_audio_in_video": True},
            "yaml_media_dir": False, "cutoff_at": cutoff_at}


def _write_aiv_media(files: dict, case: dict) -> None:
    for k, c in enumerate(case["videos"][0]):
        make_video(os.path.join(files["dir"], f"r0v{k}.mp4"), *c["size"], c["fps"], c["frames"], audio=c["sound"])
    for k, a in zip(case["wav_index"], case["audios"][0]):
        make_clip(os.path.join(files["dir"], f"r0a{k}.wav"), "wav", a["rate"], max(1, int(a["seconds"] * a["rate"])))


def _aiv_cutoff(at, total: int, blocks: list) -> int:
    """``cutoff_len`` for the drawn place ``at``: a fraction of the length, a token either side of
    it, or ``delta`` either side of the start (or end) of one run of one item's pads (the runs of
    the first pair's prompt)."""
    if isinstance(at, float):
        return max(1, round(total * at))
    if isinstance(at, str):
        return max(1, total + {"total-1": -1, "total": 0, "total+1": 1}[at])
    which, end, delta = at
    runs = [(b.start + o, n) for b in blocks if not b.pair and not b.side for o, n in (b.runs or ((0, b.pads),))]
    if not runs:
        return max(1, total + delta)
    start, n = runs[which % len(runs)]
    return max(1, start + (n if end else 0) + delta)


@settings(max_examples=AIV_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=audio_in_video_cases(), family=st.sampled_from(["qwen2.5-omni", "qwen3-omni"]))
def test_llamafactory_audio_in_video(lf, case, family):
    """The training YAML's ``use_audio_in_video: true``: LLaMA-Factory's Omni plugin pairs the k-th
    video with the k-th ``audios`` entry (never the video's own sound track), stops the run when
    the counts differ or a ``<video>`` has no ``<audio>`` after it in its message, and otherwise
    interleaves the two's pads where the ``<video>`` tag was, deleting the message's first
    ``<audio>``.  Compared with qwenlint (the YAML's setting and template, the tiny tokenizer as
    ``--model``): whether the run stops (and with which exception), the video and audio pads, the
    record's untruncated length (the template's tokens, the text around the deleted tag), and for
    an interleaved record a ``cutoff_len`` drawn at the edges of the pads' runs: QL501 an error
    exactly when the real truncation leaves fewer video pads, a warning when it leaves fewer audio
    pads only or cuts text only, absent when nothing is cut."""
    release, worker = lf
    template = CUTOFF_TEMPLATES[family]
    model = _tokenizer_folder(family)
    assume = (f"llamafactory=={release}", f"transformers=={RELEASES[release]}")
    with case_files(case, "qwenlint-lf-aiv-", _write_aiv_media) as files:
        with open(files["config"], "a") as f:
            f.write(f"template: {template}\n")
        got = ask(worker, files, family, template)
        opts = Options(target="llamafactory", family=family, model=model, framework_config=files["config"],
                       assume=assume)
        with where_lf_ran(files):
            want = predict(files, family, release)
            parts = collect([files["path"]], opts).document()["parts"] if want[0] == "kept" else []
            total, blocks = _encoding(files["path"], opts) if want[0] == "kept" else (None, [])
        context = f"LLaMA-Factory {release}, {family}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}"
        event(f"real: {got[0]} {got[1] if got[0] == 'error' else ''}")
        record = case["records"][0][0]
        # QL402: a video without a sound track listed as an audio (torchcodec's own RuntimeError)
        assert_same_run(got, want, context, exception="QL402" not in want[1])
        if got[0] != "kept":
            return
        _, video_pads, _, videos, audio_pads, cut, _ = got[1][0]
        ours = (sum(p["tokens"] or 0 for p in parts if p["kind"] == "video"),
                sum(p["tokens"] or 0 for p in parts if p["kind"] == "audio"))
        assert (video_pads, audio_pads) == ours, context + f"\nvideo, audio pads ours {ours}"
        assert total == cut["full"], context + f"\nlength ours {total}, real {cut['full']}"
        if not record.get("audios"):
            event("kept: a video without sound")
            return
        cutoff = _aiv_cutoff(case["cutoff_at"], total, blocks)
        with open(files["config"], "w") as f:
            f.write(f"use_audio_in_video: true\ntemplate: {template}\ncutoff_len: {cutoff}\n")
        got = ask(worker, files, family, template, cutoff_len=cutoff)
        with where_lf_ran(files):
            import qwenlint

            result = qwenlint.check_files([files["path"]], target="llamafactory", family=family, model=model,
                                          framework_config=files["config"], assume=assume)
        ql501 = [d for d in result.diagnostics if d.rule == "QL501"]
        _, video_pads, _, _, audio_pads, cut, _ = got[1][0]
        verdict = ("video pads cut" if video_pads != cut["full_pads"][1] else
                   "audio pads cut" if audio_pads != cut["full_pads"][2] else
                   "text cut" if cut["length"] < cut["full"] else "kept whole")
        event(f"kept, interleaved, cutoff_len: {verdict}")
        context += f"\ncutoff_len {cutoff}: real {got}\nours {[(d.severity.value, d.message) for d in ql501]}"
        want_501 = {"video pads cut": [Severity.ERROR], "audio pads cut": [Severity.WARNING],
                    "text cut": [Severity.WARNING], "kept whole": []}[verdict]
        assert [d.severity for d in ql501] == want_501, context
        if verdict == "video pads cut":
            assert f": {video_pads} video tokens for {cut['full_pads'][1]} features" in ql501[0].message, context
        elif verdict == "audio pads cut":
            assert f"the first {audio_pads} of its {cut['full_pads'][2]} audio features" in ql501[0].message, context
