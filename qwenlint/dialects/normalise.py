"""Split a parsed record into conversations and normalise every message and part into the IR.

This stage records facts (the shape of a batch, how each part was spelt, unknown keys, values of
the wrong type); it does not judge them — the rules do.  It never raises on user data.
"""

from __future__ import annotations

from typing import Any

from qwenlint.dialects import keys as K
from qwenlint.dialects.plain import plainly_valid
from qwenlint.ir import (
    Batch,
    Conversation,
    Dialect,
    Form,
    Kind,
    MediaRef,
    Message,
    Part,
    SchemaIssue,
    ShapeIssue,
)
from qwenlint.pointer import join

_KIND_OF_TYPE = {
    "text": Kind.TEXT, "input_text": Kind.TEXT,
    "image": Kind.IMAGE, "image_url": Kind.IMAGE, "input_image": Kind.IMAGE,
    "image_embeds": Kind.IMAGE, "image_pil": Kind.IMAGE,
    "video": Kind.VIDEO, "video_url": Kind.VIDEO,
    "audio": Kind.AUDIO, "audio_url": Kind.AUDIO, "input_audio": Kind.AUDIO,
}
_KIND_NAMES = ("text", "image", "video", "audio")
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "system": "system", "observation": "tool", "function_call": "assistant",
                   "tool": "tool"}
_RECORD_MEDIA_COLUMNS = (("images", Kind.IMAGE), ("videos", Kind.VIDEO), ("audios", Kind.AUDIO),
                         ("image", Kind.IMAGE), ("video", Kind.VIDEO), ("audio", Kind.AUDIO))


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


# --- parts ------------------------------------------------------------------------------------

def _translated_suggestion(d: dict) -> dict | None:
    """The part with translated keys and type values mapped to English, if any were translated."""
    changed = False
    out: dict[str, Any] = {}
    for k, v in d.items():
        ek = K.translate(k) if k not in K.ALL_PART_KEYS else None
        if ek is not None:
            changed = True
            k = ek
        if k == "type" and isinstance(v, str) and v not in K.PART_TYPES:
            ev = K.translate(v)
            if ev is not None:
                changed, v = True, ev
        out[k] = v
    return out if changed else None


def _source_of(d: dict, kind: Kind) -> str | None:
    for key in K.SOURCE_KEYS.get(kind.value, ()):
        if key in d and key != "value":
            return key
    return None


