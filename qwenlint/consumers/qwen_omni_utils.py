"""qwen-omni-utils: ``process_mm_info`` loads audio, images and videos, then the Omni processor runs.

The Omni models' READMEs load media with ``qwen-omni-utils`` and call the processor themselves::

    audios, images, videos = process_mm_info(conversation, use_audio_in_video=USE_AUDIO_IN_VIDEO)
    inputs = processor(text=text, audio=audios, images=images, videos=videos,
                       use_audio_in_video=USE_AUDIO_IN_VIDEO)

Read from qwen-omni-utils 0.0.9 (``v2_5/__init__.py``, ``audio_process.py``, ``vision_process.py``):

* ``vision_process.py`` is qwen-vl-utils 0.0.14's, line for line (:data:`QVU_EQUIVALENT`), and
  ``process_mm_info`` passes its ``image_patch_size=14`` default: Qwen3-Omni's images are resized to
  multiples of 28 by ``fetch_image``, then again to multiples of 32 by the processor.
* ``process_audio_info`` reads ``ele["type"]`` of every item of every list content (a part
  without ``type`` is ``KeyError: 'type'``), loads ``type: "audio"`` parts from their ``audio`` (else
  ``audio_url``) key with ``librosa.load(path, sr=16000, offset=audio_start, duration=...)``: the
  samples from ``int(audio_start * rate)`` on, ``int((audio_end - audio_start) * rate)`` of them
  (all that is left when that is negative: soundfile's ``read(frames=-n)``),
  resampled to ``ceil(n * 16000 / rate)`` (librosa fixes the length); with
  ``use_audio_in_video`` each video's sound track too (through FFmpeg, ``audioread``), asserting it
  has one.  Other audio part forms (``input_audio``, ``type: "audio_url"``) are skipped.
* transformers 5.23.0 (:data:`USE_AUDIO_IN_VIDEO_BROKEN`) refuses the README's call with
  ``use_audio_in_video=True`` and a video: the processor counts the video's sound track as a
  standalone audio without a placeholder (``ValueError: The total number of <|AUDIO|> tokens ...``;
  it wants ``audio_from_video_indices``).  5.17.0-5.22.2 interleave the track with the frames
  (run on 4.55.4 … 5.22.2 and 5.23.0).
"""

from __future__ import annotations

from packaging.version import Version

from qwenlint.consumers import qwen_vl_utils
from qwenlint.consumers.base import Reading, Target
from qwenlint.consumers.versions import Versions
from qwenlint.dialects import keys as K
from qwenlint.ir import Kind, Part

TARGET = Target.QWEN_OMNI_UTILS
#: The predictor pipeline (:mod:`qwenlint.vision`) that mirrors this consumer's images and videos.
PIPELINE = "qwen-vl-utils"
#: The qwen-vl-utils release whose ``vision_process.py`` qwen-omni-utils 0.0.9 carries.
QVU_EQUIVALENT = Version("0.0.14")
#: ``process_mm_info``'s ``image_patch_size`` default (the READMEs do not pass one).
IMAGE_PATCH_SIZE = 14
#: The transformers release whose Omni processor raises on the README's ``use_audio_in_video=True``.
USE_AUDIO_IN_VIDEO_BROKEN = Version("5.23.0")
#: ``audio_start`` / ``audio_end`` (seconds) of an audio part.
AUDIO_OPTIONS = ("audio_start", "audio_end")


def reading(part: Part, versions: Versions | None = None) -> Reading:
    """``process_audio_info`` / ``process_vision_info`` on one part."""
    d = part.raw if isinstance(part.raw, dict) else {}
    if part.kind is not Kind.AUDIO:
        if "type" not in d:
            return Reading(True, "KeyError: 'type'", "process_audio_info reads ele[\"type\"] of every "
                           "content item")
        return qwen_vl_utils.reading(part, None)
    if d.get("type") != "audio":
        return Reading(False, why="process_audio_info only loads parts whose type is \"audio\"")
    if "audio" not in d and "audio_url" not in d:
        return Reading(True, f"ValueError: Unknown audio {d}", "process_audio_info loads an audio part "
                       "from its \"audio\" or \"audio_url\" key")
    src = d.get("audio", d.get("audio_url"))
    if not isinstance(src, str):
        return Reading(True, f"AttributeError: '{type(src).__name__}' object has no attribute 'startswith'",
                       "process_audio_info expects a path, URL or data:audio URI string")
    return Reading(True)


def ignored_options(part: Part) -> list[str]:
    """Per-part options that process_mm_info never reads."""
    if part.kind is Kind.AUDIO:
        return [k for k in part.options if k not in AUDIO_OPTIONS]
    allowed = K.IMAGE_OPTIONS if part.kind is Kind.IMAGE else (K.VIDEO_OPTIONS if part.kind is Kind.VIDEO else ())
    return [k for k in part.options if k not in allowed]


def audio_window(samples: int, rate: int, options: dict) -> int:
    """Source samples ``librosa.load(offset=audio_start, duration=audio_end - audio_start)`` reads."""
    start = options.get("audio_start", 0.0)
    end = options.get("audio_end")
    first = int(start * rate) if isinstance(start, (int, float)) and not isinstance(start, bool) else 0
    left = max(0, samples - first)
    if isinstance(end, (int, float)) and not isinstance(end, bool):
        frames = int((end - start) * rate)
        if frames >= 0:  # soundfile reads all that is left for a negative count (audio_end < audio_start)
            left = min(left, frames)
    return left


def audio_in_video_error(audio_pad: str, placeholders: int, audios: int) -> str:
    """The ValueError transformers 5.23's Omni processor raises on the README call."""
    return (f"The total number of {audio_pad} tokens in the prompts should be the same as the number of "
            f"audio inputs passed. Found total {placeholders} {audio_pad} tokens and {audios} audio inputs.")
