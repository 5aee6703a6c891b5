"""Recognise a media format from its first bytes (magic numbers), without any library.

Used to compare a data URI's declared MIME type with what its bytes really are, and to give a
precise error for a file whose name lies about its content.  `SNIFF_BYTES` bytes are enough.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How many leading bytes `sniff_format` looks at.
SNIFF_BYTES = 64


@dataclass(frozen=True)
class Format:
    """A recognised format: a short name, its usual MIME type and its kind."""

    name: str  # "png", "jpeg", "mp4", ...
    mime: str  # "image/png", ...
    kind: str  # "image" | "video" | "audio"


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("png", "image/png", "image"),
        Format("jpeg", "image/jpeg", "image"),
        Format("gif", "image/gif", "image"),
        Format("webp", "image/webp", "image"),
        Format("bmp", "image/bmp", "image"),
        Format("tiff", "image/tiff", "image"),
        Format("ico", "image/x-icon", "image"),
        Format("heic", "image/heic", "image"),
        Format("avif", "image/avif", "image"),
        Format("mp4", "video/mp4", "video"),
        Format("mov", "video/quicktime", "video"),
        Format("webm", "video/webm", "video"),
        Format("mkv", "video/x-matroska", "video"),
        Format("avi", "video/x-msvideo", "video"),
        Format("m4a", "audio/mp4", "audio"),
        Format("wav", "audio/wav", "audio"),
        Format("mp3", "audio/mpeg", "audio"),
        Format("ogg", "audio/ogg", "audio"),
        Format("flac", "audio/flac", "audio"),
    )
}

# MIME spellings seen in the wild that mean the same format.
_MIME_ALIASES: dict[str, str] = {
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/x-png": "png",
    "image/x-ms-bmp": "bmp",
    "image/vnd.microsoft.icon": "ico",
    "image/heif": "heic",
    "video/avi": "avi",
    "video/msvideo": "avi",
    "video/mkv": "mkv",
    "video/x-m4v": "mp4",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mp3": "mp3",
    "audio/x-m4a": "m4a",
    "audio/x-flac": "flac",
}

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff_format(head: bytes) -> Format | None:
    """The format of a byte string from its magic number, or None if not recognised.

    `head` needs only the first `SNIFF_BYTES` bytes.  Containers are told apart as FFmpeg's probes
    do: ISO-BMFF by its `ftyp` major brand (`qt  ` is QuickTime, HEIF/AVIF brands are images),
    EBML by its DocType (`webm` vs `matroska`), RIFF by its form type (`WEBP`, `AVI `, `WAVE`).
    """
    h = bytes(head[:SNIFF_BYTES])
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return FORMATS["png"]
    if h.startswith(b"\xff\xd8\xff"):
        return FORMATS["jpeg"]
    if h.startswith((b"GIF87a", b"GIF89a")):
        return FORMATS["gif"]
    if h.startswith(b"RIFF") and len(h) >= 12:
        form = h[8:12]
        if form == b"WEBP":
            return FORMATS["webp"]
        if form in (b"AVI ", b"AVIX"):
            return FORMATS["avi"]
        if form == b"WAVE":
            return FORMATS["wav"]
        return None
    if h.startswith(b"BM") and len(h) >= 14:
        return FORMATS["bmp"]
    if h.startswith((b"II*\x00", b"MM\x00*")):
        return FORMATS["tiff"]
    if h.startswith(b"\x00\x00\x01\x00") and len(h) >= 6 and h[4:6] != b"\x00\x00":
        return FORMATS["ico"]
    if len(h) >= 12 and h[4:8] == b"ftyp":
        brand = h[8:12]
        if brand in _HEIF_BRANDS:
            return FORMATS["heic"]
        if brand in _AVIF_BRANDS:
            return FORMATS["avif"]
        if brand == b"qt  ":
            return FORMATS["mov"]
        if brand in (b"M4A ", b"M4B "):
            return FORMATS["m4a"]
        return FORMATS["mp4"]
    if len(h) >= 8 and h[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return FORMATS["mov"]
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        # The EBML header holds the DocType string within its first few dozen bytes.
        return FORMATS["webm"] if b"webm" in h else FORMATS["mkv"]
    if h.startswith(b"ID3") or (len(h) >= 2 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0 and h[1] != 0xFF):
        return FORMATS["mp3"]
    if h.startswith(b"OggS"):
        return FORMATS["ogg"]
    if h.startswith(b"fLaC"):
        return FORMATS["flac"]
    return None


def format_for_mime(mime: str) -> Format | None:
    """The format a MIME type names (`image/jpg` and other common aliases included), or None."""
    m = mime.strip().lower()
    name = _MIME_ALIASES.get(m)
    if name is not None:
        return FORMATS[name]
    for f in FORMATS.values():
        if f.mime == m:
            return f
    return None


def mime_matches(declared: str, actual: Format) -> bool:
    """Whether a declared MIME type is compatible with the sniffed format.

    A bare top-level type (`image`, as in the Qwen README's `data:image;base64,`) or a wildcard
    (`image/*`) matches any format of that kind; an unknown subtype of the right kind matches too
    (we only flag what we are sure is wrong).  MP4 and QuickTime are the same container family.
    """
    m = declared.strip().lower()
    top, _, sub = m.partition("/")
    if top != actual.kind:
        return False
    if not sub or sub == "*":
        return True
    named = format_for_mime(m)
    if named is None:
        return True
    if {named.name, actual.name} <= {"mp4", "mov"}:
        return True
    return named.name == actual.name
