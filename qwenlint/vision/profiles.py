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

Checked against hash-pinned copies of the published files (the shared reference's
templates/sources.md; tests/vision/test_profile_reference_values.py): Qwen3.5 / Qwen3.6's
preprocessor_config.json and video_preprocessor_config.json and ids, Qwen2.5-Omni's
preprocessor_config.json and ids.  Known only from third-party copies of the published files
(flagged in `Profile.unverified`): Qwen3-Omni's preprocessor values and token ids (its thinker
config uses audio_token_id 151675, not the transformers default 151646; its image processor keeps
min_pixels 3136 / max_pixels 12845056 with patch 16); Qwen4-Exp has no published file at all.

Adding a family is a data change: a row of `PROFILES` (its model types, the processor classes
transformers' auto mappings give them, bounds and token ids).  What each processor class does that
the predictor models is a row of `PROCESSOR_CLASSES`; the image / video processor classes are
`IMAGE_PROCESSOR_CLASSES` / `VIDEO_PROCESSOR_CLASSES`.

Qwen3.6 checkpoints have Qwen3.5's model types (``qwen3_5`` / ``qwen3_5_moe``) and processor values:
`MODEL_TYPES` maps those types to ``qwen3.5`` (the first row that lists them); ``--family qwen3.6``
picks the Qwen3.6 name (its bundled chat template) with identical predictions.  Qwen4-Exp
(``qwen4_exp``, transformers 5.16.0 and later) loads ``Qwen3VLProcessor``,
``Qwen2VLImageProcessor`` and ``Qwen3VLVideoProcessor`` (transformers' auto mappings) and keeps
Qwen3.5's token ids (``configuration_qwen4_exp.py``); no published Qwen4-Exp preprocessor file was
read, so its family defaults are Qwen3.5's (flagged in `Profile.unverified`).

`profile_from_model_dir` reads a local checkpoint's JSON files in transformers' priority order and
builds the profile from what they name -- the processor class, the image and video processor
classes and their configs, the token ids of ``config.json`` and the tokenizer files -- so a model
type qwenlint has never seen works when its processor classes are known ones.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from qwenlint.fsio import open_regular

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
    #: The classes transformers loads for this family's model types (its auto mappings); a
    #: checkpoint's files may name others (`profile_from_model_dir`).
    processor_class: str = "Qwen2VLProcessor"
    image_processor_class: str = "Qwen2VLImageProcessor"
    video_processor_class: str = "Qwen2VLVideoProcessor"
    #: How a checkpoint's profile was derived: one line per decision (which file named the
    #: processor classes, where the token ids came from, which family was assumed and why).
    #: Empty for a family's published defaults.
    derived_from: tuple[str, ...] = ()

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

_QWEN3VL_VIDEO = VideoConfig("qwen3vl", 4096, 25165824, patch_size=16, do_sample_frames=True, fps=2)
_Q3 = {"processor_class": "Qwen3VLProcessor", "video_processor_class": "Qwen3VLVideoProcessor"}

#: The families: one row each.  ``model_types`` are config.json's ``model_type`` values (the first
#: is a checkpoint's own, the Omni ``*_thinker`` types are sub-configs); the processor classes
#: are those transformers' auto mappings load for them (``models/auto/processing_auto.py``,
#: ``image_processing_auto.py``, ``video_processing_auto.py``).
PROFILES: dict[str, Profile] = {
    "qwen2-vl": Profile(
        "qwen2-vl", ("qwen2_vl",), 14, 2, 2, *_P14_IMAGE,
        # No video_preprocessor_config.json is published: the video processor loads
        # preprocessor_config.json (min_pixels/max_pixels override its class size).
        VideoConfig("qwen2vl", *_P14_IMAGE, patch_size=14),
        14, _QWEN_TOKENS, False, image_pixel_keys=_PIXEL_KEYS, video_processor_named=False,
        processor_class="Qwen2VLProcessor"),
    "qwen2.5-vl": Profile(
        "qwen2.5-vl", ("qwen2_5_vl",), 14, 2, 2, *_P14_IMAGE,
        VideoConfig("qwen2vl", *_P14_IMAGE, patch_size=14),
        14, _QWEN_TOKENS, False, image_pixel_keys=_PIXEL_KEYS, video_processor_named=False,
        processor_class="Qwen2_5_VLProcessor"),
    "qwen3-vl": Profile(
        "qwen3-vl", ("qwen3_vl", "qwen3_vl_moe"), 16, 2, 2, *_P16_IMAGE, _QWEN3VL_VIDEO,
        16, _QWEN_TOKENS, True, video_processor_named=True, **_Q3),
    "qwen3.5": Profile(
        "qwen3.5", ("qwen3_5", "qwen3_5_moe"), 16, 2, 2, *_P16_IMAGE, _QWEN3VL_VIDEO,
        16, _QWEN35_TOKENS, True, **_Q3),
    # Qwen3.6: Qwen3.5's model types and processor (a qwen3_5 checkpoint maps to qwen3.5 unless
    # --family says qwen3.6); its own name selects its chat template.
    "qwen3.6": Profile(
        "qwen3.6", ("qwen3_5", "qwen3_5_moe"), 16, 2, 2, *_P16_IMAGE, _QWEN3VL_VIDEO,
        16, _QWEN35_TOKENS, True, **_Q3),
    "qwen4-exp": Profile(
        "qwen4-exp", ("qwen4_exp",), 16, 2, 2, *_P16_IMAGE, _QWEN3VL_VIDEO,
        16, _QWEN35_TOKENS, True,
        unverified=(("no published Qwen4-Exp preprocessor file was read: Qwen3.5's values assumed "
                     "(token ids and classes from transformers 5.23's configuration and auto mappings)"),), **_Q3),
    "qwen2.5-omni": Profile(
        "qwen2.5-omni", ("qwen2_5_omni", "qwen2_5_omni_thinker"), 14, 2, 2, *_P14_IMAGE,
        # Qwen2_5OmniProcessor.videos_kwargs: size 128*28*28 .. 768*28*28 at every call.
        VideoConfig("qwen2vl", 128 * 28 * 28, 768 * 28 * 28, patch_size=14, own_size=_P14_IMAGE),
        14, _OMNI25_TOKENS, False, is_omni=True, omni_fps_default=2.0, image_pixel_keys=_PIXEL_KEYS,
        processor_class="Qwen2_5OmniProcessor"),
    "qwen3-omni": Profile(
        "qwen3-omni", ("qwen3_omni_moe", "qwen3_omni_moe_thinker"), 16, 2, 2, *_OMNI3_IMAGE,
        # Qwen3OmniMoeProcessor.videos_kwargs: size 128*32*32 .. 768*32*32; 2-D video processor.
        VideoConfig("qwen2vl", 128 * 32 * 32, 768 * 32 * 32, patch_size=16, own_size=_OMNI3_IMAGE),
        16, _OMNI3_TOKENS, False, is_omni=True, omni_fps_default=1.0, image_pixel_keys=_PIXEL_KEYS,
        unverified=(("preprocessor values and token ids from third-party copies of the published "
                     "preprocessor_config.json / config.json / tokenizer_config.json"),),
        processor_class="Qwen3OmniMoeProcessor"),
}

#: The family assumed when neither ``--family`` nor ``--model`` names one.
DEFAULT_FAMILY = "qwen2.5-vl"

#: config.json ``model_type`` -> family name: the one table of it.  Where two rows list a type
#: (``qwen3_5``: Qwen3.5 and Qwen3.6), the first row's family is the one detected.
MODEL_TYPES: dict[str, str] = {}
for _name, _p in PROFILES.items():
    for _mt in _p.model_types:
        MODEL_TYPES.setdefault(_mt, _name)
del _name, _p, _mt


@dataclass(frozen=True)
class ProcessorClass:
    """What one transformers processor class does that the predictor models.

    ``tokens``: the placeholder strings it expands when the tokenizer names none
    (``tokenizer.image_token`` ...); ``video_size``: the ``videos_kwargs["size"]`` edges it passes
    at every call (the Omni processors), which beat the loaded video processor's own;
    ``video_processor``: the video processor class assumed when the checkpoint names none.
    """

    video_timestamps: bool
    tokens: tuple[str, str, str, str]  # image pad, video pad, vision start, vision end
    video_processor: str
    is_omni: bool = False
    omni_fps_default: float | None = None
    video_size: tuple[int, int] | None = None


_QWEN_STRINGS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")

#: Processor class -> behaviour (``Qwen3VLProcessor`` writes ``<t seconds>`` per temporal group;
#: the Omni processors override the video size and assume an fps for ``video_second_per_grid``).
PROCESSOR_CLASSES: dict[str, ProcessorClass] = {
    "Qwen2VLProcessor": ProcessorClass(False, _QWEN_STRINGS, "Qwen2VLVideoProcessor"),
    "Qwen2_5_VLProcessor": ProcessorClass(False, _QWEN_STRINGS, "Qwen2VLVideoProcessor"),
    "Qwen3VLProcessor": ProcessorClass(True, _QWEN_STRINGS, "Qwen3VLVideoProcessor"),
    "Qwen2_5OmniProcessor": ProcessorClass(False, ("<|IMAGE|>", "<|VIDEO|>", "<|vision_bos|>", "<|vision_eos|>"),
                                           "Qwen2VLVideoProcessor", is_omni=True, omni_fps_default=2.0,
                                           video_size=(128 * 28 * 28, 768 * 28 * 28)),
    "Qwen3OmniMoeProcessor": ProcessorClass(False, _QWEN_STRINGS, "Qwen2VLVideoProcessor", is_omni=True,
                                            omni_fps_default=1.0, video_size=(128 * 32 * 32, 768 * 32 * 32)),
}

#: Image processor classes: every one is ``Qwen2VLImageProcessor``'s arithmetic (transformers 5
#: names the torchvision class ``Qwen2VLImageProcessor`` and the PIL one ``...Pil``; 4.x had
#: ``Qwen2VLImageProcessor`` and ``...Fast``).
IMAGE_PROCESSOR_CLASSES = ("Qwen2VLImageProcessor", "Qwen2VLImageProcessorFast", "Qwen2VLImageProcessorPil")

#: Video processor class -> the predictor's video kind.
VIDEO_PROCESSOR_CLASSES: dict[str, VideoKind] = {"Qwen2VLVideoProcessor": "qwen2vl",
                                                 "Qwen3VLVideoProcessor": "qwen3vl"}

#: Class defaults of the two video processors (transformers 5.23 class attributes).
_VIDEO_CLASS_DEFAULTS: dict[VideoKind, VideoConfig] = {
    "qwen2vl": VideoConfig("qwen2vl", 128 * 28 * 28, 28 * 28 * 768, patch_size=14),
    "qwen3vl": VideoConfig("qwen3vl", 128 * 32 * 32, 32 * 32 * 768, patch_size=16,
                           do_sample_frames=True, fps=2),
}


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
        with open_regular(path, "r", encoding="utf-8") as fh:
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


def _model_config_value(config: dict[str, Any], *keys: str) -> tuple[int, str] | None:
    """First of ``keys`` (an integer) at the top level of config.json, in ``text_config`` or in
    ``thinker_config`` (Omni), and where it was found."""
    scopes = [(config, "config.json")]
    for sub in ("text_config", "thinker_config"):
        if isinstance(config.get(sub), dict):
            scopes.append((config[sub], f"config.json {sub}"))
    for scope, where in scopes:
        for key in keys:
            value = scope.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value, f"{where} {key}"
    return None


def _read_quiet(path: str) -> dict[str, Any] | None:
    """A tokenizer file, or None when it is missing or unreadable (the template stage reports a
    broken tokenizer_config.json; the profile only looks token ids up in it)."""
    try:
        return _read_json(path)
    except ProfileError:
        return None


class _AddedTokens:
    """The tokenizer's added tokens (string -> id): ``tokenizer.json`` ``added_tokens`` (what the
    fast tokenizer loads), then ``tokenizer_config.json`` ``added_tokens_decoder``; read on first use."""

    def __init__(self, root: str, tokenizer_config: dict[str, Any] | None) -> None:
        self.root = root
        self.tables: list[tuple[dict[str, int], str]] | None = None
        self.tokenizer_config = tokenizer_config

    def _load(self) -> list[tuple[dict[str, int], str]]:
        tables = []
        added = (_read_quiet(os.path.join(self.root, "tokenizer.json")) or {}).get("added_tokens")
        if isinstance(added, list):
            tables.append(({t["content"]: t["id"] for t in added if isinstance(t, dict)
                            and isinstance(t.get("content"), str) and isinstance(t.get("id"), int)},
                           "tokenizer.json added_tokens"))
        decoder = (self.tokenizer_config or {}).get("added_tokens_decoder")
        if isinstance(decoder, dict):
            tables.append(({v["content"]: int(k) for k, v in decoder.items()
                            if isinstance(v, dict) and isinstance(v.get("content"), str) and str(k).isdigit()},
                           "tokenizer_config.json added_tokens_decoder"))
        return tables

    def get(self, token: str) -> tuple[int, str] | None:
        if self.tables is None:
            self.tables = self._load()
        for table, where in self.tables:
            if token in table:
                return table[token], where
        return None


#: Tokens field -> the config.json keys that hold its id.
_ID_KEYS = {"image_pad_id": ("image_token_id", "image_token_index"),
            "video_pad_id": ("video_token_id", "video_token_index"),
            "vision_start_id": ("vision_start_token_id",),
            "vision_end_id": ("vision_end_token_id",)}
#: Tokens field -> the names a tokenizer gives the token (``tokenizer.image_token`` ...), which
#: the processors read before their own defaults.
_NAMED_TOKENS = {"image_pad": ("image_token",), "video_pad": ("video_token",),
                 "vision_start": ("vision_start_token", "vision_bos_token"),
                 "vision_end": ("vision_end_token", "vision_eos_token")}


def _named_processor_class(files: list[tuple[str, dict[str, Any] | None]]) -> tuple[str, str] | None:
    """``processor_class`` of the first file that names one, in AutoProcessor's order."""
    for name, data in files:
        value = (data or {}).get("processor_class")
        if isinstance(value, str) and value:
            return value, name
    return None


def _unknown(what: str, name: str, where: str, known: Any) -> str:
    return f"{what} {name} ({where}) is not one qwenlint models; known: {', '.join(known)}"


def _nearest_family(processor_class: str, image_pad_id: int | None, video_class: str | None) -> Profile:
    """The family row closest to a checkpoint of an unknown model type: same processor class,
    then the same image pad id, then the same video processor class."""
    rows = [p for p in PROFILES.values() if p.processor_class == processor_class]
    return max(rows, key=lambda p: (p.tokens.image_pad_id == image_pad_id,
                                    p.video_processor_class == video_class, -list(PROFILES).index(p.family)))


def profile_from_model_dir(path: str | os.PathLike[str], family: str | None = None) -> Profile:
    """The profile of a local checkpoint directory, from what its files say.

    * the processor class: ``processor_class`` of ``processor_config.json``, else
      ``preprocessor_config.json``, ``video_preprocessor_config.json``, ``tokenizer_config.json``,
      ``config.json`` (AutoProcessor's order), else the one transformers maps the family's model
      type to; its behaviour is `PROCESSOR_CLASSES`' row;
    * the image processor from ``processor_config.json["image_processor"]`` else
      ``preprocessor_config.json``, and the video processor from
      ``processor_config.json["video_processor"]`` else ``video_preprocessor_config.json`` else
      ``preprocessor_config.json`` (``VideoProcessorMixin.get_video_processor_dict``): their
      ``image_processor_type`` / ``video_processor_type`` (else the family's classes) and values,
      over the class defaults.  Omni processor-level video sizes are applied last.  A folder with
      none of these files (a tokenizer only; transformers cannot load a processor from it) keeps
      the family's published image and video settings;
    * token ids from config.json (top level, ``text_config``, ``thinker_config``), else the
      tokenizer's added tokens (the id of ``<|image_pad|>`` ... in ``tokenizer.json``, else in
      ``tokenizer_config.json``), else the family's.

    The family is ``family`` when given, else config.json's ``model_type`` (`MODEL_TYPES`); a model
    type qwenlint does not know works when the files name a known processor class: the family is
    then the nearest row (same processor class and image token id).  `Profile.derived_from` says
    where each decision came from.

    Raises `ProfileError` for a missing directory, unreadable or invalid JSON, a processor, image
    processor or video processor class qwenlint does not model (named), an unknown model type
    whose files name no processor class (when ``family`` is not given), or a non-integer size.
    """
    root = os.fspath(path)
    if not os.path.isdir(root):
        raise ProfileError("not a directory", root)

    def at(name: str) -> str:
        return os.path.join(root, name)

    config = _read_json(at("config.json")) or {}
    processor_cfg = _read_json(at("processor_config.json")) or {}
    preprocessor = _read_json(at("preprocessor_config.json"))
    video_file = _read_json(at("video_preprocessor_config.json"))
    tokenizer_cfg = _read_quiet(at("tokenizer_config.json"))
    notes: list[str] = []

    model_type = config.get("model_type")
    base: Profile | None = None
    if family is not None:
        base = get_profile(family)
        notes.append(f"family {family} (given)")
    elif isinstance(model_type, str) and model_type in MODEL_TYPES:
        base = get_profile(MODEL_TYPES[model_type])
        notes.append(f"family {base.family} (config.json model_type {model_type!r})")

    named = _named_processor_class([("processor_config.json", processor_cfg), ("preprocessor_config.json", preprocessor),
                                    ("video_preprocessor_config.json", video_file if preprocessor is None else None),
                                    ("tokenizer_config.json", tokenizer_cfg), ("config.json", config)])
    if named is not None:
        processor_class, where = named
    elif base is not None:
        processor_class = base.processor_class
        where = (f"transformers' mapping of model_type {model_type!r}" if family is None
                 else f"the {base.family} default; no file names one")
    elif model_type is None:
        raise ProfileError("config.json has no 'model_type' and no file names a processor class "
                           "(pass the family explicitly)", root)
    else:
        raise ProfileError(f"model_type {model_type!r} is not a Qwen vision-language family qwenlint knows "
                           f"({', '.join(MODEL_TYPES)}) and no file names a processor class (processor_config.json, "
                           "preprocessor_config.json or tokenizer_config.json 'processor_class'); pass --family", root)
    behaviour = PROCESSOR_CLASSES.get(processor_class)
    if behaviour is None:
        raise ProfileError(_unknown("processor class", processor_class, where, PROCESSOR_CLASSES), root)
    notes.append(f"processor {processor_class} ({where})")

    image_cfg, image_path = processor_cfg.get("image_processor"), at("processor_config.json")
    if not isinstance(image_cfg, dict):
        image_cfg, image_path = preprocessor or {}, at("preprocessor_config.json")
    video_cfg, video_path = processor_cfg.get("video_processor"), at("processor_config.json")
    if not isinstance(video_cfg, dict):
        video_cfg, video_path = video_file, at("video_preprocessor_config.json")
    if video_cfg is None:
        video_cfg, video_path = preprocessor or {}, at("preprocessor_config.json")

    def class_of(cfg: dict[str, Any], key: str, cfg_path: str, default: str, known: Any, what: str) -> str:
        value = cfg.get(key)
        if isinstance(value, str) and value:
            if value not in known:
                raise ProfileError(_unknown(what, value, os.path.basename(cfg_path), known), root)
            notes.append(f"{what} {value} ({os.path.basename(cfg_path)})")
            return value
        notes.append(f"{what} {default} (assumed: no file names one)")
        return default

    image_class = class_of(image_cfg, "image_processor_type", image_path,
                           base.image_processor_class if base else "Qwen2VLImageProcessor",
                           IMAGE_PROCESSOR_CLASSES, "image processor")
    video_class = class_of(video_cfg, "video_processor_type", video_path,
                           base.video_processor_class if base else behaviour.video_processor,
                           VIDEO_PROCESSOR_CLASSES, "video processor")

    # Token strings: the tokenizer's named tokens, else the processor class's; ids: config.json,
    # else the tokenizer's added tokens, else the family's.
    named_tokens = (tokenizer_cfg or {}).get("extra_special_tokens")
    named_tokens = named_tokens if isinstance(named_tokens, dict) else {}
    strings = dict(zip(("image_pad", "video_pad", "vision_start", "vision_end"), behaviour.tokens))
    for field_name, names in _NAMED_TOKENS.items():
        for n in names:
            if isinstance(named_tokens.get(n), str):
                strings[field_name] = named_tokens[n]
                break
    added = _AddedTokens(root, tokenizer_cfg)
    ids: dict[str, int] = {}
    id_notes: list[str] = []
    for field_name, keys in _ID_KEYS.items():
        found = _model_config_value(config, *keys) or added.get(strings[field_name.removesuffix("_id")])
        if found is not None:
            ids[field_name] = found[0]
            id_notes.append(f"{field_name.removesuffix('_id')} {found[0]} ({found[1]})")

    if base is None:
        base = _nearest_family(processor_class, ids.get("image_pad_id"), video_class)
        notes.insert(0, f"family {base.family}: the known family nearest to {processor_class} with image token "
                        f"id {ids.get('image_pad_id', base.tokens.image_pad_id)} (config.json model_type "
                        f"{model_type!r} is not one qwenlint knows)")
    t = base.tokens
    missing = [f for f in _ID_KEYS if f not in ids and getattr(t, f) is not None]
    if missing:
        id_notes.append(f"{', '.join(f.removesuffix('_id') for f in missing)}: the {base.family} default")
    notes.append("token ids: " + "; ".join(id_notes))
    audio = _model_config_value(config, "audio_token_id", "audio_token_index")
    tokens = dataclasses.replace(
        t, **strings, **{f: ids.get(f, getattr(t, f)) for f in _ID_KEYS},
        audio_pad_id=audio[0] if audio else t.audio_pad_id,
    )

    if not image_cfg and not video_cfg:
        # no processor file at all (a folder with a tokenizer only): the real processor cannot be
        # loaded from it, so the one used comes from elsewhere; the family's published settings
        notes.append(f"image and video processor settings: the {base.family} defaults (no "
                     "preprocessor_config.json, video_preprocessor_config.json or processor_config.json)")
        return base.replace(tokens=tokens, video_timestamps=behaviour.video_timestamps, is_omni=behaviour.is_omni,
                            omni_fps_default=behaviour.omni_fps_default, video_processor_named=False,
                            processor_class=processor_class, image_processor_class=image_class,
                            video_processor_class=video_class, derived_from=tuple(notes), source=root)

    # Image processor: Qwen2VLImageProcessor class defaults, then the file.
    patch = _positive_int(image_cfg.get("patch_size", 14), "patch_size", image_path)
    merge = _positive_int(image_cfg.get("merge_size", 2), "merge_size", image_path)
    temporal = _positive_int(image_cfg.get("temporal_patch_size", 2), "temporal_patch_size", image_path)
    img_lo, img_hi = _bounds(image_cfg, (56 * 56, 28 * 28 * 1280), image_path, legacy_keys=True)

    # Video processor: its class's defaults, then the file.
    kind = VIDEO_PROCESSOR_CLASSES[video_class]
    cls = _VIDEO_CLASS_DEFAULTS[kind]
    vid_lo, vid_hi = _bounds(video_cfg, (cls.min_pixels, cls.max_pixels), video_path, legacy_keys=(kind == "qwen2vl"))
    own_size = None
    if behaviour.video_size is not None:
        own_size = (vid_lo, vid_hi)
        vid_lo, vid_hi = behaviour.video_size
        notes.append(f"video size {vid_lo}..{vid_hi} at every call ({processor_class}'s videos_kwargs)")
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

    return base.replace(patch_size=patch, merge_size=merge, temporal_patch_size=temporal,
                        image_min_pixels=img_lo, image_max_pixels=img_hi, video=video, tokens=tokens,
                        video_timestamps=behaviour.video_timestamps, is_omni=behaviour.is_omni,
                        omni_fps_default=behaviour.omni_fps_default,
                        image_pixel_keys=tuple(k for k in _PIXEL_KEYS if image_cfg.get(k) is not None),
                        # the two files vLLM 0.30 reads (transformers_utils/processor.py)
                        video_processor_named=any("video_processor_type" in (c or {}) for c in (video_file, preprocessor)),
                        processor_class=processor_class, image_processor_class=image_class,
                        video_processor_class=video_class, derived_from=tuple(notes), source=root)
