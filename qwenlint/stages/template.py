"""Template stage: render each conversation with the chat template its consumer uses, pads
attributed per part.

The template is resolved once per run (:func:`resolve_template`: ``--template``, else the vLLM
server's ``--chat-template`` given in ``--vllm-args``, else the one ``--model``'s processor loads,
else the bundled official template of the family) and kept in
``Run.template``.  Each conversation of a consumer that renders with it (qwen-vl-utils and
transformers render through ``processor.apply_chat_template``; vLLM renders OpenAI parts through its
own normalisation, :func:`qwenlint.consumers.vllm.template_messages`) gets a
:class:`qwenlint.template.RenderResult` in ``ctx.renders[conv.index]``, and the record is marked
``ctx.needs_template``.  Fine-tuning frameworks render with their own templates, so dataset records
are not rendered here.
"""

from __future__ import annotations

from qwenlint.consumers import Target
from qwenlint.consumers.vllm import template_messages
from qwenlint.context import RecordContext, TemplateEnv
from qwenlint.options import Options


def resolve_template(options: Options, family: str) -> TemplateEnv:
    """The run's chat template and where it came from (never raises: a template that cannot be
    loaded or parsed is recorded in the result, for the template rules to report)."""
    from qwenlint import template as T  # jinja2: imported only by runs that may render

    env = TemplateEnv()
    try:
        env.tokens = T.tokens_for_family(family)
    except ValueError:
        env.tokens = T.tokens_for_family("qwen2.5-vl")
    try:
        served = options.server().chat_template
        if options.template:
            env.template = T.load_template(options.template)
            env.origin = f"--template {options.template}"
        elif served is not None:
            env.template = _served_template(served)
            env.origin = "the server's --chat-template (--vllm-args)"
        elif options.model:
            mt = T.load_model_dir(options.model)
            env.findings = tuple(mt.findings)
            env.template = mt.select("processor") or mt.select("tokenizer")
            env.origin = f"the chat template of {options.model}"
            if env.template is None:
                env.problem = f"{options.model} has no chat template"
        else:
            b = T.bundled_template(family)
            env.template = b.template
            env.origin = b.label  # names an unverified text or a fallback as such
            if b.status in ("fallback", "unverified-text"):
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
    return env


def _served_template(value: str):
    """vLLM's ``--chat-template``: a file, else (when it holds one of ``{``, ``}``, a newline) the
    template itself with its backslash escapes decoded (``load_chat_template``)."""
    import codecs
    import os

    from qwenlint import template as T

    if os.path.isfile(value):
        return T.load_template(value)
    if any(c in value for c in "{}\n"):
        return T.template_from_string(codecs.decode(value, "unicode_escape"))
    raise T.TemplateLoadError(f"the server's --chat-template {value!r} looks like a file path, but "
                              "it cannot be opened", file=value)


def run(ctx: RecordContext) -> None:
    todo = [c for c in ctx.conversations
            if not ctx.target(c).is_framework and not c.dialect.is_dataset]
    if not todo:
        return
    ctx.needs_template = True
    env = ctx.template
    if env is None or env.template is None:
        return
    from qwenlint import template as T

    opts = ctx.options
    for conv in todo:
        if not conv.messages or not all(isinstance(m.raw, dict) for m in conv.messages):
            continue
        if ctx.target(conv) is Target.VLLM:
            messages, consumer = template_messages(conv), "template"
        else:
            messages, consumer = [m.raw for m in conv.messages], "processor"
        tools = conv.record.get("tools") if isinstance(conv.record, dict) else None
        if not (isinstance(tools, list) and all(isinstance(t, dict) for t in tools)):
            tools = None
        release = ctx.run.versions.packages.get("transformers") if consumer == "processor" else None
        kwargs = dict(add_generation_prompt=opts.add_generation_prompt,
                      add_vision_id=opts.add_vision_id or None, enable_thinking=opts.enable_thinking,
                      tools=tools, tokens=env.tokens, consumer=consumer,
                      transformers=release.version if release is not None else None)
        res = None
        if not any(True for _ in conv.media_parts()):
            # No media part: per-part attribution can only matter through pads in the text.  The
            # plain render (about half the cost) gives the same text, pad counts, literal tokens
            # and errors; when its text holds no pad at all, every part would be attributed 0 pads
            # and there is no stray pad, which is all the rules read (they look up media parts
            # only), so it is kept.  Any pad in the text -> render again with attribution.
            res = T.render(env.template, messages, attribute=False, stops=ctx.run.template_stops, **kwargs)
            if res.ok and any(res.pad_counts.values()):
                res = None
        ctx.renders[conv.index] = res if res is not None else T.render(env.template, messages,
                                                                       stops=ctx.run.template_stops, **kwargs)
