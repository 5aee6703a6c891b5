"""The public surface of ``qwenlint.vision`` does not drift silently (add names here on purpose)."""

from __future__ import annotations

from qwenlint import vision

PUBLIC = {
    # data
    "ImageFacts", "VideoFacts", "Prediction", "VisionWarning", "Profile", "VideoConfig", "Tokens",
    "PROFILES", "PIPELINES", "PART_OPTION_KEYS",
    # errors
    "VisionError", "ProfileError", "cause_of",
    # prediction
    "predict", "predict_image", "predict_video", "worst_case_image_tokens", "recipe_do_resize",
    # profiles
    "get_profile", "profile_from_model_dir", "DEFAULT_FAMILY", "MODEL_TYPES",
    # checks
    "ignored_options", "budget_warnings", "patch_size_warnings",
    # mirrored arithmetic
    "hf_smart_resize", "qvu_smart_resize", "qwen3_video_smart_resize", "smart_nframes",
    "calculate_video_frame_range", "qvu_linspace_indices", "qwen2vl_sample_frames", "qwen3vl_sample_frames",
    "qwen3_timestamps", "timestamp_text",
}


def test_public_names() -> None:
    assert set(vision.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(vision, name) is not None
