"""The Omni processors' audio arithmetic: samples -> mel frames -> audio placeholder tokens.

Ported from transformers 5.23 (checked by tests/differential/test_audio_omni.py, which runs the real
processors on drawn lengths, batches and files):

* **Loading** (``processor.apply_chat_template`` -> ``audio_utils.load_audio(path, sampling_rate=16000)``
  -> ``AudioDecoder(source, sample_rate=16000, num_channels=1).get_all_samples()``): torchcodec
  decodes to 16 kHz mono, resampling each decoded frame with FFmpeg's libswresample.  How many
  samples that gives depends on how the file is split into frames (within one sample of
  ``ceil(n * 16000 / rate)``, either side): :func:`torchcodec_samples` replays the resampler
  (:mod:`qwenlint.vision.swresample`) where the header fixes the frames (PCM WAV, FLAC of one
  block size, Ogg Opus, AAC-LC in MP4 with at most one edit, MP3 of 7 frames and more: exact) and
  falls back to ``ceil`` elsewhere (other AAC, short or irregular MP3: inexact).
* **Features** (``WhisperFeatureExtractor``, hop 160, ``chunk_length`` 30 s = 480 000 samples): the
  attention mask keeps one frame per 160 samples, ``ceil(n / 160)``, of a batch padded to a common
  length ``L``; when ``L`` is not a multiple of 160 the last frame column is dropped, so no audio has
  more than ``L // 160`` frames.
  - Qwen2.5-Omni pads to ``max_length`` with truncation (``Qwen2_5OmniProcessor._process_audio``):
    ``L = 480 000`` and audio past 30 s is cut off: at most 3000 frames, 750 tokens.
  - Qwen3-Omni pads to the longest audio of the call, without truncation
    (``Qwen3OmniMoeProcessor.audio_kwargs``): ``L`` is the longest audio in the same processor
    call (one conversation, or the whole batch), so the longest audio loses its last frame when
    its length is not a multiple of 160; a call whose longest audio has at most 200 samples
    (``n_fft // 2``) raises in the STFT's reflection padding (another message when it has none:
    a file of a few samples can resample to nothing).  Before transformers 5.0
    (:data:`TF_QWEN3_OMNI_UNTRUNCATED`; 4.57.x) the processor left Whisper's truncation on: audio
    past 30 s was cut (huggingface/transformers#41473).
* **Tokens** (``_get_feat_extract_output_lengths``): Qwen2.5-Omni ``((f - 1) // 2 + 1 - 2) // 2 + 1``;
  Qwen3-Omni per window of ``2 * n_window`` (100) frames 13 tokens, plus the conv strides of the rest.
* **Audio in a video** (``load_audio_from_video`` / ``use_audio_in_video``): the video placeholder
  becomes ``<audio_bos>`` + the video's and its audio track's tokens interleaved + ``<audio_eos>``;
  the count is the sum of both plus two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from packaging.version import Version

from .errors import TRANSFORMERS, VisionError
from .swresample import resampled_samples

#: WhisperFeatureExtractor as the Omni checkpoints configure it.
SAMPLING_RATE = 16000
HOP_LENGTH = 160
N_FFT = 400
CHUNK_SAMPLES = 30 * SAMPLING_RATE  # chunk_length 30 s: Qwen2.5-Omni's padding and truncation length
#: Qwen3OmniMoeProcessor.n_window (the audio encoder's window, in frames, is twice this).
QWEN3_OMNI_N_WINDOW = 50
#: The first transformers release whose Qwen3-Omni processor calls the feature extractor with
#: ``truncation=False`` (4.57.x: padding to the longest, but cut at 30 s).
TF_QWEN3_OMNI_UNTRUNCATED = Version("5.0.0")


@dataclass(frozen=True)
class AudioPrediction:
    """The predicted result of one audio (a part, or the audio track of a video).

    ``samples``: 16 kHz samples the loader gives; ``frames``: mel frames the mask keeps;
    ``tokens``: audio placeholder tokens; ``truncated_from``: the loaded samples when the feature
    extractor cut the audio (Qwen2.5-Omni past 30 s), else None; ``exact``: False when ``samples``
    is an estimate (resampled by torchcodec from frames the header does not fix, or a length read
    from a duration).
    """

    kind: str  # "audio"
    pipeline: str
    samples: int
    frames: int
    tokens: int
    exact: bool = True
    truncated_from: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def seconds(self) -> float:
        return self.samples / SAMPLING_RATE


def loaded_samples(samples: int, rate: int) -> int:
    """16 kHz samples a source of ``samples`` at ``rate`` Hz becomes when resampled whole
    (``ceil``: librosa / soxr, torchaudio; torchcodec: :func:`torchcodec_samples`)."""
    if rate == SAMPLING_RATE:
        return samples
    return -(-samples * SAMPLING_RATE // rate)


#: The first transformers release whose ``load_audio`` decodes with torchcodec when it is installed
#: (``load_audio_torchcodec``; before, librosa).
TF_TORCHCODEC_AUDIO = Version("4.56.0")
#: What torchcodec raises for a WAV whose data ends inside a block (``AudioFacts.partial_block``):
#: FFmpeg's PCM decoder refuses the partial block, when its packet is sent (it is a packet of its
#: own: ``AudioFacts.partial_block_alone``) or when the frame of the packet it ends is received.
TORCHCODEC_PARTIAL_BLOCK = "Invalid data found when processing input"


#: What torchcodec raises for a source that decodes to no sample at all (a WAV of 0 samples, an
#: M4A whose edit list keeps none).
TORCHCODEC_NO_FRAMES = ("No audio frames were decoded. This is probably because start_seconds is too high(0),"
                        "or because stop_seconds(nullopt) is too low.")


def torchcodec_error(alone: bool | None, library: str = TRANSFORMERS,
                     where: str = "transformers/audio_utils.py:load_audio_torchcodec") -> VisionError:
    """A loader that decodes with torchcodec (transformers' ``load_audio``; LLaMA-Factory's
    ``torchaudio.load``, which prefixes "Failed to decode audio samples: ") on a WAV whose data
    ends inside a block (``alone``: :attr:`qwenlint.media.audio.AudioFacts.partial_block_alone`),
    or (``alone=None``) on a source of no sample: torchcodec raises."""
    if alone is None:
        message = f"{TORCHCODEC_NO_FRAMES} (torchcodec SingleStreamDecoder.cpp get_frames_played_in_range_audio)"
    else:
        step = "push packet to" if alone else "receive frame from"
        message = (f"Could not {step} decoder: {TORCHCODEC_PARTIAL_BLOCK} "
                   "(torchcodec SingleStreamDecoder.cpp decode_av_frame)")
    if library != TRANSFORMERS:  # torchaudio.load
        message = "Failed to decode audio samples: " + message
    return VisionError(library, "RuntimeError", message, where, loading=True)


def torchcodec_samples(samples: int, rate: int, frames: Sequence[tuple[int, int]] | None) -> tuple[int, bool]:
    """(16 kHz samples, exact) that torchcodec's ``AudioDecoder(sample_rate=16000)`` gives for a
    source of ``samples`` at ``rate`` Hz that FFmpeg decodes as ``frames`` (runs of (frame size,
    count); None: unknown, then ``ceil`` and not exact)."""
    if rate == SAMPLING_RATE:
        return samples, True
    if frames is None:
        return loaded_samples(samples, rate), False
    return resampled_samples(rate, frames, SAMPLING_RATE), True


def mask_frames(samples: int, padded_to: int) -> int:
    """Frames the feature extractor's attention mask keeps for ``samples`` in a batch padded to ``padded_to``."""
    # The mask has ceil(L / 160) columns, less the last one when L is not a multiple of 160.
    return min(math.ceil(samples / HOP_LENGTH), padded_to // HOP_LENGTH)


def tokens_for_frames(family: str, frames: int, n_window: int = QWEN3_OMNI_N_WINDOW) -> int:
    """Audio placeholder tokens for ``frames`` mel frames (``_get_feat_extract_output_lengths``)."""
    if family == "qwen3-omni":
        chunk = n_window * 2
        leave = frames % chunk
        feat = (leave - 1) // 2 + 1
        return ((feat - 1) // 2 + 1 - 1) // 2 + 1 + (frames // chunk) * 13
    lengths = (frames - 1) // 2 + 1
    return (lengths - 2) // 2 + 1


def predict_audio_batch(family: str, samples: Sequence[int], *, exact: Sequence[bool] | None = None,
                        pipeline: str = "transformers", padding: str | None = None, truncation: bool | None = None,
                        n_window: int = QWEN3_OMNI_N_WINDOW) -> list[AudioPrediction | VisionError]:
    """Predictions for the 16 kHz ``samples`` of every audio of one processor call, in order.

    ``padding`` / ``truncation``: how the feature extractor is called, ``"max_length"`` (the
    30-second window) or ``"longest"`` (the longest audio of the call), and whether audio past 30
    seconds is cut.  None: as transformers 5 calls it, Qwen2.5-Omni ``"max_length"`` with
    truncation, Qwen3-Omni ``"longest"`` without (transformers 4.57 truncates Qwen3-Omni too;
    LLaMA-Factory's Omni plugin pads both to ``"max_length"``).  A call whose audio torch cannot
    frame gives each item the `VisionError` the processor raises: the STFT's reflection padding
    (``n_fft // 2`` = 200 samples each side) needs more samples than the padded length.
    """
    if not samples:
        return []
    if padding is None:
        padding = "longest" if family == "qwen3-omni" else "max_length"
    if truncation is None:
        truncation = family != "qwen3-omni"
    kept = [min(n, CHUNK_SAMPLES) if truncation else n for n in samples]
    # "max_length" without truncation leaves a longer audio whole: the call is as long as it
    padded_to = max(CHUNK_SAMPLES, *kept) if padding == "max_length" else max(kept)
    if padded_to <= N_FFT // 2:
        if padded_to == 0:  # every audio of the call is empty (a file resampled to no sample)
            message = ("Expected 2D or 3D (batch mode) tensor with possibly 0 batch size and other non-zero "
                       f"dimensions for input, but got: [1, {len(samples)}, 0]")
        else:
            message = ("Argument #4: Padding size should be less than the corresponding input dimension, but got: "
                       f"padding (200, 200) at dimension 2 of input [1, {len(samples)}, {padded_to}]")
        error = VisionError(TRANSFORMERS, "RuntimeError", message, "WhisperFeatureExtractor (torch.stft)")
        return [error] * len(samples)
    out: list[AudioPrediction | VisionError] = []
    for k, (n, m) in enumerate(zip(samples, kept)):
        frames = mask_frames(m, padded_to)
        notes: tuple[str, ...] = ()
        if padding == "longest" and m == padded_to and m % HOP_LENGTH:
            notes = ("the longest audio of the call loses its last mel frame (its length is not a "
                     "multiple of 160 samples)",)
        out.append(AudioPrediction("audio", pipeline, n, frames, tokens_for_frames(family, frames, n_window),
                                   exact=True if exact is None else exact[k],
                                   truncated_from=n if m < n else None, notes=notes))
    return out


def predict_vllm_audio(family: str, samples: Sequence[int], *,
                       exact: Sequence[bool] | None = None) -> list[AudioPrediction | VisionError]:
    """vLLM's Omni processors (``qwen2_5_omni_thinker.py`` / ``qwen3_omni_moe_thinker.py``, 0.30 to
    0.34) on the audios of one request, in order: ``samples`` are each audio's 16 kHz samples after
    vLLM's resampler (torchaudio, ``ceil``).  The processor is called once with every audio of the
    request (a fresh server: an item vLLM's processor cache already holds is not sent again).

    * Qwen2.5-Omni: the feature extractor pads to 30 seconds without truncation, so a longer audio
      is kept whole — and then its array cannot be stacked with another audio of another length:
      the request fails (HTTP 400 ``Failed to apply Qwen2_5OmniProcessor ...``).  An audio of two
      frames or fewer (320 samples) has no token: HTTP 400 ``The audio ... (len=N) is too short to
      be represented inside the model``.
    * Qwen3-Omni: vLLM pads each audio to a multiple of 160 samples first, so every frame is kept
      (``ceil(n / 160)``), and the call pads to its longest audio, without truncation; a call whose
      longest audio is 160 samples or fewer fails in the STFT's reflection padding (HTTP 400
      ``Failed to apply Qwen3OmniMoeProcessor ...``).
    """
    samples = list(samples)
    exact = list(exact) if exact is not None else [True] * len(samples)
    if not samples:
        return []
    if family == "qwen3-omni":
        padded = [-(-n // HOP_LENGTH) * HOP_LENGTH for n in samples]
        preds = predict_audio_batch(family, padded, exact=exact, pipeline="vllm", padding="longest",
                                    truncation=False)
        if any(isinstance(p, VisionError) for p in preds):
            error = VisionError("vllm", "ValueError", "Failed to apply Qwen3OmniMoeProcessor on data={...} with "
                                "kwargs={...}",
                                "vllm/model_executor/models/qwen3_omni_moe_thinker.py")
            return [error] * len(samples)
        return [replace(p, samples=n) for p, n in zip(preds, samples)]
    if len({max(n, CHUNK_SAMPLES) for n in samples}) > 1:  # a longer audio beside another length
        error = VisionError("vllm", "ValueError", "Failed to apply Qwen2_5OmniProcessor on data={...} with "
                            "kwargs={...}",
                            "vllm/model_executor/models/qwen2_5_omni_thinker.py (an audio past 30 s is "
                            "not padded like the others)")
        return [error] * len(samples)
    out: list[AudioPrediction | VisionError] = []
    for pred, n in zip(predict_audio_batch(family, samples, exact=exact, pipeline="vllm", padding="max_length",
                                           truncation=False), samples):
        if isinstance(pred, AudioPrediction) and pred.tokens <= 0:
            pred = VisionError("vllm", "ValueError", f"The audio [...] (len={n}) is too short to be "
                               "represented inside the model", "vllm/model_executor/models/qwen2_5_omni_thinker.py")
        out.append(pred)
    return out


def longest_for_tokens(family: str, allowed: int, n_window: int = QWEN3_OMNI_N_WINDOW) -> float:
    """The longest audio, in seconds, that stays within ``allowed`` tokens (0.0: none does)."""
    lo, hi = 0, 1
    while tokens_for_frames(family, hi, n_window) <= allowed and hi < 1 << 40:
        hi *= 2
    while lo + 1 < hi:  # tokens grow with frames: the largest frame count within the allowance
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if tokens_for_frames(family, mid, n_window) <= allowed else (lo, mid)
    return lo * HOP_LENGTH / SAMPLING_RATE


def interleaved_tokens(video_tokens: int, audio_tokens: int) -> int:
    """Tokens a video placeholder becomes with its audio track (``use_audio_in_video``)."""
    return video_tokens + audio_tokens + 2
