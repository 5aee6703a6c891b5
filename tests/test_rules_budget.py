"""QL5xx: the token budget, and the accounting behind it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "media"))

from mediasynth import have_av, make_image, make_video  # noqa: E402
import pytest  # noqa: E402

import qwenlint  # noqa: E402
from qwenlint import textcount  # noqa: E402


def _hits(value, tmp_path, code, **opts):
    r = qwenlint.check(value, base_dir=str(tmp_path), **opts)
    return [d for d in r.diagnostics if d.rule == code]


def _conv(*parts):
    return [{"role": "user", "content": [*parts, {"type": "text", "text": "describe"}]}]


def test_ql501_points_at_the_part_that_runs_past_and_suggests_max_pixels(tmp_path):
    make_image(str(tmp_path / "a.png"), 1920, 1080)
    make_image(str(tmp_path / "b.png"), 1920, 1080)
    v = _conv({"type": "image", "image": "a.png"}, {"type": "image", "image": "b.png"})
    hits = _hits(v, tmp_path, "QL501", max_model_len=3000)  # 2 x 2646 tokens
    assert [d.pointer for d in hits] == ["/0/content/1"]
    assert "max_pixels=" in hits[0].help
    assert not _hits(v, tmp_path, "QL501", max_model_len=8000)
    assert not _hits(v, tmp_path, "QL501")  # no budget given


def test_ql501_suggestion_fits(tmp_path):
    from qwenlint.rules.budget import _search

    assert _search(1, 100, lambda n: n <= 37) == 37
    assert _search(5, 100, lambda n: False) is None


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_ql501_qwen_finetune_video_keeps_every_frame(tmp_path):
    make_video(str(tmp_path / "v.mp4"), 480, 320, 25, 128)
    rec = {"video": "v.mp4", "conversations": [{"from": "human", "value": "<video>\nq"},
                                               {"from": "gpt", "value": "a"}]}
    hits = _hits([rec], tmp_path, "QL501", family="qwen2.5-vl", target="qwen-finetune", max_model_len=8192,
                 assume=("transformers==4.57.6",))  # qwen-vl-finetune's pin: its data arguments apply
    assert [d.pointer for d in hits] == ["/0/video"] and "17920 vision" in hits[0].message
    assert "do_sample_frames=True" in hits[0].help and "video_*/max_pixels data arguments" in hits[0].help
    hits = _hits([rec], tmp_path, "QL501", family="qwen2.5-vl", target="qwen-finetune", max_model_len=8192,
                 assume=("transformers==5.23.0",))  # 5.4 and later: never written into the processor
    assert "11968 vision" in hits[0].message and "never written into the processor" in hits[0].help


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
@pytest.mark.parametrize("media_io", [None, {"video": {"video_backend": "opencv"}}])
def test_ql501_vllm_suggests_the_loader_setting_that_fits(tmp_path, family, media_io):
    """Through vLLM only its video loader decides the frames: the suggestion is a --media-io-kwargs
    value, and with that value the conversation fits."""
    import json
    import re

    make_video(str(tmp_path / "v.mp4"), 480, 320, 25, 250)
    conv = _conv({"type": "video_url", "video_url": {"url": (tmp_path / "v.mp4").as_uri()}})
    hits = _hits(conv, tmp_path, "QL501", family=family, max_model_len=1000, media_io_kwargs=media_io)
    assert [d.pointer for d in hits] == ["/0/content/0"]
    m = re.search(r"--media-io-kwargs '(.*)' fits", hits[0].help)
    assert m, hits[0].help
    suggested = json.loads(m.group(1))
    assert set(suggested["video"]) - {"video_backend"} == {"num_frames" if media_io else "max_frames"}
    assert not _hits(conv, tmp_path, "QL501", family=family, max_model_len=1000, media_io_kwargs=suggested)


def test_ql501_text_alone(tmp_path):
    v = [{"role": "user", "content": "word " * 4000}]
    hits = _hits(v, tmp_path, "QL501", max_model_len=100)
    assert hits and hits[0].pointer == "" and "≈" in hits[0].message


def test_ql502_media_token_heavy(tmp_path):
    make_image(str(tmp_path / "big.png"), 7680, 4320)
    assert not _hits(_conv({"type": "image", "image": "big.png"}), tmp_path, "QL502")  # capped at 16384
    if have_av():
        make_video(str(tmp_path / "v.mp4"), 640, 480, 30, 300)
        hits = _hits(_conv({"type": "video", "video": "v.mp4"}), tmp_path, "QL502", target="transformers")
        assert hits and "300 frames" in hits[0].message
        assert not _hits(_conv({"type": "video", "video": "v.mp4"}), tmp_path, "QL502", target="qwen-vl-utils")


def test_textcount_estimate():
    assert textcount.estimate("") == 0
    assert textcount.estimate("abcd" * 10) == 10
    assert textcount.estimate("<|im_start|>user") == 1 + 2
    assert textcount.estimate("你好") == 2
    assert not textcount.load_tokenizer(None).exact


def test_ql207_points_vllm_frame_options_at_media_io_kwargs(tmp_path):
    """Through vLLM, pixel budgets belong in mm_processor_kwargs but frame sampling in the
    server's --media-io-kwargs (its video loader samples before the processor runs)."""
    part = {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}, "fps": 1, "max_pixels": 50176}
    hits = {d.pointer.rsplit("/", 1)[1]: d.help for d in _hits(_conv(part), tmp_path, "QL207")}
    assert "--media-io-kwargs" in hits["fps"] and "mm_processor_kwargs" not in hits["fps"]
    assert "mm_processor_kwargs" in hits["max_pixels"]


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_llamafactory_never_reads_a_video_sound_track(tmp_path):
    """--use-audio-in-video is transformers' load_audio_from_video: LLaMA-Factory never decodes a
    video's sound track (its own use_audio_in_video pairs videos with audios entries), so its
    video pads stay the video's alone; transformers' grow by the track's."""
    from qwenlint.options import Options
    from qwenlint.tokens import collect

    make_video(str(tmp_path / "v.mp4"), 64, 64, 2, 8, audio=True)
    record = {"messages": [{"role": "user", "content": "<video>What?"}, {"role": "assistant", "content": "ok"}],
              "videos": ["v.mp4"]}
    path = tmp_path / "d.json"
    path.write_text(__import__("json").dumps([record]))

    def video_tokens(target: str, flag: bool) -> int:
        parts = collect([str(path)], Options(target=target, family="qwen2.5-omni", use_audio_in_video=flag,
                                             media_root=str(tmp_path))).document()["parts"]
        return sum(p["tokens"] or 0 for p in parts if p["kind"] == "video")

    assert video_tokens("llamafactory", True) == video_tokens("llamafactory", False) > 0
    assert video_tokens("transformers", True) > video_tokens("transformers", False)
