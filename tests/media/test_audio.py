"""Audio facts from headers (`qwenlint.media.audio`): WAV and FLAC byte layouts built here, hostile
files, and the Omni token arithmetic (`qwenlint.vision.audio`) on hand-computed values.

What real decoders make of real files is the differential tests' business
(tests/differential/test_audio_facts.py, test_audio_omni.py).
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlint.media import MediaError, probe_audio
from qwenlint.media.audio import AudioFacts
from qwenlint.vision.audio import (AudioPrediction, interleaved_tokens, loaded_samples, mask_frames,
                                   predict_audio_batch, tokens_for_frames)
from qwenlint.vision.errors import VisionError

from mediasynth import make_wav


def _fmt(channels: int = 1, rate: int = 16000, width: int = 2, tag: int = 1, extensible: bool = False) -> bytes:
    block = channels * width
    body = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block, block, width * 8)
    if extensible:
        body += struct.pack("<HHI", 22, width * 8, 0) + b"\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    return b"fmt " + struct.pack("<I", len(body)) + body


def _riff(*chunks: bytes, magic: bytes = b"RIFF") -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return magic + struct.pack("<I", len(body)) + body


def _data(n: int, declared: int | None = None) -> bytes:
    return b"data" + struct.pack("<I", n if declared is None else declared) + bytes(n)


@pytest.mark.parametrize("channels,width,samples", [(1, 2, 16000), (2, 2, 441), (6, 3, 7), (1, 1, 1), (2, 4, 0)])
def test_wav_counts_samples_per_channel(tmp_path, channels, width, samples) -> None:
    path = make_wav(str(tmp_path / "a.wav"), 22050, samples, channels, width)
    per = 4096 // (channels * width)  # FFmpeg's packets: 4096 bytes of whole blocks, the last one shorter
    frames = tuple(run for run in ((per, samples // per), (samples % per, 1)) if run[0] and run[1])
    assert probe_audio(path) == AudioFacts("wav", 22050, channels, samples, True, frames,
                                             block_align=channels * width)


@pytest.mark.parametrize("samples,extra,alone", [(2048, 1, True), (2047, 1, False), (0, 1, True), (10, 1, False)])
def test_wav_data_that_ends_inside_a_block(tmp_path, samples, extra, alone) -> None:
    """16-bit mono: packets of 2048 blocks; the stray byte is a packet of its own when the whole
    blocks fill whole packets (torchcodec's error then comes when it is sent)."""
    facts = probe_audio(make_wav(str(tmp_path / "a.wav"), 16000, samples, extra=extra))
    assert (facts.samples, facts.frames, facts.partial_block, facts.partial_block_alone) == (samples, None, True, alone)


def test_wav_layouts(tmp_path) -> None:
    cases = {
        # a LIST chunk of odd length (padded to even) before data
        "list": _riff(_fmt(), b"LIST" + struct.pack("<I", 3) + b"abc\x00", _data(3200)),
        "extensible": _riff(_fmt(2, 48000, 4, extensible=True), _data(48000 * 8)),
        "float": _riff(_fmt(1, 8000, 4, tag=3), _data(400)),
        # data declared longer than the file (a cut download): what is there
        "cut": _riff(_fmt(), _data(1000, declared=10_000_000)),
    }
    want = {"list": (16000, 1, 1600), "extensible": (48000, 2, 48000), "float": (8000, 1, 100), "cut": (16000, 1, 500)}
    for name, data in cases.items():
        (tmp_path / f"{name}.wav").write_bytes(data)
        f = probe_audio(str(tmp_path / f"{name}.wav"))
        assert isinstance(f, AudioFacts) and (f.sample_rate, f.channels, f.samples) == want[name], (name, f)


def test_rf64_and_rifx(tmp_path) -> None:
    ds64 = b"ds64" + struct.pack("<I", 28) + struct.pack("<QQQI", 0, 640, 320, 0)
    (tmp_path / "a.wav").write_bytes(_riff(ds64, _fmt(), b"data" + struct.pack("<I", 0xFFFFFFFF) + bytes(640),
                                           magic=b"RF64"))
    assert probe_audio(str(tmp_path / "a.wav")).samples == 320
    fmt = b"fmt " + struct.pack(">I", 16) + struct.pack(">HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + fmt + b"data" + struct.pack(">I", 20) + bytes(20)
    (tmp_path / "b.wav").write_bytes(b"RIFX" + struct.pack(">I", len(body)) + body)
    assert probe_audio(str(tmp_path / "b.wav")) == AudioFacts("wav", 8000, 1, 10, True, ((10, 1),), block_align=2)


def test_wav_frames(tmp_path) -> None:
    """The decoder's frames where FFmpeg's PCM decoder makes one per packet; None where not."""
    cases = {
        "pcm": (_riff(_fmt(2, 44100, 3), _data(6 * 1500)), ((682, 2), (136, 1))),  # 4092-byte packets
        "alaw": (_riff(_fmt(1, 8000, 1, tag=6), _data(5000)), ((4096, 1), (904, 1))),
        "float": (_riff(_fmt(1, 8000, 4, tag=3), _data(400)), ((100, 1),)),
        "extensible": (_riff(_fmt(2, 48000, 4, extensible=True), _data(8 * 600)), ((512, 1), (88, 1))),
        # a data chunk that does not end on a block: torchcodec's decode fails, no frames
        "partial block": (_riff(_fmt(2, 44100, 2), _data(4 * 100 + 3)), None),
        "adpcm": (_riff(_fmt(1, 8000, 2, tag=2), _data(400)), None),
        # a 32-bit PCM fmt with FFmpeg's 16-bit float marker (cbSize 2, value 1)
        "f16": (_riff(b"fmt " + struct.pack("<I", 20) + struct.pack("<HHIIHHHH", 1, 1, 8000, 32000, 4, 32, 2, 1),
                      _data(400)), None),
    }
    for name, (data, frames) in cases.items():
        (tmp_path / "a.wav").write_bytes(data)
        f = probe_audio(str(tmp_path / "a.wav"))
        assert isinstance(f, AudioFacts) and f.frames == frames, (name, f)


def test_wav_data_size_zero_reads_to_the_end(tmp_path) -> None:
    # A data chunk of size 0 (a WAV written to a pipe): FFmpeg reads what follows to the end of the file.
    (tmp_path / "a.wav").write_bytes(_riff(_fmt(), _data(1000, declared=0)))
    assert probe_audio(str(tmp_path / "a.wav")) == AudioFacts("wav", 16000, 1, 500, True, ((500, 1),), block_align=2)


def _flac(rate: int, channels: int, total: int) -> bytes:
    info = (rate << 44) | ((channels - 1) << 41) | (15 << 36) | total
    streaminfo = struct.pack(">HH", 4096, 4096) + b"\x00" * 6 + info.to_bytes(8, "big") + bytes(16)
    return b"fLaC" + bytes([0x80]) + len(streaminfo).to_bytes(3, "big") + streaminfo


def test_flac_frames(tmp_path) -> None:
    """A stream of one block size whose first frame header says so has a frame per block; a
    variable block size, or frame headers that leave the rate to STREAMINFO, do not."""
    picture = bytes([0x06]) + (5).to_bytes(3, "big") + bytes(5)  # a metadata block before the last one
    for second_byte, rate_code, want in [(0xF8, 0x09, ((4096, 30), (576, 1))), (0xF9, 0x09, None), (0xF8, 0x00, None)]:
        stream = _flac(44100, 2, 123_456)
        stream = stream[:4] + bytes([0x00]) + stream[5:] + bytes([0x80 | picture[0]]) + picture[1:]
        (tmp_path / "a.flac").write_bytes(stream + bytes([0xFF, second_byte, 0xC0 | rate_code]) + bytes(20))
        f = probe_audio(str(tmp_path / "a.flac"))
        assert isinstance(f, AudioFacts) and f.frames == want and f.exact == (rate_code != 0), (second_byte, rate_code, f)


def test_flac_streaminfo(tmp_path) -> None:
    (tmp_path / "a.flac").write_bytes(_flac(44100, 2, 123_456))
    assert probe_audio(str(tmp_path / "a.flac")) == AudioFacts("flac", 44100, 2, 123_456, True)
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 10]) + bytes(10)  # a 10-byte ID3v2 tag first
    (tmp_path / "b.flac").write_bytes(tag + _flac(16000, 1, 99))
    assert probe_audio(str(tmp_path / "b.flac")).samples == 99


