from __future__ import annotations

from pathlib import Path
import io
import os
import struct
import zlib

import pytest
from PIL import Image, ImageOps

from qwenlint.media import ImageFacts, MediaError, probe_image
from qwenlint.media.image import rgb_convertible

from mediasynth import make_image, make_png_header


def _facts(x) -> ImageFacts:
    assert isinstance(x, ImageFacts), x
    return x


@pytest.mark.parametrize(("w", "h", "ext"), [(640, 480, "jpg"), (2010, 10, "png"), (1, 1, "png"), (333, 777, "webp"),
                                             (17, 3, "bmp"), (31, 29, "gif"), (45, 23, "tiff")])
def test_sizes(tmp_path, w: int, h: int, ext: str) -> None:
    p = make_image(str(tmp_path / f"x.{ext}"), w, h)
    f = _facts(probe_image(p))
    assert f.size == (w, h) == f.transposed_size
    assert f.n_frames == 1 and f.bomb is None and f.rgb_convertible
    with Image.open(p) as real:
        assert (real.format, real.mode) == (f.format, f.mode)


def test_acceptance_synth_image(tmp_path, acceptance_media) -> None:
    if acceptance_media is None:
        pytest.skip("acceptance media.py not available")
    p = str(tmp_path / "photo.jpg")
    acceptance_media.synth_image(p, 640, 480, exif_orientation=6)
    f = _facts(probe_image(p))
    assert f.size == (640, 480) and f.transposed_size == (480, 640) and f.exif_orientation == 6


@pytest.mark.parametrize("orientation", range(0, 10))
def test_exif_orientation_matches_real_exif_transpose(tmp_path, orientation: int) -> None:
    p = make_image(str(tmp_path / "o.jpg"), 40, 30, exif_orientation=orientation)
    f = _facts(probe_image(p))
    with Image.open(p) as real:
        assert f.transposed_size == ImageOps.exif_transpose(real).size  # what transformers load_image sees
        assert f.size == real.size  # what qwen-vl-utils sees (no transpose)
    assert f.exif_orientation == orientation
    assert f.transposed_size == ((30, 40) if orientation in (5, 6, 7, 8) else (40, 30))


def _png_with_late_exif(path: str, orientation: int) -> None:
    """A PNG whose eXIf chunk comes after IDAT: Pillow sees it only after load()."""
    buf = io.BytesIO()
    Image.new("RGB", (20, 10)).save(buf, format="PNG")
    data = buf.getvalue()
    iend = data.rindex(b"IEND") - 4
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif\0\0") else exif.tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    with open(path, "wb") as fh:
        fh.write(data[:iend] + chunk + data[iend:])


def test_png_exif_after_idat(tmp_path) -> None:
    p = str(tmp_path / "late.png")
    _png_with_late_exif(p, 6)
    f = _facts(probe_image(p))
    with Image.open(p) as real:
        assert "exif" not in real.info  # not visible before load()
        assert ImageOps.exif_transpose(real).size == f.transposed_size == (10, 20)
    assert f.truncated is False


def test_png_exif_in_header(tmp_path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 8
    p = make_image(str(tmp_path / "e.png"), 20, 10, exif=exif.tobytes())
    assert _facts(probe_image(p)).transposed_size == (10, 20)


def test_rgba_png_and_modes(tmp_path) -> None:
    f = _facts(probe_image(make_image(str(tmp_path / "a.png"), 8, 6, mode="RGBA")))
    assert f.mode == "RGBA" and f.has_alpha and f.rgb_convertible
    f = _facts(probe_image(make_image(str(tmp_path / "l.png"), 8, 6, mode="L")))
    assert f.mode == "L" and not f.has_alpha
    assert rgb_convertible("La") is False and rgb_convertible("I;16") is True


def test_animated_gif_frame_count(tmp_path) -> None:
    p = str(tmp_path / "anim.gif")
    frames = [Image.new("RGB", (12, 7), (40 * i, 0, 0)) for i in range(5)]
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=50)
    f = _facts(probe_image(p))
    assert f.n_frames == 5 and f.size == (12, 7)


