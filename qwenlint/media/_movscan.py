"""torchcodec's packet scan of an H.264 MP4 / QuickTime file, computed from its sample tables.

`probe_video`'s general path opens the container with PyAV and reads every packet header, as
torchcodec's exact mode does.  Opening costs about a millisecond per file (FFmpeg probes the format
and decodes a frame to learn the pixel format) and is most of `qwenlint tokens`' time on videos.
For the commonest input, an H.264 MP4 with one video track, the numbers that scan produces are all
in the `moov` box: this module reads them from there (tens of microseconds) by following what
FFmpeg's mov demuxer does with the tables (`libavformat/mov.c`: `mov_read_stts`/`ctts`/`elst`,
`mov_build_index`, `mov_fix_index`, `mov_read_packet`).

It only answers inside an envelope where that model is exact on the FFmpeg versions torchcodec
may link (checked against FFmpeg 5.1 through torchcodec and FFmpeg 8 through PyAV by the tests,
including on randomly damaged `moov` boxes); anything else returns the reason it stepped aside, and
`probe_video` falls back to the PyAV scan.  The envelope:

* one `moov`, not fragmented (no `mvex`), no cover art, containers nested at most
  `MAX_NESTING` deep (FFmpeg refuses a file past 10: "Atoms too deeply nested"), every box well formed (sizes exact,
  versions <= 1, timescales in range) and every track's samples inside this file (one
  self-contained data reference, chunk offsets + sizes within the file size: a truncated download
  ends the real scan early);
* exactly one video track, with one `avc1` sample entry whose SPS (read completely and strictly
  by `_h264.py`) has the size the entry declares;
* stts deltas > 0 (and no long last delta, which `mov_read_stts` rewrites); ctts offsets in
  [0, 2^28) and, when present, one constant delta matching the SPS's VUI frame rate, frame
  pictures only, no picture-timing repeats: FFmpeg 5 leaves those packets' durations to
  libavformat, which derives them from that rate;
* no edit list, or one edit (rate 1) that starts at the first sample's presentation time, ends
  after the last sample starts (none is discarded) and, without composition offsets, after it ends
  (FFmpeg 5 would shorten the last packet, FFmpeg 8 does not); no keyframe stops
  `mov_fix_index` early.

Inside it, every sample is one packet; pts = dts + ctts, minus the first sample's when there is an
edit; duration = its stts delta.  torchcodec's count is the number of samples and its span is
min(pts) to max(pts + duration).

Not detected: damage to another track's codec configuration (say an AAC `esds` with broken
descriptor lengths) that makes FFmpeg refuse the whole file; the fast path then reports the video's
facts where the real loader fails to open it.  Bounded: `moov` is read only up to
`_mp4.MAX_MOOV_BYTES` and at most `MAX_SAMPLES` samples per track.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from typing import IO

from ._h264 import Sps, avcc_sps, parse_sps
from ._mp4 import boxes, moov_display_rotation, read_moov

#: Files with more samples than this go through the PyAV scan (≈ 18 h at 30 fps).
MAX_SAMPLES = 2_000_000
#: FFmpeg's name for its mov/mp4 demuxer (what PyAV's `container.format.name` says).
MOV_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"


@dataclass(frozen=True)
class MovScan:
    """The packet scan torchcodec would do, and the stream facts it reports, for one video track."""

    num_frames: int
    begin: int  # min pts, in time_base units
    end: int  # max (pts + duration)
    time_base: Fraction
    width: int  # decoded size (the SPS's, before any display rotation)
    height: int
    rotation: float | None
    has_audio: bool
    stream_index: int
    fps_header: Fraction | None  # r_frame_rate where mov.c sets it (constant rate); None: FFmpeg guesses it
    avg_frame_rate: Fraction


class _Decline(Exception):
    """The file is outside the envelope; the message says why."""


Span = tuple[int, int]


def _u32(buf: bytes, off: int) -> int:
    return struct.unpack_from(">I", buf, off)[0]


#: Boxes FFmpeg's mov demuxer descends into (each a level of `mov_read_default`, which refuses a
#: file once 10 levels are open, root included: "Atoms too deeply nested").  A superset is safe:
#: the fast path only steps aside, and the PyAV scan gives FFmpeg's own verdict.
_CONTAINERS = frozenset((b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"udta",
                         b"tref", b"mvex", b"moof", b"traf", b"sinf", b"schi", b"ilst", b"wave",
                         b"meta", b"tapt", b"gmhd", b"clip", b"matt", b"imap", b"iprp", b"ipco"))
#: The fast path answers only for files whose containers nest at most this deep inside `moov`
#: (moov/trak/mdia/minf/stbl is 5; FFmpeg fails at 10 under moov).
MAX_NESTING = 7


def _nesting(buf: bytes, start: int, end: int, depth: int) -> int:
    """How deep containers nest in buf[start:end] (a box at `depth`), counting no further than one
    past :data:`MAX_NESTING` (bounded work on hostile files)."""
    deepest = depth
    if depth > MAX_NESTING:
        return deepest
    for btype, s, e in boxes(buf, start, end):
        if btype in _CONTAINERS:
            body = s + 4 if btype == b"meta" and e - s >= 12 and buf[s + 8:s + 12] not in _CONTAINERS \
                and buf[s + 4:s + 8] in (b"hdlr", b"ilst", b"keys") else s
            deepest = max(deepest, _nesting(buf, body, e, depth + 1))
            if deepest > MAX_NESTING:
                break
    return deepest


def _children(buf: bytes, span: Span) -> dict[bytes, Span]:
    """The boxes inside `span` by type; a type seen twice is marked with a trailing '+'."""
    out: dict[bytes, Span] = {}
    for btype, s, e in boxes(buf, *span, strict=True):
        out[btype + b"+" if btype in out else btype] = (s, e)
    return out


def _need(kids: dict[bytes, Span], name: bytes) -> Span:
    if name not in kids:
        raise _Decline(f"no {name.decode()} box")
    if name + b"+" in kids:
        raise _Decline(f"two {name.decode()} boxes")
    return kids[name]


def _version(buf: bytes, span: Span, name: str) -> int:
    s, e = span
    if e - s < 4 or buf[s] > 1:
        raise _Decline(f"{name} version {buf[s] if e > s else '?'}")  # mov.c refuses versions above 1
    return buf[s]


def _table(buf: bytes, span: Span, fmt: str, limit: int, header: int = 8) -> list[tuple[int, ...]]:
    """The entries of a full box holding a u32 count then the entries, filling the box exactly.

    More than `limit` entries (more than the track has samples, say) declines before unpacking.
    """
    s, e = span
    if e - s < header:
        raise _Decline("short table box")
    n = _u32(buf, s + header - 4)
    if n > limit:
        raise _Decline("more table entries than the track can use")
    size = struct.calcsize(fmt)
    if header + n * size != e - s:
        raise _Decline("table box size differs from its entry count")
    return list(struct.iter_unpack(fmt, buf[s + header:e]))


def _timescale(buf: bytes, span: Span, name: str) -> tuple[int, int]:
    """(timescale, duration) of an mvhd / mdhd box."""
    s, e = span
    if _version(buf, span, name) == 1:
        if e - s < 32:
            raise _Decline(f"short {name} box")
        return _u32(buf, s + 20), struct.unpack_from(">Q", buf, s + 24)[0]
    if e - s < 20:
        raise _Decline(f"short {name} box")
    return _u32(buf, s + 12), _u32(buf, s + 16)


def _rescale(a: int, b: int, c: int) -> int:
    """av_rescale(a, b, c) for a, b >= 0, c > 0: a * b / c rounded to nearest, halves away from zero."""
    return (a * b + c // 2) // c


@dataclass
class _Track:
    """One `trak`, checked for the structure FFmpeg needs to open the file and index its samples."""

    handler: bytes
    track_id: int
    kids: dict[bytes, Span]
    stbl: dict[bytes, Span]
    scale: int
    media_duration: int
    samples: int
    stts: list[tuple[int, int]]


def _check_dref(buf: bytes, minf: dict[bytes, Span]) -> None:
    """One self-contained data reference: the samples are in this file (mov.c would open others)."""
    dref = _need(_children(buf, _need(minf, b"dinf")), b"dref")
    _version(buf, dref, "dref")
    s, e = dref
    if e - s < 8 or _u32(buf, s + 4) != 1:
        raise _Decline("not exactly one data reference")
    entries = list(boxes(buf, s + 8, e, strict=True))
    if len(entries) != 1 or entries[0][0] not in (b"url ", b"alis") or entries[0][2] - entries[0][1] != 4 \
            or buf[entries[0][1] + 3] & 1 != 1:
        raise _Decline("the samples are not in this file (external data reference)")


def _chunk_layout(buf: bytes, stbl: dict[bytes, Span], n: int, sizes: tuple[int, ...] | None,
                  const: int) -> int:
    """Map samples to chunks through stsc and return the largest byte offset a sample reaches."""
    if (b"stco" in stbl) == (b"co64" in stbl):
        raise _Decline("not exactly one chunk offset table")
    offsets = [o[0] for o in (_table(buf, _need(stbl, b"stco"), ">I", n) if b"stco" in stbl
                              else _table(buf, _need(stbl, b"co64"), ">Q", n))]
    runs = _table(buf, _need(stbl, b"stsc"), ">III", len(offsets))
    if not runs or runs[0][0] != 1:
        raise _Decline("stsc does not start at chunk 1")
    chunks = len(offsets)
    sample = top = 0
    for r, (first, per_chunk, desc) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else chunks
        if per_chunk == 0 or desc != 1 or last < first or last > chunks:
            raise _Decline("unusual stsc")
        for chunk in range(first - 1, last):
            if sample + per_chunk > n:
                raise _Decline("stsc maps more samples than stsz has")
            size = per_chunk * const if sizes is None else sum(sizes[sample:sample + per_chunk])
            top = max(top, offsets[chunk] + size)
            sample += per_chunk
    if sample != n:
        raise _Decline("stsc maps fewer samples than stsz has")
    return top


def _track(buf: bytes, span: Span, file_size: int) -> _Track:
    kids = _children(buf, span)
    tkhd = _need(kids, b"tkhd")
    if tkhd[1] - tkhd[0] < 24:
        raise _Decline("short tkhd box")
    track_id = _u32(buf, tkhd[0] + (20 if _version(buf, tkhd, "tkhd") == 1 else 12))
    mdia = _children(buf, _need(kids, b"mdia"))
    scale, media_duration = _timescale(buf, _need(mdia, b"mdhd"), "mdhd")
    if not 0 < scale < 1 << 31:
        raise _Decline("media timescale out of range (mov.c replaces it with 1)")
    hs, he = _need(mdia, b"hdlr")
    if he - hs < 12:
        raise _Decline("short hdlr box")
    handler = buf[hs + 8:hs + 12]
    minf = _children(buf, _need(mdia, b"minf"))
    _check_dref(buf, minf)
    stbl = _children(buf, _need(minf, b"stbl"))
    stsd = _need(stbl, b"stsd")
    if stsd[1] - stsd[0] < 8 or _u32(buf, stsd[0] + 4) != 1 \
            or len(list(boxes(buf, stsd[0] + 8, stsd[1], strict=True))) != 1:
        raise _Decline("stsd has not exactly one sample entry")
    if b"stz2" in stbl:
        raise _Decline("compact sample sizes (stz2)")
    ss, se = _need(stbl, b"stsz")
    if se - ss < 12:
        raise _Decline("short stsz box")
    const, n = _u32(buf, ss + 4), _u32(buf, ss + 8)
    if n > MAX_SAMPLES:
        raise _Decline(f"more than {MAX_SAMPLES} samples")
    if const:
        if se - ss != 12:
            raise _Decline("stsz size differs from its entry count")
        sizes = None
    else:
        if se - ss != 12 + 4 * n:
            raise _Decline("stsz size differs from its entry count")
        sizes = struct.unpack_from(f">{n}I", buf, ss + 12)
        if 0 in sizes:
            raise _Decline("a zero-size sample")
    stts = [(c, d) for c, d in _table(buf, _need(stbl, b"stts"), ">II", n) if c]
    if sum(c for c, _ in stts) != n:
        raise _Decline("stts and stsz count different samples")
    if _chunk_layout(buf, stbl, n, sizes, const) > file_size:
        raise _Decline("sample data past the end of the file (truncated)")
    return _Track(handler, track_id, kids, stbl, scale, media_duration, n, stts)


def _h264_entry(buf: bytes, stbl: dict[bytes, Span]) -> Sps:
    """The SPS of the video track's H.264 sample entry, when its size equals the entry's; else decline."""
    s, e = _need(stbl, b"stsd")
    fourcc, es, ee = next(boxes(buf, s + 8, e))
    if fourcc != b"avc1":  # avc3 carries its SPS in the samples, where this module does not look
        raise _Decline(f"codec {fourcc.decode('latin-1')!r} is not H.264 in avc1")
    if ee - es < 78:
        raise _Decline("short visual sample entry")
    width, height = struct.unpack_from(">HH", buf, es + 24)
    config = [(a, b) for t, a, b in boxes(buf, es + 78, ee, strict=True) if t == b"avcC"]
    if len(config) != 1:
        raise _Decline("no single avcC box")
    nal = avcc_sps(buf[config[0][0]:config[0][1]])
    sps = parse_sps(nal) if nal is not None else None
    if sps is None:
        raise _Decline("SPS not read")
    if (sps.width, sps.height) != (width, height):
        raise _Decline(f"SPS size {sps.width}x{sps.height} differs from the sample entry's {width}x{height}")
    return sps


def _video(buf: bytes, t: _Track, movie_scale: int) -> dict:
    """Count, first pts and last pts + duration of the video track's packets, as av_read_frame yields them."""
    sps = _h264_entry(buf, t.stbl)
    for name in (b"stps", b"sbgp", b"sgpd"):
        if name in t.stbl:
            raise _Decline(f"{name.decode()} box (extra sync samples)")
    n, stts = t.samples, t.stts
    if n == 0:
        raise _Decline("no samples")
    if any(d == 0 or d >= 1 << 31 for _, d in stts):
        raise _Decline("a sample without a positive duration")
    if len(stts) > 1 and stts[-1][0] == 1 and stts[-1][1] > 10 * min(d for _, d in stts[:-1]):
        raise _Decline("a long last sample duration (mov_read_stts rewrites it)")
    ctts = None
    if b"ctts" in t.stbl:
        _version(buf, t.stbl[b"ctts"], "ctts")
        ctts = [(c, o) for c, o in _table(buf, _need(t.stbl, b"ctts"), ">Ii", n) if c]
        if sum(c for c, _ in ctts) != n or any(not 0 <= o < 1 << 28 for _, o in ctts):
            # (mov_read_ctts drops the whole table when an offset's magnitude reaches 2^28)
            raise _Decline("ctts count differs from the sample count, or offsets negative or huge")
        if len(stts) != 1:
            raise _Decline("composition offsets on a variable-rate track")
        # FFmpeg 5.x leaves these packets' durations to libavformat, which derives them from the
        # SPS's frame rate (through the H.264 parser) or the track's: make sure both say the same.
        if sps.frame_rate is not None and sps.frame_rate != Fraction(t.scale, stts[0][1]):
            raise _Decline("SPS frame rate differs from the track's")
        if not sps.frames_only or sps.pic_struct:
            raise _Decline("composition offsets with field pictures or picture-timing repeats")
    keyframes: list[int] | None = None  # 0-based; None: every sample is a keyframe (no stss)
    if b"stss" in t.stbl:
        keyframes = [k[0] - 1 for k in _table(buf, _need(t.stbl, b"stss"), ">I", n)]
        if not keyframes or keyframes[0] != 0 or keyframes[-1] >= n \
                or any(b <= a for a, b in zip(keyframes, keyframes[1:])):
            raise _Decline("stss does not start at the first sample, or is not increasing")

    # Presentation times, computed per table run (never per sample).
    total = sum(c * d for c, d in stts)
    delta = stts[0][1]
    run_starts: list[int] = []
    run_offsets: list[int] = []
    if ctts is None:
        cts0, begin, max_end = 0, 0, total  # pts = dts, increasing; the last sample ends last
    else:
        first = 0
        lo = hi = ctts[0][1]
        for c, o in ctts:
            run_starts.append(first)
            run_offsets.append(o)
            lo, hi = min(lo, first * delta + o), max(hi, (first + c - 1) * delta + o)
            first += c
        cts0, begin, max_end = ctts[0][1], lo, hi + delta

    def dts_of(index: int) -> int:
        at, seen = 0, 0
        for c, d in stts:
            if index < seen + c:
                return at + (index - seen) * d
            at, seen = at + c * d, seen + c
        return at

    shift = 0
    if b"edts" in t.kids:
        elst = _need(_children(buf, _need(t.kids, b"edts")), b"elst")
        edits = _table(buf, elst, ">QqI" if _version(buf, elst, "elst") == 1 else ">IiI", 64)
        if len(edits) != 1:
            raise _Decline(f"{len(edits)} edit list entries")
        seg, media_time, rate = edits[0]
        if rate != 0x10000 or not 0 < seg < 1 << 62:
            raise _Decline("an edit with a rate other than 1, or no or a huge duration")
        if media_time != cts0 or begin != cts0:
            raise _Decline("the edit does not start at the first sample's presentation time")
        edit_end = media_time + _rescale(seg, t.scale, movie_scale)
        if ctts is None:
            if max_end > edit_end:  # FFmpeg 5 shortens the last packet to the edit's end, FFmpeg 8 not
                raise _Decline("the edit ends inside the last sample")
        elif max_end - delta >= edit_end:
            raise _Decline("the edit ends before the last sample starts (mov_fix_index discards it)")
        # mov_fix_index starts from the last keyframe decoded at or before the edit's start...
        second_key = 1 if keyframes is None else (keyframes[1] if len(keyframes) > 1 else None)
        if second_key is not None and second_key < n and dts_of(second_key) <= media_time:
            raise _Decline("a later keyframe decodes before the edit starts")
        # ...and stops after the first keyframe whose presentation reaches the edit's end.  Without
        # composition offsets only the last sample can; with them, check the keyframes that might.
        if ctts is not None and max_end >= edit_end:
            if keyframes is None:
                raise _Decline("composition offsets with every sample a keyframe")
            for k in keyframes:
                at = bisect_right(run_starts, k) - 1
                if k < n - 1 and k * delta + run_offsets[at] + delta >= edit_end:
                    raise _Decline("a keyframe reaches the end of the edit before the last sample")
        shift = cts0
    elif ctts is None and t.media_duration != total:
        raise _Decline("media duration differs from the sum of sample durations")

    # mov_read_trak sets r_frame_rate only for these; otherwise find_stream_info estimates it.
    constant = len(stts) == 1 or (len(stts) == 2 and stts[1][0] == 1)
    return dict(num_frames=n, begin=begin - shift, end=max_end - shift, time_base=Fraction(1, t.scale),
                width=sps.width, height=sps.height, fps_header=Fraction(t.scale, delta) if constant else None,
                avg_frame_rate=Fraction(n * t.scale, total))


