"""LLaMA-Factory: its ``dataset_info.json``, how its converters read a record, and its media
preprocessing.

Modelled from LLaMA-Factory 0.9.4 and 0.9.5, whose dataset code agrees on all of it, and proven
against both: tests/differential/test_llamafactory.py runs their own ``get_dataset`` on generated
dataset folders and compares crash, skip, loaded images and image, video and audio pads.


- ``data/parser.py`` ``DatasetAttr`` / ``DatasetAttr.join``: the ``dataset_info.json`` entry.
  Defaults ``formatting="alpaca"``, ``messages="conversations"``, tags ``from`` / ``value`` /
  ``human`` / ``gpt`` / ``observation`` / ``function_call`` / ``system``.  **When an entry has
  ``columns`` (or ``tags``), every column (tag) it does not list becomes ``None``** —
  ``set_attr(key, obj, default=None)`` — so a ``tags`` block without ``system_tag`` makes a
  system turn an invalid role.
- The HF ``datasets`` JSON loader gives every record every column of the file, ``None`` where a
  record lacks it (and every message every key of any message); the converters index
  ``example[column]`` / ``message[tag]``, so a column or key that *no* record has is
  ``KeyError`` and the run stops.
- ``data/converter.py`` ``SharegptDatasetConverter``: an optional leading system turn, then turns
  must alternate ``(user_tag, observation_tag)`` / ``(assistant_tag, function_tag)`` and come in
  pairs; otherwise ``Invalid role tag in [...]`` / ``Invalid message count in [...]`` and
  ``Skipping this abnormal example.`` (the record is blanked, then dropped by
  ``processor/supervised.py``: ``Dropped invalid example``, as is a record with no turns).
  ``OpenAIDatasetConverter``: the same, except that a role the tags do not name is ``KeyError``,
  tool turns merge into one observation turn, tool turns after the last answer are left out, and
  the ``system`` / ``tools`` columns are read with ``get``.  ``AlpacaDatasetConverter``: one user
  turn ``instruction + "\\n" + input`` (the non-empty ones), and no answer (dropped) unless the
  ``output`` value is a string.  ``DatasetConverter._find_medias``: media paths are
  joined to ``media_dir`` (default: ``dataset_dir``, the folder of ``dataset_info.json``) and
  fall back to the path as written (relative to the working directory).
- ``data/mm_plugin.py`` ``MMPluginMixin._validate_messages``: the number of ``IMAGE_PLACEHOLDER``
  (``<image>``, env ``IMAGE_PLACEHOLDER``) / ``VIDEO_PLACEHOLDER`` / ``AUDIO_PLACEHOLDER``
  occurrences over *all* messages (prompt and response, not the system prompt) must equal the
  length of the media list: ``ValueError: The number of images does not match the number of
  <image> tokens in [...]`` — the run stops.  Placeholders are expanded in every turn, the
  assistant's included.
- LLaMA-Factory v1 (``data/v1_*.jsonl``) writes media inline as ``{"type": "image_url",
  "value": ...}`` parts; there are no tags to count.
- ``hparams/model_args.py`` ``ProcessorArguments`` and ``data/mm_plugin.py``
  ``_preprocess_image`` / ``_get_video_sample_indices``: images are pre-resized to at most
  ``image_max_pixels`` (768*768) pixels (``int`` truncation of the sides), videos sampled at
  ``video_fps`` (2) over the stream's duration header up to ``video_maxlen`` (128) frames and the
  frame-count header (a stream without one: the first ``video_maxlen`` frames), padded to an even
  count, each pre-resized to ``video_max_pixels`` (256*256) at its stored size, before the HF
  processor runs with no further frame sampling (:meth:`Settings.video_frames`).
  ``Qwen3VLPlugin`` expands every video with the first one's temporal patches and can raise
  ``IndexError`` (:func:`qwen3vl_video_error`).  tests/differential/test_llamafactory.py
  (``test_llamafactory_video``) runs both releases on drawn videos and video settings.
- ``Qwen2OmniPlugin`` (the Omni templates) calls the video processor itself, so its own size
  bounds apply, not the Omni processor's ``videos_kwargs``; with the training YAML's
  ``use_audio_in_video`` it pairs the k-th video with the k-th ``audios`` entry (never the
  video's own sound track), stops the run when they do not pair, and interleaves their pads
  (see "Qwen2OmniPlugin with use_audio_in_video" below; ``test_llamafactory_audio_in_video``).
- ``data/processor/supervised.py`` ``_encode_data_example`` and ``processor_utils.infer_seqlen``:
  ``cutoff_len`` cuts the head of each (prompt, answer) pair, through pads too; the record is kept
  (see :func:`encode`, the end of this module).
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from packaging.version import Version

from qwenlint.consumers.base import Target, framework_reading
from qwenlint.consumers.records import (
    MEDIA_KINDS,
    PLURAL,
    SINGULAR,
    Dropped,
    RecordView,
    Turn,
    has_inline_media,
    media_refs,
    unread_columns,
)
from qwenlint.fsio import open_regular
from qwenlint.ir import Conversation, Kind
from qwenlint.pointer import join
from qwenlint.vision.frames import f32

TARGET = Target.LLAMAFACTORY
#: The HF processor runs after LLaMA-Factory's own pre-resize and frame sampling.
PIPELINE = "transformers"
reading = framework_reading

#: ``ProcessorArguments`` defaults (hparams/model_args.py).
IMAGE_MAX_PIXELS, IMAGE_MIN_PIXELS = 768 * 768, 32 * 32
VIDEO_MAX_PIXELS, VIDEO_MIN_PIXELS = 256 * 256, 16 * 16
VIDEO_FPS, VIDEO_MAXLEN = 2.0, 128
#: From 0.9.5 the Qwen plugins (``Qwen2VLPlugin`` and ``Qwen3VLPlugin``, not the Omni plugin) count
#: the video pads from the stream headers without decoding (``_get_qwen_video_grid_metadata``) when
#: every video of the example has a stream duration and an average rate and the example has no
#: audio; before, and otherwise, from the decoded frames (read in 0.9.4's and 0.9.5's
#: data/mm_plugin.py; both run by tests/differential/test_llamafactory.py).
VIDEO_HEADER_PADS = Version("0.9.5")
#: From 0.9.5 ``Qwen2VLPlugin._regularize_videos`` (which the Qwen3-VL and Omni plugins inherit)
#: reads ``float(video_stream.average_rate)`` for Qwen3-VL's timestamps: a stream without an average
#: rate (a one-frame MPEG-TS) is ``TypeError`` and the run stops (read in 0.9.4's and 0.9.5's
#: data/mm_plugin.py; run).
VIDEO_RATE_REQUIRED = Version("0.9.5")


@dataclass(frozen=True, slots=True)
class Settings:
    """The training YAML's ``ProcessorArguments`` and ``media_dir`` (``--framework-config``): what
    LLaMA-Factory pre-resizes and samples media with, and where it resolves their paths."""

    image_max_pixels: int = IMAGE_MAX_PIXELS
    image_min_pixels: int = IMAGE_MIN_PIXELS
    video_max_pixels: int = VIDEO_MAX_PIXELS
    video_min_pixels: int = VIDEO_MIN_PIXELS
    video_fps: float = VIDEO_FPS
    video_maxlen: int = VIDEO_MAXLEN
    media_dir: str | None = None  # absolute; None: dataset_dir (the folder of dataset_info.json)
    cutoff_len: int | None = None  # the token budget of one example (qwenlint's --max-model-len)
    stage: str | None = None  # the training stage (FinetuningArguments.stage); None: not given
    template: str | None = None  # the YAML's ``template`` (None: the family's, FAMILY_TEMPLATE)
    mask_history: bool = False  # the YAML's ``mask_history``: the turns are cut from the last one back
    packing: bool = False  # the YAML's ``packing`` or ``neat_packing``: one token less (PACKING_CUTOFF)
    #: the YAML's ``use_audio_in_video``: the Omni plugin pairs each video with the record's audio
    #: of the same index and interleaves their pads (:func:`audio_in_video_texts`)
    use_audio_in_video: bool = False
    source: str | None = None  # the YAML it came from

    @classmethod
    def from_file(cls, path: str) -> "Settings":
        """The settings of a ``llamafactory-cli train`` YAML (other keys are not read); ValueError
        names the file and the problem.  ``media_dir`` is relative to the working directory, as
        for ``llamafactory-cli``."""
        import yaml  # only for --framework-config

        try:
            with open_regular(path, "r", encoding="utf-8") as f:
                data = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            raise ValueError(f"{path}: cannot read it as YAML: {e}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a mapping of training arguments")
        values: dict[str, Any] = {"source": path}
        for name, kind in (("image_max_pixels", int), ("image_min_pixels", int),
                           ("video_max_pixels", int), ("video_min_pixels", int),
                           ("video_fps", float), ("video_maxlen", int), ("cutoff_len", int)):
            if name not in data:
                continue
            v = data[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and v != int(v)) or v <= 0:
                raise ValueError(f"{path}: {name} must be a positive {'integer' if kind is int else 'number'}, "
                                 f"not {v!r}")
            values[name] = kind(v)
        defaults = {f.name: f.default for f in fields(cls)}
        for kind in ("image", "video"):  # ProcessorArguments.__post_init__
            hi = values.get(f"{kind}_max_pixels", defaults[f"{kind}_max_pixels"])
            lo = values.get(f"{kind}_min_pixels", defaults[f"{kind}_min_pixels"])
            if hi < lo:
                raise ValueError(f"{path}: {kind}_max_pixels {hi} is below {kind}_min_pixels {lo}: "
                                 f"LLaMA-Factory stops at start-up (ValueError: `{kind}_max_pixels` "
                                 f"cannot be smaller than `{kind}_min_pixels`.)")
        if data.get("stage") is not None:
            if data["stage"] not in STAGES:
                raise ValueError(f"{path}: stage must be one of {', '.join(STAGES)}, not {data['stage']!r} "
                                 "(LLaMA-Factory refuses it at start-up)")
            values["stage"] = data["stage"]
        if isinstance(data.get("template"), str):
            values["template"] = data["template"]
        if isinstance(data.get("mask_history"), bool):
            values["mask_history"] = data["mask_history"]
        if data.get("use_audio_in_video") is not None:
            if not isinstance(data["use_audio_in_video"], bool):
                raise ValueError(f"{path}: use_audio_in_video must be true or false, not "
                                 f"{data['use_audio_in_video']!r}")
            values["use_audio_in_video"] = data["use_audio_in_video"]
        values["packing"] = any(data.get(k) is True for k in ("packing", "neat_packing"))
        if data.get("media_dir") is not None:
            if not isinstance(data["media_dir"], str):
                raise ValueError(f"{path}: media_dir must be a path")
            values["media_dir"] = os.path.abspath(data["media_dir"])
        return cls(**values)

    def image_size(self, width: int, height: int) -> tuple[int, int]:
        """An image's size after the pre-resize (``image_max_pixels`` / ``image_min_pixels``)."""
        return preresize(width, height, self.image_max_pixels, self.image_min_pixels)

    def frame_size(self, width: int, height: int) -> tuple[int, int]:
        """A video frame's size after the pre-resize (``video_max_pixels`` / ``video_min_pixels``)."""
        return preresize(width, height, self.video_max_pixels, self.video_min_pixels)

    def video_frames(self, header_frames: int | None, duration: float | None, decoded: int,
                     header_only: bool = False) -> int | None:
        """How many frames the Qwen plugins give the video processor (PyAV, ``mm_plugin.py``).

        ``_get_video_sample_indices``: ``linspace(0, n - 1, k)`` with ``k = min(n, video_maxlen,
        max(1, floor(duration * video_fps)))``, ``n`` the stream's frame count header
        (``header_frames``) and ``duration`` the stream's duration header; a stream with no frame
        count (WebM, Matroska, MPEG-TS) is an "infinite video": the indices ``0 .. video_maxlen -
        1``.  The frames decoded at those indices (``decoded``: the frames the file has) are kept —
        or, with ``header_only`` (0.9.5's :data:`VIDEO_HEADER_PADS`), the pads are counted from the
        indices alone, even past the last frame.  ``Qwen2VLPlugin._regularize_videos`` then repeats
        the last frame to an even count.  None: a frame count without a duration, where
        LLaMA-Factory multiplies None (``TypeError``)."""
        k = self.sample_count(header_frames, duration)
        if k is None:
            return None
        if not header_frames:
            n = k if header_only else min(decoded, k)
        else:
            step = (header_frames - 1) / (k - 1) if k > 1 else 0.0
            n = k if header_only else sum(1 for i in range(k) if int(i * step) < decoded)
        return n + n % 2 if n else None

    def sample_count(self, header_frames: int | None, duration: float | None) -> int | None:
        """How many indices ``_get_video_sample_indices`` returns (see :meth:`video_frames`)."""
        if not header_frames:
            return self.video_maxlen
        if duration is None:
            return None
        return min(header_frames, self.video_maxlen, max(1, math.floor(duration * self.video_fps)))


