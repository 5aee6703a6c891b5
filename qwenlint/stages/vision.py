"""Vision stage: predicted grid_thw and pad count of every image and video, per consumer.

Reads the media stage's items and facts and fills ``ctx.plans[pointer]`` (how the item is
predicted: :class:`~qwenlint.context.Plan`) and ``ctx.predictions[pointer]`` with a
`qwenlint.vision.Prediction`, a `qwenlint.vision.VisionError` (the real pipeline raises), or a
`Bound` (a remote image or video: never fetched, so only an upper bound, or nothing, is known).
Items whose media could not be probed get no prediction: the media rules report them.

The profile is picked once per run (:func:`resolve_profile`, kept in ``Run.profile``): ``--model``
(its configs, through `profile_from_model_dir`; an unreadable directory becomes a diagnostic, and
the family's published defaults are used instead), else ``get_profile(--family)``.  Each consumer
configures the processor its own way (:func:`target_profiles`, ``Run.profiles``).

What each ``--target`` runs (see docs/token-math.md for the three pipelines):

``qwen-vl-utils`` / ``transformers`` / ``vllm``
    the predictor's pipelines of the same names (vllm: with ``--media-io-kwargs``' video loader
    settings).
``qwen-finetune`` (qwen-vl-finetune)
    builds native messages and calls ``processor.apply_chat_template(tokenize=True)`` after
    ``update_processor_pixels`` wrote its ``DataArguments`` pixel settings into the processor: the
    transformers pipeline with the image / video bounds of
    `qwenlint.consumers.qwen_finetune.processor_profile` and the video processor's own ``do_sample_frames``
    default (False for Qwen2/2.5-VL: every decoded frame is kept).
``llamafactory``
    pre-resizes each image to at most ``image_max_pixels`` (768*768) pixels (``int`` truncation,
    ``mm_plugin._preprocess_image``), samples videos at ``video_fps`` (2) up to ``video_maxlen``
    (128) frames from the stream headers (PyAV), pre-resizing each stored frame to
    ``video_max_pixels`` (256*256); then the HF processor with its checkpoint defaults and no
    further frame sampling (the Omni plugin calls the video processor itself: its own size
    bounds); Qwen3-VL's plugin expands every video with the first one's temporal
    patches (:mod:`qwenlint.consumers.llamafactory`; 0.9.4 and 0.9.5 run by
    tests/differential/test_llamafactory.py).
``ms-swift``
    qwen-vl-utils with ms-swift's environment-variable budgets: ``FPS``, ``FPS_MAX_FRAMES``, ... as
    per-item options, ``MAX_PIXELS``, ``VIDEO_MAX_PIXELS``, ... as the module constants ms-swift
    writes when it loads the processor, once per run (``Run.swift_qvu_module``, each item's
    ``Plan.qvu_module``; :func:`qwenlint.consumers.ms_swift.qvu_constants`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from qwenlint import consumers
from qwenlint.consumers import Target, llamafactory, ms_swift, qwen_finetune, qwen_omni_utils
from qwenlint.consumers.vllm import request_settings
from qwenlint.consumers.vllm.server import AUDIO_MODELLED as VLLM_AUDIO_MODELLED, EXIF_TRANSPOSED
from qwenlint.context import Bound, MediaItem, Plan, RecordContext
from qwenlint.ir import Kind
from qwenlint.media import ImageFacts as MImage
from qwenlint.media import MediaError
from qwenlint.media.audio import AudioFacts
from qwenlint.media import VideoFacts as MVideo
from qwenlint.media.memory import ArrayFacts
from qwenlint.media.video import opencv_counts
from qwenlint.options import Options
from qwenlint.vision.processor import array_image_size
from qwenlint.vision.audio import (
    HOP_LENGTH,
    TF_QWEN3_OMNI_UNTRUNCATED,
    TF_TORCHCODEC_AUDIO,
    loaded_samples,
    predict_audio_batch,
    predict_vllm_audio,
    torchcodec_error,
    torchcodec_samples,
)
from qwenlint.vision import (
    DEFAULT_FAMILY,
    Prediction,
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


def resolve_profile(options: Options) -> tuple[Profile, str | None]:
    """The run's profile, and the reason ``--model`` could not be used (None when it could)."""
    err = None
    prof = None
    if options.model:
        try:
            prof = profile_from_model_dir(options.model, family=options.family)
        except ProfileError as e:
            err = str(e)
        except Exception as e:  # noqa: BLE001 - a broken checkpoint must not crash the run
            err = f"{options.model}: {type(e).__name__}: {e}"
    if prof is None:
        try:
            prof = get_profile(options.family or DEFAULT_FAMILY)
        except ProfileError as e:
            err = err or str(e)
            prof = get_profile(DEFAULT_FAMILY)
    return prof, err


