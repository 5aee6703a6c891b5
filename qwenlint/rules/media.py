"""QL4xx — media and geometry: files that do not open, and what the vision pipeline does with them.

The rules read the media stage's facts (``ctx.sources`` / ``ctx.facts``: header probes, never decoded
pixels) and the vision stage's predictions (``ctx.predictions``: grids, pad counts, or the library's
own error).
"""

from __future__ import annotations

import math
from typing import Any, Iterator

from packaging.version import Version

from qwenlint import consumers
from qwenlint.consumers import transformers as transformers_consumer
from qwenlint.consumers import Target, llamafactory, qwen_omni_utils
from qwenlint.consumers.versions import MODELLED, PACKAGES
from qwenlint.context import Bound, MediaItem, Plan, RecordContext
from qwenlint.diagnostics import Severity
from qwenlint.ir import Kind
from qwenlint.media import ImageFacts, MediaError, bomb_error, parse_data_uri
from qwenlint.pointer import join
from qwenlint.rules.base import Finding, Scope, Span, needs, rule
from qwenlint.vision import Prediction, VisionError, budget_warnings, cause_of
from qwenlint.vision import ignored_options as vision_ignored_options
from qwenlint.vision import get_profile, processor, qvu
from qwenlint.vision.audio import SAMPLING_RATE, TF_TORCHCODEC_AUDIO, AudioPrediction

_NOT_FOUND = {"not-found", "invalid-path", "symlink-loop", "not-a-file", "permission-denied"}
_UNREADABLE = {"unreadable", "empty", "too-large", "not-an-image", "corrupt", "unsupported",
               "not-a-video", "not-audio", "timeout"}
_DATA_URI = {"bad-data-uri", "bad-base64"}
_TRANSFORMERS_LOADERS = (Target.TRANSFORMERS, Target.QWEN_FINETUNE)
_INCORRECT_SOURCE = ("ValueError: Incorrect image source. Must be a valid URL starting with `http://` or "
                     "`https://`, a valid path to an image file, or a base64 encoded string.")


def _ffmpeg_path_differs(item: MediaItem, s: Any) -> bool:
    return (item.kind is Kind.VIDEO and s is not None and s.kind == "file-url"
            and s.video_path != s.path)


def _what(item: MediaItem) -> str:
    return "frame" if item.is_frame_list else item.kind.value


@rule("QL401", "media-not-found", Severity.ERROR, "An image or video path names no readable file.")
@needs("media")
def media_not_found(ctx: RecordContext):
    """What: A local image or video path (or ``file://`` URL, or a frame of a frame list, or an
    entry of a dataset's media column) with no file behind it, a directory, or a file that cannot
    be read.  Relative paths resolve against ``--media-root``, else the input file's folder.

    Why: The run dies while loading the batch: qwen-vl-utils' ``Image.open`` raises
    ``FileNotFoundError: [Errno 2] No such file or directory: 'imgs/cat.jpg'``; a video fails in
    torchcodec (``RuntimeError: Could not open input file: clip.mp4 No such file or directory``),
    which qwen-vl-utils then masks as ``AttributeError: module 'torchvision.io' has no attribute
    'read_video'``.

    Example: ``{"type": "image", "image": "imgs/cat.jpg"}`` where ``imgs/`` does not exist.

    Fix: Fix the path, or pass ``--media-root`` where the paths are relative to.
    """
    for item, ptr, s, f in ctx.sources:
        if not isinstance(f, MediaError) or f.code not in _NOT_FOUND:
            continue
        if s is not None and s.kind == "data":
            continue
        if _ffmpeg_path_differs(item, s):
            continue  # QL404 explains it
        where = f" (looked for {s.resolved})" if s is not None and s.resolved and \
            s.resolved != s.raw else ""
        yield Finding(ptr, f"{_what(item)} {f.path or (s.raw if s else '')!r}: {f.message}{where}: "
                      f"{ctx.target(item.conv)} fails when it loads this {_what(item)}",
                      help="fix the path, or pass --media-root DIR (where relative paths resolve)",
                      data={"code": f.code})


@rule("QL402", "media-unreadable", Severity.ERROR,
      "A media file exists but is not a readable image or video.")