@pytest.mark.parametrize("data,code", [
    (b"", "empty"),
    (b"RIFF\x00\x00\x00\x00WAVE", "corrupt"),  # no fmt chunk
    (_riff(_fmt()), "corrupt"),  # no data chunk
    (_riff(_data(10)), "corrupt"),  # data before fmt
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", "corrupt"),  # fmt cut short
    (b"fLaC\x00\x00\x00\x22", "corrupt"),  # STREAMINFO cut short
])
def test_broken_headers_are_values_not_exceptions(tmp_path, data, code) -> None:
    (tmp_path / "x").write_bytes(data)
    f = probe_audio(str(tmp_path / "x"))
    assert isinstance(f, MediaError) and f.code == code, f


def test_not_audio_and_missing(tmp_path) -> None:
    pytest.importorskip("av")
    (tmp_path / "t.wav").write_text("not audio at all " * 20)
    assert probe_audio(str(tmp_path / "t.wav")).code == "not-audio"
    assert probe_audio(str(tmp_path / "nope.wav")).code == "not-found"
    assert probe_audio(str(tmp_path)).code == "not-a-file"


def test_bytes_of_a_data_uri() -> None:
    assert probe_audio(_riff(_fmt(1, 16000), _data(320))) == AudioFacts("wav", 16000, 1, 160, True, ((160, 1),),
                                                                         block_align=2)


