"""QL2xx — content parts: types, keys, dialects, and what each consumer does with them."""

from __future__ import annotations

import json
import math

from qwenlint import consumers
from qwenlint.context import RecordContext
from qwenlint.diagnostics import Applicability, Fix, Severity
from qwenlint.dialects import keys as K
from qwenlint.ir import Form, Kind, Part
from qwenlint.media import memory
from qwenlint.pointer import join
from qwenlint.consumers.qwen_vl_utils import TYPE_OPTIONAL
from qwenlint.consumers.qwen_vl_utils import extraction as qvu_extraction
from qwenlint.rules.base import Finding, Span, needs, rule
from qwenlint.vision.checks import FRAME_SAMPLING_KEYS


def _a(word: str) -> str:
    """``word`` with its indefinite article: "an image", "a video"."""
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _j(value) -> str:
    s = json.dumps(value, ensure_ascii=False, default=memory.describe)  # API objects: described
    return s if len(s) <= 120 else s[:119] + "…"


def native_form(part: Part) -> dict | None:
    """The part rewritten in the qwen-vl-utils / transformers dialect (``{"type": k, k: src}``)."""
    if not part.kind.is_media or part.source is None:
        return None
    out = {"type": part.kind.value, part.kind.value: part.source}
    out.update(part.options)
    return out


def openai_form(part: Part) -> dict | None:
    """The part rewritten in the OpenAI / vLLM dialect."""
    if part.kind not in (Kind.IMAGE, Kind.VIDEO) or not isinstance(part.source, str):
        return None
    key = f"{part.kind.value}_url"
    return {"type": key, key: {"url": part.source}}


def _rendered_pads(ctx: RecordContext, conv, m, p: Part) -> int:
    """Pads the chat template emitted for a part (0 when not rendered or unknown)."""
    res = ctx.renders.get(conv.index)
    if res is None or not res.ok:
        return 0
    pos = next((i for i, x in enumerate(conv.messages) if x is m), None)
    pads = res.part(pos, p.index) if pos is not None else None
    return pads.total if pads is not None else 0


@rule("QL201", "unknown-part-type", Severity.ERROR,
      "A content part has a type (or no recognisable key) that no consumer reads.")
@needs("parts")
def unknown_part_type(ctx: RecordContext):
    """What: A content part whose ``type`` is not a known part type (``text``, ``image``, ``video``,
    ``audio``, ``image_url``, ``video_url``, ...), or that has no type and no recognisable key.

    Why: The chat templates render nothing for it and qwen-vl-utils skips it: the part is dropped
    without an error, and the model answers without it.

    Example: ``{"type": "imgae", "imgae": "cat.jpg"}``

    Fix: Use a known type and its key: ``{"type": "image", "image": "cat.jpg"}``.
    """
    for conv, m, p in ctx.parts():
        if p.form is not Form.UNKNOWN or not isinstance(p.raw, dict):
            continue
        t = p.declared_type
        guess = K.did_you_mean(t, K.PART_TYPES) if t else None
        if guess is None:
            guess = next((K.did_you_mean(k, ("text", "image", "video", "audio")) for k in p.raw
                          if K.did_you_mean(k, ("text", "image", "video", "audio"))), None)
        fixed = None
        if guess in ("text", "image", "video", "audio"):
            fixed = {}
            for k, v in p.raw.items():
                if k == "type":
                    fixed["type"] = guess
                elif K.did_you_mean(k, (guess,)) == guess:
                    fixed[guess] = v
                else:
                    fixed[k] = v
        if "type" in p.raw and not isinstance(p.raw["type"], str):
            continue  # a non-string type is a malformed part: invalid-part (QL209)
        if t:
            what = f"unknown part type {t!r}"
        else:
            what = f"part has no \"type\" and no known key (keys: {', '.join(map(repr, list(p.raw)[:6]))})"
        yield Finding(p.pointer, f"{what}: {_skipped(ctx, conv, p, 'this part')}",
                      help=(f"did you mean {_j(fixed)}?" if fixed else
                            f"did you mean type \"{guess}\"?" if guess else
                            "use {\"type\": \"text\" | \"image\" | \"video\", ...}"),
                      fix=Fix(f"rewrite as {_j(fixed)}", p.pointer, fixed, Applicability.UNSAFE)
                      if fixed else None)


