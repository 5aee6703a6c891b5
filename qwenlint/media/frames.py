"""Frame lists: a video given as a list of image paths (qwen-vl-utils `fetch_video` with a list).

qwen-vl-utils 0.0.14 `vision_process.py:fetch_video` runs `fetch_image` on every frame and
`torch.stack`s them, so every frame must open, and all must end up the same size; transformers 5.23
`video_utils.py:load_video` fetches and stacks image paths the same way.  Each frame is probed like
an image (header only); the rules compare the sizes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from .cache import FactsCache
from .errors import MediaError
from .image import ImageFacts
from .sources import classify_source


def probe_frames(paths: Sequence[str], *, base_dir: str | os.PathLike[str] | None = None,
                 cache: FactsCache | None = None) -> list[ImageFacts | MediaError]:
    """One `ImageFacts` or `MediaError` per frame, in order.  Remote and data-URI frames are not
    fetched or decoded here: they give `MediaError("remote")` / are probed from their bytes."""
    from .probe import probe_source  # local import: probe imports this module

    out: list[ImageFacts | MediaError] = []
    for p in paths:
        result = probe_source(classify_source(p, base_dir), "image", cache=cache)
        out.append(result if isinstance(result, (ImageFacts, MediaError)) else
                   MediaError("not-an-image", "not an image", path=p))
    return out


def distinct_sizes(frames: Sequence[ImageFacts | MediaError], *, exif_transpose: bool = False) -> set[tuple[int, int]]:
    """The distinct (width, height) among the frames that opened (more than one: `torch.stack` fails
    unless a resize makes them equal)."""
    return {f.size_for(exif_transpose=exif_transpose) for f in frames if isinstance(f, ImageFacts)}
