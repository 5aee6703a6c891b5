"""Fixed vectors: outcomes of the real libraries recorded in the shared reference and acceptance cases.

Sources: shared/reference/token-math.md §1c and §6 tables, shared/acceptance/seeds/*/case.json and
shared/acceptance/realworld/*/case.json ``verified`` fields (transformers 5.23, qwen-vl-utils 0.0.14).
"""

from __future__ import annotations

import pytest

from qwenlint.vision import (
    ImageFacts,
    VideoFacts,
    VisionError,
    cause_of,
    get_profile,
    hf_smart_resize,
    predict_image,
    predict_video,
    qvu_smart_resize,
)

QVU, HF = "qwen-vl-utils", "transformers"


def _image(family: str, w: int, h: int, options: dict | None = None, pipeline: str = QVU, **kw: object) -> tuple:
    p = predict_image(ImageFacts(w, h), options or {}, get_profile(family), pipeline, **kw)
    return p.grid_thw, p.tokens


# token-math §1c "double resizing" table: (H, W) -> qwen-vl-utils then the processor.
@pytest.mark.parametrize(("h", "w", "options", "q2", "q3_resize", "q3_keep"), [
    (300, 500, {}, ((1, 22, 36), 198), ((1, 18, 32), 144), ((1, 18, 32), 144)),
    (64, 64, {}, ((1, 4, 4), 4), ((1, 16, 16), 64), ((1, 4, 4), 4)),
    (10, 1000, {}, ((1, 2, 72), 36), ((1, 4, 90), 90), ((1, 2, 62), 31)),
    (3000, 4000, {"resized_height": 5000, "resized_width": 5000},
     ((1, 254, 254), 16129), ((1, 256, 256), 16384), ((1, 256, 256), 16384)),
])
def test_double_resize_table(h: int, w: int, options: dict, q2: tuple, q3_resize: tuple, q3_keep: tuple) -> None:
    assert _image("qwen2.5-vl", w, h, options) == q2
    assert _image("qwen3-vl", w, h, options, do_resize=True) == q3_resize
    assert _image("qwen3-vl", w, h, options, do_resize=False) == q3_keep
    assert _image("qwen3-vl", w, h, options) == q3_keep  # README recipe: do_resize=False


def test_small_budget_upsized_by_processor() -> None:
    assert _image("qwen2-vl", 500, 300, {"max_pixels": 28 * 28 * 4}) == ((1, 4, 6), 6)
    assert _image("qwen2-vl", 500, 300, {"max_pixels": 28 * 28 * 4}, do_resize=False)[1] == 2
    with pytest.raises(VisionError) as info:
        _image("qwen3-vl", 500, 300, {"max_pixels": 28 * 28 * 4})
    assert info.value.quoted == "AssertionError: The max_pixels of image must be greater than or equal to min_pixels."
    assert info.value.library == "qwen-vl-utils"


def test_zero_side_raises_pil_error() -> None:
    with pytest.raises(VisionError) as info:
        _image("qwen2-vl", 2000, 20, {"max_pixels": 50176})
    assert info.value.quoted == "ValueError: height and width must be > 0"
    # transformers ignores the part's max_pixels, and clamps its own downscale branch
    assert _image("qwen2-vl", 2000, 20, {"max_pixels": 50176}, pipeline=HF)[0] == (1, 2, 142)
    assert hf_smart_resize(20, 2000, 28, 3136, 50176) == (28, 2240)
    assert qvu_smart_resize(20, 2000, 28, 3136, 50176) == (0, 2240)


def test_aspect_ratio_error_text() -> None:
    with pytest.raises(VisionError) as info:
        _image("qwen2-vl", 2010, 10)
    assert info.value.quoted == "ValueError: absolute aspect ratio must be smaller than 200, got 201.0"


# token-math §6: the processors on an 8-frame 240x320 video (all frames, no sampling).
@pytest.mark.parametrize(("family", "grid", "pads"), [
    ("qwen2-vl", (4, 18, 22), 396), ("qwen2.5-vl", (4, 18, 22), 396),
    ("qwen2.5-omni", (4, 20, 28), 560), ("qwen3-omni", (4, 20, 28), 560),
])
def test_processor_video_table(family: str, grid: tuple, pads: int) -> None:
    p = predict_video(VideoFacts(8, 24.0, 320, 240), {}, get_profile(family), HF)
    assert (p.grid_thw, p.tokens) == (grid, pads)


