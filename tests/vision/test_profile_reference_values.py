"""The family profiles agree with the processor configs and token ids found with the official chat
templates.

Every expected value below is copied from the shared reference's ``templates/sources.md``, section
"Ids and processor defaults found with them" (it is not read from ``qwenlint.vision.profiles``):

* Qwen3.5 / Qwen3.6: ``preprocessor_config.json`` (390 B, sha256 ``27225450…``, pinned for
  Qwen3.5-0.8B, a 9B conversion and Qwen3.6) and ``video_preprocessor_config.json`` (385 B,
  ``7768af27…``) -- hash-checked files; the ids were found with them.
* Qwen2.5-Omni: ``preprocessor_config.json`` (667 B, ``b47055ce…``, pinned for Qwen2.5-Omni-3B);
  no video config, so the processor's own video defaults apply.
* Qwen3-Omni-30B-A3B: third-party copies of config.json / preprocessor_config.json, NOT a hash
  check (kept here so a change is noticed, not as proof).
* Qwen4-Exp: transformers 5.23's ``qwen4_exp`` configuration defaults and auto mappings; no
  published preprocessor file, so only ids and classes are checked.
"""

from __future__ import annotations

import pytest

from qwenlint.checkpoints import special_tokens
from qwenlint.vision import get_profile

#: sources.md: "patch 16, merge 2, temporal 2, size shortest_edge 65536 / longest_edge 16777216,
#: Qwen2VLImageProcessorFast"; video "shortest_edge 4096, longest_edge 25165824,
#: Qwen3VLVideoProcessor, no fps (class defaults: fps 2, 4..768 frames)"; processor Qwen3VLProcessor;
#: "vision_start 248053, vision_end 248054, image 248056, video 248057".
QWEN35_FILES = {
    "patch_size": 16, "merge_size": 2, "temporal_patch_size": 2,
    "image_min_pixels": 65536, "image_max_pixels": 16777216,
    "video": {"kind": "qwen3vl", "min_pixels": 4096, "max_pixels": 25165824, "patch_size": 16,
              "temporal_patch_size": 2, "merge_size": 2, "fps": 2, "min_frames": 4, "max_frames": 768},
    "ids": {"image": 248056, "video": 248057, "vision_start": 248053, "vision_end": 248054},
    "processor_class": "Qwen3VLProcessor", "video_processor_class": "Qwen3VLVideoProcessor",
}
#: sources.md: "patch 14, merge 2, temporal 2, min_pixels 3136, max_pixels 12845056"; "No video
#: config: transformers' processor defaults (min_pixels 100352, max_pixels 602112)"; "audio 151646
#: <|AUDIO|>, image 151655 <|IMAGE|>, video 151656 <|VIDEO|>, audio_bos/eos 151647/151648,
#: vision_bos/eos 151652/151653".
OMNI25_FILES = {
    "patch_size": 14, "merge_size": 2, "temporal_patch_size": 2,
    "image_min_pixels": 3136, "image_max_pixels": 12845056,
    "video": {"min_pixels": 100352, "max_pixels": 602112, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2},
    "ids": {"image": 151655, "video": 151656, "vision_start": 151652, "vision_end": 151653, "audio": 151646},
    "strings": {"image": "<|IMAGE|>", "video": "<|VIDEO|>", "audio": "<|AUDIO|>"},
}
#: sources.md (third-party copies, not a hash check): "image 151655, video 151656, audio 151675,
#: vision_start/end 151652/151653"; "patch 16, merge 2, temporal 2, min_pixels 3136, max_pixels
#: 12845056; no video config (transformers' defaults: size 131072..786432)".
OMNI3_COPIES = {
    "patch_size": 16, "merge_size": 2, "temporal_patch_size": 2,
    "image_min_pixels": 3136, "image_max_pixels": 12845056,
    "video": {"min_pixels": 131072, "max_pixels": 786432, "patch_size": 16},
    "ids": {"image": 151655, "video": 151656, "vision_start": 151652, "vision_end": 151653, "audio": 151675},
}


