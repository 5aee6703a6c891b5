"""QL3xx — the chat template: does it parse, render, and emit one pad per vision part?

The template stage renders every conversation with the template the consumer uses and attributes
each emitted pad to the part the template was reading.  These rules compare that with what the
consumer loads (:mod:`qwenlint.consumers`): a part that is loaded but gets no pad, or gets a pad but
is not loaded, is the "features and tokens do not match" crash, found before any GPU run.
"""

from __future__ import annotations

from typing import Any

from qwenlint.consumers import Target, transformers
from qwenlint.context import RecordContext
from qwenlint.diagnostics import Severity
from qwenlint.ir import Form
from qwenlint.pointer import join
from qwenlint.rules.base import Finding, Scope, Span, needs, rule

_PAD_NAMES = {"image": "<|image_pad|>", "video": "<|video_pad|>", "audio": "<|audio_pad|>"}
_FEATURES = {"image": "Image features and image tokens do not match",
             "video": "Video features and video tokens do not match",
             "audio": "Audio features and audio tokens do not match"}


def _rendered_parts(ctx: RecordContext):
    """(conversation, message, part, PartPads, position of the message) for rendered media parts."""
    for conv in ctx.conversations:
        res = ctx.renders.get(conv.index)
        if res is None or not res.ok or res.attribution == "off":
            continue
        for pos, m in enumerate(conv.messages):
            for p in m.parts:
                if not p.kind.is_media or p.form is Form.STRING:
                    continue
                pads = res.part(pos, p.index)
                if pads is not None:
                    yield conv, m, p, pads, res


def _pad_name(ctx: RecordContext, kind: str) -> str:
    env = ctx.template
    if env is not None and env.tokens is not None:
        return env.tokens.pads.get(kind, _PAD_NAMES.get(kind, kind))
    return _PAD_NAMES.get(kind, kind)


def _caveat(ctx: RecordContext) -> str:
    """`` [the bundled ... template (unverified text ...)]`` when the run renders with a bundled
    template that is not the family's confirmed official text (an unverified text or a fallback)."""
    env = ctx.template
    return f" [{env.origin}]" if env is not None and env.bundled_note and env.origin else ""


def _features(ctx: RecordContext, pointer: str) -> str:
    pred = ctx.predictions.get(pointer)
    n = getattr(pred, "tokens", None)
    return f"{n}" if isinstance(n, int) else "N"


@rule("QL301", "template-syntax-error", Severity.ERROR, "The chat template does not parse.",
      scope=Scope.RUN)
@needs("template")
def template_syntax_error(ctx: RecordContext):
    """What: A chat template (``--template``, or the one in ``--model``) with a Jinja syntax error;
    the position is given in the file, also inside ``chat_template.json`` / ``tokenizer_config.json``.

    Why: ``apply_chat_template`` raises ``jinja2.exceptions.TemplateSyntaxError`` on the first call;
    a hand-edited ``chat_template.json`` breaks every request.

    Example: ``{% for message in messages %}{{ message['role'] }}`` (no ``{% endfor %}``)

    Fix: Fix the template at the reported line, or use the model's official template.
    """
    env = ctx.template
    if env is None:
        return
    issue = env.syntax or (env.load_error if getattr(env.load_error, "file_line", None) else None)
    if issue is not None:
        yield Finding("", f"chat template syntax error: {issue.message}", file=issue.file or ctx.file,
                      help="fix the template at this position, or use the model's official template",
                      data={"line": issue.file_line or 1, "column": issue.file_column or 1})


@rule("QL302", "template-render-error", Severity.ERROR,
      "Rendering the conversation with the chat template raises.")
