from __future__ import annotations

from pathlib import Path
import base64
from fractions import Fraction

import pytest

from qwenlint.media import FactsCache, MediaError, VideoFacts, classify_source, probe_source, probe_video

from mediasynth import make_video, needs_av

pytestmark = needs_av


def _facts(x) -> VideoFacts:
    assert isinstance(x, VideoFacts), x
    return x


@pytest.mark.parametrize(("fps", "frames", "ext"), [
    (24, 48, "mp4"), ("30000/1001", 31, "mp4"), ("24000/1001", 146, "mp4"), (25, 13, "mkv"),
    ("359/12", 27, "avi"), (2, 5, "mp4"), ("60000/1001", 7, "mov"),
])
def test_frame_rates(tmp_path, fps, frames: int, ext: str) -> None:
    p = make_video(str(tmp_path / f"v.{ext}"), 64, 48, Fraction(fps), frames)
    f = _facts(probe_video(p))
    assert f.exact and f.num_frames == frames
    assert f.fps == Fraction(fps)
    assert f.fps_float == pytest.approx(float(Fraction(fps)), rel=1e-12)
    assert (f.width, f.height) == (64, 48) and f.rotation is None and f.codec == "h264"
    assert f.duration_s == pytest.approx(frames / float(Fraction(fps)), rel=1e-9)


def test_acceptance_avi_359_over_12(tmp_path, acceptance_media) -> None:
    """The LLaMA-Factory demo AVI: 320x240, 359/12 fps, 270 frames (realworld/lf-mllm-video-demo)."""
    if acceptance_media is None:
        pytest.skip("acceptance media.py not available")
    p = str(tmp_path / "2.avi")
    acceptance_media.synth_video(p, 320, 240, "359/12", frames=270)
    f = _facts(probe_video(p))
    assert (f.num_frames, f.fps, f.width, f.height, f.container) == (270, Fraction(359, 12), 320, 240, "avi")
    assert f.fps_float == pytest.approx(359 / 12, rel=1e-12)


def test_webm_average_fps_is_from_packet_span_not_header(tmp_path) -> None:
    """Matroska stores ms timestamps: torchcodec's average_fps is frames / span, not 30000/1001."""
    p = make_video(str(tmp_path / "v.webm"), 32, 32, Fraction(30000, 1001), 13, codec="libvpx-vp9")
    f = _facts(probe_video(p))
    assert f.num_frames == 13 and f.num_frames_header is None
    assert f.fps_header == Fraction(30000, 1001)
    assert f.fps == Fraction(13, 1) / Fraction(433, 1000) and f.fps_float == 13 / 0.433


@pytest.mark.parametrize(("w", "h"), [(33, 17), (15, 31), (1, 2)])
def test_odd_sizes(tmp_path, w: int, h: int) -> None:
    p = make_video(str(tmp_path / "odd.mp4"), w, h, 10, 4, pix_fmt="yuv444p")
    f = _facts(probe_video(p))
    assert (f.width, f.height, f.num_frames) == (w, h, 4)


@pytest.mark.parametrize(("degrees", "swapped"), [(90, True), (-90, True), (180, False), (0, False)])
def test_rotation_swaps_size(tmp_path, degrees: int, swapped: bool) -> None:
    p = make_video(str(tmp_path / "r.mp4"), 64, 48, 25, 5, rotation=degrees)
    f = _facts(probe_video(p))
    assert (f.coded_width, f.coded_height) == (64, 48)
    assert (f.width, f.height) == ((48, 64) if swapped else (64, 48))
    if degrees == 0:
        assert f.rotation is None
    else:
        assert f.rotation is not None and abs(abs(f.rotation) - abs(degrees)) < 1e-6


def test_bframes_and_audio(tmp_path) -> None:
    p = make_video(str(tmp_path / "b.mp4"), 64, 48, 30, 40, bframes=3, audio=True)
    f = _facts(probe_video(p))
    assert f.num_frames == 40 and f.has_audio and f.fps == 30


def test_header_mode(tmp_path) -> None:
    p = make_video(str(tmp_path / "h.mp4"), 64, 48, Fraction(24000, 1001), 20)
    f = _facts(probe_video(p, scan=False))
    assert not f.exact and f.num_frames == 20 and f.fps == Fraction(24000, 1001)
    assert f.fps_float == 24000 / 1001
    p = make_video(str(tmp_path / "h.mkv"), 64, 48, 25, 20)
    f = _facts(probe_video(p, scan=False))
    assert not f.exact and f.num_frames_header is None
    assert f.num_frames == int(25.0 * f.duration_s)  # torchcodec approximate: int(fps * duration)


def test_scan_time_budget_falls_back_to_header(tmp_path) -> None:
    # MPEG-4 Part 2: outside the H.264 sample-table fast path, so PyAV scans (and times out)
    p = make_video(str(tmp_path / "t.mp4"), 32, 32, 25, 600, codec="mpeg4")
    f = _facts(probe_video(p, time_budget_s=-1.0))
    assert not f.exact and f.num_frames == 600 and "stopped" in (f.note or "")


def test_data_uri_video_and_cache(tmp_path) -> None:
    p = make_video(str(tmp_path / "d.mp4"), 32, 32, 25, 10)
    uri = "data:video/mp4;base64," + base64.b64encode(Path(p).read_bytes()).decode()
    f = _facts(probe_source(classify_source(uri), "video"))
    assert f.num_frames == 10
    cache = FactsCache()
    src = classify_source("d.mp4", tmp_path)
    a = probe_source(src, "video", cache=cache)
    b = probe_source(src, "video", cache=cache)
    assert a is b and cache.hits == 1 and cache.misses == 1
    assert isinstance(probe_source(classify_source("https://x/y.mp4"), "video"), MediaError)


def test_scan_timeout_without_header_count_is_an_error(tmp_path) -> None:
    p = make_video(str(tmp_path / "t.webm"), 32, 32, 25, 5, codec="libvpx-vp9")
    r = probe_video(p, time_budget_s=-1.0)
    # WebM stores no frame count: header mode still estimates int(fps * duration) like torchcodec
    assert (isinstance(r, VideoFacts) and not r.exact) or (isinstance(r, MediaError) and r.code == "timeout")


def test_rotated_video_from_bytes(tmp_path) -> None:
    p = make_video(str(tmp_path / "r.mp4"), 64, 48, 25, 30, rotation=90)
    a = _facts(probe_video(p))
    b = _facts(probe_video(Path(p).read_bytes()))
    assert (a.num_frames, a.width, a.height, a.rotation, a.fps) == (b.num_frames, b.width, b.height, b.rotation, b.fps)


def test_non_utf8_metadata_is_not_corruption(tmp_path) -> None:
    """A tag with invalid UTF-8 (FFmpeg and torchcodec read it as bytes) must not make the PyAV
    path call the file corrupt."""
    import av

    src = make_video(str(tmp_path / "m.mkv"), 32, 32, 25, 5)
    tagged = str(tmp_path / "tagged.mkv")
    with av.open(src) as inp, av.open(tagged, "w") as out:
        out.metadata["title"] = "QWENLINTMARK"
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    data = Path(tagged).read_bytes()
    assert b"QWENLINTMARK" in data
    Path(tagged).write_bytes(data.replace(b"QWENLINTMARK", b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4"))
    assert _facts(probe_video(tagged)).num_frames == 5