def normalise_part(d: Any, index: int, pointer: str, issues: list[SchemaIssue]) -> Part:
    """Classify one content item and validate the types of what it carries."""
    if not isinstance(d, dict):
        if isinstance(d, str):
            # A bare string inside a content list: the templates index it like a dict and fail.
            issues.append(SchemaIssue("part", pointer, f"content item is {_type_name(d)}, not an "
                                      "object: write {\"type\": \"text\", \"text\": ...}", d))
        else:
            issues.append(SchemaIssue("part", pointer, f"content item is {_type_name(d)}, not an "
                                      "object with a \"type\"", d))
        return Part(index, pointer, Kind.UNKNOWN, Form.UNKNOWN, d)

    t = d.get("type")
    if t is not None and not isinstance(t, str):
        issues.append(SchemaIssue("part", join(pointer, "type"),
                                  f"\"type\" is {_type_name(t)}; it must be a string", t))
        return Part(index, pointer, Kind.UNKNOWN, Form.UNKNOWN, d)
    kind: Kind | None = None
    form = Form.UNKNOWN
    adapter = None
    if isinstance(t, str) and t in _KIND_OF_TYPE:
        kind = _KIND_OF_TYPE[t]
        if t in ("image_url", "video_url", "audio_url"):
            if t in d:
                form = Form.OPENAI if isinstance(d[t], dict) else Form.OPENAI_STRING
                adapter = t
            elif "value" in d:
                form, adapter = Form.VALUE, "value"
            elif kind.value in d:
                form, adapter = Form.TYPED, kind.value
            else:
                form = Form.NO_SOURCE
        elif t == "input_audio":
            form, adapter = Form.OPENAI_AUDIO, "input_audio"
        elif kind is Kind.TEXT:
            if "text" in d:
                form, adapter = Form.TYPED, "text"
            elif "value" in d:
                form, adapter = Form.VALUE, "value"
            else:
                form = Form.NO_SOURCE
        elif t in ("image", "video", "audio"):
            src = _source_of(d, kind)
            if src is None:
                form = Form.VALUE if "value" in d else Form.NO_SOURCE
                adapter = "value" if form is Form.VALUE else t
            else:
                form = Form.TYPED if src in (t, "image_url") else Form.URL_KEY
                adapter = t
        else:  # image_embeds, image_pil, input_text, input_image: vLLM/OpenAI extras
            form = Form.TYPED
    elif t is None:
        for key, k in (("text", Kind.TEXT), ("image", Kind.IMAGE), ("video", Kind.VIDEO),
                       ("audio", Kind.AUDIO), ("image_url", Kind.IMAGE),
                       ("video_url", Kind.VIDEO), ("audio_url", Kind.AUDIO)):
            if key in d:
                kind = k
                if key.endswith("_url"):
                    form = Form.OPENAI if isinstance(d[key], dict) else Form.OPENAI_STRING
                    adapter = key
                else:
                    form, adapter = Form.TYPELESS, key
                break

    suggestion = None
    if kind is None:
        suggestion = _translated_suggestion(d)
        if suggestion is not None:
            et = suggestion.get("type")
            ek = next((k for k in _KIND_NAMES if k in suggestion), None)
            kind = Kind(et) if et in _KIND_NAMES else (Kind(ek) if ek else Kind.UNKNOWN)
            form = Form.TRANSLATED
        else:
            kind, form = Kind.UNKNOWN, Form.UNKNOWN

    part = Part(index, pointer, kind, form, d, declared_type=t if isinstance(t, str) else None,
                suggestion=suggestion)
    if form is Form.TRANSLATED or form is Form.UNKNOWN:
        part.unknown_keys = [k for k in d if k not in K.ALL_PART_KEYS]
        _fill_source(part, suggestion or d)
        if suggestion is not None and part.kind.is_media and part.source_key is not None \
                and part.source_key not in d:
            written = next((k for k in d if K.translate(k) == part.source_key), None)
            if written is not None:
                part.source_pointer = join(pointer, written)
        return part

    part.unknown_keys = [k for k in d if k not in K.ALL_PART_KEYS]
    if part.unknown_keys and form is Form.NO_SOURCE:
        # {"type": "image", "imgae": ...}: the misspelt key is the missing source.
        for k in part.unknown_keys:
            if K.did_you_mean(k, K.SOURCE_KEYS.get(kind.value, ())):
                part.suggestion = {(K.did_you_mean(k, K.SOURCE_KEYS[kind.value]) if x == k else x): v
                                   for x, v in d.items()}
                break
    _fill_source(part, d)
    if adapter is not None:
        _validate(adapter, _for_schema(d), pointer, kind, issues)
    return part


def _validate(adapter: str, d: dict, pointer: str, kind: Kind, issues: list[SchemaIssue]) -> None:
    """The schema's type checks of a part: pydantic's (:mod:`.models`), imported only for a part
    that is not plainly valid (:mod:`.plain`)."""
    if plainly_valid(adapter, d):
        return
    from pydantic import ValidationError

    from qwenlint.dialects.models import PART_ADAPTERS

    try:
        PART_ADAPTERS[adapter].validate_python(d)
    except ValidationError as e:
        _record_validation_errors(e, pointer, kind, issues)


#: The keys under which qwen-vl-utils and transformers take a PIL image object as the source.
_OBJECT_SOURCE_KEYS = ("image", "image_url", "video")


def _for_schema(d: dict) -> dict:
    """The part as the schema sees it: a PIL image, a numpy array or a torch tensor given through
    the Python API where a source string belongs (or as a video's frame) stands for one, as
    transformers takes each as is (:mod:`qwenlint.media.memory` reads its facts)."""
    if not any(k in d and not isinstance(d[k], str) for k in _OBJECT_SOURCE_KEYS):
        return d
    from qwenlint.media.memory import is_array, is_pil_image  # here: importing qwenlint needs no Pillow

    def sub(v: Any) -> Any:
        if is_pil_image(v) or is_array(v):  # a consumer that refuses an array says so (QL206)
            return "<in-memory image>"
        if isinstance(v, list) and any(is_pil_image(x) for x in v):
            return [sub(x) for x in v]
        return v

    return {k: sub(v) if k in _OBJECT_SOURCE_KEYS else v for k, v in d.items()}


def _clean_loc(loc: list[str]) -> list[str]:
    """pydantic adds union member tags ("str", "list[str]", "_Url") to locations; drop them."""
    return [x for x in loc if x and not x[0].isupper() and not x.startswith("_") and x not in
            ("str", "int", "float", "list[str]", "function-after", "constrained-float")
            and not x.startswith(("list[", "function-", "union[", "constrained-"))]


