"""ms-swift's own dataset code against qwenlint's model of it, run for real.

scripts/test.sh installs ms-swift 4.6.0 and 3.12.6 (the last 3.x) ``--no-deps`` into
``.versions/``, each with what it imports that LLaMA-Factory does not (modelscope, ..., and the
datasets it pins), beside the frameworks' shared ``.versions/frameworks-deps`` and a transformers
it allows (5.17.0; 4.57.6).  A worker (_swift_worker.py) runs what ``swift sft`` runs on a
dataset — ``load_dataset`` (column aliases, row checks; a failing row is deleted) and
``template.encode`` per row (a row that raises is deleted too) — with the real Qwen template and
the family's real processor (``_real.build_processor``, saved by that transformers) loaded by
ms-swift's own model loader, on one generated record per case; qwen-vl-utils 0.0.14 is this
environment's.  Nothing of ms-swift is stubbed.

Generated: the record (``messages`` with ``role``/``content``, ``conversations`` with
``from``/``value``; roles ms-swift knows, aliases and unknown ones; system and tool turns;
``<image>`` tags in any turn, more or fewer than the images), the media column (``images``,
``image``, a string or a list, or none), where each image is (the working directory, an absolute
path, nowhere) and its size.

Compared: whether the row is deleted (at load or at encode), and for a kept row its image pads and
whether ``<image>`` is left as literal text in what the model is trained on, with ``qwenlint
check`` / ``qwenlint tokens`` ``--target ms-swift --media-root CWD --assume ms-swift==R``.  The
two releases differ in tool results without a call before them (``STANDALONE_TOOLS_FOLDED``).

``max_length`` (test_ms_swift_max_length): one plain row with ``max_length`` drawn around its
length and a ``--truncation_strategy`` drawn (none, ``delete``, ``None``, ``left``, ``right``),
written as ``swift sft`` command-line words (``--max_length`` / ``--max-length`` / ``--name=value``,
among arguments neither reads); the worker parses them with ms-swift's own ``parse_args`` over its
``TemplateArguments`` and sets ``get_template_kwargs``' ``max_length`` and ``truncation_strategy``
(``delete`` as ``raise``) on the template, and encodes the row once more without ``max_length``.
qwenlint gets the same words as ``--swift-args`` (and, half the time, ``--max-model-len`` equal to
max_length; the family's processor saved as ``--model`` so its text count is exact) and must give
the untruncated length exactly and report QL501 exactly when the row is longer: with ``delete``
an error, and the row must be deleted (``MaxLengthError``); with ``left`` / ``right`` a warning
naming the strategy, and the row must be kept with every pad, ``max_length`` tokens long (or the
pads alone, when they are more), the count QL501 says is kept.

``test_ms_swift_rlhf``: preference records (``rejected_response`` as a string with or without
``<image>``, the last message's text, null or a number; ``rejected_messages``, or an empty one; both;
neither; ``rejected_images`` absent, empty, a string or a list drawn from the record's own image
files; records ending with a user turn; a ``label`` or none) under a drawn command: ``swift sft``,
``swift rlhf`` with ``--rlhf_type`` dpo (or none: its default), orpo, simpo, cpo, rm or kto, or no
command (qwenlint without ``--swift-args``; ms-swift ``swift rlhf`` for a pair, ``swift sft`` for
any other record).  The worker parses the words with ms-swift's own ``HfArgumentParser`` over
``SftArguments`` / ``RLHFArguments``, sets the template mode ``SwiftRLHF`` sets (its
``mode_mapping``, read from the release's train/rlhf.py) and rm's ``seq_cls`` task, and for kto
builds the KL dataset with the release's own ``prepare_kto_dataset`` from the case's record and a
second one; qwenlint gets the same words as ``--swift-args``.  Compared: whether the run stops
(kto), whether the row is deleted, and each sequence's image pads and literal ``<image>`` (the
chosen one; the rejected one for dpo & co.).  Not generated: grpo / gkd / ppo (not modelled),
a list ``rejected_response``, malformed ``rejected_messages``, rejected-only image files, KTO's
KL sequence (not predicted: another row's answer).  ``test_ms_swift_rlhf_mixed_file``: a record
without a rejected sequence under dpo, beside a record with one rejected column (or none): what
``ms_swift.NO_REJECTED`` says of it.

``test_ms_swift_audio`` draws Omni records with WAV / FLAC audios; ``test_ms_swift_video`` records
with a ``videos`` (or ``video``) column, one ``<video>`` tag per video (or one too many or too
few), sometimes an image, and small synthetic clips (1 to 24 frames, integer and non-integer
rates, MP4 with H.264 or MPEG-4 part 2, WebM, Matroska), and compares whether the row is kept and
its video and image pads (qwen-vl-utils 0.0.14's ``fetch_video`` with its default budgets, then
the video processor with ``do_resize=False``); ``test_ms_swift_video_environment`` the same with
ms-swift's video variables drawn (``VIDEO_MAX_PIXELS`` / ``VIDEO_MIN_PIXELS`` around multiples of
factor² and the 1.05 x per-frame floor, clips above the default per-frame cap; ``FPS`` /
``FPS_MAX_FRAMES`` / ``FPS_MIN_FRAMES``) and ``test_ms_swift_image_environment`` with
``MAX_PIXELS`` / ``MIN_PIXELS`` drawn, set for ms-swift (ms-swift writes them into qwen-vl-utils'
module constants once, when the processor is loaded: the worker loads it again as a new process
would for each environment, ``_swift_worker.fresh_process``) and for qwenlint.  Not generated yet:
grounding objects, inline media parts, videos as frame lists, a record's ``chat_template_kwargs``.
Nor ``truncation_strategy split`` (pre-training only; qwenlint refuses it, read not run), ``max_length``
with rows whose turns ms-swift merges or whose tags it adds, or with preference pairs.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass

import _real as real  # first: it skips this module when the real libraries are missing
from mediasynth import make_clip, make_video  # tests/media, on the path through _real
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qwenlint.diagnostics import Severity
from qwenlint.options import Options
from qwenlint.tokens import collect

pytestmark = pytest.mark.differential

#: ms-swift release → the transformers it runs with here: 4.6.0 allows <5.20, 3.12.6 (the last 3.x)
#: <4.58 (4.57.6, the newest it allows).
RELEASES = {"4.6.0": "5.17.0", "3.12.6": "4.57.6"}
FAMILIES = ("qwen2-vl", "qwen2.5-vl", "qwen3-vl")
EXAMPLES = int(os.environ.get("QWENLINT_SWIFT_EXAMPLES", "100"))

#: qwenlint's errors that say ms-swift deletes the row (QL407: the encoding raises).
DELETES = {"QL603", "QL401", "QL402", "QL610", "QL407"}


@pytest.fixture(scope="module", params=list(RELEASES))
def swift(request):
    release = request.param
    worker = real.framework_worker(f"ms-swift-{release}", release, RELEASES[release], "_swift_worker.py")
    yield release, worker
    worker.close()


@dataclass
class Image:
    name: str
    place: str  # cwd, absolute, missing
    width: int
    height: int


SIZES = st.one_of(st.tuples(st.integers(20, 1100), st.integers(20, 1100)),
                  st.sampled_from([(3000, 2000), (28, 28), (1500, 20)]))
ROLES = ("user", "assistant", "system", "tool", "human", "gpt", "bot", "observation", "function")


@st.composite
def cases(draw):
    sharegpt = draw(st.booleans())
    rk, ck, col = ("from", "value", "conversations") if sharegpt else ("role", "content", "messages")
    user, assistant = ("human", "gpt") if sharegpt else ("user", "assistant")
    images = [Image(f"i{k}.png", draw(st.sampled_from(["cwd", "cwd", "absolute", "missing"])), *draw(SIZES))
              for k in range(draw(st.integers(0, 2)))]
    if draw(st.booleans()):  # the usual form: system?, user/assistant pairs, about one tag per image
        n = draw(st.integers(1, 2))
        texts = ["q"] * (2 * n)
        for _ in range(max(0, len(images) + draw(st.sampled_from([0, 0, 0, -1, 1, 2])))):
            k = draw(st.sampled_from([2 * i for i in range(n)] * 3 + [1]))  # mostly user turns
            texts[k] = "<image>" + texts[k]
        msgs = [{rk: "system", ck: draw(st.sampled_from(["be brief", "<image>be brief"]))}] if draw(st.booleans()) else []
        for i in range(n):
            msgs += [{rk: user, ck: texts[2 * i]}, {rk: assistant, ck: texts[2 * i + 1]}]
    else:
        words = st.lists(st.sampled_from(["hi", "<image>", "<image><image>", " "]), max_size=3).map("".join)
        msgs = [{rk: draw(st.sampled_from(ROLES)), ck: draw(words)} for _ in range(draw(st.integers(0, 4)))]
    record: dict = {col: msgs}
    image_col = draw(st.sampled_from(["images", "images", "image", None]))
    if image_col and (images or draw(st.booleans())):
        names = [img.name for img in images]
        record[image_col] = names[0] if len(names) == 1 and draw(st.booleans()) else names
    return {"record": record, "images": images, "jsonl": draw(st.booleans())}


def write_case(root: str, case: dict, others: list = ()) -> dict:
    """The case's record (then ``others``, records without media) as a JSON or JSON Lines file in
    ``root``, its images in the working directory ``cwd``, elsewhere (an absolute path) or nowhere."""
    cwd, elsewhere = os.path.join(root, "cwd"), os.path.join(root, "elsewhere")
    os.makedirs(cwd)
    os.makedirs(elsewhere)
    record = json.loads(json.dumps(case["record"]))
    col = next((c for c in ("images", "image") if c in record), None)
    for k, img in enumerate(case["images"]):
        folder = {"cwd": cwd, "absolute": elsewhere, "missing": None}[img.place]
        if folder is not None:
            real.pil_image(img.width, img.height).save(os.path.join(folder, img.name))
        if col and img.place == "absolute":
            if isinstance(record[col], list):
                record[col][k] = os.path.join(folder, img.name)
            else:
                record[col] = os.path.join(folder, img.name)
    path = os.path.join(root, "d.jsonl" if case["jsonl"] else "d.json")
    with open(path, "w") as f:
        records = [record, *others]
        f.write("".join(json.dumps(r) + "\n" for r in records) if case["jsonl"] else json.dumps(records))
    return {"path": path, "cwd": cwd}


def check(files: dict, family: str, release: str, swift_args: str = "") -> tuple:
    """qwenlint's check of the case's file as ms-swift ``release`` reads it (with ``--swift-args``
    ``swift_args``): (the options, the result, its error codes)."""
    import qwenlint

    options = Options(target="ms-swift", family=family, media_root=files["cwd"], swift_args=swift_args,
                      assume=(f"ms-swift=={release}", f"transformers=={RELEASES[release]}", "qwen-vl-utils==0.0.14"))
    result = qwenlint.check_files([files["path"]], **{k: getattr(options, k) for k in
                                                      ("target", "family", "media_root", "assume", "swift_args")})
    return options, result, sorted({d.rule for d in result.diagnostics if d.severity is Severity.ERROR})


def predict(files: dict, family: str, release: str) -> tuple:
    """``("deleted", codes)`` or ``("kept", codes, image pads, literal tags said)``."""
    options, result, codes = check(files, family, release)
    if set(codes) & DELETES:
        return ("deleted", codes)
    literal = any(d.rule == "QL601" and "literal" in d.message for d in result.diagnostics)
    parts = collect([files["path"]], options).document()["parts"]
    return ("kept", codes, sum(p["tokens"] or 0 for p in parts if p["kind"] == "image"), literal)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=cases(), family=st.sampled_from(FAMILIES))
def test_ms_swift_agrees(swift, case, family):
    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-case-")
    try:
        files = write_case(root, case)
        got = worker.ask(path=files["path"], family=family, cwd=files["cwd"])
        assert got[0] == "ok", got
        ((row, *detail),) = got[1]
        want = predict(files, family, release)
        context = f"ms-swift {release}, {family}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}"
        assert row == want[0], context
        if row == "kept":
            image_pads, literal = detail[0], detail[1] > 0
            assert (image_pads, literal) == (want[2], want[3]), context
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- audio: the Omni templates (ms-swift 4.x) ---------------------------------------------------------

AUDIO = st.fixed_dictionaries({"codec": st.sampled_from(["wav", "flac"]),
                               "rate": st.sampled_from([8000, 16000, 22050, 44100, 48000]),
                               "seconds": st.one_of(st.floats(0.005, 3.0), st.floats(28.0, 33.0)),
                               "channels": st.sampled_from([1, 2])})


@st.composite
def audio_cases(draw):
    """One record with an ``audios`` column, one ``<audio>`` tag per audio in the user turn (or one
    too many or too few), sometimes an image."""
    audios = draw(st.lists(AUDIO, min_size=1, max_size=3))
    images = [Image("i0.png", "cwd", *draw(st.one_of(SIZES, st.sampled_from([(4000, 3400), (5000, 2900)]))))] \
        if draw(st.booleans()) else []
    tags = "<audio>" * (len(audios) + draw(st.sampled_from([0, 0, 0, 1, -1]))) + "<image>" * len(images)
    record = {"messages": [{"role": "user", "content": tags + "what is it?"}, {"role": "assistant", "content": "a"}],
              "audios": [f"a{k}.{a['codec']}" for k, a in enumerate(audios)]}
    if images:
        record["images"] = ["i0.png"]
    return {"record": record, "images": images, "audios": audios, "jsonl": draw(st.booleans())}


@settings(max_examples=int(os.environ.get("QWENLINT_SWIFT_AUDIO_EXAMPLES", "40")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=audio_cases(), family=st.sampled_from(["qwen2.5-omni", "qwen3-omni"]))
def test_ms_swift_audio(swift, case, family):
    """ms-swift's Omni templates: librosa loads each audio; Qwen2.5-Omni's are cut at 30 s; 4.6.0
    trims Qwen3-Omni's to a multiple of 160 samples and pads them to the longest of the record,
    3.12.6 (with transformers 4.57.6) cuts them at 30 s.  Images go through qwen-omni-utils'
    fetch_image (Qwen3-Omni: patch 14 then the processor's resize in 3.12.6, patch 16 and no resize
    in 4.6.0).  Whether the row is kept and its audio and image pads must agree."""
    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-audio-")
    try:
        files = write_case(root, case)
        for k, a in enumerate(case["audios"]):
            make_clip(os.path.join(files["cwd"], f"a{k}.{a['codec']}"), a["codec"], a["rate"],
                      max(1, int(a["seconds"] * a["rate"])), a["channels"])
        got = worker.ask(path=files["path"], family=family, cwd=files["cwd"])
        assert got[0] == "ok", got
        ((row, *detail),) = got[1]
        want = predict(files, family, release)
        options = Options(target="ms-swift", family=family, media_root=files["cwd"],
                          assume=(f"ms-swift=={release}", f"transformers=={RELEASES[release]}"))
        parts = collect([files["path"]], options).document()["parts"]
        audio = sum(p["tokens"] or 0 for p in parts if p["kind"] == "audio")
        context = (f"ms-swift {release}, {family}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}, "
                   f"audio {audio}")
        event(f"real: {row}")
        assert row == want[0], context
        if row == "kept":
            assert (detail[0], detail[3]) == (want[2], audio), context
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- max_length: the template's truncation_strategy ---------------------------------------------------

WORDS = st.sampled_from(["a", "see", "what is it", "describe the picture in detail", "\n", "好", " 42"])


@st.composite
def max_length_cases(draw):
    """One plain row (an optional system turn, user / assistant pairs, one ``<image>`` tag per
    image in a prompt or now and then in an answer), ``max_length`` around its length (a fraction
    of it, or a few tokens either side), the ``--truncation_strategy`` a user gives ``swift sft``
    (none: the default ``delete``; ``delete``; ``left``; ``right``; ``None``, which ms-swift's parser
    reads as the default), how the flags are spelt, and whether ``--max-model-len`` is given too."""
    sharegpt = draw(st.booleans())
    rk, ck, col = ("from", "value", "conversations") if sharegpt else ("role", "content", "messages")
    user, assistant = ("human", "gpt") if sharegpt else ("user", "assistant")
    images = [Image(f"i{k}.png", "cwd", *draw(st.tuples(st.integers(20, 500), st.integers(20, 500))))
              for k in range(draw(st.integers(0, 2)))]
    pairs = draw(st.integers(1, 3))
    texts = [draw(st.lists(WORDS, max_size=10)) for _ in range(2 * pairs)]
    for _ in images:
        words = texts[draw(st.integers(0, pairs - 1)) * 2 + (draw(st.integers(0, 5)) == 0)]
        words.insert(draw(st.integers(0, len(words))), "<image>")
    msgs = [{rk: "system", ck: "".join(draw(st.lists(WORDS, min_size=1, max_size=5)))}] if draw(st.booleans()) else []
    msgs += [{rk: user if k % 2 == 0 else assistant, ck: "".join(t) or "x"} for k, t in enumerate(texts)]
    record: dict = {col: msgs}
    if images:
        record["images"] = [img.name for img in images]
    at = draw(st.one_of(st.floats(0.3, 1.6), st.integers(-2, 2)))
    return {"record": record, "images": images, "jsonl": draw(st.booleans()), "max_length_at": at,
            "truncation_strategy": draw(st.sampled_from([None, "delete", "None", "left", "left", "right", "right"])),
            "spelling": draw(st.sampled_from(["_", "-", "="])), "max_model_len_too": draw(st.booleans())}


def swift_args(max_length: int, strategy: str | None, spelling: str) -> list[str]:
    """The ``swift sft`` command-line words for ``max_length`` and ``strategy`` (None: not given),
    spelt ``--max_length N``, ``--max-length N`` or ``--max_length=N``, among arguments neither
    ms-swift's template nor qwenlint reads."""
    def flag(name: str, value) -> list[str]:
        if spelling == "=":
            return [f"--{name}={value}"]
        return [f"--{name.replace('_', spelling)}", str(value)]
    words = ["--model", "Qwen/Qwen2.5-VL-3B-Instruct", *flag("max_length", max_length), "--num_train_epochs", "1"]
    return words + (flag("truncation_strategy", strategy) if strategy is not None else [])


