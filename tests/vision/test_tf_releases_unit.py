"""transformers 4.57's branches of the processor model, without the real library
(tests/differential/test_vision_transformers_versions.py proves them against 4.57.6): call-time
pixel bounds of images and videos, the Qwen3-VL video resize, and the kwarg dicts left unvalidated."""

from __future__ import annotations

import pytest
from packaging.version import Version

from qwenlint.vision import ImageFacts, VideoFacts, VisionError, get_profile, predict_image, predict_video
from qwenlint.vision.profiles import profile_from_model_dir

V457, V51, V523 = Version("4.57.6"), Version("5.1.0"), Version("5.23.0")


def _image_grid(family: str, kwargs: dict, release: Version, size=(15, 15)) -> tuple:
    return predict_image(ImageFacts(*size), {}, get_profile(family), "transformers", processor_kwargs=kwargs,
                         tf_version=release).grid_thw


def test_image_bounds_follow_the_config_keys_before_5() -> None:
    # Qwen2.5-VL's config names min/max_pixels: a call's size is ignored, a lone bound honoured
    assert _image_grid("qwen2.5-vl", {"size": {"shortest_edge": 1, "longest_edge": 1}}, V457) == (1, 4, 4)
    assert _image_grid("qwen2.5-vl", {"size": {"shortest_edge": 1, "longest_edge": 1}}, V523) == (1, 2, 2)
    assert _image_grid("qwen2.5-vl", {"images_kwargs": {"max_pixels": 1}}, V457) == (1, 2, 2)
    # Qwen3-VL's has only size: the reverse
    assert _image_grid("qwen3-vl", {"size": {"shortest_edge": 1, "longest_edge": 1}}, V457) == (1, 2, 2)
    assert _image_grid("qwen3-vl", {"max_pixels": 1}, V457) == _image_grid("qwen3-vl", {}, V457)
    assert _image_grid("qwen3-vl", {"min_pixels": 1, "max_pixels": 1}, V457) == (1, 2, 2)


def test_a_one_pixel_high_image_is_read_channels_first_only_from_5_0_to_5_3() -> None:
    assert _image_grid("qwen2.5-vl", {}, V457, size=(40, 1)) == _image_grid("qwen2.5-vl", {}, V523, size=(40, 1))
    with pytest.raises(VisionError, match="mean must have 1 elements"):
        _image_grid("qwen2.5-vl", {}, V51, size=(40, 1))


def test_the_profile_records_which_pixel_keys_the_config_names(tmp_path) -> None:
    import json

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"max_pixels": 1003520, "patch_size": 14}))
    assert profile_from_model_dir(tmp_path).image_pixel_keys == ("max_pixels",)
    assert get_profile("qwen2-vl").image_pixel_keys == ("min_pixels", "max_pixels")
    assert get_profile("qwen3-vl").image_pixel_keys == ()
    # and whether they name the video processor (vLLM 0.30 looks its video loader up by it)
    assert profile_from_model_dir(tmp_path).video_processor_named is False
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps({"video_processor_type": "Qwen2VLVideoProcessor"}))
    assert profile_from_model_dir(tmp_path).video_processor_named is True
    assert (get_profile("qwen2.5-vl").video_processor_named, get_profile("qwen3-vl").video_processor_named,
            get_profile("qwen3.5").video_processor_named) == (False, True, None)


def _video(family: str, kwargs: dict, release: Version, frames: int = 4, side: int = 8):
    return predict_video(VideoFacts(num_frames=frames, fps=2.0, width=side, height=side), {}, get_profile(family),
                         "transformers", processor_kwargs=kwargs, tf_version=release)


def test_video_pixel_bounds_are_read_at_call_time_only_from_5() -> None:
    bounds = {"min_pixels": 1, "max_pixels": 1}
    assert _video("qwen2-vl", bounds, V457).grid_thw == (2, 4, 4)  # the profile's 3136
    assert _video("qwen2-vl", bounds, V523).grid_thw == (2, 2, 2)
    assert _video("qwen2-vl", {"size": {"shortest_edge": 1, "longest_edge": 1}}, V457).grid_thw == (2, 2, 2)


def test_qwen3_video_resize_at_4_57() -> None:
    with pytest.raises(VisionError, match="t:1 must be larger than temporal_factor:2"):
        _video("qwen3-vl", {}, V457, frames=1, side=8)  # the frame count is checked before the size
    with pytest.raises(VisionError, match="must be larger than factor:32"):
        _video("qwen3-vl", {}, V457, frames=4, side=8)
    assert _video("qwen3-vl", {}, V51, frames=1, side=64).grid_thw[0] == 1  # 5.0-5.14: no frame check


def test_videos_kwargs_are_not_validated_before_5() -> None:
    kwargs = {"videos_kwargs": {"min_pixels": 1}}  # Qwen3VLVideoProcessor has no min_pixels
    with pytest.raises(VisionError, match="unexpected keyword argument 'min_pixels'"):
        _video("qwen3-vl", kwargs, V523, side=64)
    assert _video("qwen3-vl", kwargs, V457, side=64).grid_thw == _video("qwen3-vl", {}, V457, side=64).grid_thw


V455, V456 = Version("4.55.4"), Version("4.56.2")


def test_video_bounds_before_4_57() -> None:
    # the Qwen2-VL video processor resizes to its min/max_pixels: size ignored, a lone bound honoured
    assert _video("qwen2-vl", {"size": {"shortest_edge": 1, "longest_edge": 1}}, V456).grid_thw == (2, 4, 4)
    assert _video("qwen2-vl", {"videos_kwargs": {"min_pixels": 1}}, V456).grid_thw == (2, 2, 2)
    # a flat bound reaches the video processor only where the processor names it (Omni)
    assert _video("qwen2-vl", {"min_pixels": 1}, V456).grid_thw == (2, 4, 4)
    assert _video("qwen2.5-omni", {"min_pixels": 1}, V456).grid_thw == (2, 2, 2)
    assert _video("qwen2.5-omni", {"min_pixels": 1}, V457).grid_thw == _video("qwen2.5-omni", {}, V457).grid_thw


def test_an_empty_frame_list_fails_by_release() -> None:
    def run(release: Version):
        return predict_video([], {}, get_profile("qwen2-vl"), "qwen-vl-utils", qvu_version=Version("0.0.11"),
                             tf_version=release)
    with pytest.raises(VisionError, match="need at least one array to stack"):
        run(V455)
    with pytest.raises(VisionError, match="list index out of range"):
        run(V456)
