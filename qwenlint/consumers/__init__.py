"""What each consumer (``--target``) does with an input: load a part, drop it or crash on it, and
how a fine-tuning framework reads a dataset record.

The same part means different things to different consumers.  ``{"type": "video_url", ...}`` is a
valid vLLM part and is silently dropped by transformers; ``{"type": "image", "url": ...}`` is loaded
by transformers and crashes qwen-vl-utils.  One module per consumer holds what it reads, drops and
raises, read from that consumer's source at the version qwenlint mirrors (each module names it):

=====================  ==================================================================
:mod:`.qwen_vl_utils`  ``process_vision_info`` picking parts, then the processor
:mod:`.transformers`   ``processor.apply_chat_template`` loading media itself
:mod:`.vllm`           the OpenAI-compatible server: parts, template input, loader settings
:mod:`.llamafactory`   ``dataset_info.json``, the converters, the media pre-resize
:mod:`.ms_swift`       the row preprocessors, tag handling, environment budgets
:mod:`.qwen_finetune`  qwen-vl-finetune's data processor and pixel settings
:mod:`.qwen_omni_utils` ``process_mm_info`` (audio, images, videos), then the Omni processor
=====================  ==================================================================

Every module has the same surface: ``TARGET``, ``PIPELINE`` (the predictor pipeline of
:mod:`qwenlint.vision` it runs), ``reading(part)`` and ``ignored_options(part)``; the framework
modules add ``view(...)``, their :class:`~qwenlint.consumers.records.RecordView` of a record.
Whether the chat template *renders* a part is the template stage's business, and the token
arithmetic is :mod:`qwenlint.vision`'s.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Mapping

from qwenlint.consumers.base import Reading, Target
from qwenlint.consumers.versions import Versions
from qwenlint.consumers.records import RecordView
from qwenlint.ir import Conversation, Dialect, Form, Part

__all__ = ["DATASET_TARGETS", "Reading", "RecordView", "TARGETS", "Target",
           "consumer", "ignored_options", "infer_target", "inferred_target", "pipeline", "reading", "record_view"]

#: Every consumer's module, by target (imported when a conversation first goes to it: a check of
#: one conversation for qwen-vl-utils never imports the frameworks' modules).
_MODULES = {Target.QWEN_VL_UTILS: "qwen_vl_utils", Target.TRANSFORMERS: "transformers",
            Target.VLLM: "vllm", Target.LLAMAFACTORY: "llamafactory", Target.MS_SWIFT: "ms_swift",
            Target.QWEN_FINETUNE: "qwen_finetune", Target.QWEN_OMNI_UTILS: "qwen_omni_utils"}


_LOADED: dict[Target, ModuleType] = {}


def consumer(target: Target) -> ModuleType:
    """``target``'s consumer module (its ``TARGET``, ``PIPELINE``, ``reading``, ...), imported on
    first use and then looked up (this is on the per-part path)."""
    module = _LOADED.get(target)
    if module is None:
        target = Target(target)
        module = _LOADED[target] = importlib.import_module(f"{__name__}.{_MODULES[target]}")
        assert module.TARGET is target
    return module

#: The ``--target`` names.
TARGETS = tuple(t.value for t in Target)
#: The fine-tuning frameworks: they read dataset records and render with their own templates.
DATASET_TARGETS = tuple(t for t in Target if t.is_framework)


def reading(target: Target, part: Part, versions: Versions | None = None) -> Reading:
    """What ``target`` does with a media part (text parts are not asked about), at the releases
    ``versions`` assumes (None: the newest modelled)."""
    if part.form in (Form.TRANSLATED, Form.UNKNOWN) and target is not Target.VLLM:
        return Reading(False, why=f"{target} only reads English keys and known part types")
    return consumer(target).reading(part, versions)


def ignored_options(target: Target, part: Part) -> list[str]:
    """Per-part options written on ``part`` that ``target`` never reads."""
    if not part.options:
        return []
    return consumer(target).ignored_options(part)


def pipeline(target: Target) -> str:
    """The predictor pipeline (:mod:`qwenlint.vision`) that mirrors ``target``'s preprocessing."""
    return consumer(target).PIPELINE


def infer_target(conv: Conversation, declared: bool = False) -> Target:
    """The default consumer of a conversation, from its dialect (design.md: ``--target``).

    ``declared``: a ``dataset_info.json`` declares the conversation's file, so its dataset records
    are LLaMA-Factory's.  Otherwise ShareGPT records with media under the singular ``image`` /
    ``video`` keys (and no plural column) are qwen-vl-finetune's format, other ShareGPT and Alpaca
    records LLaMA-Factory's, and message records with media columns ms-swift's.  The choice is per
    record, so a text-only record of a qwen-vl-finetune file is checked as LLaMA-Factory's: pass
    ``--target`` for such files (QL615 says when the records of a file were read differently).
    """
    return inferred_target(conv, declared)[0]


def inferred_target(conv: Conversation, declared: bool = False) -> tuple[Target, str, bool]:
    """:func:`infer_target`, why in words (``"ShareGPT turns, media under image"``), and whether
    the record's own format decides it (False: ShareGPT turns without media, which both
    LLaMA-Factory and qwen-vl-finetune read; the default is LLaMA-Factory)."""
    if declared and conv.dialect.is_dataset:
        return Target.LLAMAFACTORY, "a dataset_info.json declares the file", True
    if conv.dialect is Dialect.OPENAI:
        return Target.VLLM, "an OpenAI request", True
    if conv.dialect is Dialect.SHAREGPT:
        rec = conv.record if isinstance(conv.record, dict) else {}
        plural = [k for k in ("images", "videos", "audios") if k in rec]
        singular = [k for k in ("image", "video") if k in rec]
        if singular and not plural:
            return Target.QWEN_FINETUNE, f"ShareGPT turns, media under {' and '.join(singular)}", True
        if plural:
            return Target.LLAMAFACTORY, "ShareGPT turns, media under " + " and ".join(plural), True
        return Target.LLAMAFACTORY, "ShareGPT turns without media", False
    if conv.dialect is Dialect.MESSAGES_RECORD:
        return Target.MS_SWIFT, "a messages record", True
    if conv.dialect is Dialect.ALPACA:
        return Target.LLAMAFACTORY, "an Alpaca record", True
    return Target.QWEN_VL_UTILS, "a conversation", True


def record_view(conv: Conversation, target: Target, *, dataset_entry: Any = None,
                environ: Mapping[str, str], versions: Any = None,
                stage: str | None = None, swift: Any = None) -> RecordView | None:
    """The framework's view of ``conv``'s record (None: not a dataset record, or not a framework).

    ``dataset_entry``: the ``dataset_info.json`` entry declaring the file (LLaMA-Factory; None:
    inferred from the record); ``environ``: the environment the framework would run in;
    ``versions``: the releases the run assumes (None: the newest modelled); ``stage``:
    LLaMA-Factory's training stage (the training YAML's; None: the one the entry is written for);
    ``swift``: ms-swift's ``--swift-args`` (:class:`~qwenlint.consumers.ms_swift.Arguments`; None or no
    subcommand: a record's columns decide which sequences are encoded)."""
    target = Target(target)
    if not isinstance(conv.record, dict) or not target.is_framework:
        return None
    module = consumer(target)
    if target is Target.LLAMAFACTORY:
        return module.view(conv, dataset_entry, environ,
                                 versions["llamafactory"] if versions is not None else None, stage)
    if target is Target.MS_SWIFT:
        return module.view(conv, environ, versions["ms-swift"] if versions is not None else None, swift)
    return module.view(conv)