@needs("render")
def template_render_error(ctx: RecordContext):
    """What: The chat template raises while rendering this conversation: ``raise_exception(...)``
    (e.g. Qwen3-VL's "System message must be at the beginning"), a text-only template given list
    content, an undefined value, or a render stopped by qwenlint's time/size limits.

    Why: ``apply_chat_template`` fails before anything reaches the model; with a text-LLM template
    (``tokenizer.chat_template`` instead of the processor's, or an exported checkpoint) the error is
    ``TypeError: can only concatenate str (not "list") to str``.

    Example: a Qwen2.5 text template rendering ``[{"role": "user", "content": [{"type": "image", ...}]}]``

    Fix: Use the processor's chat template (``chat_template.json`` / ``chat_template.jinja`` of the
    VL checkpoint), or fix the conversation as the template's message says.
    """
    env = ctx.template
    for conv in ctx.conversations:
        res = ctx.renders.get(conv.index)
        if res is None or res.ok:
            continue
        e = res.error
        where = f" (template line {e.line})" if e.line else ""
        msg = f"the chat template raises {e.exception_type}: {e.message}{where}"
        help_ = "fix the conversation as the message says, or use the model's official template"
        if e.kind == "type-error" and "concatenate" in e.message:
            msg = (f"the chat template only renders string content, but this conversation has "
                   f"content lists: {e.exception_type}: {e.message}{where} — it is a text-LLM "
                   "template, not the vision processor's")
            help_ = "use the VL processor's chat template (chat_template.json of the checkpoint)"
        elif e.kind == "limit":
            msg = f"rendering stopped by qwenlint's {e.limit} limit: {e.message}{where}"
            help_ = "the template loops or grows without bound; inspect it"
        yield Finding(conv.messages[0].pointer if conv.messages else conv.pointer,
                      msg + (f" [{env.origin}]" if env is not None and env.origin else ""),
                      help=help_)


@rule("QL303", "media-not-rendered", Severity.ERROR,
      "A media part the consumer loads gets no pad from the chat template.")
@needs("render")
def media_not_rendered(ctx: RecordContext):
    """What: An image or video part that the consumer loads, for which the chat template emits no
    ``<|vision_start|><|image_pad|><|vision_end|>`` (or the video twin): a template with no video
    branch, a Qwen3-VL template dropping media in system or assistant turns, a part form the
    template does not test for.

    Why: The processor gets pixels but the text has no placeholder: ``ValueError: The total number
    of <|video_pad|> tokens in the prompts should be the same as the number of videos passed``, or,
    past that check, ``ValueError: Video features and video tokens do not match, tokens: 0,
    features: 560`` inside the model.

    Example: a ``chat_template.json`` without ``{% elif content['type'] == 'video' %}`` and a video part

    Fix: Use the model's official template, or move the media into a user turn.
    """
    for conv, m, p, pads, res in _rendered_parts(ctx):
        if pads.total != 0 or p.form in (Form.NO_SOURCE, Form.TRANSLATED, Form.UNKNOWN):
            continue
        target = ctx.target(conv)
        r = ctx.reading(p)
        if not r.loaded or r.crash:
            continue
        kind = p.kind.value
        role = m.role_name or "?"
        because = ""
        if role in ("system", "assistant"):
            because = f" (this template renders no media in {role} turns)"
        yield Finding(p.pointer, f"{kind} part not rendered: the chat template emits no "
                      f"{_pad_name(ctx, kind)} for it{because}, while {target} loads the {kind} — "
                      f"the model would see 0 {kind} tokens for {_features(ctx, p.pointer)} "
                      f"features ({_FEATURES.get(kind, 'features and tokens do not match')})" + _caveat(ctx),
                      help="use the model's official chat template" +
                      (", and put media in user turns" if because else ""))


@rule("QL304", "pad-without-media", Severity.ERROR,
      "The chat template emits a pad for a part the consumer does not load.",
      versions=(Span("transformers", "an OpenAI `image_url` part: `apply_chat_template` loads no image for it",
                     until=str(transformers.IMAGE_URL_NORMALISED)),))
@needs("render")
def pad_without_media(ctx: RecordContext):
    """What: A part for which the template emits a vision pad, but which the consumer does not load —
    e.g. an ``{"type": "image"}`` part whose source sits under a key the consumer does not read
    (transformers loads an image part from ``image`` / ``url`` / ``path`` / ``base64`` only), or an
    ``image_url`` object given to a consumer that skips it.

    Why: The text has more placeholders than there are images: ``ValueError: Found 1
    <|image_pad|> tokens in the text but no images were passed.`` or ``Image features and image
    tokens do not match``.

    Example: ``{"type": "image", "image_url": "https://x/a.jpg"}`` with ``--target transformers``

    Fix: Write the part in the form the consumer loads (the diagnostic shows it).
    """
    for conv, m, p, pads, res in _rendered_parts(ctx):
        if pads.total == 0 or p.form in (Form.NO_SOURCE, Form.TRANSLATED, Form.UNKNOWN):
            continue
        target = ctx.target(conv)
        r = ctx.reading(p)
        if r.loaded or r.crash:
            continue
        kind = p.kind.value
        release = None if target is Target.VLLM else ctx.run.versions["transformers"]
        yield Finding(p.pointer, f"the chat template emits {pads.total} {_pad_name(ctx, kind)} for "
                      f"this part, but {target} does not load it ({r.why}): "
                      + transformers.pad_without_media(kind, _pad_name(ctx, kind), pads.total, release) + _caveat(ctx),
                      help=f"write it as {{\"type\": \"{kind}\", \"{kind}\": ...}}")