@needs("media")
def media_unreadable(ctx: RecordContext):
    """What: A file that is not what the part says it is, or is broken: a text file named
    ``.jpg``, a video given as an image, a truncated PNG, a video container FFmpeg cannot read,
    an empty file, HEIC without a plugin, an image mode that cannot be converted to RGB.

    Why: Loading fails inside the data pipeline: ``PIL.UnidentifiedImageError: cannot identify
    image file 'a.jpg'``, ``OSError: image file is truncated``, or for videos torchcodec's
    ``RuntimeError`` masked by qwen-vl-utils as ``AttributeError: module 'torchvision.io' has no
    attribute 'read_video'``.

    Example: ``{"type": "image", "image": "clip.mp4"}``

    Fix: Re-export or re-download the file; give videos as ``video`` parts and images as
    ``image`` parts.
    """
    for item, ptr, s, f in ctx.sources:
        if s is not None and s.kind == "data":
            continue  # QL403
        if isinstance(f, MediaError) and f.code in _UNREADABLE:
            yield Finding(ptr, f"{_what(item)} {s.raw if s else ''!r} cannot be loaded: {f.message} "
                          f"[{f.code}]", help="re-encode the media bytes this cell embeds" if s is not None
                          and s.kind == "memory" else _unreadable_help(item, f), data={"code": f.code})
        elif isinstance(f, ImageFacts):
            if f.truncated:
                yield Finding(ptr, f"{_what(item)} {s.raw!r} is a {f.format} cut short (a partial "
                              f"download?): it opens, but loading its pixels raises OSError: "
                              f"{f.truncated_error}", help="download or re-export the image again")
            elif f.rgb_convertible is False:
                yield Finding(ptr, f"{_what(item)} {s.raw!r} has mode {f.mode}, which "
                              ".convert(\"RGB\") cannot convert: loading it raises ValueError",
                              help="re-save the image as RGB (PNG or JPEG)")
            elif f.exif_error and ctx.target(item.conv) in _TRANSFORMERS_LOADERS:
                yield Finding(ptr, f"{_what(item)} {s.raw!r} has an EXIF block Pillow cannot parse: "
                              f"transformers' ImageOps.exif_transpose raises ({f.exif_error})",
                              severity=Severity.WARNING, help="strip the EXIF data (re-save the image)")


def _unreadable_help(item: MediaItem, f: MediaError) -> str:
    if f.code == "not-an-image" and item.kind is Kind.IMAGE:
        return "check the file: if it is a video, write it as a video part"
    if f.code == "not-a-video":
        return "check the file: if it is an image, write it as an image part"
    if f.code == "timeout":
        return "the packet scan ran past its time budget; the file may be huge or damaged"
    if f.code == "not-audio" and item.kind is Kind.AUDIO:
        return "name an audio file, or a video that has a sound track (there is no sound to load from this one)"
    return "re-export or re-download the file"


@rule("QL403", "invalid-data-uri", Severity.ERROR,
      "An inline data: URI does not decode, or is a form the consumer rejects.")
@needs("media")
def invalid_data_uri(ctx: RecordContext):
    """What: A ``data:`` URI image whose base64 payload does not decode, that declares one type and
    holds another (``image/jpeg`` with PNG bytes), that holds characters the lenient decoder skips
    (URL-safe ``-`` / ``_``: silent corruption), or that uses the bare ``data:image;base64,`` form
    the chosen consumer rejects: transformers' ``load_image`` needs ``data:image/``.

    Why: transformers raises ``ValueError: Incorrect image source. Must be a valid URL starting
    with `http://` or `https://`, a valid path to an image file, or a base64 encoded string.``;
    a payload that does not decode raises ``binascii.Error: Incorrect padding`` (or
    ``PIL.UnidentifiedImageError``) in every consumer.

    Example: ``{"type": "image", "image": "data:image;base64,iVBORw0KGgo..."}`` with ``--target transformers``

    Fix: Write ``data:image/png;base64,`` (the real type) and standard base64 (``+`` and ``/``).
    """
    for item, ptr, s, f in ctx.sources:
        if s is None or s.kind != "data":
            continue
        target = ctx.target(item.conv)
        if isinstance(f, MediaError):
            at = f" (at character {f.offset})" if f.offset is not None else ""
            yield Finding(ptr, f"the data URI does not decode: {f.message}{at} [{f.code}]: every "
                          "consumer raises when it loads it", help="re-encode the file with standard "
                          "base64: data:image/png;base64,<payload>", data={"code": f.code})
            continue
        info = parse_data_uri(s.raw)
        if isinstance(info, MediaError):
            continue
        if item.kind is Kind.IMAGE and target in _TRANSFORMERS_LOADERS and not info.transformers_accepts:
            yield Finding(ptr, f"transformers does not decode {s.raw[:20]!r}… (it needs data:image/<type>): "
                          f"{_INCORRECT_SOURCE}", help="write the type: data:image/png;base64,… "
                          "(qwen-vl-utils accepts the bare data:image;base64, form, transformers does not)")
        elif info.mime_mismatch:
            yield Finding(ptr, f"the data URI declares {info.mime} but holds {info.sniffed.value if hasattr(info.sniffed, 'value') else info.sniffed} "
                          "bytes", severity=Severity.WARNING,
                          help="declare the real type (the consumers decode by content, other tools may not)")
        if info.bad_char_offset is not None:
            yield Finding(ptr, f"the base64 payload has a character that is not standard base64 at "
                          f"offset {info.bad_char_offset} ({s.raw[info.bad_char_offset]!r}): "
                          "base64.b64decode skips it silently and the image is corrupted",
                          severity=Severity.WARNING,
                          help="encode with base64.b64encode (not urlsafe_b64encode)")


