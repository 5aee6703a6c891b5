"""One entry point for the engine: facts for a classified source, through the cache.

Dispatch only: the work is in `image.py`, `video.py`, `audio.py` and `datauri.py`.
"""

from __future__ import annotations

from typing import IO, Callable, Literal, Union, overload

from .cache import FactsCache
from .datauri import MAX_DECODED_BYTES, decode_data_uri
from .audio import AudioFacts, probe_audio
from .errors import MediaError
from .image import ImageFacts, probe_image
from .sources import MediaSource
from .video import SCAN_BUDGET_S, VideoFacts, probe_video


@overload
def probe_source(source: MediaSource, kind: Literal["image"], *, cache: FactsCache | None = ...,
                 scan: bool = ..., time_budget_s: float = ...,
                 max_data_uri_bytes: int = ...) -> ImageFacts | MediaError: ...
@overload
def probe_source(source: MediaSource, kind: Literal["audio"], *, cache: FactsCache | None = ...,
                 scan: bool = ..., time_budget_s: float = ...,
                 max_data_uri_bytes: int = ...) -> AudioFacts | MediaError: ...
@overload
def probe_source(source: MediaSource, kind: Literal["video"], *, cache: FactsCache | None = ...,
                 scan: bool = ..., time_budget_s: float = ...,
                 max_data_uri_bytes: int = ...) -> VideoFacts | MediaError: ...


def probe_source(source: MediaSource, kind: Literal["image", "video", "audio"], *,
                 cache: FactsCache | None = None, scan: bool = True, time_budget_s: float = SCAN_BUDGET_S,
                 max_data_uri_bytes: int = MAX_DECODED_BYTES) -> ImageFacts | VideoFacts | AudioFacts | MediaError:
    """Probe what `source` points at as an image, a video or an audio.

    Local paths (and `file://`, and other `scheme://` strings, which consumers open as paths) are
    probed at `source.resolved` (images) or `source.video_resolved` (videos) through `cache`;
    `http(s)` gives `MediaError("remote")` (never fetched here: the caller reads a URL through
    :func:`probe_opened` when the network is allowed); data URIs are decoded (up to
    `max_data_uri_bytes`) and probed from their bytes.
    """
    if source.kind == "invalid":
        return MediaError("invalid-path", source.reason or "invalid source", path=source.raw[:200])
    if source.kind == "http":
        return MediaError("remote", "remote URL: not fetched, its size is unknown (--allow-network reads its header by byte range)", path=source.raw)
    if source.kind == "data":
        data = decode_data_uri(source.raw, max_bytes=max_data_uri_bytes)
        if isinstance(data, MediaError):
            return data
        if kind == "image":
            return probe_image(data)
        if kind == "audio":
            return probe_audio(data)
        return probe_video(data, scan=scan, time_budget_s=time_budget_s)
    # A video string goes to FFmpeg as is: `file://rel.mp4` opens /rel.mp4 (see sources.py).
    path = (source.video_resolved if kind == "video" else source.resolved) or source.path
    if path is None:
        return MediaError("invalid-path", "no path", path=source.raw[:200])
    if kind == "image":
        if cache is None:
            return probe_image(path)
        return cache.get_or_probe(path, probe_image, ("image",))
    if kind == "audio":
        if cache is None:
            return probe_audio(path)
        return cache.get_or_probe(path, probe_audio, ("audio",))
    if cache is None:
        return probe_video(path, scan=scan, time_budget_s=time_budget_s)
    return cache.get_or_probe(path, lambda p: probe_video(p, scan=scan, time_budget_s=time_budget_s),
                              ("video", scan))


#: Opens a remote object: a seekable binary file object reading by range and its size, or why not.
Opener = Callable[[], Union[tuple[IO[bytes], "int | None"], MediaError]]


def probe_opened(opener: Opener, name: str, kind: Literal["image", "video", "audio"], *,
                 time_budget_s: float = SCAN_BUDGET_S) -> ImageFacts | VideoFacts | AudioFacts | MediaError:
    """Facts of a remote object (a URL: the caller's ``opener`` reads it by byte range), reading only
    what the header needs: an image's header (Pillow reads what it needs), an MP4's ``moov`` box
    (the sample tables give torchcodec's exact count without the packets), else the container's
    header through PyAV (``exact=False``: the packet scan would read the whole video).  Never the
    whole of a video."""
    from .audio import probe_audio_file
    from .image import probe_image_file
    from .video import probe_video_file

    opened = opener()
    if isinstance(opened, MediaError):
        return opened
    fp, size = opened
    try:
        if kind == "image":
            return probe_image_file(fp, name, size)
        if kind == "audio":
            return probe_audio_file(fp, name, size, opener)
        return probe_video_file(fp, name, size, opener, time_budget_s=time_budget_s)
    except OSError as e:
        return MediaError("unreadable", f"read error: {e}", path=name)
    finally:
        fp.close()