@rule("QL305", "media-rendered-twice", Severity.ERROR,
      "The chat template emits more than one pad for one media part.")
@needs("render")
def media_rendered_twice(ctx: RecordContext):
    """What: One part receives two or more vision pads — e.g. a part carrying both ``image`` and
    ``video`` keys, with a template that tests them in two separate ``{% if %}`` blocks (the
    official templates use ``elif``: one pad), or a custom template that renders a part in two
    loops.

    Why: The processor expands each placeholder with the next image's grid: one image for two
    placeholders raises ``IndexError: index 1 is out of bounds`` or a features/tokens mismatch.

    Example: ``{"type": "image", "image": "a.jpg", "video": "b.mp4"}`` with a ``--template`` that
    has ``{% if 'image' in content %}...{% endif %}{% if 'video' in content %}...{% endif %}``

    Fix: One medium per part.
    """
    for conv, m, p, pads, res in _rendered_parts(ctx):
        if pads.total > 1:
            yield Finding(p.pointer, f"the chat template emits {pads.total} pads for this one "
                          f"{p.kind.value} part (image {pads.image}, video {pads.video}, audio "
                          f"{pads.audio}): the processor expects exactly one per item" + _caveat(ctx),
                          help="put one image or one video in each part")


@rule("QL306", "literal-special-token", Severity.ERROR,
      "A special token is typed literally inside message text.")
@needs("render")
def literal_special_token(ctx: RecordContext):
    """What: A vision or chat control token written inside user-supplied text: ``<|image_pad|>``,
    ``<|video_pad|>``, ``<|vision_start|>``, ``<|vision_end|>`` (errors: they shift every pad count
    after them) or ``<|im_start|>``, ``<|im_end|>``, ``<|endoftext|>`` (warnings: they forge turns).

    Why: The tokenizer turns the literal string into the real special token.  A typed
    ``<|image_pad|>`` is one more image placeholder than there are images: ``Image features and
    image tokens do not match, tokens: 199, features: 198`` — or the processor's ``Found 2
    <|image_pad|> tokens ... and 1 images``.  Pre-expanded prompts fail the same way.

    Example: ``{"type": "text", "text": "Look at <|image_pad|> please"}``

    Fix: Remove the token from the text; let the template emit placeholders for media parts.
    """
    vision = {"image", "video", "audio", "vision_start", "vision_end"}
    for conv in ctx.conversations:
        res = ctx.renders.get(conv.index)
        if res is None:
            continue
        env = ctx.template
        kinds = env.tokens.kind_of if env is not None and env.tokens is not None else {}
        for lt in res.literal_tokens:
            if not (0 <= lt.message_index < len(conv.messages)):
                continue
            m = conv.messages[lt.message_index]
            if lt.part_index is None:
                pointer = m.content_pointer or m.pointer
            else:
                part = next((p for p in m.parts if p.index == lt.part_index), None)
                pointer = join(part.pointer, *lt.key.split(".")) if part is not None else m.pointer
            kind = kinds.get(lt.token) if isinstance(kinds, dict) else None
            is_vision = kind in vision or any(v in lt.token for v in ("pad", "vision", "IMAGE",
                                                                       "VIDEO", "AUDIO"))
            yield Finding(pointer, f"literal {lt.token} typed in the text (offset {lt.offset}): the "
                          "tokenizer makes it a real special token" +
                          (", one more placeholder than there are media — every pad count after "
                           "it shifts" if is_vision else ", forging a turn boundary"),
                          help=f"remove {lt.token} from the text",
                          severity=None if is_vision else Severity.WARNING)


@rule("QL307", "template-emits-pads", Severity.ERROR,
      "The chat template emits vision pads that belong to no part.")