def target_profiles(profile: Profile, tf_version: Any = None) -> dict[Target, Profile]:
    """The profile each consumer runs the processor with: qwen-vl-finetune writes its own pixel
    settings into it (``update_processor_pixels``, at transformers ``tf_version``; None: the
    newest modelled); the others use it as loaded."""
    return {t: qwen_finetune.processor_profile(profile, tf_version) if t is Target.QWEN_FINETUNE else profile
            for t in Target}


def _to_image(f: MImage, exif: bool = True) -> ImageFacts:
    return ImageFacts(f.width, f.height, (f.exif_orientation or 1) if exif else 1)


def _to_video(f: MVideo) -> VideoFacts | None:
    if not f.num_frames or not f.fps_float or not f.width or not f.height:
        return None
    return VideoFacts(f.num_frames, f.fps_float, f.width, f.height)


def vision_facts(facts: Any, target: Target, exif: bool = True,
                 lf: llamafactory.Settings = llamafactory.DEFAULTS, lf_header_only: bool = False) -> Any:
    """The predictor's input for an item with these media facts (None: no prediction possible).
    ``exif``: whether the consumer's loader applies an image's EXIF orientation (vLLM from
    :data:`EXIF_TRANSPOSED`); ``lf``: LLaMA-Factory's media settings (``--framework-config``);
    ``lf_header_only``: LLaMA-Factory counts the video's pads from its stream headers
    (:func:`lf_header_only`)."""
    settings = lf
    lf = target is Target.LLAMAFACTORY
    if isinstance(facts, list):
        if not facts:  # every qwen-vl-utils release fails on an empty frame list (vision/qvu.py)
            return [] if consumers.pipeline(target) == "qwen-vl-utils" else None
        if not all(isinstance(f, MImage) for f in facts):
            return None
        frames = [_to_image(f, exif) for f in facts]
        if lf:
            frames = [ImageFacts(*settings.frame_size(f.width, f.height)) for f in frames]
        return frames
    if isinstance(facts, MImage):
        img = _to_image(facts, exif)
        if lf:
            return ImageFacts(*settings.image_size(img.width, img.height))
        return img
    if isinstance(facts, MVideo):
        v = _to_video(facts)
        if v is not None and target is Target.VLLM:
            # vLLM decodes with OpenCV: its frame count and rate (media.video.opencv_counts).
            n, fps, _ = opencv_counts(facts)
            return VideoFacts(n, fps, v.width, v.height) if n and fps else v
        if v is None or not lf:
            return v
        # LLaMA-Factory samples the frames itself with PyAV and pre-resizes each like an image:
        # PyAV's frames are the stored ones (no display rotation applied).
        n = settings.video_frames(facts.num_frames_header, facts.stream_duration_s, v.num_frames, lf_header_only)
        if n is None:
            return None
        return [ImageFacts(*settings.frame_size(facts.coded_width or v.width, facts.coded_height or v.height))] * n
    return None


