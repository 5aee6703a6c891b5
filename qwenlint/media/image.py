"""Image facts from the header: size, format, mode, EXIF orientation, frame count.  No pixel decoding.

Mirrored behaviour:

* `PIL.Image.open` (Pillow `Image.py:open`): the same plugin registry and `accept(prefix)` test is
  used to pick the format, but through `_open_header` below, which skips
  `Image._decompression_bomb_check`: a bomb is then *reported* (`ImageFacts.bomb`) instead of
  raising or warning, without touching the global `Image.MAX_IMAGE_PIXELS` (thread-safe).
* transformers 5.23 `image_utils.py:load_image` ends with `ImageOps.exif_transpose(image)` then
  `.convert("RGB")`: `transposed_size` is the size after the transpose (orientations 5-8 swap).
  qwen-vl-utils 0.0.14 `fetch_image` does not transpose: it sees `size`.
* qwen-vl-utils 0.0.14 `vision_process.py:to_rgb`: RGBA is composited on white, every other mode goes
  through `.convert("RGB")` (`rgb_convertible` says whether that works for the mode).
* Pillow `ImageOps.exif_transpose` loads the image first, so a PNG's `eXIf` chunk *after* the
  image data still counts; `_png_late_chunks` finds it by walking the chunk headers (no inflate).
* A partial download opens (the header is whole) but every consumer loads the pixels
  (`.convert("RGB")`), where Pillow raises `OSError: image file is truncated` when the data ends
  before the decoder is done (`ImageFile.load`).  `ImageFacts.truncated` says whether it will:
  a PNG is whole when its `IEND` is there; without it, when its `IDAT` stream inflates to every
  row the image needs (a PNG cut after its last `IDAT` loads: the end is optional to Pillow); a
  JPEG is whole when its end marker (`FFD9`) follows its first scan (trailing bytes after it are
  ignored, as libjpeg does).  Proven against Pillow's own `load()` on drawn images cut at drawn
  places (tests/media/test_image.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
from dataclasses import dataclass
from typing import IO, Literal

from PIL import Image, UnidentifiedImageError

from ._files import check_bytes, open_regular
from .errors import MediaError
from .sniff import SNIFF_BYTES, sniff_format

#: Orientation values for which `ImageOps.exif_transpose` swaps width and height.
SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
#: GIF/TIFF frame counting walks the file; above this size it is skipped (`n_frames` None).
MAX_FRAME_SCAN_BYTES = 256 * 1024 * 1024
#: Longest PNG chunk walk (chunks), a guard against hostile files with millions of tiny chunks:
#: beyond it, whether the file is whole is not judged (``truncated`` None).
MAX_PNG_CHUNKS = 100_000
#: Most bytes read to find a JPEG's end marker when the file does not end with it, or to inflate a
#: PNG without ``IEND``; beyond it, whether the file is whole is not judged.
MAX_TRUNCATION_SCAN_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ImageFacts:
    """What a consumer's `Image.open` would see, read from the header only.

    `width`/`height` are PIL's `.size` (stored orientation, what qwen-vl-utils uses);
    `transposed_size` is `(width, height)` after `ImageOps.exif_transpose` (what transformers uses).
    """

    width: int
    height: int
    format: str  # Pillow's format name: "PNG", "JPEG", "MPO", "GIF", "WEBP", ...
    mode: str
    exif_orientation: int | None  # EXIF (or XMP) Orientation tag, None when absent
    transposed_size: tuple[int, int]
    n_frames: int | None  # frames of an animated GIF / APNG / WebP / multi-page TIFF (1 for stills)
    has_alpha: bool
    rgb_convertible: bool | None  # `.convert("RGB")` works for this mode (None: mode unknown to Pillow)
    #: "warn" above `Image.MAX_IMAGE_PIXELS`, "error" above twice that (a real `Image.open` raises
    #: `DecompressionBombError` there), else None.
    bomb: Literal["warn", "error"] | None
    file_size: int | None = None
    exif_error: str | None = None  # Pillow could not parse the EXIF block (exif_transpose would fail)
    #: Loading the pixels fails because the file is cut short (PNG and JPEG); None: not judged.
    truncated: bool | None = None
    #: Pillow's error then: "image file is truncated", or "cannot load this image" for a JPEG cut
    #: before its first scan.
    truncated_error: str | None = None

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    def size_for(self, *, exif_transpose: bool) -> tuple[int, int]:
        """(width, height) as a consumer sees it: transformers transposes, qwen-vl-utils does not."""
        return self.transposed_size if exif_transpose else self.size


_CONVERTIBLE: dict[str, bool | None] = {}
_CONVERTIBLE_LOCK = threading.Lock()


def rgb_convertible(mode: str) -> bool | None:
    """Whether `Image.convert("RGB")` works from `mode`, tried on a 1x1 image (cached per mode)."""
    with _CONVERTIBLE_LOCK:
        if mode in _CONVERTIBLE:
            return _CONVERTIBLE[mode]
    try:
        Image.new(mode, (1, 1)).convert("RGB")
        ok: bool | None = True
    except ValueError:
        ok = False  # e.g. "La": "conversion from La to L not supported"
    except Exception:
        ok = None
    with _CONVERTIBLE_LOCK:
        _CONVERTIBLE[mode] = ok
    return ok


def _open_header(fp: IO[bytes], filename: str) -> Image.Image:
    """`PIL.Image.open` without the decompression-bomb check (Pillow `Image.py:open._open_core`).

    Tries every registered plugin whose `accept(prefix)` matches, in registry order, ignoring the
    same exceptions Pillow ignores; as Pillow does, first the common formats `Image.preinit()`
    registers (BMP, GIF, JPEG, PPM, PNG), and only when none of them opens the file every plugin
    `Image.init()` imports (about 40 modules: a tenth of a one-file check's start-up).  Raises
    `UnidentifiedImageError` when none opens the file.
    """
    Image.preinit()
    fp.seek(0)
    prefix = fp.read(16)
    im = _try_plugins(fp, filename, prefix, list(Image.ID))
    if im is None:
        tried = set(Image.ID)
        if Image.init():
            im = _try_plugins(fp, filename, prefix, [f for f in Image.ID if f not in tried])
    if im is None:
        raise UnidentifiedImageError("cannot identify image file")
    return im


def _try_plugins(fp: IO[bytes], filename: str, prefix: bytes, formats: list[str]) -> Image.Image | None:
    for fmt in formats:
        factory, accept = Image.OPEN[fmt]
        try:  # accept() is inside the try too: BMP's reads 4 bytes of a shorter prefix
            result = not accept or accept(prefix)
            if isinstance(result, str) or not result:
                continue
            fp.seek(0)
            return factory(fp, filename)
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue
    return None


def _png_late_chunks(fp: IO[bytes]) -> tuple[bytes | None, bytes | None, bool | None]:
    """Walk PNG chunk headers: (eXIf data, uncompressed XMP iTXt text, IEND seen: None when the
    walk stopped at :data:`MAX_PNG_CHUNKS`).  No inflating."""
    exif = xmp = None
    fp.seek(8)
    for _ in range(MAX_PNG_CHUNKS):
        head = fp.read(8)
        if len(head) < 8:
            return exif, xmp, False
        length, ctype = struct.unpack(">I4s", head)
        if ctype == b"IEND":
            return exif, xmp, True
        if ctype == b"eXIf" and exif is None and length <= 1 << 24:
            exif = fp.read(length)
            fp.seek(4, os.SEEK_CUR)
        elif ctype == b"iTXt" and xmp is None and length <= 1 << 24:
            data = fp.read(length)
            fp.seek(4, os.SEEK_CUR)
            key, _, rest = data.partition(b"\x00")
            if key == b"XML:com.adobe.xmp" and len(rest) >= 2 and rest[0] == 0:  # compression flag 0
                # rest: flag, method, language\0, translated keyword\0, text
                parts = rest[2:].split(b"\x00", 2)
                if len(parts) == 3:
                    xmp = parts[2]
        else:
            fp.seek(length + 4, os.SEEK_CUR)
    return exif, xmp, None


#: Adam7's passes: (x start, y start, x step, y step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
#: Channels per PNG colour type.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _png_rows_bytes(ihdr: bytes) -> int | None:
    """The filtered bytes a PNG's image data inflates to (a filter byte per row, per pass)."""
    if len(ihdr) < 13:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr[:13])
    if colour not in _PNG_CHANNELS:
        return None
    bits = depth * _PNG_CHANNELS[colour]
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            total += h * (1 + -(-(w * bits) // 8))
    return total


def _png_complete(fp: IO[bytes]) -> bool | None:
    """Whether a PNG without ``IEND`` still loads: its first run of ``IDAT`` chunks inflates to
    every row (Pillow stops reading at the first other chunk after them, and stops decoding when
    the rows are done).  The inflated bytes are counted, never kept; None: not judged."""
    import zlib

    fp.seek(8)
    head = fp.read(8)
    if len(head) < 8 or head[4:] != b"IHDR":
        return None
    need = _png_rows_bytes(fp.read(13))
    if need is None:
        return None
    fp.seek(8 + 8 + struct.unpack(">I", head[:4])[0] + 4)
    inflate, got, read, seen_idat = zlib.decompressobj(), 0, 0, False
    for _ in range(MAX_PNG_CHUNKS):
        head = fp.read(8)
        if len(head) < 8:
            return False
        length, ctype = struct.unpack(">I4s", head)
        if ctype != b"IDAT":
            if seen_idat:
                return False
            fp.seek(length + 4, os.SEEK_CUR)
            continue
        seen_idat = True
        read += length
        if read > MAX_TRUNCATION_SCAN_BYTES:
            return None
        data = fp.read(length)
        try:
            while data and got < need:
                got += len(inflate.decompress(data, 1 << 20))
                data = inflate.unconsumed_tail
        except zlib.error:
            return None  # corrupt, not cut: another error than the one judged here
        if got >= need:
            return True
        if len(data) < length and fp.read(1) == b"":
            return False
        fp.seek(4, os.SEEK_CUR)
    return None


def _jpeg_complete(fp: IO[bytes], file_size: int | None) -> bool | None | Literal["no-scan"]:
    """Whether a JPEG has its end marker after its first scan (libjpeg reaches it: the pixels
    load); ``"no-scan"``: it ends before its first scan; None: not judged (segments Pillow did not
    need to open the file are damaged, or the scan is longer than
    :data:`MAX_TRUNCATION_SCAN_BYTES`)."""
    if file_size is not None and file_size >= 4:
        fp.seek(file_size - 2)
        if fp.read(2) == b"\xff\xd9":
            return True  # the common case: one seek
    fp.seek(2)
    while True:  # the segments before the first scan (Pillow opens a file cut among them)
        byte = fp.read(1)
        if not byte:
            return "no-scan"
        if byte != b"\xff":
            return None
        marker = fp.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fp.read(1)
        if not marker:
            return "no-scan"
        if marker[0] == 0x01 or 0xD0 <= marker[0] <= 0xD8:
            continue  # no length
        size = fp.read(2)
        if len(size) < 2:
            return "no-scan"
        end = fp.tell() + struct.unpack(">H", size)[0] - 2
        if file_size is not None and end > file_size:
            return "no-scan"
        fp.seek(end)
        if marker[0] == 0xDA:
            break
    scanned, tail = 0, b""
    while scanned < MAX_TRUNCATION_SCAN_BYTES:
        block = fp.read(1 << 20)
        if not block:
            return False
        if b"\xff\xd9" in tail + block:  # stuffed data never holds FF D9: the first is the end
            return True
        tail, scanned = block[-1:], scanned + len(block)
    return None


def _orientation(im: Image.Image, late: tuple[bytes | None, bytes | None, bool | None] | None
                 ) -> tuple[int | None, str | None]:
    """EXIF Orientation as `exif_transpose` would read it after `load()`; (orientation, error).
    ``late``: a PNG's :func:`_png_late_chunks`."""
    if late is not None:
        exif, xmp, _ = late
        if "exif" not in im.info and exif is not None:
            im.info["exif"] = b"Exif\x00\x00" + exif
        if "xmp" not in im.info and "XML:com.adobe.xmp" not in im.info and xmp is not None:
            im.info["xmp"] = xmp
    try:
        # The base-class method: PngImageFile.getexif would decode the whole image (load()).
        exif_obj = Image.Image.getexif(im)
        value = exif_obj.get(0x0112)
    except Exception as e:  # a corrupt EXIF block (exif_transpose may fail on it too)
        return None, f"{type(e).__name__}: {e}"
    if value is None:
        return None, None
    try:
        return int(value), None
    except (TypeError, ValueError):
        return None, f"non-integer Orientation {value!r}"


def _truncated(im: Image.Image, fp: IO[bytes], file_size: int | None,
               late: tuple[bytes | None, bytes | None, bool | None] | None) -> str | Literal[False] | None:
    """The OSError loading the pixels raises because the file is cut short (False: it is whole;
    None: not judged; PNG and JPEG only)."""
    if late is not None:
        iend = late[2]
        if iend is None:
            return None
        whole = True if iend else _png_complete(fp)
    elif im.format in ("JPEG", "MPO"):
        whole = _jpeg_complete(fp, file_size)
        if whole == "no-scan":
            return "cannot load this image"  # no tile to decode
    else:
        return None
    return None if whole is None else ("image file is truncated" if not whole else False)


def bomb_error(pixels: int) -> str:
    """The message of the `DecompressionBombError` ``Image.open`` raises above twice the limit."""
    return (f"Image size ({pixels} pixels) exceeds limit of {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels, "
            "could be decompression bomb DOS attack.")


def _bomb(width: int, height: int) -> Literal["warn", "error"] | None:
    """Pillow `Image.py:_decompression_bomb_check`, as a value instead of a warning / exception."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is None:
        return None
    pixels = max(1, width) * max(1, height)
    if pixels > 2 * limit:
        return "error"
    if pixels > limit:
        return "warn"
    return None


def _facts(fp: IO[bytes], filename: str, file_size: int | None, walk_png: bool = True) -> ImageFacts | MediaError:
    fp.seek(0)
    head = fp.read(SNIFF_BYTES)
    sniffed = sniff_format(head)
    where = filename or None
    try:
        im = _open_header(fp, filename)
    except UnidentifiedImageError:
        if sniffed is None:
            return MediaError("not-an-image", "no image format recognises these bytes", path=where)
        if sniffed.kind != "image":
            return MediaError("not-an-image", f"the bytes are a {sniffed.name} {sniffed.kind}, not an image",
                              path=where)
        if sniffed.name in ("heic", "avif"):
            return MediaError("unsupported", f"{sniffed.name.upper()} image: Pillow has no plugin for it here",
                              path=where)
        return MediaError("corrupt", f"{sniffed.name} header is truncated or invalid", path=where)
    except Exception as e:  # any other failure inside a plugin: the real Image.open raises it too
        return MediaError("corrupt", f"{type(e).__name__}: {e}", path=where)
    try:
        width, height = im.size
        n_frames: int | None = 1
        if getattr(im, "is_animated", False) or im.format in ("GIF", "TIFF", "MPO"):
            n_frames = None if (file_size or 0) > MAX_FRAME_SCAN_BYTES else int(getattr(im, "n_frames", 1))
        late = _png_late_chunks(fp) if im.format == "PNG" and walk_png else None
        orientation, exif_error = _orientation(im, late)
        cut = _truncated(im, fp, file_size, late)
        tsize = (height, width) if orientation in SWAPPING_ORIENTATIONS else (width, height)
        alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
        return ImageFacts(width=width, height=height, format=str(im.format), mode=im.mode,
                          exif_orientation=orientation, transposed_size=tsize, n_frames=n_frames,
                          has_alpha=alpha, rgb_convertible=rgb_convertible(im.mode), bomb=_bomb(width, height),
                          file_size=file_size, exif_error=exif_error,
                          truncated=None if cut is None else bool(cut), truncated_error=cut or None)
    except Exception as e:
        return MediaError("corrupt", f"{type(e).__name__}: {e}", path=where)
    finally:
        with contextlib.suppress(Exception):
            im.close()


def probe_image(source: str | os.PathLike[str] | bytes, *, max_bytes: int | None = None) -> ImageFacts | MediaError:
    """Header facts of an image file (a path) or of image bytes (e.g. a decoded data URI).

    Never decodes pixels and never raises for bad input: returns `MediaError` with code
    `invalid-path`, `not-found`, `symlink-loop`, `not-a-file`, `permission-denied`, `unreadable`,
    `empty`, `too-large`, `not-an-image`, `corrupt` or `unsupported`.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        problem = check_bytes(data, max_bytes)
        if problem is not None:
            return problem
        return _facts(io.BytesIO(data), "", len(data))
    opened = open_regular(source, max_bytes=max_bytes)
    if isinstance(opened, MediaError):
        return opened
    fp, st = opened
    try:
        return _facts(fp, os.fspath(source), st.st_size)
    except OSError as e:
        return MediaError("unreadable", f"read error: {e}", path=os.fspath(source))
    finally:
        fp.close()


#: A remote PNG larger than this is not walked to its end for late chunks (an ``eXIf`` after the
#: image data, ``IEND``): the walk visits a chunk header every 64 KiB, which by range reads costs
#: the whole file.  Its ``truncated`` is then None (not checked).
MAX_REMOTE_PNG_WALK_BYTES = 1 << 20


def probe_image_file(fp: IO[bytes], name: str, size: int | None) -> ImageFacts | MediaError:
    """Header facts of an image read from an open, seekable binary file (a URL's, read by byte
    range: Pillow reads the header; a PNG's chunks after the image data are walked only up to
    :data:`MAX_REMOTE_PNG_WALK_BYTES`)."""
    if size == 0:
        return MediaError("empty", "the object is empty (0 bytes)", path=name)
    return _facts(fp, name, size, walk_png=size is not None and size <= MAX_REMOTE_PNG_WALK_BYTES)
