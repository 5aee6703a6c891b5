"""qwen-vl-utils 0.0.10's branches, without the real library (tests/differential/
test_vision_qvu_versions.py proves them against it): extract_vision_info's KeyError on a part
without ``type``, and decord as the video reader."""

from __future__ import annotations

import pytest
from packaging.version import Version

from qwenlint.consumers import qwen_vl_utils as consumer
from qwenlint.consumers.versions import resolve
from qwenlint.vision import VideoFacts, VisionError, qvu
from qwenlint.vision.qvu import cause_of


def _versions(release: str):
    return resolve({"qwen-vl-utils": release}, found=({}, ""))


@pytest.mark.parametrize("part, picked, crash_at_0010", [
    ({"text": "hi"}, False, True),
    ({"type": "text", "text": "hi"}, False, False),
    ({"image": "a.jpg"}, True, False),
    ({"video": "a.mp4"}, True, False),
    ({"视频": "a.mp4"}, False, True),
    ({"type": "video", "video": "a.mp4"}, True, False),
])
def test_extraction(part: dict, picked: bool, crash_at_0010: bool) -> None:
    for release in ("0.0.11", "0.0.14"):
        r = consumer.extraction(part, _versions(release))
        assert (r.loaded, r.crash) == (picked, None)
    r = consumer.extraction(part, _versions("0.0.10"))
    assert r.crash == ("KeyError: 'type'" if crash_at_0010 else None)


def test_decord_reader_at_0_0_10() -> None:
    clip = VideoFacts(num_frames=20, fps=10.0, width=64, height=48)
    old, new = Version("0.0.10"), Version("0.0.11")
    # a time range: decord's NotImplementedError, masked by the torchvision fallback
    for options in ({"video_start": 0.5}, {"video_end": None}):
        with pytest.raises(VisionError) as e:
            qvu.fetch_video_file(clip, options, 14, old)
        assert e.value.exc_type == "AttributeError"
        assert cause_of(e.value).exc_type == "NotImplementedError"
        qvu.fetch_video_file(clip, options, 14, new)  # torchcodec honours it
    # frame widths decord 0.6.0 cannot convert
    narrow = VideoFacts(num_frames=20, fps=10.0, width=48, height=48)
    with pytest.raises(VisionError) as e:
        qvu.fetch_video_file(narrow, {}, 14, old)
    assert cause_of(e.value).exc_type == "DECORDError"
    assert qvu.fetch_video_file(narrow, {}, 14, new).frames == qvu.fetch_video_file(clip, {}, 14, old).frames
    assert "decord" in qvu.fetch_video_file(clip, {}, 14, old).notes[0]
