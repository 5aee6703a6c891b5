"""Per-part prediction: grid_thw, resized size, frames and pad count, for one of three pipelines.

Pipelines (what the user's code does with the message):

``"qwen-vl-utils"``
    ``process_vision_info(messages, image_patch_size=..., return_video_metadata=True)`` then
    ``processor(text, images, videos, video_metadata=..., do_resize=..., do_sample_frames=False)``,
    the official README recipe.  Per-part options are honoured by qwen-vl-utils
    (``fetch_image`` / ``fetch_video``), then the processor resizes again unless ``do_resize`` is
    False (the recipe's default: False for Qwen3-VL / Qwen3.5 whose README passes it, True for
    Qwen2/2.5-VL and the Omni models).  Path videos are read with torchcodec (qwen-vl-utils'
    preferred backend; decord is not modelled).  Only ``do_sample_frames=False`` of
    ``video_kwargs`` is modelled: the ``fps`` list that ``process_vision_info`` adds without
    ``return_video_metadata`` makes transformers 5.23 raise ``StrictDataclassFieldValidationError``.
``"transformers"``
    ``processor.apply_chat_template(messages, tokenize=True, **processor_kwargs)``: the processor
    loads media itself (EXIF-transposed images; torchcodec videos) and **ignores per-part options**;
    the video processor samples frames with its own defaults (Qwen2VL: every frame unless ``fps`` /
    ``num_frames`` is passed; Qwen3VL: 2 fps).
``"vllm"``
    vLLM's OpenAI server, modelled as: per-part options ignored, images through the same HF image
    processor arithmetic with ``processor_kwargs`` as vLLM resolves ``mm_processor_kwargs``
    (:func:`qwenlint.consumers.vllm.processor_kwargs`), and videos sampled
    by the loader vLLM picks (`vllm_video_indices`; ``vllm_video`` is ``--media-io-kwargs``'
    ``"video"`` entry): the fps-driven ``qwen3_vl`` / ``qwen2_vl`` loader of the model's video
    processor (vLLM since June 2026), or the generic 32-frame ``opencv`` loader (older vLLM, or
    ``video_backend: opencv``).  When the loader kept every frame, Qwen3-VL's processor samples
    again (vLLM passes ``do_sample_frames=True``).  Verified against vLLM 0.33's render server
    (tests/differential/test_vllm_server.py); docs/token-math.md "Through vLLM" lists what is not
    (OpenCV frame counts, EVS pruning, other vLLM versions).

Mirrored sources: qwen-vl-utils 0.0.14 ``vision_process.py`` (``fetch_image``, ``fetch_video``),
transformers 5.23 ``Qwen2VLImageProcessor._preprocess``, ``Qwen2VLVideoProcessor`` /
``Qwen3VLVideoProcessor`` (``sample_frames``, ``resize``, ``patchify``),
``processing_utils.ProcessorMixin.apply_chat_template`` and ``Qwen3VLProcessor.replace_video_token``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from packaging.version import Version

from qwenlint.vision import processor, qvu
from qwenlint.vision.errors import QWEN_VL_UTILS, VLLM, VisionError, mirrors
from qwenlint.vision.facts import PIPELINES, ImageFacts, Prediction, VideoFacts
from qwenlint.vision.frames import qwen3_timestamps, timestamp_text
from qwenlint.vision.profiles import Profile
from qwenlint.vision.qvu import cause_of

__all__ = ["cause_of", "predict", "predict_image", "predict_video", "recipe_do_resize", "worst_case_image_tokens"]


def _call_kwargs(profile: Profile, pipeline: str, processor_kwargs: Mapping[str, Any] | None,
                 do_resize: bool | None, tf_version: Version) -> dict[str, Any]:
    """The processor-call kwargs: ``do_resize`` defaults to the README recipe for qwen-vl-utils."""
    if pipeline not in PIPELINES:
        raise ValueError(f"unknown pipeline {pipeline!r}; expected one of {', '.join(PIPELINES)}")
    kwargs = dict(processor_kwargs or {})
    processor.check_call_kwargs(kwargs, profile.video.kind, tf_version)
    if pipeline == "qwen-vl-utils":
        kwargs.setdefault("do_resize", recipe_do_resize(profile) if do_resize is None else do_resize)
    elif do_resize is not None:
        kwargs.setdefault("do_resize", do_resize)
    return kwargs


@contextlib.contextmanager
def _served_by(pipeline: str) -> Iterator[None]:
    """vLLM runs the same HF processor code, but the user sees the error from the vLLM server."""
    try:
        yield
    except VisionError as exc:
        if pipeline != "vllm":
            raise
        raise VisionError(VLLM, exc.exc_type, exc.message, exc.where, exc.loading) from None


def recipe_do_resize(profile: Profile) -> bool:
    """The processor's ``do_resize`` in the qwen-vl-utils README recipe: False for Qwen3-VL/Qwen3.5."""
    return not profile.video_timestamps


