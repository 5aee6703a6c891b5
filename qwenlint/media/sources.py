"""Classify a part's media source string the way the consumers do.  Pure functions, no I/O.

Mirrored behaviour (all prefix tests are case-sensitive and nothing is stripped, as in the real code):

* qwen-vl-utils 0.0.14 `vision_process.py:fetch_image`: `http://` / `https://` are fetched,
  `file://` is removed by slicing (`image[7:]`), `data:image...` with `base64,` is decoded, anything
  else goes to `Image.open` as a path.  `_read_video_*` also strip `file://` from video paths.
* transformers 5.23 `image_utils.py:load_image`: `http(s)://` fetched, an existing file opened, else a
  `data:image/` prefix is cut at the first comma and the rest base64-decoded.  It does *not* strip
  `file://` (a `file://` string fails there); rules decide what that means per target.

So `file://./a.jpg` opens `./a.jpg`, `file://a.jpg` opens `a.jpg`, `file:///abs/a.jpg` opens `/abs/a.jpg`.

Videos differ: qwen-vl-utils 0.0.14 `_read_video_torchcodec` / `_read_video_decord` (and transformers
5.23 `video_utils.py:read_video_torchcodec`) hand the string to FFmpeg unchanged, and FFmpeg's
`file:` protocol (`libavformat/file.c:file_open`, `av_strstart(filename, "file:", ...)`) opens what
follows `file:`, i.e. `//a.mp4`, which is the ABSOLUTE path `/a.mp4`.  Verified with torchcodec 0.17:
`VideoDecoder("file://a.mp4")` fails in a folder holding a.mp4, `VideoDecoder("file://tmp/x/a.mp4")`
opens `/tmp/x/a.mp4`.  `video_path` / `video_resolved` carry that reading.  (Only the torchvision
fallback, for torchvision < 0.19, strips `file://`.)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

#: ``memory``: an object given through the Python API (:mod:`qwenlint.media.memory`).
SourceKind = Literal["path", "file-url", "http", "data", "other-url", "invalid", "memory"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True)
class MediaSource:
    """Where a media part points.

    `path` is the string the consumer hands to `open` (after `file://` is removed); `resolved` is
    that path joined to the base directory when relative (what the linter probes).  `url` is set for
    http(s) and other `scheme://` strings; `mime` is the declared type of a data URI (may be a bare
    `image`, or None when absent).
    """

    kind: SourceKind
    raw: str
    path: str | None = None
    resolved: str | None = None
    url: str | None = None
    scheme: str | None = None
    mime: str | None = None
    reason: str | None = None  # why a source is "invalid"
    #: The file FFmpeg opens when this string is given as a video (torchcodec, decord): equal to
    #: `path` / `resolved` except for `file://rel` URLs, which FFmpeg opens as `/rel`.
    video_path: str | None = None
    video_resolved: str | None = None

    @property
    def is_local(self) -> bool:
        """True when the source names a file on this machine (a path or a file:// URL)."""
        return self.kind in ("path", "file-url")


def resolve_path(path: str, base_dir: str | os.PathLike[str] | None) -> str:
    """`path` joined to `base_dir` when relative (no normalisation: `..` through symlinks stays exact)."""
    if base_dir is None or os.path.isabs(path):
        return path
    return os.path.join(os.fspath(base_dir), path)


def classify_source(value: str, base_dir: str | os.PathLike[str] | None = None) -> MediaSource:
    """Classify one media source string (image or video path, URL or data URI).

    `base_dir` is where relative paths resolve (`--media-root`, default the input file's folder).
    Lists of frames are the caller's business: classify each element.
    """
    if not isinstance(value, str):
        return MediaSource("invalid", repr(value), reason=f"expected a string, got {type(value).__name__}")
    if value == "":
        return MediaSource("invalid", value, reason="empty string")
    if "\x00" in value:
        return MediaSource("invalid", value, reason="contains a NUL character")
    if value.startswith(("http://", "https://")):
        return MediaSource("http", value, url=value, scheme=value.split(":", 1)[0])
    if value.startswith("file://"):
        path = value[len("file://"):]
        if not path:
            return MediaSource("invalid", value, scheme="file", reason="file:// URL with no path")
        ffmpeg = "/" + path.lstrip("/")
        return MediaSource("file-url", value, path=path, resolved=resolve_path(path, base_dir), scheme="file",
                           video_path=ffmpeg, video_resolved=ffmpeg)
    if value.startswith("data:"):
        header = value[len("data:"):].split(",", 1)[0]
        mime = header.split(";", 1)[0].strip() or None
        return MediaSource("data", value, scheme="data", mime=mime)
    m = _SCHEME.match(value)
    if m is not None:
        # s3://, oss://, gs://, ...: no consumer fetches these; they are opened as (missing) local paths.
        resolved = resolve_path(value, base_dir)
        return MediaSource("other-url", value, path=value, resolved=resolved, url=value,
                           scheme=m.group(1).lower(), video_path=value, video_resolved=resolved)
    resolved = resolve_path(value, base_dir)
    return MediaSource("path", value, path=value, resolved=resolved, video_path=value, video_resolved=resolved)