@rule("QL404", "video-file-url-relative", Severity.ERROR,
      "A relative file:// video path that FFmpeg opens as an absolute path.")
@needs("media")
def video_file_url_relative(ctx: RecordContext):
    """What: A video written as ``file://clip.mp4`` or ``file://./clip.mp4``.  For images
    qwen-vl-utils cuts ``file://`` off and opens ``clip.mp4``; a video string goes to FFmpeg
    unchanged, whose ``file:`` protocol opens ``//clip.mp4`` — the absolute path ``/clip.mp4``.

    Why: The same spelling that works for images fails for videos (torchcodec:
    ``RuntimeError: Could not open input file: file://clip.mp4 No such file or directory``, masked
    by qwen-vl-utils as ``AttributeError: module 'torchvision.io' has no attribute
    'read_video'``), or silently opens a different file at the root of the file system.

    Example: ``{"type": "video", "video": "file://videos/a.mp4"}``

    Fix: Use an absolute URL (``file:///data/videos/a.mp4``) or a plain path (``videos/a.mp4``).
    """
    for item, ptr, s, f in ctx.sources:
        if not _ffmpeg_path_differs(item, s) or item.is_frame_list:
            continue
        fixed = s.resolved or s.path
        if isinstance(f, MediaError):
            yield Finding(ptr, f"FFmpeg opens the video {s.raw!r} as {s.video_path} (file: protocol), "
                          f"not {s.path!r}: {f.message}", help=f"write a plain path ({s.path!r}) or an "
                          f"absolute URL (file://{fixed if fixed.startswith('/') else '/' + fixed})")
        else:
            yield Finding(ptr, f"FFmpeg opens the video {s.raw!r} as {s.video_path}, not {s.path!r} "
                          "relative to the working directory: make sure that is the file you mean",
                          severity=Severity.WARNING, help=f"write a plain path ({s.path!r}) or an "
                          "absolute file:/// URL")


@rule("QL405", "image-bomb", Severity.WARNING,
      "An image above Pillow's decompression-bomb limit.")
@needs("media")
def image_bomb(ctx: RecordContext):
    """What: An image with more pixels than Pillow's ``Image.MAX_IMAGE_PIXELS`` (89 478 485), read
    from its header.

    Why: Pillow warns (``DecompressionBombWarning: Image size (N pixels) exceeds limit of 89478485
    pixels, could be decompression bomb DOS attack.``) and above twice the limit ``Image.open``
    raises ``PIL.Image.DecompressionBombError``; decoding it costs gigabytes of memory before the
    resize throws most of it away.

    Example: a 12000x9000 scan: ``{"type": "image", "image": "scan.tif"}``

    Fix: Downscale the file before training / inference.
    """
    for item, ptr, s, f in ctx.sources:
        if isinstance(f, ImageFacts) and f.bomb:
            err = f.bomb == "error"
            yield Finding(ptr, f"{_what(item)} is {f.width}x{f.height} = {f.pixels} pixels: "
                          + ("Image.open raises PIL.Image.DecompressionBombError: " + bomb_error(f.pixels) if err else
                             f"Pillow warns DecompressionBombWarning: Image size ({f.pixels} pixels) "
                             "exceeds limit of 89478485 pixels, and decoding it takes "
                             f"~{f.pixels * 3 // 2**20} MiB"),
                          severity=Severity.ERROR if err else None,
                          help="downscale the file (the model sees at most max_pixels anyway)")


