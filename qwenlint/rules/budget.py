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
from qwenlint.consumers import Target, llamafactory, qwen_finetune
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

    LLaMA-Factory (0.9.4 and 0.9.5 alike) is judged by its own encoding of the record
    (``llamafactory.encode``: its template's tokens, the pads where its plugin puts them, exact
    with ``--model``'s ``tokenizer.json``) and its own truncation (``infer_seqlen``: the head of
    each prompt and answer, the later turns left out once ``cutoff_len`` is spent).  It never drops
    a record for its length and still loads all its media, so: a cut through an image's or a
    video's pads (or a left-out turn holding one) is an **error** — training stops in the model's
    forward with ``Image features and image tokens do not match`` (images are checked before
    videos); a cut through an Omni model's audio pads is a **warning** — its forward checks no
    audio count and fills the pads left with the first audio features (``masked_scatter``), so it
    silently trains on a cut audio; a cut through text only is a **warning** — those tokens are
    silently not trained on; a record within ``cutoff_len`` is not reported.
    The fix names ``cutoff_len`` and ``image_max_pixels`` in your training YAML.

    ms-swift (3.12.6 and 4.6.0 alike) is judged by its template's encoding of the row (the same
    tokens as LLaMA-Factory's template for the family, for rows of plain form) against its
    ``max_length`` (``--swift-args '--max_length N'``, or ``--max-model-len``) with the
    ``--truncation_strategy`` of ``--swift-args``: with ``swift sft``'s default ``delete`` a longer
    row is **deleted** when it is encoded (``MaxLengthError``, no message): an **error**, whose
    fix names ``--max_length``, the ``MAX_PIXELS`` environment variable ms-swift reads, or
    ``--truncation_strategy right`` / ``left``.  With ``left`` / ``right`` the row is kept with
    every pad and its other tokens are cut from that side down to ``max_length`` (every one of
    them when the pads alone are more): a **warning** — the cut you asked for, but those tokens
    are silently not trained on; the fix names ``--max_length`` and ``MAX_PIXELS``.

    Example: a 450-frame video through qwen-vl-finetune (every frame kept: 64 350 tokens) with
    ``--max-model-len 8192``

    Fix: Lower the part's budget (``max_pixels``, ``fps`` / ``max_frames``, ``nframes``) or the
    processor's (``size``, ``do_sample_frames=True``) — for LLaMA-Factory the training YAML's
    ``image_max_pixels`` / ``video_max_pixels`` / ``video_maxlen`` — or raise the budget
    (``cutoff_len``).
    """
    budget = ctx.options.max_model_len
    if budget is None:
        return
    for conv in ctx.conversations:
        ct = ctx.tokens[conv.index]
        if ct.encoding is not None:
            swift = ctx.target(conv) is Target.MS_SWIFT
            yield from (_ms_swift_max_length if swift else _llamafactory_cutoff)(ctx, ct, budget)
            continue
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
        severity, fate = None, ""
        if ctx.target(conv) is Target.MS_SWIFT:
            named, how = _swift_named(ctx, budget)
            fate = "deletes a row over its max_length"
            if ctx.options.ms_swift().truncation_strategy != "delete":  # left / right: kept, cut
                fate, severity = "cuts a row over its max_length, keeping every pad,", Severity.WARNING
            fate = f" (ms-swift {ctx.run.versions['ms-swift']} {fate} with {how})"
        head = (f"conversation is {a}{ct.total} tokens ({ct.vision} {media} + {a}{ct.text} text), "
                f"over {named}{fate}")
        if cut is None:
            yield Finding(conv.record_pointer or conv.pointer, head + ": the text alone runs past it",
                          help="shorten the conversation or raise the budget", severity=severity,
                          data={"total": ct.total, "budget": budget})
            continue
        allowed = budget - (ct.total - cut.tokens)
        yield Finding(cut.item.pointer, f"{head}; this {cut.item.kind.value} ({cut.tokens} tokens) is "
                      "where the prompt runs past the budget",
                      help=suggest(ctx, cut.item, cut.tokens, allowed), severity=severity,
                      data={"total": ct.total, "budget": budget, "item_tokens": cut.tokens})


def _llamafactory_cutoff(ctx: RecordContext, ct: Any, budget: int):
    """LLaMA-Factory's ``cutoff_len`` (``llamafactory.Encoding.truncate``): silent when the record
    fits; an error when the cut goes through an image's or a video's pads or leaves out a turn with
    one (the record is kept with all its media, and the model's forward stops: images are checked
    first, then videos); a warning when only text is cut (silently not trained on), or text and
    audio pads (the Omni models' forward checks no audio count: ``masked_scatter`` fills the pads
    left with the first audio features, modeling_qwen2_5_omni.py / modeling_qwen3_omni_moe.py)."""
    enc = ct.encoding
    total = enc.total
    lf = ctx.options.llamafactory()
    named = (f"cutoff_len {budget}" + (f" ({lf.source})" if lf.source and lf.cutoff_len == budget
                                       else " (--max-model-len)"))
    where = f"in {lf.source}" if lf.source and lf.cutoff_len == budget else "in your training YAML"
    if lf.packing:
        named += f", {llamafactory.effective_cutoff(lf, budget)} with packing"
    budget = llamafactory.effective_cutoff(lf, budget)
    if total <= budget:
        return
    a = textcount.approx(ct.exact)
    release = ctx.run.versions["llamafactory"]
    tr = enc.truncate(budget)
    media = "media" if any(i.item.kind is Kind.AUDIO for i in ct.items) else "vision"
    head = (f"LLaMA-Factory {release} encodes this record as {a}{total} tokens ({enc.pads} {media} + "
            f"{a}{total - enc.pads} text, its {enc.template} template's included), over {named}")
    data = {"total": total, "budget": budget, "kept": tr.total}
    # the cutoff_len that keeps it whole (packing takes one token off it)
    raise_to = f"raise cutoff_len to {total - (llamafactory.PACKING_CUTOFF if lf.packing else 0)} {where}"
    if not tr.cut:
        lost = total - tr.total
        yield Finding(ct.conv.record_pointer or ct.conv.pointer,
                      f"{head}: it keeps the head of each turn (infer_seqlen) and silently drops {a}{lost} "
                      "text tokens" + (f", {tr.left_out} whole turn(s) among them" if tr.left_out else "")
                      + "; every pad is kept",
                      help=f"{raise_to}, or shorten the record",
                      severity=Severity.WARNING, data=data)
        return
    # the kind the forward checks first (images, then videos); audio counts are never checked
    kind = next((k for k in (Kind.IMAGE, Kind.VIDEO) if any(b.kind is k for b in tr.cut)), Kind.AUDIO)
    first = next(b for b in tr.cut if b.kind is kind)
    kept: dict[int, int] = {}
    for b in tr.cut:
        side = tr.kept[b.pair][b.side] if b.pair < len(tr.kept) else 0
        kept[id(b.key)] = b.kept(side)
    features = sum(b.pads for b in enc.blocks if b.kind is kind)
    tokens = features - sum(b.pads - kept[id(b.key)] for b in tr.cut if b.kind is kind)
    if first.pair >= len(tr.kept):
        how = f"leaves out the turns holding this {kind.value} (prompt/answer pair {first.pair + 1} and after)"
    else:
        how = f"cuts through this {kind.value}'s pads ({kept[id(first.key)]} of {first.pads} kept)"
    item = next((i for i in ct.items if i.item.ref is first.key), None)
    pointer = item.item.pointer if item is not None else (ct.conv.record_pointer or ct.conv.pointer)
    noun = kind.value.capitalize()
    if kind is Kind.AUDIO:
        msg = (f"{head}: its truncation {how}, and the record is kept with all its audios: the model's "
               f"forward checks no audio count and puts the first {tokens} of its {features} audio features "
               f"into the {tokens} audio pads left (masked_scatter), so it silently trains on a cut audio")
        severity = Severity.WARNING
    else:
        msg = (f"{head}: its truncation {how}, and the record is kept with all its {kind.value}s: training "
               f"stops in the model's forward (ValueError: {noun} features and {kind.value} tokens do not "
               f"match: {tokens} {kind.value} tokens for {features} features)")
        severity = None
    help_ = raise_to
    if item is not None and item.tokens:
        allowed = budget - (total - first.pads)
        if allowed >= 1:
            help_ = f"{suggest(ctx, item.item, item.tokens, allowed)}, or {raise_to}"
    yield Finding(pointer, msg, help=help_, severity=severity, data=data | {"item_tokens": first.pads})


def _swift_named(ctx: RecordContext, budget: int) -> tuple[str, str]:
    """How ms-swift's budget and strategy were given: (``max_length N (where)``, ``--truncation_strategy
    S (where)``)."""
    args = ctx.options.ms_swift()
    where = "--swift-args" if args.max_length == budget else "--max-model-len"
    strategy = (f"--truncation_strategy {args.truncation_strategy} (--swift-args)" if args.strategy_given
                else f"its default --truncation_strategy {args.truncation_strategy}")
    return f"max_length {budget} ({where})", strategy


def _ms_swift_max_length(ctx: RecordContext, ct: Any, budget: int):
    """ms-swift's ``max_length`` with the ``truncation_strategy`` of ``--swift-args`` (else its
    default ``delete``, ``ms_swift.DEFAULT_TRUNCATION``), ``Template._encode_truncated``: with
    ``delete`` (the template's ``raise``) a row longer than it is deleted when it is encoded
    (``MaxLengthError``, no message): an error; with ``left`` / ``right`` the row is kept with
    every pad and its other tokens cut from that side to ``max_length`` (``_truncate``; every text
    token when the pads alone are more): a warning, the cut the user asked for, but silent."""
    enc = ct.encoding
    total = enc.total
    if total <= budget:
        return
    a = textcount.approx(ct.exact)
    release = ctx.run.versions["ms-swift"]
    strategy = ctx.options.ms_swift().truncation_strategy
    named, how = _swift_named(ctx, budget)
    media = "media" if any(i.item.kind is Kind.AUDIO for i in ct.items) else "vision"
    head = (f"ms-swift {release} encodes this row as {a}{total} tokens ({enc.pads} {media} + {a}{total - enc.pads} "
            f"text, its template's included), over {named}")
    raise_to = f"raise --max_length to {total}"
    # the item to shrink: the largest one whose pads are known
    big = max((i for i in ct.items if i.tokens and not i.bound), key=lambda i: i.tokens, default=None)
    pointer = big.item.pointer if big is not None else (ct.conv.record_pointer or ct.conv.pointer)
    shrink = None
    if big is not None and big.item.kind is Kind.IMAGE:
        allowed = budget - (total - big.tokens)
        if allowed >= 4:
            pl = ctx.plans.get(big.item.pointer)
            f = pl.profile.factor if pl is not None else 28
            n = _search(4, max(4, big.tokens), lambda k: (_tokens_with(pl, Kind.IMAGE, max_pixels=k * f * f)
                                                          or allowed + 1) <= allowed) if pl is not None else None
            if n is not None:
                shrink = (f"MAX_PIXELS={n * f * f} in the environment of swift sft fits the budget (ms-swift reads "
                          "the image budget from it)")
    data = {"total": total, "budget": budget, "truncation_strategy": strategy}
    if strategy in ("left", "right"):
        text = total - enc.pads
        kept_text = max(0, budget - enc.pads)
        side = "first" if strategy == "left" else "last"
        cut = (f"silently cuts its {side} {a}{text - kept_text} text tokens and keeps every pad and the "
               f"{'last' if strategy == 'left' else 'first'} {kept_text}" if kept_text
               else f"silently cuts every one of its {a}{text} text tokens and keeps only its {enc.pads} pads")
        msg = (f"{head}: with {how} it {cut} ({max(budget, enc.pads)} tokens kept; _truncate); what is cut is "
               "not trained on")
        help_ = f"{raise_to} to keep the row whole" + (f", or {shrink}" if shrink else "")
        yield Finding(pointer, msg, help=help_, severity=Severity.WARNING,
                      data=data | {"kept": max(budget, enc.pads)})
        return
    msg = (f"{head}: with {how} the encoding raises MaxLengthError and the row is deleted without a message")
    alternatives = (f"{raise_to}, or pass --truncation_strategy right (or left): ms-swift then keeps every pad "
                    "and cuts the other tokens from that side")
    yield Finding(pointer, msg, help=f"{shrink}, or {alternatives}" if shrink else alternatives, data=data)


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
    swift = pl.target == Target.MS_SWIFT.value  # reads its budgets from the environment, not the part
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
        if n is not None and swift:
            return (f"MAX_PIXELS={n * f2} in the environment of swift sft fits the budget (ms-swift reads "
                    "the image budget from it)")
        if n is not None:
            return f"max_pixels={n}*{pl.profile.factor}*{pl.profile.factor} ({n * f2}) {where} fits the budget"
        return f"bring it to at most {allowed} tokens or raise the budget"
    pred = ctx.predictions.get(item.pointer)
    frames = pred.frames if isinstance(pred, Prediction) and pred.frames else 2
    if qvu and not item.is_frame_list:
        key = "nframes" if "nframes" in pl.options and not swift else "max_frames"

        def fits_f(k: int) -> bool:
            changes: dict[str, Any] = {key: 2 * k}
            if key == "max_frames":
                changes["min_frames"] = min(4, 2 * k)
            t = _tokens_with(pl, Kind.VIDEO, **changes)
            return t is not None and t <= allowed
        k = _search(1, max(1, frames // 2), fits_f)
        if k is not None and swift:
            return (f"FPS_MAX_FRAMES={2 * k} in the environment of swift sft fits the budget ({frames} frames "
                    "now; ms-swift reads the video budget from it)")
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
