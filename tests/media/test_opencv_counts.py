"""`opencv_counts`: when the frame count vLLM's OpenCV decoder reads may differ, it says so."""

from __future__ import annotations

from fractions import Fraction

import pytest
from mediasynth import have_av, make_video

from qwenlint.media import VideoFacts, probe_video
from qwenlint.media.video import opencv_counts

pytestmark = pytest.mark.skipif(not have_av(), reason="needs PyAV")


def _variable_rate_mkv(path: str) -> str:
    """40 ms between the first ten frames, 120 ms between the next ten, in a 25 fps stream."""
    import av
    import numpy as np

    with av.open(path, mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast", "bf": "0"}
        t = 0
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 128, np.uint8), format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            t += 40 if i < 10 else 120
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def test_a_variable_rate_is_a_doubt(tmp_path) -> None:
    facts = probe_video(_variable_rate_mkv(str(tmp_path / "vfr.mkv")))
    assert isinstance(facts, VideoFacts)
    assert opencv_counts(facts)[2] is not None


@pytest.mark.parametrize("ext,codec", [(".mkv", "libx264"), (".webm", "libvpx-vp9"), (".avi", "mpeg4")])
@pytest.mark.parametrize("frames", [1, 2, 3, 30])
def test_a_constant_rate_is_not_a_doubt_even_with_millisecond_timestamps(tmp_path, ext, codec, frames) -> None:
    """A 1-frame 29.97 fps Matroska clip measures 30.3 fps from its millisecond timestamps."""
    facts = probe_video(make_video(str(tmp_path / f"v{ext}"), 16, 16, Fraction(30000, 1001), frames, codec=codec))
    assert isinstance(facts, VideoFacts)
    assert opencv_counts(facts)[2] is None
