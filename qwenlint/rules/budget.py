"""QL5xx — token budget: vision tokens (predicted pads) plus text tokens against ``--max-model-len``.

The accounting (per conversation: the pads of every image and video the consumer loads, plus the
text tokens) is the accounting stage's (:mod:`qwenlint.stages.accounting`, ``ctx.tokens``), shared
with ``qwenlint tokens`` and ``--statistics``.  When a conversation runs past the budget, the rules
re-run the predictor with other settings to say which one fits (:func:`suggest`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from qwenlint import textcount
from qwenlint.context import MediaItem, Plan, RecordContext
from qwenlint.diagnostics import Severity
from qwenlint.ir import Kind
from qwenlint.rules.base import Finding, needs, rule
from qwenlint.consumers import Target, qwen_finetune
from qwenlint.stages.vision import lf_header_only, predict_item, vision_facts
from qwenlint.vision import Prediction, VisionError
from qwenlint.vision.audio import longest_for_tokens
from qwenlint.vision.frames import vllm_loader

#: One image or video above this many tokens is worth a warning, budget or not.
HEAVY_ITEM_TOKENS = 16384


@rule("QL501", "context-budget-exceeded", Severity.ERROR,
      "A conversation's vision + text tokens exceed --max-model-len.")
@needs("budget")
def context_budget_exceeded(ctx: RecordContext):
    """What: A conversation whose predicted visual tokens (the pads every image and video expands
    to) plus its text tokens exceed the budget given with ``--max-model-len`` (the context length,
    LLaMA-Factory's ``cutoff_len``, qwen-vl-finetune's ``model_max_length``, ms-swift's
    ``max_length``).  The finding points at the first image or video that runs past the budget and
    says which ``max_pixels`` / frame count would fit.

    Why: vLLM rejects the request (``ValueError: The decoder prompt (length 70713) is longer than
    the maximum model length of 8192``); truncating the prompt cuts through the pads and the model
    raises ``ValueError: Video features and video tokens do not match: tokens: 4096, features
    70356``; a fine-tuning framework that does not truncate trains on 70k-token samples — out of
    memory, or hours per step.

    Example: a 450-frame video through qwen-vl-finetune (every frame kept: 64 350 tokens) with
    ``--max-model-len 8192``

    Fix: Lower the part's budget (``max_pixels``, ``fps`` / ``max_frames``, ``nframes``) or the
    processor's (``size``, ``do_sample_frames=True``), or raise the budget.
    """
    budget = ctx.options.max_model_len
    if budget is None:
        return
    for conv in ctx.conversations:
        ct = ctx.tokens[conv.index]
        if ct.total <= budget:
            continue
        a = textcount.approx(ct.exact)
        cut = None
        running = 0
        for it in ct.items:
            if it.bound or it.tokens is None:
                continue
            running += it.tokens
            if it.text_before + running > budget:
                cut = it
                break
        lf = ctx.options.llamafactory()
        named = (f"cutoff_len {budget} ({lf.source})" if lf.source and lf.cutoff_len == budget
                 else f"--max-model-len {budget}")
        media = "media" if any(i.item.kind is Kind.AUDIO for i in ct.items) else "vision"
        head = (f"conversation is {a}{ct.total} tokens ({ct.vision} {media} + {a}{ct.text} text), "
                f"over {named}")
        if cut is None:
            yield Finding(conv.record_pointer or conv.pointer, head + ": the text alone runs past it",
                          help="shorten the conversation or raise the budget",
                          data={"total": ct.total, "budget": budget})
            continue
        allowed = budget - (ct.total - cut.tokens)
        yield Finding(cut.item.pointer, f"{head}; this {cut.item.kind.value} ({cut.tokens} tokens) is "
                      "where the prompt runs past the budget",
                      help=suggest(ctx, cut.item, cut.tokens, allowed),
                      data={"total": ct.total, "budget": budget, "item_tokens": cut.tokens})


@rule("QL502", "media-token-heavy", Severity.WARNING,
      f"One image or video becomes more than {HEAVY_ITEM_TOKENS} tokens.")
@needs("media")
def media_token_heavy(ctx: RecordContext):
    """What: A single image or video whose predicted pad count is above 16 384 tokens — the
    default maximum of one image, and more than many deployments' whole context.

    Why: It is usually an accident of defaults: transformers' Qwen2.5-VL video processor keeps
    every frame of the file (a 10-second 30 fps clip is 300 frames), and a 4K image at the default
    ``max_pixels`` is 16 384 tokens.  The prompt then fails with ``The decoder prompt (length N) is
    longer than the maximum model length`` or runs out of GPU memory.

    Example: ``{"type": "video", "video": "10min.mp4"}`` through transformers for Qwen2.5-VL

    Fix: Set the media's budget: ``max_pixels``, ``fps`` / ``max_frames`` (qwen-vl-utils), or the
    processor's ``size`` / ``fps`` / ``num_frames``.
    """
    if ctx.options.max_model_len is not None:
        return  # QL501 judges against the real budget
    for item in ctx.media:
        pred = ctx.predictions.get(item.pointer)
        if isinstance(pred, Prediction) and pred.tokens > HEAVY_ITEM_TOKENS:
            frames = f", {pred.frames} frames" if pred.frames else ""
            yield Finding(item.pointer, f"this {item.kind.value} becomes {pred.tokens} tokens (grid "
                          f"{list(pred.grid_thw)}{frames}, {pred.pipeline})",
                          help=suggest(ctx, item, pred.tokens, HEAVY_ITEM_TOKENS))


# --- what would fit -----------------------------------------------------------------------------

def _tokens_with(pl: Plan, kind: Kind, *, loader: bool = False, **changes: Any) -> int | None:
    """The item's tokens with other settings: per-part options for qwen-vl-utils, vLLM's video
    loader settings (``media_io_kwargs["video"]``) with ``loader``, else processor kwargs."""
    try:
        if pl.pipeline == "qwen-vl-utils":
            return predict_item(pl, kind, pl.facts, **changes).tokens
        if loader:
            p2 = replace(pl, vllm_video={**pl.vllm_video, **changes})
        else:
            p2 = replace(pl, processor_kwargs={**pl.processor_kwargs, **changes})
        return predict_item(p2, kind, pl.facts).tokens
    except (VisionError, ValueError, TypeError):
        return None


def _search(lo: int, hi: int, fits) -> int | None:
    """Largest n in [lo, hi] with fits(n) (fits monotone decreasing in n), or None."""
    if hi < lo or not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _qwen_finetune_where(pl: Plan) -> str:
    """Where a qwen-vl-finetune user sets a budget: its data arguments, which transformers 5.4 and
    later never reach the processor (``qwen_finetune.PIXELS_IGNORED``)."""
    if pl.tf_version is None or pl.tf_version >= qwen_finetune.PIXELS_IGNORED:
        return (f"as the checkpoint's preprocessor_config.json / video_preprocessor_config.json size "
                f"(with transformers {pl.tf_version or 'from ' + str(qwen_finetune.PIXELS_IGNORED)}, "
                "qwen-vl-finetune's max_pixels / video_max_pixels arguments are never written into the processor)")
    return "on the processor (qwen-vl-finetune: the video_*/max_pixels data arguments)"


def suggest(ctx: RecordContext, item: MediaItem, tokens: int, allowed: int) -> str:
    """A setting that brings ``item`` to at most ``allowed`` tokens, computed with the predictor."""
    pl = ctx.plans.get(item.pointer)
    if allowed < 1:
        return "the rest of the conversation already fills the budget: remove media or raise the budget"
    if item.kind is Kind.AUDIO:
        seconds = longest_for_tokens(ctx.run.profile.family, allowed)
        if seconds <= 0:
            return f"the audio cannot fit in {allowed} tokens: remove it or raise the budget"
        where = ("set \"audio_end\" to \"audio_start\" + " if ctx.target(item.conv) is Target.QWEN_OMNI_UTILS
                 else "cut the audio to ")
        return f"{where}{seconds:.2f} s or less ({allowed} tokens), or raise the budget"
    if pl is None or pl.facts is None:
        return f"bring it to at most {allowed} tokens or raise the budget"
    if pl.target == "llamafactory":
        return _suggest_llamafactory(ctx, item, pl, tokens, allowed)
    f2 = pl.profile.factor ** 2
    qvu = pl.pipeline == "qwen-vl-utils"
    where = "on the part" if qvu else (
        _qwen_finetune_where(pl) if pl.target == "qwen-finetune" else "on the processor call / mm_processor_kwargs")
    if item.kind is Kind.IMAGE:
        def fits(n: int) -> bool:
            changes = {"max_pixels": n * f2}
            if qvu:
                changes["min_pixels"] = min(pl.options.get("min_pixels", 4 * f2), n * f2) \
                    if isinstance(pl.options.get("min_pixels", 0), int) else 4 * f2
            t = _tokens_with(pl, Kind.IMAGE, **changes)
            return t is not None and t <= allowed
        n = _search(4, max(4, tokens), fits)
        if n is not None:
            return f"max_pixels={n}*{pl.profile.factor}*{pl.profile.factor} ({n * f2}) {where} fits the budget"
        return f"bring it to at most {allowed} tokens or raise the budget"
    pred = ctx.predictions.get(item.pointer)
    frames = pred.frames if isinstance(pred, Prediction) and pred.frames else 2
    if qvu and not item.is_frame_list:
        key = "nframes" if "nframes" in pl.options else "max_frames"

        def fits_f(k: int) -> bool:
            changes: dict[str, Any] = {key: 2 * k}
            if key == "max_frames":
                changes["min_frames"] = min(4, 2 * k)
            t = _tokens_with(pl, Kind.VIDEO, **changes)
            return t is not None and t <= allowed
        k = _search(1, max(1, frames // 2), fits_f)
        if k is not None:
            return f"\"{key}\": {2 * k} {where} fits the budget ({frames} frames now)"
    elif pl.pipeline == "vllm" and not item.is_frame_list:
        key = "num_frames" if vllm_loader(pl.vllm_video, pl.profile.video.kind) == "opencv" else "max_frames"

        def fits_v(k: int) -> bool:
            t = _tokens_with(pl, Kind.VIDEO, loader=True, **{key: 2 * k})
            return t is not None and t <= allowed
        k = _search(1, max(1, frames // 2), fits_v)
        if k is not None:
            video = json.dumps({**pl.vllm_video, key: 2 * k})
            return (f"sample fewer frames: vllm serve --media-io-kwargs '{{\"video\": {video}}}' fits the "
                    f"budget ({frames} frames now)")
    elif not qvu and not item.is_frame_list and pl.target != "llamafactory":
        t = _tokens_with(pl, Kind.VIDEO, do_sample_frames=True)
        if t is not None and t <= allowed and not pl.processor_kwargs.get("do_sample_frames"):
            cfg = pl.profile.video
            how = (f"fps={cfg.fps:g}, max_frames={cfg.max_frames}" if cfg.fps else "its defaults")
            return (f"turn frame sampling on: do_sample_frames=True {where} ({how}) gives {t} tokens "
                    f"({frames} frames now)")

        def fits_n(k: int) -> bool:
            t = _tokens_with(pl, Kind.VIDEO, do_sample_frames=True, num_frames=2 * k)
            return t is not None and t <= allowed
        k = _search(1, max(1, frames // 2), fits_n)
        if k is not None:
            return (f"sample frames: do_sample_frames=True, num_frames={2 * k} {where} fits the budget "
                    f"({frames} frames now)")
    return f"use fewer frames or smaller frames: at most {allowed} tokens fit ({frames} frames now)"


def _suggest_llamafactory(ctx: RecordContext, item: MediaItem, pl: Plan, tokens: int, allowed: int) -> str:
    """LLaMA-Factory pre-resizes and samples media itself: the training YAML's ``image_max_pixels``
    / ``video_max_pixels`` / ``video_maxlen`` that bring the item within ``allowed`` tokens."""
    raw = ctx.facts.get(item.pointer)
    base = ctx.options.llamafactory()
    kind = item.kind
    header_only = kind is Kind.VIDEO and lf_header_only(ctx, item.conv)

    def tokens_with(**changes: Any) -> int | None:
        facts = vision_facts(raw, Target.LLAMAFACTORY, lf=replace(base, **changes), lf_header_only=header_only)
        try:
            return predict_item(replace(pl, facts=facts), kind, facts).tokens if facts is not None else None
        except (VisionError, ValueError, TypeError):
            return None

    def fits(key: str, value: int) -> bool:
        t = tokens_with(**{key: value})
        return t is not None and t <= allowed

    where = f"in {base.source}" if base.source else "in your training YAML"
    key = "image_max_pixels" if kind is Kind.IMAGE else "video_max_pixels"
    unit = 28 * 28
    now = getattr(base, key)
    n = _search(4, max(4, now // unit), lambda k: fits(key, k * unit))
    if kind is Kind.VIDEO:
        frames = _search(2, max(2, base.video_maxlen), lambda k: fits("video_maxlen", k))
        if frames is not None and frames < base.video_maxlen:
            return (f"{key}: {n * unit} fits the budget, or video_maxlen: {frames} (now {base.video_maxlen}) "
                    f"{where}" if n is not None else f"video_maxlen: {frames} {where} fits the budget "
                    f"(now {base.video_maxlen})")
    if n is not None:
        return f"{key}: {n * unit} {where} fits the budget (now {now}; LLaMA-Factory pre-resizes to it)"
    return f"bring it to at most {allowed} tokens ({key} {where}) or raise cutoff_len"