# --- arithmetic, computed by hand from the transformers 5.23 functions ----------------------------------

def test_loaded_samples_resample_rounds_up() -> None:
    assert loaded_samples(16000, 16000) == 16000
    assert loaded_samples(44100, 44100) == 16000
    assert loaded_samples(1, 44100) == 1  # ceil(0.36)
    assert loaded_samples(22051, 22050) == 16001  # ceil(16000.7)


def test_mask_frames() -> None:
    assert mask_frames(16000, 480000) == 100
    assert mask_frames(16001, 480000) == 101  # ceil
    assert mask_frames(16001, 16001) == 100  # the longest of a call loses its last column
    assert mask_frames(100, 16001) == 1


@pytest.mark.parametrize("family,frames,tokens", [
    # Qwen2.5-Omni: ((f - 1) // 2 + 1 - 2) // 2 + 1
    ("qwen2.5-omni", 100, 25), ("qwen2.5-omni", 3000, 750), ("qwen2.5-omni", 1, 0), ("qwen2.5-omni", 3, 1),
    # Qwen3-Omni: 13 per 100 frames, plus the strided rest
    ("qwen3-omni", 100, 13), ("qwen3-omni", 3000, 390), ("qwen3-omni", 150, 20), ("qwen3-omni", 1, 1),
])
def test_tokens_for_frames(family, frames, tokens) -> None:
    assert tokens_for_frames(family, frames) == tokens


def test_qwen25_omni_cuts_at_30_seconds() -> None:
    (p,) = predict_audio_batch("qwen2.5-omni", [45 * 16000])
    assert isinstance(p, AudioPrediction) and (p.frames, p.tokens, p.truncated_from) == (3000, 750, 720000)
    (q,) = predict_audio_batch("qwen3-omni", [45 * 16000])
    assert q.truncated_from is None and q.frames == 4500