@settings(max_examples=int(os.environ.get("QWENLINT_SWIFT_MAX_LENGTH_EXAMPLES", "30")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=max_length_cases(), family=st.sampled_from(FAMILIES))
def test_ms_swift_max_length(swift, case, family):
    """``max_length`` drawn around the row's length and given, with the drawn
    ``--truncation_strategy``, as the same ``swift sft`` arguments to ms-swift (its own parser and
    ``get_template_kwargs``) and to qwenlint (``--swift-args``; ``--max-model-len`` too, equal, half
    the time).  qwenlint's length of the row (the template's tokens and the pads, exact with the
    family's processor saved as ``--model``) must be the real untruncated one, and QL501 must
    report the row exactly when it is longer: with ``delete`` (given or the default) an error,
    and the row must be deleted (``MaxLengthError``); with ``left`` / ``right`` a warning, and the
    row must be kept with every pad, ``max_length`` tokens long (or the pads alone, when they are
    more), the length QL501 says is kept."""
    import qwenlint

    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-maxlen-")
    try:
        files = write_case(root, case)
        opts = dict(target="ms-swift", family=family, media_root=files["cwd"], model=_processor_folder(family),
                    assume=(f"ms-swift=={release}", f"transformers=={RELEASES[release]}", "qwen-vl-utils==0.0.14"))
        (conv,) = collect([files["path"]], Options(**opts)).document()["conversations"]
        total = conv["total_tokens"]
        at = case["max_length_at"]
        max_length = max(1, round(total * at) if isinstance(at, float) else total + at)
        args = swift_args(max_length, case["truncation_strategy"], case["spelling"])
        strategy = case["truncation_strategy"] if case["truncation_strategy"] in ("left", "right") else "delete"
        got = worker.ask(path=files["path"], family=family, cwd=files["cwd"], swift_args=args)
        result = qwenlint.check_files([files["path"]], swift_args=shlex.join(args),
                                      max_model_len=max_length if case["max_model_len_too"] else None, **opts)
        ql501 = [d for d in result.diagnostics if d.rule == "QL501"]
        context = (f"ms-swift {release}, {family}, {args}: {json.dumps(case, default=vars)}\n"
                   f"real {got}\nours total {total}, {[(d.severity.value, d.message, d.help) for d in ql501]}")
        assert got[0] == "ok", context
        ((row, *detail),) = got[1]
        over = total > max_length
        event(f"{release} {strategy}: {'over' if over else 'within'}")
        if strategy == "delete":
            assert [d.severity for d in ql501] == ([Severity.ERROR] if over else []), context
            assert [row, *detail][:3] == (["deleted", "encode", "MaxLengthError"] if over else [row, *detail][:3]), context
            assert row == ("deleted" if over else "kept"), context
            if row == "kept":
                assert detail[4]["full"] == total, context  # the template's tokens and the pads, exactly
            if over:
                message = ql501[0].message
                assert f"ms-swift {release}" in message and "deleted" in message, context
                assert "--truncation_strategy delete" in message, context
                assert "--truncation_strategy right" in ql501[0].help, context
        else:  # left / right: kept, cut, every pad kept
            assert [d.severity for d in ql501] == ([Severity.WARNING] if over else []), context
            assert row == "kept", context
            cut = detail[4]
            assert cut["full"] == total and detail[0] == cut["full_pads"], context
            assert cut["length"] == (max(max_length, cut["full_pads"]) if over else total), context
            if over:
                message = ql501[0].message
                assert f"ms-swift {release}" in message and f"--truncation_strategy {strategy}" in message, context
                assert f"({cut['length']} tokens kept" in message, context
                assert "--truncation_strategy" not in ql501[0].help, context  # what the user already does
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- config files: `swift sft config.yaml` (4.x) and `swift sft --config config.yaml` (3.x) ------------

@st.composite
def config_cases(draw):
    """A config file of drawn settings (``max_length``, ``truncation_strategy``, settings neither
    side reads, a list, a mapping; for 4.x an ``ENV`` section) as YAML or JSON, named as the
    release reads it, with flags drawn before and after it."""
    config = {}
    if draw(st.booleans()):
        config["max_length"] = draw(st.one_of(st.integers(1, 9000), st.just("2048")))
    if draw(st.booleans()):
        config["truncation_strategy"] = draw(st.sampled_from(["delete", "left", "right", "bogus"]))
    if draw(st.booleans()):
        config.update({"num_train_epochs": 1, "dataset": ["a.jsonl", "b.jsonl"], "lora_rank": 8,
                       "deepspeed": {"zero_optimization": {"stage": 2}}})
    env = draw(st.dictionaries(st.sampled_from(["MAX_PIXELS", "FPS_MAX_FRAMES", "VIDEO_MAX_PIXELS"]),
                               st.integers(1, 10**6), max_size=2))
    flag = st.sampled_from([[], ["--max_length", "300"], ["--max-length", "40"],
                            ["--truncation_strategy", "left"], ["--truncation_strategy", "right"]])
    return {"config": config, "env": env, "json": draw(st.booleans()), "before": draw(flag),
            "after": draw(flag)}


@settings(max_examples=int(os.environ.get("QWENLINT_SWIFT_CONFIG_EXAMPLES", "40")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=config_cases())
def test_ms_swift_config_file(swift, case):
    """A config file given as ms-swift's ``swift`` command takes it (4.x: the first argument, its
    ``ENV`` section setting variables; 3.x: ``--config FILE``, its settings after every flag), to
    the release's own expansion and parser and to qwenlint's ``--swift-args``: the same
    ``max_length``, ``truncation_strategy`` and variables, or both refuse."""
    from qwenlint.consumers.ms_swift import parse_args

    release, worker = swift
    four = int(release.split(".")[0]) >= 4
    root = tempfile.mkdtemp(prefix="qwenlint-swift-config-")
    try:
        config = dict(case["config"], **({"ENV": case["env"]} if four and case["env"] else {}))
        name = "train.json" if case["json"] else "train.yaml"
        with open(os.path.join(root, name), "w", encoding="utf-8") as f:
            if case["json"]:
                json.dump(config, f)
            else:
                import yaml

                yaml.safe_dump(config, f)
        words = [name, *case["after"]] if four else [*case["before"], "--config", name, *case["after"]]
        got = worker.ask(kind="config", words=words, cwd=root)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            ours = parse_args(["sft", *words])
        except ValueError as e:
            ours = e
        finally:
            os.chdir(cwd)
        context = f"ms-swift {release}: {words} {config}\nreal {got}\nours {ours!r}"
        event(f"{release}: {'refused' if got[0] != 'ok' else 'read'}")
        if got[0] != "ok":
            assert isinstance(ours, ValueError), context
            return
        assert not isinstance(ours, ValueError), context
        strategy = "raise" if ours.truncation_strategy == "delete" else ours.truncation_strategy
        assert [ours.max_length or 1 << 20, strategy] == list(got[1:3]), context
        set_env = {k: v for k, v in got[3].items() if k != "SWIFT_CONFIG_FILE"}  # the file's name, kept by 4.x
        assert dict(ours.env) == set_env, context
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- videos: qwen-vl-utils' fetch_video inside the Qwen templates ---------------------------------------

#: Small synthetic videos (tests/media/mediasynth.make_video): very short clips (qwen-vl-utils wants
#: at least 2 sampled frames), integer and non-integer rates, MP4 (H.264, MPEG-4 part 2), WebM
#: (VP9) and Matroska (H.264).
VIDEO = st.fixed_dictionaries({
    "frames": st.one_of(st.integers(1, 4), st.integers(5, 24)),
    "fps": st.sampled_from(["1", "2", "3", "8", "24", "30000/1001", "5/2", "15/2", "1/2"]),
    "size": st.one_of(st.tuples(st.integers(12, 160), st.integers(12, 160)).map(lambda s: (2 * s[0], 2 * s[1])),
                      st.sampled_from([(640, 360), (32, 32), (16, 400)])),
    "container": st.sampled_from(["mp4", "mp4", "mpeg4", "webm", "mkv"])})
_CODECS = {"mp4": ("mp4", "libx264"), "mpeg4": ("mp4", "mpeg4"), "webm": ("webm", "libvpx-vp9"),
           "mkv": ("mkv", "libx264")}


@st.composite
def video_cases(draw):
    """One record with a ``videos`` column (the singular ``video`` sometimes), one ``<video>`` tag per
    video in the user turn (or one too many or too few), sometimes an image."""
    clips = [draw(VIDEO) for _ in range(draw(st.sampled_from([1, 1, 2])))]
    images = [Image("i0.png", "cwd", *draw(SIZES))] if draw(st.integers(0, 3)) == 0 else []
    tags = "<video>" * (len(clips) + draw(st.sampled_from([0, 0, 0, 1, -1]))) + "<image>" * len(images)
    names = [f"v{k}.{_CODECS[c['container']][0]}" for k, c in enumerate(clips)]
    record = {"messages": [{"role": "user", "content": tags + "what is it?"}, {"role": "assistant", "content": "a"}],
              draw(st.sampled_from(["videos", "videos", "video"])): names}
    if images:
        record["images"] = ["i0.png"]
    return {"record": record, "images": images, "videos": clips, "jsonl": draw(st.booleans())}


@settings(max_examples=int(os.environ.get("QWENLINT_SWIFT_VIDEO_EXAMPLES", "40")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=video_cases(), family=st.sampled_from(FAMILIES))
def test_ms_swift_video(swift, case, family):
    """ms-swift's Qwen templates load each video with qwen-vl-utils' ``fetch_video`` (this
    environment's 0.0.14, its default budgets: ms-swift's environment variables unset) and call
    the video processor with ``do_resize=False``: whether the row is kept and its video and image
    pads must agree."""
    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-video-")
    try:
        files = write_case(root, case)
        for k, c in enumerate(case["videos"]):
            ext, codec = _CODECS[c["container"]]
            make_video(os.path.join(files["cwd"], f"v{k}.{ext}"), *c["size"], c["fps"], c["frames"], codec=codec)
        got = worker.ask(path=files["path"], family=family, cwd=files["cwd"])
        assert got[0] == "ok", got
        ((row, *detail),) = got[1]
        want = predict(files, family, release)
        options = Options(target="ms-swift", family=family, media_root=files["cwd"],
                          assume=(f"ms-swift=={release}", f"transformers=={RELEASES[release]}", "qwen-vl-utils==0.0.14"))
        parts = collect([files["path"]], options).document()["parts"]
        video = sum(p["tokens"] or 0 for p in parts if p["kind"] == "video")
        context = (f"ms-swift {release}, {family}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}, "
                   f"video {video}")
        event(f"real: {row} {detail[1] if row == 'deleted' else ''}")
        assert row == want[0], context
        if row == "kept":
            assert (detail[0], detail[2]) == (want[2], video), context
    finally:
        shutil.rmtree(root, ignore_errors=True)


_FOLDERS: dict = {}


def _processor_folder(family: str) -> str:
    """The family's processor as the worker builds it (the tiny real tokenizer, the published
    configs), saved: qwenlint's ``--model``, so its text count is exact."""
    if family not in _FOLDERS:
        _FOLDERS[family] = tempfile.mkdtemp(prefix=f"qwenlint-swift-proc-{family}-")
        real.build_processor(family).save_pretrained(_FOLDERS[family])
    return _FOLDERS[family]


# --- the environment: ms-swift's budgets written into qwen-vl-utils' module constants -------------------

#: ms-swift's frame variables: a frame rate above most clips' and frame bounds other than
#: qwen-vl-utils' defaults (the cap is cut to a short clip's frame count).
SWIFT_ENV = {"FPS": "4", "FPS_MAX_FRAMES": "8", "FPS_MIN_FRAMES": "2"}
#: factor**2 of the two fetch factors (28: Qwen2-VL, Qwen2.5-VL; 32: Qwen3-VL), drawn for every
#: family so that a factor mixed up shows.
SQUARES = (28 * 28, 32 * 32)


@st.composite
def pixels(draw, tokens: tuple[int, int], near: int | None = None):
    """A pixel variable's value: a multiple of factor**2 or a pixel or two off it, one near
    ``near`` (the 1.05 x floor of a video frame), or an ordinary number."""
    how = draw(st.sampled_from(["multiple", "multiple", "plain"] + (["near"] if near else [])))
    if how == "multiple":
        return draw(st.integers(*tokens)) * draw(st.sampled_from(SQUARES)) + draw(st.sampled_from([0, 0, -1, 1, -2]))
    if how == "near":
        return near + draw(st.integers(-2 * 1024, 2 * 1024))
    return draw(st.sampled_from([50000, 100000, 200704, 262144, 602112, 1003520, 1000000]))


@st.composite
def image_environments(draw):
    """``MAX_PIXELS`` / ``MIN_PIXELS`` (each maybe unset; a maximum under the minimum sometimes)."""
    env = {}
    if draw(st.integers(0, 3)):
        env["MAX_PIXELS"] = draw(pixels((1, 900)))
    if draw(st.booleans()):
        env["MIN_PIXELS"] = draw(pixels((0, 400)))
    return {k: str(v) for k, v in env.items()}


@st.composite
def video_environments(draw):
    """``VIDEO_MAX_PIXELS`` / ``VIDEO_MIN_PIXELS`` (each maybe unset): the maximum around the
    per-frame floor ``int(min * 1.05)`` (qwen-vl-utils' minimum 128 tokens, or the one drawn), or
    above the default 768-token cap; with :data:`SWIFT_ENV` half the time."""
    env = dict(SWIFT_ENV) if draw(st.booleans()) else {}
    min_tokens = 128
    if draw(st.booleans()):
        v = draw(pixels((1, 300)))
        env["VIDEO_MIN_PIXELS"] = str(v)
        min_tokens = max(v // draw(st.sampled_from(SQUARES)), 0)
    if draw(st.integers(0, 3)):
        floor = int(min_tokens * draw(st.sampled_from(SQUARES)) * 1.05)
        env["VIDEO_MAX_PIXELS"] = str(draw(pixels((1, 1500), near=floor)))
    return env


@st.composite
def image_cases(draw):
    """One plain record, one or two images (sizes as :data:`SIZES`, or large: above most drawn
    maxima), one tag each."""
    large = st.tuples(st.integers(800, 2400), st.integers(600, 1800))
    images = [Image(f"i{k}.png", "cwd", *draw(st.one_of(SIZES, large))) for k in range(draw(st.integers(1, 2)))]
    record = {"messages": [{"role": "user", "content": "<image>" * len(images) + "what is it?"},
                           {"role": "assistant", "content": "a"}], "images": [img.name for img in images]}
    return {"record": record, "images": images, "jsonl": draw(st.booleans())}


def predict_in(env: dict, files: dict, family: str, release: str) -> tuple:
    """:func:`predict`, with the video pads, and ``env`` set for qwenlint (which reads ms-swift's
    variables from its own environment, as ms-swift does)."""
    with pytest.MonkeyPatch.context() as mp:
        for k in ("MAX_PIXELS", "MIN_PIXELS", "VIDEO_MAX_PIXELS", "VIDEO_MIN_PIXELS", *SWIFT_ENV):
            mp.delenv(k, raising=False)
        for k, v in env.items():
            mp.setenv(k, v)
        want = predict(files, family, release)
        options = Options(target="ms-swift", family=family, media_root=files["cwd"], assume=(
            f"ms-swift=={release}", f"transformers=={RELEASES[release]}", "qwen-vl-utils==0.0.14"))
        video = sum(p["tokens"] or 0 for p in collect([files["path"]], options).document()["parts"]
                    if p["kind"] == "video")
    return want, video


@settings(max_examples=int(os.environ.get("QWENLINT_SWIFT_IMAGE_ENV_EXAMPLES", "10")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=image_cases(), family=st.sampled_from(FAMILIES + ("qwen2.5-omni", "qwen3-omni")),
       env=image_environments())
def test_ms_swift_image_environment(swift, case, family, env):
    """``MAX_PIXELS`` / ``MIN_PIXELS`` set for ms-swift's processor load (the worker loads it again as
    a new process would: :func:`_swift_worker.fresh_process`) and for qwenlint: whether the row is
    kept (a maximum under the minimum: qwen-vl-utils' assertion) and its image pads must agree.
    The Omni families too: their loaders convert the variables from 4.1.0 (3.12.6 ignores them)."""
    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-image-env-")
    try:
        files = write_case(root, case)
        got = worker.ask(path=files["path"], family=family, cwd=files["cwd"], env=env)
        assert got[0] == "ok", got
        ((row, *detail),) = got[1]
        want, _ = predict_in(env, files, family, release)
        context = f"ms-swift {release}, {family}, {env}: {json.dumps(case, default=vars)}\nreal {got}\nours {want}"
        event(f"real: {row} {detail[1] if row == 'deleted' else ''}")
        assert row == want[0], context
        if row == "kept":
            assert detail[0] == want[2], context
    finally:
        shutil.rmtree(root, ignore_errors=True)


@settings(max_examples=int(os.environ.get("QWENLINT_SWIFT_VIDEO_ENV_EXAMPLES", "14")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=video_cases(), family=st.sampled_from(FAMILIES), env=video_environments(),
       large=st.sampled_from([None, None, (1280, 720), (1024, 1024)]))
def test_ms_swift_video_environment(swift, case, family, env, large):
    """ms-swift's video variables (:func:`video_environments`: the pixel ones and the frame ones)
    set for its processor load (a new process, as for images) and for qwenlint: whether the row is
    kept and its video and image pads must agree.  ``large``: the first clip's size, above the
    default per-frame cap, which ``VIDEO_MAX_PIXELS`` may raise."""
    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-video-env-")
    try:
        if large:
            case["videos"][0] = {**case["videos"][0], "size": large, "frames": min(case["videos"][0]["frames"], 6)}
        files = write_case(root, case)
        for k, c in enumerate(case["videos"]):
            ext, codec = _CODECS[c["container"]]
            make_video(os.path.join(files["cwd"], f"v{k}.{ext}"), *c["size"], c["fps"], c["frames"], codec=codec)
        got = worker.ask(path=files["path"], family=family, cwd=files["cwd"], env=env)
        assert got[0] == "ok", got
        ((row, *detail),) = got[1]
        want, video = predict_in(env, files, family, release)
        context = (f"ms-swift {release}, {family}, {env}: {json.dumps(case, default=vars)}\nreal {got}\n"
                   f"ours {want}, video {video}")
        event(f"real: {row} {detail[1] if row == 'deleted' else ''}")
        assert row == want[0], context
        if row == "kept":
            assert (detail[0], detail[2]) == (want[2], video), context
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- RLHF: preference pairs (``swift rlhf``, template mode ``rlhf``) ----------------------------------

REJECTED_TEXTS = st.sampled_from(["b", "<image>b", "b<image>", "<image><image>b", "a"])
#: The ``swift`` command a preference case runs under (None: no subcommand given to qwenlint, which
#: then reads a pair as ``swift rlhf``'s default dpo, any other record as ``swift sft``), spelt with
#: ``--rlhf_type`` or ``--rlhf-type``, among arguments neither qwenlint nor the template reads.
COMMANDS = st.sampled_from([None, None, ("sft",), ("rlhf",), ("rlhf", "--rlhf_type", "dpo"),
                            ("rlhf", "--rlhf-type", "orpo"), ("rlhf", "--rlhf_type", "simpo"),
                            ("rlhf", "--rlhf_type", "cpo"), ("rlhf", "--rlhf_type", "rm"),
                            ("rlhf", "--rlhf_type", "kto"), ("rlhf", "--rlhf-type", "kto")])


@st.composite
def rlhf_cases(draw):
    """A preference record: ``messages`` (or ShareGPT ``conversations``) with ``<image>`` tags in the
    prompts and answers, ending with an answer or (now and then) a user turn, and now and then
    with a system turn after them (kept at load, refused by the template); a rejected sequence
    as ``rejected_response`` (a string with or without tags, the last message's text, null, a
    number), ``rejected_messages`` (its own prompt and answer, or empty), both, or (now and then)
    none; an ``images`` column (or ``image``, or none) and sometimes ``rejected_images`` (absent,
    ``[]``, a string, or a list of the record's own image files: the rejected sequence's files are
    not opened by qwenlint, so they are drawn from the chosen ones); a KTO ``label`` (true, false,
    null or absent); and the ``swift`` command (:data:`COMMANDS`)."""
    sharegpt = draw(st.booleans())
    rk, ck, col = ("from", "value", "conversations") if sharegpt else ("role", "content", "messages")
    user, assistant = ("human", "gpt") if sharegpt else ("user", "assistant")
    images = [Image(f"i{k}.png", draw(st.sampled_from(["cwd", "cwd", "cwd", "missing"])), *draw(SIZES))
              for k in range(draw(st.integers(0, 2)))]
    n = draw(st.integers(1, 2))
    texts = ["q"] * (2 * n)
    for _ in range(max(0, len(images) + draw(st.sampled_from([0, 0, -1, 1])))):
        texts[draw(st.sampled_from([2 * i for i in range(n)] * 3 + [2 * n - 1]))] += "<image>"
    msgs = [{rk: "system", ck: "be brief"}] if draw(st.booleans()) else []
    for i in range(n):
        msgs += [{rk: user, ck: texts[2 * i]}, {rk: assistant, ck: texts[2 * i + 1] + str(i)}]
    if draw(st.integers(0, 4)) == 0:
        msgs.pop()  # ends with a user turn
    if draw(st.integers(0, 9)) == 0:
        msgs.append({rk: "system", ck: "late"})  # kept at load, deleted at encode (kto stops first)
    record: dict = {col: msgs}
    command = draw(COMMANDS)
    kto = command is not None and command[-1] == "kto"
    form = draw(st.sampled_from(["response", "response", "response", "messages", "messages", "both",
                                 "null", "same", "number", "empty", "none"]))
    if kto and form == "number":  # beside the partner record's string, datasets refuses the column
        form = "response"
    if form in ("response", "both"):
        record["rejected_response"] = draw(REJECTED_TEXTS)
    elif form == "null":
        record["rejected_response"] = None
    elif form == "same":
        record["rejected_response"] = msgs[-1][ck]
    elif form == "number":
        record["rejected_response"] = 7
    if form == "empty":
        record["rejected_messages"] = []
    if form in ("messages", "both"):
        record["rejected_messages"] = [{rk: user, ck: "<image>" * draw(st.integers(0, 2)) + "q"},
                                       {rk: assistant, ck: draw(REJECTED_TEXTS)}]
    image_col = draw(st.sampled_from(["images", "images", "image", None]))
    names = [img.name for img in images]
    if image_col and (images or draw(st.booleans())):
        record[image_col] = names[0] if len(names) == 1 and draw(st.booleans()) else names
        rejected = "absent" if form in ("empty", "none") else draw(st.sampled_from(["absent", "absent", "empty", "some"]))
        if rejected == "empty":
            record["rejected_images"] = []
        elif rejected == "some" and names:
            chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2))
            record["rejected_images"] = chosen[0] if len(chosen) == 1 and draw(st.booleans()) else chosen
    label = draw(st.sampled_from([True, False, None, "absent"] if kto else ["absent", "absent", True]))
    if label != "absent":
        record["label"] = label
    partner = None
    if kto:  # the row whose answer the KL dataset gives this one (and which gets this one's)
        partner = {col: [{rk: user, ck: "partner question"}, {rk: assistant, ck: "partner answer"}], "label": True}
        if "rejected_response" in record:
            partner["rejected_response"] = "partner rejected"
        if "rejected_messages" in record:
            partner["rejected_messages"] = [{rk: user, ck: "partner question"}, {rk: assistant, ck: "partner rejected"}]
    return {"record": record, "images": images, "jsonl": draw(st.booleans()), "command": command,
            "partner": partner}


def predict_rlhf(files: dict, family: str, release: str, command: list | None) -> tuple:
    """qwenlint's prediction for a preference case under ``--swift-args`` ``swift COMMAND`` (none
    when ``command`` is None): ``("stopped",)`` (QL603 saying the run stops), ``("deleted", codes)`` or
    ``("kept", codes, [chosen image pads, chosen literal <image>?, rejected image pads, rejected
    literal <image>?])``, the rejected ones None where qwenlint reads the record as one sequence
    (``swift sft``; kto, whose KL sequence it does not predict): the pads of each sequence are the
    tokens qwenlint gives each of the files in its media list (the view's
    :meth:`~qwenlint.consumers.records.RecordView.media_of`), literal tags QL601's finding on that
    sequence."""
    from packaging.version import Version

    from qwenlint.consumers import ms_swift
    from qwenlint.ir import Conversation, Dialect, Kind

    swift_args = shlex.join(["swift", *command]) if command else ""
    options, result, codes = check(files, family, release, swift_args)
    if any(d.rule == "QL603" and d.extra.get("stops") for d in result.diagnostics):
        return ("stopped",)
    if set(codes) & DELETES:
        return ("deleted", codes)
    with open(files["path"]) as f:
        record = json.loads(f.readline()) if files["path"].endswith(".jsonl") else json.load(f)[0]
    rp = "" if files["path"].endswith(".jsonl") else "/0"  # where qwenlint's parts point
    view = ms_swift.view(Conversation(0, rp, Dialect.MESSAGES_RECORD, record=record, record_pointer=rp), {},
                         Version(release), ms_swift.parse_args(swift_args))
    parts = [p for p in collect([files["path"]], options).document()["parts"] if p["kind"] == "image"]
    tokens = {p["pointer"]: p["tokens"] or 0 for p in parts}
    by_name = {ref.source: tokens.get(ref.pointer, 0) for ref in view.media_of(Kind.IMAGE, view.branches[0])}
    out = []
    for branch in view.branches:
        literal = any(d.rule == "QL601" and "literal" in d.message and d.extra.get("branch") == branch
                      for d in result.diagnostics)
        out += [sum(by_name[ref.source] for ref in view.media_of(Kind.IMAGE, branch)), literal]
    return ("kept", codes, out + [None, None] * (len(view.branches) == 1))


@settings(max_examples=int(os.environ.get("QWENLINT_SWIFT_RLHF_EXAMPLES", "30")), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(case=rlhf_cases(), family=st.sampled_from(FAMILIES))
def test_ms_swift_rlhf(swift, case, family):
    """A preference record (or now and then a record without a rejected sequence) under a drawn
    ``swift`` command: ``swift sft`` (template mode ``train``: the chosen sequence alone), ``swift
    rlhf`` with ``--rlhf_type`` dpo (the default) / orpo / simpo / cpo / rm (``rlhf``: both
    sequences; rm as ``seq_cls``) or kto (``kto``: the chosen sequence and a KL one built by
    ``prepare_kto_dataset`` from a second record's answer), parsed by ms-swift's own parser in the
    worker and given to qwenlint as ``--swift-args``; no command: qwenlint without ``--swift-args``,
    ms-swift running ``swift rlhf`` for a pair and ``swift sft`` for any other record.  Compared:
    whether the run stops (kto), whether the row is deleted (at load: ``_check_rejected_response``;
    at encode: either sequence, a ``rejected_response`` of the wrong type, a record without a
    rejected sequence under dpo & co.), and for a kept row the image pads and literal ``<image>``
    tags of each sequence qwenlint predicts (the chosen one; the rejected one for dpo & co.)."""
    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-rlhf-")
    try:
        files = write_case(root, case, [case["partner"]] if case["partner"] else [])
        pair = any(c in case["record"] for c in ("rejected_response", "rejected_messages"))
        command = case["command"] or (("rlhf",) if pair else ("sft",))
        got = worker.ask(path=files["path"], family=family, cwd=files["cwd"], command=list(command))
        assert got[0] == "ok", got
        ((row, *detail),) = got[1]
        want = predict_rlhf(files, family, release, case["command"])
        context = (f"ms-swift {release}, {family}, swift {' '.join(command)}: {json.dumps(case, default=vars)}\n"
                   f"real {got}\nours {want}")
        event(f"{' '.join(command[:1] + command[2:])}: {row}")
        assert row == want[0], context
        if row == "kept":
            chosen, rejected = [detail[0], detail[1] > 0], [detail[2], detail[3] and detail[3] > 0]
            assert chosen == want[2][:2], context
            if want[2][2] is not None:  # the rejected sequence qwenlint predicts (not kto's KL one)
                assert rejected == want[2][2:], context
            elif command[-1] != "kto":  # swift sft: no rejected sequence encoded
                assert detail[2] is None, context
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("other", ["rejected_messages", "rejected_images", "rejected_response", None])
def test_ms_swift_rlhf_mixed_file(swift, other):
    """What ``ms_swift.NO_REJECTED`` says of a row without a rejected sequence under ``swift rlhf``
    (dpo), beside a row with a rejected column or without one: alone it is deleted at encode;
    beside ``rejected_images`` (or ``rejected_messages`` in 4.x) its null ones make the rejected
    sequence a copy of the chosen one (kept, the same pads); beside ``rejected_response`` (or
    ``rejected_messages`` in 3.x) its null one deletes it at load.  qwenlint, reading one record,
    says the first and names the others."""
    from packaging.version import Version

    from qwenlint.consumers import ms_swift

    release, worker = swift
    root = tempfile.mkdtemp(prefix="qwenlint-swift-mixed-")
    try:
        record = {"messages": [{"role": "user", "content": "<image>q"}, {"role": "assistant", "content": "a"}],
                  "images": ["i0.png"]}
        partner = {"messages": [{"role": "user", "content": "partner question"}, {"role": "assistant", "content": "b"}]}
        rejected = {"rejected_messages": partner["messages"][:1] + [{"role": "assistant", "content": "r"}],
                    "rejected_images": ["i0.png"], "rejected_response": "r"}
        if other:
            partner[other] = rejected[other]
        files = write_case(root, {"record": record, "images": [Image("i0.png", "cwd", 56, 56)], "jsonl": True},
                           [partner])
        got = worker.ask(path=files["path"], family="qwen2.5-vl", cwd=files["cwd"], command=["rlhf"])
        copy = other == "rejected_images" or (other == "rejected_messages"
                                              and Version(release) >= ms_swift.EMPTY_REJECTED_IGNORED)
        want = (["kept", 4, 0, 4, 0] if copy else ["deleted", "encode", "ValueError"] if other is None
                else ["deleted", "load", None])
        assert got == ("ok", [want]), (other, got)
        _, result, _ = check(files, "qwen2.5-vl", release, "swift rlhf")
        (d,) = [d for d in result.diagnostics if d.rule == "QL603" and d.line == 1]
        assert d.message.startswith(ms_swift.NO_REJECTED.format(command="swift rlhf --rlhf_type dpo")), d.message
    finally:
        shutil.rmtree(root, ignore_errors=True)
