"""What every consumer module shares: the consumer names, and what reading a part means."""

from __future__ import annotations

from dataclasses import dataclass

from qwenlint.ir import Part, StrEnum


class Target(StrEnum):
    """A consumer of model input (``--target``): the library or framework whose behaviour is
    checked."""

    QWEN_VL_UTILS = "qwen-vl-utils"  # process_vision_info, then the HF processor
    TRANSFORMERS = "transformers"  # processor.apply_chat_template loading media itself
    VLLM = "vllm"  # vLLM's OpenAI-compatible server
    LLAMAFACTORY = "llamafactory"  # LLaMA-Factory's dataset pipeline
    MS_SWIFT = "ms-swift"  # ms-swift's dataset pipeline
    QWEN_FINETUNE = "qwen-finetune"  # qwen-vl-finetune (QwenLM/Qwen3-VL)
    QWEN_OMNI_UTILS = "qwen-omni-utils"  # process_mm_info, then the Omni processor

    @property
    def is_framework(self) -> bool:
        """A fine-tuning framework: it reads dataset records and renders with its own template."""
        return self in _FRAMEWORKS


_FRAMEWORKS = frozenset({Target.LLAMAFACTORY, Target.MS_SWIFT, Target.QWEN_FINETUNE})


@dataclass(frozen=True, slots=True)
class Reading:
    """What a consumer does with one media part."""

    loaded: bool
    crash: str | None = None  # the exception the consumer raises, quoted
    why: str = ""  # one sentence on the behaviour, for messages


def framework_reading(part: Part, versions: object = None) -> Reading:
    """The fine-tuning frameworks load every media part written with known keys, at every modelled
    release (``versions``, a :class:`~qwenlint.consumers.versions.Versions`, is not read; that
    module imports this one); their record views (:mod:`qwenlint.consumers.records`) decide what
    else they read."""
    return Reading(True)
