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
* **MP3, OGG / Opus / Vorbis, WebM / MKV**: the container's stream header through PyAV
  (``qwenlint[video]``), which opens the file and reads no sample: the stream's (else the
  container's) duration times its rate.  Opus is exact (the last granule position less OpusHead's
  pre-skip), and its frames are read from the Ogg pages (:func:`ogg_opus_frames`); the others are
  ``exact=False``: an MP3 without a LAME / Xing header states its length from the bit rate.

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