def test_image_bomb_is_reported_not_raised(tmp_path) -> None:
    # A PNG header claiming 40000 x 40000 (1.6 G pixels > 2 x MAX_IMAGE_PIXELS): Image.open raises
    # DecompressionBombError; the probe reads the size and flags it without decoding.
    p = str(tmp_path / "bomb.png")
    make_png_header(p, 40000, 40000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(p)
    f = _facts(probe_image(p))
    assert f.size == (40000, 40000) and f.bomb == "error" and f.pixels == 1_600_000_000
    assert f.truncated is True  # its data ends inside the first IDAT: load() would fail
    assert Image.MAX_IMAGE_PIXELS is not None  # the global limit is untouched


def test_warn_level_bomb(tmp_path) -> None:
    p = str(tmp_path / "big.png")
    make_png_header(p, 10_000, 10_000, 0)  # 1e8 pixels: between MAX_IMAGE_PIXELS (~8.9e7) and twice that
    assert _facts(probe_image(p)).bomb == "warn"


def test_bytes_input(tmp_path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (5, 6)).save(buf, format="JPEG")
    assert _facts(probe_image(buf.getvalue())).size == (5, 6)
    err = probe_image(b"")
    assert isinstance(err, MediaError) and err.code == "empty"


@pytest.mark.parametrize(("content", "code"), [
    (b"", "empty"),
    (b"just some text, not an image\n", "not-an-image"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "corrupt"),
    (b"\xff\xd8\xff", "corrupt"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "unsupported"),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isomavc1", "not-an-image"),
    # shorter than a plugin's accept() reads (BMP's i32): Pillow ignores its struct.error
    (b"\x00\x00\x00", "not-an-image"),
])
def test_bad_files(tmp_path, content: bytes, code: str) -> None:
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    err = probe_image(str(p))
    assert isinstance(err, MediaError) and err.code == code, err


def test_truncated_jpeg_still_has_header_facts(tmp_path) -> None:
    p = str(tmp_path / "t.jpg")
    Image.effect_noise((320, 240), 80).convert("RGB").save(p, quality=95)
    data = Path(p).read_bytes()
    with open(p, "wb") as fh:
        fh.write(data[: len(data) // 2])
    assert _facts(probe_image(p)).size == (320, 240)


def test_pathlike_and_missing(tmp_path) -> None:
    p = make_image(str(tmp_path / "x.png"), 3, 4)
    assert _facts(probe_image(os.fspath(p))).size == (3, 4)
    assert _facts(probe_image(tmp_path / "x.png")).size == (3, 4)
    err = probe_image(tmp_path / "missing.png")
    assert isinstance(err, MediaError) and err.code == "not-found"


# --- partial downloads: is the image whole?  (issue 20) ---------------------------------------------

from hypothesis import HealthCheck, assume, given, settings, strategies as st  # noqa: E402

_TRUNCATION_EXAMPLES = int(os.environ.get("QWENLINT_TRUNCATION_EXAMPLES", "150"))


@st.composite
def _image_bytes(draw):
    """A drawn PNG or JPEG (noise, so the data is not trivially small), maybe with bytes after its
    end, maybe cut at a drawn place, as a partial download leaves it."""
    import numpy as np

    fmt = draw(st.sampled_from(["PNG", "JPEG"]))
    mode = draw(st.sampled_from(["RGB", "L", "RGBA", "P"] if fmt == "PNG" else ["RGB", "L"]))
    w, h = draw(st.integers(1, 96)), draw(st.integers(1, 96))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    im = Image.fromarray(pixels).convert(mode)
    buf = io.BytesIO()
    if fmt == "JPEG":
        exif = Image.Exif()
        if draw(st.booleans()):
            exif[0x0112] = 1
        im.save(buf, "JPEG", quality=draw(st.integers(20, 95)), progressive=draw(st.booleans()),
                exif=exif.tobytes())
    else:
        im.save(buf, "PNG", compress_level=draw(st.integers(0, 9)))
    data = buf.getvalue() + draw(st.sampled_from([b"", b"\0" * 7, b"trailing bytes"]))
    if draw(st.booleans()):
        data = data[: draw(st.integers(1, len(data)))]
    return data


def _pillow_loads(data: bytes) -> str | None:
    """What every consumer does with the file: open it, then load the pixels (None: it loads)."""
    try:
        im = Image.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - not opened: not what is judged here
        return "unopened"
    try:
        im.convert("RGB")
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"
    return None


@settings(max_examples=_TRUNCATION_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=_image_bytes())
def test_truncated_images_are_judged_as_pillow_loads_them(data):
    """``ImageFacts.truncated`` is True exactly when Pillow's ``load()`` of a file that opened
    fails, with the error ``truncated_error`` names (a PNG without IEND may still load; a JPEG
    with bytes after its end marker loads; one without the marker does not; one cut before its
    first scan opens and cannot be loaded)."""
    outcome = _pillow_loads(data)
    assume(outcome != "unopened")
    facts = probe_image(data)
    assert isinstance(facts, ImageFacts), facts
    assert facts.truncated is not None
    if facts.truncated:
        assert outcome is not None and outcome.startswith(f"OSError: {facts.truncated_error}"), outcome
    else:
        assert outcome is None, outcome


def test_a_png_with_more_chunks_than_the_walk_reads_is_not_judged(tmp_path) -> None:
    """A valid PNG with 150 000 empty private chunks before its end loads; the chunk walk stops at
    MAX_PNG_CHUNKS and says nothing rather than "truncated" (it said so before)."""
    from qwenlint.media.image import MAX_PNG_CHUNKS

    buf = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(buf, "PNG")
    data = buf.getvalue()
    chunk = struct.pack(">I", 0) + b"prVt" + struct.pack(">I", zlib.crc32(b"prVt"))
    data = data[:-12] + chunk * (MAX_PNG_CHUNKS + 50_000) + data[-12:]
    assert _pillow_loads(data) is None
    facts = probe_image(data)
    assert isinstance(facts, ImageFacts) and facts.truncated is None
