"""The settings one check runs with (from the command line, a config file, or the Python API)."""

from __future__ import annotations

from dataclasses import dataclass, field

from qwenlint.consumers import Target
from qwenlint.consumers.vllm import parse_media_io_kwargs
from qwenlint.vision.profiles import PROFILES

#: The ``--family`` names.
FAMILIES = tuple(PROFILES)
FORMATS = ("text", "json", "sarif", "github")


@dataclass(slots=True)
class Options:
    family: str | None = None  # None: from --model, else DEFAULT_FAMILY
    target: Target | None = None  # None: inferred per conversation from its dialect
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
        if self.target is not None:  # a --target name is accepted
            self.target = Target(self.target)
        if self.media_io_kwargs is not None:  # a JSON string is accepted, as on the command line
            self.media_io_kwargs = parse_media_io_kwargs(self.media_io_kwargs)

    @property
    def vllm_video(self) -> dict:
        """The ``"video"`` entry of `media_io_kwargs` (what vLLM's video loader is given)."""
        return dict((self.media_io_kwargs or {}).get("video") or {})
