"""probe_video against torchcodec's real `VideoDecoder(path).metadata` (what qwen-vl-utils 0.0.14
and transformers 5.23 read), on hypothesis-generated small videos.

Skipped when torchcodec cannot be imported, unless QWENLINT_REQUIRE_DIFF=1 (then it fails).
QWENLINT_DIFF_EXAMPLES sets the number of generated videos (default 30).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.media import ImageFacts, VideoFacts, classify_source, parse_data_uri, probe_image, probe_video
from qwenlint.media.datauri import DataURI

from mediasynth import have_av, make_image, make_video, moov_mutation, moov_span, overwrite

pytestmark = [pytest.mark.differential,
              pytest.mark.skipif(not have_av(), reason="PyAV not installed (qwenlint[video])")]

WORKER = os.path.join(os.path.dirname(__file__), "torchcodec_worker.py")
REQUIRE = os.environ.get("QWENLINT_REQUIRE_DIFF") == "1"
EXAMPLES = int(os.environ.get("QWENLINT_DIFF_EXAMPLES", "30"))


class TorchCodec:
    """A long-lived worker process answering torchcodec metadata queries."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        hello = json.loads(self.proc.stdout.readline() or '{"ok": false, "error": "worker died"}')
        self.ok: bool = hello["ok"]
        self.error: str = hello.get("error", "")
        self.versions: dict[str, str] = hello.get("versions", {})

    def ask(self, request: dict) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline() or '{"error": "worker died"}')

    def metadata(self, path: str, seek_mode: str = "exact", cwd: str | None = None) -> dict:
        return self.ask({"path": path, "seek_mode": seek_mode, "cwd": cwd})

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def torchcodec():
    tc = TorchCodec()
    if not tc.ok:
        tc.close()
        if REQUIRE:
            pytest.fail(f"QWENLINT_REQUIRE_DIFF=1 but torchcodec is unusable: {tc.error}")
        pytest.skip(f"torchcodec unusable: {tc.error}")
    yield tc
    tc.close()


def _same_ffmpeg(tc: TorchCodec) -> bool:
    """PyAV and torchcodec link the same libavformat major version (then timestamps agree bit for bit)."""
    import av

    ours = av.library_versions.get("libavformat", (None,))[0]
    theirs = tc.versions.get("libavformat", "")
    return str(theirs).strip("()[] ").split(",")[0].split(".")[0] == str(ours)


def _compare(tc: TorchCodec, path: str) -> None:
    real = tc.metadata(path)
    ours = probe_video(path)
    if "error" in real:
        # torchcodec cannot read it: the probe must not claim usable facts either
        assert not isinstance(ours, VideoFacts) or ours.num_frames == 0, (real, ours)
        return
    assert isinstance(ours, VideoFacts), (real, ours)
    assert ours.exact
    assert ours.num_frames == real["num_frames"], (real, ours)
    assert (ours.width, ours.height) == (real["width"], real["height"]), (real, ours)
    real_fps = float.fromhex(real["average_fps"])
    if _same_ffmpeg(tc):
        assert ours.fps_float == real_fps, (real_fps, ours)
    else:
        # Different FFmpeg builds may fill pts differently (e.g. AVI: pts N/A in 5.x, dts+1 in 8.x),
        # which moves the last bit of count / (end - begin).
        assert ours.fps_float == pytest.approx(real_fps, rel=1e-12), (real_fps, ours)
    assert ours.fps is not None and float(ours.fps) == pytest.approx(real_fps, rel=1e-12)
    if real["rotation"] is None:
        assert ours.rotation is None
    else:
        # torchcodec's value for an odd (damaged) matrix can differ in the 7th decimal; only the
        # nearest multiple of 90 degrees (the width/height swap) matters to the consumers.
        assert ours.rotation == pytest.approx(real["rotation"], abs=1e-5)
    # header mode equals torchcodec's seek_mode="approximate".  That mode rests on FFmpeg's
    # r_frame_rate guess, which differs between FFmpeg versions (1 fps MKV: 1 in FFmpeg 5, 2 in
    # FFmpeg 8), so it is only compared on the same FFmpeg.
    if not _same_ffmpeg(tc):
        return
    approx = tc.metadata(path, "approximate")
    head = probe_video(path, scan=False)
    assert isinstance(head, VideoFacts) and "error" not in approx
    assert head.num_frames == approx["num_frames"], (approx, head)
    if approx["average_fps"] is not None:
        assert head.fps_float == float.fromhex(approx["average_fps"])


