"""Family profiles: the processor numbers and token strings each Qwen VL family runs with.

Sources (see docs/token-math.md and shared reference token-math §2b, §3, §4):

* image processor bounds from the published ``preprocessor_config.json`` files: Qwen2-VL /
  Qwen2.5-VL ``3136 .. 12845056`` (patch 14), Qwen3-VL ``65536 .. 16777216`` (patch 16);
* video processor class from transformers' ``AutoVideoProcessor`` mapping
  (``models/auto/video_processing_auto.py``): ``Qwen2VLVideoProcessor`` (2-D, per-frame budget)
  for qwen2_vl, qwen2_5_vl, qwen2_5_omni, qwen3_omni_moe; ``Qwen3VLVideoProcessor`` (3-D budget
  over T*H*W, fps 2, do_sample_frames) for qwen3_vl(_moe), qwen3_5(_moe);
* Omni processor-level ``videos_kwargs`` (``Qwen2_5OmniProcessor.videos_kwargs`` /
  ``Qwen3OmniMoeProcessor.videos_kwargs``) that override the loaded video size at every call;
* token ids from the transformers configuration defaults (``configuration_*.py``).

Known only from third-party copies of the published files (flagged in `Profile.unverified`):
Qwen3.5 and both Omni preprocessor values, Qwen3-Omni's token ids (its thinker config uses
audio_token_id 151675, not the transformers default 151646; its image processor keeps
min_pixels 3136 / max_pixels 12845056 with patch 16).

`profile_from_model_dir` reads a local checkpoint's JSON files in transformers' priority order.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any, Literal

VideoKind = Literal["qwen2vl", "qwen3vl"]


class ProfileError(Exception):
    """A model directory's configuration cannot be read or makes no sense (no traceback for users)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


@dataclass(frozen=True)
class VideoConfig:
    """The video processor as a call sees it (after any processor-level override).

    ``min_pixels``/``max_pixels`` are ``size["shortest_edge"]``/``size["longest_edge"]``: per frame
    for ``kind="qwen2vl"``, over the whole ``T*H*W`` for ``kind="qwen3vl"``.
    """

    kind: VideoKind
    min_pixels: int
    max_pixels: int
    patch_size: int
    temporal_patch_size: int = 2
    merge_size: int = 2
    do_sample_frames: bool = False
    fps: float | None = None
    num_frames: int | None = None
    min_frames: int = 4
    max_frames: int = 768
    #: The video processor's own ``size`` edges (its config) where the processor replaces them at
    #: every call (the Omni processors' ``videos_kwargs``); None: ``min_pixels`` / ``max_pixels``.
    #: vLLM fills a partial per-request size from these (``video_processor.size``).
    own_size: tuple[int, int] | None = None

    @property
    def processor_size(self) -> tuple[int, int]:
        """The video processor's own ``size`` edges (shortest, longest)."""
        return self.own_size or (self.min_pixels, self.max_pixels)


@dataclass(frozen=True)
class Tokens:
    """Placeholder strings and ids (``None`` where the family has no such token)."""

    image_pad: str
    video_pad: str
    vision_start: str
    vision_end: str
    image_pad_id: int
    video_pad_id: int
    vision_start_id: int | None
    vision_end_id: int | None
    audio_pad: str | None = None
    audio_pad_id: int | None = None


@dataclass(frozen=True)
class Profile:
    """Everything the predictor needs to know about one family (or one checkpoint).

    ``qvu_image_patch_size`` is the ``image_patch_size`` the official README passes to
    ``process_vision_info`` (14 for Qwen2/2.5, 16 for Qwen3/3.5).  ``video_timestamps``: the
    processor writes ``<t seconds>`` text per temporal group (Qwen3VLProcessor).
    ``omni_fps_default``: the fps an Omni processor assumes for ``video_second_per_grid``.
    """

    family: str
    model_types: tuple[str, ...]
    patch_size: int
    merge_size: int
    temporal_patch_size: int
    image_min_pixels: int
    image_max_pixels: int
    video: VideoConfig
    qvu_image_patch_size: int
    tokens: Tokens
    video_timestamps: bool
    is_omni: bool = False
    omni_fps_default: float | None = None
    #: Which of ``min_pixels`` / ``max_pixels`` the image processor's config names (Qwen2-VL,
    #: Qwen2.5-VL and the Omni files do; Qwen3-VL's has only ``size``).  transformers before 5.0
    #: keeps them as attributes that fill a call's missing bound, so a call's ``size`` is ignored.
    image_pixel_keys: tuple[str, ...] = ()
    #: Whether video_preprocessor_config.json / preprocessor_config.json name the video processor
    #: (``video_processor_type``; vLLM 0.30 picks the video loader by it).  None: not known.
    video_processor_named: bool | None = None
    source: str = "published checkpoint defaults"
    unverified: tuple[str, ...] = field(default=())

    @property
    def factor(self) -> int:
        """``patch_size * merge_size``: what image sides are rounded to (28 or 32)."""
        return self.patch_size * self.merge_size

    def replace(self, **changes: Any) -> Profile:
        """A copy with some fields changed (``video=`` takes a `VideoConfig`)."""
        return dataclasses.replace(self, **changes)


