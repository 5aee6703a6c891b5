"""Facts about media given as Python objects through the Python API (``qwenlint.check``), read
from the object in memory: nothing is decoded again, nothing is written to disk.

* A ``PIL.Image.Image`` (what qwen-vl-utils' ``fetch_image`` and transformers'
  ``apply_chat_template`` take as is): its ``size`` and ``mode``.  The EXIF orientation an
  ``Image.open``'d photo still carries is applied by neither (transformers transposes a photo it
  opens from a path, not an object it is given: run by tests/differential/test_api_memory.py), so
  the facts carry none.  Pillow is not imported: an object is recognised by its class's module.
* A list of such images as a video's frames.

* A numpy array or a torch tensor as an image: its shape and dtype (:class:`ArrayFacts`); which
  axes are height and width is the consumer's reading (transformers:
  ``qwenlint.vision.processor.array_image_size``; qwen-vl-utils refuses an array).

* A Hugging Face ``datasets`` ``Image`` / ``Video`` / ``Audio`` struct ``{"bytes": ..., "path": ...}``
  (what a Parquet or Arrow dataset's media column holds, :mod:`qwenlint.load.parquet`):
  :func:`is_embedded` recognises it and :func:`embedded_choice` says which of the two a consumer
  loads; the media stage probes the bytes (``probe_image(data)``) or the path.

Other objects (bare bytes, ...) are not read: :func:`describe` names them, and the media stage leaves
such a part unpredicted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MediaError
from .image import ImageFacts

def is_pil_image(obj: Any) -> bool:
    """Whether ``obj`` is a ``PIL.Image.Image`` (without importing Pillow)."""
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image" for c in type(obj).__mro__)


@dataclass(frozen=True)
class ArrayFacts:
    """An image given as a numpy array or a torch tensor."""

    shape: tuple[int, ...]
    dtype: str


def is_array(obj: Any) -> bool:
    """Whether ``obj`` is a numpy array or a torch tensor (without importing either)."""
    root = type(obj).__module__.split(".")[0]
    return root in ("numpy", "torch") and hasattr(obj, "shape") and hasattr(obj, "dtype")


def array_facts(obj: Any) -> ArrayFacts:
    return ArrayFacts(tuple(int(d) for d in obj.shape), str(obj.dtype))


def is_in_memory(obj: Any) -> bool:
    """Whether ``obj`` is media given as an object (not a string source)."""
    return not isinstance(obj, (str, list, dict, int, float, bool, type(None)))


_EMBEDDED_KEYS = frozenset({"bytes", "path"})


def is_embedded(obj: Any) -> bool:
    """Whether ``obj`` is a ``{"bytes": ..., "path": ...}`` struct (Hugging Face ``datasets``'
    ``Image`` / ``Video`` / ``Audio`` storage, as a Parquet / Arrow row gives it)."""
    return isinstance(obj, dict) and "bytes" in obj and set(obj) <= _EMBEDDED_KEYS


def embedded_choice(obj: dict, truthy_bytes: bool = False) -> tuple[str, Any]:
    """What a consumer loads from an embedded struct: ``("bytes", data)``, ``("path", path)`` or
    ``("none", None)``.

    Hugging Face ``datasets`` (``Image.decode_example``) and LLaMA-Factory (``mm_plugin``
    ``_regularize_images``: ``if image["bytes"] is not None``) take the bytes whenever they are not
    None, even empty; ms-swift (``Template._load_image``: ``image['bytes'] or image['path']``) only
    when they are non-empty (``truthy_bytes``), else the path."""
    data, path = obj.get("bytes"), obj.get("path")
    if (data if truthy_bytes else data is not None):
        return "bytes", data
    if path is not None:
        return "path", path
    return "none", None


def describe(obj: Any) -> str:
    """A short, JSON-safe description of an in-memory media object, e.g. ``<PIL.Image 640x480 RGB>``."""
    if is_embedded(obj):
        data, path = obj.get("bytes"), obj.get("path")
        what = f"{len(data)} bytes" if isinstance(data, (bytes, bytearray)) else "no bytes"
        return f"<{what}, path {path[:200]!r}>" if isinstance(path, str) else f"<{what}>"
    if is_pil_image(obj):
        w, h = obj.size
        return f"<PIL.Image {w}x{h} {obj.mode}>"
    shape = getattr(obj, "shape", None)
    name = f"{type(obj).__module__.split('.')[0]}.{type(obj).__name__}"
    if shape is not None:
        return f"<{name} shape {tuple(int(d) for d in shape)}>"
    if isinstance(obj, (bytes, bytearray)):
        return f"<{len(obj)} bytes>"
    return f"<{name}>"


def unread(obj: Any) -> MediaError:
    """The facts of an in-memory object qwenlint does not read: unknown."""
    return MediaError("in-memory", f"{describe(obj)}: qwenlint reads in-memory media given as PIL.Image "
                      "objects (or lists of them, as a video's frames) and images as numpy arrays or torch "
                      "tensors only; its size is unknown")


def image_facts(obj: Any) -> ImageFacts | MediaError:
    """The facts of an in-memory image (see the module docstring)."""
    if not is_pil_image(obj):
        return unread(obj)
    w, h = obj.size
    mode = obj.mode
    alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in getattr(obj, "info", {})
    # no orientation: the consumers use the object as it is stored (module docstring)
    return ImageFacts(w, h, obj.format or "memory", mode, None, (w, h), getattr(obj, "n_frames", 1), alpha,
                      True, None)
