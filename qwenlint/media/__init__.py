"""Media facts without decoding: image headers (Pillow lazy open), video container metadata (PyAV),
audio headers (WAV, FLAC, MP4 in pure Python; the rest through PyAV), data URIs.  Imports neither PyAV nor torch: PyAV is imported inside `probe_video` only.

Every probe returns its facts or a `MediaError` value; none raises for bad input.  See docs/media.md.
"""

from __future__ import annotations

from .audio import AudioFacts, probe_audio
from .cache import FactsCache
from .datauri import MAX_DECODED_BYTES, DataURI, decode_data_uri, parse_data_uri
from .errors import ERROR_CODES, MediaError
from .frames import distinct_sizes, probe_frames
from .image import ImageFacts, bomb_error, probe_image
from .probe import Opener, probe_opened, probe_source
from .sniff import Format, sniff_format
from .sources import MediaSource, SourceKind, classify_source
from .video import VideoFacts, probe_video

__all__ = [
    "AudioFacts",
    "ERROR_CODES",
    "MAX_DECODED_BYTES",
    "DataURI",
    "FactsCache",
    "Format",
    "ImageFacts",
    "MediaError",
    "MediaSource",
    "SourceKind",
    "VideoFacts",
    "bomb_error",
    "classify_source",
    "decode_data_uri",
    "distinct_sizes",
    "parse_data_uri",
    "probe_audio",
    "probe_frames",
    "probe_image",
    "Opener",
    "probe_opened",
    "probe_source",
    "probe_video",
    "sniff_format",
]
