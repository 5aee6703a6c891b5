"""The media stage: facts for parts, frame lists and dataset entries, through one cache per run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "media"))

from mediasynth import have_av, make_image, make_video  # noqa: E402
import pytest  # noqa: E402
from _stages import run_stages as _ctx  # noqa: E402

from qwenlint.engine import Engine, run_serial  # noqa: E402
from qwenlint.media import ImageFacts, MediaError, VideoFacts  # noqa: E402
from qwenlint.options import Options  # noqa: E402




def test_image_part_probed_relative_to_base_dir(tmp_path):
    make_image(str(tmp_path / "a.png"), 64, 48)
    ctx = _ctx(tmp_path, [{"role": "user", "content": [{"type": "image", "image": "a.png"}]}])
    f = ctx.facts["/0/content/0"]
    assert isinstance(f, ImageFacts) and (f.width, f.height) == (64, 48)
    [src] = ctx.sources
    assert src.pointer == "/0/content/0/image" and src.source.resolved == str(tmp_path / "a.png")


def test_missing_and_remote_are_values_not_exceptions(tmp_path):
    ctx = _ctx(tmp_path, [{"role": "user", "content": [
        {"type": "image", "image": "nope.png"}, {"type": "image", "image": "https://x/a.jpg"}]}])
    assert ctx.facts["/0/content/0"].code == "not-found"
    assert ctx.facts["/0/content/1"].code == "remote"


def test_frame_list_one_fact_per_frame(tmp_path):
    make_image(str(tmp_path / "f1.png"), 32, 32)
    ctx = _ctx(tmp_path, [{"role": "user", "content": [{"type": "video", "video": ["f1.png", "f2.png"]}]}])
    facts = ctx.facts["/0/content/0"]
    assert isinstance(facts, list) and isinstance(facts[0], ImageFacts)
    assert isinstance(facts[1], MediaError) and facts[1].code == "not-found"


def test_cache_is_per_run_and_shared_between_records(tmp_path):
    make_image(str(tmp_path / "a.png"), 16, 16)
    (tmp_path / "d.jsonl").write_text("\n".join(
        '[{"role": "user", "content": [{"type": "image", "image": "a.png"}]}]' for _ in range(5)))
    engine = Engine(Options())
    run_serial(engine, [str(tmp_path / "d.jsonl")])
    cache = engine.run.media
    assert cache.misses == 1 and len(cache) == 1  # probed once for the five records


def test_dataset_media_column_probed(tmp_path):
    make_image(str(tmp_path / "x.png"), 20, 10)
    rec = {"image": "x.png", "conversations": [{"from": "human", "value": "<image>\nhi"},
                                                {"from": "gpt", "value": "ok"}]}
    ctx = _ctx(tmp_path, [rec], target="qwen-finetune")
    assert isinstance(ctx.facts["/0/image"], ImageFacts)


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_video_part_probed(tmp_path):
    make_video(str(tmp_path / "v.mp4"), 64, 48, 10, 20)
    ctx = _ctx(tmp_path, [{"role": "user", "content": [{"type": "video", "video": "v.mp4"}]}])
    f = ctx.facts["/0/content/0"]
    assert isinstance(f, VideoFacts) and f.num_frames == 20


def test_text_only_has_no_items(tmp_path):
    ctx = _ctx(tmp_path, [{"role": "user", "content": "hello"}])
    assert ctx.media == [] and ctx.sources == []