def test_qwen3_omni_pads_to_the_longest_of_the_call() -> None:
    alone = predict_audio_batch("qwen3-omni", [16001])[0]
    with_longer = predict_audio_batch("qwen3-omni", [16001, 32000])[0]
    assert (alone.frames, with_longer.frames) == (100, 101)
    errors = predict_audio_batch("qwen3-omni", [150, 200])
    assert all(isinstance(e, VisionError) and e.exc_type == "RuntimeError" for e in errors)
    assert "input [1, 2, 200]" in errors[0].message


def test_interleaved() -> None:
    assert interleaved_tokens(100, 25) == 127


@pytest.mark.parametrize("family", ["qwen2.5-omni", "qwen3-omni"])
@pytest.mark.parametrize("allowed", [1, 12, 13, 14, 120, 390, 751])
def test_longest_for_tokens_is_the_largest_that_fits(family, allowed) -> None:
    from qwenlint.vision.audio import HOP_LENGTH, SAMPLING_RATE, longest_for_tokens

    frames = round(longest_for_tokens(family, allowed) * SAMPLING_RATE / HOP_LENGTH)
    assert tokens_for_frames(family, frames) <= allowed < tokens_for_frames(family, frames + 1)


def test_budget_fix_for_an_audio_names_seconds(tmp_path) -> None:
    import qwenlint

    make_wav(str(tmp_path / "talk.wav"), 16000, 45 * 16000)
    conv = [{"role": "user", "content": [{"type": "audio", "audio": "talk.wav"}, {"type": "text", "text": "?"}]}]
    found = [d for d in qwenlint.check(conv, base_dir=str(tmp_path), family="qwen3-omni", target="transformers",
                                       max_model_len=300).diagnostics if d.rule == "QL501"]
    assert found and "cut the audio to" in found[0].help and " s or less" in found[0].help, found


def test_truncated_mp4_boxes_are_corrupt_not_exceptions(tmp_path) -> None:
    """Every prefix of a real M4A's moov, and random bytes in it, give facts or a MediaError."""
    pytest.importorskip("av")
    import random

    from mediasynth import make_audio

    make_audio(str(tmp_path / "a.m4a"), "ipod", "aac", 16000, 1, 5000)
    data = (tmp_path / "a.m4a").read_bytes()
    start = data.index(b"moov") - 4
    rng = random.Random(0)
    for k in range(200):
        mutated = bytearray(data)
        for _ in range(4):
            mutated[rng.randrange(start, len(mutated))] = rng.randrange(256)
        cut = bytes(mutated[:rng.randrange(start + 8, len(mutated) + 1)]) if k % 2 else bytes(mutated)
        f = probe_audio(cut)
        assert isinstance(f, (AudioFacts, MediaError)), f


# --- M4A / MP4: the frames FFmpeg's mov demuxer hands the AAC decoder (aac_frames) -----------------

@pytest.mark.parametrize(("deltas", "edit", "frames", "exact"), [
    # FFmpeg's encoder: a priming frame (media time 1024), 5000 samples: the last frame is decoded whole
    ([(5, 1024), (1, 904)], (1024, 5000), ((1024, 5),), True),
    # the segment ends 1 sample into packet 5 (cts 5120): it is decoded too; on its start, it is not
    ([(6, 1024)], (1024, 4097), ((1024, 5),), True),
    ([(6, 1024)], (1024, 4096), ((1024, 4),), True),
    # Apple's encoder delay, 2112 = 2 * 1024 + 64: two frames skipped, 960 samples of the third
    ([(10, 1024), (1, 100)], (2112, 8000), ((960, 1), (1024, 7),), True),
    # a segment past the packets: all of them
    ([(3, 1024), (1, 5)], (1024, 10**6), ((1024, 3),), True),
    # no edit list: every packet, priming and padding too
    ([(41, 1024), (1, 3)], None, ((1024, 42),), True),
    # a segment of 0: nothing; after a media time inside a frame, not modelled
    ([(2, 1024), (1, 1)], (1024, 0), (), True),
    ([(36, 1024), (1, 810)], (1500, 0), ((548, 1),), False),
    # not 1024-sample packets (HE-AAC's 2048): not exact
    ([(4, 2048)], (2048, 4096), ((2048, 2),), False),
])
def test_aac_frames(deltas, edit, frames, exact) -> None:
    from qwenlint.media.audio import aac_frames

    assert aac_frames(deltas, edit, True) == (frames, exact)
    assert aac_frames(deltas, edit, False) == (frames, False)  # not AAC-LC: the same frames, inexact


