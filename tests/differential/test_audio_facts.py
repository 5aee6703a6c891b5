"""Audio facts read from headers (`qwenlint.media.audio`) against what torchcodec decodes.

torchcodec is the decoder transformers' ``load_audio`` uses (and FFmpeg under it): for files of
every format qwenlint reads — WAV (PCM 8-32 bit, float, stereo), FLAC, M4A / AAC, the AAC track of
an MP4 video, Ogg Opus, MP3 — of drawn rates, channel counts and lengths, written with PyAV, the
sample rate and channel count must be equal, and the length equal wherever the facts say
``exact`` (WAV, FLAC, Opus).  An inexact length must be within one frame: MP3 (a duration, not a
count), M4A (torchcodec drops a last packet of a few samples).
"""

from __future__ import annotations

import os
import tempfile

import _real  # noqa: F401  (first: it skips this module when the real libraries are missing)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.media.audio import AudioFacts, probe_audio

from mediasynth import make_audio, make_wav  # tests/media, on the path through _real

pytestmark = pytest.mark.differential
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-audiofacts-")

#: (container format, codec, extension, sample rates the codec takes)
FORMATS = {
    "flac": ("flac", "flac", "flac", (8000, 16000, 22050, 44100, 48000)),
    "m4a": ("ipod", "aac", "m4a", (8000, 16000, 22050, 24000, 44100, 48000)),
    "opus": ("ogg", "libopus", "opus", (48000,)),
    "mp3": ("mp3", "libmp3lame", "mp3", (16000, 22050, 24000, 32000, 44100, 48000)),
}


def _decoded(path: str) -> tuple[int, int, int]:
    from torchcodec.decoders import AudioDecoder

    d = AudioDecoder(path)
    try:
        samples = int(d.get_all_samples().data.shape[1])
    except RuntimeError:  # "No audio frames were decoded": an AAC clip of a few samples
        samples = 0
    return d.metadata.sample_rate, int(d.metadata.num_channels), samples


cases = st.one_of(
    st.fixed_dictionaries({"format": st.sampled_from(["wav"]), "channels": st.sampled_from([1, 2, 6]),
                           "samples": st.integers(1, 300_000), "rate": st.integers(1000, 96000),
                           "width": st.integers(1, 4)}),
    st.fixed_dictionaries({"format": st.sampled_from(sorted(FORMATS)), "channels": st.sampled_from([1, 2]),
                           "samples": st.integers(1, 300_000), "rate_index": st.integers(0, 5),
                           "video": st.booleans()}),
)


@settings(max_examples=int(os.environ.get("QWENLINT_AUDIO_FACTS_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_header_facts_match_torchcodec(case: dict) -> None:
    if case["format"] == "wav":
        path = make_wav(os.path.join(_DIR, "a.wav"), case["rate"], case["samples"], case["channels"], case["width"])
        facts = probe_audio(path)
        assert isinstance(facts, AudioFacts) and facts.exact, facts
        assert (facts.sample_rate, facts.channels, facts.samples) == _decoded(path)
        return
    fmt, codec, ext, rates = FORMATS[case["format"]]
    rate = rates[case["rate_index"] % len(rates)]
    video = case["video"] and case["format"] == "m4a"  # the sound track of an MP4 video
    path = os.path.join(_DIR, f"a.{'mp4' if video else ext}")
    make_audio(path, "mp4" if video else fmt, codec, rate, case["channels"], case["samples"], video)
    facts = probe_audio(path)
    assert isinstance(facts, AudioFacts), facts
    real_rate, real_channels, real_samples = _decoded(path)
    assert (facts.sample_rate, facts.channels) == (real_rate, real_channels)
    if facts.exact:
        assert facts.samples == real_samples, (case, facts, real_samples)
    else:  # within one frame: 1024 samples of AAC, 1152 of MP3
        assert abs(facts.samples - real_samples) <= (1024 if facts.format == "m4a" else 1152), \
            (case, facts, real_samples)