def _skipped(ctx: RecordContext, conv, p: Part, what: str) -> str:
    """What the conversation's consumer does with a part it cannot read: skips it, or (qwen-vl-utils
    before 0.0.11, a part without "type") raises."""
    target = ctx.target(conv)
    if target == "qwen-vl-utils" and (r := qvu_extraction(p.raw, ctx.run.versions)).crash:
        return f"{target} raises {r.crash} on it ({r.why})"
    return f"{target} and the chat template skip it, so the model never sees {what}"


@rule("QL202", "translated-keys", Severity.ERROR,
      "A part is written with translated keys; consumers only read English keys.")
@needs("parts")
def translated_keys(ctx: RecordContext):
    """What: A part whose type or keys are written in another language — the real report:
    ``{"type": "视频", "视频": "file:///a.mp4", "最大像素": 50176}`` and
    ``{"type": "文本", "文本": "..."}``.

    Why: qwen-vl-utils' ``extract_vision_info`` and the chat templates test the English keys
    (``'video' in content``, ``content['type'] == 'text'``).  A translated part matches none of
    them and is dropped without any error: the model answers an empty turn, never seeing the video
    or the prompt.

    Example: ``{"type": "视频", "视频": "clip.mp4", "fps": 1.0}``

    Fix: Use the English keys: ``{"type": "video", "video": "clip.mp4", "fps": 1.0}``.
    """
    for conv, m, p in ctx.parts():
        if p.form is not Form.TRANSLATED or p.suggestion is None:
            continue
        mapped = [f"key {k!r} → \"{K.translate(k)}\"" for k in p.raw if K.translate(k) and k not in K.ALL_PART_KEYS]
        t = p.raw.get("type")
        if isinstance(t, str) and K.translate(t) and t not in K.PART_TYPES:
            mapped.insert(0, f"type {t!r} → \"{K.translate(t)}\"")
        what = {"text": "the prompt text", "image": "the image", "video": "the video",
                "audio": "the audio"}.get(p.kind.value, "this part")
        yield Finding(p.pointer, f"translated keys ({', '.join(mapped)}): {_skipped(ctx, conv, p, what)}",
                      help=f"write it as {_j(p.suggestion)}",
                      fix=Fix("translate the keys to English", p.pointer, p.suggestion))


@rule("QL203", "unknown-part-key", Severity.ERROR,
      "A part has a key no consumer reads (usually a misspelt option or source).")
@needs("parts")
def unknown_part_key(ctx: RecordContext):
    """What: A key on a known part that no consumer reads, such as ``max_pixel``, ``fps_rate`` or
    ``imgae``.

    Why: Nothing reads it, so the intended setting is silently not applied (a misspelt
    ``max_pixels`` leaves the image at up to 16 384 tokens), or the media is not loaded at all.

    Example: ``{"type": "image", "image": "a.jpg", "max_pixel": 200704}``

    Fix: Use the key the diagnostic suggests, or remove it.
    """
    for conv, m, p in ctx.parts():
        if p.form in (Form.TRANSLATED, Form.UNKNOWN) or not p.unknown_keys:
            continue
        for k in p.unknown_keys:
            guess = K.did_you_mean(k, sorted(K.ALL_PART_KEYS - {"type"}))
            fix = None
            if guess and guess not in p.raw:
                fixed = {(guess if x == k else x): v for x, v in p.raw.items()}
                fix = Fix(f"rename {k!r} to \"{guess}\"", p.pointer, fixed)
            yield Finding(join(p.pointer, k), f"unknown key {k!r} on {_a(p.kind.value)} part: no "
                          "consumer reads it" + (f" (did you mean \"{guess}\"?)" if guess else ""),
                          help=f"rename it to \"{guess}\"" if guess else "remove it", fix=fix)


@rule("QL204", "media-without-source", Severity.ERROR,
      "An image, video or audio part has nothing to load.")
