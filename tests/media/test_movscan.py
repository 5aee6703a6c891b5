"""The MP4 sample-table fast path (`_movscan.py`, `_h264.py`) against the PyAV packet scan it replaces.

The PyAV scan is itself checked against torchcodec in test_differential.py; here the fast path must
(a) answer for the files it is meant for, (b) equal the PyAV scan bit for bit whenever it answers,
including on damaged `moov` boxes, and (c) step aside, with a reason, for the rest.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qwenlint.media import MediaError, VideoFacts, probe_video
from qwenlint.media._h264 import parse_sps, unescape
from qwenlint.media._movscan import MovScan, scan_mp4
from qwenlint.media.sniff import sniff_format
from qwenlint.media.video import _from_tables, _probe

from mediasynth import have_av, make_video, moov_mutation, moov_span, overwrite

pytestmark = pytest.mark.skipif(not have_av(), reason="PyAV not installed (qwenlint[video])")
EXAMPLES = int(os.environ.get("QWENLINT_DIFF_EXAMPLES", "30"))
FIELDS = ("num_frames", "fps", "fps_float", "width", "height", "duration_s", "rotation", "coded_width",
          "coded_height", "has_audio", "stream_index", "avg_frame_rate", "exact", "container", "codec")


def _pyav(data: bytes) -> VideoFacts | MediaError:
    import av

    return _probe(av, None, io.BytesIO(data), len(data), sniff_format(data[:64]), True, 20.0)


def _fast(data: bytes) -> VideoFacts | None:
    return _from_tables(io.BytesIO(data), len(data), sniff_format(data[:64]))


def _same(fast: VideoFacts, slow: VideoFacts | MediaError) -> None:
    assert isinstance(slow, VideoFacts), (fast, slow)
    for name in FIELDS:
        assert getattr(fast, name) == getattr(slow, name), (name, getattr(fast, name), getattr(slow, name))
    if fast.fps_header is not None:  # None: FFmpeg estimates r_frame_rate, the fast path does not
        assert fast.fps_header == slow.fps_header


def _scan(data: bytes) -> MovScan | str:
    return scan_mp4(io.BytesIO(data), len(data))


# ---------------------------------------------------------------------------------------------
# H.264 SPS


class _BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, v: int) -> _BitWriter:
        self.bits += [(v >> (n - 1 - i)) & 1 for i in range(n)]
        return self

    def ue(self, v: int) -> _BitWriter:
        code = v + 1
        return self.u(code.bit_length() - 1, 0).u(code.bit_length(), code)

    def nal(self, trailing: bool = True) -> bytes:
        bits = self.bits + ([1] if trailing else [])
        bits += [0] * (-len(bits) % 8)
        body = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
        return b"\x67" + body


def _sps(mb_w: int, map_units: int, *, profile: int = 66, chroma: int = 1, frame_mbs_only: int = 1,
         crop: tuple[int, int, int, int] | None = None, timing: tuple[int, int] | None = None,
         trailing: bool = True) -> bytes:
    w = _BitWriter().u(8, profile).u(16, 0).ue(0)
    if profile == 100:
        w.ue(chroma)
        if chroma == 3:
            w.u(1, 0)
        w.ue(0).ue(0).u(1, 0).u(1, 0)
    w.ue(0).ue(2).ue(1).u(1, 0).ue(mb_w - 1).ue(map_units - 1).u(1, frame_mbs_only)
    if not frame_mbs_only:
        w.u(1, 0)
    w.u(1, 1)
    w.u(1, crop is not None)
    for c in crop or ():
        w.ue(c)
    w.u(1, timing is not None)
    if timing is not None:
        w.u(4, 0).u(1, 1).u(32, timing[0]).u(32, timing[1]).u(1, 1).u(1, 0).u(1, 0).u(1, 0).u(1, 0)
    return w.nal(trailing)


@pytest.mark.parametrize(("kwargs", "size"), [
    (dict(mb_w=120, map_units=68, crop=(0, 0, 0, 4)), (1920, 1080)),  # 1088 rows cropped by 4 * 2
    (dict(mb_w=6, map_units=4), (96, 64)),
    (dict(mb_w=7, map_units=5, profile=100, chroma=3, crop=(0, 2, 0, 3)), (110, 77)),  # 4:4:4: unit 1
    (dict(mb_w=7, map_units=5, profile=100, chroma=2, crop=(0, 1, 0, 1)), (110, 79)),  # 4:2:2: 2 x 1
    (dict(mb_w=6, map_units=3, frame_mbs_only=0, crop=(0, 0, 0, 1)), (96, 92)),  # fields: 2 * 2 rows
])
def test_sps_cropped_size(kwargs, size) -> None:
    sps = parse_sps(_sps(**kwargs))
    assert sps is not None and (sps.width, sps.height) == size


def test_sps_frame_rate_and_rejections() -> None:
    sps = parse_sps(_sps(6, 4, timing=(1001, 60000)))
    assert sps is not None and sps.frame_rate == Fraction(30000, 1001) and sps.frames_only
    assert parse_sps(_sps(6, 4, crop=(1, 0, 0, 0))) is None  # left crop: FFmpeg may realign it
    assert parse_sps(_sps(6, 4, crop=(0, 48, 0, 0))) is None  # crops the whole width away
    assert parse_sps(_sps(6, 4, trailing=False)) is None  # no RBSP stop bit where it should be
    assert parse_sps(_sps(6, 4) + b"\x80") is None  # bits after the end
    assert parse_sps(_sps(6, 4)[:3]) is None  # truncated
    assert parse_sps(b"\x68" + _sps(6, 4)[1:]) is None  # a PPS, not an SPS


def test_unescape_emulation_prevention() -> None:
    assert unescape(b"\x00\x00\x03\x01\x00\x00\x03\x00") == b"\x00\x00\x01\x00\x00\x00"
    assert unescape(b"\x01\x02") == b"\x01\x02"


# ---------------------------------------------------------------------------------------------
# generated files: the fast path answers and equals the PyAV scan

SPEC = st.fixed_dictionaries({
    "ext": st.sampled_from(["mp4", "mov"]),
    "fps": st.sampled_from([Fraction(x) for x in (1, 10, 24, 25, 30, 60)]
                           + [Fraction(30000, 1001), Fraction(24000, 1001), Fraction(359, 12)]),
    "frames": st.integers(1, 50),
    "w": st.integers(1, 40).map(lambda x: 2 * x),
    "h": st.integers(1, 40).map(lambda x: 2 * x),
    "bframes": st.sampled_from([0, 2, 3]),
    "rotation": st.sampled_from([None, 90, 180, -90]),
    "audio": st.booleans(),
})


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=SPEC)
def test_pyav_written_h264_takes_the_fast_path_and_equals_the_scan(tmp_path, spec) -> None:
    path = str(tmp_path / f"v.{spec['ext']}")
    make_video(path, spec["w"], spec["h"], spec["fps"], spec["frames"], bframes=spec["bframes"],
               rotation=spec["rotation"], audio=spec["audio"])
    data = open(path, "rb").read()
    scanned = _scan(data)
    assert isinstance(scanned, MovScan), scanned  # these files are what the fast path is for
    fast = _fast(data)
    assert fast is not None
    _same(fast, _pyav(data))
    assert probe_video(path) == fast


FFMPEG = shutil.which("ffmpeg")
SRC = ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=30000/1001:duration=1.04"]
X264 = ["-c:v", "libx264", "-preset", "ultrafast"]
CASES = {
    # name: (ffmpeg arguments after the inputs, None when the fast path answers / the reason it declines)
    "bf0.mp4": (X264 + ["-bf", "0"], None),
    "bf3_faststart.mp4": (X264 + ["-bf", "3", "-movflags", "+faststart"], None),
    "bf2_noeditlist.mp4": (X264 + ["-bf", "2", "-use_editlist", "0"], None),
    "bf0_noeditlist.mp4": (X264 + ["-bf", "0", "-use_editlist", "0"], None),
    "bf2.mov": (X264 + ["-bf", "2"], None),
    "bf2_ts90k.mp4": (X264 + ["-bf", "2", "-video_track_timescale", "90000"], None),
    "ts600_vfr_deltas.mp4": (X264 + ["-bf", "0", "-video_track_timescale", "600"], None),
    "gop10.mp4": (X264 + ["-bf", "2", "-g", "10"], None),
    "yuv422_crop.mp4": (["-vf", "scale=98:70"] + X264 + ["-pix_fmt", "yuv422p", "-bf", "2"], None),
    "interlaced.mp4": (X264 + ["-flags", "+ildct+ilme", "-bf", "0"], None),
    "vfr.mp4": (X264 + ["-bf", "0", "-vf", "setpts='if(gt(N,20),PTS+3*N,PTS)'", "-fps_mode", "vfr"], None),
    "audio.mp4": (["-f", "lavfi", "-i", "sine=duration=1.3"] + X264 + ["-bf", "2", "-c:a", "aac"], None),
    "bf2_ts1000.mp4": (X264 + ["-bf", "2", "-video_track_timescale", "1000"], "variable-rate"),
    "vfr_bframes.mp4": (X264 + ["-bf", "2", "-vf", "setpts='if(gt(N,20),PTS+3*N,PTS)'", "-fps_mode", "vfr"],
                        "variable-rate"),
    "fragmented.mp4": (X264 + ["-movflags", "frag_keyframe+empty_moov"], "fragmented"),
    "negative_cts.mp4": (X264 + ["-bf", "2", "-use_editlist", "0", "-movflags", "negative_cts_offsets"],
                         "negative"),
    "start_offset.mp4": (X264 + ["-bf", "2", "-output_ts_offset", "1.5"], "2 edit list entries"),
    "mpeg4.mp4": (["-c:v", "mpeg4"], "not H.264"),
    "mjpeg.mov": (["-c:v", "mjpeg"], "not H.264"),
}


@pytest.mark.skipif(FFMPEG is None, reason="no ffmpeg command")
@pytest.mark.parametrize("name", sorted(CASES))
def test_ffmpeg_made_files(tmp_path, name: str) -> None:
    args, declines = CASES[name]
    out = str(tmp_path / name)
    proc = subprocess.run([FFMPEG, "-v", "error", "-y", *SRC, *args, "-shortest", out], capture_output=True,
                          text=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip(f"this ffmpeg cannot make {name}: {proc.stderr.strip()[-200:]}")
    data = open(out, "rb").read()
    scanned = _scan(data)
    if declines is None:
        assert isinstance(scanned, MovScan), scanned
        fast = _fast(data)
        assert fast is not None
        _same(fast, _pyav(data))
    else:
        assert isinstance(scanned, str) and declines in scanned, scanned
        assert _fast(data) is None
        slow = _pyav(data)
        assert probe_video(out) == slow or isinstance(slow, MediaError)


def test_truncated_download_takes_the_pyav_path(tmp_path) -> None:
    """moov first, mdat cut short: the real scan stops early, so the fast path must not answer."""
    src = str(tmp_path / "full.mp4")
    make_video(src, 64, 48, 25, 40)
    faststart = str(tmp_path / "fs.mp4")
    if FFMPEG is None:
        pytest.skip("no ffmpeg command")
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", src, "-c", "copy", "-movflags", "+faststart", faststart],
                   check=True, timeout=60)
    data = open(faststart, "rb").read()
    cut = data[: len(data) - 200]
    assert "truncated" in str(_scan(cut))
    slow = _pyav(cut)
    assert isinstance(slow, VideoFacts) and slow.num_frames < 40
    p = tmp_path / "cut.mp4"
    p.write_bytes(cut)
    assert probe_video(str(p)) == slow


# ---------------------------------------------------------------------------------------------
# damaged moov boxes: whenever the fast path still answers, it says what FFmpeg says


def _video_trak_span(data: bytes) -> tuple[int, int]:
    """The byte range of the video `trak` box (mutations there cannot break the audio track)."""
    from qwenlint.media._mp4 import boxes

    start, end = moov_span(data)
    for btype, s, e in boxes(data, start, end):
        if btype == b"trak" and b"vide" in data[s:e]:
            return s, e
    raise AssertionError("no video trak")


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("seeds")
    out = {}
    for name, kw in {"bf2.mp4": dict(bframes=2), "bf0.mov": dict(bframes=0),
                     "rot_bf3.mp4": dict(bframes=3, rotation=90), "audio.mp4": dict(bframes=2, audio=True)}.items():
        out[name] = open(make_video(str(d / name), 48, 32, Fraction(30000, 1001), 31, **kw), "rb").read()
    return out


@settings(max_examples=max(EXAMPLES * 5, 100), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["bf2.mp4", "bf0.mov", "rot_bf3.mp4", "audio.mp4"]), mutation=moov_mutation())
def test_damaged_moov_fast_path_agrees_with_pyav(seed_files, name, mutation) -> None:
    """Bytes of the moov (of the video trak, for the file with audio) overwritten: the fast path may
    step aside, but when it answers, the PyAV scan must read the same facts (not fail)."""
    data = seed_files[name]
    data = overwrite(data, _video_trak_span(data) if name == "audio.mp4" else moov_span(data), mutation)
    fast = _fast(data)
    if fast is not None:
        _same(fast, _pyav(data))


def test_probe_video_needs_no_pyav_for_the_fast_path(tmp_path, monkeypatch) -> None:
    mp4 = make_video(str(tmp_path / "v.mp4"), 32, 32, 25, 10, bframes=2)
    mkv = make_video(str(tmp_path / "v.mkv"), 32, 32, 25, 10)
    expected = probe_video(mp4)
    import builtins

    real_import = builtins.__import__

    def no_av(name, *args, **kwargs):
        if name == "av" or name.startswith("av."):
            raise ImportError("no PyAV here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_av)
    assert probe_video(mp4) == expected and isinstance(expected, VideoFacts) and expected.num_frames == 10
    missing = probe_video(mkv)
    assert isinstance(missing, MediaError) and missing.code == "no-video-backend"


@pytest.mark.parametrize(("box", "offset", "value", "reason"), [
    (b"stsz", 8, 0xFFFFFFFF, "more than"),  # 4 billion samples claimed
    (b"stco", 4, 0x7FFFFFFF, "more table entries"),  # 2 billion chunks claimed in a tiny box
    (b"stts", 4, 0xFFFFFFF0, "more table entries"),
    (b"mdhd", 12, 0x80000000, "timescale"),  # mov.c reads it as a negative int and uses 1
])
def test_hostile_counts_decline_before_allocating(tmp_path, box, offset, value, reason) -> None:
    import struct

    data = bytearray(open(make_video(str(tmp_path / "v.mp4"), 32, 32, 25, 10, bframes=2), "rb").read())
    at = data.find(box) + 4  # payload start (after the 4-byte type)
    struct.pack_into(">I", data, at + offset, value)
    scanned = _scan(bytes(data))
    assert isinstance(scanned, str) and reason in scanned, scanned


# ---------------------------------------------------------------------------------------------
# containers nested deeply: FFmpeg refuses the file ("Atoms too deeply nested"), so must qwenlint


_NESTABLE = [b"udta", b"edts", b"dinf", b"tref", b"sinf", b"schi", b"ilst", b"mdia", b"minf",
             b"stbl", b"moof", b"traf", b"wave", b"meta", b"free", b"mvex", b"trak"]


def _insert_at_end(data: bytes, path: list[tuple[int, int]], payload: bytes) -> bytes:
    """``payload`` appended inside the innermost of ``path`` (boxes as (start, end) byte ranges,
    outermost first), every enclosing box's 32-bit size grown to match."""
    import struct

    end = path[-1][1]
    out = bytearray(data[:end] + payload + data[end:])
    for start, _ in path:
        size = struct.unpack_from(">I", out, start)[0]
        struct.pack_into(">I", out, start, size + len(payload))
    return bytes(out)


