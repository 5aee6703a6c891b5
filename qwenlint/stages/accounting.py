"""Accounting stage: the tokens of every conversation — vision pads plus text.

Runs when the run counts tokens (it has a text counter, ``Run.text``: with a ``--max-model-len``
budget, ``--statistics``, ``qwenlint tokens``) and fills ``ctx.tokens[conv.index]`` with a
:class:`~qwenlint.context.ConvTokens`: the predicted pads of every image, video and audio the
consumer loads, plus the text tokens — exact with ``--model``'s ``tokenizer.json``, else the estimate of
:mod:`qwenlint.textcount` (``≈``).  With a rendered prompt its text is counted with the pads taken
out; without one, the texts of the messages plus a per-message overhead.  Each item also records
the text tokens before it, so the budget rule can say where a prompt runs past the budget.
"""

from __future__ import annotations

from qwenlint import textcount
from qwenlint.consumers import Target, llamafactory, ms_swift
from qwenlint.consumers.vllm.server import QWEN3_VIDEO_TOKEN_TARGET
from qwenlint.context import Bound, ConvTokens, ItemTokens, RecordContext
from qwenlint.ir import Conversation, Kind
from qwenlint.media import VideoFacts
from qwenlint.vision import Prediction
from qwenlint.vision.audio import AudioPrediction
from qwenlint.vision.processor import TF_VIDEO_PAIR_KEPT

_PADS = ("<|image_pad|>", "<|video_pad|>", "<|IMAGE|>", "<|VIDEO|>", "<|audio_pad|>", "<|AUDIO|>")


def _message_texts(conv: Conversation) -> list[tuple[int, str]]:
    out = []
    for m in conv.messages:
        texts = [p.text for p in m.parts if isinstance(p.text, str)]
        out.append((m.index, "".join(texts)))
    return out


def _video_pair_kept(ctx: RecordContext, conv: Conversation) -> bool:
    """Whether a Qwen3 video keeps the template's ``<|vision_start|>`` / ``<|vision_end|>`` around its
    frames: the HF processor replaces only the video token from transformers 5.10 (before, the whole
    ``<|vision_start|><|video_pad|><|vision_end|>``), and vLLM follows it from 0.26 (before, it always
    replaced the whole placeholder).  The frameworks' own expansions are taken to keep it."""
    target = ctx.target(conv)
    if target not in (Target.TRANSFORMERS, Target.QWEN_VL_UTILS, Target.VLLM):
        return True
    kept = ctx.run.versions["transformers"] >= TF_VIDEO_PAIR_KEPT
    return kept and (target is not Target.VLLM or ctx.run.server.since(QWEN3_VIDEO_TOKEN_TARGET))


def conversation_tokens(ctx: RecordContext, conv: Conversation,
                        counter: textcount.TextCounter) -> ConvTokens:
    """The accounting of one conversation (see the module docstring)."""
    items = [i for i in ctx.media if i.conv is conv]
    render = ctx.renders.get(conv.index)
    # The per-message counts serve only the no-render estimate and the items' cut positions: a
    # rendered conversation without media (the common text-only record) never needs them.
    need_msgs = bool(items) or render is None or not isinstance(getattr(render, "text", None), str)
    msg_counts = [counter.count(t) + textcount.MESSAGE_OVERHEAD
                  for _, t in _message_texts(conv)] if need_msgs else []
    msg_index = {m.index: k for k, m in enumerate(conv.messages)}
    text_total = chars = None
    if render is not None and isinstance(getattr(render, "text", None), str):
        text = render.text
        chars = len(text)
        for pad in _PADS:
            if pad in text:
                text = text.replace(pad, "")
        text_total = counter.count(text)
    if text_total is None:
        text_total = sum(msg_counts) + textcount.DEFAULT_SYSTEM + textcount.MEDIA_OVERHEAD * len(items)
    out = ConvTokens(conv, 0, counter.exact, chars=chars)
    extra = 0
    for item in items:
        pred = ctx.predictions.get(item.pointer)
        before = textcount.DEFAULT_SYSTEM
        if item.part is not None:
            k = next((msg_index[m.index] for m, p in conv.parts() if p is item.part), 0)
            before += sum(msg_counts[:k + 1])
        if isinstance(pred, (Prediction, AudioPrediction)):
            track = getattr(pred, "audio", None)
            out.items.append(ItemTokens(item, pred.tokens + (track.tokens if track else 0), text_before=before))
            if track is not None:
                extra += 2  # the interleaved placeholder's own <audio_bos> / <audio_eos>
            if isinstance(pred, Prediction) and pred.extra_text:
                # Qwen3 video: the pad becomes "<t seconds><|vision_start|>pads<|vision_end|>" per
                # temporal group, inside the template's own start/end pair, which stays, or not.
                extra += sum(counter.count(t) for t in pred.extra_text) + 2 * len(pred.extra_text)
                if not _video_pair_kept(ctx, conv):
                    extra -= 2
        elif isinstance(pred, Bound):
            out.items.append(ItemTokens(item, pred.tokens, bound=True, text_before=before))
        else:
            out.items.append(ItemTokens(item, None, text_before=before))
    out.extra_text = extra
    out.text = text_total + extra
    if ctx.target(conv) in (Target.LLAMAFACTORY, Target.MS_SWIFT):
        _framework(ctx, conv, out, counter)
    return out


def _framework(ctx: RecordContext, conv: Conversation, out: ConvTokens, counter: textcount.TextCounter) -> None:
    """The framework's own encoding of the record (its template's tokens, the pads where it puts
    them: ``llamafactory.encode``, ``ms_swift.encode``), which its ``cutoff_len`` / ``max_length``
    truncates; the text count becomes its."""
    view = ctx.view(conv)
    if view is None:
        return
    tokens = {id(i.item.ref): (None if i.bound else i.tokens) for i in out.items if i.item.ref is not None}
    media = {kind: [(ref, tokens.get(id(ref))) for ref in refs] for kind, refs in view.media.items()}
    family = ctx.run.profile.family
    if ctx.target(conv) is Target.MS_SWIFT:
        enc = ms_swift.encode(view, family, counter.count, media)
    else:
        lf = ctx.options.llamafactory()
        template = llamafactory.template_for(lf, family)
        if template is None or lf.mask_history:
            return
        enc = llamafactory.encode(view, template, counter.count, media, _lf_audio_in_video(ctx, out, lf))
    if enc is not None:
        out.encoding = enc
        out.text = enc.total - enc.pads


def _lf_audio_in_video(ctx: RecordContext, out: ConvTokens, lf: llamafactory.Settings) -> dict | None:
    """With the training YAML's ``use_audio_in_video`` and an Omni family: each video's pad position
    ids by media entry (``llamafactory.video_positions``; a video without a prediction has none)."""
    if not (lf.use_audio_in_video and ctx.run.profile.is_omni):
        return None
    m = ctx.run.profile.merge_size
    positions = {}
    for i in out.items:
        pred, facts = ctx.predictions.get(i.item.pointer), ctx.facts.get(i.item.pointer)
        if i.item.kind is Kind.VIDEO and i.item.ref is not None and isinstance(pred, Prediction) \
                and isinstance(facts, VideoFacts):
            t, h, w = pred.grid_thw
            positions[id(i.item.ref)] = llamafactory.video_positions(lf, t, h * w // (m * m), facts.num_frames_header,
                                                                 facts.stream_duration_s)
    return positions


def run(ctx: RecordContext) -> None:
    counter = ctx.run.text
    if counter is None:
        return
    for conv in ctx.conversations:
        ctx.tokens[conv.index] = conversation_tokens(ctx, conv, counter)