def scan_mp4(fp: IO[bytes], file_size: int) -> MovScan | str:
    """The scan result for an MP4 / QuickTime file, or the reason (a sentence) it is outside the envelope."""
    try:
        moov = read_moov(fp)
        if moov is None:
            return "no readable moov box"
        top = _children(moov, (0, len(moov)))
        if b"mvex" in top:
            return "fragmented MP4 (mvex)"
        if b"cmov" in top:
            return "compressed moov"
        if b"covr" in moov:
            return "cover art (FFmpeg adds an attached-picture stream)"
        if _nesting(moov, 0, len(moov), 1) > MAX_NESTING:
            return "containers nested deeply (FFmpeg refuses 'Atoms too deeply nested' past 10)"
        movie_scale = _timescale(moov, _need(top, b"mvhd"), "mvhd")[0]
        if not 0 < movie_scale < 1 << 31:
            return "movie timescale out of range (mov.c replaces it with 1)"
        tracks = [_track(moov, (s, e), file_size) for btype, s, e in boxes(moov, 0, len(moov), strict=True)
                  if btype == b"trak"]
        video = [i for i, t in enumerate(tracks) if t.handler == b"vide"]
        if len(video) != 1:
            return f"{len(video)} video tracks"
        t = tracks[video[0]]
        return MovScan(rotation=moov_display_rotation(moov, t.track_id),
                       has_audio=any(x.handler == b"soun" for x in tracks), stream_index=video[0],
                       **_video(moov, t, movie_scale))
    except _Decline as why:
        return str(why)
    except (struct.error, IndexError, ValueError, StopIteration, OSError) as e:
        return f"unreadable sample tables ({type(e).__name__})"