@rule("QL406", "remote-media-size-unknown", Severity.INFO,
      "A remote image or video: its token count is only bounded, not known.")
@needs("media")
def remote_media_size_unknown(ctx: RecordContext):
    """What: An ``http(s)://`` image or video when a token budget is checked
    (``--max-model-len``).  qwenlint fetches nothing unless asked, so the part's tokens are only an
    upper bound (images) or unknown (videos); with ``--allow-network`` it reads the header by byte
    range instead (docs/remote.md) and this rule has nothing to say.

    Why: A budget check that cannot see the part's size may miss ``Prompt length of N is longer
    than the maximum model length``.

    Example: ``{"type": "image_url", "image_url": {"url": "https://x/a.jpg"}}`` with ``--max-model-len 4096``

    Fix: Nothing to fix; pass ``--allow-network`` (or point at local copies) for an exact check.
    """
    if ctx.options.max_model_len is None:
        return
    for item in ctx.media:
        b = ctx.predictions.get(item.pointer)
        if isinstance(b, Bound):
            bound = f"at most {b.tokens} tokens" if b.tokens is not None else "an unknown number of tokens"
            yield Finding(item.source_pointer, f"remote {item.kind.value} is not fetched: it counts as "
                          f"{bound} in the budget check",
                          help="pass --allow-network to read its header by byte range (or use a local "
                               "copy) for an exact count")


def _masked(e: VisionError) -> str:
    cause = cause_of(e)
    if cause is None:
        return ""
    return (f" — qwen-vl-utils catches the real error ({cause.quoted}) and retries with torchvision, "
            "so the traceback shows the masking error")


@rule("QL407", "vision-preprocessing-error", Severity.ERROR,
      "The vision preprocessing raises on this part (predicted from the media facts).",
      versions=(
          Span("qwen-vl-utils", "a Qwen3 recipe's `image_patch_size=16`: `TypeError: process_vision_info() "
               "got an unexpected keyword argument 'image_patch_size'`", until=str(qvu.PATCH_SIZE_RELEASE)),
          Span("qwen-vl-utils", "`max_pixels` below `min_pixels`: `AssertionError` (before, the image is "
               "resized under max_pixels, ignoring min_pixels)", since=str(qvu.PATCH_SIZE_RELEASE)),
          Span("qwen-vl-utils", "a video file part with a `video_start` or `video_end` key: decord's "
               "`NotImplementedError`, masked by the torchvision fallback", until=str(qvu.TIME_RANGE_RELEASE)),
          Span("transformers", "Qwen3-VL / Qwen3.5 video frames under 32 pixels: `ValueError: height:16 or "
               "width:16 must be larger than factor:32` (later, scaled up)", until=str(processor.TF_QWEN3_UPSCALE)),
          Span("transformers", "a one-frame Qwen3-VL / Qwen3.5 video: `ValueError: t:1 must be larger than "
               "temporal_factor:2`", since=str(processor.TF_QWEN3_UPSCALE)),
          Span("transformers", "a one-frame Qwen3-VL video: `ValueError: t:1 must be larger than "
               "temporal_factor:2` (then, from 5.0, frames under 32 pixels still raise)", until=str(processor.TF_5)),
          Span("transformers", "an image 1 pixel high through `apply_chat_template`: `ValueError: mean must "
               "have 1 elements if it is an iterable, got 3`", since=str(processor.TF_5),
               until=str(processor.TF_IMAGE_PROCESSORS_REWRITTEN)),
          Span("transformers", "qwen-omni-utils' README call `processor(..., use_audio_in_video=True)` with a "
               "video: `ValueError: The total number of <|AUDIO|> tokens in the prompts should be the same as "
               "the number of audio inputs passed`", since=str(qwen_omni_utils.USE_AUDIO_IN_VIDEO_BROKEN)),
          Span("llamafactory", "a video stream without an average rate (a one-frame MPEG-TS): `TypeError: "
               "float() argument must be a string or a real number, not 'NoneType'`",
               since=str(llamafactory.VIDEO_RATE_REQUIRED)),
          Span("transformers", "an Omni audio from a WAV whose data ends inside a sample block: torchcodec's "
               "`RuntimeError: ... Invalid data found when processing input` (before, librosa reads the whole "
               "blocks)", since=str(TF_TORCHCODEC_AUDIO)),
      ))