@settings(max_examples=max(EXAMPLES * 3, 60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain=st.integers(1, 13).flatmap(lambda n: st.lists(
           st.one_of(st.sampled_from(_NESTABLE[:12]), st.sampled_from(_NESTABLE)), min_size=n, max_size=n)),
       where=st.sampled_from(["moov", "trak"]))
def test_deeply_nested_containers_are_refused_as_ffmpeg_refuses_them(seed_files, chain, where) -> None:
    """A chain of (empty) container boxes inside ``moov`` or the video ``trak``: probe_video gives
    facts exactly when FFmpeg (PyAV's av.open) opens the file.  The fast path used to answer for
    files FFmpeg refuses ("Atoms too deeply nested", 10 levels under moov)."""
    import struct

    import av

    data = seed_files["bf2.mp4"]
    moov = moov_span(data)
    path = [(moov[0] - 8, moov[1])]
    if where == "trak":
        s, e = _video_trak_span(data)
        path.append((s - 8, e))
    nested = b""
    for btype in reversed(chain):
        nested = struct.pack(">I", 8 + len(nested)) + btype + nested
    data = _insert_at_end(data, path, nested)
    try:
        av.open(io.BytesIO(data)).close()
        opened = True
    except av.error.FFmpegError:
        opened = False
    got = probe_video(data)
    event(f"FFmpeg opens it: {opened}")
    assert isinstance(got, VideoFacts) == opened, (chain, where, got)