def _m4a(tmp_path, rate: int, channels: int, samples: int) -> bytes:
    pytest.importorskip("av")
    from mediasynth import make_audio

    make_audio(str(tmp_path / "a.m4a"), "ipod", "aac", rate, channels, samples)
    return (tmp_path / "a.m4a").read_bytes()


def test_m4a_facts_from_moov(tmp_path) -> None:
    """FFmpeg's muxer: an edit list of media time 1024 and the duration in ms; 5000 samples at
    44.1 kHz are 5 frames (the last one's start, 4096, is inside the 113 ms edit)."""
    f = probe_audio(_m4a(tmp_path, 44100, 2, 5000))
    assert f == AudioFacts("m4a", 44100, 2, 5120, True, ((1024, 5),))


def test_m4a_rate_and_channels_come_from_the_esds(tmp_path) -> None:
    """The AudioSpecificConfig's rate and channel configuration, as FFmpeg's decoder reads them,
    over the sample entry's (2 channels in files of some muxers whatever the stream has)."""
    data = bytearray(_m4a(tmp_path, 22050, 1, 3000))
    entry = data.index(b"mp4a")
    assert struct.unpack_from(">H", data, entry + 20)[0] == 1
    struct.pack_into(">HHHHI", data, entry + 20, 2, 16, 0, 0, 48000 << 16)  # channels, bits, -, -, rate
    f = probe_audio(bytes(data))
    assert (f.sample_rate, f.channels, f.exact) == (22050, 1, True), f


def test_m4a_without_aac_lc_is_inexact(tmp_path) -> None:
    """An esds whose AudioSpecificConfig says another object type (here 5, HE-AAC's SBR) is not
    modelled: the decoder's frames and rate differ."""
    data = bytearray(_m4a(tmp_path, 22050, 1, 3000))
    at = data.index(b"\x05\x80\x80\x80", data.index(b"esds"))  # DecoderSpecificInfo, 4-byte size
    data[at + 5] = 5 << 3 | data[at + 5] & 0x07
    f = probe_audio(bytes(data))
    assert isinstance(f, AudioFacts) and not f.exact and f.frames is None, f


