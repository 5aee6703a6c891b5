"""vLLM's video metadata: qwenlint's `opencv_counts` against real OpenCV on the same files.

vLLM decodes ``video_url`` inputs with OpenCV by default and samples from OpenCV's frame count and
rate (``CAP_PROP_FRAME_COUNT``, ``CAP_PROP_FPS``), replacing the count by the position an
end-of-stream seek reports when that is more than one frame lower (an MP4 edit list hiding
frames).  vLLM itself cannot run here; OpenCV can (``opencv-python-headless``, in the ``diff``
extra).  OpenCV runs in a subprocess, which imports nothing else: its bundled FFmpeg libraries
must not meet torchcodec's or PyAV's in one process.

Files with a variable frame rate are left out of the comparison: for those `opencv_counts` says
it may differ (its ``doubt``), and docs/token-math.md says so too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "media"))
from mediasynth import have_av, make_video  # noqa: E402

from qwenlint.media import VideoFacts, probe_video  # noqa: E402
from qwenlint.media.video import opencv_counts  # noqa: E402

pytestmark = pytest.mark.differential

# What vLLM's OpenCV decoder reads from each file named on the command line, as JSON lines.
_READER = r"""
import io, json, sys
import cv2
for path in sys.argv[1:]:
    cap = cv2.VideoCapture(io.BytesIO(open(path, "rb").read()), cv2.CAP_FFMPEG, [])
    if not cap.isOpened():
        print(json.dumps(None)); continue
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = cap.get(cv2.CAP_PROP_FPS)
    if count > 0 and cap.set(cv2.CAP_PROP_POS_AVI_RATIO, 1.0):
        seen = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
        if not cap.grab() and 0 < seen < count - 1:
            count = seen
    print(json.dumps([count, fps]))
"""


def _opencv_ok() -> bool:
    proc = subprocess.run([sys.executable, "-c", "import cv2"], capture_output=True)
    if proc.returncode != 0 and os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
        raise ImportError(f"QWENLINT_REQUIRE_DIFF=1 but OpenCV cannot be imported: {proc.stderr.decode()[-300:]}")
    return proc.returncode == 0


if not (have_av() and _opencv_ok()):
    pytest.skip("needs PyAV and opencv-python-headless (the diff extra)", allow_module_level=True)


def _opencv(paths: list[str]) -> list[list | None]:
    proc = subprocess.run([sys.executable, "-c", _READER, *paths], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _compare(paths: list[str]) -> int:
    """Assert agreement on every constant-rate file; the number of files compared."""
    compared = 0
    for path, real in zip(paths, _opencv(paths), strict=True):
        facts = probe_video(path)
        assert isinstance(facts, VideoFacts), (path, facts)
        n, fps, doubt = opencv_counts(facts)
        if doubt is not None:
            continue
        assert real is not None, path
        assert (n, fps) == (real[0], pytest.approx(real[1], rel=1e-9)), (path, facts)
        compared += 1
    return compared


CODECS = {".mp4": ["libx264", "mpeg4"], ".mov": ["libx264", "mjpeg"], ".mkv": ["libx264", "mpeg4"],
          ".webm": ["libvpx-vp9"], ".avi": ["mpeg4", "mjpeg"]}
specs = st.tuples(st.sampled_from(sorted(CODECS)), st.integers(0, 1), st.integers(1, 12).map(lambda k: 16 * k),
                  st.integers(1, 9).map(lambda k: 16 * k),
                  st.sampled_from([Fraction(30000, 1001), Fraction(24000, 1001), 24, 25, 30, 50, 60, 2,
                                   Fraction(25, 2), 15]),
                  st.integers(1, 150), st.integers(0, 2))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(batch=st.lists(specs, min_size=6, max_size=6))
def test_frame_count_and_rate_equal_opencv(tmp_path_factory, batch) -> None:
    d = tmp_path_factory.mktemp("v")
    paths = []
    for i, (ext, which, w, h, fps, frames, bframes) in enumerate(batch):
        codecs = CODECS[ext]
        codec = codecs[which % len(codecs)]
        path = str(d / f"{i}{ext}")
        pix = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        make_video(path, w, h, fps, frames, codec=codec, pix_fmt=pix, bframes=bframes if codec == "libx264" else 0)
        paths.append(path)
    assert _compare(paths) == len(paths)  # PyAV writes constant-rate files: every one is compared


FFMPEG = shutil.which("ffmpeg")


@pytest.mark.skipif(FFMPEG is None, reason="no ffmpeg command")
def test_edit_list_trim_and_variable_rate(tmp_path) -> None:
    """A lossless ``-ss`` trim keeps hidden frames behind an edit list: OpenCV's header count is
    too high and vLLM takes the seek position, which equals the packet scan's count.  A
    variable-rate Matroska file is where OpenCV's estimate is off: `opencv_counts` says so."""
    src, trim, vfr = (str(tmp_path / n) for n in ("src.mp4", "trim.mp4", "vfr.mkv"))
    lavfi = ["-f", "lavfi", "-i", "testsrc=size=96x64:rate=30000/1001:duration=3.04"]
    run = [FFMPEG, "-v", "error", "-y"]
    subprocess.run([*run, *lavfi, "-c:v", "libx264", "-bf", "2", src], check=True, timeout=60)
    subprocess.run([*run, "-ss", "1.0", "-i", src, "-c", "copy", trim], check=True, timeout=60)
    subprocess.run([*run, *lavfi, "-c:v", "libx264", "-bf", "0", "-vf", "setpts='if(gt(N,20),PTS+3*N,PTS)'",
                    "-fps_mode", "vfr", vfr], check=True, timeout=60)
    facts = probe_video(trim)
    assert facts.num_frames_header > facts.num_frames + 1  # the hidden lead-in is still in the file
    assert _compare([src, trim]) == 2
    assert opencv_counts(probe_video(vfr))[2] is not None
