"""Audio facts from headers: sample rate, channels and length, never decoding a sample.

What the Omni processors' token count needs is the number of samples the consumer's loader hands
the feature extractor (16 kHz mono), so what is read here is the source's own sample count and
rate; :mod:`qwenlint.vision.audio` turns them into 16 kHz samples and tokens.

* **WAV** (RIFF / RIFX / RF64, PCM, float, extensible): ``fmt `` and the ``data`` chunk's size, in
  pure Python; exact (a ``data`` chunk longer than the file counts what is there, as FFmpeg and
  libsndfile read it; one of size 0 runs to the end of the file, as FFmpeg reads it).  The
  frames FFmpeg decodes (``AudioFacts.frames``: 4096-byte packets of whole blocks) for PCM,
  float, A-law and mu-law whose data is whole blocks; data that ends inside a block is
  ``AudioFacts.partial_block`` (torchcodec raises on it).
* **FLAC**: ``STREAMINFO``'s total samples, in pure Python; exact, and a frame per block when the
  stream has one block size.  A stream whose header says 0 (unknown, written by a live encoder)
  goes to PyAV; one whose frame headers leave the rate to STREAMINFO is inexact (FFmpeg decodes
  it short).
* **M4A / MP4 / MOV** (and the sound track of such a video): ``moov`` in pure Python: the packets
  (``stts``) the edit list keeps, a whole 1024-sample frame each but for the encoder delay it
  skips, as FFmpeg's mov demuxer hands them to the decoder (:func:`aac_frames`); exact, frames
  too, for AAC-LC (the ``esds``'s AudioSpecificConfig, which also gives the rate and channels
  FFmpeg decodes) with no edit list or one edit.  Other edit lists and other AAC object types
  are estimates (``exact=False``); a fragmented MP4 (``mvex``: its samples are in ``moof`` boxes)
  goes to PyAV.  A clip whose edit starts no packet decodes to nothing: 0 samples (torchcodec
  raises "No audio frames were decoded").
* **MP3** (MPEG audio layer III): every frame header, in pure Python (:func:`mp3_audio`): the
  frames, less what FFmpeg trims by the Xing / LAME header (the encoder delay and padding); exact,
  with the frames, for a stream of whole frames back to back (an ID3v2 tag before, an ID3v1 tag
  after) of at least 7 frames (fewer: FFmpeg's probe may take it for another format, so not
  exact).  Others (junk between frames, a cut file, VBRI) go to PyAV.
* **OGG / Opus / Vorbis, WebM / MKV**: the container's stream header through PyAV
  (``qwenlint[video]``), which opens the file and reads no sample: the stream's (else the
  container's) duration times its rate.  Opus is exact (the last granule position less OpusHead's
  pre-skip), and its frames are read from the Ogg pages (:func:`ogg_opus_frames`); the others, and
  the MP3s :func:`mp3_audio` does not read, are ``exact=False`` (an MP3 without a Xing header
  states its length from the bit rate).

Probes never raise for bad input: they return a `MediaError`.
"""

from __future__ import annotations

import io
import os
import stat
import struct
from dataclasses import dataclass, replace
from typing import IO

from .errors import MediaError

#: Bytes read before giving up on finding the WAV ``data`` chunk / the FLAC STREAMINFO.
_HEADER_LIMIT = 1 << 20
#: FFmpeg's WAV demuxer reads packets of ``max_size`` bytes (its option's default), rounded down to
#: whole blocks (libavformat/wavdec.c ``wav_read_packet``, FFmpeg 5.1).
WAV_PACKET_BYTES = 4096
#: WAV format tags FFmpeg decodes one sample per channel per ``block_align`` bytes, with the PCM
#: decoder (libavcodec/pcm.c): PCM, IEEE float, A-law, mu-law.
_WAV_PCM_TAGS = (1, 3, 6, 7)