DEFAULTS = Settings()

#: ``FinetuningArguments.stage`` (hparams/finetuning_args.py), and the stage each one's workflow
#: passes to ``get_dataset`` (train/dpo/workflow.py loads its data as ``"rm"``: pairs).
STAGES = ("pt", "sft", "rm", "ppo", "dpo", "kto")
DATA_STAGE = {"dpo": "rm"}


def ignored_options(part: Any) -> list[str]:
    """Per-part options are not LLaMA-Factory's concern (its records carry none): none reported."""
    return []


def tags(environ: Mapping[str, str]) -> dict[Kind, str]:
    """The tag text replaced with a media item: ``IMAGE_PLACEHOLDER`` / ``VIDEO_PLACEHOLDER`` /
    ``AUDIO_PLACEHOLDER`` from the environment (``extras/constants.py``), else ``<image>`` ..."""
    return {Kind.IMAGE: environ.get("IMAGE_PLACEHOLDER", "<image>"),
            Kind.VIDEO: environ.get("VIDEO_PLACEHOLDER", "<video>"),
            Kind.AUDIO: environ.get("AUDIO_PLACEHOLDER", "<audio>")}


# --- media preprocessing (mm_plugin.py) ------------------------------------------------------------

def preresize(width: int, height: int, max_pixels: int, min_pixels: int) -> tuple[int, int]:
    """``_preprocess_image``: scale into [min, max] pixels, sides truncated to int; then the Qwen
    plugins' own step (``Qwen2VLPlugin._preprocess_image``, which the Qwen3-VL and Omni plugins
    inherit): each side at least 28 pixels, and an aspect ratio above 200 cut to 180."""
    if width * height > max_pixels:
        f = math.sqrt(max_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    if width * height < min_pixels:
        f = math.sqrt(min_pixels / (width * height))
        width, height = int(width * f), int(height * f)
    width, height = max(width, 1), max(height, 1)
    if min(width, height) < 28:
        width, height = max(width, 28), max(height, 28)
    if width / height > 200:
        width = height * 180
    if height / width > 200:
        height = width * 180
    return width, height


# --- Qwen3VLPlugin.process_messages ---------------------------------------------------------------

def message_indices(view: RecordView, kind: Kind) -> list[int]:
    """For each ``kind`` tag in reading order, the index of its message in the list the plugin gets
    (``prompt + response``: the turns after the system prompt, an OpenAI record's consecutive tool
    results merged into one)."""
    index: dict[int, int] = {}
    n, prev = -1, None
    for t in view.turns:
        if not t.counted:
            continue
        if not (t.as_role == "observation" and prev == "observation"):
            n += 1
        index[id(t)] = n
        prev = t.as_role
    return [index[id(t)] for t, _ in view.tag_positions(kind)]


def qwen3vl_video_error(tag_messages: list[int], first_t: int, timestamps: list[int]) -> int | None:
    """``Qwen3VLPlugin.process_messages`` (0.9.4 and 0.9.5, read and run) expands every video with
    the *first* video's temporal patches (``num_frames = video_grid_thw[0][0]  # hard code for
    now``) and takes the timestamps of the video whose index is the tag's *message* index
    (``video_metadata[idx]``), reading one per temporal patch: ``IndexError: list index out of
    range`` when there is no such video or it has fewer timestamps (``timestamps``: per video).
    The ordinal of the first tag that raises, or None."""
    for v, m in enumerate(tag_messages):
        if m >= len(timestamps) or first_t > timestamps[m]:
            return v
    return None


# --- Qwen2OmniPlugin with use_audio_in_video ------------------------------------------------------
#
# ``Qwen2OmniPlugin.process_messages`` (data/mm_plugin.py, the Omni templates ``qwen2_omni`` /
# ``qwen3_omni`` / ``qwen3_omni_nothink`` of both families; 0.9.4 and 0.9.5 alike except that 0.9.5
# reads ``position_id_per_seconds`` from the processor, where neither processor keeps one, so 25 in
# both), with the training YAML's ``use_audio_in_video: true`` (``ModelArguments``, written onto the
# processor by ``patch_processor``):
#
# * LLaMA-Factory never reads a video's sound track.  The audio a video is "in" is the record's
#   ``audios`` entry of the same index (the demo ``mllm_video_audio_demo.json`` lists an ``.mp3``
#   beside each ``.mp4``), loaded like any audio (``_regularize_audios``: ``torchaudio.load``, mono,
#   resampled to 16 kHz, fed to the feature extractor with ``padding="max_length"``).  An entry may
#   name the video file itself: torchaudio then decodes its sound track, and a file without one
#   stops the run like any unreadable audio.
# * Only an example with both videos and audios takes the interleaving path; otherwise the video is
#   expanded as without the setting (no sound).  On that path, for every message: ``ValueError:
#   Number of videos (V) must match number of audios (A) when using audio in video.`` when the
#   counts differ; then, per ``<video>`` tag from the first, ``ValueError: Each <video> must be
#   followed by an <audio> when using audio in video.`` unless an ``<audio>`` tag comes after it in
#   the same message; the tag is replaced by ``<|vision_bos|><|audio_bos|>`` + the video's and the
#   paired audio's pads interleaved in chunks of 2 seconds of position ids + ``<|audio_eos|>
#   <|vision_eos|>``, and the message's *first* ``<audio>`` tag (wherever it is) is deleted.  The
#   k-th video is paired with the k-th audio, whatever the tags' places.  Either error stops the run
#   (get_dataset raises).  The pads are as many as without the setting (V video + A audio, and the
#   same four start / end tokens); only their places move, and the text around a deleted tag is
#   tokenized as one piece.
# * Chunks (``processor.get_chunked_index`` with 50 position ids a chunk): a video's temporal patch
#   ``t`` has position id ``int(t * (2 / fps) * 25)`` in float32, ``fps`` the sampled frames over
#   the stream's duration header (``video_fps`` without one); an audio's pad ``i`` has ``i``.
# * Not run: the collator passes ``use_audio_in_video`` to the model's ``get_rope_index``
#   (data/collator.py), which with it counts as videos only a ``<|vision_bos|>`` followed by
#   ``<|audio_bos|>``: a plain video (an example without audios) is then given text positions.


def audio_in_video_texts(texts: list[str], video_tag: str, audio_tag: str, videos: int,
                         audios: int) -> tuple[list[str], tuple[int | None, str] | None]:
    """The plugin's messages (``texts``) after the interleaving path deleted the ``<audio>`` tag paired
    with each ``<video>`` (the video tags stay), and the ``ValueError`` it raises: (the message
    it raises in, None for the count check, the message) or None.  Without both ``videos`` and
    ``audios`` the texts are left as they are."""
    if not (videos and audios):
        return list(texts), None
    if videos != audios:
        return list(texts), (None, f"Number of videos ({videos}) must match number of audios ({audios}) "
                                   "when using audio in video.")
    out = []
    mark = "\0"  # the placeholder string: no tag in it
    for i, text in enumerate(texts):
        while video_tag in text:
            at = text.find(video_tag)
            if text.find(audio_tag, at) == -1:
                return list(texts), (i, f"Each {video_tag} must be followed by an {audio_tag} when using "
                                        "audio in video.")
            text = text.replace(video_tag, mark, 1).replace(audio_tag, "", 1)
        out.append(text.replace(mark, video_tag))
    return out, None


def plugin_messages(view: RecordView, branch: int = 0) -> list[tuple[Turn, str]]:
    """The messages ``mm_plugin.process_messages`` gets (``prompt + response``): the counted turns
    of sequence ``branch``, an Alpaca ``instruction`` and ``input`` joined by a newline, an OpenAI
    record's consecutive tool results as one message; (its first turn, its text)."""
    out: list[tuple[Turn, str]] = []
    prev = None
    for t in view.turns:
        if not t.counted or t.text is None or t.branch not in (0, branch):
            continue
        alpaca = view.attr is not None and view.attr.formatting == "alpaca"
        if out and t.as_role == prev and ((alpaca and prev == "user") or prev == "observation"):
            out[-1] = (out[-1][0], out[-1][1] + "\n" + t.text)
        else:
            out.append((t, t.text))
        prev = t.as_role
    return out


#: ``Qwen2OmniPlugin``: position ids a second (``position_id_per_seconds``) and a chunk's two seconds.
POSITIONS_PER_SECOND = 25
CHUNK_POSITIONS = 2 * POSITIONS_PER_SECOND


def video_positions(settings: "Settings", temporal: int, per_patch: int, header_frames: int | None,
                    duration: float | None) -> list[int]:
    """Each video pad's temporal position id on the interleaving path: ``torch.arange(t) * (2 /
    fps) * 25`` in float32, ``.long()``, repeated for the ``per_patch`` pads of each temporal patch;
    ``fps`` is ``_regularize_videos``' ``fps_per_video``: the sample indices over the stream's
    duration header, ``video_fps`` without one."""
    k = settings.sample_count(header_frames, duration)
    fps = k / duration if duration and k else settings.video_fps
    step = f32(2 / fps)
    return [int(f32(f32(float(t) * step) * POSITIONS_PER_SECOND)) for t in range(temporal) for _ in range(per_patch)]


def chunked_index(values: list[int], per_chunk: int = CHUNK_POSITIONS) -> list[tuple[int, int]]:
    """``get_chunked_index`` (the Omni processors, transformers 4.57 and 5.6): (start, end) of each
    run of ``values`` below the next multiple of ``per_chunk``; one boundary a value at most."""
    out, start, current = [], 0, 1
    for i, v in enumerate(values):
        if v >= current * per_chunk:
            out.append((start, i))
            start, current = i, current + 1
    out.append((start, len(values)))
    return out


def interleaved_runs(video: list[int], audio_pads: int) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Where the video's and the audio's pads lie in the interleaved placeholder, from its first pad:
    (offset, pads) runs of each, video chunk ``j`` then audio chunk ``j``."""
    vc, ac = chunked_index(video), chunked_index(list(range(audio_pads)))
    v_runs, a_runs, at = [], [], 0
    for j in range(max(len(vc), len(ac))):
        for chunks, runs in ((vc, v_runs), (ac, a_runs)):
            if j < len(chunks) and chunks[j][1] > chunks[j][0]:
                runs.append((at, chunks[j][1] - chunks[j][0]))
                at += chunks[j][1] - chunks[j][0]
    return tuple(v_runs), tuple(a_runs)


# --- dataset_info.json ----------------------------------------------------------------------------

#: Keys ``DatasetAttr.join`` reads from ``columns`` and ``tags``.
LF_COLUMN_KEYS = ("prompt", "query", "response", "history", "messages", "system", "tools",
                  "images", "videos", "audios", "chosen", "rejected", "kto_tag")
LF_TAG_KEYS = ("role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag",
               "function_tag", "system_tag")
LF_FORMATTINGS = ("alpaca", "sharegpt", "openai")


@functools.cache
def _entry_model() -> type:
    """The pydantic model of one ``dataset_info.json`` entry (the keys qwenlint uses), built when a
    ``dataset_info.json`` is first read: a check of conversations never imports pydantic for it."""
    from pydantic import BaseModel, ConfigDict

    class LFDatasetInfoEntry(BaseModel):
        model_config = ConfigDict(extra="allow")

        file_name: str | None = None
        formatting: str = "alpaca"
        ranking: bool = False
        columns: dict[str, Any] | None = None
        tags: dict[str, Any] | None = None

    return LFDatasetInfoEntry


@dataclass(slots=True)
class DatasetAttr:
    """``llamafactory.data.parser.DatasetAttr`` after ``join``: which column and tag is read."""

    name: str | None = None  # the dataset_info entry, None when inferred from the records
    path: str | None = None  # the dataset_info.json it came from
    formatting: str = "alpaca"
    ranking: bool = False
    prompt: str | None = "instruction"
    query: str | None = "input"
    response: str | None = "output"
    history: str | None = None
    messages: str | None = "conversations"
    system: str | None = None
    tools: str | None = None
    images: str | None = None
    videos: str | None = None
    audios: str | None = None
    chosen: str | None = None  # ranking records: the preferred answer
    rejected: str | None = None
    kto_tag: str | None = None  # KTO records: a boolean, is the answer desirable
    role_tag: str | None = "from"
    content_tag: str | None = "value"
    user_tag: str | None = "human"
    assistant_tag: str | None = "gpt"
    observation_tag: str | None = "observation"
    function_tag: str | None = "function_call"
    system_tag: str | None = "system"
    unknown_columns: list[str] = field(default_factory=list)
    unknown_tags: list[str] = field(default_factory=list)
    #: The columns some record of the declared file has, and the keys some message has (in the
    #: ``messages`` column): what the HF ``datasets`` loader gives every record (None: not read).
    file_columns: frozenset[str] | None = None
    message_keys: frozenset[str] | None = None

    @property
    def inferred(self) -> bool:
        return self.name is None

    def media_column(self, kind: Kind) -> str | None:
        return getattr(self, PLURAL[kind])

    @classmethod
    def from_entry(cls, name: str, entry: Any, path: str | None) -> "DatasetAttr":
        """``DatasetAttr.join``: listed keys are read, unlisted ones become ``None``."""
        attr = cls(name=name, path=path, formatting=entry.formatting, ranking=entry.ranking)
        if entry.columns is not None:
            for key in LF_COLUMN_KEYS:
                if hasattr(attr, key):
                    v = entry.columns.get(key)
                    setattr(attr, key, v if isinstance(v, str) else None)
            attr.unknown_columns = [k for k in entry.columns if k not in LF_COLUMN_KEYS]
        if entry.tags is not None:
            for key in LF_TAG_KEYS:
                v = entry.tags.get(key)
                setattr(attr, key, v if isinstance(v, str) else None)
            attr.unknown_tags = [k for k in entry.tags if k not in LF_TAG_KEYS]
        return attr


class DatasetInfo:
    """The one reader of ``dataset_info.json``: finds the entry that declares a data file.

    LLaMA-Factory finds the entry by ``--dataset NAME`` inside ``dataset_dir``; qwenlint goes the
    other way, from the file to the entry whose ``file_name`` resolves to it, looking in the
    file's folder and its parent (``file_name`` may also name a folder of data files).  The first
    matching entry wins.  Each ``dataset_info.json`` is read once per run (and again if it changes).
    """

    def __init__(self) -> None:
        self._files: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._entries: dict[str, DatasetAttr | None] = {}

    def _read(self, path: str) -> dict[str, Any] | None:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return None
        got = self._files.get(path)
        if got is None or got[0] != mtime:
            try:
                with open_regular(path, "r", encoding="utf-8") as f:
                    info = json.load(f)
            except (OSError, ValueError):
                info = None
            got = self._files[path] = (mtime, info if isinstance(info, dict) else None)
        return got[1]

    def entry_for(self, data_file: str) -> DatasetAttr | None:
        """The entry declaring ``data_file`` (None: no ``dataset_info.json`` declares it)."""
        data_file = os.path.abspath(data_file)
        if data_file in self._entries:
            return self._entries[data_file]
        found = None
        directory = os.path.dirname(data_file)
        for d in (directory, os.path.dirname(directory)):
            path = os.path.join(d, "dataset_info.json")
            info = self._read(path)
            if not info:
                continue
            for name, raw in info.items():
                if not isinstance(raw, dict) or not isinstance(raw.get("file_name"), str):
                    continue
                declared = os.path.normpath(os.path.join(d, raw["file_name"]))
                if declared != data_file and not data_file.startswith(declared + os.sep):
                    continue
                from pydantic import ValidationError

                try:
                    entry = _entry_model().model_validate(raw)
                except ValidationError:
                    continue
                found = DatasetAttr.from_entry(name, entry, path)
                break
            if found is not None:
                break
        self._entries[data_file] = found
        return found


# --- dataset_info.json itself --------------------------------------------------------------------

#: ``data/parser.py`` ``get_dataset_list``: where an entry's data comes from, in the order it looks.
LF_SOURCE_KEYS = ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "file_name")
#: ``DatasetAttr.join``: the other keys of an entry it reads (``file_sha1`` is an older releases'
#: checksum, still in many files, and ignored).
LF_ENTRY_KEYS = LF_SOURCE_KEYS + ("formatting", "ranking", "subset", "split", "folder", "num_samples",
                                  "columns", "tags", "file_sha1")
#: ``extras/constants.py`` ``FILEEXT2TYPE``: the data file types ``_load_single_dataset`` loads.
_FILE_TYPE = {"arrow": "arrow", "csv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet",
              "txt": "text"}
LF_FILE_TYPES = tuple(_FILE_TYPE)


@dataclass(slots=True)
class RegistryProblem:
    """What is wrong with one entry of ``dataset_info.json``, as LLaMA-Factory reads it."""

    pointer: str
    message: str
    error: bool  # False: silently ignored (a warning)
    help: str
    key: str | None = None  # the misspelt key, for a did-you-mean
    known: tuple[str, ...] = ()  # the keys it should have been one of


def registry_problems(info: Any, dataset_dir: str) -> list[RegistryProblem]:
    """Each entry of a ``dataset_info.json`` as ``get_dataset_list``, ``DatasetAttr.join``,
    ``_load_single_dataset`` and ``get_dataset_converter`` read it when a run names it in
    ``dataset:`` (0.9.4 and 0.9.5 alike; an entry no run names is never read): ``dataset_dir`` is
    the file's folder."""
    out: list[RegistryProblem] = []
    if not isinstance(info, dict):
        return out
    for name, entry in info.items():
        ptr = join("", name)
        if not isinstance(entry, dict):
            out.append(RegistryProblem(ptr, f"entry {name!r} is not an object: training with it "
                                       "fails (TypeError)", True, "write the entry as an object with "
                                       "\"file_name\""))
            continue
        for key in entry:
            if key not in LF_ENTRY_KEYS:
                out.append(RegistryProblem(join(ptr, key), f"entry {name!r} has key {key!r}, which "
                                           "LLaMA-Factory does not read (it is ignored)", False,
                                           f"use one of: {', '.join(LF_ENTRY_KEYS[:-1])}", key,
                                           LF_ENTRY_KEYS[:-1]))
        for block, known in (("columns", LF_COLUMN_KEYS), ("tags", LF_TAG_KEYS)):
            value = entry.get(block)
            if value is None:
                continue
            if not isinstance(value, dict):
                out.append(RegistryProblem(join(ptr, block), f"entry {name!r}: \"{block}\" is not an "
                                           "object: training with it fails (AttributeError)", True,
                                           f"write \"{block}\" as an object"))
                continue
            for key in value:
                if key not in known:
                    out.append(RegistryProblem(join(ptr, block, key), f"entry {name!r} has {block} key "
                                               f"{key!r}, which LLaMA-Factory does not read (it is "
                                               "ignored)", False, f"use one of: {', '.join(known)}", key,
                                               known))
        formatting = entry.get("formatting", "alpaca")
        if formatting not in LF_FORMATTINGS:
            out.append(RegistryProblem(join(ptr, "formatting"), f"entry {name!r} has formatting "
                                       f"{formatting!r}: training with it stops with \"ValueError: Dataset "
                                       f"converter {formatting} not found.\"", True,
                                       f"use one of: {', '.join(LF_FORMATTINGS)}"))
        if not any(k in entry for k in LF_SOURCE_KEYS):
            out.append(RegistryProblem(ptr, f"entry {name!r} names no data (no \"file_name\" and no "
                                       "hub, script or cloud URL): training with it stops with "
                                       "\"KeyError: 'file_name'\"", True, "add \"file_name\": the data "
                                       "file (or folder) relative to this dataset_info.json"))
            continue
        if any(k in entry for k in LF_SOURCE_KEYS[:-1]):
            continue  # read from a hub, a script or the cloud: nothing to look at here
        file_name = entry["file_name"]
        if not isinstance(file_name, str):
            out.append(RegistryProblem(join(ptr, "file_name"), f"entry {name!r}: \"file_name\" is not "
                                       "a string: training with it fails (TypeError)", True,
                                       "write the data file's path relative to this dataset_info.json"))
            continue
        path = os.path.join(dataset_dir, file_name)
        if os.path.isdir(path):
            files = sorted(os.listdir(path))
        elif os.path.isfile(path):
            files = [file_name]
        else:
            out.append(RegistryProblem(join(ptr, "file_name"), f"entry {name!r}: file_name {file_name!r} "
                                       "names nothing in the dataset_dir: training with it stops with "
                                       f"\"ValueError: File {path} not found.\"", True,
                                       "give the path relative to the folder of dataset_info.json "
                                       "(LLaMA-Factory's dataset_dir)"))
            continue
        loads = {_FILE_TYPE.get(os.path.splitext(f)[1][1:]) for f in files}
        if not files:
            out.append(RegistryProblem(join(ptr, "file_name"), f"entry {name!r}: the folder {file_name!r} "
                                       "is empty: training with it stops with \"IndexError: list index out "
                                       "of range\"", True, "put the data files in it"))
        elif loads == {None}:
            out.append(RegistryProblem(join(ptr, "file_name"), f"entry {name!r}: {file_name!r} is not a "
                                       "type LLaMA-Factory loads: training with it stops with \"ValueError: Allowed "
                                       f"file types: {','.join(LF_FILE_TYPES)}.\"", True,
                                       f"use one of: {', '.join(LF_FILE_TYPES)}"))
        elif len(loads) > 1:
            out.append(RegistryProblem(join(ptr, "file_name"), f"entry {name!r}: the folder "
                                       f"{file_name!r} holds files of different types: training with "
                                       "it stops with \"ValueError: File types should be identical.\" (or "
                                       "\"Allowed file types\" when it lists another file first)", True,
                                       "keep one file type per dataset folder"))
    return out


def infer_dataset_attr(record: dict) -> DatasetAttr:
    """The mapping a record implies when no ``dataset_info.json`` declares its file.

    qwenlint assumes the user's entry matches the record's own keys: ``conversations`` or
    ``messages`` (sharegpt, with the tags the first message uses), ``instruction`` (alpaca), and
    the ``images`` / ``videos`` / ``audios`` columns (or their singular spellings) as written.
    """
    attr = DatasetAttr()
    for col in ("messages", "conversations"):
        if isinstance(record.get(col), list):
            attr.formatting, attr.messages = "sharegpt", col
            first = next((m for m in record[col] if isinstance(m, dict)), {})
            if "role" in first or "content" in first:
                # OpenAI-style messages: read them as formatting "openai" would (parallel tool
                # results in consecutive turns are merged, not an invalid role order).
                attr.formatting = "openai"
                attr.role_tag, attr.content_tag = "role", "content"
                attr.user_tag, attr.assistant_tag = "user", "assistant"
                attr.observation_tag, attr.function_tag = "tool", "function_call"
            else:
                # ShareGPT variants write "user" / "assistant" in "from"; assume the (unseen)
                # entry maps them rather than report every record as dropped.
                roles = {m.get("from") for m in record[col]
                         if isinstance(m, dict) and isinstance(m.get("from"), str)}
                if "user" in roles and "human" not in roles:
                    attr.user_tag = "user"
                if "assistant" in roles and "gpt" not in roles:
                    attr.assistant_tag = "assistant"
            break
    for kind in MEDIA_KINDS:
        for col in (PLURAL[kind], SINGULAR[kind]):
            if col in record:
                setattr(attr, PLURAL[kind], col)
                break
    if "system" in record:
        attr.system = "system"
    if "chosen" in record and "rejected" in record:  # a preference record (LLaMA-Factory's dpo demos)
        attr.ranking, attr.chosen, attr.rejected = True, "chosen", "rejected"
    elif "kto_tag" in record:
        attr.kto_tag = "kto_tag"
    return attr


# --- the converters' view of one record -------------------------------------------------------------

class _Stops(Exception):
    """LLaMA-Factory's conversion raises on this record: the run stops."""

    def __init__(self, pointer: str, reason: str, logged: str) -> None:
        super().__init__(reason)
        self.dropped = Dropped(pointer, reason, logged)


class _Reader:
    """``example[column]`` and ``message[key]`` as the converters see them.

    The HF ``datasets`` JSON loader gives every record every column of the file (and every
    message every key any message of the file has), ``None`` where a record lacks it; a column or
    key that no record has raises ``KeyError``.  The file's columns come with the entry
    (``DatasetAttr.file_columns`` / ``message_keys``, read once per file); without them the file
    is taken to be uniform, and for an inferred mapping (no ``dataset_info.json``) nothing raises.
    """

    def __init__(self, rec: dict, attr: "DatasetAttr", pointer: str) -> None:
        self.rec, self.attr, self.pointer = rec, attr, pointer

    def _missing(self, key: Any, have: frozenset[str] | None, where: str, what: str) -> Any:
        if self.attr.inferred or (have is not None and key in have):
            return None
        raise _Stops(where, f"dataset_info.json entry {self.attr.name!r} reads {what} {key!r}, "
                     f"which no {'record' if what == 'column' else 'message'} of the file has",
                     f"KeyError: {key!r}")

    def column(self, col: str | None) -> Any:
        if col is None:
            raise _Stops(self.pointer, f"dataset_info.json entry {self.attr.name!r} has a "
                         "\"columns\" block without \"messages\", so LLaMA-Factory reads the "
                         "messages from no column", "KeyError: None")
        if col in self.rec:
            return self.rec[col]
        return self._missing(col, self.attr.file_columns, self.pointer, "column")

    def key(self, m: Any, key: str | None, pointer: str, tag: str) -> Any:
        if not isinstance(m, dict):
            if self.attr.inferred:
                return None  # a turn without a role: the converter skips the record
            raise _Stops(pointer, "a message that is not an object: the datasets loader cannot "
                         "read the file", "pyarrow.lib.ArrowInvalid")
        if key is None:
            raise _Stops(pointer, f"dataset_info.json entry {self.attr.name!r} has a \"tags\" "
                         f"block without {tag}, so LLaMA-Factory reads message[None]",
                         "KeyError: None")
        if key in m:
            return m[key]
        return self._missing(key, self.attr.message_keys, pointer, f"tags.{tag}")


#: 0.9.5 reads an OpenAI assistant turn's ``tool_calls`` with ``message.get`` (converter.py, the
#: one line the converters changed between the two releases); 0.9.4 tests ``"tool_calls" in message and len(message["tool_calls"]) > 0``,
#: which the loader's ``None`` for a turn without tool calls, in a file where another turn has
#: them, turns into ``TypeError: object of type 'NoneType' has no len()``.
TOOL_CALLS_GET = Version("0.9.5")


def data_stage(stage: str | None, attr: DatasetAttr) -> str:
    """The stage ``get_dataset`` runs with: the training YAML's (``dpo`` loads pairs as ``rm``),
    else the one the entry is written for (a ranking entry: ``rm``; a ``kto_tag`` column: ``kto``;
    else ``sft``)."""
    if stage is not None:
        return DATA_STAGE.get(stage, stage)
    return "rm" if attr.ranking else "kto" if attr.kto_tag else "sft"


def view(conv: Conversation, attr: DatasetAttr | None, environ: Mapping[str, str],
         release: Version | None = None, stage: str | None = None) -> RecordView:
    """LLaMA-Factory's converters (``converter.py``), the stage's processor's drop of an example
    it cannot train on, and the tag check (``mm_plugin.py``); ``release``: the LLaMA-Factory
    release (None: the newest modelled); ``stage``: the training YAML's ``stage`` (None: not
    given, see :func:`data_stage`)."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    attr = attr or infer_dataset_attr(rec)
    view = RecordView(TARGET, conv, tags=tags(environ), attr=attr)
    rp = conv.record_pointer
    stage_used = view.stage = data_stage(stage, attr)
    if stage is not None and not attr.inferred and (stage_used == "rm") != attr.ranking:
        # data/loader.py _get_merged_dataset, before any record is read
        view.mapping_errors.append(Dropped(
            rp or "", f"dataset_info.json entry {attr.name!r} is {'' if attr.ranking else 'not '}a "
            f"ranking dataset (\"ranking\": {str(attr.ranking).lower()}) but the training YAML's stage "
            f"is {stage!r}, which {'needs' if stage_used == 'rm' else 'cannot take'} one",
            "ValueError: The dataset is not applicable in the current training stage."))
        return view
    for kind in MEDIA_KINDS:
        col = attr.media_column(kind)
        view.media_column[kind] = col
        view.media[kind] = media_refs(conv, rp, col, kind)
    unread_columns(view, view.media_column,
                   {k: (PLURAL[k], SINGULAR[k]) for k in MEDIA_KINDS})
    read = _Reader(rec, attr, rp or "")
    try:
        if attr.formatting == "alpaca":
            answers = _lf_alpaca(view, read)
        else:
            answers = _lf_messages(view, read, release is None or release >= TOOL_CALLS_GET)
        if answers is not None:
            _lf_processor(view, *answers, stage=stage_used)
        for kind in MEDIA_KINDS:  # ``_find_medias(example[column])``, read for every record
            if attr.media_column(kind):
                read.column(attr.media_column(kind))
    except _Stops as stop:
        view.mapping_errors.append(stop.dropped)
        view.dropped.clear()
        return view
    if view.dropped or view.inline_media or attr.inferred:
        return view
    for t in view.turns:
        if t.counted and t.text is None:  # mm_plugin counts tags in every message's content
            view.mapping_errors.append(Dropped(
                t.pointer, f"turn {t.index} has no text content",
                "AttributeError: 'NoneType' object has no attribute 'count'"))
            return view
    if any(len(view.tag_positions(k, branch=b)) != len(view.media.get(k, []))
           for k in MEDIA_KINDS for b in view.branches):
        return view  # mm_plugin's tag check comes first (QL601)
    for t in view.turns:
        problem = _function_call_problem(t.text) if t.counted and t.as_role == "function" else None
        if problem:
            view.mapping_errors.append(Dropped(t.text_pointer or t.pointer, f"turn {t.index} is a function "
                                               f"call whose content {problem[0]}", problem[1]))
            return view
    return view


def _function_call_problem(text: str) -> tuple[str, str] | None:
    """``FunctionFormatter._parse_functions`` (data/formatter.py): a function-call turn's content
    is a JSON object, or a list of them, each with ``name`` and ``arguments``; anything else stops
    the run while the template encodes the record."""
    try:
        calls = json.loads(text)
    except ValueError:
        return ("is not JSON", f"RuntimeError: Invalid JSON format in function message: {[text]!s}.")
    for call in calls if isinstance(calls, list) else [calls]:
        if not isinstance(call, dict):
            return (f"holds a {type(call).__name__}, not an object with \"name\" and \"arguments\"",
                    f"TypeError: {type(call).__name__} indices must be integers or slices, not str")
        for key in ("name", "arguments"):
            if key not in call:
                return (f"has no {key!r}", f"KeyError: {key!r}")
    return None


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _lf_messages(view: RecordView, read: _Reader, tool_calls_get: bool) -> tuple | None:
    """``SharegptDatasetConverter`` / ``OpenAIDatasetConverter``: an optional leading system turn,
    then turns that alternate user (or observation) / assistant (or function call), in pairs."""
    attr, rec = read.attr, read.rec
    messages = read.column(attr.messages)
    col = attr.messages or ""
    base = join(view.conv.record_pointer, col)
    if not isinstance(messages, list):
        if messages is None and not attr.inferred and col in rec:
            reason = f"column {col!r} is null"
        elif not attr.inferred:
            reason = f"column {col!r} is not a list of messages"
        else:
            return
        raise _Stops(join(base) if col in rec else (view.conv.record_pointer or ""), reason, "TypeError")
    if has_inline_media(messages, attr.content_tag or "content"):
        view.inline_media = True  # LLaMA-Factory v1: media are parts, no tags to count
    role_tag, content_tag = attr.role_tag, attr.content_tag
    role_map = {}
    for tag, role in ((attr.user_tag, "user"), (attr.assistant_tag, "assistant"),
                      (attr.observation_tag, "observation"), (attr.function_tag, "function"),
                      (attr.system_tag, "system")):
        role_map[tag] = role
    openai = attr.formatting == "openai"
    ptr = [f"{base}/{i}" for i in range(len(messages))]

    def turn(i: int, role: Any, content: Any) -> Turn:
        m = messages[i]
        t = Turn(i, ptr[i], role, None, content if isinstance(content, str) else None,
                 join(base, i, content_tag) if isinstance(m, dict) and content_tag in m else None,
                 counted=False)
        view.turns.append(t)
        return t

    start = 0
    if attr.system_tag and messages and read.key(messages[0], role_tag, ptr[0], "role_tag") == attr.system_tag:
        t = turn(0, attr.system_tag, read.key(messages[0], content_tag, ptr[0], "content_tag"))
        t.as_role = "system"
        start = 1
    elif attr.system and not openai:
        read.column(attr.system)  # ``example[system]`` (OpenAI: ``example.get``)
    aligned: list[Turn] = []
    pending: list[Turn] = []
    for i in range(start, len(messages)):
        m = messages[i]
        role = read.key(m, role_tag, ptr[i], "role_tag")
        if openai:
            t = turn(i, role, read.key(m, content_tag, ptr[i], "content_tag"))
            if role in (attr.assistant_tag, attr.function_tag) and isinstance(m, dict):
                calls = m.get("tool_calls")
                if (not tool_calls_get and calls is None and attr.message_keys is not None
                        and "tool_calls" in attr.message_keys):
                    raise _Stops(ptr[i], f"turn {i} has no \"tool_calls\" while another turn of "
                                 "the file has: the loader gives it null, and LLaMA-Factory 0.9.4 "
                                 "takes its len()", "TypeError: object of type 'NoneType' has no len()")
                if calls:
                    role = attr.function_tag
                    try:  # the converter writes the calls as the turn's content
                        t.text = json.dumps([tool["function"] for tool in calls], ensure_ascii=False)
                    except (KeyError, TypeError, IndexError) as e:
                        raise _Stops(join(ptr[i], "tool_calls"), f"turn {i}'s tool_calls are not a "
                                     "list of objects with \"function\"", f"{type(e).__name__}: {e}") from None
            if role == attr.observation_tag:  # tool results merge into one observation turn
                pending.append(t)
                continue
            if pending:
                for p in pending:
                    p.as_role, p.counted = "observation", True
                aligned.append(pending[0])
                pending = []
            if not _hashable(role) or role not in role_map:
                reason = (f"turn {i} has role {role!r}, which the mapping does not know: the "
                          "OpenAI converter looks it up and raises")
                if attr.inferred:  # no dataset_info.json: the entry might read it as ShareGPT
                    view.dropped.append(Dropped(
                        ptr[i], f"turn {i} has role {role!r}, which LLaMA-Factory does not know "
                        f"(with formatting \"openai\" the run stops instead: KeyError: {role!r})",
                        "Invalid role tag in [...]. Skipping this abnormal example."))
                    return
                raise _Stops(ptr[i], reason, f"KeyError: {role!r}")
            t.as_role, t.counted = role_map[role], True
            aligned.append(t)
            continue
        n = len(aligned)
        accepted = ((attr.user_tag, attr.observation_tag), (attr.assistant_tag, attr.function_tag))[n % 2]
        if role not in accepted:
            turn(i, role, None)
            view.dropped.append(Dropped(ptr[i], _role_reason(view.turns[-1], n, accepted, attr),
                                        "Invalid role tag in [...]. Skipping this abnormal example."))
            return
        t = turn(i, role, read.key(m, content_tag, ptr[i], "content_tag"))
        t.as_role, t.counted = role_map[role], True
        aligned.append(t)
    # OpenAI: tool results after the last turn are never added (they stay uncounted).
    if openai:
        for n, t in enumerate(aligned):
            accepted = (("user", "observation"), ("assistant", "function"))[n % 2]
            if t.as_role not in accepted:
                view.dropped.append(Dropped(t.pointer, _role_reason(t, n, (
                    (attr.user_tag, attr.observation_tag), (attr.assistant_tag, attr.function_tag))[n % 2], attr),
                    "Invalid role tag in [...]. Skipping this abnormal example."))
                return
    if not aligned:  # processor/supervised.py: no prompt and response to train on
        view.dropped.append(Dropped(base, "the record has no turns after the system turn",
                                    "Dropped invalid example"))
        return
    if (len(aligned) % 2 != 0) != attr.ranking:
        last = aligned[-1] if aligned else None
        view.dropped.append(Dropped(
            last.pointer if last else base,
            f"{len(aligned)} turns after the system turn: LLaMA-Factory needs user/assistant pairs "
            "(the last turn must be an assistant answer)" if not attr.ranking else
            f"{len(aligned)} turns: a ranking record needs an odd number (the prompt)",
            "Invalid message count in [...]. Skipping this abnormal example."))
        return
    if attr.tools and not openai:
        read.column(attr.tools)
    return _answers(view, read, len(aligned))


def _column(read: _Reader, col: str | None, key: str) -> Any:
    """``example[dataset_attr.<key>]`` where the converter reads it unconditionally."""
    if col is None:
        raise _Stops(read.pointer, f"dataset_info.json entry {read.attr.name!r} has a \"columns\" "
                     f"block without {key!r}, so LLaMA-Factory reads the record's column None",
                     "KeyError: None")
    return read.column(col)


def _preference(read: _Reader, shape: type) -> tuple[Any, tuple[Any, Any] | None]:
    """The preference columns as both converters read them: the ``kto_tag`` first, then, for a
    ranking entry whose record is no KTO example, ``chosen`` and (when ``chosen`` has the
    converter's ``shape``: an object for ShareGPT / OpenAI, a string for Alpaca) ``rejected``.
    Returns (the kto_tag's value, (chosen, rejected) when both have that shape, else None)."""
    attr = read.attr
    desirable = _column(read, attr.kto_tag, "kto_tag") if attr.kto_tag else None
    if isinstance(desirable, bool) or not attr.ranking:
        return desirable, None
    chosen = _column(read, attr.chosen, "chosen")
    rejected = _column(read, attr.rejected, "rejected") if isinstance(chosen, shape) else None
    return desirable, (chosen, rejected) if isinstance(chosen, shape) and isinstance(rejected, shape) else None


def _answers(view: RecordView, read: _Reader, aligned: int) -> tuple[int, int, str, None]:
    """The converter's split of the aligned turns into ``_prompt`` and ``_response``: a KTO record
    (``kto_tag`` a boolean) gets its answer and an empty one; a ranking record whose ``chosen``
    and ``rejected`` columns are objects gets both as answers after every turn; any other record
    the last turn.  Returns (prompt turns, answers, where a drop is reported, None)."""
    attr, rp = read.attr, view.conv.record_pointer
    desirable, pair = _preference(read, dict)
    if isinstance(desirable, bool):
        last = next((t for t in reversed(view.turns) if t.counted), None)
        if desirable and last is not None and not last.text:
            last.counted = False  # processor/feedback.py: an empty desirable answer trains the "" beside it
        return aligned - 1, 2, join(rp, attr.kto_tag), None
    if attr.ranking:
        if pair is not None:
            mapping = {attr.user_tag: "user", attr.assistant_tag: "assistant",
                       attr.observation_tag: "observation", attr.function_tag: "function",
                       attr.system_tag: "system"}
            for branch, (col, m) in enumerate(zip((attr.chosen, attr.rejected), pair), 1):
                ptr = join(rp, col)
                role = read.key(m, attr.role_tag, ptr, "role_tag")
                if not _hashable(role):
                    raise _Stops(ptr, f"the {col!r} answer has a role that is not a string",
                                 f"TypeError: unhashable type: '{type(role).__name__}'")
                if role not in mapping:
                    raise _Stops(ptr, f"the {col!r} answer has role {role!r}, which the mapping does "
                                 f"not know (expected {attr.assistant_tag!r})", f"KeyError: {role!r}")
                content = read.key(m, attr.content_tag, ptr, "content_tag")
                view.turns.append(Turn(aligned + branch - 1, ptr, role, mapping[role],
                                       content if isinstance(content, str) else None,
                                       join(ptr, attr.content_tag) if attr.content_tag in m else None,
                                       branch=branch))
            return aligned, 2, ptr, None
        return aligned - 1, 1, join(rp, attr.chosen) if attr.chosen in read.rec else (rp or ""), None
    return aligned - 1, 1, rp or "", None


def _lf_processor(view: RecordView, prompt: int, answers: int, where: str, missing: str | None,
                  stage: str) -> None:
    """The stage's dataset processor (``processor/*.py``) drops an example it cannot train on
    (``Dropped invalid example``): sft needs an odd number of prompt turns and one answer; rm
    (pairs, also for dpo) and kto two answers; ppo an odd prompt.  ``pt`` is not modelled (its
    processor reads only the first turn's text, and no media).

    Not modelled either: KTO's KL pairs.  ``FeedbackDatasetProcessor`` pairs each prompt with the
    answers of the record before it (the last one for the first, per map batch of 1000); when that
    record has no boolean ``kto_tag`` and a falsy first answer, reading its second answer raises
    ``IndexError`` and the run stops.  qwenlint judges one record at a time."""
    attr = view.attr
    if stage in ("rm", "kto"):
        ok = prompt % 2 == 1 and answers >= 2
    elif stage == "ppo":
        ok = prompt % 2 == 1
    elif stage == "pt":
        ok = True
    else:
        ok = prompt % 2 == 1 and answers == 1
    if ok:
        return
    if answers == 0:
        reason = missing or "the record has no answer"
    elif stage == "rm":
        reason = (f"the ranking record has no {attr.chosen or 'chosen'!r} and {attr.rejected or 'rejected'!r} "
                  f"{'strings' if attr.formatting == 'alpaca' else 'objects'}: the pairwise processor "
                  "(stage rm / dpo) needs two answers")
    elif stage == "kto":
        reason = (f"the record's {attr.kto_tag!r} is not a boolean: the KTO processor needs it to know "
                  "whether the answer is desirable")
    elif answers == 2:
        reason = (f"the record's {attr.kto_tag!r} is a boolean, which makes it a KTO example of two "
                  f"answers: stage {stage!r} needs one")
    else:
        reason = f"{prompt} prompt turns: stage {stage!r} needs an odd number"
    view.dropped.append(Dropped(where, reason, "Dropped invalid example"))


def _role_reason(t: Turn, n: int, accepted: tuple, attr: DatasetAttr) -> str:
    names = " or ".join(repr(a) for a in accepted if a)
    if t.role is None:
        return f"turn {t.index} has no role"
    if not isinstance(t.role, str):
        return f"turn {t.index} has a role that is not a string ({type(t.role).__name__})"
    if t.index == 0 and t.role == "system" and not attr.system_tag:
        return (f"turn {t.index} has role 'system', but dataset_info.json entry {attr.name!r} has "
                "a tags block without system_tag, so LLaMA-Factory does not know system turns")
    known = {attr.user_tag, attr.assistant_tag, attr.observation_tag, attr.function_tag}
    if t.role not in known:
        return (f"turn {t.index} has role {t.role!r}, which the mapping does not know "
                f"(expected {names})")
    return f"turn {t.index} is {t.role!r} where LLaMA-Factory expects {names} (turns must alternate)"


def _lf_alpaca(view: RecordView, read: _Reader) -> tuple:
    """``AlpacaDatasetConverter``: history pairs, then one user turn ``instruction\\ninput`` (the
    non-empty ones), then ``output`` when it is a string."""
    attr, rp = read.attr, view.conv.record_pointer
    n = 0
    hist = read.column(attr.history) if attr.history else None
    if isinstance(hist, list):
        for i, pair in enumerate(hist):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise _Stops(join(rp, attr.history, i), f"history entry {i} is not a "
                             "[prompt, response] pair", "ValueError: too many values to unpack")
            for j, role in ((0, "user"), (1, "assistant")):
                v = pair[j]
                view.turns.append(Turn(n, join(rp, attr.history, i, j), role, role,
                                       v if isinstance(v, str) else None,
                                       join(rp, attr.history, i, j)))
                n += 1
    query = []
    for key in (attr.prompt, attr.query):
        v = read.column(key) if key else None
        if v:
            if not isinstance(v, str):
                raise _Stops(join(rp, key), f"column {key!r} is not a string",
                             "TypeError: sequence item 0: expected str instance")
            query.append((key, v))
    if query:
        for key, v in query:
            view.turns.append(Turn(n, join(rp, key), "user", "user", v, join(rp, key)))
            n += 1
    else:  # an empty user turn
        view.turns.append(Turn(n, rp or "", "user", "user", "", None))
        n += 1
    system = read.column(attr.system) if attr.system else None
    if isinstance(system, str):
        view.turns.append(Turn(n, join(rp, attr.system), "system", "system", system,
                               join(rp, attr.system), counted=False))
    if attr.tools:
        read.column(attr.tools)
    prompt = 2 * (len(hist) if isinstance(hist, list) else 0) + 1  # history pairs, then the query
    desirable, pair = _preference(read, str)
    kto = isinstance(desirable, bool)
    if pair is not None:
        for branch, (col, text) in enumerate(zip((attr.chosen, attr.rejected), pair), 1):
            view.turns.append(Turn(n + branch - 1, join(rp, col), "assistant", "assistant", text,
                                   join(rp, col), branch=branch))
        return prompt, 2, join(rp, attr.rejected), None
    # a KTO answer (and the empty one beside it), or the one answer
    response = _column(read, attr.response, "response") if kto else (
        read.column(attr.response) if attr.response else None)
    if (isinstance(response, str) and not kto) or (kto and not (desirable and not response)):
        # (processor/feedback.py: an empty desirable KTO answer trains the "" beside it instead)
        view.turns.append(Turn(n, join(rp, attr.response), "assistant", "assistant",
                               response if isinstance(response, str) else None, join(rp, attr.response)))
    if kto:
        return prompt, 2, join(rp, attr.kto_tag), None
    if not isinstance(response, str):  # no response to train on
        if not attr.inferred and any(isinstance(read.rec.get(k), list) for k in ("messages", "conversations")):
            reason = (f"dataset_info.json entry {attr.name!r} has formatting {attr.formatting!r} "
                      "(the default when \"formatting\" is missing), but the record holds a message "
                      "list: LLaMA-Factory builds an empty user turn and no answer")
        else:
            reason = (f"the record has no {'string in column ' + repr(attr.response) if attr.response else 'response column'}"
                      " (the answer LLaMA-Factory trains on)")
        return prompt, 0, (join(rp, attr.response) if attr.response and attr.response in read.rec
                           else (rp or "")), reason
    return prompt, 1, join(rp, attr.response), None


# --- cutoff_len: the supervised processor's encoding and truncation ----------------------------------
#
# ``data/processor/supervised.py`` ``SupervisedDatasetProcessor._encode_data_example`` (identical in
# 0.9.4 and 0.9.5): ``mm_plugin.process_messages`` expands every tag into its pads, the template
# encodes the conversation as (source, target) pairs — pair 0's source is the system block and
# the first prompt, each target an answer with its ``<|im_end|>\n`` — and ``cutoff_len`` is shared
# out pair by pair: ``infer_seqlen(len(source), len(target), cutoff_len - total)`` keeps the head
# of each, and once the total reaches ``cutoff_len`` the remaining pairs are left out.  The
# record is always kept (nothing is dropped for its length) and its media are all still loaded, so
# a cut through the pads, or a left-out pair holding a tag, leaves fewer pads than image
# features: the model's forward stops with ``ValueError: Image features and image tokens do not
# match``.  A cut through text only is silent.  The Qwen templates set no ``efficient_eos``, and
# their plugins' ``process_token_ids`` add nothing, so nothing else counts.

#: LLaMA-Factory's Qwen templates (``data/template.py``, the same in 0.9.4 and 0.9.5) whose
#: encoding qwenlint models, with their ``default_system`` (None: none): user turns
#: ``<|im_start|>user\n{content}<|im_end|>\n<|im_start|>assistant\n``, answers
#: ``{content}<|im_end|>\n``, the system block ``<|im_start|>system\n{system}<|im_end|>\n``.  The
#: reasoning templates (``qwen3_vl``, ``qwen3_omni``: ``ReasoningTemplate``) are not modelled.
QWEN_TEMPLATES: dict[str, str | None] = {
    "qwen2_vl": "You are a helpful assistant.", "qwen3_vl_nothink": None,
    "qwen2_omni": "You are a helpful assistant.", "qwen3_omni_nothink": None}
#: The template assumed for a family when the training YAML names none (LLaMA-Factory's README's
#: choice for the instruct checkpoints).
FAMILY_TEMPLATE = {"qwen2-vl": "qwen2_vl", "qwen2.5-vl": "qwen2_vl", "qwen3-vl": "qwen3_vl_nothink",
                   "qwen2.5-omni": "qwen2_omni", "qwen3-omni": "qwen3_omni_nothink"}
_USER = ("<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n")
_OBSERVATION = ("<|im_start|>user\n<tool_response>\n", "\n</tool_response><|im_end|>\n<|im_start|>assistant\n")
_ASSISTANT = ("", "<|im_end|>\n")


@dataclass(frozen=True, slots=True)
class Block:
    """One media item's pads in the encoded record: pair ``pair``'s source (``side`` 0) or target
    (1), the first pad at ``start``."""

    key: Any  # the caller's key of the item
    kind: Kind
    pair: int
    side: int
    start: int
    pads: int
    #: (offset from ``start``, pads) of each run of the item's pads where they are not one run (a
    #: video and its audio interleaved: :func:`interleaved_runs`); empty: one run
    runs: tuple[tuple[int, int], ...] = ()

    @property
    def end(self) -> int:
        """One past the item's last pad."""
        return self.start + max((o + n for o, n in self.runs), default=self.pads)

    def kept(self, have: int) -> int:
        """The item's pads among the first ``have`` tokens of its side."""
        return sum(min(n, max(0, have - self.start - o)) for o, n in self.runs or ((0, self.pads),))


@dataclass(frozen=True, slots=True)
class Truncation:
    cutoff_len: int
    kept: tuple[tuple[int, int], ...]  # (source, target) tokens kept per pair
    cut: tuple[Block, ...]  # the items whose pads are not all kept
    left_out: int  # pairs left out whole

    @property
    def total(self) -> int:
        return sum(s + t for s, t in self.kept)


@dataclass(frozen=True, slots=True)
class Encoding:
    template: str
    pairs: tuple[tuple[int, int], ...]  # (source, target) tokens per pair, pads included
    blocks: tuple[Block, ...]

    @property
    def total(self) -> int:
        return sum(s + t for s, t in self.pairs)

    @property
    def pads(self) -> int:
        return sum(b.pads for b in self.blocks)

    def truncate(self, cutoff_len: int) -> Truncation:
        """``_encode_data_example``'s loop with ``infer_seqlen`` (``mask_history`` off)."""
        total, kept = 0, []
        for source, target in self.pairs:
            if total >= cutoff_len:
                break
            s, t = infer_seqlen(source, target, cutoff_len - total)
            kept.append((s, t))
            total += s + t
        cut = []
        for b in self.blocks:
            have = kept[b.pair][b.side] if b.pair < len(kept) else 0
            if b.end > have:
                cut.append(b)
        return Truncation(cutoff_len, tuple(kept), tuple(cut), len(self.pairs) - len(kept))


#: ``DataArguments.__post_init__`` (hparams/data_args.py, 0.9.4 and 0.9.5): with ``packing`` (or
#: ``neat_packing``) ``cutoff_len -= 1`` before any record is encoded.
PACKING_CUTOFF = -1


def effective_cutoff(settings: "Settings", cutoff_len: int) -> int:
    """The ``cutoff_len`` the supervised processor truncates with."""
    return cutoff_len + (PACKING_CUTOFF if settings.packing else 0)


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """``data/processor/processor_utils.py`` ``infer_seqlen`` (0.9.4 and 0.9.5), as written."""
    if target_len * 2 < cutoff_len:
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target_len = cutoff_len - source_len
    else:
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    new_source_len = min(max(cutoff_len - new_target_len, 0), source_len)
    return new_source_len, new_target_len


def template_for(settings: "Settings", family: str) -> str | None:
    """The template LLaMA-Factory encodes with: the YAML's, else the family's (None: not one
    whose encoding qwenlint models)."""
    name = settings.template or FAMILY_TEMPLATE.get(family)
    return name if name in QWEN_TEMPLATES else None


def encode(view: RecordView, template: str, count: Any, media: Mapping[Kind, list[tuple[Any, int | None]]],
           audio_in_video: Mapping[Any, list[int]] | None = None) -> Encoding | None:
    """The (source, target) token counts of a kept record as ``_encode_data_example`` builds
    them, with where each item's pads are; ``count(text)`` counts a text's tokens, ``media[kind]``
    is (key, pads) per entry of the media column.  ``audio_in_video`` (the YAML's
    ``use_audio_in_video`` on an Omni template): each video's pad position ids
    (:func:`video_positions`) by ``id`` of its key; a record with videos and audios then interleaves them.
    None when the record has something this does not model (tool calls, a ``tools`` column, an
    item with unknown pads, a Qwen3 video's timestamps) or stops the run."""
    if view.dropped or view.mapping_errors or view.inline_media or template not in QWEN_TEMPLATES:
        return None
    if view.stage not in (None, "sft"):  # pairs and KTO encode one turn: not modelled
        return None
    attr, rec = view.attr, view.record
    if attr is not None and attr.tools and rec.get(attr.tools):
        return None
    system: Any = ""
    turns: list[tuple[str, str]] = []
    for t in view.turns:
        if t.as_role == "system":
            system = t.text or ""
            continue
        if t.as_role not in ("user", "assistant", "observation") or t.text is None:
            return None
        if attr is not None and attr.formatting == "openai" and t.as_role == "observation":
            return None  # tool results merge into one turn: not modelled
        if turns and t.as_role == "user" and turns[-1][0] == "user":  # alpaca: instruction + "\n" + input
            turns[-1] = ("user", turns[-1][1] + "\n" + t.text)
            continue
        turns.append((t.as_role, t.text))
    if attr is not None and attr.formatting != "alpaca" and attr.system and not system:
        system = rec.get(attr.system) or ""
    if not isinstance(system, str) or len(turns) % 2:
        return None
    system = system or QWEN_TEMPLATES[template] or ""
    interleave = audio_in_video is not None and bool(media.get(Kind.VIDEO)) and bool(media.get(Kind.AUDIO))
    if interleave:
        texts, problem = audio_in_video_texts([t for _, t in turns], view.tags.get(Kind.VIDEO) or "<video>",
                                              view.tags.get(Kind.AUDIO) or "<audio>",
                                              len(media[Kind.VIDEO]), len(media[Kind.AUDIO]))
        if problem is not None:
            return None
        turns = [(role, t) for (role, _), t in zip(turns, texts)]
    used = {k: 0 for k in media}
    blocks: list[Block] = []
    lengths: list[int] = []
    for i, (role, text) in enumerate(turns):
        head, tail = {"user": _USER, "observation": _OBSERVATION, "assistant": _ASSISTANT}[role]
        n = count(f"<|im_start|>system\n{system}<|im_end|>\n") if i == 0 and system else 0
        whole, pos = head + text + tail, len(head)  # one element, encoded whole
        start = 0
        while True:
            hits = [(whole.find(tag, pos, len(whole) - len(tail)), kind, tag) for kind, tag in view.tags.items() if tag]
            hits = [h for h in hits if h[0] >= 0]
            if not hits:
                break
            at, kind, tag = min(hits, key=lambda h: h[0])
            entries = media.get(kind, [])
            if used.get(kind, 0) >= len(entries) or entries[used[kind]][1] is None:
                return None
            if kind is Kind.VIDEO and template.startswith("qwen3_vl"):
                return None  # timestamps per frame group
            key, pads = entries[used[kind]]
            used[kind] += 1
            if interleave and kind is Kind.VIDEO:  # <|vision_bos|><|audio_bos|>, both interleaved, ends
                akey, apads = media[Kind.AUDIO][used[Kind.VIDEO] - 1]
                positions = audio_in_video.get(id(key)) if audio_in_video else None
                if apads is None or positions is None or len(positions) != pads:
                    return None
                v_runs, a_runs = interleaved_runs(positions, apads)
                n += count(whole[start:at]) + 2
                blocks += [Block(key, kind, i // 2, i % 2, n, pads, v_runs),
                           Block(akey, Kind.AUDIO, i // 2, i % 2, n, apads, a_runs)]
                n += pads + apads + 2
                start = pos = at + len(tag)
                continue
            n += count(whole[start:at]) + 1  # the text before, <|vision_start|>
            blocks.append(Block(key, kind, i // 2, i % 2, n, pads))
            n += pads + 1
            start = pos = at + len(tag)
        n += count(whole[start:])
        lengths.append(n)
    pairs = tuple((lengths[k], lengths[k + 1]) for k in range(0, len(lengths), 2))
    return Encoding(template, pairs, tuple(blocks))