@needs("render")
def template_emits_pads(ctx: RecordContext):
    """What: Pads in the rendered prompt that no content part accounts for, emitted by the template
    itself (a hard-coded ``<|image_pad|>``, a base-checkpoint template that iterates content
    instead of messages).

    Why: Every such pad needs an image the conversation does not have: ``ValueError: Found 1
    <|image_pad|> tokens in the text but no images were passed.``

    Example: a template with ``<|vision_start|><|image_pad|><|vision_end|>`` in its system prompt

    Fix: Remove the hard-coded placeholder from the template.
    """
    for conv in ctx.conversations:
        res = ctx.renders.get(conv.index)
        if res is None or not res.ok:
            continue
        strays = [s for s in res.stray_pads if s.source == "template"]
        if strays:
            kinds = sorted({s.kind for s in strays})
            yield Finding(conv.messages[0].pointer if conv.messages else conv.pointer,
                          f"the chat template emits {len(strays)} {'/'.join(kinds)} pad(s) that no "
                          "part of this conversation accounts for: the processor has no media for "
                          "them", help="remove hard-coded placeholders from the template")


@rule("QL308", "template-sources-disagree", Severity.WARNING,
      "A model directory holds chat templates that disagree.", scope=Scope.RUN)
@needs("template")
def template_sources_disagree(ctx: RecordContext):
    """What: ``chat_template.json``, ``chat_template.jinja`` and ``tokenizer_config.json`` in one model
    directory hold different templates (or a legacy ``chat_template.json`` sits beside ``.jinja``
    files).

    Why: ``processor.apply_chat_template`` and ``tokenizer.apply_chat_template`` then render
    differently; the tokenizer's is often the text-only template, which cannot render images
    (``can only concatenate str (not "list") to str``).

    Example: a fine-tuned checkpoint whose ``tokenizer_config.json`` carries the Qwen2.5 text template

    Fix: Keep one template: the VL template in ``chat_template.jinja``.
    """
    env = ctx.template
    if env is None or not env.findings:
        return
    for f in env.findings:
        yield Finding("", f.message, file=(f.files[0] if f.files else ctx.options.model),
                      help="keep one chat template (chat_template.jinja) in the model directory",
                      # the loader's own severity: an error, a warning (the rule's default) or
                      # information (a tokenizer_config.json template that the .jinja overrides)
                      severity={"error": Severity.ERROR, "info": Severity.INFO}.get(f.severity),
                      data={"line": 1, "column": 1})


@rule("QL309", "template-unavailable", Severity.INFO,
      "No chat template to render with: pad counts per message are not checked.", scope=Scope.RUN)
@needs("template")
def template_unavailable(ctx: RecordContext):
    """What: qwenlint has no template for this run: no ``--template`` / ``--model`` was given and no
    template is bundled for the family (``qwen4-exp``: no official template is known), the
    ``--model`` directory has none, or the given file could not be read.

    Why: Without rendering, a part the template drops (the second most common cause of "features and
    tokens do not match") cannot be found.

    Example: ``qwenlint check messages.json --model DIR`` where DIR holds a ``config.json`` but no chat
    template

    Fix: Pass the checkpoint's template: ``--template chat_template.json`` or ``--model DIR``.
    """
    env = ctx.template
    if env is None or env.template is not None or env.syntax is not None:
        return
    if env.load_error is not None and getattr(env.load_error, "file_line", None):
        return  # reported as a syntax error
    sev = Severity.ERROR if env.load_error is not None else None
    yield Finding("", f"pad counts per message not checked: {env.problem}",
                  help="pass --template FILE or --model DIR", severity=sev)


# --- template-level rules: run by `qwenlint template`, which probes the template without messages
# and puts its Capabilities in the run (Run.caps).  Conversation checks do not probe.

def _template_finding(ctx: RecordContext, message: str, help_: str, severity=None) -> Finding:
    env = ctx.template
    file = getattr(getattr(env, "template", None), "origin_file", None) or ctx.file
    return Finding("", message, help=help_, severity=severity, file=file,
                   data={"line": 1, "column": 1})


def _text_only(caps: Any) -> bool:
    """Whether the template renders string content only (QL310's finding)."""
    return caps.list_content is False or (caps.content is not None and caps.content.format == "string"
                                          and caps.list_content is not True)


@rule("QL310", "template-text-only", Severity.ERROR,
      "The chat template renders only string content: it cannot place vision pads.", scope=Scope.RUN)
