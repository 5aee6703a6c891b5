"""Vision stage: predicted grid_thw and pad count of every image and video, per consumer.

Reads the media stage's items and facts and fills ``ctx.predictions[pointer]`` with a
`qwenlint.vision.Prediction`, a `qwenlint.vision.VisionError` (the real pipeline raises), or a
`Bound` (a remote image or video: never fetched, so only an upper bound, or nothing, is known).
Items whose media could not be probed get no prediction: the media rules report them.

The profile is picked once per run and kept in ``ctx.env``: ``--model`` (its configs, through
`profile_from_model_dir`; an unreadable directory becomes a diagnostic, and the family's
published defaults are used instead), else ``get_profile(--family)``.

What each ``--target`` runs (see docs/token-math.md for the three pipelines):

``qwen-vl-utils`` / ``transformers`` / ``vllm``
    the predictor's pipelines of the same names (vllm: with ``--media-io-kwargs``' video loader
    settings).
``qwen-finetune`` (qwen-vl-finetune)
    builds native messages and calls ``processor.apply_chat_template(tokenize=True)`` after
    ``update_processor_pixels`` wrote its ``DataArguments`` pixel settings into the processor: the
    transformers pipeline with the image / video bounds of
    `qwenlint.dialects.datasets.media_options` and the video processor's own ``do_sample_frames``
    default (False for Qwen2/2.5-VL: every decoded frame is kept).
``llamafactory``
    pre-resizes each image to at most ``image_max_pixels`` (768*768) pixels (``int`` truncation,
    ``mm_plugin._preprocess_image``), samples videos at ``video_fps`` (2) up to ``video_maxlen``
    (128) frames, pre-resizing each to ``video_max_pixels`` (256*256); then the HF processor with
    its checkpoint defaults and no further frame sampling.  **Assumption**: modelled from
    LLaMA-Factory 0.9's source, not run here.
``ms-swift``
    qwen-vl-utils with ms-swift's environment-variable budgets (``MAX_PIXELS``, ``VIDEO_MAX_PIXELS``,
    ``FPS``, ``FPS_MAX_FRAMES``, ...) as the per-item options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from qwenlint.ir import Kind
from qwenlint.media import ImageFacts as MImage
from qwenlint.media import MediaError
from qwenlint.media import VideoFacts as MVideo
from qwenlint.media.video import opencv_counts
from qwenlint.options import merge_media_io_video
from qwenlint.rules.base import Context
from qwenlint.stages.media import MediaItem, items
from qwenlint.vision import (
    ImageFacts,
    Profile,
    ProfileError,
    VideoFacts,
    VisionError,
    get_profile,
    predict_image,
    predict_video,
    profile_from_model_dir,
    worst_case_image_tokens,
)

#: The keys of a request's ``mm_processor_kwargs`` that the vLLM prediction applies.
VLLM_PIXEL_KWARGS = ("size", "min_pixels", "max_pixels")

PROFILE_KEY = "vision:profile"
PLANS_KEY = "vision:plans"
PIPELINE_OF = {"qwen-vl-utils": "qwen-vl-utils", "transformers": "transformers", "vllm": "vllm",
               "qwen-finetune": "transformers", "llamafactory": "transformers",
               "ms-swift": "qwen-vl-utils"}

#: LLaMA-Factory 0.9 ``ProcessorArguments`` defaults (hparams/model_args.py).
LF_IMAGE_MAX_PIXELS, LF_IMAGE_MIN_PIXELS = 768 * 768, 32 * 32
LF_VIDEO_MAX_PIXELS, LF_VIDEO_MIN_PIXELS = 256 * 256, 16 * 16
LF_VIDEO_FPS, LF_VIDEO_MAXLEN = 2.0, 128


@dataclass(frozen=True, slots=True)
class Bound:
    """A remote image or video: its size is unknown; ``tokens`` is an upper bound (None: none)."""

    kind: str
    pipeline: str
    tokens: int | None


@dataclass(frozen=True, slots=True)
class Plan:
    """How one item is predicted: enough to re-run the predictor with other settings."""

    target: str
    pipeline: str
    profile: Profile
    options: dict[str, Any]  # per-part options in qwen-vl-utils terms (only that pipeline reads them)
    processor_kwargs: dict[str, Any]
    facts: Any  # the vision-side facts the prediction was made from (None: remote / unknown)
    vllm_video: dict[str, Any] = field(default_factory=dict)  # vLLM's media_io_kwargs["video"]


def profile(ctx: Context) -> tuple[Profile, str | None]:
    """The run's profile, and the reason ``--model`` could not be used (None when it could)."""
    got = ctx.env.get(PROFILE_KEY)
    if got is None:
        opts = ctx.options
        err = None
        prof = None
        if opts.model:
            try:
                prof = profile_from_model_dir(opts.model, family=opts.family)
            except ProfileError as e:
                err = str(e)
            except Exception as e:  # noqa: BLE001 - a broken checkpoint must not crash the run
                err = f"{opts.model}: {type(e).__name__}: {e}"
        if prof is None:
            try:
                prof = get_profile(opts.resolved_family)
            except ProfileError as e:
                err = err or str(e)
                prof = get_profile("qwen2.5-vl")
        got = ctx.env[PROFILE_KEY] = (prof, err)
    return got