def _record_validation_errors(e: Any, pointer: str, kind: Kind,
                              issues: list[SchemaIssue]) -> None:
    """One SchemaIssue per failing location; of a union's alternatives, only the deepest error."""
    found: dict[str, tuple[dict, list[str]]] = {}
    for err in e.errors(include_url=False):
        loc = _clean_loc([str(x) for x in err["loc"]])
        if err.get("type") == "missing" and loc:
            # A missing key is reported at the object that lacks it (the key is not in the file).
            err = {**err, "msg": f"\"{loc[-1]}\" is required", "input": None}
            loc = loc[:-1]
        ptr = join(pointer, *loc)
        found.setdefault(ptr, (err, loc))
    for ptr, (err, loc) in found.items():
        if any(other != ptr and other.startswith(ptr + "/") for other in found):
            continue  # a deeper error explains this one (e.g. image_url → image_url/url)
        if any(i.pointer == ptr for i in issues):
            continue
        val = err.get("input")
        key = loc[0] if loc else None
        is_option = key is not None and key not in ("text", "type") and \
            key not in K.SOURCE_KEYS.get(kind.value, ())
        issues.append(SchemaIssue("option" if is_option else "part", ptr,
                                  _pydantic_message(err, val), val, {"key": key}))


def _pydantic_message(err: dict, value: Any) -> str:
    t = err.get("type", "")
    if t == "finite_number":
        return f"must be a finite number, not {value!r}"
    if value is None and t in ("int_type", "float_type", "string_type"):
        return "must be a " + ("string" if t == "string_type" else "number") + ", not null"
    if t in ("int_type", "float_type", "int_parsing", "float_parsing") or "number" in err.get("msg", ""):
        return f"must be a number, not {_type_name(value)} {value!r}"[:200]
    if t == "string_type":
        return f"must be a string, not {_type_name(value)}"
    if t == "missing":
        return err.get("msg", "is required")
    if t == "literal_error":
        return f"{err.get('msg', 'invalid value')}, got {value!r}"[:200]
    return f"{err.get('msg', 'invalid value')}"[:200]


def _fill_source(part: Part, d: dict) -> None:
    if part.kind is Kind.TEXT:
        v = d.get("text", d.get("value"))
        part.text = v if isinstance(v, str) else None
        part.source_key = "text" if "text" in d else ("value" if "value" in d else None)
        return
    if not part.kind.is_media:
        return
    opts = (K.IMAGE_OPTIONS if part.kind is Kind.IMAGE else
            K.VIDEO_OPTIONS if part.kind is Kind.VIDEO else K.AUDIO_OPTIONS)
    part.options = {k: d[k] for k in opts if k in d}
    for key in K.SOURCE_KEYS[part.kind.value]:
        if key in d:
            v = d[key]
            if isinstance(v, dict):
                v = v.get("url", v.get("data"))
            part.source, part.source_key = v, key
            # The source keys are fixed names without "~" or "/": no pointer escaping needed.
            part.source_pointer = f"{part.pointer}/{key}"
            if isinstance(d[key], dict) and "url" in d[key]:
                part.source_pointer = f"{part.pointer}/{key}/url"
            return


# --- messages ---------------------------------------------------------------------------------

def normalise_message(m: Any, index: int, pointer: str, issues: list[SchemaIssue],
                      sharegpt: bool = False) -> Message:
    msg = Message(index, pointer, m)
    if not isinstance(m, dict):
        issues.append(SchemaIssue("message", pointer, f"message is {_type_name(m)}, not an object "
                                  "with \"role\" and \"content\"", m))
        msg.content_kind = "invalid"
        return msg
    role_key, content_key = ("from", "value") if sharegpt else ("role", "content")
    if role_key in m:
        role = m[role_key]
        msg.role_pointer = f"{pointer}/{role_key}"  # fixed key names: nothing to escape
        msg.role = _SHAREGPT_ROLES.get(role, role) if sharegpt and isinstance(role, str) else role
    msg.unknown_keys = [k for k in m if k not in K.MESSAGE_KEYS and k not in (role_key, content_key)]
    if content_key not in m:
        msg.content_kind = "missing"
        return msg
    content = m[content_key]
    cptr = f"{pointer}/{content_key}"
    msg.content_pointer = cptr
    if isinstance(content, str):
        msg.content_kind = "string"
        msg.parts.append(Part(0, cptr, Kind.TEXT, Form.STRING, content, text=content))
    elif isinstance(content, list):
        msg.content_kind = "list"
        msg.parts = [normalise_part(p, i, f"{cptr}/{i}", issues) for i, p in enumerate(content)]
    elif content is None:
        msg.content_kind = "null"
    else:
        msg.content_kind = "invalid"
        issues.append(SchemaIssue("content", cptr, f"\"{content_key}\" is {_type_name(content)}; "
                                  "it must be a string or a list of parts", content))
    return msg


