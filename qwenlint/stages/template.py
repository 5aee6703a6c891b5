"""Render each conversation with the chat template the consumer would use, pads attributed per part.

The template is resolved once per run (``--template``, else the one ``--model``'s processor loads,
else the bundled official template of ``--family``) and kept in ``ctx.env["template"]``.  Each
conversation of a consumer that renders with it (qwen-vl-utils and transformers render through
``processor.apply_chat_template``; vLLM renders OpenAI parts through its own normalisation) gets a
:class:`qwenlint.template.RenderResult` in ``ctx.renders[conv.index]``.  Fine-tuning frameworks
render with their own templates, so their records are not rendered here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qwenlint.consumers import DATASET_TARGETS
from qwenlint.ir import Conversation
from qwenlint.rules.base import Context


@dataclass
class TemplateEnv:
    """The template of this run and what is known about where it came from."""

    template: Any = None  # LoadedTemplate, or None when there is none to render with
    origin: str = ""  # "--template FILE", "model DIR", "bundled qwen2-vl (verified)"
    problem: str | None = None  # why there is no template (load error, no bundled one)
    load_error: Any = None  # TemplateLoadError from --template/--model
    syntax: Any = None  # TemplateSyntaxIssue
    findings: tuple = ()  # TemplateFinding from a model directory
    tokens: Any = None  # FamilyTokens
    bundled_note: str | None = None  # fallback / assumed-identical explanation
    cache: dict = field(default_factory=dict)


def template_env(ctx: Context) -> TemplateEnv:
    """Resolve the run's template once (never raises)."""
    env = ctx.env.get("template")
    if env is not None:
        return env
    from qwenlint import template as T

    env = TemplateEnv()
    family = ctx.family
    try:
        env.tokens = T.tokens_for_family(family)
    except ValueError:
        env.tokens = T.tokens_for_family("qwen2.5-vl")
    opts = ctx.options
    try:
        if opts.template:
            env.template = T.load_template(opts.template)
            env.origin = f"--template {opts.template}"
        elif opts.model:
            mt = T.load_model_dir(opts.model)
            env.findings = tuple(mt.findings)
            env.template = mt.select("processor") or mt.select("tokenizer")
            env.origin = f"the chat template of {opts.model}"
            if env.template is None:
                env.problem = f"{opts.model} has no chat template"
        else:
            b = T.bundled_template(family)
            env.template = b.template
            env.origin = f"the bundled {b.resolved_family or family} template"
            if b.status in ("fallback", "assumed-identical"):
                env.bundled_note = b.reason
            if b.template is None:
                env.problem = f"no bundled chat template for {family} ({b.reason})"
    except T.TemplateError as e:
        env.load_error = e
        env.template = None
        env.problem = str(e)
    if env.template is not None:
        env.syntax = T.syntax_error(env.template)
        if env.syntax is not None:
            env.template = None
    ctx.env["template"] = env
    return env


def _vllm_messages(conv: Conversation) -> list[Any]:
    """What vLLM hands the template for OpenAI parts: media become {"type": "image"|"video"|"audio"}."""
    out = []
    for m in conv.messages:
        raw = m.raw
        if not isinstance(raw, dict) or not isinstance(raw.get("content"), list):
            out.append(raw)
            continue
        content = []
        for p in m.parts:
            if p.kind.is_media:
                content.append({"type": p.kind.value})
            elif p.kind.value == "text" and p.text is not None:
                content.append({"type": "text", "text": p.text})
            else:
                content.append(p.raw)
        out.append({**raw, "content": content})
    return out


def run(ctx: Context) -> None:
    todo = [c for c in ctx.conversations if ctx.target(c) not in DATASET_TARGETS
            and c.dialect not in ("sharegpt", "messages-record", "alpaca")]
    if not todo:
        return
    env = template_env(ctx)
    if env.template is None:
        return
    from qwenlint import template as T

    opts = ctx.options
    for conv in todo:
        if not conv.messages or not all(isinstance(m.raw, dict) for m in conv.messages):
            continue
        target = ctx.target(conv)
        if target == "vllm":
            messages, consumer = _vllm_messages(conv), "template"
        else:
            messages, consumer = [m.raw for m in conv.messages], "processor"
        tools = conv.record.get("tools") if isinstance(conv.record, dict) else None
        if not (isinstance(tools, list) and all(isinstance(t, dict) for t in tools)):
            tools = None
        kwargs = dict(add_generation_prompt=opts.add_generation_prompt,
                      add_vision_id=opts.add_vision_id or None, enable_thinking=opts.enable_thinking,
                      tools=tools, tokens=env.tokens, consumer=consumer)
        res = None
        if not any(True for _ in conv.media_parts()):
            # No media part: per-part attribution can only matter through pads in the text.  The
            # plain render (about half the cost) gives the same text, pad counts, literal tokens
            # and errors; when its text holds no pad at all, every part would be attributed 0 pads
            # and there is no stray pad, which is all the rules read (they look up media parts
            # only), so it is kept.  Any pad in the text -> render again with attribution.
            res = T.render(env.template, messages, attribute=False, **kwargs)
            if res.ok and any(res.pad_counts.values()):
                res = None
        ctx.renders[conv.index] = res if res is not None else T.render(env.template, messages, **kwargs)
