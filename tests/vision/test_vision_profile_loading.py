"""Family profiles and `profile_from_model_dir` (pure: JSON files in a temp dir)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwenlint.vision import PROFILES, ProfileError, get_profile, profile_from_model_dir

QWEN2_PREPROCESSOR = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
                      "merge_size": 2, "image_processor_type": "Qwen2VLImageProcessor",
                      "processor_class": "Qwen2VLProcessor"}
QWEN3_PREPROCESSOR = {"size": {"longest_edge": 16777216, "shortest_edge": 65536}, "patch_size": 16,
                      "temporal_patch_size": 2, "merge_size": 2, "processor_class": "Qwen3VLProcessor",
                      "image_processor_type": "Qwen2VLImageProcessorFast"}
QWEN3_VIDEO = {"size": {"longest_edge": 25165824, "shortest_edge": 4096}, "patch_size": 16, "temporal_patch_size": 2,
               "merge_size": 2, "processor_class": "Qwen3VLProcessor", "video_processor_type": "Qwen3VLVideoProcessor"}


def _write(folder: Path, files: dict[str, object]) -> Path:
    for name, content in files.items():
        (folder / name).write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return folder


def test_published_families() -> None:
    assert set(PROFILES) == {"qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3.5", "qwen2.5-omni", "qwen3-omni"}
    assert get_profile("qwen2.5-vl").factor == 28 and get_profile("qwen3-vl").factor == 32
    assert get_profile("qwen3-vl").video.kind == "qwen3vl" and get_profile("qwen3-omni").video.kind == "qwen2vl"
    assert get_profile("qwen2.5-omni").tokens.image_pad == "<|IMAGE|>"
    assert get_profile("qwen3.5").tokens.image_pad_id == 248056
    with pytest.raises(ProfileError, match="unknown family"):
        get_profile("qwen4")


def test_qwen2_dir_matches_published_profile(tmp_path: Path) -> None:
    _write(tmp_path, {"config.json": {"model_type": "qwen2_vl", "image_token_id": 151655},
                      "preprocessor_config.json": QWEN2_PREPROCESSOR})
    p = profile_from_model_dir(tmp_path)
    base = get_profile("qwen2-vl")
    assert (p.family, p.image_min_pixels, p.image_max_pixels, p.patch_size) == ("qwen2-vl", 3136, 12845056, 14)
    assert p.video == base.video  # the video processor falls back to preprocessor_config.json
    assert p.source == str(tmp_path)


def test_qwen3_dir_and_priority(tmp_path: Path) -> None:
    _write(tmp_path, {"config.json": {"model_type": "qwen3_vl_moe"}, "preprocessor_config.json": QWEN3_PREPROCESSOR,
                      "video_preprocessor_config.json": QWEN3_VIDEO})
    p = profile_from_model_dir(tmp_path)
    assert p.family == "qwen3-vl" and p.video == get_profile("qwen3-vl").video
    _write(tmp_path, {"processor_config.json": {"video_processor": {**QWEN3_VIDEO, "fps": 1, "max_frames": 64}}})
    p = profile_from_model_dir(tmp_path)
    assert (p.video.fps, p.video.max_frames) == (1, 64)


def test_qwen3_without_video_file_uses_image_sizes(tmp_path: Path) -> None:
    _write(tmp_path, {"config.json": {"model_type": "qwen3_vl"}, "preprocessor_config.json": QWEN3_PREPROCESSOR})
    p = profile_from_model_dir(tmp_path)
    assert (p.video.min_pixels, p.video.max_pixels) == (65536, 16777216)


def test_omni_video_size_is_processor_level(tmp_path: Path) -> None:
    _write(tmp_path, {"config.json": {"model_type": "qwen2_5_omni", "thinker_config": {"image_token_index": 151655}},
                      "preprocessor_config.json": QWEN2_PREPROCESSOR})
    p = profile_from_model_dir(tmp_path)
    assert (p.video.min_pixels, p.video.max_pixels) == (128 * 28 * 28, 768 * 28 * 28)


@pytest.mark.parametrize(("files", "message"), [
    ({"config.json": "{not json"}, "invalid JSON"),
    ({"config.json": "[1, 2]"}, "expected a JSON object"),
    ({"config.json": {"model_type": "llama"}}, "not a Qwen vision-language family"),
    ({"config.json": {}}, "no 'model_type'"),
    ({"config.json": {"model_type": "qwen2_vl"}, "preprocessor_config.json": {"max_pixels": "big"}},
     "must be a positive integer"),
    ({"config.json": {"model_type": "qwen2_vl"}, "preprocessor_config.json": {"size": [1, 2]}}, "'size' must be an object"),
    ({"config.json": b"\xff\xfe".decode("latin-1")}, "invalid JSON"),
])
def test_bad_model_dirs_raise_profile_error(tmp_path: Path, files: dict, message: str) -> None:
    _write(tmp_path, files)
    with pytest.raises(ProfileError) as info:
        profile_from_model_dir(tmp_path)
    assert message in str(info.value) and info.value.path


def test_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not a directory"):
        profile_from_model_dir(tmp_path / "nope")


def test_family_override(tmp_path: Path) -> None:
    _write(tmp_path, {"preprocessor_config.json": QWEN2_PREPROCESSOR})
    assert profile_from_model_dir(tmp_path, family="qwen2.5-vl").family == "qwen2.5-vl"
