from __future__ import annotations

import base64
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from qwenlint.media import DataURI, MediaError, decode_data_uri, parse_data_uri, probe_image, sniff_format
from qwenlint.media.sniff import FORMATS, mime_matches


def _png(w: int = 7, h: int = 5, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h)).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(w: int = 9, h: int = 4) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h)).save(buf, format="JPEG")
    return buf.getvalue()


def _uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def test_good_png_data_uri() -> None:
    uri = _uri("image/png", _png(7, 5))
    info = parse_data_uri(uri)
    assert isinstance(info, DataURI)
    assert info.is_base64 and info.mime == "image/png" and info.sniffed is FORMATS["png"]
    assert not info.mime_mismatch and info.bad_char_offset is None
    assert info.qwen_vl_utils_accepts and info.transformers_accepts
    data = decode_data_uri(uri)
    assert isinstance(data, bytes)
    facts = probe_image(data)
    assert not isinstance(facts, MediaError) and facts.size == (7, 5)


def test_qwen_readme_form_without_subtype_is_fine() -> None:
    info = parse_data_uri(_uri("image", _jpeg()))
    assert isinstance(info, DataURI)
    assert info.mime == "image" and not info.mime_mismatch
    assert info.qwen_vl_utils_accepts and not info.transformers_accepts  # transformers needs "data:image/"


def test_declared_jpeg_but_png_bytes_is_a_mismatch() -> None:
    info = parse_data_uri(_uri("image/jpeg", _png()))
    assert isinstance(info, DataURI) and info.mime_mismatch and info.sniffed is FORMATS["png"]


def test_alias_mime_is_not_a_mismatch() -> None:
    info = parse_data_uri(_uri("image/jpg", _jpeg()))
    assert isinstance(info, DataURI) and not info.mime_mismatch


def test_bad_base64_reports_offset_of_first_bad_char() -> None:
    good = base64.b64encode(_png()).decode()
    uri = "data:image/png;base64," + good[:10] + "!" + good[10:]
    info = parse_data_uri(uri)
    assert isinstance(info, DataURI) and info.bad_char_offset == len("data:image/png;base64,") + 10
    # the lenient decoder skips "!" (consumers decode it fine), so decoding still succeeds
    assert isinstance(decode_data_uri(uri), bytes)


def test_wrong_padding_does_not_decode() -> None:
    uri = "data:image/png;base64," + base64.b64encode(_png()).decode().rstrip("=")[:-1]
    err = decode_data_uri(uri)
    assert isinstance(err, MediaError) and err.code == "bad-base64"
    assert err.offset == len(uri)


def test_non_base64_and_malformed() -> None:
    info = parse_data_uri("data:image/png,%89PNG")
    assert isinstance(info, DataURI) and not info.is_base64
    err = decode_data_uri("data:image/png,%89PNG")
    assert isinstance(err, MediaError) and err.code == "bad-data-uri"
    err = parse_data_uri("data:image/png;base64")
    assert isinstance(err, MediaError) and err.code == "bad-data-uri"
    err = parse_data_uri("data:image/png;base64,")
    assert isinstance(err, MediaError) and err.code == "empty"


def test_decoded_size_cap() -> None:
    uri = _uri("image/png", _png(64, 64))
    err = decode_data_uri(uri, max_bytes=10)
    assert isinstance(err, MediaError) and err.code == "too-large"


def test_not_an_image_payload() -> None:
    data = decode_data_uri(_uri("image/png", b"hello world, not an image"))
    assert isinstance(data, bytes)
    err = probe_image(data)
    assert isinstance(err, MediaError) and err.code == "not-an-image"


def test_sniff_formats() -> None:
    assert sniff_format(_png()) is FORMATS["png"]
    assert sniff_format(_jpeg()) is FORMATS["jpeg"]
    assert sniff_format(b"GIF89a" + b"\0" * 10) is FORMATS["gif"]
    assert sniff_format(b"RIFF\0\0\0\0WEBPVP8 ") is FORMATS["webp"]
    assert sniff_format(b"RIFF\0\0\0\0AVI LIST") is FORMATS["avi"]
    assert sniff_format(b"BM" + b"\0" * 20) is FORMATS["bmp"]
    assert sniff_format(b"II*\0" + b"\0" * 8) is FORMATS["tiff"]
    assert sniff_format(b"\0\0\0\x18ftypisom\0\0\0\0") is FORMATS["mp4"]
    assert sniff_format(b"\0\0\0\x14ftypqt  \0\0\0\0") is FORMATS["mov"]
    assert sniff_format(b"\0\0\0\x18ftypheic\0\0\0\0") is FORMATS["heic"]
    assert sniff_format(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01B\x82\x84webm") is FORMATS["webm"]
    assert sniff_format(b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01B\x82\x88matroska") is FORMATS["mkv"]
    assert sniff_format(b"hello") is None
    assert sniff_format(b"") is None


@pytest.mark.parametrize(("declared", "fmt", "ok"), [
    ("image", "png", True), ("image/*", "jpeg", True), ("image/png", "jpeg", False),
    ("video/mp4", "mov", True), ("image/png", "mp4", False), ("image/x-unknown", "png", True),
])
def test_mime_matches(declared: str, fmt: str, ok: bool) -> None:
    assert mime_matches(declared, FORMATS[fmt]) is ok


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJabcdefghij0123456789+/=-_!. \n", max_size=40))
def test_decode_agrees_with_base64_b64decode(payload: str) -> None:
    """decode_data_uri succeeds exactly when the consumers' `base64.b64decode` does, with the same bytes."""
    uri = "data:image/png;base64," + payload
    try:
        expected: bytes | None = base64.b64decode(payload)
    except ValueError:
        expected = None
    got = decode_data_uri(uri)
    if expected is None:
        assert isinstance(got, MediaError) and got.code in ("bad-base64", "empty")
    elif expected == b"":
        assert isinstance(got, MediaError) and got.code == "empty"
    else:
        assert got == expected