_QWEN_TOKENS = Tokens("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>",
                      151655, 151656, 151652, 151653)
_QWEN35_TOKENS = Tokens("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>",
                        248056, 248057, 248053, 248054)
_OMNI25_TOKENS = Tokens("<|IMAGE|>", "<|VIDEO|>", "<|vision_bos|>", "<|vision_eos|>",
                        151655, 151656, 151652, 151653, "<|AUDIO|>", 151646)
# The published Qwen3-Omni thinker config: audio_token_id 151675 (the transformers class default,
# 151646, is not what the checkpoints use), vision start/end 151652/151653.
_OMNI3_TOKENS = Tokens("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>",
                       151655, 151656, 151652, 151653, "<|audio_pad|>", 151675)

_P14_IMAGE = (3136, 12845056)        # 4*28^2 .. 16384*28^2
_P16_IMAGE = (65536, 16777216)       # 64*32^2 .. 16384*32^2
# Qwen3-Omni's preprocessor_config.json keeps Qwen2.5-Omni's min/max_pixels with patch 16
# (Qwen2VLImageProcessor: min_pixels / max_pixels override `size`).
_OMNI3_IMAGE = (3136, 12845056)
_PIXEL_KEYS = ("min_pixels", "max_pixels")  # the files above that write min_pixels / max_pixels

PROFILES: dict[str, Profile] = {
    "qwen2-vl": Profile(
        "qwen2-vl", ("qwen2_vl",), 14, 2, 2, *_P14_IMAGE,
        # No video_preprocessor_config.json is published: the video processor loads
        # preprocessor_config.json (min_pixels/max_pixels override its class size).
        VideoConfig("qwen2vl", *_P14_IMAGE, patch_size=14),
        14, _QWEN_TOKENS, False, image_pixel_keys=_PIXEL_KEYS, video_processor_named=False),
    "qwen2.5-vl": Profile(
        "qwen2.5-vl", ("qwen2_5_vl",), 14, 2, 2, *_P14_IMAGE,
        VideoConfig("qwen2vl", *_P14_IMAGE, patch_size=14),
        14, _QWEN_TOKENS, False, image_pixel_keys=_PIXEL_KEYS, video_processor_named=False),
    "qwen3-vl": Profile(
        "qwen3-vl", ("qwen3_vl", "qwen3_vl_moe"), 16, 2, 2, *_P16_IMAGE,
        VideoConfig("qwen3vl", 4096, 25165824, patch_size=16, do_sample_frames=True, fps=2),
        16, _QWEN_TOKENS, True, video_processor_named=True),
    "qwen3.5": Profile(
        "qwen3.5", ("qwen3_5", "qwen3_5_moe"), 16, 2, 2, *_P16_IMAGE,
        VideoConfig("qwen3vl", 4096, 25165824, patch_size=16, do_sample_frames=True, fps=2),
        16, _QWEN35_TOKENS, True,
        unverified=("preprocessor values from third-party Qwen3.5/3.6 copies only",)),
    "qwen2.5-omni": Profile(
        "qwen2.5-omni", ("qwen2_5_omni", "qwen2_5_omni_thinker"), 14, 2, 2, *_P14_IMAGE,
        # Qwen2_5OmniProcessor.videos_kwargs: size 128*28*28 .. 768*28*28 at every call.
        VideoConfig("qwen2vl", 128 * 28 * 28, 768 * 28 * 28, patch_size=14, own_size=_P14_IMAGE),
        14, _OMNI25_TOKENS, False, is_omni=True, omni_fps_default=2.0, image_pixel_keys=_PIXEL_KEYS,
        unverified=("preprocessor values from third-party copies of the published preprocessor_config.json",)),
    "qwen3-omni": Profile(
        "qwen3-omni", ("qwen3_omni_moe", "qwen3_omni_moe_thinker"), 16, 2, 2, *_OMNI3_IMAGE,
        # Qwen3OmniMoeProcessor.videos_kwargs: size 128*32*32 .. 768*32*32; 2-D video processor.
        VideoConfig("qwen2vl", 128 * 32 * 32, 768 * 32 * 32, patch_size=16, own_size=_OMNI3_IMAGE),
        16, _OMNI3_TOKENS, False, is_omni=True, omni_fps_default=1.0, image_pixel_keys=_PIXEL_KEYS,
        unverified=("preprocessor values and token ids from third-party copies of the published "
                    "preprocessor_config.json / config.json / tokenizer_config.json",)),
}

