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
    assert set(PROFILES) == {"qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3.5", "qwen3.6", "qwen4-exp", "qwen2.5-omni",
                             "qwen3-omni"}
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
                      "preprocessor_config.json": {**QWEN2_PREPROCESSOR, "processor_class": "Qwen2_5OmniProcessor"}})
    p = profile_from_model_dir(tmp_path)
    assert (p.video.min_pixels, p.video.max_pixels) == (128 * 28 * 28, 768 * 28 * 28)


@pytest.mark.parametrize(("files", "message"), [
    ({"config.json": "{not json"}, "invalid JSON"),
    ({"config.json": "[1, 2]"}, "expected a JSON object"),
    ({"config.json": {"model_type": "llama"}}, "not a Qwen vision-language family"),
    ({"config.json": {"model_type": "llama"}, "preprocessor_config.json": {"processor_class": "LlavaProcessor"}},
     "processor class LlavaProcessor (preprocessor_config.json) is not one qwenlint models; known: Qwen2VLProcessor"),
    ({"config.json": {"model_type": "qwen3_vl"}, "processor_config.json": {"processor_class": "Qwen3VLProcessor",
                                                                          "image_processor": {"image_processor_type": "SiglipImageProcessor"}}},
     "image processor SiglipImageProcessor (processor_config.json) is not one qwenlint models"),
    ({"config.json": {"model_type": "qwen3_vl"}, "video_preprocessor_config.json": {"video_processor_type": "FooVideoProcessor"}},
     ("video processor FooVideoProcessor (video_preprocessor_config.json) is not one qwenlint models; known: "
      "Qwen2VLVideoProcessor, Qwen3VLVideoProcessor")),
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


def test_family_rows_agree_with_their_processor_class() -> None:
    """A family row's processor behaviour is its processor class's (adding a family is a data change)."""
    from qwenlint.vision.profiles import (
        IMAGE_PROCESSOR_CLASSES,
        PROCESSOR_CLASSES,
        VIDEO_PROCESSOR_CLASSES,
    )

    for p in PROFILES.values():
        b = PROCESSOR_CLASSES[p.processor_class]
        assert (p.video_timestamps, p.is_omni, p.omni_fps_default) == (b.video_timestamps, b.is_omni, b.omni_fps_default)
        assert (p.tokens.image_pad, p.tokens.video_pad, p.tokens.vision_start, p.tokens.vision_end) == b.tokens
        assert p.image_processor_class in IMAGE_PROCESSOR_CLASSES
        assert VIDEO_PROCESSOR_CLASSES[p.video_processor_class] == p.video.kind
        assert p.video.own_size is None or (p.video.min_pixels, p.video.max_pixels) == b.video_size


def test_qwen36_and_qwen4_exp_rows() -> None:
    from qwenlint.vision import MODEL_TYPES

    q35, q36, q4 = get_profile("qwen3.5"), get_profile("qwen3.6"), get_profile("qwen4-exp")
    assert q36.replace(family="qwen3.5") == q35  # the same processor values, its own name
    assert MODEL_TYPES["qwen3_5"] == MODEL_TYPES["qwen3_5_moe"] == "qwen3.5" and MODEL_TYPES["qwen4_exp"] == "qwen4-exp"
    assert (q4.processor_class, q4.video_processor_class, q4.tokens.image_pad_id, q4.tokens.video_pad_id) == \
        ("Qwen3VLProcessor", "Qwen3VLVideoProcessor", 248056, 248057)
    assert q4.unverified


QWEN35_PROCESSOR = {"processor_class": "Qwen3VLProcessor",
                    "image_processor": {k: v for k, v in QWEN3_PREPROCESSOR.items() if k != "processor_class"},
                    "video_processor": {k: v for k, v in QWEN3_VIDEO.items() if k != "processor_class"}}


def test_unknown_model_type_with_known_processor_classes(tmp_path: Path) -> None:
    """A model type qwenlint never saw: the profile comes from the processor classes its files name,
    token ids from config.json's text_config and the tokenizer's added tokens."""
    _write(tmp_path, {"config.json": {"model_type": "qwen9_vl", "text_config": {"image_token_id": 248056}},
                      "processor_config.json": {**QWEN35_PROCESSOR, "video_processor": {
                          **QWEN35_PROCESSOR["video_processor"], "fps": 1, "size": {"shortest_edge": 8192,
                                                                                     "longest_edge": 999424}}},
                      "tokenizer_config.json": {"added_tokens_decoder": {
                          "248057": {"content": "<|video_pad|>"}, "248053": {"content": "<|vision_start|>"}}},
                      "tokenizer.json": {"added_tokens": [{"id": 248054, "content": "<|vision_end|>"}]}})
    p = profile_from_model_dir(tmp_path)
    assert p.family == "qwen3.5" and p.processor_class == "Qwen3VLProcessor" and p.video_timestamps
    assert (p.video.kind, p.video.fps, p.video.min_pixels, p.video.max_pixels) == ("qwen3vl", 1, 8192, 999424)
    t = p.tokens
    assert (t.image_pad_id, t.video_pad_id, t.vision_start_id, t.vision_end_id) == (248056, 248057, 248053, 248054)
    notes = "\n".join(p.derived_from)
    assert "model_type 'qwen9_vl' is not one qwenlint knows" in notes
    assert "processor Qwen3VLProcessor (processor_config.json)" in notes
    assert "image_pad 248056 (config.json text_config image_token_id)" in notes
    assert "video_pad 248057 (tokenizer_config.json added_tokens_decoder)" in notes
    assert "vision_end 248054 (tokenizer.json added_tokens)" in notes


def test_unknown_model_type_nearest_family_follows_the_ids(tmp_path: Path) -> None:
    _write(tmp_path, {"config.json": {"model_type": "brand_new", "image_token_id": 151655},
                      "processor_config.json": QWEN35_PROCESSOR})
    assert profile_from_model_dir(tmp_path).family == "qwen3-vl"
    omni = tmp_path / "omni"
    omni.mkdir()
    _write(omni, {"config.json": {"model_type": "brand_new"},
                  "preprocessor_config.json": {**QWEN2_PREPROCESSOR, "processor_class": "Qwen2_5OmniProcessor"}})
    p = profile_from_model_dir(omni)
    assert p.family == "qwen2.5-omni" and p.is_omni and p.video.own_size == (3136, 12845056)
    assert (p.video.min_pixels, p.video.max_pixels) == (128 * 28 * 28, 768 * 28 * 28)


def test_the_files_classes_beat_the_family(tmp_path: Path) -> None:
    """--family names the family; what the processor does is what the checkpoint's files name."""
    _write(tmp_path, {"config.json": {"model_type": "qwen2_5_vl"}, "processor_config.json": QWEN35_PROCESSOR})
    p = profile_from_model_dir(tmp_path, family="qwen2.5-vl")
    assert p.family == "qwen2.5-vl" and p.video_timestamps and p.video.kind == "qwen3vl"
    assert p.derived_from[0] == "family qwen2.5-vl (given)"


def test_known_model_type_without_processor_files(tmp_path: Path) -> None:
    _write(tmp_path, {"config.json": {"model_type": "qwen4_exp"}})
    p = profile_from_model_dir(tmp_path)
    assert p.family == "qwen4-exp" and p.processor_class == "Qwen3VLProcessor"
    assert "processor Qwen3VLProcessor (transformers' mapping of model_type 'qwen4_exp')" in p.derived_from


@pytest.mark.parametrize("files, family", [
    ({"config.json": {"model_type": "qwen3_vl"}, "tokenizer_config.json": {}}, None),
    ({"tokenizer_config.json": {"processor_class": "Qwen3VLProcessor"}}, "qwen3-vl"),
])
def test_a_folder_without_processor_files_keeps_the_familys_settings(tmp_path: Path, files: dict,
                                                                      family: str | None) -> None:
    """A tokenizer-only folder (``--model`` for exact text counts): the real processor cannot load
    from it, so its image and video settings are the family's, not Qwen2VLImageProcessor's class
    defaults (patch 14, which Qwen3-VL's 16 is not)."""
    _write(tmp_path, files)
    p = profile_from_model_dir(tmp_path, family=family)
    want = get_profile("qwen3-vl")
    assert (p.patch_size, p.merge_size, p.image_min_pixels, p.image_max_pixels, p.video) == \
        (want.patch_size, want.merge_size, want.image_min_pixels, want.image_max_pixels, want.video)
    assert p.patch_size == 16 and any("the qwen3-vl defaults" in n for n in p.derived_from)
