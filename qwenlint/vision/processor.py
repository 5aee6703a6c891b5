"""The transformers 5.23 processor stage: resize, sampling and patchify checks of the Qwen processors.

Mirrors ``Qwen2VLImageProcessor._preprocess``, ``Qwen2VLVideoProcessor`` / ``Qwen3VLVideoProcessor``
(``sample_frames``, ``resize``, ``patchify``), the kwarg routing of
``ProcessorMixin._merge_kwargs`` / ``apply_chat_template``, and how
``BaseVideoProcessor._decode_and_sample_videos`` loads a path (torchcodec) or a list of image paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from qwenlint.vision.errors import TRANSFORMERS, VisionError, mirrors
from qwenlint.vision.facts import ImageFacts, VideoFacts
from qwenlint.vision.frames import (
    VLLM_DEFAULT_NUM_FRAMES,
    VLLM_MAX_FPS,
    VLLM_QWEN_FPS,
    qwen2vl_sample_frames,
    qwen3vl_sample_frames,
    vllm_loader,
    vllm_video_indices,
)
from qwenlint.vision.profiles import Profile
from qwenlint.vision.resize import hf_smart_resize, qwen3_video_smart_resize

#: The transformers release mirrored by default, and the ones that changed what follows (found by
#: running 5.6.0 … 5.23.0 on the same inputs; tests/differential/test_vision_transformers_versions.py):
#: 5.10.1 merges flat call kwargs with an ``images_kwargs`` / ``videos_kwargs`` dict (before: the
#: dict, even empty, replaces the flat kwargs of its modality), 5.15.0 upscales Qwen3 video frames
#: under one patch (before: ValueError), 5.18.0 honours one call-time ``min_pixels`` or
#: ``max_pixels`` alone (before: only the two together), 5.20.0 applies a path image's EXIF
#: orientation in ``apply_chat_template`` (vision/predict.py).
TF_NEWEST = Version("5.23.0")
#: 5.0.0 (found by running 4.55.4, 4.56.2 and 4.57.6 on the same inputs): before it, the video
#: processors have no ``_further_process_kwargs``, so 4.57 ignores a call-time ``min_pixels`` /
#: ``max_pixels`` for videos (``size`` is honoured; 4.55 and 4.56: `TF_VIDEO_SIZE`); images reach the torchvision image
#: processor (AutoProcessor forces it) as Pillow images, so their channel axis is known and, as from
#: 5.4.0, only a pair of call-time bounds is honoured; Qwen3-VL's video resize checks the frame count
#: (5.0 dropped that check until 5.15) and raises on a frame under one patch.
TF_5 = Version("5.0.0")
#: 4.57.0: the Qwen2-VL video processor resizes to its ``size`` (before, 4.55 and 4.56, to its
#: ``min_pixels`` / ``max_pixels``: each call-time bound honoured alone, filled from the processor's
#: own, and a call's ``size`` ignored; the Omni processors' defaults were such bounds too).
TF_VIDEO_SIZE = Version("4.57.0")
#: 4.56.0 checks a list of frames' first frame before it stacks them (an empty list: IndexError;
#: before, numpy's ValueError).
TF_FRAME_LIST_CHECKED = Version("4.56.0")
#: 5.4.0 rewrote the image processors: ``apply_chat_template``'s images reach them with their channel
#: axis known (before: inferred from an HWC array, see :func:`chat_template_image_size`), and a lone
#: call-time ``min_pixels`` or ``max_pixels`` is ignored (before, honoured; again from 5.18.0).
TF_IMAGE_PROCESSORS_REWRITTEN = Version("5.4.0")
TF_FLAT_KWARGS_MERGED = Version("5.10.1")
#: 5.10.0: the Qwen3-VL processor replaces only the video token with a video's timestamped frames, so the
#: template's ``<|vision_start|>`` / ``<|vision_end|>`` around it stay (5.9.0 replaced the three tokens)
TF_VIDEO_PAIR_KEPT = Version("5.10.0")
TF_QWEN3_UPSCALE = Version("5.15.0")
TF_SINGLE_PIXEL_BOUND = Version("5.18.0")
TF_EXIF = Version("5.20.0")
#: 5.6.0 loads path images with torchvision's ``decode_image``, without their EXIF orientation (5.1.0
#: to 5.5.0 loaded them with Pillow and applied it), until 5.20.0 applies it again.
TF_EXIF_DROPPED = Version("5.6.0")


def chat_template_applies_exif(tf_version: Version) -> bool:
    """Whether ``apply_chat_template`` turns a path image upright by its EXIF orientation."""
    return tf_version < TF_EXIF_DROPPED or tf_version >= TF_EXIF

#: Keys `processor_kwargs` understands (flat, or inside ``images_kwargs`` / ``videos_kwargs``).
PROCESSOR_KWARGS = ("size", "min_pixels", "max_pixels", "do_resize", "fps", "num_frames",
                    "do_sample_frames", "min_frames", "max_frames", "cap_pixels_per_frame")


#: Of `PROCESSOR_KWARGS`, those the image processor accepts (``Qwen2VLImageProcessorKwargs``).
_IMAGE_KWARGS = frozenset({"size", "min_pixels", "max_pixels", "do_resize"})


def _video_kwargs(kind: str) -> frozenset[str]:
    """Of `PROCESSOR_KWARGS`, those the video processor accepts (Qwen3VL has no min/max_pixels)."""
    return frozenset(PROCESSOR_KWARGS) - ({"min_pixels", "max_pixels"} if kind == "qwen3vl" else set())


@mirrors(TRANSFORMERS, "processing_utils.py:ProcessorMixin._merge_kwargs")
def check_call_kwargs(processor_kwargs: Mapping[str, Any], video_kind: str, tf_version: Version = TF_NEWEST) -> None:
    """The two checks ``_merge_kwargs`` makes on ``images_kwargs`` / ``videos_kwargs`` dicts.

    A key both flat and in the dict raises ``ValueError: Keyword argument fps was passed two
    times: ...``; a key the modality does not accept (``videos_kwargs={"max_pixels": ...}`` for
    Qwen3-VL) fails typed-dict validation with a ``TypeError``.  Keys outside `PROCESSOR_KWARGS`
    are not judged.  Before 5.0 the dicts are not validated: such a key is passed on and ignored.
    """
    valid = {"images_kwargs": _IMAGE_KWARGS, "videos_kwargs": _video_kwargs(video_kind)}
    for key, value in processor_kwargs.items():
        if key in valid and isinstance(value, Mapping):
            for sub in value:
                if sub in processor_kwargs and sub in valid[key]:
                    raise ValueError(f"Keyword argument {sub} was passed two times:\n"
                                     f"in a dictionary for {key} and as a **kwarg.")
    for key, accepted in valid.items() if tf_version >= TF_5 else ():
        value = processor_kwargs.get(key)
        if isinstance(value, Mapping):
            for sub in value:
                if sub in PROCESSOR_KWARGS and sub not in accepted:
                    raise TypeError(f"merged_typed_dict.__init__() got an unexpected keyword argument '{sub}'")


@dataclass(frozen=True)
class ImageSettings:
    """The image processor as one call sees it: ``size`` bounds, patch/merge size, ``do_resize``."""

    min_pixels: Any
    max_pixels: Any
    patch_size: int
    merge_size: int
    do_resize: bool


@dataclass(frozen=True)
class VideoSettings:
    """The video processor as one call sees it (profile values overridden by the call's kwargs)."""

    kind: str
    min_pixels: Any
    max_pixels: Any
    patch_size: int
    merge_size: int
    temporal_patch_size: int
    do_resize: bool
    do_sample_frames: bool
    fps: Any
    num_frames: Any
    min_frames: Any
    max_frames: Any
    cap_pixels_per_frame: bool
    upscale_small_frames: bool = True  # Qwen3 (transformers 5.15+); before, a small frame raises
    frame_check: bool = True  # Qwen3: fewer frames than the temporal patch raise (not 5.0 to 5.14)


def _dict_replaces_flat(processor_kwargs: Mapping[str, Any] | None, modality: str, tf_version: Version) -> bool:
    """Before transformers 5.10.1 a modality dict (``videos_kwargs={}`` too) replaces the flat kwargs
    of its modality."""
    return isinstance((processor_kwargs or {}).get(modality), Mapping) and tf_version < TF_FLAT_KWARGS_MERGED


def _modality_kwargs(processor_kwargs: Mapping[str, Any] | None, modality: str,
                     tf_version: Version = TF_NEWEST) -> dict[str, Any]:
    """Flat kwargs beat ``images_kwargs``/``videos_kwargs`` (``ProcessorMixin._merge_kwargs`` order),
    except where the dict replaces them (`_dict_replaces_flat`)."""
    kwargs = dict(processor_kwargs or {})
    nested = kwargs.pop(modality, None)
    if _dict_replaces_flat(processor_kwargs, modality, tf_version):
        return dict(nested)
    merged = dict(nested or {})
    kwargs.pop("images_kwargs" if modality == "videos_kwargs" else "videos_kwargs", None)
    merged.update({k: v for k, v in kwargs.items() if k in PROCESSOR_KWARGS})
    return merged


def _size_bounds(kwargs: Mapping[str, Any], lo: Any, hi: Any, legacy_keys: bool = True,
                 paired: bool = False) -> tuple[Any, Any]:
    """``size`` then (where the processor's ``_standardize_kwargs`` has them) ``min_pixels``/``max_pixels``
    (``paired``, before transformers 5.18: only when both are given)."""
    size = kwargs.get("size")
    if isinstance(size, Mapping):
        lo = size.get("shortest_edge", lo)
        hi = size.get("longest_edge", hi)
    if not legacy_keys:
        return lo, hi
    if paired:
        if kwargs.get("min_pixels") is not None and kwargs.get("max_pixels") is not None:
            return kwargs["min_pixels"], kwargs["max_pixels"]
        return lo, hi
    if kwargs.get("min_pixels") is not None:
        lo = kwargs["min_pixels"]
    if kwargs.get("max_pixels") is not None:
        hi = kwargs["max_pixels"]
    return lo, hi


def _pixel_bounds_paired(tf_version: Version) -> bool:
    """Whether the image processor honours call-time ``min_pixels`` / ``max_pixels`` only as a pair
    (5.4.0 to 5.17)."""
    return TF_IMAGE_PROCESSORS_REWRITTEN <= tf_version < TF_SINGLE_PIXEL_BOUND


@mirrors(TRANSFORMERS, "models/qwen2_vl/image_processing_qwen2_vl_fast.py:_further_process_kwargs (4.57)")
def _image_bounds_before_5(kw: Mapping[str, Any], profile: Profile) -> tuple[Any, Any]:
    """The call's bounds in ``Qwen2VLImageProcessorFast`` before 5.0.

    ``preprocess`` first fills each missing kwarg from the processor's attribute, and
    ``min_pixels`` / ``max_pixels`` are attributes only where the config names them
    (`Profile.image_pixel_keys`); then a pair of bounds wins over ``size``.  So with Qwen2-VL's
    config a call's ``size`` is ignored and a lone bound honoured; with Qwen3-VL's, the reverse.
    """
    keys = profile.image_pixel_keys
    lo = kw.get("min_pixels", profile.image_min_pixels if "min_pixels" in keys else None)
    hi = kw.get("max_pixels", profile.image_max_pixels if "max_pixels" in keys else None)
    if lo is not None and hi is not None:
        return lo, hi
    return _size_bounds({"size": kw.get("size")}, profile.image_min_pixels, profile.image_max_pixels, legacy_keys=False)


def image_settings(profile: Profile, processor_kwargs: Mapping[str, Any] | None,
                   tf_version: Version = TF_NEWEST) -> ImageSettings:
    """Profile values, then ``images_kwargs``, then flat kwargs (``Qwen2VLImageProcessor._standardize_kwargs``)."""
    kw = _modality_kwargs(processor_kwargs, "images_kwargs", tf_version)
    if tf_version < TF_5:
        lo, hi = _image_bounds_before_5(kw, profile)
    else:
        lo, hi = _size_bounds(kw, profile.image_min_pixels, profile.image_max_pixels,
                              paired=_pixel_bounds_paired(tf_version))
    return ImageSettings(lo, hi, profile.patch_size, profile.merge_size, bool(kw.get("do_resize", True)))


def video_settings(profile: Profile, processor_kwargs: Mapping[str, Any] | None,
                   chat_template_call: bool, tf_version: Version = TF_NEWEST) -> VideoSettings:
    """Profile values (Omni sizes included), then ``videos_kwargs``, then flat kwargs.

    ``chat_template_call``: ``apply_chat_template`` turns on ``do_sample_frames`` when a flat
    ``fps`` or ``num_frames`` is passed and ``do_sample_frames`` is not.
    """
    cfg = profile.video
    kw = _modality_kwargs(processor_kwargs, "videos_kwargs", tf_version)
    # Qwen3VLVideoProcessor has no min_pixels/max_pixels kwargs: flat ones reach only the images;
    # 4.57 reads them at call time for no video processor.
    if tf_version < TF_VIDEO_SIZE:
        # only the Omni processors' video kwargs name min/max_pixels: for the others, a flat one
        # reaches the images only (a nested one is passed on all the same)
        nested = (processor_kwargs or {}).get("videos_kwargs")
        nested = nested if isinstance(nested, Mapping) else {}
        lo, hi = _size_bounds({k: v for k, v in kw.items() if k != "size" and (profile.is_omni or k in nested)},
                              cfg.min_pixels, cfg.max_pixels)
    else:
        lo, hi = _size_bounds(kw, cfg.min_pixels, cfg.max_pixels, legacy_keys=cfg.kind == "qwen2vl" and tf_version >= TF_5,
                              paired=tf_version < TF_SINGLE_PIXEL_BOUND)
    do_sample = kw.get("do_sample_frames")
    flat = processor_kwargs or {}
    if _dict_replaces_flat(flat, "videos_kwargs", tf_version):
        flat = {}  # apply_chat_template's do_sample_frames=True is a flat kwarg too: dropped
    if (do_sample is None and chat_template_call and "do_sample_frames" not in flat
            and (flat.get("fps") is not None or flat.get("num_frames") is not None)):
        do_sample = True  # ProcessorMixin.apply_chat_template: fps/num_frames imply sampling
    if do_sample is None:
        do_sample = cfg.do_sample_frames
    # Qwen3VLVideoProcessor.sample_frames reads min/max_frames from self, not from the call.
    frames_from_call = cfg.kind == "qwen2vl"
    return VideoSettings(
        cfg.kind, lo, hi, cfg.patch_size, cfg.merge_size, cfg.temporal_patch_size,
        bool(kw.get("do_resize", True)), bool(do_sample),
        # an explicit None stays None (the processor's setdefault() does not replace it)
        kw.get("fps", cfg.fps),
        kw.get("num_frames", cfg.num_frames),
        kw["min_frames"] if frames_from_call and kw.get("min_frames") is not None else cfg.min_frames,
        kw["max_frames"] if frames_from_call and kw.get("max_frames") is not None else cfg.max_frames,
        bool(kw.get("cap_pixels_per_frame") or False),
        tf_version >= TF_QWEN3_UPSCALE,
        not TF_5 <= tf_version < TF_QWEN3_UPSCALE,
    )


@mirrors(TRANSFORMERS, "video_utils.py:make_batched_videos / convert_pil_frames_to_video")
def empty_frame_list_error(tf_version: Version) -> VisionError:
    """What the video processor raises for a video given as an empty list of frames."""
    if tf_version >= TF_FRAME_LIST_CHECKED:
        return VisionError(TRANSFORMERS, "IndexError", "list index out of range",
                           where="the video processor, on the empty frame list")
    return VisionError(TRANSFORMERS, "ValueError", "need at least one array to stack",
                       where="the video processor stacking the empty frame list")


def _check_size(min_pixels: Any, max_pixels: Any) -> None:
    """``resize``'s guard: a falsy ``shortest_edge`` / ``longest_edge`` (0 or missing) raises."""
    if not min_pixels or not max_pixels:
        raise ValueError("`size` dict must contain 'shortest_edge' and 'longest_edge' keys but got "
                         f"SizeDict(height=None, width=None, longest_edge={max_pixels}, shortest_edge={min_pixels}, "
                         "max_height=None, max_width=None, min_pixels=None, max_pixels=None).")


def _patchify_shape_error(shape: Sequence[int], numel: int) -> RuntimeError:
    dims = ", ".join(str(d) for d in shape)
    return RuntimeError(f"shape '[{dims}]' is invalid for input of size {numel}")


@mirrors(TRANSFORMERS, "image_processing_utils.py:BaseImageProcessor.preprocess (infer_channel_dimension_format)")
def chat_template_image_size(height: int, width: int, settings: ImageSettings,
                             tf_version: Version = TF_NEWEST) -> tuple[int, int]:
    """:func:`image_size` of an image ``apply_chat_template`` loaded (decoded as ``height`` x ``width``).

    From 5.0.0 to 5.3 the processor gets an HWC array and infers the channel axis: a first axis of
    1 or 3 (an image 1 or 3 pixels high) is read as the channels, so the image is processed as
    ``width`` x 3 (a transposed grid) and, 1 pixel high, ``normalize`` then fails on the 3-value
    mean (found by running 5.1.0 to 5.5.0 on the same images).  4.57 hands the torchvision
    processor a Pillow image, whose channel axis is known.
    """
    if tf_version >= TF_IMAGE_PROCESSORS_REWRITTEN or tf_version < TF_5 or height not in (1, 3):
        return image_size(height, width, settings)
    size = image_size(width, 3, settings)  # resize's own errors come first
    if height == 1:
        raise ValueError("mean must have 1 elements if it is an iterable, got 3")
    return size


def array_image_size(shape: Sequence[int], tf_version: Version = TF_NEWEST) -> tuple[int, int] | None:
    """(height, width) of an image given to ``apply_chat_template`` as a numpy array or a torch
    tensor of this ``shape``, as the rewritten image processors (from
    :data:`TF_IMAGE_PROCESSORS_REWRITTEN`; ``image_processing_backends.py``) read it: 2 axes are
    (height, width); of 3, the first is the channels when it is 1, 3 or 4, else the last when it is
    (channels first when both are), else ``ValueError: Unable to infer channel dimension format``
    (raised).  None: not modelled (before 5.4, other numbers of axes)."""
    if tf_version < TF_IMAGE_PROCESSORS_REWRITTEN or len(shape) not in (2, 3):
        return None
    if len(shape) == 2:
        return shape[0], shape[1]
    channels = (1, 3, 4)
    if shape[0] in channels:
        return shape[1], shape[2]
    if shape[2] in channels:
        return shape[0], shape[1]
    raise VisionError(TRANSFORMERS, "ValueError", "Unable to infer channel dimension format",
                      "image_utils.py:infer_channel_dimension_format")


@mirrors(TRANSFORMERS, "models/qwen2_vl/image_processing_qwen2_vl.py:Qwen2VLImageProcessor._preprocess")
def image_size(height: int, width: int, settings: ImageSettings) -> tuple[int, int]:
    """Resize (``do_resize``) then the patchify reshape, which fails unless sides divide by p*m.

    The reshape error quotes the batch of same-shaped images; one image is assumed.
    """
    p, m = settings.patch_size, settings.merge_size
    if settings.do_resize:
        _check_size(settings.min_pixels, settings.max_pixels)
        height, width = hf_smart_resize(height, width, factor=p * m, min_pixels=settings.min_pixels,
                                        max_pixels=settings.max_pixels)
    gh, gw = height // p, width // p
    if gh // m * m * p != height or gw // m * m * p != width:
        raise _patchify_shape_error([1, 3, gh // m, m, p, gw // m, m, p], 3 * height * width)
    return height, width


@mirrors(TRANSFORMERS, "models/qwen2_vl/video_processing_qwen2_vl.py:Qwen2VLVideoProcessor._preprocess")
def video_size(frames: int, height: int, width: int, settings: VideoSettings) -> tuple[int, int]:
    """The video processor's resize (2-D per frame, or Qwen3's 3-D budget) and patchify check."""
    p, m, tp = settings.patch_size, settings.merge_size, settings.temporal_patch_size
    factor = p * m
    if settings.do_resize:
        _check_size(settings.min_pixels, settings.max_pixels)
        max_pixels = settings.max_pixels
        if settings.kind == "qwen2vl":
            if settings.cap_pixels_per_frame:
                total_pixels = int(128000 * factor * factor * 0.9)
                max_pixels = max(min(max_pixels, total_pixels * tp // frames), int(settings.min_pixels * 1.05))
            height, width = hf_smart_resize(height, width, factor=factor, min_pixels=settings.min_pixels,
                                            max_pixels=max_pixels)
        else:
            if settings.cap_pixels_per_frame:
                per_frame = max(min(768 * factor * factor, settings.max_pixels // frames),
                                int(settings.min_pixels * 1.05))
                max_pixels = per_frame * frames
            height, width = qwen3_video_smart_resize(frames, height, width, temporal_factor=tp, factor=factor,
                                                     min_pixels=settings.min_pixels, max_pixels=max_pixels,
                                                     upscale=settings.upscale_small_frames,
                                                     frame_check=settings.frame_check)
    padded = frames + (-frames % tp)
    gh, gw = height // p, width // p
    if gh // m * m * p != height or gw // m * m * p != width:
        raise _patchify_shape_error([1, padded // tp, tp, 3, gh // m, m, p, gw // m, m, p],
                                    padded * 3 * height * width)
    return height, width


def load_video(video: VideoFacts | Sequence[ImageFacts], settings: VideoSettings, pipeline: str,
               vllm_video: Mapping[str, Any], notes: list[str]) -> tuple[int, int, int, tuple[int, ...], Any]:
    """Sampling + resize when the processor (or vLLM) loads the video itself.

    ``vllm_video`` is vLLM's ``media_io_kwargs["video"]`` (see `vllm_video_indices`).
    """
    if not isinstance(video, VideoFacts):
        if pipeline == "vllm":
            raise ValueError("a list of frames is not a vLLM video input (use video_url)")
        return _processor_frame_list(video, settings, notes)
    total, fps = video.num_frames, video.fps
    if pipeline == "vllm":
        loader = vllm_loader(vllm_video, settings.kind)
        try:
            indices = vllm_video_indices(total, fps, loader, vllm_video)
        except VisionError as e:  # the loader's sampling: raised while the server loads the video
            raise VisionError(e.library, e.exc_type, e.message, e.where, loading=True) from None
        if loader == "opencv":
            notes.append(f"vLLM's generic video loader samples {len(indices)} frames uniformly "
                         f"(num_frames={vllm_video.get('num_frames', VLLM_DEFAULT_NUM_FRAMES)})")
        else:
            notes.append(f"vLLM's {loader} video loader samples {len(indices)} of {total} frames "
                         f"(fps={min(vllm_video.get('fps', VLLM_QWEN_FPS), VLLM_MAX_FPS):g})")
        if settings.kind == "qwen3vl" and len(indices) == total:
            # The loader's metadata says do_sample_frames = (every frame was loaded), and
            # qwen3_vl.py `_call_hf_processor` passes it on: the HF processor then samples again.
            indices = _sample(total, fps, settings)
            how = f"at {settings.fps:g} fps" if settings.fps is not None else f"(num_frames={settings.num_frames})"
            notes.append(f"every frame was loaded, so vLLM lets the Qwen3-VL processor sample {len(indices)} "
                         f"of them {how}")
    elif settings.do_sample_frames:
        indices = _sample(total, fps, settings)
    else:
        indices = list(range(total))
        notes.append(f"no frame sampling: all {total} frames are processed")
    h, w = video_size(len(indices), video.height, video.width, settings)
    return len(indices), h, w, tuple(indices), fps


@mirrors(TRANSFORMERS, "video_utils.py:read_video_torchcodec")
def _sample(total: int, fps: float, settings: VideoSettings) -> list[int]:
    if settings.kind == "qwen2vl":
        indices = qwen2vl_sample_frames(total, fps, num_frames=settings.num_frames, fps=settings.fps,
                                        temporal_patch_size=settings.temporal_patch_size,
                                        min_frames=settings.min_frames, max_frames=settings.max_frames)
    else:
        indices = qwen3vl_sample_frames(total, fps, num_frames=settings.num_frames, fps=settings.fps, default_fps=None,
                                        min_frames=settings.min_frames, max_frames=settings.max_frames)
    bad = [i for i in indices if not 0 <= i < total]
    if bad:  # torchcodec VideoDecoder.get_frames_at (Qwen2VL's arange can reach `total`)
        raise IndexError(f"Invalid frame index={bad[0]} for stream_index=0; must be less than {total}")
    return indices


@mirrors(TRANSFORMERS, "video_processing_utils.py:BaseVideoProcessor._decode_and_sample_videos")
def _processor_frame_list(frames: Sequence[ImageFacts], settings: VideoSettings,
                          notes: list[str]) -> tuple[int, int, int, tuple[int, ...], Any]:
    """A video given as a list of image paths: loaded (EXIF-transposed) and stacked, never sampled.

    ``do_sample_frames=True`` (the Qwen3VL default) raises after loading.
    """
    if not frames:  # make_batched_videos indexes the first frame
        raise IndexError("list index out of range")
    sizes = [f.size(exif_transpose=True) for f in frames]
    for i, size in enumerate(sizes):
        if size != sizes[0]:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got [3, {sizes[0][0]}, {sizes[0][1]}] "
                               f"at entry 0 and [3, {size[0]}, {size[1]}] at entry {i}")
    if settings.do_sample_frames:
        raise ValueError("Sampling frames from a list of images is not supported! Set `do_sample_frames=False`.")
    h, w = video_size(len(frames), sizes[0][0], sizes[0][1], settings)
    return len(frames), h, w, tuple(range(len(frames))), None

