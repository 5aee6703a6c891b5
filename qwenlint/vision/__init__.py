"""Dry-run vision predictor: grid_thw and pad counts of Qwen VL images and videos, without torch.

Mirrors transformers 5.23.0 and qwen-vl-utils 0.0.14 exactly (see docs/token-math.md).  Inputs are
plain facts (sizes, frame counts, fps) and a part's options; outputs are `Prediction` values, or a
`VisionError` carrying the library's own exception class and message.
"""

from __future__ import annotations

from qwenlint.vision.checks import (
    PART_OPTION_KEYS,
    budget_warnings,
    ignored_options,
    patch_size_warnings,
)
from qwenlint.vision.errors import VisionError
from qwenlint.vision.facts import (
    PIPELINES,
    ImageFacts,
    Prediction,
    VideoFacts,
    VisionWarning,
)
from qwenlint.vision.frames import (
    calculate_video_frame_range,
    qvu_linspace_indices,
    qwen2vl_sample_frames,
    qwen3_timestamps,
    qwen3vl_sample_frames,
    smart_nframes,
    timestamp_text,
)
from qwenlint.vision.predict import (
    cause_of,
    predict,
    predict_image,
    predict_video,
    recipe_do_resize,
    worst_case_image_tokens,
)
from qwenlint.vision.profiles import (
    DEFAULT_FAMILY,
    MODEL_TYPES,
    PROFILES,
    Profile,
    ProfileError,
    Tokens,
    VideoConfig,
    get_profile,
    profile_from_model_dir,
)
from qwenlint.vision.resize import (
    hf_smart_resize,
    qvu_smart_resize,
    qwen3_video_smart_resize,
)

__all__ = [
    "DEFAULT_FAMILY",
    "MODEL_TYPES",
    "PART_OPTION_KEYS",
    "PIPELINES",
    "PROFILES",
    "ImageFacts",
    "Prediction",
    "Profile",
    "ProfileError",
    "Tokens",
    "VideoConfig",
    "VideoFacts",
    "VisionError",
    "VisionWarning",
    "budget_warnings",
    "calculate_video_frame_range",
    "cause_of",
    "get_profile",
    "hf_smart_resize",
    "ignored_options",
    "patch_size_warnings",
    "predict",
    "predict_image",
    "predict_video",
    "profile_from_model_dir",
    "qvu_linspace_indices",
    "qvu_smart_resize",
    "qwen2vl_sample_frames",
    "qwen3_timestamps",
    "qwen3_video_smart_resize",
    "qwen3vl_sample_frames",
    "recipe_do_resize",
    "smart_nframes",
    "timestamp_text",
    "worst_case_image_tokens",
]