def _framework_profile(prof: Profile, target: str) -> Profile:
    """qwen-vl-finetune's ``update_processor_pixels``: its pixel settings written into the processor."""
    if target != "qwen-finetune":
        return prof
    from dataclasses import replace

    from qwenlint.dialects import datasets as D

    img = D.media_options(D.QWEN_FINETUNE, Kind.IMAGE)
    vid = D.media_options(D.QWEN_FINETUNE, Kind.VIDEO)
    video = replace(prof.video, min_pixels=vid.get("min_pixels", prof.video.min_pixels),
                    max_pixels=vid.get("max_pixels", prof.video.max_pixels),
                    fps=vid.get("fps", prof.video.fps),
                    min_frames=vid.get("min_frames", prof.video.min_frames),
                    max_frames=vid.get("max_frames", prof.video.max_frames))
    return prof.replace(image_min_pixels=img.get("min_pixels", prof.image_min_pixels),
                        image_max_pixels=img.get("max_pixels", prof.image_max_pixels), video=video)


def _profile_for(ctx: Context, target: str) -> Profile:
    key = f"vision:profile:{target}"
    p = ctx.env.get(key)
    if p is None:
        base, _ = profile(ctx)
        try:
            p = _framework_profile(base, target)
        except Exception:  # noqa: BLE001
            p = base
        ctx.env[key] = p
    return p


def _swift_options(kind: Kind) -> dict[str, Any]:
    try:
        from qwenlint.dialects import datasets as D

        return D.media_options(D.MS_SWIFT, kind)
    except Exception:  # noqa: BLE001
        return {}