@needs("caps")
def template_text_only(ctx: RecordContext):
    """What: A template that concatenates ``message['content']`` as a string and never iterates a
    list of parts (probed with list content, and found by walking the Jinja AST through macros).

    Why: It is a text-LLM template (``tokenizer.chat_template`` of the base LLM, or an exported
    checkpoint's): list content raises ``TypeError: can only concatenate str (not "list") to str``
    and no ``<|image_pad|>`` is ever emitted, so images cannot be used at all.

    Example: ``{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' }}``

    Fix: Use the VL processor's template (``chat_template.json`` / ``chat_template.jinja``).
    """
    caps = ctx.run.caps
    if caps is None or caps.syntax_error is not None:
        return
    if _text_only(caps):
        yield _template_finding(ctx, "this chat template only renders string content: list content "
                                "(every image or video part) fails or is printed as text, and no "
                                "vision pad can be emitted", "use the VL processor's chat template")


@rule("QL311", "template-drops-part-form", Severity.WARNING,
      "A media part form is not rendered by the chat template.", scope=Scope.RUN)
@needs("caps")
def template_drops_part_form(ctx: RecordContext):
    """What: A way of writing an image or video part (``{"type": "video", ...}``, a bare ``image``
    key, ``image_url``, ``video_url``) for which the template emits no pad, or more than one.

    Why: Messages that use that form lose the media silently (the official Qwen2-VL template
    renders ``image_url`` but not ``video_url``) or crash with "features and tokens do not match"
    when the consumer loads the media anyway.  A template without a video branch is the seed
    report: ``Video features and video tokens do not match, tokens: 0, features: 560``.

    Example: a template testing only ``content['type'] == 'image'``

    Fix: Render every form your data uses, or normalise the data to the forms the template renders.
    """
    caps = ctx.run.caps
    if caps is None or caps.syntax_error is not None or _text_only(caps):
        return  # a text-only template is QL310: no part form renders, one finding says so
    omni = "omni" in ctx.family
    for form in caps.part_forms:
        if form.kind == "audio" and not omni:
            continue  # vision-only families have no audio encoder (QL210 covers audio parts)
        if form.error is not None:
            # the official Qwen3.5 / 3.6 templates raise on a video_url part; vLLM converts
            # video_url into {"type": "video"} before rendering, so that form is information only
            yield _template_finding(ctx, f"probing the {form.form!r} part form raised: {form.error}",
                                    "make the template render this part form" +
                                    (" (vLLM converts video_url parts to video parts first)"
                                     if form.form == "video_url" else ""),
                                    severity=Severity.INFO if form.form == "video_url" else None)
        elif not form.rendered:
            n = sum(form.pads.values())
            what = "no pad" if n == 0 else f"{n} pads ({dict(form.pads)})"
            sev = Severity.ERROR if form.form in ("type:image", "type:video") and n == 0 else None
            if form.form == "video_url" and n == 0:
                sev = Severity.INFO  # vLLM turns video_url into {"type": "video"} before rendering
            yield _template_finding(ctx, f"{form.form} parts get {what}, not one {form.kind} pad: "
                                    f"such parts are dropped from the prompt",
                                    f"render {form.form} parts, or avoid that form in your data" +
                                    (" (transformers drops video_url parts; vLLM converts them to "
                                     "video parts first)" if form.form == "video_url" else ""),
                                    severity=sev)


@rule("QL312", "template-unknown-variable", Severity.INFO,
      "The chat template reads a variable no caller passes.", scope=Scope.RUN)
@needs("caps")
def template_unknown_variable(ctx: RecordContext):
    """What: A variable the template reads that neither transformers nor the usual callers pass
    (``messages``, ``add_generation_prompt``, ``tools``, ``documents``, ``add_vision_id``,
    ``enable_thinking``, the special tokens ...).

    Why: It is always undefined — a misspelt name (``add_generation_promt``) silently disables the
    branch that reads it.

    Example: ``{% if add_generation_promt %}<|im_start|>assistant\\n{% endif %}``

    Fix: Fix the name, or pass it through ``apply_chat_template(..., name=value)``.
    """
    caps = ctx.run.caps
    if caps is None or caps.syntax_error is not None:
        return
    for name in caps.undeclared_variables:
        yield _template_finding(ctx, f"the template reads {name!r}, which no caller passes: it is "
                                "always undefined", f"check the spelling of {name!r}, or pass it "
                                "to apply_chat_template")
