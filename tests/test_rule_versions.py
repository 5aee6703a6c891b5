"""Every release span a rule documents (``Rule.versions``, docs/rules.md "Versions") holds: the rule
fires on one side of the bound and not on the other, for the same input, through the whole check.

Each span has one case below (the meta test fails when a span has none): an input, the options, a
release inside the span and one outside it.  The consumer models themselves are proven against the
real releases by tests/differential (test_vision_qvu_versions.py, test_vision_transformers_versions.py,
test_vllm_request.py); this test proves the rule and its documentation read those models right.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.version import Version

from qwenlint.consumers.versions import MODELLED
from qwenlint.consumers.vllm.server import AUDIO_MODELLED
from qwenlint.rules import REGISTRY

sys.path.insert(0, str(Path(__file__).resolve().parent / "media"))
from mediasynth import have_av, make_image, make_png_header, make_video, make_wav  # noqa: E402


@dataclass(frozen=True)
class Case:
    code: str
    span: int  # the index in the rule's ``versions``
    record: object
    options: tuple[str, ...]
    inside: str  # a release in the span: the rule fires with ``expect`` in its message
    outside: str  # a release outside it: it does not
    expect: str
    video: bool = False  # needs PyAV to write the media


def _user(*parts: dict) -> list:
    return [{"role": "user", "content": [*parts, {"type": "text", "text": "what is this?"}]}]


CASES = [
    Case("QL407", 0, _user({"type": "image", "image": "a.png"}),
         ("--target", "qwen-vl-utils", "--family", "qwen3-vl"), "0.0.11", "0.0.13", "image_patch_size"),
    Case("QL407", 1, _user({"type": "image", "image": "a.png", "min_pixels": 200000, "max_pixels": 50000}),
         ("--target", "qwen-vl-utils", "--family", "qwen2.5-vl"), "0.0.13", "0.0.11", "AssertionError"),
    Case("QL407", 2, _user({"type": "video", "video": "clip.mp4", "video_start": 0.5}),
         ("--target", "qwen-vl-utils", "--family", "qwen2.5-vl"), "0.0.10", "0.0.11",
         "NotImplementedError: not support start_pts and end_pts", video=True),
    Case("QL407", 3, _user({"type": "video", "video": "tiny.mp4"}),
         ("--target", "transformers", "--family", "qwen3-vl"), "5.14.1", "5.15.0", "must be larger than factor:32",
         video=True),
    Case("QL407", 4, _user({"type": "video", "video": "one.mp4"}),
         ("--target", "transformers", "--family", "qwen3-vl"), "5.15.0", "5.14.1", "t:1 must be larger",
         video=True),
    Case("QL407", 5, _user({"type": "video", "video": "one.mp4"}),
         ("--target", "transformers", "--family", "qwen3-vl"), "4.57.6", "5.1.0", "t:1 must be larger",
         video=True),
    Case("QL407", 6, _user({"type": "image", "image": "thin.png"}),
         ("--target", "transformers", "--family", "qwen2.5-vl"), "5.3.0", "5.4.0", "mean must have 1 elements"),
    Case("QL407", 6, _user({"type": "image", "image": "thin.png"}),
         ("--target", "transformers", "--family", "qwen2.5-vl"), "5.0.0", "4.57.6", "mean must have 1 elements"),
    # the Omni README's process_mm_info + processor(..., use_audio_in_video=True) on a video with sound
    Case("QL407", 7, _user({"type": "video", "video": "loud.mp4"}),
         ("--target", "qwen-omni-utils", "--family", "qwen2.5-omni", "--use-audio-in-video"), "5.23.0", "5.22.2",
         "The total number of <|AUDIO|> tokens", video=True),
    # LLaMA-Factory 0.9.5 reads the stream's average rate, which a one-frame MPEG-TS does not have
    Case("QL407", 8, [{"conversations": [{"from": "human", "value": "<video>what?"}, {"from": "gpt", "value": "a"}],
                       "videos": ["one.ts"]}],
         ("--target", "llamafactory", "--family", "qwen2.5-vl"), "0.9.5", "0.9.4", "TypeError: float()", video=True),
    # transformers' load_audio decodes with torchcodec from 4.56 (before: librosa)
    Case("QL407", 9, _user({"type": "audio", "audio": "partial.wav"}),
         ("--target", "transformers", "--family", "qwen2.5-omni"), "4.56.2", "4.55.4", "Invalid data found"),
    Case("QL413", 0, _user({"type": "image", "image": "a.png"}),
         ("--target", "transformers", "--family", "qwen3-vl"), "4.56.2", "4.57.6", "does not know the qwen3-vl model"),
    Case("QL413", 1, _user({"type": "image", "image": "a.png"}),
         ("--target", "transformers", "--family", "qwen3-omni"), "4.55.4", "4.57.6", "does not know the qwen3-omni model"),
    Case("QL413", 2, _user({"type": "image", "image": "a.png"}),
         ("--target", "llamafactory", "--family", "qwen3.5"), "5.1.0", "5.2.0", "does not know the qwen3.5 model"),
    Case("QL413", 3, _user({"type": "image", "image": "a.png"}),
         ("--target", "transformers", "--family", "qwen3.6"), "5.1.0", "5.2.0", "does not know the qwen3.6 model"),
    Case("QL413", 4, _user({"type": "image", "image": "a.png"}),
         ("--target", "transformers", "--family", "qwen4-exp"), "5.15.1", "5.16.0",
         "does not know the qwen4-exp model (model_type 'qwen4_exp', added in 5.16.0)"),
    Case("QL112", 0, [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
         ("--target", "transformers", "--family", "qwen2.5-vl"), "5.6.0", "5.7.0", "string indices must be integers"),
    Case("QL206", 0, [{"role": "user", "content": [{"text": "what is this?"}, {"type": "image", "image": "a.png"}]}],
         ("--target", "qwen-vl-utils", "--family", "qwen2.5-vl"), "0.0.10", "0.0.11", "KeyError: 'type'"),
    Case("QL304", 0, _user({"type": "image_url", "image_url": {"url": "a.png"}}),
         ("--target", "transformers", "--family", "qwen2.5-vl"), "5.1.0", "5.2.0", "loads no image for an image_url"),
    Case("QL211", 0, {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": []},
         ("--target", "vllm"), "0.33.0", "0.34.0", "`tools` must not be an empty array"),
    Case("QL211", 1, {"model": "m", "messages": [{"role": "user", "content": "hi"}], "mm_processor_kwargs": {"max_pixels": 200704}},
         ("--target", "vllm"), "0.31.0", "0.30.0", "Per-request mm_processor_kwargs are disabled"),
    # vLLM 0.30 looks the loader up before it reads the URL (0.31: the URL's own 400)
    Case("QL211", 2, {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": "clip.mp4"}}, {"type": "text", "text": "hi"}]}]},
         ("--target", "vllm", "--family", "qwen2.5-vl", "--assume", "transformers==5.20.2"), "0.30.0", "0.31.0",
         "unhashable type: 'dict'"),
    # 0.23 has no model_type fallback in its lookup (and no Qwen loader to find)
    Case("QL211", 2, {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": "clip.mp4"}}, {"type": "text", "text": "hi"}]}]},
         ("--target", "vllm", "--family", "qwen2.5-vl", "--assume", "transformers==5.20.2"), "0.24.0", "0.23.0",
         "unhashable type: 'dict'"),
    # the loader is built before the URL is read (0.24: the URL's own 400)
    Case("QL211", 3, {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": "clip.mp4"}}]}],
        "media_io_kwargs": {"video": {"video_backend": "qwen3_vl"}}},
         ("--target", "vllm", "--family", "qwen3-vl"), "0.23.0", "0.24.0", "Extension class qwen3_vl not found"),
]


def test_every_span_has_a_case_and_its_bounds_are_modelled() -> None:
    spans = {(code, i) for code, r in REGISTRY.items() for i in range(len(r.versions))}
    assert spans == {(c.code, c.span) for c in CASES}
    for code, i in spans:
        span = REGISTRY[code].versions[i]
        lo, hi = (Version(v) for v in MODELLED[span.package])
        assert span.since or span.until, (code, i)
        for bound in (span.since, span.until):
            assert bound is None or lo < Version(bound) <= hi, (code, span)  # a branch inside the range
        if span.since and span.until:
            assert Version(span.since) < Version(span.until)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.code}-{c.span}")
def test_the_rule_fires_inside_the_span_only(case: Case, cli, tmp_path) -> None:
    span = REGISTRY[case.code].versions[case.span]
    inside, outside = Version(case.inside), Version(case.outside)
    assert span.since is None or Version(span.since) <= inside
    assert span.until is None or inside < Version(span.until)
    # outside: below the span or at/after its end (a span with both bounds has a case for each side)
    assert (span.since and outside < Version(span.since)) or (span.until and Version(span.until) <= outside)
    if case.video and not have_av():
        pytest.skip("PyAV writes the test videos")
    make_image(str(tmp_path / "a.png"), 300, 200)
    make_image(str(tmp_path / "thin.png"), 40, 1)
    make_wav(str(tmp_path / "partial.wav"), 16000, 48000, extra=1)  # data that ends inside a block
    if case.video:
        make_video(str(tmp_path / "tiny.mp4"), 16, 16, 2, 8)
        make_video(str(tmp_path / "one.mp4"), 64, 64, 2, 1)
        make_video(str(tmp_path / "clip.mp4"), 64, 64, 2, 8)
        make_video(str(tmp_path / "loud.mp4"), 64, 64, 2, 8, audio=True)
        make_video(str(tmp_path / "one.ts"), 64, 64, 3, 1)
    f = tmp_path / "input.json"
    f.write_text(json.dumps(case.record))

    def messages(release: str) -> list[str]:
        r = cli("check", str(f), *case.options, "--assume", f"{span.package}=={release}", "--isolated",
                "--format", "json")
        assert r.exit_code in (0, 1), r.output
        doc = json.loads(r.output)
        assert f"{span.package} {release} (--assume)" in doc["assumed"]
        return [d["message"] for d in doc["diagnostics"] if d["rule"] == case.code]

    assert any(case.expect in m for m in messages(case.inside)), messages(case.inside)
    assert not any(case.expect in m for m in messages(case.outside))


def test_an_uncapped_qwen_loader_is_unknown_before_vllm_0_30(cli, tmp_path) -> None:
    """vLLM 0.24 to 0.29 take a request's fps above 30 as given (0.30 caps it): QL214, not a count."""
    if not have_av():
        pytest.skip("PyAV writes the test video")
    make_video(str(tmp_path / "clip.mp4"), 64, 64, 2, 8)
    f = tmp_path / "input.json"
    f.write_text(json.dumps({"model": "m", "media_io_kwargs": {"video": {"fps": 60}}, "messages": [{"role": "user", "content": [
        {"type": "video_url", "video_url": {"url": f"file://{tmp_path}/clip.mp4"}}]}]}))

    def unknown(release: str) -> list[str]:
        r = cli("check", str(f), "--target", "vllm", "--family", "qwen2.5-vl", "--assume", f"vllm=={release}",
                "--assume", "transformers==5.17.0", "--vllm-args", f"--allowed-local-media-path {tmp_path}", "--isolated", "--format", "json")
        assert r.exit_code in (0, 1), r.output
        return [d["message"] for d in json.loads(r.output)["diagnostics"] if d["rule"] == "QL214"]

    assert any("0.30 caps them" in m for m in unknown("0.29.0"))
    assert not unknown("0.30.0") and not unknown("0.23.0")  # 0.23: the opencv loader, which has no cap