@needs("media")
def media_without_source(ctx: RecordContext):
    """What: A media part with no source: ``{"type": "image"}`` with no ``image``/``url``/``path``.

    Why: Such parts are fine for *rendering* a prompt (the README's ``add_vision_id`` example), but
    as model input the template emits a pad with no image behind it: transformers raises
    ``ValueError: Found 3 <|image_pad|> tokens in the text but no images were passed.`` and
    qwen-vl-utils raises ``ValueError: image, image_url or video should in content.``

    Example: ``{"type": "image"}``

    Fix: Add the source: ``{"type": "image", "image": "file:///path/to/a.jpg"}``.
    """
    for conv, m, p in ctx.parts():
        if p.form is not Form.NO_SOURCE or not p.kind.is_media or p.suggestion:
            continue
        k = p.kind.value
        keys = ", ".join(f'"{x}"' for x in K.SOURCE_KEYS[k] if x != "value")
        yield Finding(p.pointer, f"{k} part has no source ({keys}): the template renders a "
                      f"placeholder but there is no {k} to load — as model input "
                      f"{ctx.target(conv)} raises", help=f"add the {k}: {{\"type\": \"{k}\", "
                      f"\"{k}\": \"file:///path/to/file\"}}")


@rule("QL205", "part-dropped-by-consumer", Severity.ERROR,
      "The chosen consumer silently ignores this media part.")
@needs("media")
def part_dropped_by_consumer(ctx: RecordContext):
    """What: A media part written in a form the consumer (``--target``) does not load — e.g. an OpenAI
    ``video_url`` part given to transformers or qwen-vl-utils, or a typeless ``{"image": ...}`` part
    read by a consumer that needs ``type``.

    Why: The part is neither loaded nor (with the official templates) rendered, so nothing fails:
    the model just answers without the media.  With transformers 5.23 and the Qwen2-VL template a
    ``video_url`` part gives 0 video pads and 0 videos — the seed report.

    Example: ``{"type": "video_url", "video_url": {"url": "clip.mp4"}}`` with ``--target transformers``

    Fix: Write the part in the consumer's dialect: ``{"type": "video", "video": "clip.mp4"}`` for
    transformers / qwen-vl-utils, ``{"type": "video_url", "video_url": {"url": ...}}`` for vLLM.
    """
    for conv, m, p in ctx.parts():
        if not p.kind.is_media or p.form in (Form.TRANSLATED, Form.UNKNOWN, Form.NO_SOURCE):
            continue
        target = ctx.target(conv)
        r = ctx.reading(p)
        if r.loaded or r.crash:
            continue
        if p.kind is Kind.AUDIO and "omni" not in ctx.family:
            continue  # reported by audio-without-audio-model
        if _rendered_pads(ctx, conv, m, p):
            continue  # the template still emits a pad: reported as pad-without-media (QL304)
        better = openai_form(p) if target == "vllm" else native_form(p)
        yield Finding(p.pointer, f"{target} does not load this {p.form.value} {p.kind.value} part "
                      f"({r.why}): the {p.kind.value} is silently dropped and the model never sees it",
                      help=f"write it as {_j(better)}" if better else
                      f"write it in the form {target} reads",
                      fix=Fix(f"rewrite as {_j(better)}", p.pointer, better) if better else None)


@rule("QL206", "part-crashes-consumer", Severity.ERROR,
      "The chosen consumer raises an exception on this part.",
      versions=(Span("qwen-vl-utils", "a part without `type` and without an image / image_url / video key "
                     "(`{\"text\": ...}`): `KeyError: 'type'` in `extract_vision_info`", until=str(TYPE_OPTIONAL)),))
