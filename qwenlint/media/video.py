"""Video facts from container metadata: frame count, fps, size, rotation.  No decoding.

The numbers mirror what the consumers read:

* qwen-vl-utils 0.0.14 `vision_process.py:_read_video_torchcodec` and transformers 5.23
  `video_utils.py:read_video_torchcodec` both build `torchcodec.decoders.VideoDecoder(path)` in the
  default `seek_mode="exact"` and read `metadata.num_frames` and `metadata.average_fps`.
* torchcodec 0.17 `SingleStreamDecoder.cpp:scan_file_and_update_metadata_and_index` then reads every
  packet (`av_read_frame`, no decoding) and, per stream, counts the packets not flagged DISCARD,
  and keeps min(pts-or-dts) and max(pts-or-dts + duration).  `Metadata.cpp:get_num_frames(exact)` is
  that count and `get_average_fps(exact)` is `count / (end - begin)` in seconds, falling back to
  the header `r_frame_rate` when the span is 0.  So the header's `nb_frames` and `avg_frame_rate`
  are NOT what the consumers use (a WebM at 30000/1001 fps reports ~30.02 fps).
* Width and height are the codec parameters, swapped for a +-90 degree display rotation
  (`Metadata.cpp:get_container_metadata_from_format_context`, "post-rotation dimensions").

`probe_video` repeats that packet scan with PyAV's `demux`, which is the same `av_read_frame`
loop, so the result equals torchcodec's on the same FFmpeg.  H.264 MP4 / QuickTime files inside
`_movscan.py`'s envelope skip PyAV altogether: the scan's result is computed from the `moov`
sample tables, 5-10 times faster (and without PyAV installed); everything else takes the PyAV
path.  With `scan=False` (or when the scan runs out of time) it returns torchcodec's
`seek_mode="approximate"` values instead, marked `exact=False`: `nb_frames`, else
`int(r_frame_rate * duration)`.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ._files import check_bytes, open_regular
from ._movscan import MOV_DEMUXER, scan_mp4
from ._mp4 import mp4_display_rotation
from .errors import MediaError
from .sniff import SNIFF_BYTES, sniff_format

#: Default wall-clock budget for the packet scan of one file.
SCAN_BUDGET_S = 20.0
_NOPTS = -(1 << 63)


@dataclass(frozen=True)
class VideoFacts:
    """What torchcodec's `VideoDecoder(path).metadata` reports, predicted from the container.

    `num_frames` and `fps_float` equal `metadata.num_frames` / `metadata.average_fps` (bit for bit
    when `exact`); `fps` is the same value as an exact fraction.  `width`/`height` are the decoded
    frame size (after rotation), `coded_width`/`coded_height` the stored one.
    """

    num_frames: int | None
    fps: Fraction | None
    fps_float: float | None
    width: int | None
    height: int | None
    duration_s: float | None  # metadata.duration_seconds
    rotation: float | None  # degrees counter-clockwise, as metadata.rotation; None when none stored
    codec: str | None
    container: str  # FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "avi", "matroska,webm"
    exact: bool  # True: from the packet scan (seek_mode="exact"); False: header estimate
    coded_width: int | None = None
    coded_height: int | None = None
    num_frames_header: int | None = None  # the stream's nb_frames (0 / None: not stored)
    fps_header: Fraction | None = None  # r_frame_rate (torchcodec average_fps_from_header)
    avg_frame_rate: Fraction | None = None  # the stream's avg_frame_rate (what ffprobe shows)
    container_duration_s: float | None = None  # the format's duration (AVFormatContext.duration)
    stream_duration_s: float | None = None  # the stream's own duration header (None: not stored, e.g. WebM)
    has_audio: bool = False
    stream_index: int = 0
    file_size: int | None = None
    note: str | None = None  # why a value is estimated or uncertain


def _seconds(pts: int, tb: Fraction) -> float:
    """torchcodec `pts_to_seconds`: `double(pts) * num / den` (multiply before dividing)."""
    return float(pts) * tb.numerator / tb.denominator


def _header_values(stream: Any, container: Any) -> tuple[int | None, float | None, float | None]:
    """torchcodec `Metadata.cpp` in approximate mode: (num_frames, average_fps, duration_seconds)."""
    tb = stream.time_base
    nb = int(stream.frames or 0)
    nb_frames = nb if nb > 0 else None
    rate = stream.base_rate  # r_frame_rate
    fps = float(rate.numerator) / rate.denominator if rate and rate.denominator else None
    fps = fps if fps and fps > 0 else None
    duration: float | None = None
    if stream.duration is not None and stream.duration > 0 and tb is not None and tb.denominator > 0:
        duration = _seconds(stream.duration, tb)
    elif nb_frames is not None and fps:
        duration = nb_frames / fps
    elif container.duration is not None and container.duration > 0:
        duration = container.duration / 1_000_000
    if nb_frames is not None:
        return nb_frames, fps, duration
    if fps is not None and duration is not None:
        return int(fps * duration), fps, duration
    return None, fps, duration


class _Span:
    """Per-stream packet tally of torchcodec's scan: count, min(pts-or-dts), max(pts-or-dts + duration)."""

    def __init__(self) -> None:
        self.count = 0
        self.begin: int | None = None
        self.end: int | None = None
        self.nopts = False

    def add(self, packet: Any) -> None:
        if packet.is_discard:  # AV_PKT_FLAG_DISCARD: skipped by torchcodec
            return
        pts = packet.pts if packet.pts is not None else packet.dts  # get_pts_or_dts
        if pts is None:
            pts, self.nopts = _NOPTS, True
        stop = pts + (packet.duration or 0)
        self.begin = pts if self.begin is None else min(self.begin, pts)
        self.end = stop if self.end is None else max(self.end, stop)
        self.count += 1