def test_vllm_audio_is_predicted_from_0_30_only(cli, tmp_path) -> None:
    """vLLM 0.30 resamples audio with torchaudio (modelled: ``AUDIO_MODELLED``); before, with PyAV:
    no token count, and the report says why instead of "not loaded"."""
    make_wav(str(tmp_path / "a.wav"), 16000, 48000)
    f = tmp_path / "input.json"
    f.write_text(json.dumps({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "audio_url", "audio_url": {"url": f"file://{tmp_path}/a.wav"}}]}]}))

    def row(release: str) -> dict:
        r = cli("tokens", str(f), "--target", "vllm", "--family", "qwen2.5-omni", "--assume", f"vllm=={release}",
                "--vllm-args", f"--allowed-local-media-path {tmp_path}", "--format", "json")
        assert r.exit_code == 0, r.output
        return json.loads(r.output)["parts"][0]

    assert row(AUDIO_MODELLED)["tokens"] == 75  # 3 s: 300 frames, 75 tokens
    before = row("0.29.0")
    assert before["tokens"] is None and "PyAV" in before["note"] and AUDIO_MODELLED in before["note"]


def test_a_loaded_item_without_a_prediction_makes_the_answer_unknown(cli, tmp_path) -> None:
    """A PNG header sent as a video: the server loads it, but to a video probe its header gives the
    frames no size, so qwenlint predicts nothing (vLLM 0.33 answers 500 "division by zero",
    test_vllm_request): QL214 says why, at the part, instead of a clean report; ``tokens`` gives
    the same reason."""
    make_png_header(str(tmp_path / "still.png"), 64, 48)
    f = tmp_path / "input.json"
    f.write_text(json.dumps({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "what moves?"},
        {"type": "video_url", "video_url": {"url": f"file://{tmp_path}/still.png"}}]}]}))
    args = ("--target", "vllm", "--family", "qwen2.5-vl", "--assume", "vllm==0.33.0",
            "--vllm-args", f"--allowed-local-media-path {tmp_path}", "--format", "json")
    r = cli("check", str(f), *args, "--isolated")
    assert r.exit_code in (0, 1), r.output
    unknown = [d for d in json.loads(r.output)["diagnostics"] if d["rule"] == "QL214"]
    assert len(unknown) == 1 and "frame size" in unknown[0]["message"], unknown
    assert unknown[0]["pointer"] == "/messages/0/content/1", unknown
    r = cli("tokens", str(f), *args)
    assert r.exit_code == 0, r.output
    part = json.loads(r.output)["parts"][0]
    assert part["tokens"] is None and "frame size" in part["note"], part