@needs("media")
def vision_preprocessing_error(ctx: RecordContext):
    """What: A part whose options and media make qwen-vl-utils or the processor raise, predicted by
    mirroring the library code: ``max_pixels`` below the (default) ``min_pixels``, an aspect ratio
    above 200, a side resized to 0, ``fps`` and ``nframes`` together, ``nframes`` out of range, an
    empty ``video_start``/``video_end`` range, too few frames, frames of different sizes.  For the
    Omni models also: audio too short for Qwen3-Omni's feature extractor (every audio of the call
    at most 200 samples), a WAV whose data ends inside a sample block or an audio of no sample
    (torchcodec, under transformers' ``load_audio`` and LLaMA-Factory's ``torchaudio.load``, raises), a silent video loaded with qwen-omni-utils' ``use_audio_in_video``
    (``AssertionError``), and transformers 5.23 refusing that README call.  For LLaMA-Factory (whose
    run stops, as ``get_dataset`` raises) also: a video stream without an average rate (0.9.5), and
    Qwen3-VL's ``IndexError`` when a ``<video>`` tag's message index has no video with enough
    timestamps (``Qwen3VLPlugin``, see docs/datasets.md).

    Why: The run dies in preprocessing, e.g. ``AssertionError: The max_pixels of image must be
    greater than or equal to min_pixels.`` (qwen-vl-utils 0.0.14 defaults a video frame's
    ``min_pixels`` to ``128*28*28``, so ``max_pixels=224*224`` alone asserts); for videos
    qwen-vl-utils masks the real error as ``AttributeError: module 'torchvision.io' has no
    attribute 'read_video'``.

    Example: ``{"type": "video", "video": "clip.mp4", "max_pixels": 50176, "fps": 12}``

    Fix: The message says which value; e.g. add ``"min_pixels": 3136`` next to a small
    ``max_pixels``.
    """
    option_issues = [i.pointer for i in ctx.schema_issues("option")]
    for item in ctx.media:
        e = ctx.predictions.get(item.pointer)
        if not isinstance(e, VisionError):
            continue
        base = item.part.pointer if item.part is not None else item.pointer
        if e.exc_type == "TypeError" and any(p.startswith(base + "/") for p in option_issues):
            continue  # QL208 reports the string option
        shown = e.quoted
        # ms-swift's EncodePreprocessor deletes a row whose encoding raises, and trains on without it;
        # LLaMA-Factory's dataset map catches nothing: get_dataset raises and the run stops
        deleted = {Target.MS_SWIFT: ": ms-swift deletes the row",
                   Target.LLAMAFACTORY: ": LLaMA-Factory stops (get_dataset raises)"}.get(ctx.target(item.conv), "")
        yield Finding(item.pointer, f"{e.library} raises on this {item.kind.value}: {shown}{_masked(e)}{deleted}",
                      help=_vision_help(e, item), data={"library": e.library, "exception": e.exc_type})


def _vision_help(e: VisionError, item: MediaItem) -> str:
    real = cause_of(e) or e
    msg = real.message
    if isinstance(item.source, list) and not item.source:  # each release fails differently on an empty frame list
        return "give the video at least one frame"
    if "min_pixels" in msg and "max_pixels" in msg:
        return ("add a \"min_pixels\" at or below max_pixels (qwen-vl-utils' default per-frame minimum "
                "for videos is 128*f*f), or raise max_pixels")
    if "aspect ratio" in msg:
        return "crop or pad the image: the long side may be at most 200 times the short side"
    if "fps" in msg and "nframes" in msg:
        return "keep either \"fps\" or \"nframes\", not both"
    if "nframes should in interval" in msg:
        return "choose nframes between 2 and the video's frame count (an even number)"
    if "time range" in msg:
        return "make video_start smaller than video_end, within the video's duration"
    if "stack expects" in msg or "same shape" in msg:
        return "give frames of the same size (or set resized_height / resized_width)"
    if "mean must have 1 elements" in msg:
        return ("make the image at least 2 pixels high: transformers before 5.4 reads the one row of a "
                "1-pixel-high image as its channels (5.4 and later read it right)")
    if "image_patch_size" in msg:
        return ("install qwen-vl-utils 0.0.14 (the first release with image_patch_size is 0.0.13; "
                "ms-swift refuses 0.0.13), or tell qwenlint the version you run: --assume qwen-vl-utils==X")
    if "must has audio track" in msg:
        return "give the video a sound track, or load it with use_audio_in_video=False (--no-use-audio-in-video)"
    if "audio inputs passed" in msg and "audio_from_video_indices" not in msg and item.kind.value == "video":
        return ("transformers 5.23 wants each sound track's source: call the processor with "
                "audio_from_video_indices (None per standalone audio, the video's index per track, in "
                "audio order), or use transformers 5.22 or earlier")
    if real.where.endswith("Qwen3VLPlugin.process_messages"):
        return ("LLaMA-Factory's Qwen3-VL plugin reads the timestamps of the video numbered like the tag's "
                "message (counted after the system prompt): put every <video> tag in the first message")
    if "Unable to infer channel dimension format" in msg:
        return ("give the array as (height, width, channels) or (channels, height, width) with 1, 3 or 4 "
                "channels, or as (height, width)")
    if "torchcodec" in msg and "No audio frames" in msg:
        return "the audio holds no sample: give the recording itself, or remove the part"
    if "torchcodec" in msg and "Invalid data found" in msg:
        return ("the WAV's data ends inside a sample block: re-encode it, e.g. `ffmpeg -i in.wav out.wav` "
                "(it keeps the whole blocks; a stream copy keeps the broken one)")
    if "Padding size should be less than" in msg:
        return "give at least one audio of the call more than 200 samples (12.5 ms at 16 kHz)"
    return "see the quoted error"