def _array_image(ctx: RecordContext, item: MediaItem, pl: Plan, facts: ArrayFacts) -> MImage | None:
    """An image given as an array, as transformers reads its axes
    (:func:`qwenlint.vision.processor.array_image_size`): its facts, or None with the error or the
    reason there is no prediction recorded (qwen-vl-utils refuses an array: its reading says so)."""
    if pl.target is not Target.TRANSFORMERS:
        ctx.unpredicted[item.pointer] = f"{pl.target} does not take an image as an array (not modelled)"
        return None
    try:
        size = array_image_size(facts.shape, ctx.run.versions["transformers"])
    except VisionError as e:
        ctx.plans[item.pointer] = pl
        ctx.predictions[item.pointer] = e
        return None
    if size is None:
        ctx.unpredicted[item.pointer] = (f"an array of shape {facts.shape} with transformers "
                                         f"{ctx.run.versions['transformers']} is not modelled")
        return None
    h, w = size
    return MImage(w, h, "array", "", None, (w, h), 1, False, True, None)


def _why_unpredicted(facts: Any) -> str:
    """Why :func:`vision_facts` gave no predictor input for these facts."""
    if isinstance(facts, MVideo):
        missing = [what for what, v in (("frame count", facts.num_frames), ("frame rate", facts.fps_float),
                                        ("frame size", facts.width and facts.height)) if not v]
        if missing:
            return f"its header gives no {' or '.join(missing)}"
        return "its frames could not be counted from its header"
    if isinstance(facts, list):
        return "a frame of the list is not an image"
    return "its facts could not be read"


def lf_header_only(ctx: RecordContext, conv: Any) -> bool:
    """Whether LLaMA-Factory counts ``conv``'s video pads from the stream headers alone
    (:data:`qwenlint.consumers.llamafactory.VIDEO_HEADER_PADS`): from 0.9.5, a Qwen-VL plugin (not
    the Omni one), every video a file with a stream duration and an average rate, no audio."""
    if ctx.run.versions["llamafactory"] < llamafactory.VIDEO_HEADER_PADS or ctx.run.profile.is_omni:
        return False
    items = [it for it in ctx.media if it.conv is conv]
    if any(it.kind is Kind.AUDIO for it in items):
        return False
    videos = [ctx.facts.get(it.pointer) for it in items if it.kind is Kind.VIDEO]
    return all(isinstance(f, MVideo) and f.stream_duration_s is not None and f.avg_frame_rate for f in videos)


def plan(ctx: RecordContext, item: MediaItem) -> Plan:
    """How ``item`` is predicted for its conversation's consumer."""
    target = ctx.target(item.conv)
    prof = ctx.run.profiles[target]
    options = dict(item.options)
    kwargs: dict[str, Any] = {}
    if target is Target.MS_SWIFT:
        options = {**ms_swift.media_options(item.kind, ctx.run.environ), **options}
    if target is Target.LLAMAFACTORY and item.kind is Kind.VIDEO:
        kwargs["do_sample_frames"] = False
        if prof.video.own_size:  # Qwen2OmniPlugin calls the video processor itself: its own size,
            lo, hi = prof.video.own_size  # not the Omni processor's videos_kwargs (min / max_pixels)
            prof = replace(prof, video=replace(prof.video, min_pixels=lo, max_pixels=hi, own_size=None))
    vllm_video = ctx.run.server.video
    if target is Target.VLLM:
        vllm_video, kwargs = request_settings(item.conv.record, ctx.run.server, prof.video.processor_size,
                                              qwen3_video=prof.video.kind == "qwen3vl")
    qvu_version, patch, resize = ctx.run.versions["qwen-vl-utils"], None, None
    if target is Target.QWEN_OMNI_UTILS:  # its vision_process.py is qwen-vl-utils 0.0.14's
        qvu_version, patch = qwen_omni_utils.QVU_EQUIVALENT, qwen_omni_utils.IMAGE_PATCH_SIZE
    elif target is Target.MS_SWIFT and prof.is_omni:  # qwen-omni-utils' fetch_image, then the processor
        omni = ms_swift.omni_settings(prof.family, ctx.run.versions["ms-swift"])
        qvu_version, patch, resize = qwen_omni_utils.QVU_EQUIVALENT, omni["image_patch_size"], omni["do_resize"]
    module = ctx.run.swift_qvu_module if target is Target.MS_SWIFT else None
    return Plan(target, consumers.pipeline(target), prof, options, kwargs, None, vllm_video, qvu_version,
                None if target is Target.VLLM else ctx.run.versions["transformers"], patch, resize, module)


