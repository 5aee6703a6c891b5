"""Helpers for the media tests: synthesise images and videos (imported by the test modules)."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction

import pytest


def make_image(path: str, width: int, height: int, mode: str = "RGB", exif_orientation: int | None = None,
               **save_kwargs) -> str:
    """A flat image of the given size; JPEG gets an EXIF Orientation when asked."""
    from PIL import Image

    img = Image.new(mode, (width, height), (10, 20, 30, 40)[: len(mode)] if mode in ("RGB", "RGBA") else 0)
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        save_kwargs["exif"] = exif.tobytes()
    img.save(path, **save_kwargs)
    return path


def make_png_header(path: str, width: int, height: int, color_type: int = 2) -> None:
    """IHDR plus the start of an IDAT chunk: enough for ``Image.open`` (a decompression bomb's size
    costs a few bytes), no real pixels, no IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    raw += struct.pack(">I", 1000) + b"IDAT" + b"\x78\x9c"
    with open(path, "wb") as fh:
        fh.write(raw)


def make_video(path: str, width: int, height: int, fps: Fraction | int | str, frames: int, *,
               codec: str = "libx264", pix_fmt: str = "yuv420p", bframes: int = 0,
               rotation: int | None = None, audio: bool = False) -> str:
    """A small flat-grey video written with PyAV (as the acceptance synthesiser does)."""
    import av
    import numpy as np

    rate = Fraction(fps)
    with av.open(path, mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "51", "bf": str(bframes)}
        elif codec in ("libvpx-vp9", "libvpx"):
            stream.options = {"deadline": "realtime", "cpu-used": "8", "crf": "63", "b": "0"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        astream = None
        if audio:
            astream = container.add_stream("aac", rate=16000)
        arr = np.full((height, width, 3), 128, dtype=np.uint8)
        base = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format=pix_fmt)
        for i in range(frames):
            base.pts = i
            base.time_base = 1 / rate
            for packet in stream.encode(base):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if astream is not None:
            samples = int(16000 * frames / rate)
            aframe = av.AudioFrame.from_ndarray(np.zeros((1, max(samples, 1024)), dtype=np.float32),
                                                format="fltp", layout="mono")
            aframe.sample_rate = 16000
            aframe.pts = 0
            for packet in astream.encode(aframe):
                container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    return path


def have_av() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


needs_av = pytest.mark.skipif(not have_av(), reason="PyAV not installed (qwenlint[video])")


def moov_span(data: bytes) -> tuple[int, int]:
    """The byte range of an MP4's `moov` payload."""
    import io

    from qwenlint.media._mp4 import read_moov

    moov = read_moov(io.BytesIO(data))
    assert moov is not None
    start = data.find(moov)
    return start, start + len(moov)


def moov_mutation():
    """Hypothesis strategy: 1-3 (relative position, byte value) overwrites."""
    from hypothesis import strategies as st

    return st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                              st.one_of(st.sampled_from([0, 1, 0xFF, 0x80]), st.integers(0, 255))),
                    min_size=1, max_size=3)


def overwrite(data: bytes, span: tuple[int, int], mutation: list[tuple[float, int]]) -> bytes:
    """`data` with the bytes at the mutation's relative positions inside `span` replaced."""
    out = bytearray(data)
    start, end = span
    for where, value in mutation:
        out[start + int(where * (end - start))] = value
    return bytes(out)