@needs("parts")
def part_crashes_consumer(ctx: RecordContext):
    """What: A part the consumer picks up but cannot load: qwen-vl-utils given the OpenAI
    ``{"image_url": {"url": ...}}`` object, a ``url``-keyed part (a transformers form) given to
    qwen-vl-utils, the qwen-vl-utils dialect sent to a vLLM server, a part without ``type`` for
    transformers' ``apply_chat_template(tokenize=True)``.

    Why: The run dies in preprocessing with an error far from the cause:
    ``AttributeError: 'dict' object has no attribute 'startswith'``,
    ``ValueError: image, image_url or video should in content.``,
    ``BadRequestError: Unknown part type: image``, ``KeyError: 'type'``.

    Example: ``{"type": "image_url", "image_url": {"url": "https://x/a.jpg"}}`` with ``--target qwen-vl-utils``

    Fix: Write the part in the consumer's dialect (the diagnostic shows the rewrite).
    """
    for conv, m, p in ctx.parts():
        if not p.kind.is_media or p.form in (Form.TRANSLATED, Form.NO_SOURCE):
            continue
        target = ctx.target(conv)
        r = ctx.reading(p)
        if not r.crash:
            continue
        if memory.is_in_memory(p.source):  # the Python API: an object no rewrite of the part can fix
            yield Finding(p.pointer, f"{target} raises on this part: {r.crash}" + (f" ({r.why})" if r.why else ""),
                          help=f"give {target} a PIL image (e.g. PIL.Image.fromarray(array)) or a path")
            continue
        better = openai_form(p) if target == "vllm" else native_form(p)
        yield Finding(p.pointer, f"{target} raises on this part: {r.crash}" +
                      (f" ({r.why})" if r.why else ""),
                      help=f"write it as {_j(better)}" if better else
                      f"write it in the form {target} reads",
                      fix=Fix(f"rewrite as {_j(better)}", p.pointer, better) if better else None)
    # Parts without "type" that are not read as media: transformers' tokenize path reads
    # block["type"] of every item; qwen-vl-utils before 0.0.11 of every part it does not pick.
    for conv, m, p in ctx.parts():
        target = ctx.target(conv)
        if target == "transformers" and p.kind is Kind.TEXT and p.form is Form.TYPELESS:
            why = "apply_chat_template(tokenize=True) reads block[\"type\"] of every item"
        elif target == "qwen-omni-utils" and p.kind is Kind.TEXT and p.form is Form.TYPELESS:
            why = "process_mm_info's process_audio_info reads ele[\"type\"] of every item"
        elif (target == "qwen-vl-utils" and p.form not in (Form.UNKNOWN, Form.TRANSLATED)  # QL201, QL202
              and (not p.kind.is_media or p.form is Form.NO_SOURCE)
              and (r := qvu_extraction(p.raw, ctx.run.versions)).crash):
            why = r.why
        else:
            continue
        kind = p.kind.value
        yield Finding(p.pointer, f"{target} raises on this part: KeyError: 'type' ({why})",
                      help=f"add \"type\": \"{kind}\"",
                      fix=Fix(f"add \"type\": \"{kind}\"", p.pointer, {"type": kind, **p.raw}))


@rule("QL207", "option-ignored-by-consumer", Severity.WARNING,
      "A per-part option that the chosen consumer never reads.")
@needs("media")
def option_ignored_by_consumer(ctx: RecordContext):
    """What: A per-part option (``min_pixels``, ``max_pixels``, ``fps``, ``total_pixels``, ...) that
    the consumer does not read: transformers' ``apply_chat_template`` and vLLM's OpenAI server ignore
    every per-part option; qwen-vl-utils ignores video options on images.

    Why: The budget the user wrote is not applied, so the media is processed at the default budget
    — up to 16 384 tokens per image — and overflows ``max_model_len`` (``Prompt length of 16601 is
    longer than the maximum model length 10000``).

    Example: ``{"type": "image_url", "image_url": {"url": "..."}, "max_pixels": 200704}`` for vLLM

    Fix: Set it where the consumer reads it: the processor's ``size`` (transformers),
    ``--mm-processor-kwargs`` / ``extra_body={"mm_processor_kwargs": ...}`` for pixel budgets and
    ``--media-io-kwargs '{"video": {"fps": ..., "max_frames": ...}}'`` for frame sampling (vLLM),
    or preprocess with qwen-vl-utils.
    """
    where = {"transformers": "set it on the processor (e.g. size={\"longest_edge\": ...}) or "
             "preprocess with qwen-vl-utils",
             "vllm": "pass it as mm_processor_kwargs (server flag --mm-processor-kwargs or "
             "extra_body={\"mm_processor_kwargs\": {...}})",
             "qwen-vl-utils": "remove it; it has no effect on this kind of part"}
    for conv, m, p in ctx.parts():
        if not p.kind.is_media or p.form in (Form.TRANSLATED, Form.UNKNOWN):
            continue
        target = ctx.target(conv)
        for k in consumers.ignored_options(target, p):
            help = where.get(target, "remove it")
            if target == "vllm" and k in FRAME_SAMPLING_KEYS:
                help = ("vLLM's video loader samples the frames: set fps / min_frames / max_frames in the "
                        "server's --media-io-kwargs '{\"video\": {...}}' (or the request's media_io_kwargs)")
            yield Finding(join(p.pointer, k), f"{target} ignores the per-part option {k!r} on "
                          f"{_a(p.kind.value)} part: the default budget applies instead", help=help)