def _warn_parts(ctx: RecordContext) -> Iterator[tuple[MediaItem, Plan]]:
    for item in ctx.media:
        pl = ctx.plans.get(item.pointer)
        if item.part is not None and pl is not None:
            yield item, pl


@rule("QL408", "budget-28-for-patch-16", Severity.WARNING,
      "A pixel budget written as N*28*28 for a family with 16-pixel patches.")
@needs("media")
def budget_28_for_patch_16(ctx: RecordContext):
    """What: ``min_pixels`` / ``max_pixels`` / ``total_pixels`` divisible by 28*28 on a Qwen3-VL,
    Qwen3.5 or Qwen3-Omni part read by qwen-vl-utils.

    Why: ``256*28*28`` means 256 tokens for Qwen2.5-VL, whose tokens are 28x28 pixels; Qwen3
    tokens are 32x32 pixels, so the same number is 196 tokens: the budget silently shrinks (or
    grows) by 30%.

    Example: ``{"type": "image", "image": "a.jpg", "max_pixels": 200704}`` with ``--family qwen3-vl``

    Fix: Write budgets in 32-pixel units: ``256*32*32``.
    """
    for item, pl in _warn_parts(ctx):
        if pl.pipeline != "qwen-vl-utils":
            continue
        for w in budget_warnings(item.options, pl.profile):
            n = item.options[w.key] // 784
            yield Finding(join(item.part.pointer, w.key), w.message,
                          help=f"write \"{w.key}\": {n * 1024} ({n}*32*32) to keep {n} tokens")


@rule("QL409", "qwen3-video-without-fps", Severity.WARNING,
      "A Qwen3 video whose frame rate the processor does not know: timestamps assume 24 fps.")
@needs("media")
def qwen3_video_without_fps(ctx: RecordContext):
    """What: A Qwen3-VL / Qwen3.5 video that reaches the processor without ``video_metadata`` fps:
    frames a framework sampled itself and hands over without their rate (LLaMA-Factory), or a list
    of frames.

    Why: Qwen3 writes ``<t seconds>`` before every pair of frames; without fps the processor
    assumes 24 fps and logs ``Defaulting to fps=24``: the times in the prompt are wrong, and
    temporal grounding answers are off by that factor.

    Example: ``{"messages": [{"role": "user", "content": "<video>What happens?"}, ...], "videos":
    ["clip.mp4"]}`` with ``--target llamafactory --family qwen3-vl``

    Fix: Give the frames' rate: ``"sample_fps": 2`` (qwen-vl-utils), or pass ``video_metadata``.
    """
    for item in ctx.media:
        pred = ctx.predictions.get(item.pointer)
        if isinstance(pred, Prediction) and any("assume 24 fps" in n for n in pred.notes):
            yield Finding(item.pointer, f"no frame rate is known for this video: the Qwen3 timestamps "
                          f"in the prompt assume 24 fps ({', '.join(pred.extra_text[:3])}…)",
                          help="give the frame rate (sample_fps for qwen-vl-utils frame lists)")


