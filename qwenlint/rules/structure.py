"""QL1xx — the shape of conversations and messages: batches, roles, content."""

from __future__ import annotations

import json

from qwenlint.consumers import transformers as transformers_consumer
from qwenlint.consumers import Target
from qwenlint.context import RecordContext
from qwenlint.diagnostics import Applicability, Fix, Severity
from qwenlint.dialects import keys as K
from qwenlint.media import memory
from qwenlint.pointer import join
from qwenlint.rules.base import Finding, Span, needs, rule


def _short(value, limit: int = 60) -> str:
    s = json.dumps(value, ensure_ascii=False, default=memory.describe)  # API objects: described
    return s if len(s) <= limit else s[: limit - 1] + "…"


@rule("QL101", "not-a-conversation", Severity.ERROR,
      "The value is not a conversation, a batch of conversations or a dataset record.")
@needs("shape")
def not_a_conversation(ctx: RecordContext):
    """What: A top-level value (or a batch item, or a record) that is neither a list of messages, a
    list of conversations, nor an object holding ``messages`` / ``conversations``.

    Why: ``apply_chat_template`` and ``process_vision_info`` index into it and fail with
    ``TypeError``/``KeyError`` far from the cause.

    Example: ``{"mesages": [{"role": "user", "content": "Hi"}]}``

    Fix: Write a list of ``{"role", "content"}`` messages, or wrap it as ``{"messages": [...]}``.
    """
    for issue in ctx.shape_issues("not-a-conversation"):
        guess = (issue.data or {}).get("did_you_mean")
        keys = (issue.data or {}).get("keys")
        msg = issue.message
        if keys:
            msg += f" (it has keys {', '.join(map(repr, keys))})"
        yield Finding(issue.pointer, msg,
                      help=(f"did you mean \"{guess}\"? " if guess and keys and guess not in keys
                            else "") + "a conversation is [{\"role\": \"user\", \"content\": ...}, ...]")


@rule("QL102", "mixed-batch-nesting", Severity.ERROR,
      "A list mixes conversations (lists of messages) and bare messages.")
@needs("shape")
def mixed_batch_nesting(ctx: RecordContext):
    """What: A top-level list whose items disagree: some are conversations (lists of messages),
    others are single message objects.  Usually the result of ``messages.append({...})`` where
    ``messages.append([{...}])`` was meant.

    Why: transformers and qwen-vl-utils decide from the *first* item whether the input is a batch.
    If it is a list, every item is taken as a conversation and a stray message crashes them:
    qwen-vl-utils ``TypeError: string indices must be integers, not 'str'``, transformers
    ``AttributeError: 'str' object has no attribute 'items'``.  If the first item is a message, the
    nested lists are taken as messages and crash the same way.

    Example: ``[[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}],
    {"role": "user", "content": "c"}]``

    Fix: Make every item the same shape: wrap the stray message in a list (``[{...}]``), or
    flatten the conversations into one.
    """
    issues = list(ctx.shape_issues("mixed-nesting"))
    if not issues:
        return
    batch_first = issues[0].data.get("expected") == "conversation"
    for issue in issues:
        idx = issue.pointer.rsplit("/", 1)[-1]
        if batch_first:
            value = next((c.messages[0].raw for c in ctx.conversations if c.pointer == issue.pointer),
                         None)
            yield Finding(
                issue.pointer,
                f"item {idx} is a single message, but item 0 is a conversation (a list of messages), "
                "so the whole input is read as a batch and this item as a conversation: "
                "qwen-vl-utils raises TypeError: string indices must be integers, not 'str'; "
                "transformers raises AttributeError: 'str' object has no attribute 'items'",
                help=f"wrap item {idx} in a list — messages.append([{{...}}]), not "
                     "messages.append({...})",
                fix=Fix(f"wrap item {idx} in a list", issue.pointer, [value]) if value is not None
                else None,
                data={"expected": "conversation", "got": "message"})
        else:
            yield Finding(
                issue.pointer,
                f"item {idx} is a list (a conversation), but item 0 is a message, so the input is "
                "read as one conversation and this item as a message: the chat template and "
                "qwen-vl-utils index it like a dict and fail",
                help="make every item a message (one conversation), or every item a list of "
                     "messages (a batch)",
                data={"expected": "message", "got": "conversation"})