@pytest.mark.parametrize(("name", "w", "h", "fps", "frames"), [
    ("1.mp4", 640, 360, 25, 243), ("2.avi", 320, 240, "359/12", 270), ("3.mp4", 640, 360, "24000/1001", 146),
])
def test_realworld_llamafactory_demo_videos(tmp_path, torchcodec, acceptance_media, name, w, h, fps, frames) -> None:
    """The three videos of realworld/lf-mllm-video-demo-qwen2.5vl, as the acceptance runner makes them."""
    if acceptance_media is None:
        pytest.skip("acceptance media.py not available")
    p = str(tmp_path / name)
    acceptance_media.synth_video(p, w, h, fps, frames=frames)
    _compare(torchcodec, p)
    ours = probe_video(p)
    assert isinstance(ours, VideoFacts) and ours.num_frames == frames and ours.fps == Fraction(fps)


FPS = st.one_of(
    st.sampled_from([Fraction(x) for x in (1, 2, 15, 24, 25, 30, 50, 60)]
                    + [Fraction(30000, 1001), Fraction(24000, 1001), Fraction(60000, 1001), Fraction(359, 12),
                       Fraction(15, 2)]),
    st.builds(Fraction, st.integers(1, 240), st.integers(1, 1001)).filter(lambda f: Fraction(1, 2) <= f <= 120),
)
SPEC = st.fixed_dictionaries({
    "container": st.sampled_from(["mp4", "mov", "mkv", "webm", "avi"]),
    "fps": FPS,
    "frames": st.integers(1, 60),
    "w": st.integers(1, 48).map(lambda x: 2 * x),
    "h": st.integers(1, 48).map(lambda x: 2 * x),
    "bframes": st.sampled_from([0, 0, 2]),
    "rotation": st.sampled_from([None, None, 90, 180, -90]),
    "audio": st.booleans(),
})


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=SPEC)
def test_probe_video_equals_torchcodec(tmp_path, torchcodec, spec) -> None:
    container = spec["container"]
    codec = "libvpx-vp9" if container == "webm" else "libx264"
    rotation = spec["rotation"] if container in ("mp4", "mov") else None
    path = str(tmp_path / f"h.{container}")
    make_video(path, spec["w"], spec["h"], spec["fps"], spec["frames"], codec=codec,
               bframes=spec["bframes"] if codec == "libx264" else 0, rotation=rotation,
               audio=spec["audio"] and container in ("mp4", "mov", "mkv"))
    _compare(torchcodec, path)


def test_video_file_url_is_opened_by_ffmpeg_as_absolute(tmp_path, torchcodec) -> None:
    """`file://rel.mp4` under torchcodec opens /rel.mp4 (sources.py): check the claim on the real thing."""
    make_video(str(tmp_path / "v.mp4"), 32, 32, 25, 5)
    rel = classify_source("file://v.mp4", tmp_path)
    assert rel.video_resolved == "/v.mp4" and rel.resolved == str(tmp_path / "v.mp4")
    assert "error" in torchcodec.metadata("file://v.mp4", cwd=str(tmp_path))
    absolute = "file://" + str(tmp_path / "v.mp4").lstrip("/")  # file://tmp/.../v.mp4
    assert torchcodec.metadata(absolute, cwd=str(tmp_path))["num_frames"] == 5
    assert classify_source(absolute, tmp_path).video_resolved == str(tmp_path / "v.mp4")


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_transformers_load_image_size_is_transposed_size(tmp_path, torchcodec, orientation: int) -> None:
    p = make_image(str(tmp_path / "o.jpg"), 40, 30, exif_orientation=orientation)
    facts = probe_image(p)
    assert isinstance(facts, ImageFacts)
    real = torchcodec.ask({"op": "hf_image", "src": p})
    assert "error" not in real, real
    assert tuple(real["size"]) == facts.transposed_size


@pytest.mark.parametrize("header", ["data:image/png;base64,", "data:image;base64,", "data:image/jpeg;base64,"])
def test_data_uri_acceptance_flags_match_real_loaders(torchcodec, header: str) -> None:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (6, 4)).save(buf, format="PNG")
    uri = header + base64.b64encode(buf.getvalue()).decode()
    info = parse_data_uri(uri)
    assert isinstance(info, DataURI)
    hf = torchcodec.ask({"op": "hf_image", "src": uri})
    qvu = torchcodec.ask({"op": "qvu_image", "src": uri})
    assert ("error" not in hf) is info.transformers_accepts, hf
    assert ("error" not in qvu) is info.qwen_vl_utils_accepts, qvu
    if "error" not in hf:
        assert tuple(hf["size"]) == (6, 4)


