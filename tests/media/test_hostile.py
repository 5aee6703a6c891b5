"""Hostile and broken inputs: every probe returns a MediaError quickly, nothing raises or hangs."""

from __future__ import annotations

from pathlib import Path
import os
import threading

import pytest

from qwenlint.media import MediaError, probe_image, probe_video

from mediasynth import make_image, make_video, needs_av

PROBES = [pytest.param(probe_image, id="image"), pytest.param(probe_video, id="video")]


def _run_bounded(fn, *args, timeout: float = 10.0):
    """Run fn in a thread; fail (instead of hanging the suite) if it does not return in time."""
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn.__name__}{args} blocked for more than {timeout} s"
    return out[0]


def _code(result: object) -> str:
    assert isinstance(result, MediaError), result
    return result.code


@pytest.mark.parametrize("probe", PROBES)
def test_fifo_does_not_block(tmp_path, probe) -> None:
    p = str(tmp_path / "pipe.jpg")
    os.mkfifo(p)
    assert _code(_run_bounded(probe, p)) == "not-a-file"


@pytest.mark.parametrize("probe", PROBES)
def test_directory(tmp_path, probe) -> None:
    assert _code(probe(str(tmp_path))) == "not-a-file"


@pytest.mark.parametrize("probe", PROBES)
def test_device(probe) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    assert _code(_run_bounded(probe, "/dev/zero")) == "not-a-file"


@pytest.mark.parametrize("probe", PROBES)
def test_symlink_loop(tmp_path, probe) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    os.symlink(b, a)
    os.symlink(a, b)
    assert _code(probe(str(a))) == "symlink-loop"


@pytest.mark.parametrize("probe", PROBES)
def test_dangling_symlink(tmp_path, probe) -> None:
    a = tmp_path / "a.jpg"
    os.symlink(tmp_path / "nowhere.jpg", a)
    err = probe(str(a))
    assert _code(err) == "not-found" and "symlink" in err.message


@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("path", ["a\x00b.jpg", ""])
def test_invalid_paths(probe, path: str) -> None:
    assert _code(probe(path)) == "invalid-path"


@pytest.mark.parametrize("probe", PROBES)
def test_empty_file(tmp_path, probe) -> None:
    p = tmp_path / "zero.mp4"
    p.write_bytes(b"")
    assert _code(probe(str(p))) == "empty"


@pytest.mark.parametrize("probe", PROBES)
def test_parent_is_a_file(tmp_path, probe) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert _code(probe(str(f / "x.jpg"))) == "not-found"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_permission_denied(tmp_path) -> None:
    p = make_image(str(tmp_path / "x.png"), 2, 2)
    os.chmod(p, 0)
    assert _code(probe_image(p)) == "permission-denied"


def test_too_large_limit(tmp_path) -> None:
    p = make_image(str(tmp_path / "x.png"), 20, 20)
    assert _code(probe_image(p, max_bytes=10)) == "too-large"


@needs_av
def test_text_file_named_mp4(tmp_path) -> None:
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 20)
    assert _code(probe_video(str(p))) == "not-a-video"


@needs_av
def test_image_given_as_video(tmp_path) -> None:
    p = make_image(str(tmp_path / "still.png"), 16, 16)
    r = probe_video(p)
    # FFmpeg opens a PNG as a one-frame "video" (image2 demuxer); torchcodec does the same.
    assert isinstance(r, MediaError) or r.num_frames == 1


@needs_av
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_mp4(tmp_path, keep: float) -> None:
    p = make_video(str(tmp_path / "v.mp4"), 64, 48, 25, 50)
    data = Path(p).read_bytes()
    t = tmp_path / "t.mp4"
    t.write_bytes(data[: int(len(data) * keep)])
    r = _run_bounded(probe_video, str(t))
    # moov at the end (PyAV default): truncation loses it (FFmpeg cannot open the file) or leaves a
    # stream without packets (torchcodec raises on it).
    assert _code(r) == "corrupt"


@needs_av
def test_garbage_after_ftyp(tmp_path) -> None:
    p = tmp_path / "g.mp4"
    p.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomavc1" + os.urandom(4000))
    assert _code(_run_bounded(probe_video, str(p))) in ("corrupt", "not-a-video")


def test_no_video_backend(tmp_path, monkeypatch) -> None:
    import sys

    p = tmp_path / "v.mp4"
    p.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomavc1")
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` raise ImportError
    err = probe_video(str(p))
    assert _code(err) == "no-video-backend" and "qwenlint[video]" in err.message