def test_seed_c_default_video() -> None:
    p = predict_video(VideoFacts(96, 24.0, 320, 240), {}, get_profile("qwen2-vl"))
    assert (p.frames, p.resized, p.grid_thw, p.tokens) == (8, (280, 392), (4, 20, 28), 560)


def test_seed_d_clean_and_original() -> None:
    video = VideoFacts(48, 24.0, 320, 240)
    p = predict_video(video, {"max_pixels": 50176, "min_pixels": 3136, "fps": 12.0}, get_profile("qwen2-vl"))
    assert (p.frames, p.resized, p.grid_thw, p.tokens) == (24, (168, 252), (12, 12, 18), 648)
    with pytest.raises(VisionError) as info:
        predict_video(video, {"max_pixels": 50176, "fps": 12.0}, get_profile("qwen2-vl"))
    assert info.value.quoted == "AssertionError: The max_pixels of image must be greater than or equal to min_pixels."


def test_nframes_error_is_hidden_behind_torchvision_fallback() -> None:
    with pytest.raises(VisionError) as info:
        predict_video(VideoFacts(31, 30.0, 320, 240), {"nframes": 32}, get_profile("qwen2.5-vl"))
    assert info.value.quoted == "AttributeError: module 'torchvision.io' has no attribute 'read_video'"
    assert cause_of(info.value).quoted == "ValueError: nframes should in interval [2, 31], but got 32."


def test_one_frame_video() -> None:
    with pytest.raises(VisionError) as info:
        predict_video(VideoFacts(1, 30.0, 320, 240), {}, get_profile("qwen2-vl"))
    assert cause_of(info.value).quoted == "ValueError: nframes should in interval [2, 1], but got 0."


# realworld cases (verified grids and pad counts)
@pytest.mark.parametrize(("family", "pipeline", "w", "h", "options", "grid", "pads"), [
    ("qwen2-vl", HF, 2048, 1365, {}, (1, 98, 146), 3577),                       # hf-qwen2vl-doc-image-url-key
    ("qwen2-vl", HF, 1280, 960, {}, (1, 68, 92), 1564),                         # hf-qwen2vl-doc-batch-mixed-media
    ("qwen2-vl", HF, 640, 480, {}, (1, 34, 46), 391),
    ("qwen2.5-vl", QVU, 1080, 2400, {}, (1, 172, 78), 3354),                    # qwen25vl-cookbook-mobile-agent-tools
    ("qwen2.5-vl", QVU, 1836, 2448, {}, (1, 174, 132), 5742),                   # qwen25vl-cookbook-ocr-file-url-relative
    ("qwen2.5-vl", QVU, 1073, 972, {}, (1, 70, 76), 1330),                      # qwen25vl-cookbook-unireco
    ("qwen2-vl", QVU, 2480, 3508, {}, (1, 250, 178), 11125),                    # qwen2vl-cookbook-german-invoice-ocr
    ("qwen2-vl", QVU, 1024, 768, {}, (1, 54, 74), 999),                         # qwen2vl-readme-awq-calibration-batch
    ("qwen3-vl", HF, 2048, 1365, {}, (1, 86, 128), 2752),                       # qwen3vl-readme-transformers-image
    ("qwen3-vl", HF, 1280, 960, {}, (1, 60, 80), 1200),                         # qwen3vl-readme-batch-transformers
    ("qwen3-vl", QVU, 2048, 1365, {"resized_height": 280, "resized_width": 420}, (1, 18, 26), 117),
])
def test_realworld_images(family: str, pipeline: str, w: int, h: int, options: dict, grid: tuple, pads: int) -> None:
    assert _image(family, w, h, options, pipeline) == (grid, pads)