@rule("QL103", "single-message", Severity.ERROR,
      "A single message object where a conversation (a list of messages) is expected.")
@needs("shape")
def single_message(ctx: RecordContext):
    """What: The file holds one ``{"role", "content"}`` object instead of a list of them.

    Why: ``apply_chat_template(message)`` iterates the dict's keys as messages and fails with
    ``TypeError: string indices must be integers``; ``process_vision_info`` fails with ``KeyError: 0``.

    Example: ``{"role": "user", "content": "Describe."}``

    Fix: Wrap it in a list: ``[{"role": "user", "content": "Describe."}]``.
    """
    for issue in ctx.shape_issues("single-message"):
        yield Finding(issue.pointer, issue.message + ": the consumers iterate it as a list and fail",
                      help="wrap the message in a list: [{...}]",
                      fix=Fix("wrap the message in a list", issue.pointer,
                              [issue.data.get("value")]))


@rule("QL104", "invalid-message", Severity.ERROR, "A message is not an object.")
@needs("schema")
def invalid_message(ctx: RecordContext):
    """What: An item of a conversation that is not an object (a string, a number, null, ...).

    Why: The chat template reads ``message['role']`` and raises
    ``jinja2.exceptions.UndefinedError`` or ``TypeError``.

    Example: ``["Describe the image.", {"role": "assistant", "content": "..."}]``

    Fix: Write every message as ``{"role": ..., "content": ...}``.
    """
    for issue in ctx.schema_issues("message"):
        help_ = "write it as {\"role\": \"user\", \"content\": ...}"
        fix = None
        if isinstance(issue.value, str):
            fix = Fix("make it a user message", issue.pointer,
                      {"role": "user", "content": issue.value}, Applicability.UNSAFE)
        yield Finding(issue.pointer, issue.message, help=help_, fix=fix)


@rule("QL105", "missing-role", Severity.ERROR, "A message has no \"role\".")
def missing_role(ctx: RecordContext):
    """What: A message object without a ``role`` key (or, in ShareGPT datasets, without ``from``).

    Why: Every Qwen template renders ``'<|im_start|>' + message['role']``; a missing role raises
    ``UndefinedError`` or renders an empty role the model was never trained on.

    Example: ``[{"content": "Describe the image."}]``

    Fix: Add ``"role": "user"`` (or ``system``/``assistant``/``tool``).
    """
    for conv, m in ctx.messages():
        if isinstance(m.raw, dict) and m.role is None:
            key = "from" if conv.dialect == "sharegpt" else "role"
            guess = next((k for k in m.raw if K.did_you_mean(k, (key,)) == key), None)
            yield Finding(m.pointer, f"message has no \"{key}\"" +
                          (f" (found \"{guess}\")" if guess else ""),
                          help=f"rename \"{guess}\" to \"{key}\"" if guess else
                          f"add \"{key}\": \"user\" (or system / assistant / tool)")


@rule("QL106", "unknown-role", Severity.ERROR, "A message has a role the templates do not know.")
def unknown_role(ctx: RecordContext):
    """What: A role other than ``system``, ``user``, ``assistant`` and ``tool`` (ShareGPT: ``human``,
    ``gpt``, ``system``, ``observation``, ``function_call``).  Misspelt and translated roles are
    recognised and named.

    Why: The Qwen templates emit ``<|im_start|>{role}`` for any string, so the model sees a role it
    was never trained on; Qwen3-VL's template raises on unknown roles; training frameworks drop the
    record (LLaMA-Factory: ``Invalid role tag``).

    Example: ``[{"role": "用户", "content": "你好"}]``

    Fix: Use one of the four roles: ``{"role": "user", ...}``.
    """
    allowed = K.ROLES + K.EXTRA_ROLES
    for conv, m in ctx.messages():
        role = m.role
        if role is None or role in allowed:
            continue
        if not isinstance(role, str):
            yield Finding(m.role_pointer or m.pointer, f"role is {type(role).__name__}, not a string",
                          help="use \"user\", \"assistant\", \"system\" or \"tool\"")
            continue
        guess = K.translate(role) or K.did_you_mean(role, K.ROLES)
        yield Finding(m.role_pointer or m.pointer, f"unknown role {role!r}" +
                      (f" (\"{guess}\" in English)" if K.translate(role) else ""),
                      help=f"did you mean \"{guess}\"?" if guess else
                      "use \"user\", \"assistant\", \"system\" or \"tool\"",
                      fix=Fix(f"replace the role with \"{guess}\"", m.role_pointer, guess)
                      if guess and m.role_pointer and conv.dialect != "sharegpt" else None)