def test_a_wav_that_ends_inside_a_block_stops_transformers_only(cli, tmp_path) -> None:
    """transformers' load_audio (torchcodec, from 4.56: the QL407 span) raises on a WAV whose data
    ends inside a block (test_audio_facts runs torchcodec on such files); the fix names a command
    that rewrites it; qwen-omni-utils (librosa) reads the whole blocks."""
    make_wav(str(tmp_path / "a.wav"), 16000, 48000, extra=1)
    f = tmp_path / "input.json"
    f.write_text(json.dumps([{"role": "user", "content": [{"type": "audio", "audio": str(tmp_path / "a.wav")},
                                                           {"type": "text", "text": "what is said?"}]}]))

    def errors(target: str, transformers: str) -> list[dict]:
        r = cli("check", str(f), "--family", "qwen2.5-omni", "--target", target, "--assume",
                f"transformers=={transformers}", "--isolated", "--format", "json")
        assert r.exit_code in (0, 1), r.output
        return [d for d in json.loads(r.output)["diagnostics"] if d["rule"] == "QL407"]

    got = errors("transformers", "5.23.0")
    assert len(got) == 1 and "Invalid data found" in got[0]["message"] and "ffmpeg -i" in got[0]["help"], got
    assert not errors("qwen-omni-utils", "5.23.0")
    if shutil.which("ffmpeg"):  # the fix, applied
        wav = tmp_path / "a.wav"
        subprocess.run(["ffmpeg", "-loglevel", "quiet", "-y", "-i", str(wav), str(tmp_path / "b.wav")], check=True)
        (tmp_path / "b.wav").replace(wav)
        assert not errors("transformers", "5.23.0")
