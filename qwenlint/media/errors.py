"""`MediaError`: why a media fact could not be read.

Probes never raise for bad input: they *return* a `MediaError` value, so the engine can turn it into
a diagnostic at the part's location and carry on with the next part.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every code a probe can return, with its meaning.  Stable: rules and tests match on these.
ERROR_CODES: dict[str, str] = {
    "invalid-path": "the path is empty or contains a NUL byte",
    "not-found": "no file at that path (or a dangling symlink)",
    "symlink-loop": "the path goes through a symlink loop",
    "not-a-file": "the path is a directory, FIFO, socket or device, not a regular file",
    "permission-denied": "the file exists but cannot be read",
    "unreadable": "an OS error while reading the file",
    "empty": "the file (or the decoded data URI) has 0 bytes",
    "too-large": "above a configured size limit; not read",
    "not-an-image": "no image format recognises the bytes (e.g. a text file named .jpg)",
    "corrupt": "the format is recognised but its header is truncated or invalid",
    "unsupported": "a real format that Pillow / FFmpeg cannot open here (e.g. HEIC without a plugin)",
    "not-a-video": "FFmpeg cannot open the file as a container, or it has no video stream",
    "not-audio": "FFmpeg cannot open the file as audio, or it has no audio stream",
    "no-video-backend": "PyAV is not installed (install qwenlint[video])",
    "timeout": "the probe ran past its time budget",
    "remote": "an http(s) URL not fetched (no --allow-network), so nothing is known about it",
    "in-memory": "an object given through the Python API of a type qwenlint does not read (a numpy "
                 "array, a tensor, bytes): its size is unknown",
    "bad-data-uri": "a data: URI that is not `data:[<mime>][;base64],<payload>`",
    "bad-base64": "the base64 payload of a data: URI does not decode",
}


@dataclass(frozen=True)
class MediaError:
    """A probe's failure, as a value.  `code` is one of `ERROR_CODES`."""

    code: str
    message: str
    path: str | None = None
    #: Character offset into the source string, where one applies (bad base64, bad data URI).
    offset: int | None = None

    def __post_init__(self) -> None:
        if self.code not in ERROR_CODES:  # a programming error, not bad input
            raise ValueError(f"unknown MediaError code {self.code!r}")

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message} [{self.code}]"
