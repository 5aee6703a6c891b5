"""Plain-data inputs and outputs of the predictor: media facts in, a `Prediction` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Pipeline = Literal["qwen-vl-utils", "transformers", "vllm"]
PIPELINES: tuple[str, ...] = ("qwen-vl-utils", "transformers", "vllm")

#: EXIF orientations that swap width and height (PIL.ImageOps.exif_transpose).
_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class ImageFacts:
    """An image's size as stored in the file header, plus its EXIF orientation tag (1 = none).

    qwen-vl-utils never applies EXIF orientation; transformers' ``load_image`` does for paths,
    URLs and base64 (``PIL.ImageOps.exif_transpose``), so orientations 5-8 swap the two sizes.
    """

    width: int
    height: int
    orientation: int = 1

    def size(self, exif_transpose: bool) -> tuple[int, int]:
        """``(height, width)`` as a loader that does (or does not) apply EXIF orientation sees it."""
        if exif_transpose and self.orientation in _SWAPPING_ORIENTATIONS:
            return self.width, self.height
        return self.height, self.width


@dataclass(frozen=True)
class VideoFacts:
    """What torchcodec's metadata reports for a video file: ``num_frames``, ``average_fps``, size.

    Both qwen-vl-utils (``_read_video_torchcodec``) and transformers (``read_video_torchcodec``)
    take the frame count and fps from there.
    """

    num_frames: int
    fps: float
    width: int
    height: int


@dataclass(frozen=True)
class Prediction:
    """The predicted result of one image or video part.

    ``grid_thw`` is what the processor returns as ``image_grid_thw`` / ``video_grid_thw``;
    ``tokens`` the number of pad tokens the placeholder expands to (``prod(grid) // merge**2``);
    ``resized`` the final ``(h, w)``; ``frames`` the sampled frame count before temporal padding
    (videos); ``frame_indices`` the source frame indices where known; ``timestamps`` /
    ``extra_text`` the Qwen3 per-group ``<t seconds>`` texts (not counted in ``tokens``);
    ``notes`` surprising-but-valid facts a linter may want to show.
    """

    kind: Literal["image", "video"]
    pipeline: str
    grid_thw: tuple[int, int, int]
    resized: tuple[int, int]
    tokens: int
    frames: int | None = None
    frame_indices: tuple[int, ...] | None = None
    timestamps: tuple[float, ...] | None = None
    extra_text: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    #: An Omni video's sound track when the processor interleaves it (``use_audio_in_video``):
    #: an ``AudioPrediction``; the placeholder then holds ``tokens + audio.tokens`` pads between
    #: ``<audio_bos>`` / ``<audio_eos>`` (:func:`qwenlint.vision.audio.interleaved_tokens`).
    audio: Any = None


@dataclass(frozen=True)
class VisionWarning:
    """A structured warning about a part's options (never printed by this package).

    ``code``: ``"ignored-option"``, ``"budget-28-for-patch-16"`` or ``"image-patch-size-mismatch"``.
    """

    code: str
    key: str | None
    message: str