@rule("QL414", "audio-truncated", Severity.WARNING,
      "An audio longer than the feature extractor takes: the model hears only its first 30 seconds.")
@needs("media")
def audio_truncated(ctx: RecordContext):
    """What: An audio (a part, or a dataset's ``audios`` entry) longer than 30 seconds where the
    consumer cuts it: Qwen2.5-Omni everywhere; Qwen3-Omni through LLaMA-Factory (its Omni plugin
    pads every audio to the 30-second window) or transformers 4.57 (before 5.0 the processor left
    Whisper's truncation on).

    Why: The feature extractor pads and truncates the audio to Whisper's 30-second window
    (480 000 samples at 16 kHz, 3000 mel frames: 750 tokens for Qwen2.5-Omni, 390 for Qwen3-Omni):
    the rest is dropped without a word, and the model answers (or is trained) on the first 30
    seconds as if they were the whole clip.  transformers 5 and ms-swift 4 give Qwen3-Omni the
    whole audio.

    Example: ``{"type": "audio", "audio": "meeting-45s.wav"}`` with ``--family qwen2.5-omni``

    Fix: Split the audio into clips of at most 30 seconds, one audio part each.
    """
    for item in ctx.media:
        pred = ctx.predictions.get(item.pointer)
        if isinstance(pred, AudioPrediction) and pred.truncated_from is not None:
            seconds = pred.truncated_from / SAMPLING_RATE
            yield Finding(item.pointer, f"this audio is {seconds:.1f} s long: {pred.pipeline} keeps its first "
                          f"30 s ({pred.tokens} tokens) and drops the last {seconds - 30:.1f} s",
                          help=f"split it into {math.ceil(seconds / 30)} clips of at most 30 s, one audio part each")


@rule("QL410", "double-resize", Severity.WARNING,
      "qwen-vl-utils resizes the media, then the processor resizes it again to another grid.")
@needs("media")
def double_resize(ctx: RecordContext):
    """What: With qwen-vl-utils, the processor resizes the already-resized image or frames again
    (``do_resize=True``, its default) and the grid changes.

    Why: The per-part budget you set is not what the model sees: e.g. for Qwen2.5-VL a part with
    ``"max_pixels": 784`` is 28x28 (1 token) after ``fetch_image`` and 56x56 (4 tokens) after the
    processor, whose minimum is 3136 pixels.  (qwenlint assumes the Qwen3-VL README's recipe,
    ``do_resize=False``, for Qwen3-VL and Qwen3.5.)

    Example: ``{"type": "image", "image": "icon.png", "min_pixels": 784, "max_pixels": 784}`` with
    ``--family qwen2.5-vl``

    Fix: Pass ``do_resize=False`` to the processor call, as the Qwen3-VL README does.
    """
    for item in ctx.media:
        pred = ctx.predictions.get(item.pointer)
        if not isinstance(pred, Prediction) or pred.pipeline != "qwen-vl-utils":
            continue
        for n in pred.notes:
            if "resizes qwen-vl-utils'" in n:
                yield Finding(item.pointer, f"{n} (grid {list(pred.grid_thw)}, {pred.tokens} tokens)",
                              help="pass do_resize=False to the processor")


@rule("QL411", "option-ignored-for-media-kind", Severity.WARNING,
      "A per-part option qwen-vl-utils does not read for this kind of video, or half a pair.")
@needs("media")
def option_ignored_for_media_kind(ctx: RecordContext):
    """What: Options qwen-vl-utils reads for one kind of video and not the other (``fps``,
    ``nframes``, ``video_start`` on a list of frames; ``sample_fps`` on a video file), and
    ``resized_height`` without ``resized_width`` (or the reverse).  Options a consumer ignores
    altogether are QL207's.

    Why: The setting has no effect: a frame list is never sampled, and a lone ``resized_height``
    is dropped, so the default budget applies without any error.

    Example: ``{"type": "video", "video": ["f1.jpg", "f2.jpg"], "fps": 1}``

    Fix: Use ``sample_fps`` for frame lists and ``fps`` for files; give both resized sides.
    """
    for item, pl in _warn_parts(ctx):
        if pl.pipeline != "qwen-vl-utils":
            continue
        already = set(consumers.ignored_options(ctx.target(item.conv), item.part))
        kind = "frames" if item.is_frame_list else item.kind.value
        for w in vision_ignored_options(item.options, "qwen-vl-utils", kind):
            if w.key in already:
                continue
            yield Finding(join(item.part.pointer, w.key), f"{w.message}: the setting has no effect",
                          help="remove it, or use the key this kind of part reads")