def _scan(container: Any, stream: Any, deadline: float) -> _Span | None:
    """torchcodec's packet scan of one stream (PyAV `demux` is the same `av_read_frame` loop).

    None when the scan runs past `deadline` (checked every 512 packets).
    """
    span = _Span()
    pending = None
    for packet in container.demux(stream):
        # PyAV ends demux() with an empty "flush" packet: hold each packet back one step so the
        # last one yielded can be recognised and dropped.
        if pending is not None:
            span.add(pending)
            if span.count % 512 == 1 and time.monotonic() > deadline:
                return None
        pending = packet
    if pending is not None and (pending.size or pending.pts is not None or pending.dts is not None):
        span.add(pending)  # not a flush packet after all
    return span


def _frac(x: Any) -> Fraction | None:
    if x is None:
        return None
    f = Fraction(x)
    return f if f > 0 else None


def probe_video(source: str | os.PathLike[str] | bytes, *, scan: bool = True,
                time_budget_s: float = SCAN_BUDGET_S, max_bytes: int | None = None) -> VideoFacts | MediaError:
    """Container facts of a video file (a path) or of video bytes (a decoded data URI), equal to
    torchcodec's `VideoDecoder(path).metadata`.

    `scan=True` (default) reads every packet header, as torchcodec's default exact mode does: I/O
    proportional to the file, no decoding.  Errors: the file codes of `probe_image`, plus
    `no-video-backend` (PyAV missing), `not-a-video`, `corrupt` and `unsupported`.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        problem = check_bytes(data, max_bytes)
        if problem is not None:
            return problem
        return _fast_or_pyav(None, io.BytesIO(data), len(data), sniff_format(data[:SNIFF_BYTES]), scan, time_budget_s)
    opened = open_regular(source, max_bytes=max_bytes)
    if isinstance(opened, MediaError):
        return opened
    fp, st = opened
    p = os.fspath(source)
    try:
        return _fast_or_pyav(p, fp, st.st_size, sniff_format(fp.read(SNIFF_BYTES)), scan, time_budget_s)
    except OSError as e:
        return MediaError("unreadable", f"read error: {e}", path=p)
    finally:
        fp.close()


def _fast_or_pyav(p: str | None, fp: Any, size: int, sniffed: Any, scan: bool,
                  budget: float) -> VideoFacts | MediaError:
    """The sample-table fast path when it answers, else the PyAV path (`p` None: in-memory bytes)."""
    if scan:
        fast = _from_tables(fp, size, sniffed)
        if fast is not None:
            return fast
    try:
        import av  # optional dependency: qwenlint[video]
    except ImportError:
        return MediaError("no-video-backend", "PyAV is not installed: install qwenlint[video]", path=p)
    return _probe(av, p, fp, size, sniffed, scan, budget)


def probe_video_file(fp: Any, name: str, size: int | None, reopen: Any, *,
                     time_budget_s: float = SCAN_BUDGET_S) -> VideoFacts | MediaError:
    """Video facts from an open, seekable binary file (a URL's, read by byte range), never reading
    the whole file: an H.264 MP4 / QuickTime inside `_movscan.py`'s envelope from its `moov` box
    alone (exact: the same facts as the local file gives); anything else from the container header
    through PyAV on a second file object from ``reopen()`` (no packet scan: ``exact=False``, the
    header's counts, as ``scan=False`` gives for a local file)."""
    if not size:
        return MediaError("empty", "the object is empty (0 bytes)", path=name)
    fp.seek(0)
    sniffed = sniff_format(fp.read(SNIFF_BYTES))
    fast = _from_tables(fp, size, sniffed)
    if fast is not None:
        return fast
    try:
        import av  # optional dependency: qwenlint[video]
    except ImportError:
        return MediaError("no-video-backend", "PyAV is not installed: install qwenlint[video]", path=name)
    opened = reopen()
    if isinstance(opened, MediaError):
        return opened
    second = opened[0]
    try:
        facts = _probe(av, None, second, size, sniffed, False, time_budget_s, rotation_fp=fp)
    finally:
        second.close()
    if isinstance(facts, VideoFacts):
        from dataclasses import replace

        return replace(facts, note="read by byte range: header values, no packet scan (it would read "
                                   "the whole video)")
    return MediaError(facts.code, facts.message, path=name) if facts.path is None else facts


def _displayed(width: int | None, height: int | None, rotation: float | None) -> tuple[int | None, int | None]:
    """The decoded frame size: swapped for a display rotation of +-90 degrees, as torchcodec does."""
    if rotation is not None and int(round(rotation / 90.0)) * 90 in (90, -90):
        return height, width
    return width, height


def _span_rate(n: int, begin: int, end: int, tb: Fraction) -> tuple[float, float | None, Fraction | None]:
    """torchcodec's exact-mode duration_seconds and average_fps (as a float and as a fraction) from
    the packets' span; the rates are None for a zero span (torchcodec then uses the header rate)."""
    span = _seconds(end, tb) - _seconds(begin, tb)
    if span == 0.0:
        return span, None, None
    return span, n / span, Fraction(n) / ((end - begin) * tb)


def _from_tables(fp: Any, size: int, sniffed: Any) -> VideoFacts | None:
    """The fast path: an H.264 MP4 / QuickTime file's scan result from its sample tables
    (`_movscan.py`), or None when the file is outside that module's envelope."""
    if sniffed is None or sniffed.name not in ("mp4", "mov"):
        return None
    scanned = scan_mp4(fp, size)
    if isinstance(scanned, str):
        return None
    n = scanned.num_frames
    span, fps_f, fps = _span_rate(n, scanned.begin, scanned.end, scanned.time_base)
    if fps_f is None:
        return None  # torchcodec falls back to the header rate: leave that to the PyAV path
    w, h = _displayed(scanned.width, scanned.height, scanned.rotation)
    return VideoFacts(num_frames=n, fps=fps, fps_float=fps_f,
                      width=w, height=h, duration_s=span, rotation=scanned.rotation, codec="h264",
                      container=MOV_DEMUXER, exact=True, coded_width=scanned.width, coded_height=scanned.height,
                      num_frames_header=n, fps_header=scanned.fps_header, avg_frame_rate=scanned.avg_frame_rate,
                      # inside _movscan's envelope the media duration is the sum of the sample durations
                      stream_duration_s=span,
                      has_audio=scanned.has_audio, stream_index=scanned.stream_index, file_size=size)


def opencv_header_counts(f: VideoFacts) -> tuple[int, float]:
    """``(CAP_PROP_FRAME_COUNT, CAP_PROP_FPS)`` as OpenCV's FFmpeg backend reads them from the
    header (``cap_ffmpeg_impl.hpp``): the stream's ``nb_frames``, or, when the container stores none
    (Matroska, WebM), ``floor(duration * fps + 0.5)`` with the format's duration; the stream's
    ``avg_frame_rate``.  0 when neither is known."""
    fps = float(f.avg_frame_rate) if f.avg_frame_rate else float(f.fps_float or 0)
    n = f.num_frames_header or 0
    if not n and f.container_duration_s and fps > 0:
        n = int(f.container_duration_s * fps + 0.5)
    return n, fps


def opencv_counts(f: VideoFacts) -> tuple[int, float, str | None]:
    """``(frames, fps, doubt)`` as vLLM's OpenCV decoder reads them (its default video decoder).

    The header's counts (:func:`opencv_header_counts`); vLLM's ``get_video_metadata`` then seeks to
    the end and takes the presentable count when it is more than one frame short of that (an MP4
    edit list hiding frames): modelled as the packet scan's count.  ``doubt`` says why the result may differ from OpenCV's (a variable frame rate, where
    OpenCV's estimates and positions follow timestamps, not frames), else None.
    """
    n, fps = opencv_header_counts(f)
    if f.num_frames and (not n or n > f.num_frames + 1):
        n = f.num_frames
    doubt = None
    # The rate from packet timestamps is only as exact as they are: Matroska / WebM store
    # milliseconds, so a clip of n frames measures its duration to about 1 ms (a 1-frame 29.97 fps
    # clip reads as 30.3 fps).  A difference beyond that, and beyond 1 %, is a variable rate.
    slack = 0.01 + (0.001 * fps / f.num_frames if f.num_frames else 0.0)
    if f.fps_float and fps and abs(f.fps_float - fps) > slack * fps:
        doubt = (f"variable frame rate ({f.fps_float:.3g} fps over the stream, {fps:.3g} in the header): "
                 "OpenCV's frame count may differ")
    return n, fps, doubt


def _probe(av: Any, p: str | None, fp: Any, size: int, sniffed: Any, scan: bool,
           budget: float, rotation_fp: Any = None) -> VideoFacts | MediaError:
    bad = "corrupt" if sniffed is not None and sniffed.kind == "video" else "not-a-video"
    try:
        # "file:" makes FFmpeg treat the name as a plain file (no protocol such as "concat:" or "http:").
        if p is None:
            fp.seek(0)
            container = av.open(fp, mode="r", metadata_errors="replace")
        else:
            container = av.open("file:" + os.path.abspath(p), mode="r", metadata_errors="replace")
    except av.FFmpegError as e:
        return MediaError(bad, f"FFmpeg cannot open it: {e}", path=p)
    except Exception as e:
        return MediaError(bad, f"{type(e).__name__}: {e}", path=p)
    try:
        try:
            stream = container.streams.best("video")
        except Exception:
            stream = None
        if stream is None:
            if len(container.streams.audio) == 0:
                return MediaError(bad, "no video or audio stream (truncated, or not a video)", path=p)
            return MediaError("not-a-video", "no video stream in the container (audio only)", path=p)
        cc = stream.codec_context
        if cc is None:
            return MediaError("unsupported", "no decoder for this video codec in FFmpeg", path=p)
        fmt = container.format.name if container.format is not None else "?"
        rotation = None
        if "mp4" in fmt or "mov" in fmt:
            # In-memory input: PyAV reads `fp` itself, so parse a separate view of the bytes.
            view = rotation_fp if rotation_fp is not None else (
                io.BytesIO(fp.getvalue()) if p is None else fp)
            rotation = mp4_display_rotation(view, int(stream.id))
        coded_w, coded_h = int(cc.width or 0) or None, int(cc.height or 0) or None
        w, h = _displayed(coded_w, coded_h, rotation)
        tb = Fraction(stream.time_base) if stream.time_base else None
        r_rate = _frac(stream.base_rate)
        header_n, header_fps, header_dur = _header_values(stream, container)
        common: dict[str, Any] = dict(
            width=w, height=h, rotation=rotation, codec=cc.name, container=fmt,
            coded_width=coded_w, coded_height=coded_h,
            num_frames_header=int(stream.frames) if stream.frames else None,
            fps_header=r_rate, avg_frame_rate=_frac(stream.average_rate),
            container_duration_s=container.duration / 1_000_000 if container.duration else None,
            stream_duration_s=float(stream.duration * tb) if stream.duration is not None and tb else None,
            has_audio=len(container.streams.audio) > 0, stream_index=int(stream.index), file_size=size,
        )
        note = None
        if scan and tb is not None:
            try:
                scanned = _scan(container, stream, time.monotonic() + budget)
            except av.FFmpegError as e:
                return MediaError("corrupt", f"reading packets failed (torchcodec raises here too): {e}", path=p)
            if scanned is not None:
                n, nopts = scanned.count, scanned.nopts
                begin = scanned.begin if scanned.begin is not None else 0
                end = scanned.end if scanned.end is not None else 0
                if n == 0:
                    # torchcodec raises here (its post-scan seek fails), and no sampler can use 0 frames.
                    return MediaError("corrupt", "the video stream has no packets (truncated?)", path=p)
                span, fps_f, fps = _span_rate(n, begin, end, tb)
                if fps_f is None:
                    fps_f, fps = header_fps, r_rate
                return VideoFacts(num_frames=n, fps=fps, fps_float=fps_f, duration_s=span, exact=True,
                                  note="packets without timestamps" if nopts else None, **common)
            if header_n is None:
                return MediaError("timeout", f"packet scan ran past {budget:g} s and the header has no frame count",
                                  path=p)
            note = f"packet scan stopped after {budget:g} s: header estimate"
        elif scan:
            note = "no stream time base: header estimate"
        return VideoFacts(num_frames=header_n, fps=r_rate if header_fps is not None else None, fps_float=header_fps,
                          duration_s=header_dur, exact=False, note=note or "header estimate (scan=False)", **common)
    except av.FFmpegError as e:
        return MediaError(bad, f"FFmpeg: {e}", path=p)
    except Exception as e:
        return MediaError(bad, f"{type(e).__name__}: {e}", path=p)
    finally:
        container.close()
