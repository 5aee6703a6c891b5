"""Audio tokens against the real Omni processors (``Qwen2_5OmniProcessor``, ``Qwen3OmniMoeProcessor``).

* Arrays: 1-3 audios of drawn lengths (tiny, around every multiple of 160 samples, around the
  30-second window, up to a minute) in one processor call; the audio tokens of each, counted in
  the real ``input_ids`` between its ``<audio_bos>`` / ``<audio_eos>``, must equal
  `qwenlint.vision.audio.predict_audio_batch` exactly.
* Files: WAV (PCM 8/16/24/32-bit, float), FLAC, Ogg Opus, M4A (AAC) and MP3 (of 7 frames and
  more, with and without the Xing / LAME header) of drawn rates, channel counts and lengths,
  written to disk and loaded by ``processor.apply_chat_template(tokenize=True)`` (transformers'
  ``load_audio`` through torchcodec), against ``qwenlint tokens``' prediction from the headers
  (`qwenlint.media.audio`).  The count must be equal: at 16 kHz, and at any other rate (drawn
  common and odd rates, a few samples, lengths around packet boundaries; Opus at 48 kHz), where
  torchcodec resamples each decoded frame with FFmpeg's libswresample and qwenlint replays that
  on the frames the header fixes (`qwenlint.vision.swresample`).  A WAV whose data ends inside a
  block, or of no sample (drawn too): ``load_audio`` raises (torchcodec) at the first such audio,
  and qwenlint's error, with torchcodec's message, is on that part.  (The length of an MP3 of fewer
  than 7 frames is known
  to within one codec frame only: test_audio_facts.py.)
* A video's AAC sound track (``load_audio_from_video``): its tokens are equal too.
"""

from __future__ import annotations

import functools
import json
import os
import struct
import tempfile

import _real as real  # first: it skips this module when the real libraries are missing
from mediasynth import make_clip, make_mp3, make_video, make_wav  # tests/media, on the path through _real
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qwenlint.options import Options
from qwenlint.consumers import Target
from qwenlint.tokens import collect
from qwenlint.vision import VisionError
from qwenlint.vision.audio import CHUNK_SAMPLES, HOP_LENGTH, predict_audio_batch