#: The family assumed when neither ``--family`` nor ``--model`` names one.
DEFAULT_FAMILY = "qwen2.5-vl"

#: config.json ``model_type`` -> family name: the one table of it.
MODEL_TYPES: dict[str, str] = {mt: name for name, p in PROFILES.items() for mt in p.model_types}

#: Processor-level ``videos_kwargs["size"]`` of the Omni processors (beat any loaded config).
_OMNI_VIDEO_SIZE: dict[str, tuple[int, int]] = {
    "qwen2.5-omni": (128 * 28 * 28, 768 * 28 * 28),
    "qwen3-omni": (128 * 32 * 32, 768 * 32 * 32),
}

#: Class defaults of the two video processors (transformers 5.23 class attributes).
_VIDEO_CLASS_DEFAULTS: dict[VideoKind, VideoConfig] = {
    "qwen2vl": VideoConfig("qwen2vl", 128 * 28 * 28, 28 * 28 * 768, patch_size=14),
    "qwen3vl": VideoConfig("qwen3vl", 128 * 32 * 32, 32 * 32 * 768, patch_size=16,
                           do_sample_frames=True, fps=2),
}
_VIDEO_TYPES: dict[str, VideoKind] = {"Qwen2VLVideoProcessor": "qwen2vl", "Qwen3VLVideoProcessor": "qwen3vl"}


def get_profile(family: str) -> Profile:
    """The published-defaults profile of ``family`` (``qwen2-vl`` ... ``qwen3-omni``)."""
    try:
        return PROFILES[family]
    except KeyError:
        raise ProfileError(f"unknown family {family!r}; expected one of {', '.join(PROFILES)}") from None


def _read_json(path: str) -> dict[str, Any] | None:
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read: {exc}", path) from None
    if not isinstance(data, dict):
        raise ProfileError(f"expected a JSON object, got {type(data).__name__}", path)
    return data


