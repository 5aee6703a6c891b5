"""The public Python API: its names do not drift, and it agrees with the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qwenlint
from test_properties import native_batch, native_conversation, openai_conversation
sys.path.insert(0, str(Path(__file__).resolve().parent / "rules"))
from examples_ql012 import EXAMPLES  # noqa: E402  (the foundation rules' example table)
from _examples import File  # noqa: E402

QWENLINT = str(Path(sys.executable).with_name("qwenlint"))

PUBLIC = {"Applicability", "Diagnostic", "Fix", "InvalidInputError", "Options", "Result",
          "Severity", "check", "check_files", "validate", "__version__"}


def test_public_names_do_not_drift():
    assert set(qwenlint.__all__) == PUBLIC
    assert len(qwenlint.__all__) == len(set(qwenlint.__all__))
    for name in PUBLIC:
        assert getattr(qwenlint, name) is not None
    ns: dict = {}
    exec("from qwenlint import *", ns)
    assert PUBLIC <= set(ns)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError):
        qwenlint.no_such_name  # noqa: B018


def test_public_types():
    assert {s.value for s in qwenlint.Severity} == {"error", "warning", "info"}
    assert {a.value for a in qwenlint.Applicability} == {"safe", "unsafe", "display"}
    r = qwenlint.check([{"role": "user", "content": "Hi"}])
    assert isinstance(r, qwenlint.Result)
    assert (r.files, r.conversations, r.errors, r.warnings, r.diagnostics) == (1, 1, 0, 0, [])
    assert (list(r), len(r), bool(r)) == ([], 0, False)


def test_check_returns_the_diagnostics_as_a_sequence():
    """The README's promise: ``for d in qwenlint.check(...)`` walks the diagnostics."""
    from collections.abc import Sequence

    r = qwenlint.check([{"role": "user", "content": [{"type": "text", "text": "<|image_pad|>"}]},
                        {"role": "user", "content": [{"type": "图片", "图片": "a.jpg"}]}])
    assert isinstance(r, Sequence) and r
    assert list(r) == r.diagnostics and len(r) == len(r.diagnostics) >= 2
    assert all(isinstance(d, qwenlint.Diagnostic) for d in r)
    assert r[0] is r.diagnostics[0] and r[-1] is r.diagnostics[-1] and r[:1] == r.diagnostics[:1]
    assert {"QL202"} <= {d.rule for d in r}
    assert "diagnostics" in repr(r) and f"{r.errors} errors" in repr(r)
    opts = qwenlint.Options(family="qwen3-vl", target="vllm", select=("QL2",))
    assert (opts.family, opts.target) == ("qwen3-vl", "vllm")
    assert qwenlint.Options().family is None  # decided by the run: --model's, else qwen2.5-vl
    assert isinstance(qwenlint.__version__, str)


def test_options_take_vllm_media_io_kwargs_as_json_or_mapping():
    """As on the command line: a JSON string or a mapping, validated when the Options are made."""
    assert qwenlint.Options(media_io_kwargs='{"video": {"fps": 1}}').server().video == {"fps": 1}
    assert qwenlint.Options(media_io_kwargs={"video": {"video_backend": "opencv"}}).server().video == {
        "video_backend": "opencv"}
    assert qwenlint.Options().server().video == {}
    with pytest.raises(ValueError, match="video.max_frames must be an integer"):
        qwenlint.Options(media_io_kwargs={"video": {"max_frames": 1.5}})
    with pytest.raises(ValueError, match="not valid JSON"):
        qwenlint.check([], media_io_kwargs="{video")


def test_check_returns_diagnostics_with_fix():
    r = qwenlint.check([[{"role": "user", "content": "a"}], {"role": "user", "content": "b"}])
    (d,) = r.diagnostics
    assert isinstance(d, qwenlint.Diagnostic)
    assert (d.rule, d.name, d.severity, d.pointer) == ("QL102", "mixed-batch-nesting",
                                                        qwenlint.Severity.ERROR, "/1")
    assert isinstance(d.fix, qwenlint.Fix) and d.fix.pointer == "/1"
    assert d.to_json()["fix"]["edits"][0]["value"] == [{"role": "user", "content": "b"}]
    assert r.errors == 1


