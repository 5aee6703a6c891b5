"""The settings one check runs with (from the command line, a config file, or the Python API)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FAMILIES = ("qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3.5", "qwen2.5-omni", "qwen3-omni")
DEFAULT_FAMILY = "qwen2.5-vl"
FORMATS = ("text", "json", "sarif", "github")


@dataclass(slots=True)
class Options:
    family: str | None = None  # None: from --model, else DEFAULT_FAMILY
    target: str | None = None  # None: inferred per conversation from its dialect
    model: str | None = None
    template: str | None = None
    max_model_len: int | None = None
    media_root: str | None = None
    # vLLM's ``--media-io-kwargs`` (the server's video loader settings), for --target vllm.
    media_io_kwargs: dict | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    # Render-time switches passed to the chat template.
    add_generation_prompt: bool = True
    add_vision_id: bool = False
    enable_thinking: bool | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.media_io_kwargs is not None:  # a JSON string is accepted, as on the command line
            self.media_io_kwargs = parse_media_io_kwargs(self.media_io_kwargs)

    @property
    def resolved_family(self) -> str:
        return self.family or DEFAULT_FAMILY

    @property
    def vllm_video(self) -> dict:
        """The ``"video"`` entry of `media_io_kwargs` (what vLLM's video loader is given)."""
        return dict((self.media_io_kwargs or {}).get("video") or {})


#: vLLM video loaders whose sampling is modelled (qwenlint.vision.frames.vllm_video_indices).
VLLM_VIDEO_BACKENDS = ("qwen3_vl", "qwen2_vl", "opencv")
#: ``media_io_kwargs["video"]`` keys that change which frames vLLM samples, and their types.
_VIDEO_NUMBERS = {"num_frames": int, "fps": (int, float), "min_frames": int, "max_frames": int,
                  "temporal_patch_size": int}


def merge_media_io_video(server: dict, request: Any) -> dict:
    """The loader settings of one vLLM request: the server's ``"video"`` entry updated with the
    request body's ``media_io_kwargs["video"]`` (vLLM's ``merge_kwargs``: a request that sets only
    ``fps`` drops the server's ``num_frames``, and the reverse).  An invalid request value is
    ignored here (vLLM rejects the request)."""
    try:
        video = parse_media_io_kwargs(request).get("video") or {}
    except ValueError:
        return dict(server)
    merged = {**server, **video}
    if "fps" in video and "num_frames" not in video:
        merged.pop("num_frames", None)
    elif "num_frames" in video and "fps" not in video:
        merged.pop("fps", None)
    return merged


def parse_media_io_kwargs(value: Any) -> dict:
    """Validate vLLM's ``--media-io-kwargs`` (a JSON string or a mapping); raise ValueError.

    Only ``"video"`` matters to token counts: ``video_backend`` (the loader: ``qwen3_vl``,
    ``qwen2_vl`` or ``opencv``) and the numbers in ``_VIDEO_NUMBERS``.  Other keys (the decoder
    ``backend``, ``seek_mode``, ``num_ffmpeg_threads``, ``image``/``audio`` entries) are accepted
    and do not change the prediction.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise ValueError(f"not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ValueError('expected a JSON object such as {"video": {"fps": 1}}')
    video = value.get("video", {})
    if not isinstance(video, dict):
        raise ValueError('"video" must be an object')
    backend = video.get("video_backend")
    if backend is not None and backend not in VLLM_VIDEO_BACKENDS:
        raise ValueError(f"video_backend {backend!r} is not modelled; qwenlint knows "
                         f"{', '.join(VLLM_VIDEO_BACKENDS)}")
    for key, kind in _VIDEO_NUMBERS.items():
        v = video.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, kind)):
            what = "an integer" if kind is int else "a number"
            raise ValueError(f"video.{key} must be {what}, not {v!r}")
    if video.get("temporal_patch_size", 1) < 1:
        raise ValueError("video.temporal_patch_size must be at least 1")
    return value
