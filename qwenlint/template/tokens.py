"""The special-token strings of each Qwen family that the template stage needs.

Values:

* Qwen2-VL / Qwen2.5-VL / Qwen3-VL / Qwen3.5: ``<|image_pad|>``, ``<|video_pad|>``, inside
  ``<|vision_start|>`` / ``<|vision_end|>`` — the defaults of ``Qwen2VLProcessor`` (transformers
  5.23 ``processing_qwen2_vl.py``: ``image_token = "<|image_pad|>"``, ``video_token = "<|video_pad|>"``)
  and the strings the bundled official templates emit.
* Qwen2.5-Omni: ``<|IMAGE|>``, ``<|VIDEO|>``, ``<|AUDIO|>`` inside ``<|vision_bos|>`` /
  ``<|vision_eos|>`` and ``<|audio_bos|>`` / ``<|audio_eos|>`` (read from the tokenizer by
  ``Qwen2_5OmniProcessor``; strings as in shared/reference/failure-modes.md and the transformers
  docstring ``"<|audio_bos|><|AUDIO|><|audio_eos|>"``).
* Qwen3-Omni: ``<|image_pad|>``, ``<|video_pad|>``, ``<|audio_pad|>``, ``<|vision_start|>`` /
  ``<|vision_end|>``, ``<|audio_start|>`` / ``<|audio_end|>``. The processor reads them from the
  tokenizer; these strings are not in the installed transformers sources (unverified here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

__all__ = ["FamilyTokens", "QWEN_VL_TOKENS", "QWEN2_5_OMNI_TOKENS", "QWEN3_OMNI_TOKENS", "tokens_for_family"]

_CHATML = ("<|im_start|>", "<|im_end|>", "<|endoftext|>")


@dataclass(frozen=True)
class FamilyTokens:
    """Pad and delimiter strings of one family, the named special tokens passed to the template, and
    the control tokens that must not appear in user text."""

    image_pad: str
    video_pad: str
    audio_pad: str | None
    vision_start: str
    vision_end: str
    audio_start: str | None = None
    audio_end: str | None = None
    special_tokens_map: tuple[tuple[str, str], ...] = (("eos_token", "<|im_end|>"), ("pad_token", "<|endoftext|>"))
    extra_control: tuple[str, ...] = field(default=_CHATML)

    @property
    def pads(self) -> dict[str, str]:
        """``{"image": ..., "video": ..., "audio": ...}`` (audio only where the family has it)."""
        out = {"image": self.image_pad, "video": self.video_pad}
        if self.audio_pad:
            out["audio"] = self.audio_pad
        return out

    @cached_property
    def control_tokens(self) -> tuple[str, ...]:
        """Every token that shifts pad counts or turn structure when typed in user text, longest first."""
        toks = {self.image_pad, self.video_pad, self.vision_start, self.vision_end, *self.extra_control}
        for tok in (self.audio_pad, self.audio_start, self.audio_end):
            if tok:
                toks.add(tok)
        return tuple(sorted(toks, key=len, reverse=True))

    @cached_property
    def control_re(self) -> re.Pattern[str]:
        return re.compile("|".join(map(re.escape, self.control_tokens)))

    @cached_property
    def common_prefix(self) -> str:
        """The longest prefix every control token shares (``"<|"``): a cheap first test before the regex."""
        import os.path

        return os.path.commonprefix(list(self.control_tokens))

    @cached_property
    def pad_re(self) -> re.Pattern[str]:
        return re.compile("|".join(map(re.escape, sorted(self.pads.values(), key=len, reverse=True))))

    @cached_property
    def kind_of(self) -> dict[str, str]:
        """pad string -> kind."""
        return {tok: kind for kind, tok in self.pads.items()}


QWEN_VL_TOKENS = FamilyTokens(
    image_pad="<|image_pad|>", video_pad="<|video_pad|>", audio_pad=None,
    vision_start="<|vision_start|>", vision_end="<|vision_end|>",
)
QWEN2_5_OMNI_TOKENS = FamilyTokens(
    image_pad="<|IMAGE|>", video_pad="<|VIDEO|>", audio_pad="<|AUDIO|>",
    vision_start="<|vision_bos|>", vision_end="<|vision_eos|>",
    audio_start="<|audio_bos|>", audio_end="<|audio_eos|>",
)
QWEN3_OMNI_TOKENS = FamilyTokens(
    image_pad="<|image_pad|>", video_pad="<|video_pad|>", audio_pad="<|audio_pad|>",
    vision_start="<|vision_start|>", vision_end="<|vision_end|>",
    audio_start="<|audio_start|>", audio_end="<|audio_end|>",
)

_BY_FAMILY = {
    "qwen2-vl": QWEN_VL_TOKENS,
    "qwen2.5-vl": QWEN_VL_TOKENS,
    "qwen3-vl": QWEN_VL_TOKENS,
    "qwen3.5": QWEN_VL_TOKENS,
    "qwen3.6": QWEN_VL_TOKENS,
    "qwen4-exp": QWEN_VL_TOKENS,
    "qwen2.5-omni": QWEN2_5_OMNI_TOKENS,
    "qwen3-omni": QWEN3_OMNI_TOKENS,
}


def tokens_for_family(family: str) -> FamilyTokens:
    """The token strings of a family (``qwen2-vl``, ``qwen2.5-vl``, ``qwen3-vl``, ``qwen3.5``, ``qwen3.6``,
    ``qwen4-exp``, ``qwen2.5-omni``, ``qwen3-omni``)."""
    try:
        return _BY_FAMILY[family]
    except KeyError:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(_BY_FAMILY)}") from None
