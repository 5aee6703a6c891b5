"""`profile_from_model_dir` against what transformers itself loads from the same local directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from transformers import AutoImageProcessor, AutoProcessor, AutoVideoProcessor

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


CHECKPOINTS = ("qwen3.5", "qwen3.6", "qwen4-exp", "renamed-qwen4-exp", "renamed-qwen2.5-vl", "qwen2.5-omni",
               "renamed-qwen3-omni")


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_checkpoint_profile_matches_its_processor(name: str) -> None:
    """A checkpoint written by the real classes (``_real.tiny_checkpoint``; ``renamed-*``: its
    config.json model_type is one neither library knows): the profile read off its files is what
    ``AutoProcessor.from_pretrained`` loads from them -- classes, sizes, and the pad ids the
    processor counts (and the model config checks)."""
    path = real.tiny_checkpoint(name)
    proc = real.checkpoint_processor(name)
    p = profile_from_model_dir(path)
    image, video = proc.image_processor, proc.video_processor
    assert (p.processor_class, p.video_processor_class) == (type(proc).__name__, type(video).__name__)
    assert p.image_processor_class == type(image).__name__
    assert (p.image_min_pixels, p.image_max_pixels) == (image.size["shortest_edge"], image.size["longest_edge"])
    assert (p.patch_size, p.merge_size, p.temporal_patch_size) == (image.patch_size, image.merge_size,
                                                                   image.temporal_patch_size)
    v = p.video
    # the Omni processors replace the loaded video size at every call (their videos_kwargs)
    assert v.processor_size == (video.size["shortest_edge"], video.size["longest_edge"])
    if v.own_size is not None:
        size = type(proc).videos_kwargs["size"]
        assert (v.min_pixels, v.max_pixels) == (size["shortest_edge"], size["longest_edge"])
    assert (v.fps, v.num_frames, v.min_frames, v.max_frames) == (video.fps, video.num_frames, video.min_frames,
                                                                 video.max_frames)
    assert v.do_sample_frames == bool(video.do_sample_frames)
    t = p.tokens
    assert (t.image_pad_id, t.video_pad_id) == (proc.image_token_id, proc.video_token_id)
    assert (t.image_pad, t.video_pad) == (proc.image_token, proc.video_token)
    config = json.loads((Path(path) / "config.json").read_text())
    scope = config.get("thinker_config", config)
    assert t.image_pad_id == scope.get("image_token_id", scope.get("image_token_index"))


@pytest.mark.parametrize(("file", "key", "what"), [
    ("processor_config.json", "processor_class", "processor class"),
    ("processor_config.json", ("image_processor", "image_processor_type"), "image processor"),
    ("processor_config.json", ("video_processor", "video_processor_type"), "video processor"),
])
def test_a_class_neither_knows_is_named(tmp_path: Path, file: str, key, what: str) -> None:
    """A renamed-model-type checkpoint whose files name a class that does not exist: transformers
    loads no processor from it (an unknown image / video processor class raises; an unknown
    processor class leaves AutoProcessor with the bare tokenizer, its last resort), and qwenlint's
    error names the class and the file instead of the model type."""
    import shutil

    from qwenlint.vision import ProfileError

    path = tmp_path / "ckpt"
    shutil.copytree(real.tiny_checkpoint("renamed-qwen4-exp"), path)
    data = json.loads((path / file).read_text())
    if isinstance(key, tuple):
        data[key[0]][key[1]] = "QwenFutureThing"
    else:
        data[key] = "QwenFutureThing"
    (path / file).write_text(json.dumps(data))
    expected = real.outcome(lambda: AutoProcessor.from_pretrained(str(path), local_files_only=True))
    if what == "processor class":
        assert expected[0] == "ok" and type(expected[1]).__name__ == "Qwen2Tokenizer", expected
    else:
        assert expected[:2] == ("error", "ValueError") and f"Unrecognized {what} in" in expected[2], expected
    with pytest.raises(ProfileError) as info:
        profile_from_model_dir(path)
    assert f"{what} QwenFutureThing ({file}) is not one qwenlint models; known: " in str(info.value)
    assert "model_type" not in info.value.message