@rule("QL107", "invalid-content", Severity.ERROR,
      "A message's content is missing or of the wrong type.")
def invalid_content(ctx: RecordContext):
    """What: A ``user`` or ``system`` message without ``content``, or content that is neither a string
    nor a list of parts (a number, an object, ...).

    Why: The templates test ``message['content'] is string`` and otherwise iterate it; an object is
    iterated by its keys and renders garbage, a number raises ``TypeError: 'int' object is not
    iterable``.  (``assistant`` messages may omit content when they carry ``tool_calls``.)

    Example: ``[{"role": "user", "content": {"type": "text", "text": "Hi"}}]``

    Fix: Make content a string, or a list of parts: ``"content": [{"type": "text", "text": "Hi"}]``.
    """
    for issue in ctx.schema_issues("content"):
        fix = None
        if isinstance(issue.value, dict):
            fix = Fix("wrap the part in a list", issue.pointer, [issue.value])
        yield Finding(issue.pointer, issue.message,
                      help="write a string, or a list of parts: [{\"type\": \"text\", \"text\": ...}]",
                      fix=fix)
    for conv, m in ctx.messages():
        if m.content_kind in ("missing", "null") and m.role_name in ("user", "system"):
            yield Finding(m.pointer, f"{m.role_name} message has no content",
                          help="add \"content\": a string or a list of parts")


@rule("QL108", "system-not-first", Severity.WARNING,
      "A system message that is not the first message.")
def system_not_first(ctx: RecordContext):
    """What: A ``system`` message anywhere but at index 0.

    Why: The Qwen2/2.5-VL templates render it in place, but Qwen3-VL's template reads the system
    prompt only from ``messages[0]`` and silently drops any later system message; most training
    frameworks reject or move it.  The model never sees the instruction.

    Example: ``[{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."}]``

    Fix: Move the system message to the start, or merge it into the first one.
    """
    for conv in ctx.conversations:
        for m in conv.messages[1:]:
            if m.role_name == "system":
                yield Finding(m.pointer, f"system message at index {m.index}: only a system message "
                              "at index 0 is treated as the system prompt (Qwen3-VL's template drops "
                              "this one)", help="move it to the start of the conversation")


@rule("QL109", "role-order", Severity.WARNING,
      "Turns are in an order the chat format does not expect.")
def role_order(ctx: RecordContext):
    """What: A conversation whose first non-system turn is not ``user``, a ``tool`` turn that does
    not follow an ``assistant`` (or another ``tool``) turn, or a conversation with no user turn.

    Why: The models were trained on user → assistant (→ tool → assistant) turns; templates render
    other orders without complaint, and training frameworks (LLaMA-Factory: ``Invalid role tag``)
    drop such records.

    Example: ``[{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Hi"}]``

    Fix: Start with a user turn (after an optional system turn); answer tool calls with tool turns.
    """
    for conv in ctx.conversations:
        roles = [(m, m.role_name) for m in conv.messages if m.role_name]
        body = [(m, r) for m, r in roles if r != "system"]
        if not body:
            continue
        if conv.record is not None and all(r == "assistant" for _, r in body):
            continue  # pre-training records: assistant-only text is how ms-swift writes them
        if body[0][1] not in ("user", "tool"):
            article = "an" if body[0][1][0] in "aeiou" else "a"
            yield Finding(body[0][0].pointer, f"conversation starts with {article} {body[0][1]} turn; "
                          "the model expects a user turn first", help="start with a user turn")
        prev = None
        for m, r in body:
            if r == "tool" and prev not in ("assistant", "tool", None):
                yield Finding(m.pointer, f"tool turn follows a {prev} turn, not an assistant tool call",
                              help="put the tool result after the assistant turn that called it")
            prev = r