pytestmark = pytest.mark.differential
OMNI = ("qwen2.5-omni", "qwen3-omni")
SETTINGS = settings(max_examples=int(os.environ.get("QWENLINT_AUDIO_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-audio-")


def _audio_template(family: str) -> str:
    t = real.OMNI_TOKENS[family]
    return ("{% for m in messages %}{% for c in m['content'] %}"
            f"{{% if c['type'] == 'audio' %}}{t['audio_bos_token']}{t['audio_token']}{t['audio_eos_token']}"
            "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}")


def _per_audio(family: str, ids) -> list[int]:
    """Audio tokens between each ``<audio_bos>`` / ``<audio_eos>`` pair of the real input_ids."""
    tok = real.build_processor(family).tokenizer
    t = real.OMNI_TOKENS[family]
    bos, eos, pad = (tok.convert_tokens_to_ids(t[k]) for k in ("audio_bos_token", "audio_eos_token", "audio_token"))
    out, n, inside = [], 0, False
    for i in np.asarray(ids).tolist():
        if i == bos:
            inside, n = True, 0
        elif i == eos and inside:
            out.append(n)
            inside = False
        elif inside and i == pad:
            n += 1
    return out


lengths = st.one_of(
    st.integers(1, 4000),
    st.builds(lambda k, d: max(1, k * HOP_LENGTH + d), st.integers(1, 6000), st.integers(-2, 2)),
    st.integers(CHUNK_SAMPLES - 400, CHUNK_SAMPLES + 400),
    st.integers(1, 60 * 16000),
)


@pytest.mark.parametrize("family", OMNI)
@SETTINGS
@given(samples=st.lists(lengths, min_size=1, max_size=3))
def test_audio_arrays(family: str, samples: list[int]) -> None:
    proc = real.build_processor(family)
    t = real.OMNI_TOKENS[family]
    text = "".join(f"{t['audio_bos_token']}{t['audio_token']}{t['audio_eos_token']}" for _ in samples)
    expected = real.outcome(lambda: _per_audio(family, proc(
        text=[text], audio=[np.zeros(n, dtype=np.float32) for n in samples], return_tensors="np")["input_ids"][0]))
    preds = predict_audio_batch(family, samples)
    errors = [p for p in preds if isinstance(p, VisionError)]
    got = ("error", errors[0].exc_type, errors[0].message) if errors else ("ok", [p.tokens for p in preds])
    assert got == expected


# --- files ------------------------------------------------------------------------------------------

def _write_wav(path: str, rate: int, channels: int, samples: int, width: int, fmt_float: bool,
               extra: int = 0) -> None:
    """A WAV file written byte by byte (PCM of ``width`` bytes, or 32-bit float), with ``extra``
    bytes of a last, partial block in its data."""
    block = channels * width
    data = np.random.default_rng(samples).integers(0, 256, size=samples * block, dtype=np.uint8).tobytes()
    if fmt_float:
        data = np.zeros(samples * channels, dtype="<f4").tobytes()
    data += bytes(extra)
    fmt = struct.pack("<HHIIHH", 3 if fmt_float else 1, channels, rate, rate * block, block, width * 8)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    with open(path, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", len(riff)) + riff)


files = st.fixed_dictionaries({
    "kind": st.sampled_from(["wav16", "wav8", "wav24", "wav32", "float", "flac", "opus", "m4a", "mp3"]),
    "rate": st.one_of(st.sampled_from([16000, 16000, 8000, 11025, 22050, 24000, 32000, 44100, 48000, 96000]),
                      st.integers(4000, 65534)),  # FLAC from 65535 Hz: test_audio_facts.py
    "channels": st.sampled_from([1, 2]),
    "seconds": st.one_of(st.floats(0.01, 3.0), st.floats(29.0, 31.0), st.floats(3.0, 40.0)),
    # a few samples, or whole WAV packets (4096 bytes: 1024 16-bit stereo blocks) and FLAC blocks +- a few
    "samples": st.one_of(st.none(), st.integers(1, 64), st.just(0),  # 0: a WAV of no sample (1 for the others)
                         st.builds(lambda k, d: max(1, k * 1024 + d), st.integers(1, 60), st.integers(-2, 2))),
    # WAV: bytes after the last whole block (torchcodec raises on such data), mostly none
    "extra": st.one_of(st.just(0), st.just(0), st.just(0), st.integers(1, 7)),
    "mp3_xing": st.booleans(),  # MP3: with the Xing / LAME header (the encoder's delay and padding trimmed)
})
#: MP3's rates (MPEG-1, MPEG-2, MPEG-2.5)
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def _partial(spec: dict) -> bool:
    """Whether ``spec``'s WAV data ends inside a block."""
    width = {"wav8": 1, "wav16": 2, "wav24": 3, "wav32": 4, "float": 4}.get(spec["kind"])
    return width is not None and spec["extra"] % (width * spec["channels"]) != 0


def _empty(spec: dict) -> bool:
    """Whether ``spec`` is a WAV of no sample."""
    return spec["kind"].startswith(("wav", "float")) and spec["samples"] == 0


def _write(spec: dict, k: int) -> tuple[str, int]:
    if spec["kind"] == "opus":
        spec["rate"] = 48000  # the only rate Opus codes
    if spec["kind"] == "m4a":  # FFmpeg's AAC encoder takes the MPEG-4 rates only
        spec["rate"] = M4A_RATES[spec["rate"] % len(M4A_RATES)]
    if spec["kind"] == "mp3":
        spec["rate"] = min(MP3_RATES, key=lambda r: abs(r - spec["rate"]))
    samples = spec["samples"] if spec["samples"] is not None else max(1, int(spec["seconds"] * spec["rate"]))
    if not spec["kind"].startswith(("wav", "float")):
        samples = max(samples, 1)
    if spec["kind"] == "m4a":  # PyAV's M4A of 1024 samples or more (no shorter one: see below)
        from mediasynth import make_audio

        samples = max(samples, 1024)
        path = os.path.join(_DIR, f"a{k}.m4a")
        make_audio(path, "ipod", "aac", spec["rate"], spec["channels"], samples)
        event("an M4A")
        return path, samples
    if spec["kind"] == "mp3":  # 7 frames and more (what FFmpeg's probe is sure of; shorter: not exact),
        samples = min(max(samples, 7 * 1152), 12 * spec["rate"])  # up to 12 s (encoding is slow)
        path = make_mp3(os.path.join(_DIR, f"a{k}.mp3"), spec["rate"], spec["channels"], samples,
                        xing=spec["mp3_xing"], seed=samples)
        event("an MP3")
        return path, samples
    if spec["kind"] in ("flac", "opus"):
        path = make_clip(os.path.join(_DIR, f"a{k}.{spec['kind']}"), spec["kind"], spec["rate"], samples,
                         spec["channels"])
    else:
        path = os.path.join(_DIR, f"a{k}.wav")
        width = {"wav8": 1, "wav16": 2, "wav24": 3, "wav32": 4, "float": 4}[spec["kind"]]
        _write_wav(path, spec["rate"], spec["channels"], samples, width, spec["kind"] == "float",
                   spec["extra"] % (width * spec["channels"]))
    return path, samples


#: FFmpeg's AAC encoder's rates.  A clip whose edit list is under half a millisecond decodes to no
#: frame (torchcodec raises; qwenlint's facts say 0 samples, test_audio_facts.py): not drawn here.
M4A_RATES = (8000, 11025, 12000, 16000, 16000, 22050, 24000, 32000, 44100, 48000, 96000)


@functools.cache
def _options(family: str) -> Options:
    return Options(family=family, target=Target.TRANSFORMERS)


@pytest.mark.parametrize("family", OMNI)
@settings(max_examples=int(os.environ.get("QWENLINT_AUDIO_FILE_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(files, min_size=1, max_size=3))
def test_audio_files(family: str, specs: list[dict]) -> None:
    written = [_write(s, k) for k, s in enumerate(specs)]
    content = [{"type": "audio", "audio": path} for path, _ in written] + [{"type": "text", "text": "?"}]
    proc = real.build_processor(family)
    result = real.outcome(lambda: _per_audio(family, proc.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=True, return_dict=True,
        chat_template=_audio_template(family))["input_ids"][0]))

    conv = os.path.join(_DIR, "conv.json")
    with open(conv, "w") as fh:
        json.dump([{"role": "user", "content": content}], fh)
    report = collect([conv], _options(family))
    broken = [_partial(s) or _empty(s) for s in specs]
    event("a WAV whose data ends inside a block" if any(map(_partial, specs)) else
          "a WAV of no sample" if any(broken) else "whole WAV blocks")
    if any(broken):  # load_audio (torchcodec) raises on the first one, before the processor runs
        assert result[0] == "error" and result[1] == "RuntimeError", (specs, result)
        first = broken.index(True)
        assert [bool(row["error"]) for row in report.parts] == [k == first for k in range(len(specs))], \
            (specs, report.parts)
        # torchcodec's message after its function and source line: for a partial block, the step that
        # fails (sending its packet, or receiving the frame it ends); for no sample, "No audio frames"
        real_text = result[2].split(", ", 2)[-1]
        assert f"{result[1]}: {real_text}" in report.parts[first]["error"], (specs, result, report.parts[first])
        return
    if result[0] == "error":
        assert all(row["error"] and f"{result[1]}: {result[2]}" in row["error"] for row in report.parts), \
            (specs, result, report.parts)
        return
    expected = result[1]
    rows = report.parts
    # WAV, FLAC, Opus, M4A, MP3: the resampler replayed on the frames the header (Opus: the Ogg pages;
    # MP3: the frame headers and the Xing / LAME header) fixes
    assert all(row["exact"] for row in rows), rows
    assert [row["tokens"] for row in rows] == expected, (specs, rows, expected)


# --- a video's sound track (load_audio_from_video) -------------------------------------------------

def _av_template(family: str) -> str:
    t = real.OMNI_TOKENS[family]
    return ("{% for m in messages %}{% for c in m['content'] %}"
            f"{{% if c['type'] == 'audio' %}}{t['audio_bos_token']}{t['audio_token']}{t['audio_eos_token']}"
            f"{{% elif c['type'] == 'video' %}}{t['vision_bos_token']}{t['video_token']}{t['vision_eos_token']}"
            "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}")


items = st.one_of(
    st.fixed_dictionaries({"kind": st.just("video"), "frames": st.integers(2, 12),
                           "track": st.one_of(st.none(), st.fixed_dictionaries({
                               "rate": st.sampled_from([8000, 16000, 22050, 44100, 48000]),
                               "seconds": st.one_of(st.floats(0.002, 2.0), st.floats(28.0, 32.0))}))}),
    st.fixed_dictionaries({"kind": st.just("audio"), "samples": lengths.filter(lambda n: n <= 40 * 16000)}),
)


@pytest.mark.parametrize("family", OMNI)
@settings(max_examples=int(os.environ.get("QWENLINT_AUDIO_VIDEO_EXAMPLES", "15")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(items, min_size=1, max_size=3))
def test_audio_in_video(family: str, specs: list[dict]) -> None:
    """``apply_chat_template(load_audio_from_video=True)``: each video with a sound track becomes
    ``<audio_bos>`` + its frames' and its track's tokens interleaved + ``<audio_eos>``; a silent
    video stays a video.  Video pads and audio pads must be equal (an AAC track's length and
    frames are exact: test_audio_facts.py)."""
    content, tracks = [], []
    for k, s in enumerate(specs):
        if s["kind"] == "video":
            path = os.path.join(_DIR, f"v{k}.mp4")
            t = s["track"]
            make_video(path, 64, 48, 8, s["frames"], audio=t is not None,
                       audio_samples=None if t is None else max(1, int(t["seconds"] * t["rate"])),
                       audio_rate=16000 if t is None else t["rate"])
            content.append({"type": "video", "video": path})
        else:
            path = make_wav(os.path.join(_DIR, f"w{k}.wav"), 16000, s["samples"])
            content.append({"type": "audio", "audio": path})
    content.append({"type": "text", "text": "?"})
    proc = real.build_processor(family)
    t = real.OMNI_TOKENS[family]
    ids_of = {k: proc.tokenizer.convert_tokens_to_ids(t[k]) for k in ("audio_token", "video_token", "audio_bos_token")}
    result = real.outcome(lambda: proc.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=True, return_dict=True,
        chat_template=_av_template(family), load_audio_from_video=True)["input_ids"][0])

    conv = os.path.join(_DIR, "conv-av.json")
    with open(conv, "w") as fh:
        json.dump([{"role": "user", "content": content}], fh)
    report = collect([conv], Options(family=family, target=Target.TRANSFORMERS, use_audio_in_video=True))
    rows = report.parts
    event(f"real: {result[0]}")
    if result[0] == "error":
        assert any(row["error"] and result[1] in row["error"] for row in rows), (specs, result, rows)
        return
    ids = result[1]
    real_video, real_audio, real_bos = (real.count(ids, ids_of[k]) for k in ("video_token", "audio_token",
                                                                          "audio_bos_token"))
    assert not any(row["error"] for row in rows), rows
    video = sum(row.get("video_tokens", row["tokens"]) for row in rows if row["kind"] == "video")
    assert video == real_video, (specs, rows)
    tracks = [row for row in rows if row.get("audio_tokens") is not None]
    assert len(tracks) + sum(row["kind"] == "audio" for row in rows) == real_bos, (specs, rows)
    audio = sum(row["audio_tokens"] for row in tracks) + sum(row["tokens"] for row in rows if row["kind"] == "audio")
    assert audio == real_audio, (specs, rows, real_audio)  # the AAC tracks' lengths and frames are exact