def test_check_options_are_keyword_only_and_validated():
    with pytest.raises(TypeError):
        qwenlint.check([], "qwen2.5-vl")  # positional option
    with pytest.raises(TypeError):
        qwenlint.check([], no_such_option=1)


@pytest.mark.parametrize("options, word", [({"max_model_len": "8k"}, "positive integer"),
                                           ({"max_model_len": 0}, "positive integer"),
                                           ({"max_model_len": True}, "positive integer"),
                                           ({"family": "qwen9"}, "qwen2.5-vl"),
                                           ({"target": "vlm"}, "vllm")])
def test_a_bad_option_is_a_value_error_before_any_work(options, word):
    """Not an internal error in the middle of the run: the message names what is accepted."""
    with pytest.raises(ValueError, match=word):
        qwenlint.check([{"role": "user", "content": "hi"}], **options)


def test_check_files_matches_cli(write):
    f = write("bad.json", [[{"role": "user", "content": "a"}], {"role": "user", "content": "b"}])
    r = qwenlint.check_files([str(f)])
    assert r.files == 1 and r.conversations == 2
    assert [(d.rule, d.pointer, d.line, d.column) for d in r.diagnostics] == \
        [(d["rule"], d["pointer"], d["line"], d["column"]) for d in _cli_json(f, [])["diagnostics"]]


# --- check(value) == qwenlint check --format json on the same value ---------------------------

def _cli_json(path, args):
    p = subprocess.run([QWENLINT, "check", "--format", "json", *args, str(path)],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def _cli_args(options):
    args = []
    for k, v in options.items():
        if isinstance(v, (tuple, list)):
            for x in v:
                args += [f"--{k}", x]
        else:
            args += [f"--{k.replace('_', '-')}", str(v)]
    return args


def _key(diags):
    return sorted((d["rule"], d["pointer"], d["severity"], d["message"]) for d in diags)


def _api_key(result):
    return sorted((d.rule, d.pointer, d.severity.value, d.message) for d in result.diagnostics)


def _same(value, options, tmp_path, name="v.json"):
    path = tmp_path / name
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2), encoding="utf-8")
    api = qwenlint.check(value, base_dir=str(tmp_path), **options)
    doc = _cli_json(path, ["--isolated", *_cli_args(options)])
    assert _api_key(api) == _key(doc["diagnostics"])
    assert api.conversations == doc["summary"]["conversations"]
    assert (api.errors, api.warnings) == (doc["summary"]["errors"], doc["summary"]["warnings"])


@pytest.mark.parametrize("code", sorted(c for c, ex in EXAMPLES.items()
                                        # QL005's example is a Python value that raises when read
                                        if not isinstance(ex.positive, File) and c != "QL005"))
def test_api_matches_cli_on_rule_examples(code, tmp_path):
    ex = EXAMPLES[code]
    _same(ex.positive, ex.options, tmp_path, "positive.json")
    _same(ex.negative, ex.options if ex.negative_options is None else ex.negative_options,
          tmp_path, "negative.json")


_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5))
_json = st.recursive(_scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(
        ["role", "content", "type", "text", "image", "video", "messages", "x"]), kids, max_size=3)),
    max_leaves=10)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.one_of(native_conversation, native_batch, openai_conversation, _json),
       st.sampled_from([{}, {"target": "transformers"}, {"target": "vllm"},
                        {"family": "qwen3-vl"}]))
def test_api_matches_cli_on_generated_values(tmp_path, value, options):
    _same(value, options, tmp_path)


def test_api_does_not_touch_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    qwenlint.check([{"role": "user", "content": [{"type": "image", "image": "a.jpg"}]}])
    assert os.listdir(tmp_path) == []