@rule("QL412", "model-config-unreadable", Severity.ERROR,
      "--model's configuration cannot be read; the family's published defaults are used.",
      scope=Scope.RUN)
@needs("model")
def model_config_unreadable(ctx: RecordContext):
    """What: The ``--model`` directory's ``config.json`` / processor configs are missing, invalid
    JSON, hold values that make no sense (a non-integer ``size``), or name a processor, image
    processor or video processor class qwenlint does not model (the message names the class,
    the file that names it and the classes qwenlint knows), or the ``model_type`` is not a known
    Qwen family and no file names a processor class.

    The profile is built from what the checkpoint's files say, not from its ``model_type`` alone:
    a model type qwenlint has never seen is read without a finding when its files name known
    classes (``Qwen2VLProcessor``, ``Qwen2_5_VLProcessor``, ``Qwen3VLProcessor``, the Omni
    processors; ``Qwen2VLImageProcessor``; ``Qwen2VLVideoProcessor``, ``Qwen3VLVideoProcessor``).

    Why: transformers fails the same way when it loads the checkpoint (``OSError``,
    ``json.JSONDecodeError``, ``ValueError: Unrecognized model``), or runs a processor whose
    arithmetic qwenlint does not know; qwenlint's predictions fall back to the family's published
    defaults, which may not be what your checkpoint uses.

    Example: ``qwenlint check data.json --model ./ckpt`` where ``ckpt/preprocessor_config.json`` is truncated.

    Fix: Repair the file, or pass ``--family`` without ``--model``.
    """
    err = ctx.run.profile_error
    if ctx.options.model and err:
        yield Finding("", f"--model {ctx.options.model}: {err}; predictions use the "
                      f"{ctx.run.profile.family} defaults", help="repair the checkpoint files or pass --family")


@rule("QL413", "family-unknown-to-transformers", Severity.ERROR,
      "The transformers version you said you use cannot load this model family.",
      scope=Scope.RUN,
      versions=tuple(Span("transformers", f"a {family} model: `ValueError: ... model type "
                          f"`{get_profile(family).model_types[0]}` but Transformers does not recognize this "
                          "architecture`", until=str(since))
                     for family, since in transformers_consumer.FAMILY_SINCE.items()
                     if since > Version(MODELLED["transformers"][0])))
def family_unknown_to_transformers(ctx: RecordContext):
    """What: A transformers version, named with ``--assume`` or read from ``--python``'s
    environment, older than the release that added the family: Qwen3-VL and Qwen3-Omni need
    4.57.0, Qwen3.5 / Qwen3.6 need 5.2.0, Qwen4-Exp needs 5.16.0.  Checked for every consumer that
    loads the model with transformers (all but vLLM, which brings its own).

    Why: Loading the checkpoint stops the run: ``ValueError: The checkpoint you are trying to load
    has model type `qwen3_5` but Transformers does not recognize this architecture``.  LLaMA-Factory
    0.9.5 allows transformers 4.55 to 5.6.0, so a Qwen3.5 fine-tune on an allowed 5.1.0 never starts.

    Example: ``qwenlint check train.json --target llamafactory --family qwen3.5 --assume
    transformers==5.1.0``

    Versions found installed where qwenlint itself runs are not checked (name the environment that
    runs the model with ``--python``).

    Fix: Install a transformers release that has the family (the message names the first one)
    and that your framework allows.
    """
    family = ctx.family
    for conv in ctx.conversations:
        target = ctx.target(conv)
        assumed = ctx.run.versions.packages.get("transformers")
        if assumed is None or target is Target.VLLM or "transformers" not in PACKAGES.get(target, ()):
            continue  # vLLM loads the model with its own code
        if assumed.why not in ("--assume", f"installed in {ctx.options.python}"):  # named by the user
            continue
        release = Version(assumed.given or str(assumed.version))
        if not transformers_consumer.knows_family(family, release):
            since = transformers_consumer.FAMILY_SINCE[family]
            yield Finding(conv.record_pointer,
                          f"transformers {release} ({assumed.why}) does not know the {family} model "
                          f"(model_type {get_profile(family).model_types[0]!r}, added in {since}): loading "
                          "the checkpoint raises ValueError: ... Transformers does not recognize this "
                          "architecture", help=f"install transformers {since} or later")
        return
