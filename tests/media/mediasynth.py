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
               rotation: int | None = None, audio: bool = False, audio_samples: int | None = None,
               audio_rate: int = 16000) -> str:
    """A small flat-grey video written with PyAV (as the acceptance synthesiser does); with
    ``audio``, an AAC sound track of ``audio_samples`` at ``audio_rate`` (default: as long as
    the video, at least 1024 samples)."""
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
            astream = container.add_stream("aac", rate=audio_rate)
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
            samples = audio_samples if audio_samples is not None else max(int(audio_rate * frames / rate), 1024)
            done = 0
            while done < samples:
                n = min(samples - done, 4096)
                aframe = av.AudioFrame.from_ndarray(np.zeros((1, n), dtype=np.float32), format="fltp", layout="mono")
                aframe.sample_rate = audio_rate
                aframe.pts = done
                for packet in astream.encode(aframe):
                    container.mux(packet)
                done += n
            for packet in astream.encode():
                container.mux(packet)
    return path


def make_wav(path: str, rate: int, samples: int, channels: int = 1, width: int = 2, extra: int = 0) -> str:
    """A silent PCM WAV file (the standard library's ``wave``: no PyAV needed); ``extra`` bytes
    after the last whole block, inside the data chunk (data that ends inside a block)."""
    import wave

    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframesraw(bytes(samples * channels * width + extra))
    return path


def make_audio(path: str, fmt: str, codec: str, rate: int, channels: int, samples: int, video: bool = False,
               options: dict[str, str] | None = None) -> None:
    """An audio file of ``samples`` silent samples encoded with PyAV (``fmt``: a container such as
    ``flac``, ``ipod`` (M4A), ``ogg``, ``mp3``; ``video``: with a short H.264 track first, as a film;
    ``options``: the encoder's, e.g. libopus' ``frame_duration``)."""
    import av
    import numpy as np

    layout = "mono" if channels == 1 else "stereo"
    with av.open(path, "w", format=fmt) as out:
        vs = out.add_stream("libx264", rate=Fraction(8)) if video else None
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if options:
            stream.options = options
        if vs is not None:
            vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
            vs.options = {"preset": "ultrafast"}
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            for i in range(4):
                frame.pts = i
                for p in vs.encode(frame.reformat(format="yuv420p")):
                    out.mux(p)
            for p in vs.encode():
                out.mux(p)
        pts = 0
        while pts < samples:
            n = min(samples - pts, 1000)
            af = av.AudioFrame.from_ndarray(np.zeros((1, n * channels), dtype=np.int16), format="s16", layout=layout)
            af.sample_rate, af.pts = rate, pts
            for p in stream.encode(af):
                out.mux(p)
            pts += n
        for p in stream.encode(None):
            out.mux(p)


def make_clip(path: str, codec: str, rate: int, samples: int, channels: int = 1) -> str:
    """A silent audio file: ``codec`` ``wav`` (PCM 16-bit, standard library), ``flac`` or ``opus``
    (Ogg, PyAV)."""
    if codec == "wav":
        return make_wav(path, rate, samples, channels)
    fmt, encoder = {"flac": ("flac", "flac"), "opus": ("ogg", "libopus")}[codec]
    make_audio(path, fmt, encoder, rate, channels, samples)
    return path


def make_mp3(path: str, rate: int, channels: int, samples: int, *, xing: bool = True, id3v2: bool = True,
             id3v1: bool = False, abr: bool = False, kbps: int | None = None, seed: int = 0) -> str:
    """An MP3 of ``samples`` samples of quiet noise, encoded with PyAV (libmp3lame, FFmpeg's mp3
    muxer): ``xing``: the Xing / Info frame with its LAME tag (``-write_xing``); ``id3v2`` /
    ``id3v1``: the tags before and after the frames; ``abr``: libmp3lame's average bit rate (frames
    of varying size) at ``kbps`` (else constant, at ``kbps`` or the encoder's default)."""
    import av
    import numpy as np

    layout = "mono" if channels == 1 else "stereo"
    options = {"write_xing": str(int(xing)), "id3v2_version": "4" if id3v2 else "0", "write_id3v1": str(int(id3v1))}
    noise = np.random.default_rng(seed).integers(-300, 300, (samples, channels)).astype(np.int16)
    with av.open(path, "w", format="mp3", options=options) as out:
        if id3v1 or id3v2:
            out.metadata["title"] = "qwenlint"
        stream = out.add_stream("libmp3lame", rate=rate, layout=layout)
        if kbps:
            stream.codec_context.bit_rate = kbps * 1000
        if abr:
            stream.codec_context.options = {"abr": "1"}
        for pts in range(0, samples, 1000):
            chunk = noise[pts:pts + 1000]
            af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout=layout)
            af.sample_rate, af.pts = rate, pts
            for p in stream.encode(af):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
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