def wav_frames(samples: int, block_align: int) -> tuple[tuple[int, int], ...]:
    """FFmpeg's frames for a PCM WAV of ``samples`` blocks of ``block_align`` bytes: a packet of
    ``4096 // block_align`` blocks (at least one) each, the last one shorter; the PCM decoder makes
    a packet one frame."""
    per = max(WAV_PACKET_BYTES // block_align, 1)
    full, last = divmod(samples, per)
    return tuple(run for run in ((per, full), (last, 1)) if run[0] and run[1])


def flac_frames(samples: int, block_size: int) -> tuple[tuple[int, int], ...]:
    """FFmpeg's frames for a FLAC stream of one block size: a frame per block, the last one shorter."""
    full, last = divmod(samples, block_size)
    return tuple(run for run in ((block_size, full), (last, 1)) if run[0] and run[1])


@dataclass(frozen=True)
class AudioFacts:
    """One audio source as its header states it."""

    format: str  # "wav", "flac", "mp3", "m4a", "ogg", ... (the container)
    sample_rate: int
    channels: int
    samples: int  # per channel, at sample_rate
    exact: bool  # the header states the decoded length (WAV, FLAC); False: a duration estimate
    #: How FFmpeg's decoder splits the samples into frames, as runs of (samples per frame, how
    #: many frames), in order, where the header fixes it (see :func:`wav_frames`, :func:`flac_frames`);
    #: None where it does not.  What resampling gives depends on it (:mod:`qwenlint.vision.swresample`).
    frames: tuple[tuple[int, int], ...] | None = None
    #: A PCM WAV whose data ends inside a block: FFmpeg's PCM decoder refuses the bytes of the
    #: last, partial block ("Invalid data found when processing input"), so torchcodec raises on
    #: the file; libsndfile (soundfile, librosa) reads its whole blocks (``samples``).
    partial_block: bool = False
    block_align: int = 0  # a WAV's bytes per block (all channels); 0: not a WAV

    @property
    def duration(self) -> float:
        return self.samples / self.sample_rate

    @property
    def partial_block_alone(self) -> bool:
        """Whether FFmpeg's WAV demuxer hands the partial block's bytes over as a packet of their
        own (the whole blocks fill whole packets: :func:`wav_frames`), which the decoder refuses
        when it is sent; else they end a packet of whole blocks, and the refusal comes when its
        frame is received (run: test_audio_omni, ~300 drawn files)."""
        if not self.partial_block or not self.block_align:
            return False
        packet = max(WAV_PACKET_BYTES // self.block_align, 1) * self.block_align
        return self.samples * self.block_align % packet == 0


def _wav(fp: IO[bytes], size: int) -> AudioFacts | MediaError | None:
    head = fp.read(12)
    if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX", b"RF64"):
        return None
    big = head[:4] == b"RIFX"
    u32, u16 = (">I", ">H") if big else ("<I", "<H")
    rate = channels = block = 0
    pcm = False
    ds64_data: int | None = None
    pos = 12
    while pos + 8 <= min(size, _HEADER_LIMIT + 12):
        fp.seek(pos)
        hdr = fp.read(8)
        if len(hdr) < 8:
            break
        cid = hdr[:4]
        (length,) = struct.unpack(u32, hdr[4:])
        if cid == b"ds64":
            body = fp.read(min(length, 28))
            if len(body) >= 16:
                ds64_data = struct.unpack_from("<Q", body, 8)[0]
        elif cid == b"fmt ":
            body = fp.read(min(length, 40))
            if len(body) < 16:
                return MediaError("corrupt", "WAV fmt chunk is truncated")
            tag = struct.unpack_from(u16, body, 0)[0]
            channels = struct.unpack_from(u16, body, 2)[0]
            rate = struct.unpack_from(u32, body, 4)[0]
            block = struct.unpack_from(u16, body, 12)[0]
            bits = struct.unpack_from(u16, body, 14)[0]
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat GUID's tag
                tag = struct.unpack_from(u16, body, 24)[0]
            # riffdec: the codec is pcm of ceil(bits / 8) bytes; a 32-bit PCM fmt whose 2-byte extra
            # data is 1 is FFmpeg's own 16-bit float marker (wavdec.c): not one sample per block.
            f16_marker = tag == 1 and bits == 32 and len(body) >= 20 and body[16:20] == b"\x02\x00\x01\x00"
            pcm = (tag in _WAV_PCM_TAGS and not f16_marker and channels > 0
                   and block == channels * -(-bits // 8) and (tag not in (6, 7) or bits == 8))
        elif cid == b"data":
            if not (rate and channels and block):
                return MediaError("corrupt", "WAV data chunk before a valid fmt chunk")
            if head[:4] == b"RF64" and length == 0xFFFFFFFF and ds64_data is not None:
                length = ds64_data
            available = max(0, size - (pos + 8))
            if length == 0 and head[:4] != b"RF64":  # size 0: FFmpeg reads to the end of the file
                length = available
            data = min(length, available)
            samples = data // block
            # Data that is not whole blocks: torchcodec's decode fails on the last packet (the PCM
            # decoder refuses a packet, or the rest of one, shorter than a block), so no frames.
            frames = wav_frames(samples, block) if pcm and data % block == 0 else None
            return AudioFacts("wav", rate, channels, samples, True, frames, partial_block=pcm and data % block != 0,
                              block_align=block)
        pos += 8 + length + (length & 1)
    if not (rate and channels):
        return MediaError("corrupt", "WAV file without a fmt chunk")
    return MediaError("corrupt", "WAV file without a data chunk")


def _flac(fp: IO[bytes]) -> AudioFacts | MediaError | None:
    fp.seek(0)
    head = fp.read(4)
    if head[:3] == b"ID3":  # an ID3v2 tag before the stream
        rest = fp.read(6)
        if len(rest) < 6:
            return None
        tag = ((rest[2] & 0x7F) << 21) | ((rest[3] & 0x7F) << 14) | ((rest[4] & 0x7F) << 7) | (rest[5] & 0x7F)
        fp.seek(10 + tag)
        head = fp.read(4)
    if head != b"fLaC":
        return None
    block = fp.read(4 + 34)
    if len(block) < 38 or block[0] & 0x7F != 0:
        return MediaError("corrupt", "FLAC stream without a STREAMINFO block")
    min_block, max_block = struct.unpack_from(">HH", block, 4)
    info = int.from_bytes(block[4 + 10:4 + 18], "big")
    rate = info >> 44
    channels = ((info >> 41) & 0x7) + 1
    total = info & ((1 << 36) - 1)
    if rate == 0:
        return MediaError("corrupt", "FLAC STREAMINFO has sample rate 0")
    if total == 0:
        return None  # unknown length: PyAV's estimate
    # The frames are the stream's blocks when it has one block size (and its first frame header
    # says so).  Frame headers that leave the rate to STREAMINFO (sample rate code 0: FFmpeg's
    # encoder writes it from 65535 Hz on, unless a multiple of 10) FFmpeg decodes short (measured,
    # FFmpeg 5.1: one frame of three): neither the length nor the frames are known then.
    first = _flac_first_frame(fp, block[0] & 0x80)
    if first is not None and not first[1]:
        return AudioFacts("flac", rate, channels, total, False)
    frames = flac_frames(total, max_block) if min_block == max_block > 0 and first is not None and first[0] else None
    return AudioFacts("flac", rate, channels, total, True, frames)


def _flac_first_frame(fp: IO[bytes], last: int) -> tuple[bool, bool] | None:
    """(fixed block size, states its sample rate) of the first FLAC frame header, after the
    metadata blocks (``fp`` is past STREAMINFO); None: not found."""
    while not last:
        hdr = fp.read(4)
        if len(hdr) < 4 or fp.tell() > _HEADER_LIMIT:
            return None
        last = hdr[0] & 0x80
        fp.seek(fp.tell() + int.from_bytes(hdr[1:4], "big"))
    frame = fp.read(3)
    if len(frame) < 3 or frame[0] != 0xFF or frame[1] & 0xFE != 0xF8:  # sync 0b11111111111110, reserved 0
        return None
    return not frame[1] & 1, frame[2] & 0x0F != 0


def _child(buf: bytes, start: int, end: int, path: tuple[bytes, ...]) -> tuple[int, int] | None:
    from ._mp4 import boxes

    for name in path:
        for btype, s, e in boxes(buf, start, end):
            if btype == name:
                start, end = s, e
                break
        else:
            return None
    return start, end


def mp4_audio(fp: IO[bytes]) -> AudioFacts | MediaError | None:
    """The first sound track of an MP4 / M4A / MOV file, from ``moov`` alone (None: not MP4, or a
    fragmented one, whose samples are listed in the ``moof`` boxes: PyAV reads it).

    The decoded length and frames are what torchcodec (FFmpeg's mov demuxer and decoder) gives;
    see :func:`aac_frames` for the rule and where it is exact.
    """
    from ._mp4 import read_moov

    fp.seek(0)
    head = fp.read(12)
    if head[4:8] not in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return None
    moov = read_moov(fp)
    if moov is None:
        return MediaError("corrupt", "no readable moov box (an MP4 file without its index)")
    if _child(moov, 0, len(moov), (b"mvex",)) is not None:
        return None
    try:
        return _moov_sound_track(moov)
    except (struct.error, IndexError):  # a box shorter than its fields
        return MediaError("corrupt", "the sound track's boxes are truncated")


#: Samples an AAC-LC packet decodes to (FFmpeg's aac decoder; 960-sample frames are not muxed in MP4).
AAC_FRAME = 1024


def aac_frames(deltas: list[tuple[int, int]], edit: tuple[int, int] | None, aac_lc: bool,
               ) -> tuple[tuple[tuple[int, int], ...], bool]:
    """The frames torchcodec decodes from an AAC sound track: runs of (samples, count), and
    whether the rule is exact for the track.

    ``deltas`` is the ``stts`` table (count, delta) in the track's timescale, ``edit`` the only
    edit of the edit list as (media time, segment duration in the track's timescale, which is
    ``av_rescale`` (rounded to nearest) of the ``elst`` duration from the movie's timescale),
    None without an edit list.  FFmpeg 5.1's mov demuxer (``libavformat/mov.c:mov_fix_index``),
    read and measured:

    * packet k runs from its ``cts`` (the sum of the deltas before it) for its delta, and decodes
      to a whole frame (1024 samples), the last, shorter one too (the encoder's padding is kept);
    * without an edit list every packet is decoded;
    * with one, the packets wholly before the media time (the encoder delay: 1024 for FFmpeg's
      encoder, 2112 for Apple's) are decoded and skipped; one that straddles it keeps the samples
      from the media time on; a packet that starts at or after media time + segment duration is
      dropped, and the one before it is decoded whole;
    * a segment duration of 0 leaves the stream a duration of 0: the straddling frame then has a
      duration of 0, which torchcodec drops at the file's rate and keeps when it resamples
      (``get_frames_played_in_range_audio``'s pts filter), so that case is not exact.

    Exact where the longest delta is 1024 and the sample description says AAC-LC (an AAC-LC
    stream carrying SBR without signalling it decodes at twice the rate, which no header shows).
    """
    frame = max((d for _, d in deltas), default=0)
    exact = aac_lc and frame == AAC_FRAME
    out: list[list[int]] = []

    def add(n: int, k: int = 1) -> None:
        if out and out[-1][0] == n:
            out[-1][1] += k
        elif k:
            out.append([n, k])

    if edit is None:
        packets = sum(c for c, _ in deltas)
        return (((frame, packets),) if packets and frame else ()), exact
    media_time, duration = edit
    stop = media_time + duration
    cts = 0
    straddle = False
    for count, delta in deltas:
        if cts >= stop or not delta:
            exact &= cts >= stop  # a packet of no duration: not modelled
            break
        before = min(count, max(0, (media_time - cts) // delta))  # wholly before the media time
        cts, count = cts + before * delta, count - before
        if count and cts < media_time:  # straddles it: decoded from the media time on
            straddle = True
            add(frame - (media_time - cts))
            cts, count = cts + delta, count - 1
        kept = min(count, max(0, -(-(stop - cts) // delta)))  # starting before the stop
        add(frame, kept)
        cts += kept * delta
    if duration == 0 and straddle:
        exact = False
    return tuple((n, k) for n, k in out if n > 0), exact


#: AudioSpecificConfig's sampling frequency index (ISO/IEC 14496-3, 1.6.3.4) and channel configuration.
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
_AAC_CHANNELS = (0, 1, 2, 3, 4, 5, 6, 8)


def _aac_config(moov: bytes, start: int, end: int) -> tuple[int, int, int] | None:
    """(object type, sample rate, channels) of the AudioSpecificConfig in the sample description's
    ``esds`` (inside ``mp4a``, or its QuickTime ``wave``), as FFmpeg's decoder reads them (the
    sample entry's own channel count is 2 in some muxers' files whatever the stream); rate and
    channels 0 where the config does not state them (an explicit rate, a program config element).
    None: no ``esds`` holding MPEG-4 audio (object type indication 0x40)."""
    at = moov.find(b"esds", start, end)
    if at < 4:
        return None
    stop = min(end, at - 4 + struct.unpack_from(">I", moov, at - 4)[0])

    def descriptor(pos: int) -> tuple[int, int]:  # tag, payload start
        tag, pos = moov[pos], pos + 1
        for _ in range(4):  # the size: 7 bits a byte, high bit set on all but the last
            pos += 1
            if not moov[pos - 1] & 0x80:
                break
        return tag, pos

    tag, pos = descriptor(at + 8)
    if tag != 0x03:
        return None
    flags = moov[pos + 2]
    pos += 3 + (2 if flags & 0x80 else 0) + (1 + moov[pos + 3] if flags & 0x40 else 0) + (2 if flags & 0x20 else 0)
    tag, pos = descriptor(pos)
    if tag != 0x04 or moov[pos] != 0x40:
        return None
    tag, pos = descriptor(pos + 13)
    if tag != 0x05 or pos + 2 > stop:
        return None
    bits = int.from_bytes(moov[pos:pos + 2], "big")
    aot, index, config = bits >> 11, bits >> 7 & 0xF, bits >> 3 & 0xF
    rate = _AAC_RATES[index] if index < len(_AAC_RATES) else 0
    return aot, rate, _AAC_CHANNELS[config] if config < len(_AAC_CHANNELS) else 0


def _moov_sound_track(moov: bytes) -> AudioFacts | MediaError:
    from ._mp4 import boxes

    found_video = False
    mvhd = _child(moov, 0, len(moov), (b"mvhd",))
    for btype, s, e in boxes(moov, 0, len(moov)):
        if btype != b"trak":
            continue
        hdlr = _child(moov, s, e, (b"mdia", b"hdlr"))
        if hdlr is None or hdlr[1] - hdlr[0] < 12:
            continue
        handler = moov[hdlr[0] + 8:hdlr[0] + 12]
        if handler != b"soun":
            found_video |= handler == b"vide"
            continue
        mdhd = _child(moov, s, e, (b"mdia", b"mdhd"))
        stts = _child(moov, s, e, (b"mdia", b"minf", b"stbl", b"stts"))
        stsd = _child(moov, s, e, (b"mdia", b"minf", b"stbl", b"stsd"))
        if mdhd is None or stts is None or stsd is None:
            return MediaError("corrupt", "the sound track has no mdhd / stts / stsd box")
        v = moov[mdhd[0]]
        scale = struct.unpack_from(">I", moov, mdhd[0] + (20 if v == 1 else 12))[0]
        (entries,) = struct.unpack_from(">I", moov, stts[0] + 4)
        if stts[0] + 8 + 8 * entries > stts[1] or scale == 0:
            return MediaError("corrupt", "the sound track's stts table is truncated")
        table = list(struct.iter_unpack(">II", moov[stts[0] + 8:stts[0] + 8 + 8 * entries]))
        # stsd: one sample entry (mp4a, ...): channels at +16+8, rate (16.16) at +16+16
        entry = stsd[0] + 8
        if entry + 36 > stsd[1]:
            return MediaError("corrupt", "the sound track's sample description is truncated")
        channels = struct.unpack_from(">H", moov, entry + 24)[0]
        rate = struct.unpack_from(">I", moov, entry + 32)[0] >> 16 or scale
        config = _aac_config(moov, entry, stsd[1])
        if config is not None:
            rate, channels = config[1] or rate, config[2] or channels
        edit, simple = _edit(moov, s, e, mvhd, scale)
        frames, exact = aac_frames(table, edit, config is not None and config[0] == 2)
        exact = exact and simple and rate == scale
        samples = sum(n * k for n, k in frames) * rate // scale
        return AudioFacts("m4a", rate, channels or 1, samples, exact, frames if exact else None)
    if found_video:
        return MediaError("not-audio", "the file has a video track but no sound track")
    return MediaError("not-audio", "no sound track in the MP4 file")


def _edit(moov: bytes, s: int, e: int, mvhd: tuple[int, int] | None, scale: int,
          ) -> tuple[tuple[int, int] | None, bool]:
    """The track's edit list as (media time, segment duration in the track's timescale) when it
    has one edit (None: no edit list), and whether :func:`aac_frames` models it (one edit of rate
    1 and a media time of 0 or more, and a movie timescale).  Else the media time of the first
    entry alone, as an estimate."""
    elst = _child(moov, s, e, (b"edts", b"elst"))
    if elst is None or elst[1] - elst[0] < 8:
        return None, True
    ev = moov[elst[0]]
    (count,) = struct.unpack_from(">I", moov, elst[0] + 4)
    if count == 0:
        return None, True
    width = 20 if ev == 1 else 12
    if elst[0] + 8 + width > elst[1]:
        return None, False
    duration, media_time = struct.unpack_from(">Qq" if ev == 1 else ">Ii", moov, elst[0] + 8)
    rate = struct.unpack_from(">i", moov, elst[0] + 8 + width - 4)[0]
    movie = 0
    if mvhd is not None:
        mv = moov[mvhd[0]]
        movie = struct.unpack_from(">I", moov, mvhd[0] + (20 if mv == 1 else 12))[0]
    if count != 1 or media_time < 0 or rate != 1 << 16 or movie == 0:
        # the estimate: all the packets after the first entry's media time
        return (max(0, media_time), 1 << 62), False
    return (media_time, (duration * scale + movie // 2) // movie), True  # av_rescale: to nearest


def _opus_preskip(extradata: bytes | None) -> int:
    """OpusHead's pre-skip (the decoder drops that many samples at 48 kHz)."""
    if extradata and extradata[:8] == b"OpusHead" and len(extradata) >= 12:
        return int(struct.unpack_from("<H", extradata, 10)[0])
    return 0


def _opus_packet_samples(head: bytes) -> int | None:
    """Samples (48 kHz) an Opus packet decodes to, from its TOC byte (RFC 6716 section 3.1): the
    configuration's frame duration (SILK 10-60 ms, hybrid 10 / 20 ms, CELT 2.5-20 ms) times its
    frame count (code 0: one, 1 and 2: two, 3: the next byte's low 6 bits)."""
    if not head:
        return None
    config, code = head[0] >> 3, head[0] & 3
    if config < 12:
        size = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:
        size = (480, 960)[config % 2]
    else:
        size = (120, 240, 480, 960)[config % 4]
    if code == 3:
        return size * (head[1] & 0x3F) if len(head) > 1 else None
    return size * (1 if code == 0 else 2)


def ogg_opus_frames(fp: IO[bytes], size: int, samples: int) -> tuple[tuple[int, int], ...] | None:
    """FFmpeg's frames for an Ogg Opus file of ``samples`` samples (48 kHz, pre-skip dropped): a
    frame per audio packet, as long as its TOC says, the pre-skip cut from the first ones and the
    rest past the end from the last ones.  Reads the page headers and the first bytes of each
    packet; None for anything but one Opus stream whose packets cover the length."""
    heads: list[bytes] = []  # the first bytes of each packet (the whole OpusHead)
    current: bytes | None = None
    serial = None
    pos = 0
    while pos + 27 <= size:
        fp.seek(pos)
        hdr = fp.read(27)
        if len(hdr) < 27 or hdr[:4] != b"OggS":
            return None
        if serial is None:
            serial = hdr[14:18]
        elif hdr[14:18] != serial:  # another logical stream (chained or multiplexed)
            return None
        lacing = fp.read(hdr[26])
        body, offset = pos + 27 + len(lacing), 0
        for lace in lacing:
            if current is None:
                current = b""
            want = (19 if not heads else 2) - len(current)
            if want > 0 and lace:
                fp.seek(body + offset)
                current += fp.read(min(lace, want))
            offset += lace
            if lace < 255:
                heads.append(current)
                current = None
        pos = body + offset
    if len(heads) < 3 or heads[0][:8] != b"OpusHead" or len(heads[0]) < 12:
        return None
    start = -int.from_bytes(heads[0][10:12], "little")  # pre-skip
    runs: list[list[int]] = []
    for head in heads[2:]:
        duration = _opus_packet_samples(head)
        if duration is None:
            return None
        kept = min(start + duration, samples) - max(start, 0)
        if kept > 0:
            if runs and runs[-1][0] == kept:
                runs[-1][1] += 1
            else:
                runs.append([kept, 1])
        start += duration
    if start < samples:
        return None
    return tuple((n, k) for n, k in runs)


#: MPEG audio layer III bit rates (kbit/s) by the header's index, MPEG-1 and MPEG-2 / 2.5 (ISO
#: 11172-3, 13818-3); index 0 (free format) and 15 (invalid) are not read here.
_MP3_KBPS = ((0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
             (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160))
#: Sample rates by the header's version bits (3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5) and rate index.
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
#: What libavformat's mp3dec.c adds to the LAME tag's encoder delay: the MP3 decoder's own delay.
MP3_DECODER_DELAY = 528 + 1
#: Frames (the Xing frame included) from the start of the stream (after the ID3v2 tag) from which
#: FFmpeg's probe is sure of an MP3 (libavformat/mp3dec.c ``mp3_read_probe``: score 51); with
#: fewer, another demuxer may win (measured: a 3-frame file taken for MPEG-TS, which torchcodec
#: cannot open: "Failed to find stream info").
MP3_PROBE_FRAMES = 7
#: The header bits every frame of a stream shares (FFmpeg's ``SAME_HEADER_MASK``: sync, version,
#: layer, rate); the channel mode may change from frame to frame (stereo, joint stereo), not mono.
_MP3_SAME = 0xFFFE0C00


def _mp3_frame(h: int) -> tuple[int, int, int, int] | None:
    """(sample rate, channels, samples per frame, bytes) of an MPEG audio layer III frame header
    (4 bytes, big-endian); None: not one (layer I / II, free format, reserved values)."""
    version, layer, kbps, rate = (h >> 19) & 3, (h >> 17) & 3, (h >> 12) & 15, (h >> 10) & 3
    if h >> 21 != 0x7FF or version == 1 or layer != 1 or kbps in (0, 15) or rate == 3:
        return None
    hz = _MP3_RATES[version][rate]
    lsf = version != 3  # MPEG-2 / 2.5: half the samples per frame
    size = (72000 if lsf else 144000) * _MP3_KBPS[lsf][kbps] // hz + ((h >> 9) & 1)
    return hz, 1 if (h >> 6) & 3 == 3 else 2, 576 if lsf else 1152, size


def _mp3_tag(first: bytes, after: int) -> tuple[int, int, int] | None:
    """The Xing / Info header of an MP3's first frame, as libavformat's mp3dec.c reads it
    (``mp3_parse_info_tag``): (frames it states, 0 if none; encoder delay; encoder padding), delay
    and padding from a LAME tag whose encoder string starts with ``LAME``, ``Lavf`` or ``Lavc``
    (else -1, -1); None: no Xing / Info header.  ``after``: the file's bytes after the frame's
    4-byte header; when they exceed the byte count the header states by more than 1/16 of it,
    FFmpeg takes the file for a concatenation and forgets the frame count ("invalid concatenated
    file detected")."""
    h = int.from_bytes(first[:4], "big")
    mono = (h >> 6) & 3 == 3
    at = 4 + ((17 if mono else 32) if (h >> 19) & 3 == 3 else (9 if mono else 17))
    if first[at:at + 4] not in (b"Xing", b"Info"):
        return None
    flags = int.from_bytes(first[at + 4:at + 8], "big")
    q = at + 8
    frames = size = 0
    if flags & 1:
        frames = int.from_bytes(first[q:q + 4], "big")
        q += 4
    if flags & 2:
        size = int.from_bytes(first[q:q + 4], "big")
        q += 4
    if size and after > size and after - size > size >> 4:
        frames = 0
    q += (100 if flags & 4 else 0) + (4 if flags & 8 else 0)  # TOC, quality
    delay = padding = -1
    if first[q:q + 4] in (b"LAME", b"Lavf", b"Lavc") and len(first) >= q + 24:
        v = int.from_bytes(first[q + 21:q + 24], "big")  # after the 9-byte version and 12 bytes
        delay, padding = v >> 12, v & 0xFFF
    return frames, delay, padding


def _id3v2_end(fp: IO[bytes]) -> int:
    """Where the ID3v2 tag at the start of the file (if any) ends, its footer included."""
    fp.seek(0)
    head = fp.read(10)
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    return 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]) + (10 if head[5] & 0x10 else 0)


def _mp3_count(fp: IO[bytes], pos: int, end: int, head: int, channels: int) -> int | None:
    """How many layer III frames run from ``pos`` to exactly ``end`` with the first frame's
    version, layer, rate and channel count (``head``: its header); None: something else is in the
    way (junk, another stream, a cut last frame).  Reads the file in 1 MiB blocks."""
    length: dict[int, int] = {}  # a header's frame length; 0: not a frame of this stream
    buf, base, count = b"", pos, 0
    while pos < end:
        if pos + 4 > base + len(buf):
            fp.seek(pos)
            buf, base = fp.read(1 << 20), pos
            if len(buf) < 4:
                return None
        h = int.from_bytes(buf[pos - base:pos - base + 4], "big")
        n = length.get(h)
        if n is None:
            frame = _mp3_frame(h) if h & _MP3_SAME == head & _MP3_SAME else None
            n = length[h] = frame[3] if frame is not None and frame[1] == channels else 0
        if not n or pos + n > end:
            return None
        count += 1
        pos += n
    return count


def mp3_audio(fp: IO[bytes], size: int) -> AudioFacts | None:
    """An MPEG audio layer III file (after its ID3v2 tag, if any) as torchcodec decodes it, from
    its frame headers; None: something else, or a stream this does not read exactly (then PyAV's
    estimate).

    The frames must run back to back from the first (right after the ID3v2 tag) to the end of the
    file, or to an ID3v1 tag (the last 128 bytes, ``TAG``), with one version, rate and channel
    count (:func:`_mp3_count` reads every 4-byte header: the whole file, in 1 MiB blocks; 0.2 s
    for an hour of 128 kbit/s stereo, 58 MB, 138 000 frames, from the page cache).  What FFmpeg
    (libavformat/mp3dec.c, the mp3 decoder; measured with FFmpeg 5.1 under torchcodec) then
    decodes, ``spf`` samples a frame (1152 for MPEG-1, 576 for MPEG-2 / 2.5):

    * a first frame holding a Xing / Info header is not audio;
    * with a LAME tag in it (encoder ``LAME``, ``Lavf``, ``Lavc``: LAME, FFmpeg, PyAV), the
      demuxer skips the encoder delay plus the decoder's 529 samples from the start and, when the
      header states a frame count (and the file is not more than 1/16 longer than the byte count
      it states), trims the padding less 529 at the end of those frames: ``frames * spf - delay -
      padding`` samples, exact where the stated count is the count of frames in the file (a cut
      file: None);
    * otherwise (no Xing header: ``-write_xing 0``; or no LAME tag) every frame decodes whole,
      nothing trimmed: ``frames * spf``.

    ``frames`` (the runs of what each decoded frame keeps) follows.  Not exact (the count as if
    FFmpeg took it for an MP3): a stream of fewer than :data:`MP3_PROBE_FRAMES` frames.  Not read
    (None): VBRI headers, junk, a second ID3v2 tag, a cut last frame, a cut file (fewer frames
    than the Xing header states), free-format and layer I / II streams.
    """
    start = _id3v2_end(fp)
    fp.seek(start)
    first = fp.read(4)
    if len(first) < 4:
        return None
    head = int.from_bytes(first, "big")
    info = _mp3_frame(head)
    if info is None:
        return None
    rate, channels, spf, length = info
    fp.seek(start)
    first = fp.read(length)
    if first[36:40] == b"VBRI":  # Fraunhofer's header (not measured)
        return None
    tag = _mp3_tag(first, size - start - 4)
    end = size
    if size - start >= 128:
        fp.seek(size - 128)
        if fp.read(3) == b"TAG":  # ID3v1
            end = size - 128
    count = _mp3_count(fp, start + (length if tag is not None else 0), end, head, channels)
    if count is None:
        return None
    lo, hi = 0, count * spf  # the decoded samples kept, of the frames' count * spf
    if tag is not None and tag[1] >= 0:
        stated, delay, padding = tag
        lo = delay + MP3_DECODER_DELAY
        if stated:  # the padding is trimmed from the end of the stated frames
            if stated != count:  # a cut file: the trim is not where the header says
                return None
            hi = min(hi, hi - padding + MP3_DECODER_DELAY)
    if hi <= lo:  # nothing decoded (torchcodec raises)
        return None
    if count + (tag is not None) < MP3_PROBE_FRAMES:  # FFmpeg may not take it for an MP3 at all
        return AudioFacts("mp3", rate, channels, hi - lo, False)
    k0, k1 = lo // spf, (hi - 1) // spf  # the first and last frames that keep a sample
    runs: list[tuple[int, int]] = []
    for n, k in ((min(hi, (k0 + 1) * spf) - lo, 1), (spf, max(0, k1 - k0 - 1)), (hi - k1 * spf, int(k1 > k0))):
        if k and runs and runs[-1][0] == n:
            runs[-1] = (n, runs[-1][1] + k)
        elif k:
            runs.append((n, k))
    return AudioFacts("mp3", rate, channels, hi - lo, True, tuple(runs))


def _pyav(path: str | IO[bytes], fmt: str) -> AudioFacts | MediaError:
    try:
        import av  # type: ignore[import-not-found]
    except ImportError:
        return MediaError("no-video-backend", "reading the length of a compressed audio file needs PyAV: "
                          "pip install 'qwenlint[video]'")
    try:
        with av.open(path, metadata_errors="ignore") as container:
            if not container.streams.audio:
                return MediaError("not-audio", "no audio stream in the file")
            stream = container.streams.audio[0]
            rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            channels = int(getattr(stream.codec_context, "channels", 0) or 0)
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1_000_000
            else:
                return MediaError("corrupt", "the audio stream states no duration")
            if rate <= 0:
                return MediaError("corrupt", "the audio stream states no sample rate")
            samples = round(seconds * rate)
            exact = False
            if stream.codec_context.name == "opus" and fmt == "ogg":
                # the last granule position counts the pre-skip the decoder drops
                samples -= _opus_preskip(stream.codec_context.extradata)
                exact = True
            return AudioFacts(fmt, rate, channels or 1, max(0, samples), exact)
    except av.error.FFmpegError as e:  # type: ignore[attr-defined]
        return MediaError("not-audio", f"FFmpeg cannot open it as audio: {e}")


def probe_audio(source: str | bytes) -> AudioFacts | MediaError:
    """The facts of an audio file (a path) or of audio bytes (a decoded data URI)."""
    if isinstance(source, bytes):
        if not source:
            return MediaError("empty", "the audio data is empty")
        fp: IO[bytes] = io.BytesIO(source)
        size = len(source)
        return _probe(fp, size, fp)
    try:
        st = os.stat(source)
    except FileNotFoundError:
        return MediaError("not-found", "no such file", path=source)
    except PermissionError:
        return MediaError("permission-denied", "cannot read the file", path=source)
    except OSError as e:
        return MediaError("unreadable", str(e), path=source)
    if not stat.S_ISREG(st.st_mode):
        return MediaError("not-a-file", "not a regular file", path=source)
    if st.st_size == 0:
        return MediaError("empty", "the file is empty", path=source)
    try:
        with open(source, "rb") as fh:
            result = _probe(fh, st.st_size, source)
    except PermissionError:
        return MediaError("permission-denied", "cannot read the file", path=source)
    except OSError as e:
        return MediaError("unreadable", str(e), path=source)
    if isinstance(result, MediaError) and result.path is None:
        return MediaError(result.code, result.message, path=source)
    return result


def _probe(fp: IO[bytes], size: int, reopen: str | IO[bytes]) -> AudioFacts | MediaError:
    wav = _wav(fp, size)
    if wav is not None:
        return wav
    flac = _flac(fp)
    if flac is not None:
        return flac
    m4a = mp4_audio(fp)
    if m4a is not None:
        return m4a
    fp.seek(0)
    head = fp.read(16)
    fmt = _container(head)
    if fmt == "mp3":
        mp3 = mp3_audio(fp, size)
        if mp3 is not None:
            return mp3
    if not isinstance(reopen, str):
        reopen.seek(0)
    facts = _pyav(reopen, fmt)
    if isinstance(facts, AudioFacts) and fmt == "ogg" and facts.exact:  # Opus: its packets are its frames
        facts = replace(facts, frames=ogg_opus_frames(fp, size, facts.samples))
    return facts


def _container(head: bytes) -> str:
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "webm"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return "audio"


def probe_audio_file(fp: IO[bytes], name: str, size: int | None, reopen) -> AudioFacts | MediaError:
    """The facts of audio read from an open, seekable binary file (a URL's); ``reopen()`` gives a
    second one for PyAV (or a MediaError)."""
    if not size:
        return MediaError("empty", "the object is empty (0 bytes)", path=name)
    second = None
    try:
        wav = _wav(fp, size)
        if wav is not None:
            return wav
        opened = reopen()
        if isinstance(opened, MediaError):
            return opened
        second = opened[0]
        result = _probe(fp, size, second)
    finally:
        if second is not None:
            second.close()
    if isinstance(result, MediaError) and result.path is None:
        return MediaError(result.code, result.message, path=name)
    return result