def _conversation(msgs: list, pointer: str, index: int, issues: list[SchemaIssue],
                  dialect: Dialect | None = None, sharegpt: bool = False) -> Conversation:
    conv = Conversation(index=index, pointer=pointer, dialect=dialect or Dialect.NATIVE)
    conv.messages = [normalise_message(m, i, f"{pointer}/{i}", issues, sharegpt)
                     for i, m in enumerate(msgs)]
    if dialect is None:
        conv.dialect = _parts_dialect(conv)
    return conv


def _parts_dialect(conv: Conversation) -> Dialect:
    """"openai" when the media parts are written the OpenAI way, else "native"."""
    openai = native = 0
    for _, p in conv.parts():
        if p.form in (Form.OPENAI, Form.OPENAI_STRING, Form.OPENAI_AUDIO) or \
                p.declared_type in ("video_url", "audio_url", "input_audio"):
            openai += 1
        elif p.kind.is_media:
            native += 1
    return Dialect.OPENAI if openai > native else Dialect.NATIVE


# --- records and batches ----------------------------------------------------------------------

def _is_batch_line(rec: dict) -> bool:
    """A line of an OpenAI batch file: ``{"custom_id", "method", "url", "body": {request}}``."""
    return isinstance(rec.get("body"), dict) and "messages" in rec["body"] and \
        ("custom_id" in rec or "url" in rec)


def _record_conversation(rec: dict, pointer: str, index: int, issues: list[SchemaIssue],
                         shape_issues: list[ShapeIssue]) -> Conversation | None:
    """A dataset record or a request object holding a conversation (a chat-completions request
    body, also inside an OpenAI batch line, is read in the OpenAI dialect)."""
    if _is_batch_line(rec):
        return _record_conversation(rec["body"], join(pointer, "body"), index, issues, shape_issues)
    if isinstance(rec.get("model"), str) and isinstance(rec.get("messages"), list):
        conv = _conversation(rec["messages"], join(pointer, "messages"), index, issues,
                             dialect=Dialect.OPENAI)
        conv.record, conv.record_pointer = rec, pointer
        return conv
    if "conversations" in rec and isinstance(rec["conversations"], list):
        conv = _conversation(rec["conversations"], join(pointer, "conversations"), index, issues,
                             dialect=Dialect.SHAREGPT, sharegpt=True)
    elif "messages" in rec and isinstance(rec["messages"], list):
        conv = _conversation(rec["messages"], join(pointer, "messages"), index, issues)
        # ms-swift also reads the singular columns (RowPreprocessor maps image → images, ...).
        has_columns = any(k in rec for k in ("images", "videos", "audios", "objects",
                                             "image", "video", "audio"))
        if has_columns or (conv.dialect is Dialect.NATIVE and _has_tags(conv)):
            conv.dialect = Dialect.MESSAGES_RECORD
    elif "instruction" in rec:
        conv = Conversation(index=index, pointer=pointer, dialect=Dialect.ALPACA)
        for i, (key, role) in enumerate((("system", "system"), ("instruction", "user"),
                                         ("output", "assistant"))):
            if isinstance(rec.get(key), str):
                m = Message(i, join(pointer, key), rec[key], role=role,
                            content_pointer=join(pointer, key), content_kind="string")
                m.parts.append(Part(0, join(pointer, key), Kind.TEXT, Form.STRING, rec[key],
                                    text=rec[key]))
                conv.messages.append(m)
    else:
        key = "messages" if "messages" in rec else ("conversations" if "conversations" in rec else None)
        if key is not None:
            shape_issues.append(ShapeIssue("not-a-conversation", join(pointer, key),
                                           f"\"{key}\" is {_type_name(rec[key])}; it must be a list "
                                           "of messages"))
        else:
            guess = K.did_you_mean(next(iter(rec), ""), ("messages", "conversations", "role"))
            shape_issues.append(ShapeIssue(
                "not-a-conversation", pointer,
                "object is not a conversation: expected a list of messages, an object with "
                "\"messages\" (or \"conversations\"), or a batch (a list of conversations)",
                {"keys": list(rec)[:10], "did_you_mean": guess}))
        return None
    conv.record = rec
    conv.record_pointer = pointer
    for col, kind in _RECORD_MEDIA_COLUMNS:
        if col not in rec:
            continue
        v = rec[col]
        items = v if isinstance(v, list) else [v]
        base = join(pointer, col)
        for i, s in enumerate(items):
            conv.media.append(MediaRef(kind, i, f"{base}/{i}" if isinstance(v, list) else base, s))
    return conv