@rule("QL208", "invalid-option-value", Severity.ERROR,
      "A per-part option has a value of the wrong type.")
@needs("schema")
def invalid_option_value(ctx: RecordContext):
    """What: A per-part option whose value is not a number (``"fps": "2"``, ``"max_pixels": null``,
    ``"sample_fps": "1"``).

    Why: The consumers do arithmetic on it without converting: the Qwen3-VL README's frame-list
    example writes ``'sample_fps': '1'`` and qwen-vl-utils 0.0.14 raises
    ``TypeError: unsupported operand type(s) for /: 'int' and 'str'``.

    Example: ``{"type": "video", "video": ["f1.jpg", "f2.jpg"], "sample_fps": "1"}``

    Fix: Write the number without quotes: ``"sample_fps": 1``.
    """
    for issue in ctx.schema_issues("option"):
        key = (issue.data or {}).get("key")
        fix = None
        if isinstance(issue.value, str):
            try:
                num = float(issue.value)
                if not math.isfinite(num):
                    raise ValueError(issue.value)
                fix = Fix(f"write {key} as a number", issue.pointer,
                          int(num) if num.is_integer() and "." not in issue.value else num)
            except ValueError:
                pass
        yield Finding(issue.pointer, f"{key!r} {issue.message}: the consumers compute with it and "
                      "raise TypeError", help="write a number without quotes", fix=fix)


@rule("QL209", "invalid-part", Severity.ERROR, "A content part is malformed.")
@needs("schema")
def invalid_part(ctx: RecordContext):
    """What: A content item that is not an object, or a part whose text or source has the wrong type
    (``"text": 5``, ``"image": ["a.jpg"]``, ``"image_url": {"uri": ...}``).

    Why: The template renders ``content['text']`` and the loaders call ``.startswith`` on the
    source: wrong types raise ``TypeError`` / ``AttributeError`` inside the consumer.

    Example: ``{"type": "text", "text": ["Describe", "the image"]}``

    Fix: Text is a string; an image source is one string (a path, URL or data URI).
    """
    for issue in ctx.schema_issues("part"):
        fix = None
        if isinstance(issue.value, str) and issue.message.startswith("content item is a string"):
            fix = Fix("wrap the string in a text part", issue.pointer,
                      {"type": "text", "text": issue.value})
        yield Finding(issue.pointer, issue.message if issue.message.startswith(("content item", "\""))
                      else f"{issue.pointer.rsplit('/', 1)[-1]!r} {issue.message}",
                      help="text is a string; a media source is one string (path, URL or data URI)",
                      fix=fix)


@rule("QL210", "audio-without-audio-model", Severity.ERROR,
      "An audio part for a model family without an audio encoder.")
@needs("media")
def audio_without_audio_model(ctx: RecordContext):
    """What: An ``audio`` / ``input_audio`` / ``audio_url`` part while the family (``--family``) is a
    vision-only model (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Qwen3.5).

    Why: Only the Omni models have an audio encoder.  The VL templates render no audio placeholder
    and qwen-vl-utils never loads audio, so the clip is dropped without an error.

    Example: ``{"type": "audio", "audio": "question.wav"}`` with ``--family qwen2.5-vl``

    Fix: Use an Omni model (``--family qwen2.5-omni``), or transcribe the audio into text.
    """
    if "omni" in ctx.family:
        return
    for conv, m, p in ctx.parts():
        if p.kind is Kind.AUDIO and p.form not in (Form.TRANSLATED, Form.UNKNOWN):
            yield Finding(p.pointer, f"audio part, but {ctx.family} has no audio encoder: the audio "
                          "is dropped and the model never hears it",
                          help="use an Omni family (qwen2.5-omni, qwen3-omni) or transcribe the audio")