@rule("QL110", "empty-content", Severity.WARNING, "A user or system message has empty content.")
def empty_content(ctx: RecordContext):
    """What: A ``user`` or ``system`` message whose content is ``""``, ``[]`` or only empty text parts.

    Why: It renders an empty turn: the model answers a question that was never asked.  Often the
    visible symptom of a part that was dropped.

    Example: ``[{"role": "user", "content": []}]``

    Fix: Put the prompt in the message, or remove the message.
    """
    for conv, m in ctx.messages():
        if m.role_name not in ("user", "system") or m.content_kind not in ("string", "list"):
            continue
        if not m.parts or all((p.kind.value == "text" and not (p.text or "").strip()) for p in m.parts):
            yield Finding(m.content_pointer or m.pointer, f"{m.role_name} message has empty content",
                          help="write the prompt, or remove the message")


@rule("QL111", "unknown-message-key", Severity.WARNING,
      "A message has a key no consumer reads (often a misspelling).")
def unknown_message_key(ctx: RecordContext):
    """What: A message key other than ``role``, ``content``, ``name``, ``tool_calls``,
    ``tool_call_id``, ``reasoning_content`` (and a few other known ones).

    Why: The template never reads it: ``"contnet"`` or ``"内容"`` leaves the message empty, silently.

    Example: ``[{"role": "user", "contnet": "Describe the image."}]``

    Fix: Rename the key (the diagnostic suggests the closest known one), or remove it.
    """
    for conv, m in ctx.messages():
        for k in m.unknown_keys:
            guess = K.did_you_mean(k, ("role", "content") + tuple(K.MESSAGE_KEYS))
            severity = Severity.ERROR if guess in ("role", "content") and guess not in m.raw else None
            yield Finding(join(m.pointer, k), f"unknown message key {k!r}: no consumer reads it" +
                          (f" (did you mean \"{guess}\"?)" if guess else ""),
                          help=f"rename it to \"{guess}\"" if guess else "remove it",
                          severity=severity)


@rule("QL112", "content-crashes-consumer", Severity.ERROR,
      "transformers' apply_chat_template(tokenize=True) raises on this message's string content.",
      versions=(Span("transformers", "a message whose content is a non-empty string: `TypeError: string "
                     "indices must be integers, not 'str'`", until=str(transformers_consumer.STRING_CONTENT_SKIPPED)),))
def content_crashes_consumer(ctx: RecordContext):
    """What: A message whose content is a non-empty string (often the system prompt), in a
    conversation for ``processor.apply_chat_template(..., tokenize=True)`` of a transformers release
    before 5.7.0 (LLaMA-Factory 0.9.5 allows up to 5.6.0).

    Why: While it collects the media, apply_chat_template reads ``block["type"]`` of every item of
    every message's content; a string's items are its characters, so the call raises
    ``TypeError: string indices must be integers, not 'str'`` before anything is rendered.  From 5.7.0
    string content is skipped there and rendered as text.

    Example: ``[{"role": "system", "content": "You are a helpful assistant."}, {"role": "user",
    "content": [{"type": "text", "text": "Describe it."}]}]`` with ``--target transformers --assume
    transformers==5.6.0``

    Fix: Write the content as one text part, ``[{"type": "text", "text": "..."}]`` (the official
    templates render both the same), or upgrade transformers to 5.7.0 or later.
    """
    for conv, m in ctx.messages():
        if ctx.target(conv) != Target.TRANSFORMERS or m.content_kind != "string":
            continue
        content = m.raw.get("content")
        release = ctx.run.versions["transformers"]
        error = transformers_consumer.content_crash(content, release)
        if error:
            fixed = [{"type": "text", "text": content}]
            yield Finding(m.content_pointer or m.pointer,
                          f"transformers {release}'s apply_chat_template(tokenize=True) raises {error} on "
                          f"string content (it is skipped from {transformers_consumer.STRING_CONTENT_SKIPPED})",
                          help="write the content as a text part",
                          fix=Fix("write the content as one text part", m.content_pointer or m.pointer, fixed,
                                  Applicability.UNSAFE))