def _positive_int(value: Any, what: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ProfileError(f"{what} must be a positive integer, got {value!r}", path)
    return value


def _bounds(cfg: dict[str, Any], default: tuple[int, int], path: str, legacy_keys: bool) -> tuple[int, int]:
    """``size`` dict, overridden by ``min_pixels``/``max_pixels`` where ``__init__`` honours them."""
    lo, hi = default
    size = cfg.get("size")
    if size is not None:
        if not isinstance(size, dict):
            raise ProfileError(f"'size' must be an object, got {size!r}", path)
        lo = size.get("shortest_edge", lo)
        hi = size.get("longest_edge", hi)
    if legacy_keys:
        lo = cfg.get("min_pixels") if cfg.get("min_pixels") is not None else lo
        hi = cfg.get("max_pixels") if cfg.get("max_pixels") is not None else hi
    return _positive_int(lo, "shortest_edge / min_pixels", path), _positive_int(hi, "longest_edge / max_pixels", path)


def _model_config_value(config: dict[str, Any], *keys: str) -> Any:
    """First of ``keys`` at the top level or inside ``thinker_config`` (Omni)."""
    scopes = [config]
    if isinstance(config.get("thinker_config"), dict):
        scopes.append(config["thinker_config"])
    for scope in scopes:
        for key in keys:
            if isinstance(scope.get(key), int) and not isinstance(scope.get(key), bool):
                return scope[key]
    return None


def profile_from_model_dir(path: str | os.PathLike[str], family: str | None = None) -> Profile:
    """The profile of a local checkpoint directory.

    Reads ``config.json`` (``model_type`` -> family, token ids), then the image processor from
    ``processor_config.json["image_processor"]`` else ``preprocessor_config.json``, and the video
    processor from ``processor_config.json["video_processor"]`` else
    ``video_preprocessor_config.json`` else ``preprocessor_config.json``
    (``VideoProcessorMixin.get_video_processor_dict``), over the class defaults.  Omni
    processor-level video sizes are applied last.  ``family`` overrides the detected family.

    Raises `ProfileError` for a missing directory, unreadable or invalid JSON, an unknown
    ``model_type`` (when ``family`` is not given) or a non-integer size.
    """
    root = os.fspath(path)
    if not os.path.isdir(root):
        raise ProfileError("not a directory", root)
    config = _read_json(os.path.join(root, "config.json")) or {}
    if family is None:
        model_type = config.get("model_type")
        if model_type is None:
            raise ProfileError("config.json has no 'model_type' (pass the family explicitly)", root)
        if model_type not in MODEL_TYPES:
            raise ProfileError(f"model_type {model_type!r} is not a Qwen vision-language family", root)
        family = MODEL_TYPES[model_type]
    base = get_profile(family)

    processor_cfg = _read_json(os.path.join(root, "processor_config.json")) or {}
    image_path = os.path.join(root, "preprocessor_config.json")
    image_cfg = processor_cfg.get("image_processor") if isinstance(processor_cfg.get("image_processor"), dict) else None
    preprocessor = _read_json(image_path)
    if image_cfg is None:
        image_cfg = preprocessor or {}
    video_path = os.path.join(root, "video_preprocessor_config.json")
    video_file = _read_json(video_path)
    video_cfg = processor_cfg.get("video_processor") if isinstance(processor_cfg.get("video_processor"), dict) else None
    if video_cfg is None:
        video_cfg = video_file
    if video_cfg is None:
        video_cfg = preprocessor or {}
        video_path = image_path

    # Image processor: Qwen2VLImageProcessor class defaults, then the file.
    patch = _positive_int(image_cfg.get("patch_size", 14), "patch_size", image_path)
    merge = _positive_int(image_cfg.get("merge_size", 2), "merge_size", image_path)
    temporal = _positive_int(image_cfg.get("temporal_patch_size", 2), "temporal_patch_size", image_path)
    img_lo, img_hi = _bounds(image_cfg, (56 * 56, 28 * 28 * 1280), image_path, legacy_keys=True)

    # Video processor: class chosen by video_processor_type, else by the family; class defaults, then the file.
    kind = _VIDEO_TYPES.get(str(video_cfg.get("video_processor_type")), base.video.kind)
    cls = _VIDEO_CLASS_DEFAULTS[kind]
    vid_lo, vid_hi = _bounds(video_cfg, (cls.min_pixels, cls.max_pixels), video_path, legacy_keys=(kind == "qwen2vl"))
    own_size = None
    if family in _OMNI_VIDEO_SIZE:
        own_size = (vid_lo, vid_hi)
        vid_lo, vid_hi = _OMNI_VIDEO_SIZE[family]
    fps = video_cfg.get("fps", cls.fps)
    num_frames = video_cfg.get("num_frames", cls.num_frames)
    video = VideoConfig(
        kind, vid_lo, vid_hi,
        patch_size=_positive_int(video_cfg.get("patch_size", cls.patch_size), "patch_size", video_path),
        temporal_patch_size=_positive_int(video_cfg.get("temporal_patch_size", cls.temporal_patch_size),
                                          "temporal_patch_size", video_path),
        merge_size=_positive_int(video_cfg.get("merge_size", cls.merge_size), "merge_size", video_path),
        do_sample_frames=bool(video_cfg.get("do_sample_frames", cls.do_sample_frames)),
        fps=fps if isinstance(fps, (int, float)) and not isinstance(fps, bool) else None,
        num_frames=num_frames if isinstance(num_frames, int) and not isinstance(num_frames, bool) else None,
        min_frames=_positive_int(video_cfg.get("min_frames", cls.min_frames), "min_frames", video_path),
        max_frames=_positive_int(video_cfg.get("max_frames", cls.max_frames), "max_frames", video_path),
        own_size=own_size,
    )

    t = base.tokens
    tokens = dataclasses.replace(
        t,
        image_pad_id=_model_config_value(config, "image_token_id", "image_token_index") or t.image_pad_id,
        video_pad_id=_model_config_value(config, "video_token_id", "video_token_index") or t.video_pad_id,
        vision_start_id=_model_config_value(config, "vision_start_token_id") or t.vision_start_id,
        vision_end_id=_model_config_value(config, "vision_end_token_id") or t.vision_end_id,
        audio_pad_id=_model_config_value(config, "audio_token_id", "audio_token_index") or t.audio_pad_id,
    )
    return base.replace(patch_size=patch, merge_size=merge, temporal_patch_size=temporal,
                        image_min_pixels=img_lo, image_max_pixels=img_hi, video=video, tokens=tokens,
                        image_pixel_keys=tuple(k for k in _PIXEL_KEYS if image_cfg.get(k) is not None),
                        # the two files vLLM 0.30 reads (transformers_utils/processor.py)
                        video_processor_named=any("video_processor_type" in (c or {}) for c in (video_file, preprocessor)),
                        source=root)