def test_validate_raises_one_clear_error_listing_every_problem():
    bad = [{"role": "user", "content": [{"type": "视频", "视频": "https://example.com/a.mp4"},
                                        {"type": "text", "text": "what happens?"}]},
           {"role": "assistant", "content": 5}]
    with pytest.raises(qwenlint.InvalidInputError) as info:
        qwenlint.validate(bad, family="qwen2.5-vl")
    err = info.value
    assert isinstance(err, ValueError)
    assert {"QL202", "QL107"} <= {d.rule for d in err.diagnostics}
    text = str(err)
    assert "QL202 translated-keys at /0/content/0" in text and "QL107" in text
    assert "fix: write it as" in text


def test_validate_passes_clean_input_and_ignores_warnings():
    clean = [{"role": "user", "content": [{"type": "image", "image": "https://example.com/a.jpg"},
                                          {"type": "text", "text": "Describe."}]}]
    assert qwenlint.validate(clean) is None
    # A warning (an option transformers ignores) does not raise.
    warn = [{"role": "user", "content": [{"type": "image", "image": "https://example.com/a.jpg",
                                          "max_pixels": 200704}, {"type": "text", "text": "x"}]}]
    assert any(d.severity is qwenlint.Severity.WARNING
               for d in qwenlint.check(warn, target="transformers").diagnostics)
    assert qwenlint.validate(warn, target="transformers") is None


# --- in-memory media (the usual qwen-vl-utils / transformers usage); the real libraries' side is
# tests/differential/test_api_memory.py


def _rules(result) -> list[str]:
    return sorted(d.rule for d in result.diagnostics)


@pytest.mark.parametrize("target", ["qwen-vl-utils", "transformers"])
def test_pil_images_and_frames_are_read_in_memory(target, tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    im = Image.new("RGB", (640, 480))
    image = [{"role": "user", "content": [{"type": "image", "image": im}, {"type": "text", "text": "hi"}]}]
    video = [{"role": "user", "content": [{"type": "video", "video": [im] * 4}, {"type": "text", "text": "hi"}]}]
    assert _rules(qwenlint.check(image, family="qwen2.5-vl", target=target)) == []
    assert _rules(qwenlint.check(video, family="qwen2.5-vl", target=target)) == []
    # read for facts: 391 tokens each (644 x 476 -> 46 x 34 patches), so 30 of them overflow 8k
    many = [{"role": "user", "content": [{"type": "image", "image": im}] * 30}]
    assert "QL501" in _rules(qwenlint.check(many, family="qwen2.5-vl", target=target, max_model_len=8000))
    assert os.listdir(tmp_path) == []  # nothing written


def test_arrays_are_images_for_transformers_and_a_crash_for_qwen_vl_utils():
    np = pytest.importorskip("numpy")
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    value = [{"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "hi"}]}]
    assert _rules(qwenlint.check(value, family="qwen2.5-vl", target="transformers")) == []
    assert "QL501" in _rules(qwenlint.check(value, family="qwen2.5-vl", target="transformers", max_model_len=300))
    (crash,) = qwenlint.check(value, family="qwen2.5-vl", target="qwen-vl-utils").diagnostics
    assert crash.rule == "QL206" and crash.fix is None and "PIL.Image.fromarray" in crash.help
    five = [{"role": "user", "content": [{"type": "image", "image": np.zeros((48, 64, 5))}]}]
    (err,) = qwenlint.check(five, family="qwen2.5-vl", target="transformers").diagnostics
    assert err.rule == "QL407" and "Unable to infer channel dimension format" in err.message and "channels" in err.help


def test_an_unread_in_memory_object_is_a_diagnostic_not_an_internal_error():
    """qwen-vl-utils' fetch_image calls .startswith on anything but a string or a PIL image."""
    np = pytest.importorskip("numpy")
    value = [{"role": "user", "content": [{"type": "image", "image": np.zeros((4, 4, 3))},
                                          {"type": "text", "text": "hi"}]}]
    found = qwenlint.check(value, family="qwen2.5-vl", target="qwen-vl-utils").diagnostics
    crash = [d for d in found if d.rule == "QL206"]
    assert crash and "'ndarray' object has no attribute 'startswith'" in crash[0].message