def test_fragmented_mp4_goes_to_pyav(tmp_path) -> None:
    """A fragmented MP4 lists its samples in moof boxes, not in moov: its length is PyAV's
    estimate, not a count of the (empty) moov tables."""
    pytest.importorskip("av")
    import av
    import numpy as np

    path = str(tmp_path / "f.mp4")
    with av.open(path, "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}) as out:
        stream = out.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for p in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(p)
    f = probe_audio(path)
    assert isinstance(f, AudioFacts) and not f.exact and abs(f.samples - 8000) <= 2048, f


# --- qwenlint.vision.swresample (held to libswresample by tests/differential/test_audio_facts.py) ------

@settings(max_examples=60, deadline=None)
@given(rate=st.sampled_from([8000, 11025, 22050, 44100, 44101, 48000, 96000, 123_457]),
       size=st.integers(1, 5000), count=st.integers(1, 3000), last=st.integers(0, 5000))
def test_resampler_cycle_skip_is_frame_by_frame(rate, size, count, last) -> None:
    """A run of equal frames jumps over whole cycles of the resampler's state: the same count as
    converting them one by one (runs of one frame never cycle)."""
    from qwenlint.vision.swresample import resampled_samples

    runs = [(size, count), (last, 1)]
    assert resampled_samples(rate, runs) == resampled_samples(rate, [(size, 1)] * count + [(last, 1)])


def _ogg(packets: list[bytes], per_page: int = 2) -> bytes:
    """Ogg pages (CRC left 0: qwenlint does not check it) carrying ``packets``, a few per page."""
    out = b""
    for i in range(0, len(packets), per_page):
        lacing, body = b"", b""
        for p in packets[i:i + per_page]:
            lacing += b"\xff" * (len(p) // 255) + bytes([len(p) % 255])
            body += p
        out += b"OggS\x00\x00" + bytes(8) + b"\x01\x00\x00\x00" + struct.pack("<I", i) + bytes(4) \
            + bytes([len(lacing)]) + lacing + body
    return out


def test_ogg_opus_frames() -> None:
    """A frame per packet as its TOC says, less the pre-skip at the start and past the end."""
    import io

    from qwenlint.media.audio import ogg_opus_frames

    head = b"OpusHead\x01\x01" + struct.pack("<H", 312) + struct.pack("<I", 48000) + bytes(3)
    celt20, celt2_5, silk60x2 = bytes([0xF8]) + bytes(300), bytes([0x80]) + bytes(10), bytes([0x19]) + bytes(9)
    cases = [
        ([celt20] * 4, 2000, ((648, 1), (960, 1), (392, 1))),  # 3840 coded, the last 1528 past the end
        ([celt2_5] * 6, 300, ((48, 1), (120, 2), (12, 1))),  # the pre-skip spans two packets and a bit
        ([silk60x2], 5448, ((5448, 1),)),  # code 1: two 60 ms frames in one packet
        ([celt20] * 2, 2000, None),  # the packets end before the stated length
    ]
    for packets, samples, want in cases:
        data = _ogg([head, b"OpusTags" + bytes(300), *packets])
        assert ogg_opus_frames(io.BytesIO(data), len(data), samples) == want, (samples, want)


def test_vllm_audio_per_request() -> None:
    """vLLM's Omni processors (tests/differential/test_vllm_audio.py runs the real server)."""
    from qwenlint.vision.audio import predict_vllm_audio

    (long,) = predict_vllm_audio("qwen2.5-omni", [45 * 16000])
    assert long.tokens == 1125 and long.truncated_from is None  # not cut at 30 s
    assert all(isinstance(p, VisionError) and "Failed to apply" in p.message
               for p in predict_vllm_audio("qwen2.5-omni", [45 * 16000, 16000]))
    (short,) = predict_vllm_audio("qwen2.5-omni", [320])
    assert isinstance(short, VisionError) and "(len=320) is too short" in short.message
    # Qwen3-Omni: each audio padded up to the hop first, so 16 001 samples keep 101 frames alone too
    (one,) = predict_vllm_audio("qwen3-omni", [16001])
    assert (one.frames, one.tokens, one.samples) == (101, 14, 16001)
    assert isinstance(predict_vllm_audio("qwen3-omni", [160])[0], VisionError)
    assert [p.tokens for p in predict_vllm_audio("qwen3-omni", [160, 16000])] == [1, 13]


def _mp3_frame(rate: int, kbps: int, mode: int = 3, body: bytes = b"") -> bytes:
    """A layer III frame (no CRC) of ``kbps`` at ``rate`` (``mode`` 3: mono; 0, 1: stereo, joint
    stereo), its bytes zero after ``body``."""
    version, index = {44100: (3, 0), 48000: (3, 1), 32000: (3, 2), 22050: (2, 0), 24000: (2, 1), 16000: (2, 2),
                      11025: (0, 0), 12000: (0, 1), 8000: (0, 2)}[rate]
    lsf = version != 3
    kbps_index = ((0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
                  (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160))[lsf].index(kbps)
    size = (72000 if lsf else 144000) * kbps // rate
    header = 0xFFE00000 | version << 19 | 1 << 17 | 1 << 16 | kbps_index << 12 | index << 10 | mode << 6
    return (header.to_bytes(4, "big") + body + bytes(size))[:size]


def _xing(rate: int, frames: int, nbytes: int, encoder: bytes = b"LAME3.100", delay: int = 576,
          padding: int = 1000, mode: int = 3) -> bytes:
    """The Xing frame (LAME's layout): frames and bytes flags, the LAME tag's delay and padding."""
    offset = (17 if mode == 3 else 32) if rate >= 32000 else (9 if mode == 3 else 17)
    tag = (bytes(offset) + b"Xing" + struct.pack(">III", 3, frames, nbytes) + encoder.ljust(9, b"\0")[:9]
           + bytes(12) + (delay << 12 | padding).to_bytes(3, "big"))
    return _mp3_frame(rate, 64 if rate >= 32000 else 32, mode, tag)


def _id3v2(size: int) -> bytes:
    syncsafe = bytes([size >> 21 & 0x7F, size >> 14 & 0x7F, size >> 7 & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + bytes(size)


def test_mp3_frames_without_xing(tmp_path) -> None:
    """Every frame decodes whole: 1152 samples (MPEG-1) or 576 (MPEG-2 / 2.5) each; stereo and
    joint stereo frames may alternate; ID3v2 before and ID3v1 after are not frames."""
    frames = [_mp3_frame(44100, 128, mode=k % 2) for k in range(9)] + [_mp3_frame(44100, 160, mode=1)]
    (tmp_path / "a.mp3").write_bytes(_id3v2(300) + b"".join(frames) + b"TAG" + bytes(125))
    assert probe_audio(str(tmp_path / "a.mp3")) == AudioFacts("mp3", 44100, 2, 10 * 1152, True, ((1152, 10),))
    (tmp_path / "b.mp3").write_bytes(_mp3_frame(8000, 8) * 7)
    assert probe_audio(str(tmp_path / "b.mp3")) == AudioFacts("mp3", 8000, 1, 7 * 576, True, ((576, 7),))


def test_mp3_lame_trim() -> None:
    """The Xing frame is not audio; the LAME tag's delay + 529 is skipped at the start, its
    padding - 529 trimmed at the end of the stated frames."""
    import io

    from qwenlint.media.audio import mp3_audio

    def facts(data: bytes) -> AudioFacts | None:
        return mp3_audio(io.BytesIO(data), len(data))

    body = _mp3_frame(44100, 128) * 10
    data = _xing(44100, 10, len(body) + 208) + body  # the Xing frame (208 bytes) counts in its byte count
    # 11520 - 576 - 1000 samples: 1152 - 1105 from the first frame, 1152 - 471 from the last
    assert facts(data) == AudioFacts("mp3", 44100, 1, 11520 - 1576, True, ((47, 1), (1152, 8), (681, 1)))
    # MPEG-2: the skip spans the first frame and 47 samples of the second one
    body = _mp3_frame(22050, 64) * 9
    assert facts(_xing(22050, 9, 0, delay=576, padding=600) + body) == \
        AudioFacts("mp3", 22050, 1, 9 * 576 - 1176, True, ((47, 1), (576, 6), (505, 1)))
    # an encoder FFmpeg does not read the delay of: nothing trimmed, the Xing frame still not audio
    assert facts(_xing(22050, 9, 0, encoder=b"GOGO") + body) == AudioFacts("mp3", 22050, 1, 9 * 576, True,
                                                                           ((576, 9),))
    # the file outgrows the stated bytes by more than 1/16: FFmpeg forgets the frame count (no end trim)
    body = _mp3_frame(44100, 128) * 10
    assert facts(_xing(44100, 10, 1000) + body) == AudioFacts("mp3", 44100, 1, 11520 - 1105, True,
                                                              ((47, 1), (1152, 9)))
    # a cut file (fewer frames than stated), junk, a mono frame among stereo ones: not read here
    assert facts(_xing(44100, 11, 0) + body) is None
    assert facts(body + b"junk" * 100) is None
    assert facts(_mp3_frame(44100, 128, mode=0) * 8 + _mp3_frame(44100, 128, mode=3)) is None
    assert facts(body[:-10]) is None
    # fewer than 7 frames: FFmpeg's probe may take it for another format
    assert facts(_mp3_frame(44100, 128) * 6) == AudioFacts("mp3", 44100, 1, 6 * 1152, False)
