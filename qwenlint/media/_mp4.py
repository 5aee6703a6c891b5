"""MP4 / QuickTime boxes (pure Python, bounded): walking them, reading `moov`, and the display
rotation of a track from its `tkhd` matrix.

PyAV 18 has no getter for a stream's display-matrix side data, so this reads what FFmpeg's mov
demuxer reads: `libavformat/mov.c:mov_read_tkhd` multiplies the track matrix by the movie (`mvhd`)
matrix and exports it as `AV_PKT_DATA_DISPLAYMATRIX` when it is not the identity;
torchcodec 0.17 `FFMPEGCommon.cpp:get_rotation_from_stream` turns it into degrees with
`libavutil/display.c:av_display_rotation_get`.  Both are mirrored here.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from typing import IO

_CONTAINERS = {b"moov", b"trak"}
MAX_BOXES = 10_000
MAX_MOOV_BYTES = 64 * 1024 * 1024

Matrix = tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]
_IDENTITY: Matrix = ((1 << 16, 0, 0), (0, 1 << 16, 0), (0, 0, 1 << 30))


def boxes(buf: bytes, start: int, end: int, strict: bool = False) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload_start, payload_end) of the boxes in buf[start:end].

    Lenient by default (a size-0 box runs to the end; a malformed one ends the walk).  `strict=True`
    raises ValueError instead on a size-0 box, a box overrunning `end`, or bytes left over after
    the last box.
    """
    pos = start
    for _ in range(MAX_BOXES):
        if pos + 8 > end:
            if strict and pos != end:
                raise ValueError("bytes left over after the last box")
            return
        size, btype = struct.unpack_from(">I4s", buf, pos)
        hdr = 8
        if size == 1:
            if pos + 16 > end:
                if strict:
                    raise ValueError("truncated large box header")
                return
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            hdr = 16
        elif size == 0:
            if strict:
                raise ValueError("a box of size 0 inside a container")
            size = end - pos
        if size < hdr or pos + size > end:
            if strict:
                raise ValueError("a box overruns its container")
            return
        yield btype, pos + hdr, pos + size
        pos += size
    if strict:
        raise ValueError(f"more than {MAX_BOXES} boxes")


def read_moov(fp: IO[bytes]) -> bytes | None:
    """The payload of the top-level `moov` box, found by walking box headers (seeks, no big reads)."""
    fp.seek(0, os.SEEK_END)
    file_end = fp.tell()
    pos = 0
    for _ in range(MAX_BOXES):
        if pos + 8 > file_end:
            return None
        fp.seek(pos)
        head = fp.read(16)
        if len(head) < 8:
            return None
        size, btype = struct.unpack_from(">I4s", head, 0)
        hdr = 8
        if size == 1:
            if len(head) < 16:
                return None
            size, hdr = struct.unpack_from(">Q", head, 8)[0], 16
        elif size == 0:
            size = file_end - pos
        if size < hdr:
            return None
        if btype == b"moov":
            n = min(size, file_end - pos) - hdr
            if n > MAX_MOOV_BYTES:
                return None
            fp.seek(pos + hdr)
            return fp.read(n)
        pos += size
    return None


def _matrix(buf: bytes, off: int) -> Matrix:
    v = struct.unpack_from(">9i", buf, off)
    return ((v[0], v[1], v[2]), (v[3], v[4], v[5]), (v[6], v[7], v[8]))


def _tkhd(buf: bytes, start: int) -> tuple[int, Matrix]:
    version = buf[start]
    if version == 1:
        track_id = struct.unpack_from(">I", buf, start + 4 + 16)[0]
        moff = start + 4 + 8 + 8 + 4 + 4 + 8 + 8 + 2 + 2 + 2 + 2
    else:
        track_id = struct.unpack_from(">I", buf, start + 4 + 8)[0]
        moff = start + 4 + 4 + 4 + 4 + 4 + 4 + 8 + 2 + 2 + 2 + 2
    return track_id, _matrix(buf, moff)


def _mvhd(buf: bytes, start: int) -> Matrix:
    version = buf[start]
    moff = start + 4 + (8 + 8 + 4 + 8 if version == 1 else 4 + 4 + 4 + 4) + 4 + 2 + 10
    return _matrix(buf, moff)


def _combine(track: Matrix, movie: Matrix) -> Matrix:
    """`mov_read_tkhd`: res[i][j] = sum_e (track[i][e] * movie[e][j]) >> sh[e], sh = 16, 16, 30."""
    sh = (16, 16, 30)
    res = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    for i in range(3):
        for j in range(3):
            for e in range(3):
                res[i][j] += (track[i][e] * movie[e][j]) >> sh[e]
    return tuple(tuple(r) for r in res)  # type: ignore[return-value]


def rotation_from_matrix(m: Matrix) -> float | None:
    """`av_display_rotation_get` on the flattened matrix (degrees, counter-clockwise); None if invalid."""
    a, b = m[0][0] / (1 << 16), m[0][1] / (1 << 16)
    c, d = m[1][0] / (1 << 16), m[1][1] / (1 << 16)
    scale0 = math.hypot(a, c)
    scale1 = math.hypot(b, d)
    if scale0 == 0.0 or scale1 == 0.0:
        return None
    rotation = math.atan2(b / scale1, a / scale0) * 180 / math.pi
    return -rotation


def mp4_display_rotation(fp: IO[bytes], track_id: int) -> float | None:
    """Rotation (degrees) FFmpeg reports for the track `track_id`, or None when it has none.

    Only the first `moov` box is read, and only if it is under `MAX_MOOV_BYTES`.  Any parse failure
    gives None (no rotation known).
    """
    try:
        moov = read_moov(fp)
    except OSError:
        return None
    return None if moov is None else moov_display_rotation(moov, track_id)


def moov_display_rotation(moov: bytes, track_id: int) -> float | None:
    """`mp4_display_rotation` on the payload of a `moov` box already read."""
    try:
        movie = _IDENTITY
        found: Matrix | None = None
        for btype, s, e in boxes(moov, 0, len(moov)):
            if btype == b"mvhd" and e - s >= 100:
                movie = _mvhd(moov, s)
            elif btype == b"trak":
                for t2, s2, e2 in boxes(moov, s, e):
                    if t2 == b"tkhd" and e2 - s2 >= 84:
                        tid, m = _tkhd(moov, s2)
                        # FFmpeg's stream id is the track_ID read as a signed int (mov.c
                        # mov_read_tkhd): compare the unsigned values
                        if tid == track_id % (1 << 32):
                            found = m
        if found is None:
            return None
        res = _combine(found, movie)
        if res == _IDENTITY:
            return None
        return rotation_from_matrix(res)
    except (struct.error, IndexError, ValueError):
        return None