FFMPEG_CASES = {
    # name: ffmpeg output arguments after a 2.4 s testsrc input (and a sine audio input)
    "faststart.mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"],
    "fragmented.mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "frag_keyframe+empty_moov"],
    "bframes_audio.mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-c:a", "aac"],
    "mpeg4.avi": ["-c:v", "mpeg4", "-q:v", "10"],
    "mjpeg.avi": ["-c:v", "mjpeg"],
    "stream.ts": ["-c:v", "libx264", "-preset", "ultrafast"],
    "hevc.mkv": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none"],
    "vp8.webm": ["-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libvorbis"],
    "vfr.mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-vf", "setpts='if(gt(N,20),PTS+3*N,PTS)'",
                "-fps_mode", "vfr"],
    "copy.mov": ["-c:v", "libx264", "-preset", "ultrafast", "-f", "mov"],
    "offset_start.mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-output_ts_offset", "1.5"],
}


@pytest.mark.parametrize("name", sorted(FFMPEG_CASES))
def test_ffmpeg_made_containers(tmp_path, torchcodec, name: str) -> None:
    """Containers PyAV's synthesiser does not make: faststart/fragmented MP4, MPEG-4 Part 2 and MJPEG
    AVI, MPEG-TS, HEVC, VP8 + Vorbis, variable frame rate, QuickTime, a start offset."""
    import shutil

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("no ffmpeg command")
    out = str(tmp_path / name)
    cmd = [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=30000/1001:duration=2.4",
           "-f", "lavfi", "-i", "sine=frequency=440:duration=2.4", "-shortest"]
    args = FFMPEG_CASES[name]
    if "-c:a" not in args:
        cmd += ["-map", "0:v"]
    proc = subprocess.run(cmd + args + [out], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip(f"this ffmpeg cannot make {name}: {proc.stderr.strip()[-200:]}")
    _compare(torchcodec, out)


def test_rotate_tag_written_by_ffmpeg(tmp_path, torchcodec) -> None:
    """A display matrix written by the ffmpeg CLI (stream copy with a rotate tag), read by both sides."""
    import shutil

    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("no ffmpeg command")
    src = make_video(str(tmp_path / "src.mp4"), 64, 48, 25, 10)
    out = str(tmp_path / "rot.mp4")
    proc = subprocess.run([ffmpeg, "-v", "error", "-y", "-i", src, "-c", "copy", "-metadata:s:v", "rotate=90", out],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip(f"this ffmpeg cannot write a rotate tag: {proc.stderr.strip()[-200:]}")
    real = torchcodec.metadata(out)
    ours = probe_video(out)
    assert isinstance(ours, VideoFacts) and real["rotation"] is not None
    assert ours.rotation == pytest.approx(real["rotation"]) and (ours.width, ours.height) == (48, 64)
    _compare(torchcodec, out)


@pytest.fixture(scope="module")
def h264_seeds(tmp_path_factory) -> dict[str, bytes]:
    """H.264 MP4s inside the sample-table fast path, one per edit-list / B-frame shape."""
    d = tmp_path_factory.mktemp("h264")
    shapes = {"bf0.mp4": dict(fps=30, frames=9), "bf2.mp4": dict(fps=30, frames=31, bframes=2),
              "bf3_ntsc.mov": dict(fps=Fraction(30000, 1001), frames=20, bframes=3),
              "bf2_rot.mp4": dict(fps=25, frames=12, bframes=2, rotation=90)}
    return {name: open(make_video(str(d / name), 32, 24, **kw), "rb").read() for name, kw in shapes.items()}


@settings(max_examples=max(EXAMPLES * 2, 40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["bf0.mp4", "bf2.mp4", "bf3_ntsc.mov", "bf2_rot.mp4"]), mutation=moov_mutation())
def test_damaged_moov_fast_path_equals_torchcodec(tmp_path, torchcodec, h264_seeds, name, mutation) -> None:
    """Bytes of the moov overwritten (sample tables, edit list, timescales, SPS...): whenever the MP4
    fast path still answers, torchcodec must read the same count, rate and size."""
    import io

    from qwenlint.media._movscan import scan_mp4

    data = overwrite(h264_seeds[name], moov_span(h264_seeds[name]), mutation)
    if isinstance(scan_mp4(io.BytesIO(data), len(data)), str):
        return  # stepped aside: the PyAV path (compared above) answers instead
    path = tmp_path / name
    path.write_bytes(data)
    _compare(torchcodec, str(path))