@pytest.mark.parametrize(("family", "pipeline", "video", "options", "kwargs", "grid", "pads"), [
    # hf-qwen2vl-doc-batch-mixed-media: apply_chat_template(..., fps=1)
    ("qwen2-vl", HF, VideoFacts(300, 30.0, 640, 360), {}, {"fps": 1}, (5, 26, 46), 1495),
    # qwen2vl-readme-video-local-maxpixels-fps
    ("qwen2-vl", QVU, VideoFacts(600, 30.0, 1280, 720), {"max_pixels": 151200, "fps": 1.0}, {}, (10, 20, 36), 1800),
    # qwen25vl-readme-video-url-total-pixels
    ("qwen2.5-vl", QVU, VideoFacts(750, 25.0, 1280, 720),
     {"min_pixels": 3136, "max_pixels": 200704, "total_pixels": 16056320}, {}, (30, 24, 42), 7560),
    # qwen25vl-readme-vllm-local-video (run through qwen-vl-utils)
    ("qwen2.5-vl", QVU, VideoFacts(900, 30.0, 720, 1280), {"total_pixels": 16056320, "min_pixels": 12544}, {},
     (30, 68, 38), 19380),
    # qwen25vl-cookbook-video-grounding-cached-path
    ("qwen2.5-vl", QVU, VideoFacts(6000, 25.0, 1280, 720), {"total_pixels": 16056320, "min_pixels": 12544}, {},
     (240, 12, 24), 17280),
    # qwen3vl-readme-video-total-pixels-32 (README recipe: do_resize=False)
    ("qwen3-vl", QVU, VideoFacts(750, 25.0, 1280, 720),
     {"min_pixels": 4096, "max_pixels": 262144, "total_pixels": 20971520}, {}, (30, 24, 42), 7560),
    # swift-qwen3vl-bestpractice-qvu-video-max-frames
    ("qwen3-vl", QVU, VideoFacts(243, 25.0, 640, 360), {"max_pixels": 131072, "max_frames": 16}, {}, (8, 16, 30), 960),
])
def test_realworld_videos(family: str, pipeline: str, video: VideoFacts, options: dict, kwargs: dict, grid: tuple,
                          pads: int) -> None:
    p = predict_video(video, options, get_profile(family), pipeline, processor_kwargs=kwargs)
    assert (p.grid_thw, p.tokens) == (grid, pads)


def test_realworld_frame_lists() -> None:
    frames = [ImageFacts(640, 360)] * 4
    # qwen25vl-readme-video-frame-list
    p = predict_video(frames, {}, get_profile("qwen2.5-vl"))
    assert (p.grid_thw, p.tokens) == ((2, 24, 44), 528)
    # qwen3vl-readme-frame-list-sample-fps-string
    with pytest.raises(VisionError) as info:
        predict_video(frames, {"sample_fps": "1"}, get_profile("qwen3-vl"))
    assert info.value.quoted == "TypeError: unsupported operand type(s) for /: 'int' and 'str'"
    p = predict_video(frames, {"sample_fps": 1}, get_profile("qwen3-vl"))
    assert (p.grid_thw, p.tokens) == ((2, 24, 40), 480)
    # qwen3vl-cookbook-frame-list-307-frames
    options = {"total_pixels": 24 * 1024 * 32 * 32, "min_pixels": 64 * 32 * 32, "max_frames": 2048, "sample_fps": 0.25}
    p = predict_video([ImageFacts(640, 360)] * 307, options, get_profile("qwen3-vl"))
    assert (p.frames, p.grid_thw, p.tokens) == (308, (154, 18, 32), 22176)
    assert p.extra_text[:2] == ("<2.0 seconds>", "<10.0 seconds>")


def test_qwen3_timestamps_and_text() -> None:
    p = predict_video(VideoFacts(17, 24.0, 64, 48), {}, get_profile("qwen3-vl"), HF)
    assert p.frame_indices == (0, 5, 11, 16)
    assert p.grid_thw == (2, 4, 4)
    assert p.extra_text == ("<0.1 seconds>", "<0.6 seconds>")


def test_vllm_samples_at_2_fps_with_the_loader_of_the_video_processor() -> None:
    """Current vLLM picks the loader registered for the HF video processor class: 600 frames at
    30 fps become 40 frames (2 fps); the part's own fps is ignored."""
    clip = VideoFacts(600, 30.0, 1280, 720)
    for family, loader in [("qwen2-vl", "qwen2_vl"), ("qwen2.5-vl", "qwen2_vl"), ("qwen2.5-omni", "qwen2_vl"),
                           ("qwen3-omni", "qwen2_vl"), ("qwen3-vl", "qwen3_vl"), ("qwen3.5", "qwen3_vl")]:
        p = predict_video(clip, {"fps": 1}, get_profile(family), "vllm")
        assert p.frames == 40 and p.grid_thw[0] == 20, family
        assert any(f"{loader} video loader samples 40 of 600" in n for n in p.notes), (family, p.notes)
    q2 = predict_video(clip, {}, get_profile("qwen2.5-vl"), "vllm")
    q3 = predict_video(clip, {}, get_profile("qwen3-vl"), "vllm")
    assert q2.frame_indices[:3] == (0, 15, 30) and q2.frame_indices[-1] == 585  # arange
    assert q3.frame_indices[:3] == (0, 15, 31) and q3.frame_indices[-1] == 599  # linspace().round()