def lf_preresize(width: int, height: int, max_pixels: int, min_pixels: int) -> tuple[int, int]:
    """LLaMA-Factory's ``_preprocess_image``: scale into [min, max] pixels, sides truncated to int."""
    if width * height > max_pixels:
        f = math.sqrt(max_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    if width * height < min_pixels:
        f = math.sqrt(min_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    return max(width, 1), max(height, 1)


def _to_image(f: MImage) -> ImageFacts:
    return ImageFacts(f.width, f.height, f.exif_orientation or 1)


def _to_video(f: MVideo) -> VideoFacts | None:
    if not f.num_frames or not f.fps_float or not f.width or not f.height:
        return None
    return VideoFacts(f.num_frames, f.fps_float, f.width, f.height)


def vision_facts(item: MediaItem, facts: Any, target: str) -> Any:
    """The predictor's input for ``item`` (None: no prediction possible)."""
    if isinstance(facts, list):
        if not facts or not all(isinstance(f, MImage) for f in facts):
            return None
        frames = [_to_image(f) for f in facts]
        if target == "llamafactory":
            frames = [ImageFacts(*lf_preresize(f.width, f.height, LF_VIDEO_MAX_PIXELS, LF_VIDEO_MIN_PIXELS))
                      for f in frames]
        return frames
    if isinstance(facts, MImage):
        img = _to_image(facts)
        if target == "llamafactory":
            w, h = lf_preresize(img.width, img.height, LF_IMAGE_MAX_PIXELS, LF_IMAGE_MIN_PIXELS)
            return ImageFacts(w, h)
        return img
    if isinstance(facts, MVideo):
        v = _to_video(facts)
        if v is not None and target == "vllm":
            # vLLM decodes with OpenCV: its frame count and rate (media.video.opencv_counts).
            n, fps, _ = opencv_counts(facts)
            return VideoFacts(n, fps, v.width, v.height) if n and fps else v
        if v is None or target != "llamafactory":
            return v
        # mm_plugin._get_video_sample_indices: floor(duration * video_fps) frames, at most
        # video_maxlen and the frame count, each pre-resized like an image.
        duration = v.num_frames / v.fps
        n = min(v.num_frames, LF_VIDEO_MAXLEN, max(1, math.floor(duration * LF_VIDEO_FPS)))
        w, h = lf_preresize(v.width, v.height, LF_VIDEO_MAX_PIXELS, LF_VIDEO_MIN_PIXELS)
        return [ImageFacts(w, h)] * n
    return None


def plan(ctx: Context, item: MediaItem, facts: Any = None) -> Plan:
    target = ctx.target(item.conv)
    pipeline = PIPELINE_OF.get(target, "qwen-vl-utils")
    prof = _profile_for(ctx, target)
    options = dict(item.options)
    kwargs: dict[str, Any] = {}
    if target == "ms-swift":
        options = {**_swift_options(item.kind), **options}
    if target == "llamafactory" and item.kind is Kind.VIDEO:
        kwargs["do_sample_frames"] = False
    vllm_video = ctx.options.vllm_video
    body = item.conv.record if isinstance(item.conv.record, dict) else {}
    if target == "vllm" and body:
        # A request body's own settings: its media_io_kwargs for the video loader, and the pixel
        # budgets of its mm_processor_kwargs (frame options there do not change the frames vLLM's
        # loader already sampled).
        if "media_io_kwargs" in body:
            vllm_video = merge_media_io_video(vllm_video, body["media_io_kwargs"])
        mm = body.get("mm_processor_kwargs")
        if isinstance(mm, dict):
            kwargs.update({k: mm[k] for k in VLLM_PIXEL_KWARGS if k in mm})
    return Plan(target, pipeline, prof, options, kwargs, facts, vllm_video)


def predict_item(p: Plan, kind: Kind, facts: Any, **overrides: Any):
    """Run the predictor for one item (``overrides`` replace per-part options); raises VisionError."""
    options = {**p.options, **overrides} if overrides else p.options
    if kind is Kind.IMAGE:
        return predict_image(facts, options, p.profile, p.pipeline, processor_kwargs=p.processor_kwargs)
    return predict_video(facts, options, p.profile, p.pipeline, processor_kwargs=p.processor_kwargs,
                         vllm_video=p.vllm_video)


def run(ctx: Context) -> None:
    """Fill ``ctx.predictions`` for every probed image and video (see the module docstring)."""
    todo = items(ctx)
    if not todo:
        return
    plans: dict[str, Plan] = ctx.facts.setdefault(PLANS_KEY, {})
    for item in todo:
        facts = ctx.facts.get(item.pointer)
        if item.part is not None:
            r = ctx.reading(ctx.target(item.conv), item.part)
            if not r.loaded or r.crash:
                continue  # dropped or crashing parts are the parts rules' business
        pl = plan(ctx, item)
        if isinstance(facts, MediaError):
            if facts.code == "remote":
                plans[item.pointer] = pl
                ctx.predictions[item.pointer] = _bound(pl, item)
            continue
        vf = vision_facts(item, facts, pl.target)
        if vf is None:
            continue
        pl = replace(pl, facts=vf)
        plans[item.pointer] = pl
        kind = item.kind
        try:
            pred = predict_item(pl, kind, vf)
            doubt = opencv_counts(facts)[2] if pl.pipeline == "vllm" and isinstance(facts, MVideo) else None
            ctx.predictions[item.pointer] = replace(pred, notes=(*pred.notes, doubt)) if doubt else pred
        except VisionError as e:
            ctx.predictions[item.pointer] = e
        except Exception:  # noqa: BLE001 - a predictor bug must not stop the run
            continue


def _bound(pl: Plan, item: MediaItem) -> Bound:
    if item.kind is Kind.IMAGE:
        try:
            return Bound("image", pl.pipeline, worst_case_image_tokens(
                pl.profile, pl.options, pl.pipeline, processor_kwargs=pl.processor_kwargs))
        except Exception:  # noqa: BLE001 - a VisionError shows once the size is known
            return Bound("image", pl.pipeline, None)
    return Bound("video", pl.pipeline, None)
