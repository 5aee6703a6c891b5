"""`profile_from_model_dir` against what transformers itself loads from the same local directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import _real  # noqa: F401  (first: it skips this module when the real libraries are missing)
import pytest
from transformers import AutoImageProcessor, AutoVideoProcessor

from qwenlint.vision import profile_from_model_dir

pytestmark = pytest.mark.differential
os.environ.setdefault("HF_HUB_OFFLINE", "1")

P14 = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
       "image_processor_type": "Qwen2VLImageProcessor"}
P16 = {"size": {"longest_edge": 16777216, "shortest_edge": 65536}, "patch_size": 16, "temporal_patch_size": 2,
       "merge_size": 2, "image_processor_type": "Qwen2VLImageProcessorFast"}
V16 = {"size": {"longest_edge": 25165824, "shortest_edge": 4096}, "patch_size": 16, "temporal_patch_size": 2,
       "merge_size": 2, "video_processor_type": "Qwen3VLVideoProcessor"}

CASES = {
    "qwen2-vl-published": {"config.json": {"model_type": "qwen2_vl"}, "preprocessor_config.json": P14},
    "qwen2.5-vl-size-dict": {"config.json": {"model_type": "qwen2_5_vl"},
                             "preprocessor_config.json": {**P14, "size": {"shortest_edge": 1000, "longest_edge": 9000}}},
    "qwen2.5-vl-video-file": {"config.json": {"model_type": "qwen2_5_vl"}, "preprocessor_config.json": P14,
                              "video_preprocessor_config.json": {"min_pixels": 5000, "max_pixels": 70000, "fps": 1,
                                                                 "do_sample_frames": True,
                                                                 "video_processor_type": "Qwen2VLVideoProcessor"}},
    "qwen3-vl-published": {"config.json": {"model_type": "qwen3_vl"}, "preprocessor_config.json": P16,
                           "video_preprocessor_config.json": V16},
    "qwen3-vl-image-only": {"config.json": {"model_type": "qwen3_vl"}, "preprocessor_config.json": P16},
    "qwen3-vl-processor-config": {"config.json": {"model_type": "qwen3_vl"}, "preprocessor_config.json": P16,
                                  "video_preprocessor_config.json": V16,
                                  "processor_config.json": {"video_processor": {**V16, "fps": 1, "max_frames": 32,
                                                                                "size": {"shortest_edge": 8192,
                                                                                         "longest_edge": 999424}}}},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_profile_matches_transformers_loading(tmp_path: Path, case: str) -> None:
    for name, content in CASES[case].items():
        (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
    image = AutoImageProcessor.from_pretrained(str(tmp_path), local_files_only=True)
    video = AutoVideoProcessor.from_pretrained(str(tmp_path), local_files_only=True)
    p = profile_from_model_dir(tmp_path)
    assert (p.image_min_pixels, p.image_max_pixels) == (image.size["shortest_edge"], image.size["longest_edge"])
    assert (p.patch_size, p.merge_size, p.temporal_patch_size) == (image.patch_size, image.merge_size,
                                                                   image.temporal_patch_size)
    v = p.video
    assert v.kind == {"Qwen2VLVideoProcessor": "qwen2vl", "Qwen3VLVideoProcessor": "qwen3vl"}[type(video).__name__]
    assert (v.min_pixels, v.max_pixels) == (video.size["shortest_edge"], video.size["longest_edge"])
    assert (v.patch_size, v.merge_size, v.temporal_patch_size) == (video.patch_size, video.merge_size,
                                                                   video.temporal_patch_size)
    assert (v.fps, v.num_frames, v.min_frames, v.max_frames) == (video.fps, video.num_frames, video.min_frames,
                                                                 video.max_frames)
    assert v.do_sample_frames == bool(video.do_sample_frames)