def _has_tags(conv: Conversation) -> bool:
    return any(p.text and ("<image>" in p.text or "<video>" in p.text or "<audio>" in p.text)
               for _, p in conv.parts() if p.form is Form.STRING)


def _add_array_record(out: Batch, item: Any, index: int) -> None:
    if isinstance(item, dict):
        conv = _record_conversation(item, f"/{index}", index, out.schema_issues, out.shape_issues)
        if conv is not None:
            out.conversations.append(conv)
    else:
        out.shape_issues.append(ShapeIssue("not-a-conversation", f"/{index}",
                                           f"record is {_type_name(item)}, not an object"))


def normalise_array_record(item: Any, index: int) -> Batch:
    """Element ``index`` of a top-level array of dataset records, exactly as :func:`normalise` of
    the whole array would normalise it (pointers ``/<index>/...``): for streamed arrays."""
    out = Batch(shape="records")
    _add_array_record(out, item, index)
    return out


def normalise(value: Any) -> Batch:
    """Split one record (a parsed JSON document or JSONL line) into conversations."""
    out = Batch()
    issues = out.schema_issues
    if isinstance(value, dict):
        if "role" in value and ("content" in value or "messages" not in value):
            out.shape = "invalid"
            out.shape_issues.append(ShapeIssue(
                "single-message", "", "a single message object, not a conversation: "
                "conversations are lists of messages", {"value": value}))
            conv = Conversation(index=0, pointer="", dialect=Dialect.NATIVE,
                                messages=[normalise_message(value, 0, "", issues)])
            conv.dialect = _parts_dialect(conv)
            out.conversations.append(conv)
            return out
        out.shape = "record"
        conv = _record_conversation(value, "", 0, issues, out.shape_issues)
        if conv is not None:
            out.conversations.append(conv)
        return out
    if not isinstance(value, list):
        out.shape = "invalid"
        out.shape_issues.append(ShapeIssue("not-a-conversation", "",
                                           f"the file holds {_type_name(value)}; expected a list of "
                                           "messages or a batch of conversations"))
        return out
    if not value:
        out.shape = "invalid"
        out.shape_issues.append(ShapeIssue("empty", "", "empty list: no conversation to check"))
        return out
    first = value[0]
    if isinstance(first, list):
        out.shape = "batch"
        for i, item in enumerate(value):
            ptr = f"/{i}"
            if isinstance(item, list):
                out.conversations.append(_conversation(item, ptr, i, issues))
            elif isinstance(item, dict) and not K.looks_like_record(item):
                out.shape_issues.append(ShapeIssue("mixed-nesting", ptr, "", {
                    "expected": "conversation", "got": "message", "first": 0}))
                # Still check the stray message, as a conversation of its own.
                conv = Conversation(index=i, pointer=ptr, dialect=Dialect.NATIVE,
                                    messages=[normalise_message(item, 0, ptr, issues)])
                conv.dialect = _parts_dialect(conv)
                out.conversations.append(conv)
            else:
                out.shape_issues.append(ShapeIssue("not-a-conversation", ptr,
                                                   f"batch item is {_type_name(item)}, not a "
                                                   "conversation (a list of messages)"))
        return out
    if isinstance(first, dict) and K.looks_like_record(first):
        out.shape = "records"
        for i, item in enumerate(value):
            _add_array_record(out, item, i)
        return out
    if isinstance(first, dict) or any(isinstance(x, dict) and "role" in x for x in value[:50]):
        out.shape = "conversation"
        lists = [i for i, item in enumerate(value) if isinstance(item, list)]
        for i in lists:
            out.shape_issues.append(ShapeIssue("mixed-nesting", f"/{i}", "", {
                "expected": "message", "got": "conversation", "first": 0}))
        conv = _conversation(value, "", 0, issues) if not lists else \
            _conversation_skipping(value, lists, issues)
        out.conversations.append(conv)
        return out
    out.shape = "invalid"
    out.shape_issues.append(ShapeIssue("not-a-conversation", "/0",
                                       f"the list holds {_type_name(first)}; expected message "
                                       "objects or conversations (lists of messages)"))
    return out


def _conversation_skipping(value: list, skip: list[int], issues: list[SchemaIssue]) -> Conversation:
    conv = Conversation(index=0, pointer="", dialect=Dialect.NATIVE)
    skipped = set(skip)
    conv.messages = [normalise_message(m, i, f"/{i}", issues) for i, m in enumerate(value)
                     if i not in skipped]
    conv.dialect = _parts_dialect(conv)
    return conv

