from __future__ import annotations

import pytest

from qwenlint.media import classify_source


@pytest.mark.parametrize(
    ("raw", "kind", "path"),
    [
        ("file://./assets/x.jpg", "file-url", "./assets/x.jpg"),
        ("file://assets/x.jpg", "file-url", "assets/x.jpg"),
        ("file:///abs/x.jpg", "file-url", "/abs/x.jpg"),
        ("assets/x.jpg", "path", "assets/x.jpg"),
        ("/abs/x.jpg", "path", "/abs/x.jpg"),
        ("C:\\data\\x.jpg", "path", "C:\\data\\x.jpg"),
        ("s3://bucket/x.jpg", "other-url", "s3://bucket/x.jpg"),
        (" file://x.jpg", "path", " file://x.jpg"),  # nothing is stripped, as in the consumers
        ("HTTP://example.com/x.jpg", "other-url", "HTTP://example.com/x.jpg"),  # prefix test is case-sensitive
    ],
)
def test_local_kinds(raw: str, kind: str, path: str) -> None:
    s = classify_source(raw)
    assert (s.kind, s.path) == (kind, path)


def test_relative_paths_resolve_against_base_dir() -> None:
    assert classify_source("a/b.jpg", "/root").resolved == "/root/a/b.jpg"
    assert classify_source("file://./a.jpg", "/root").resolved == "/root/./a.jpg"
    assert classify_source("/abs/a.jpg", "/root").resolved == "/abs/a.jpg"
    assert classify_source("file:///abs/a.jpg", "/root").resolved == "/abs/a.jpg"
    assert classify_source("a.jpg").resolved == "a.jpg"


def test_remote_and_data() -> None:
    s = classify_source("https://example.com/x.jpg")
    assert (s.kind, s.url, s.path) == ("http", "https://example.com/x.jpg", None)
    assert classify_source("http://e/x.mp4").kind == "http"
    d = classify_source("data:image/png;base64,AAAA")
    assert (d.kind, d.mime) == ("data", "image/png")
    assert classify_source("data:image;base64,AAAA").mime == "image"
    assert classify_source("data:;base64,AAAA").mime is None


@pytest.mark.parametrize("raw", ["", "a\x00b.jpg", "file://"])
def test_invalid(raw: str) -> None:
    s = classify_source(raw)
    assert s.kind == "invalid" and s.reason


def test_non_string_is_invalid() -> None:
    assert classify_source(None).kind == "invalid"  # type: ignore[arg-type]


@pytest.mark.parametrize(("raw", "image_path", "video_path"), [
    ("file://a.mp4", "a.mp4", "/a.mp4"),
    ("file://./assets/x.mp4", "./assets/x.mp4", "/./assets/x.mp4"),
    ("file:///abs/x.mp4", "/abs/x.mp4", "/abs/x.mp4"),
    ("file://tmp/x.mp4", "tmp/x.mp4", "/tmp/x.mp4"),
    ("rel/x.mp4", "rel/x.mp4", "rel/x.mp4"),
])
def test_video_file_urls_follow_ffmpeg(raw: str, image_path: str, video_path: str) -> None:
    """torchcodec / decord give the string to FFmpeg, whose file: protocol opens //rel = /rel."""
    s = classify_source(raw, "/base")
    assert s.path == image_path and s.video_path == video_path
    assert s.video_resolved == (video_path if video_path.startswith("/") else "/base/" + video_path)
