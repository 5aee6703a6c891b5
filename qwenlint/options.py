"""The settings one check runs with (from the command line, a config file, or the Python API)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    # Render-time switches passed to the chat template.
    add_generation_prompt: bool = True
    add_vision_id: bool = False
    enable_thinking: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def resolved_family(self) -> str:
        return self.family or DEFAULT_FAMILY
