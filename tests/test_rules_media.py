"""QL4xx: one positive and one negative case per media / geometry rule."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "media"))

from mediasynth import have_av, make_image, make_video  # noqa: E402
import pytest  # noqa: E402

import qwenlint  # noqa: E402


def _codes(value, tmp_path, code, **opts):
    r = qwenlint.check(value, base_dir=str(tmp_path), **opts)
    return [(d.pointer, d.severity.value, d.message) for d in r.diagnostics if d.rule == code]


def _conv(*parts):
    return [{"role": "user", "content": [*parts, {"type": "text", "text": "describe"}]}]


def _png(w=8, h=8) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h)).save(buf, "PNG")
    return buf.getvalue()


def test_ql401_media_not_found(tmp_path):
    hits = _codes(_conv({"type": "image", "image": "imgs/cat.jpg"}), tmp_path, "QL401")
    assert [h[0] for h in hits] == ["/0/content/0/image"]
    make_image(str(tmp_path / "cat.jpg"), 32, 32)
    assert not _codes(_conv({"type": "image", "image": "cat.jpg"}), tmp_path, "QL401")


def test_ql401_frame_of_frame_list(tmp_path):
    make_image(str(tmp_path / "f1.jpg"), 32, 32)
    hits = _codes(_conv({"type": "video", "video": ["f1.jpg", "f2.jpg"]}), tmp_path, "QL401")
    assert [h[0] for h in hits] == ["/0/content/0/video/1"]


def test_ql402_media_unreadable(tmp_path):
    (tmp_path / "a.jpg").write_text("not an image")
    assert _codes(_conv({"type": "image", "image": "a.jpg"}), tmp_path, "QL402")
    make_image(str(tmp_path / "b.jpg"), 32, 32)
    assert not _codes(_conv({"type": "image", "image": "b.jpg"}), tmp_path, "QL402")


def test_ql403_invalid_data_uri(tmp_path):
    bad = "data:image/png;base64,iVBORw0KGgo!!!"
    assert _codes(_conv({"type": "image", "image": bad}), tmp_path, "QL403")
    good = "data:image/png;base64," + base64.b64encode(_png()).decode()
    assert not _codes(_conv({"type": "image", "image": good}), tmp_path, "QL403")


def test_ql403_bare_data_image_rejected_by_transformers_only(tmp_path):
    bare = "data:image;base64," + base64.b64encode(_png()).decode()
    hits = _codes(_conv({"type": "image", "image": bare}), tmp_path, "QL403", target="transformers")
    assert hits and "Incorrect image source" in hits[0][2]
    assert not _codes(_conv({"type": "image", "image": bare}), tmp_path, "QL403", target="qwen-vl-utils")


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_ql404_video_file_url_relative(tmp_path):
    make_video(str(tmp_path / "clip.mp4"), 64, 48, 10, 8)
    hits = _codes(_conv({"type": "video", "video": "file://clip.mp4"}), tmp_path, "QL404")
    assert hits and hits[0][0] == "/0/content/0/video" and "/clip.mp4" in hits[0][2]
    assert not _codes(_conv({"type": "video", "video": f"file://{tmp_path}/clip.mp4"}), tmp_path, "QL404")
    # the image spelling is fine: qwen-vl-utils cuts file:// off
    make_image(str(tmp_path / "a.jpg"), 32, 32)
    assert not _codes(_conv({"type": "image", "image": "file://a.jpg"}), tmp_path, "QL404")


def test_ql405_image_bomb(tmp_path):
    from PIL import Image

    Image.new("1", (10000, 9000)).save(tmp_path / "big.png")  # 90 M pixels, tiny file
    hits = _codes(_conv({"type": "image", "image": "big.png"}), tmp_path, "QL405")
    assert hits and hits[0][1] == "warning"
    make_image(str(tmp_path / "small.png"), 100, 100)
    assert not _codes(_conv({"type": "image", "image": "small.png"}), tmp_path, "QL405")


def test_ql406_remote_only_with_budget(tmp_path):
    v = _conv({"type": "image", "image": "https://x/a.jpg"})
    assert _codes(v, tmp_path, "QL406", max_model_len=4096)
    assert not _codes(v, tmp_path, "QL406")


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_ql407_seed_d_implicit_min(tmp_path):
    make_video(str(tmp_path / "clip.mp4"), 320, 240, 24, 48)
    part = {"type": "video", "video": "clip.mp4", "max_pixels": 50176, "fps": 12.0}
    hits = _codes(_conv(part), tmp_path, "QL407", family="qwen2-vl", target="qwen-vl-utils")
    assert hits and hits[0][0] == "/0/content/0"
    assert "AssertionError: The max_pixels of image must be greater than or equal to min_pixels." in hits[0][2]
    assert not _codes(_conv({**part, "min_pixels": 3136}), tmp_path, "QL407", family="qwen2-vl")


def test_ql407_aspect_ratio(tmp_path):
    make_image(str(tmp_path / "thin.png"), 5000, 20)
    hits = _codes(_conv({"type": "image", "image": "thin.png"}), tmp_path, "QL407")
    assert hits and "aspect ratio" in hits[0][2]
    make_image(str(tmp_path / "ok.png"), 500, 20)
    assert not _codes(_conv({"type": "image", "image": "ok.png"}), tmp_path, "QL407")


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_ql407_masked_torchvision_error(tmp_path):
    make_video(str(tmp_path / "v.mp4"), 64, 48, 10, 20)
    hits = _codes(_conv({"type": "video", "video": "v.mp4", "fps": 2, "nframes": 4}), tmp_path, "QL407")
    assert hits and "fps" in hits[0][2]


def test_ql408_budget_28_for_patch_16(tmp_path):
    make_image(str(tmp_path / "a.png"), 640, 480)
    part = {"type": "image", "image": "a.png", "max_pixels": 256 * 28 * 28}
    hits = _codes(_conv(part), tmp_path, "QL408", family="qwen3-vl")
    assert [h[0] for h in hits] == ["/0/content/0/max_pixels"]
    assert not _codes(_conv(part), tmp_path, "QL408", family="qwen2.5-vl")
    help_ = next(d.help for d in qwenlint.check(_conv(part), base_dir=str(tmp_path), family="qwen3-vl").diagnostics
                 if d.rule == "QL408")
    assert help_ == 'write "max_pixels": 262144 (256*32*32) to keep 256 tokens'
    fixed = {**part, "max_pixels": 262144}  # the help applied: the finding goes away
    assert not _codes(_conv(fixed), tmp_path, "QL408", family="qwen3-vl")


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_ql409_qwen3_frames_without_fps(tmp_path):
    make_video(str(tmp_path / "v.mp4"), 64, 48, 10, 20)
    rec = {"messages": [{"role": "user", "content": "<video>hi"}, {"role": "assistant", "content": "ok"}],
           "videos": ["v.mp4"]}
    # LLaMA-Factory hands pre-sampled frames to the Qwen3-VL processor without their fps
    assert _codes([rec], tmp_path, "QL409", family="qwen3-vl", target="llamafactory")
    assert not _codes(_conv({"type": "video", "video": "v.mp4"}), tmp_path, "QL409", family="qwen3-vl")


def test_ql410_double_resize(tmp_path):
    make_image(str(tmp_path / "tiny.png"), 40, 40)
    part = {"type": "image", "image": "tiny.png", "min_pixels": 784, "max_pixels": 784}
    hits = _codes(_conv(part), tmp_path, "QL410", family="qwen2.5-vl")
    assert hits and "56x56" in hits[0][2]
    assert not _codes(_conv({"type": "image", "image": "tiny.png"}), tmp_path, "QL410", family="qwen2.5-vl")


def test_ql411_option_ignored_for_kind(tmp_path):
    make_image(str(tmp_path / "f1.png"), 64, 64)
    part = {"type": "video", "video": ["f1.png", "f1.png"], "fps": 1}
    hits = _codes(_conv(part), tmp_path, "QL411")
    assert [h[0] for h in hits] == ["/0/content/0/fps"]
    assert not _codes(_conv({**{k: v for k, v in part.items() if k != "fps"}, "sample_fps": 1}),
                      tmp_path, "QL411")


def test_ql412_model_config_unreadable(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{oops")
    assert _codes(_conv(), tmp_path, "QL412", model=str(tmp_path / "m"))
    assert not _codes(_conv(), tmp_path, "QL412")


def test_ql412_names_the_class_it_does_not_know(tmp_path):
    """A model type qwenlint never saw is read from the processor classes its files name; a class
    it does not model is named in the finding, not the model type."""
    import json

    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"model_type": "qwen_unseen_vl", "image_token_id": 248056}))
    (d / "chat_template.jinja").write_text("{% for m in messages %}{{ m.role }}{% endfor %}")
    processor = {"processor_class": "Qwen3VLProcessor", "image_processor": {"image_processor_type": "Qwen2VLImageProcessor",
                 "patch_size": 16}, "video_processor": {"video_processor_type": "Qwen3VLVideoProcessor"}}
    (d / "processor_config.json").write_text(json.dumps(processor))
    assert not _codes(_conv(), tmp_path, "QL412", model=str(d))
    (d / "processor_config.json").write_text(json.dumps({**processor, "processor_class": "Qwen9Processor"}))
    [(_, severity, message)] = _codes(_conv(), tmp_path, "QL412", model=str(d))
    assert severity == "error" and "processor class Qwen9Processor (processor_config.json) is not one qwenlint " \
        "models; known: Qwen2VLProcessor, Qwen2_5_VLProcessor, Qwen3VLProcessor" in message
    assert "model_type" not in message


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_ql402_a_video_without_sound_named_as_an_audio(tmp_path):
    """LLaMA-Factory's use_audio_in_video reads the audios entry, which may name the video file
    itself: one without a sound track cannot be loaded (torchcodec's RuntimeError, run by
    test_llamafactory_audio_in_video), and the fix is not to re-export it."""
    import json

    make_video(str(tmp_path / "v.mp4"), 32, 32, 2, 4)
    record = {"messages": [{"role": "user", "content": "<video><audio>What?"}, {"role": "assistant", "content": "ok"}],
              "videos": ["v.mp4"], "audios": ["v.mp4"]}
    (tmp_path / "d.json").write_text(json.dumps([record]))
    r = qwenlint.check_files([str(tmp_path / "d.json")], target="llamafactory", family="qwen2.5-omni",
                             media_root=str(tmp_path))
    (d,) = [d for d in r.diagnostics if d.rule == "QL402"]
    assert d.pointer == "/0/audios/0" and "no sound track" in d.message and "sound track" in d.help