def predict_item(p: Plan, kind: Kind, facts: Any, **overrides: Any):
    """Run the predictor for one item (``overrides`` replace per-part options); raises VisionError."""
    options = {**p.options, **overrides} if overrides else p.options
    qvu = {k: v for k, v in (("qvu_version", p.qvu_version), ("tf_version", p.tf_version),
                             ("image_patch_size", p.image_patch_size), ("do_resize", p.do_resize),
                             ("qvu_module", p.qvu_module)) if v is not None}
    if kind is Kind.IMAGE:
        return predict_image(facts, options, p.profile, p.pipeline, processor_kwargs=p.processor_kwargs, **qvu)
    return predict_video(facts, options, p.profile, p.pipeline, processor_kwargs=p.processor_kwargs,
                         vllm_video=p.vllm_video, **qvu)


def run(ctx: RecordContext) -> None:
    """Fill ``ctx.plans`` and ``ctx.predictions`` for every probed image and video the consumer
    loads, and the audio of an Omni family (see the module docstring)."""
    audio: list[MediaItem] = []
    for item in ctx.media:
        if not item.loaded:
            continue  # dropped or crashing parts are the parts rules' business
        if item.kind is Kind.AUDIO:
            audio.append(item)
            continue
        facts = ctx.facts.get(item.pointer)
        pl = plan(ctx, item)
        if isinstance(facts, MediaError):
            if facts.code in ("remote", "in-memory"):  # unknown size: the budget's upper bound
                ctx.plans[item.pointer] = pl
                ctx.predictions[item.pointer] = _bound(pl, item)
            continue
        lf_video = pl.target is Target.LLAMAFACTORY and item.kind is Kind.VIDEO
        if (lf_video and isinstance(facts, MVideo) and not facts.avg_frame_rate
                and ctx.run.versions["llamafactory"] >= llamafactory.VIDEO_RATE_REQUIRED):
            ctx.plans[item.pointer] = pl
            ctx.predictions[item.pointer] = VisionError(
                "LLaMA-Factory", "TypeError", "float() argument must be a string or a real number, not 'NoneType'",
                "llamafactory/data/mm_plugin.py:Qwen2VLPlugin._regularize_videos", loading=True)
            continue
        if isinstance(facts, ArrayFacts):  # the Python API: an image as a numpy array or a tensor
            facts = _array_image(ctx, item, pl, facts)
            if facts is None:
                continue
        header_only = lf_video and lf_header_only(ctx, item.conv)
        vf = vision_facts(facts, pl.target, exif=pl.target is not Target.VLLM or ctx.run.server.since(EXIF_TRANSPOSED),
                          lf=ctx.options.llamafactory(), lf_header_only=header_only)
        if vf is None:
            ctx.unpredicted[item.pointer] = _why_unpredicted(facts)
            continue
        pl = replace(pl, facts=vf)
        ctx.plans[item.pointer] = pl
        try:
            pred = predict_item(pl, item.kind, vf)
            doubt = opencv_counts(facts)[2] if pl.pipeline == "vllm" and isinstance(facts, MVideo) else None
            ctx.predictions[item.pointer] = replace(pred, notes=(*pred.notes, doubt)) if doubt else pred
        except VisionError as e:
            ctx.predictions[item.pointer] = e
        except Exception as e:  # noqa: BLE001 - a predictor bug must not stop the run
            ctx.unpredicted[item.pointer] = f"qwenlint's predictor failed: {type(e).__name__}"
            continue

    _lf_qwen3vl_videos(ctx)
    if audio or ctx.audio_tracks:
        _predict_audio(ctx, audio)