def _recipe_patch_size(profile: Profile, image_patch_size: int | None, version: Version) -> int:
    """The ``image_patch_size`` the README recipe passes; before qwen-vl-utils 0.0.13 the keyword
    does not exist, and the Qwen3 README's ``image_patch_size=16`` is a ``TypeError``."""
    ips = image_patch_size if image_patch_size is not None else profile.qvu_image_patch_size
    if ips != 14 and not qvu.has_image_patch_size(version):
        raise VisionError(QWEN_VL_UTILS, "TypeError",
                          "process_vision_info() got an unexpected keyword argument 'image_patch_size'",
                          where="qwen_vl_utils/vision_process.py:process_vision_info")
    return ips


def predict_image(image: ImageFacts, options: Mapping[str, Any], profile: Profile,
                  pipeline: str = "qwen-vl-utils", *, do_resize: bool | None = None,
                  image_patch_size: int | None = None,
                  processor_kwargs: Mapping[str, Any] | None = None,
                  qvu_version: Version = qvu.NEWEST, tf_version: Version = processor.TF_NEWEST,
                  qvu_module: Mapping[str, Any] | None = None) -> Prediction:
    """Predict one image part, or raise `VisionError` where the real code raises.

    ``options`` are the part's own keys (``min_pixels``, ``max_pixels``, ``resized_height``,
    ``resized_width``); only qwen-vl-utils reads them.  ``do_resize`` / ``image_patch_size``
    default to the README recipe of the family (see `recipe_do_resize`,
    ``Profile.qvu_image_patch_size``).  ``processor_kwargs`` are the processor-call kwargs
    (``size``, ``min_pixels``, ``max_pixels``, ``do_resize``; ``images_kwargs={...}``).
    ``qvu_version``: the qwen-vl-utils release (:mod:`.qvu`); ``qvu_module``: its module constants
    as the consumer wrote them (:func:`.qvu.image_bounds`; ms-swift's pixel variables).
    """
    kwargs = _call_kwargs(profile, pipeline, processor_kwargs, do_resize, tf_version)
    notes: list[str] = []
    if pipeline == "qwen-vl-utils":
        ips = _recipe_patch_size(profile, image_patch_size, qvu_version)
        h0, w0 = image.size(exif_transpose=False)
        h1, w1 = qvu.fetch_image_size(h0, w0, options, ips, qvu_version, qvu_module)
        h, w = processor.image_size(h1, w1, processor.image_settings(profile, kwargs, tf_version))
        if (h, w) != (h1, w1):
            notes.append(f"the processor resizes qwen-vl-utils' {h1}x{w1} (HxW) again to {h}x{w}; "
                         "pass do_resize=False to keep it")
        if image.orientation in (5, 6, 7, 8):
            notes.append("qwen-vl-utils ignores the EXIF orientation: the image is processed sideways")
    else:
        # transformers applies a path image's EXIF orientation before 5.6 and from 5.20 (vLLM loads
        # images itself)
        h0, w0 = image.size(exif_transpose=pipeline != "transformers"
                            or processor.chat_template_applies_exif(tf_version))
        with _served_by(pipeline):
            settings = processor.image_settings(profile, kwargs, tf_version)
            if pipeline == "transformers":
                h, w = processor.chat_template_image_size(h0, w0, settings, tf_version)
            else:
                h, w = processor.image_size(h0, w0, settings)
    p, m = profile.patch_size, profile.merge_size
    grid = (1, h // p, w // p)
    return Prediction("image", pipeline, grid, (h, w), grid[1] * grid[2] // (m * m), notes=tuple(notes))


def predict_video(video: VideoFacts | Sequence[ImageFacts], options: Mapping[str, Any], profile: Profile,
                  pipeline: str = "qwen-vl-utils", *, do_resize: bool | None = None,
                  image_patch_size: int | None = None, processor_kwargs: Mapping[str, Any] | None = None,
                  vllm_video: Mapping[str, Any] | None = None, qvu_version: Version = qvu.NEWEST,
                  tf_version: Version = processor.TF_NEWEST, qvu_module: Mapping[str, Any] | None = None) -> Prediction:
    """Predict one video part (a file's `VideoFacts`, or a list of frames), or raise `VisionError`.

    qwen-vl-utils: frame sampling and per-frame budget from the part's options, then the video
    processor with ``do_sample_frames=False`` (the recipe's ``video_kwargs``) and ``do_resize``.
    transformers: the video processor's own sampling (``processor_kwargs`` ``fps`` /
    ``num_frames`` / ``do_sample_frames``) and resize; per-part options ignored.  vllm: the loader
    of ``vllm_video`` (vLLM's ``media_io_kwargs["video"]``), see the module docstring (assumption).
    Qwen3 families get ``timestamps`` and ``extra_text``.  ``qvu_module``: as for `predict_image`.
    """
    kwargs = _call_kwargs(profile, pipeline, processor_kwargs, do_resize, tf_version)
    notes: list[str] = []
    fps: Any
    if pipeline == "qwen-vl-utils":
        ips = _recipe_patch_size(profile, image_patch_size, qvu_version)
        kwargs.setdefault("do_sample_frames", False)
        if isinstance(video, VideoFacts):
            qv = qvu.fetch_video_file(video, options, ips, qvu_version, qvu_module)
        else:
            qv = qvu.fetch_video_frames(video, options, ips, qvu_version, qvu_module)
            if not qv.frames:
                raise processor.empty_frame_list_error(tf_version)
        notes.extend(qv.notes)
        frames, h1, w1, indices, fps = qv.frames, qv.height, qv.width, qv.indices, qv.fps
        settings = processor.video_settings(profile, kwargs, chat_template_call=False, tf_version=tf_version)
        h, w = processor.video_size(frames, h1, w1, settings)
        if (h, w) != (h1, w1):
            notes.append(f"the video processor resizes qwen-vl-utils' {h1}x{w1} (HxW) frames again to {h}x{w}; "
                         "pass do_resize=False to keep them")
    else:
        settings = processor.video_settings(profile, kwargs, chat_template_call=pipeline == "transformers",
                                            tf_version=tf_version)
        with _served_by(pipeline):
            frames, h, w, indices, fps = processor.load_video(video, settings, pipeline, vllm_video or {}, notes)
    tp, p, m = settings.temporal_patch_size, settings.patch_size, settings.merge_size
    grid = (math.ceil(frames / tp), h // p, w // p)
    tokens = grid[0] * grid[1] * grid[2] // (m * m)
    if frames % tp:
        notes.append(f"{frames} frames: the last frame is repeated to fill the temporal patch of {tp}")
    timestamps: tuple[float, ...] | None = None
    extra: tuple[str, ...] = ()
    if profile.video_timestamps:
        if fps is None:
            notes.append("no video fps is known to the processor: timestamps assume 24 fps")
            fps = 24
        timestamps = tuple(qwen3_timestamps(indices, fps, tp))
        extra = tuple(timestamp_text(t) for t in timestamps)
    return Prediction("video", pipeline, grid, (h, w), tokens, frames=frames, frame_indices=tuple(indices),
                      timestamps=timestamps, extra_text=extra, notes=tuple(notes))


def predict(media: ImageFacts | VideoFacts | Sequence[ImageFacts], options: Mapping[str, Any], profile: Profile,
            pipeline: str = "qwen-vl-utils", **kwargs: Any) -> Prediction:
    """`predict_image` for an `ImageFacts`, else `predict_video` (a `VideoFacts` or a frame list)."""
    if isinstance(media, ImageFacts):
        return predict_image(media, options, profile, pipeline, **kwargs)
    return predict_video(media, options, profile, pipeline, **kwargs)


def _upscale_bound(min_pixels: Any, factor: int) -> float:
    """Largest ``h*w`` the ``elif h*w < min_pixels`` branch can produce (aspect ratio <= 200).

    It gives ``ceil(H*beta/f)*f x ceil(W*beta/f)*f`` with ``H*beta * W*beta = min_pixels``, so each
    side grows by less than ``f``: ``h*w < min + f*sqrt(min)*(sqrt(200) + 1/sqrt(200)) + f*f``.
    """
    root = math.sqrt(max(min_pixels, 0))
    return min_pixels + factor * root * (math.sqrt(200) + 1 / math.sqrt(200)) + factor * factor


@mirrors(QWEN_VL_UTILS, "qwen_vl_utils/vision_process.py:fetch_image")
def worst_case_image_tokens(profile: Profile, options: Mapping[str, Any], pipeline: str = "qwen-vl-utils", *,
                            do_resize: bool | None = None, image_patch_size: int | None = None,
                            processor_kwargs: Mapping[str, Any] | None = None,
                            qvu_module: Mapping[str, Any] | None = None) -> int | None:
    """Upper bound on an image part's pads when the image size is unknown (a remote URL).

    qwen-vl-utils: with ``resized_height``/``resized_width`` the size does not depend on the image,
    so the exact count is returned; otherwise the part's ``max_pixels`` (default ``16384 * f**2``),
    capped by the processor's ``longest_edge`` when it resizes again.  transformers / vLLM: the
    processor's ``longest_edge``.  Each bound also covers the upscale branch (an image under
    ``min_pixels`` grows to slightly above it).  ``None``: unbounded (transformers/vLLM with
    ``do_resize=False``).  ``qvu_module``: as for `predict_image`.
    """
    kwargs = _call_kwargs(profile, pipeline, processor_kwargs, do_resize, processor.TF_NEWEST)
    settings = processor.image_settings(profile, kwargs)
    factor = profile.factor
    processor_bound = max(settings.max_pixels, _upscale_bound(settings.min_pixels, factor))
    if pipeline != "qwen-vl-utils":
        return int(processor_bound // (factor * factor)) if settings.do_resize else None
    if "resized_height" in options and "resized_width" in options:
        return predict_image(ImageFacts(1, 1), options, profile, pipeline, do_resize=do_resize,
                             image_patch_size=image_patch_size, processor_kwargs=processor_kwargs,
                             qvu_module=qvu_module).tokens
    ips = image_patch_size if image_patch_size is not None else profile.qvu_image_patch_size
    qf = int(ips * 2)
    lo, hi = qvu.image_bounds(qvu_module, qf)
    qmin = options.get("min_pixels", lo)
    qmax = options.get("max_pixels", hi)
    bound = max(qmax, _upscale_bound(qmin, qf))
    if settings.do_resize:
        bound = max(min(bound, settings.max_pixels), _upscale_bound(settings.min_pixels, factor))
    return int(bound // (factor * factor))

