"""`data:` URIs: parse, validate the base64 payload, sniff the real type, decode within a cap.

Mirrored behaviour:

* qwen-vl-utils 0.0.14 `vision_process.py:fetch_image` accepts a string starting with `data:image`
  (so the Qwen README's `data:image;base64,...` works) that contains `base64,`, and decodes what
  follows with `base64.b64decode` (lenient: characters outside the alphabet are skipped, bad
  padding raises `binascii.Error`).
* transformers 5.23 `image_utils.py:load_image` needs `data:image/` (with a slash), takes
  `split(",")[1]` and decodes it with `base64.decodebytes` (the same lenient decoder).

`parse_data_uri` never decodes more than a small prefix; `decode_data_uri` decodes all of it, but
refuses above `max_bytes` (64 MiB by default) so a hostile dataset cannot exhaust memory.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .errors import MediaError
from .sniff import SNIFF_BYTES, Format, mime_matches, sniff_format

#: Default cap on the decoded size of one data URI.
MAX_DECODED_BYTES = 64 * 1024 * 1024

_NOT_B64_OR_SPACE = re.compile(r"[^A-Za-z0-9+/=\s]")
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/=]")
#: A run of padding (and whitespace) from its first '=': matched once per run, so finding padding
#: followed by data is linear (``=[\s=]*[A-Za-z0-9+/]`` restarted inside every run: 200 000 '='
#: took minutes).
_PAD_RUN = re.compile(r"=[\s=]*")
_B64_DATA = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _pad_then_data(payload: str) -> int | None:
    """Where the first '=' that padding-then-more-data starts is (None: there is none)."""
    for m in _PAD_RUN.finditer(payload):
        if m.end() < len(payload) and payload[m.end()] in _B64_DATA:
            return m.start()
    return None


@dataclass(frozen=True)
class DataURI:
    """What the header and a bounded prefix of a data URI say.  Offsets index the URI string."""

    mime: str | None  # declared media type: "image/png", bare "image", or None when absent
    params: tuple[str, ...]  # parameters other than base64, e.g. ("charset=utf-8",)
    is_base64: bool
    payload_offset: int  # index of the first payload character
    payload_chars: int
    #: First character that strict base64 rejects (not alphabet, `=` or whitespace).  The real
    #: decoders skip it silently, which corrupts the data when it is e.g. URL-safe `-` / `_`.
    bad_char_offset: int | None
    #: A padding `=` followed by more data: depending on its position the lenient decoder ignores
    #: it or stops there and silently drops the rest (`QQ==QUJD` decodes to `A`).
    padding_offset: int | None
    sniffed: Format | None  # the real format, from the first decoded bytes
    qwen_vl_utils_accepts: bool  # starts with "data:image" and contains "base64,"
    transformers_accepts: bool  # starts with "data:image/" (a bare "data:image;" is not)

    @property
    def max_decoded_size(self) -> int:
        """An upper bound of the decoded size (3 bytes per 4 payload characters)."""
        return self.payload_chars * 3 // 4

    @property
    def mime_mismatch(self) -> bool:
        """The declared type contradicts the sniffed bytes (`image/jpeg` declared, PNG bytes)."""
        return self.mime is not None and self.sniffed is not None and not mime_matches(self.mime, self.sniffed)


def parse_data_uri(uri: str) -> DataURI | MediaError:
    """Parse `data:[<mime>][;param]*[;base64],<payload>`; scan the payload for bad characters; sniff
    the type from a decoded prefix.  Never decodes more than `SNIFF_BYTES` bytes: whether the whole
    payload decodes is `decode_data_uri`'s answer.  Returns `bad-data-uri` without a comma, `empty`
    for an empty payload.
    """
    if not uri.startswith("data:"):
        return MediaError("bad-data-uri", "does not start with 'data:'", offset=0)
    comma = uri.find(",")
    if comma < 0:
        return MediaError("bad-data-uri", "data URI has no ',' before its payload", offset=len(uri))
    header = uri[len("data:"):comma]
    parts = [p.strip() for p in header.split(";")]
    mime = parts[0] or None
    is_b64 = len(parts) > 1 and parts[-1].lower() == "base64"
    params = tuple(p for p in (parts[1:-1] if is_b64 else parts[1:]) if p)
    start = comma + 1
    payload = uri[start:]
    qvu = uri.startswith("data:image") and "base64," in uri
    hf = uri.startswith("data:image/")
    if not payload.strip():
        return MediaError("empty", "data URI has an empty payload", offset=start)
    if not is_b64:
        return DataURI(mime, params, False, start, len(payload), None, None, None, qvu, hf)
    bad = _NOT_B64_OR_SPACE.search(payload)
    pad = _pad_then_data(payload)
    try:
        head = _decode_prefix(payload)
    except (binascii.Error, ValueError):
        head = b""
    return DataURI(mime, params, True, start, len(payload),
                   start + bad.start() if bad else None, start + pad if pad is not None else None,
                   sniff_format(head), qvu, hf)


def _decode_prefix(payload: str) -> bytes:
    """The first ~`SNIFF_BYTES` bytes the lenient decoder would produce (skipping bad characters)."""
    window = _NOT_B64.sub("", payload[:8192]).split("=", 1)[0]
    window = window[: (SNIFF_BYTES + 2) // 3 * 4]
    window = window[: len(window) // 4 * 4]
    return base64.b64decode(window) if window else b""


def decode_data_uri(uri: str, info: DataURI | None = None, *, max_bytes: int = MAX_DECODED_BYTES) -> bytes | MediaError:
    """Decode the whole payload exactly as the consumers do (`base64.b64decode`, lenient).

    Refuses (`too-large`) when the payload could decode to more than `max_bytes`; `bad-base64` when
    the decoder raises (offset: the first bad character, else the end of the payload, where the
    padding is wrong).
    """
    if info is None:
        parsed = parse_data_uri(uri)
        if isinstance(parsed, MediaError):
            return parsed
        info = parsed
    if not info.is_base64:
        return MediaError("bad-data-uri", "not a ;base64 data URI: qwen-vl-utils and transformers only decode base64",
                          offset=info.payload_offset)
    if info.max_decoded_size > max_bytes:
        return MediaError("too-large", f"data URI decodes to up to {info.max_decoded_size} bytes, "
                                       f"above the {max_bytes}-byte cap", offset=info.payload_offset)
    try:
        data = base64.b64decode(uri[info.payload_offset:])
    except (binascii.Error, ValueError) as e:
        where = info.bad_char_offset if info.bad_char_offset is not None else info.payload_offset + info.payload_chars
        return MediaError("bad-base64", f"base64 does not decode: {e}", offset=where)
    if not data:
        return MediaError("empty", "data URI decodes to 0 bytes", offset=info.payload_offset)
    return data