def _lf_qwen3vl_videos(ctx: RecordContext) -> None:
    """LLaMA-Factory's ``Qwen3VLPlugin`` (the Qwen3-VL / Qwen3.5 templates) expands each video of an
    example with the first video's temporal patches, and raises ``IndexError`` where a video tag's
    message index has no video with enough timestamps
    (:func:`qwenlint.consumers.llamafactory.qwen3vl_video_error`).  A video's timestamps: one per
    two sample indices (0.9.5: ``_get_video_sample_indices``' count, which is ``video_maxlen`` for a
    stream without a frame count), one per temporal patch in 0.9.4 (the video processor samples
    the decoded frames again)."""
    if ctx.run.profile.is_omni or not ctx.run.profile.video_timestamps:
        return
    settings = ctx.options.llamafactory()
    header_indices = ctx.run.versions["llamafactory"] >= llamafactory.VIDEO_HEADER_PADS
    by_conv: dict[int, list[MediaItem]] = {}
    for item in ctx.media:
        if item.kind is Kind.VIDEO and item.loaded and ctx.target(item.conv) is Target.LLAMAFACTORY:
            by_conv.setdefault(item.conv.index, []).append(item)
    for items in by_conv.values():
        preds = [ctx.predictions.get(it.pointer) for it in items]
        if not all(isinstance(p, Prediction) for p in preds):
            continue
        first_t = preds[0].grid_thw[0]
        timestamps = []
        for it, p in zip(items, preds):
            f = ctx.facts.get(it.pointer)
            k = settings.sample_count(f.num_frames_header, f.stream_duration_s) if isinstance(f, MVideo) else None
            timestamps.append(-(-k // 2) if header_indices and k is not None else p.grid_thw[0])
        view = ctx.view(items[0].conv)
        bad = llamafactory.qwen3vl_video_error(llamafactory.message_indices(view, Kind.VIDEO), first_t,
                                               timestamps) if view is not None else None
        if bad is not None and bad < len(items):
            ctx.predictions[items[bad].pointer] = VisionError(
                "LLaMA-Factory", "IndexError", "list index out of range",
                "llamafactory/data/mm_plugin.py:Qwen3VLPlugin.process_messages")
            continue
        m = ctx.run.profile.merge_size
        for it, p in zip(items[1:], preds[1:]):
            if p.grid_thw[0] != first_t:
                grid = (first_t, *p.grid_thw[1:])
                ctx.predictions[it.pointer] = replace(
                    p, grid_thw=grid, tokens=grid[0] * grid[1] * grid[2] // (m * m),
                    notes=(*p.notes, f"LLaMA-Factory's Qwen3VLPlugin expands it with the first video's "
                           f"{first_t} temporal patches, not its own {p.grid_thw[0]}"))


#: The consumers whose audio loading is modelled (the others' audio gets no prediction).
_AUDIO_TARGETS = (Target.TRANSFORMERS, Target.QWEN_OMNI_UTILS, Target.LLAMAFACTORY, Target.MS_SWIFT, Target.VLLM)


def _predict_audio(ctx: RecordContext, items: list[MediaItem]) -> None:
    """Audio tokens of what the Omni processor is given, one processor call per conversation
    (Qwen3-Omni pads every audio of a call to the longest: :mod:`qwenlint.vision.audio`): the audio
    parts and, with ``--use-audio-in-video``, each video's sound track, in the order of the parts.
    A video's track joins its prediction (``Prediction.audio``).

    transformers' ``apply_chat_template`` loads an audio whole (torchcodec: the source's samples
    resampled frame by frame, :func:`qwenlint.vision.audio.torchcodec_samples`); qwen-omni-utils the ``audio_start`` / ``audio_end`` window
    (librosa: exactly ``ceil``), asserts that each video has a sound track, and its README call
    is refused by transformers 5.23 (:mod:`qwenlint.consumers.qwen_omni_utils`); LLaMA-Factory's
    Omni plugin (``Qwen2OmniPlugin``) loads with torchaudio (exactly ``ceil``) and calls the feature
    extractor with ``padding="max_length"`` for both families: each audio is cut at 30 seconds;
    ms-swift loads with librosa and, for Qwen3-Omni, turns truncation off (4.2) and cuts each
    audio to a multiple of 160 samples (4.4): :func:`qwenlint.consumers.ms_swift.omni_settings`."""
    family = ctx.run.profile.family
    parts = {id(it) for it in items}
    calls: dict[int, list[tuple[MediaItem, Any]]] = {}
    for item in ctx.media:  # reading order
        if ctx.target(item.conv) not in _AUDIO_TARGETS:
            continue
        if id(item) in parts:
            calls.setdefault(item.conv.index, []).append((item, ctx.facts.get(item.pointer)))
        elif item.pointer in ctx.audio_tracks and isinstance(ctx.predictions.get(item.pointer), Prediction):
            calls.setdefault(item.conv.index, []).append((item, ctx.audio_tracks[item.pointer]))
    for call in calls.values():
        target = ctx.target(call[0][0].conv)
        omni_utils = target is Target.QWEN_OMNI_UTILS
        if omni_utils and _omni_utils_refuses(ctx, call):
            continue
        call = [(it, f) for it, f in call  # a silent video: transformers loads no audio for it
                if not (isinstance(f, MediaError) and f.code == "not-audio" and it.kind is Kind.VIDEO)]
        known = [(it, f) for it, f in call if isinstance(f, AudioFacts)]
        if not known:
            continue
        if target is Target.VLLM:  # each item on its own; torchaudio resamples to exactly ceil
            audios = [(it, f) for it, f in known if it.kind is Kind.AUDIO]
            if not ctx.run.server.since(VLLM_AUDIO_MODELLED):  # an older audio path: no prediction
                for it, _ in audios:
                    ctx.unpredicted[it.pointer] = (f"vLLM {ctx.run.server.version} resamples audio with PyAV, "
                                                   f"which qwenlint does not model (it does from {VLLM_AUDIO_MODELLED})")
                continue
            for (it, _), pred in zip(audios, predict_vllm_audio(
                    family, [loaded_samples(f.samples, f.sample_rate) for _, f in audios],
                    exact=[f.exact for _, f in audios])):
                ctx.predictions[it.pointer] = pred
            continue
        padding, truncation, trim = _feature_call(ctx, target, family)
        if target in (Target.TRANSFORMERS, Target.LLAMAFACTORY) and _torchcodec_raises(ctx, known, target):
            continue
        if target is Target.TRANSFORMERS:  # torchcodec: the resampler's count for the file's frames
            loaded = [torchcodec_samples(f.samples, f.sample_rate, f.frames) for _, f in known]
            samples = [n for n, _ in loaded]
            exact = [f.exact and sure for (_, f), (_, sure) in zip(known, loaded)]
        else:  # librosa / torchaudio fix the resampled length at ceil
            samples = [loaded_samples(qwen_omni_utils.audio_window(f.samples, f.sample_rate, it.options)
                                      if it.kind is Kind.AUDIO else f.samples, f.sample_rate) for it, f in known]
            exact = [f.exact for _, f in known]
        if trim:  # ms-swift's trim_audio_to_hop_length
            samples = [n // HOP_LENGTH * HOP_LENGTH if n >= HOP_LENGTH else n for n in samples]
        partial = len(known) < len(call) and padding == "longest"
        pipeline = {Target.QWEN_OMNI_UTILS: "qwen-omni-utils", Target.LLAMAFACTORY: "llamafactory",
                    Target.MS_SWIFT: "ms-swift"}.get(target, "transformers")
        for (it, _), pred in zip(known, predict_audio_batch(family, samples, exact=exact, pipeline=pipeline,
                                                            padding=padding, truncation=truncation)):
            if partial and not isinstance(pred, VisionError):  # the longest audio may be the unknown one
                pred = replace(pred, exact=False, notes=(*pred.notes, "another audio of the call could "
                                                         "not be read: its padding length is assumed"))
            if it.kind is Kind.VIDEO:
                video = ctx.predictions[it.pointer]
                ctx.predictions[it.pointer] = pred if isinstance(pred, VisionError) else replace(video, audio=pred)
            else:
                ctx.predictions[it.pointer] = pred


def _torchcodec_raises(ctx: RecordContext, known: list[tuple[MediaItem, AudioFacts]], target: Target) -> bool:
    """transformers' ``load_audio`` (torchcodec, from :data:`TF_TORCHCODEC_AUDIO`) and LLaMA-Factory's
    ``torchaudio.load`` (torchcodec from torchaudio 2.9; 2.11.1 is what the frameworks' tests run)
    raise on the first audio that is a WAV whose data ends inside a block, or that decodes to no
    sample (run: test_audio_facts, test_audio_omni, test_llamafactory_audio), before the processor
    runs: that audio gets the error, the conversation's others no prediction."""
    tf = ctx.run.versions["transformers"]
    if target is Target.TRANSFORMERS and tf is not None and tf < TF_TORCHCODEC_AUDIO:
        return False
    bad, facts = next(((it, f) for it, f in known if f.partial_block or (f.exact and f.samples == 0)),
                      (None, None))
    if bad is None:
        return False
    alone = facts.partial_block_alone if facts.partial_block else None
    ctx.predictions[bad.pointer] = torchcodec_error(alone) if target is Target.TRANSFORMERS else torchcodec_error(
        alone, "llamafactory", "llamafactory/data/mm_plugin.py:MMPluginMixin._regularize_audios (torchaudio.load)")
    for it, _ in known:
        if it is not bad and it.kind is Kind.AUDIO:
            ctx.unpredicted[it.pointer] = f"the audio at {bad.pointer} fails to load first"
    return True


def _feature_call(ctx: RecordContext, target: Target, family: str) -> tuple[str | None, bool | None, bool]:
    """How ``target`` calls the feature extractor: (padding, truncation, ms-swift's hop trim);
    None: the family's processor default (:func:`qwenlint.vision.audio.predict_audio_batch`)."""
    if target is Target.LLAMAFACTORY:  # Qwen2OmniPlugin: padding="max_length" for both families
        return "max_length", True, False
    if target is Target.MS_SWIFT:
        omni = ms_swift.omni_settings(family, ctx.run.versions["ms-swift"])
        if omni["trim"] or omni["truncation"] is not None:
            return None, omni["truncation"], omni["trim"]
    if family == "qwen3-omni" and ctx.run.versions["transformers"] < TF_QWEN3_OMNI_UNTRUNCATED:
        return "longest", True, False
    return None, None, False


def _omni_utils_refuses(ctx: RecordContext, call: list[tuple[MediaItem, Any]]) -> bool:
    """qwen-omni-utils with ``use_audio_in_video``: a silent video fails its assertion; else, from
    transformers 5.23, the processor refuses the call.  Sets the error on the videos; True then."""
    videos = [(it, f) for it, f in call if it.kind is Kind.VIDEO]
    if not videos:
        return False
    silent = [it for it, f in videos if isinstance(f, MediaError) and f.code == "not-audio"]
    if silent:
        for it in silent:
            ctx.predictions[it.pointer] = VisionError("qwen-omni-utils", "AssertionError",
                                                      "Video must has audio track when use_audio_in_video=True",
                                                      "qwen_omni_utils/v2_5/audio_process.py:process_audio_info",
                                                      loading=True)
        return True
    release = ctx.run.versions["transformers"]
    if release < qwen_omni_utils.USE_AUDIO_IN_VIDEO_BROKEN:
        return False
    standalone = len(call) - len(videos)
    message = qwen_omni_utils.audio_in_video_error(ctx.run.profile.tokens.audio_pad or "<|AUDIO|>",
                                                   standalone, len(call))
    for it, _ in videos:
        ctx.predictions[it.pointer] = VisionError("transformers", "ValueError", message,
                                                  "processing_utils.py:OmniModalProcessorMixin.validate_inputs")
    return True


def _bound(pl: Plan, item: MediaItem) -> Bound:
    if item.kind is Kind.IMAGE:
        try:
            return Bound("image", pl.pipeline, worst_case_image_tokens(
                pl.profile, pl.options, pl.pipeline, processor_kwargs=pl.processor_kwargs, qvu_module=pl.qvu_module))
        except Exception:  # noqa: BLE001 - a VisionError shows once the size is known
            return Bound("image", pl.pipeline, None)
    return Bound("video", pl.pipeline, None)