def _ids(family: str) -> dict[str, int | None]:
    t = get_profile(family).tokens
    ids = {"image": t.image_pad_id, "video": t.video_pad_id, "vision_start": t.vision_start_id,
           "vision_end": t.vision_end_id}
    if t.audio_pad_id is not None:
        ids["audio"] = t.audio_pad_id
    return ids


def _check(family: str, expected: dict) -> None:
    p = get_profile(family)
    got = {k: getattr(p, k) for k in ("patch_size", "merge_size", "temporal_patch_size", "image_min_pixels",
                                       "image_max_pixels")}
    assert got == {k: expected[k] for k in got}, family
    video = {k: getattr(p.video, k) for k in expected["video"]}
    assert video == expected["video"], family
    assert _ids(family) == expected["ids"], family
    for key in ("processor_class", "video_processor_class"):
        if key in expected:
            assert getattr(p, key) == expected[key], (family, key)


@pytest.mark.parametrize("family", ["qwen3.5", "qwen3.6"])
def test_qwen35_and_qwen36_profiles_match_the_pinned_processor_files(family):
    _check(family, QWEN35_FILES)
    # the file names the fast class, which transformers 5.x loads under the plain name
    assert get_profile(family).image_processor_class.removesuffix("Fast") == "Qwen2VLImageProcessor"


def test_qwen25_omni_profile_matches_the_pinned_processor_file():
    _check("qwen2.5-omni", OMNI25_FILES)
    t = get_profile("qwen2.5-omni").tokens
    assert (t.image_pad, t.video_pad, t.audio_pad) == tuple(OMNI25_FILES["strings"].values())
    assert (t.vision_start, t.vision_end) == ("<|vision_bos|>", "<|vision_eos|>")


def test_qwen3_omni_profile_matches_the_third_party_copies():
    _check("qwen3-omni", OMNI3_COPIES)


def test_qwen4_exp_profile_has_the_transformers_defaults():
    # sources.md: "qwen4_exp in transformers 5.23: Qwen3VLProcessor, Qwen2VLImageProcessor,
    # Qwen3VLVideoProcessor; config defaults image 248056, video 248057, vision_start/end 248053/248054"
    p = get_profile("qwen4-exp")
    assert _ids("qwen4-exp") == QWEN35_FILES["ids"]
    assert (p.processor_class, p.image_processor_class.removesuffix("Fast"), p.video_processor_class) == (
        "Qwen3VLProcessor", "Qwen2VLImageProcessor", "Qwen3VLVideoProcessor")
    assert "qwen4_exp" in p.model_types


def test_tiny_checkpoint_tokenizers_put_the_specials_at_the_published_ids():
    # sources.md: Qwen3.5/3.6 "<|endoftext|> 248044, <|im_start|> 248045, <|im_end|> 248046" beside
    # the vision ids; Qwen2.5-Omni audio_bos/eos 151647/151648 (qwenlint.checkpoints writes them).
    qwen35 = special_tokens("qwen3.5")
    assert {k: qwen35[k] for k in ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>",
                                   "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")} == {
        "<|endoftext|>": 248044, "<|im_start|>": 248045, "<|im_end|>": 248046, "<|vision_start|>": 248053,
        "<|vision_end|>": 248054, "<|image_pad|>": 248056, "<|video_pad|>": 248057}
    omni = special_tokens("qwen2.5-omni")
    assert {k: omni[k] for k in ("<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>", "<|IMAGE|>", "<|VIDEO|>",
                                 "<|vision_bos|>", "<|vision_eos|>")} == {
        "<|AUDIO|>": 151646, "<|audio_bos|>": 151647, "<|audio_eos|>": 151648, "<|IMAGE|>": 151655,
        "<|VIDEO|>": 151656, "<|vision_bos|>": 151652, "<|vision_eos|>": 151653}