def test_vllm_loader_settings_from_media_io_kwargs() -> None:
    clip = VideoFacts(600, 30.0, 64, 64)
    q25, q3 = get_profile("qwen2.5-vl"), get_profile("qwen3-vl")
    assert predict_video(clip, {}, q25, "vllm", vllm_video={"fps": 1}).frames == 20
    assert predict_video(clip, {}, q3, "vllm", vllm_video={"max_frames": 9}).frames == 9
    assert predict_video(clip, {}, q25, "vllm", vllm_video={"max_frames": 9}).frames == 8  # a multiple of 2
    assert predict_video(clip, {}, q3, "vllm", vllm_video={"num_frames": 8}).frames == 40  # ignored
    # The requested rate is capped at 30 fps and max_frames at 768.  Qwen3-VL: a loader that kept
    # every frame hands them to the processor with do_sample_frames=True, which samples 2 fps again.
    assert predict_video(clip, {}, q25, "vllm", vllm_video={"fps": 60}).frames == 600
    assert predict_video(clip, {}, q3, "vllm", vllm_video={"fps": 60}).frames == 40
    long = VideoFacts(30000, 30.0, 64, 64)
    assert predict_video(long, {}, q3, "vllm", vllm_video={"max_frames": 5000}).frames == 768


def test_vllm_generic_opencv_loader_takes_32_uniform_frames() -> None:
    """video_backend "opencv" (and every vLLM before mid-2026): 32 frames, whatever the fps."""
    p = predict_video(VideoFacts(600, 30.0, 1280, 720), {"fps": 1}, get_profile("qwen2.5-vl"), "vllm",
                      vllm_video={"video_backend": "opencv"})
    assert p.frames == 32 and p.grid_thw[0] == 16
    assert any("32 frames uniformly" in n for n in p.notes)
    some = predict_video(VideoFacts(600, 30.0, 64, 64), {}, get_profile("qwen2.5-vl"), "vllm",
                         vllm_video={"video_backend": "opencv", "num_frames": 10})
    assert some.frame_indices == (0, 66, 133, 199, 266, 332, 399, 465, 532, 599)
    every = predict_video(VideoFacts(600, 30.0, 64, 64), {}, get_profile("qwen2.5-vl"), "vllm",
                          vllm_video={"video_backend": "opencv", "num_frames": -1})
    assert every.frames == 600
    # A loader can be named for any model: the Qwen3-VL one on a Qwen2.5-VL checkpoint.
    forced = predict_video(VideoFacts(600, 30.0, 64, 64), {}, get_profile("qwen2.5-vl"), "vllm",
                           vllm_video={"video_backend": "qwen3_vl"})
    assert forced.frame_indices[:3] == (0, 15, 31)


def test_vllm_qwen3_clip_loaded_whole_is_sampled_again_by_the_processor() -> None:
    """A loader that kept every frame tells the processor do_sample_frames=True, and Qwen3-VL's
    processor then samples at 2 fps; Qwen2-VL's processor does not sample again."""
    opencv = {"video_backend": "opencv"}
    short = predict_video(VideoFacts(20, 10.0, 64, 48), {}, get_profile("qwen3-vl"), "vllm", vllm_video=opencv)
    assert short.frame_indices == predict_video(VideoFacts(20, 10.0, 64, 48), {}, get_profile("qwen3-vl"),
                                                HF).frame_indices
    assert short.frames == 4 and any("sample 4" in n for n in short.notes)
    long = predict_video(VideoFacts(100, 10.0, 64, 48), {}, get_profile("qwen3-vl"), "vllm", vllm_video=opencv)
    assert long.frames == 32
    qwen2 = predict_video(VideoFacts(20, 10.0, 56, 56), {}, get_profile("qwen2.5-vl"), "vllm", vllm_video=opencv)
    assert qwen2.frames == 20
    tiny = predict_video(VideoFacts(3, 30.0, 64, 48), {}, get_profile("qwen3-vl"), "vllm")
    assert tiny.frames == 3 and any("every frame was loaded" in n for n in tiny.notes)


def test_vllm_qwen2_loader_errors() -> None:
    """The qwen2_vl loader refuses an unknown rate, and a one-frame clip leaves it 0 frames to divide by."""
    with pytest.raises(VisionError) as e:
        predict_video(VideoFacts(100, 0.0, 64, 64), {}, get_profile("qwen2.5-vl"), "vllm")
    assert e.value.library == "vllm" and e.value.exc_type == "ValueError"
    assert "needs a known source fps" in e.value.message
    with pytest.raises(VisionError) as e:
        predict_video(VideoFacts(1, 30.0, 64, 64), {}, get_profile("qwen2.5-vl"), "vllm")
    assert e.value.exc_type == "ZeroDivisionError"
