"""The JSON Schema ``qwenlint schema`` prints: every file qwenlint reads, strict where a typo hides.

Editors and check-jsonschema validate a file against one schema, so it has to accept every input
qwenlint reads — a conversation, a batch of them, a dataset file or record
(ms-swift / LLaMA-Factory ``messages``, ShareGPT ``conversations``, Alpaca ``instruction``), an
OpenAI request body and a line of an OpenAI batch file — and reject what would be silently
dropped or fail: a part or message key qwenlint does not know (``"imgae"``, ``"视频"``), a role no
Qwen template reads, a value of the wrong type, a single message where a list belongs (QL103).

Strict are the parts (each part model's fields, from :mod:`qwenlint.dialects.models`, plus the
keys every consumer ignores harmlessly) and the OpenAI-style messages (:data:`keys.MESSAGE_KEYS`,
roles :data:`keys.ROLES` and :data:`keys.EXTRA_ROLES`).  Open are the records and request bodies
(frameworks keep extra columns; a request has dozens of sampling parameters) and ShareGPT turns
(their role and content keys are configurable in ``dataset_info.json``).  What a file means to a
given consumer is ``qwenlint check``'s business, not the schema's.
"""

from __future__ import annotations

from typing import Any

from qwenlint.dialects import keys as K

_MEDIA_COLUMN = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                           {"type": "null"}]}


def _strict_parts(defs: dict[str, Any]) -> None:
    """Each part model: its own fields and the harmless keys, nothing else."""
    for name, d in defs.items():
        if name.endswith("Part"):
            d["additionalProperties"] = False
            for k in K.HARMLESS_KEYS:
                d["properties"].setdefault(k, {})


def _type_values(part: dict[str, Any]) -> list[str]:
    """The ``type`` values a part model's schema takes (its ``const`` / ``enum``)."""
    t = part["properties"].get("type", {})
    out = []
    for alt in t.get("anyOf", [t]):
        out += [alt["const"]] if "const" in alt else alt.get("enum", [])
    return [v for v in out if isinstance(v, str)]


def _message(defs: dict[str, Any]) -> None:
    msg = defs["Message"]
    msg["additionalProperties"] = False
    msg["properties"]["role"] = {"enum": list(K.ROLES + K.EXTRA_ROLES),
                                 "description": "Who speaks; the Qwen templates read these roles."}
    for k in sorted(K.MESSAGE_KEYS):
        msg["properties"].setdefault(k, {})


def json_schema() -> dict[str, Any]:
    """The schema (draft 2020-12) of every file ``qwenlint check`` reads."""
    from pydantic import TypeAdapter

    from qwenlint.dialects.models import Message, ValuePart

    schema = TypeAdapter(tuple[list[Message], ValuePart]).json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = schema.pop("$defs")
    _strict_parts(defs)
    _message(defs)
    # the part types no model declares (vLLM / OpenAI Responses extras) are open; LLaMA-Factory
    # v1's {"type": ..., "value": ...} parts are a model of their own, outside Message's union
    modelled = {v for name, d in defs.items() if name.endswith("Part") for v in _type_values(d)}
    defs["ExtraPart"] = {"type": "object", "required": ["type"],
                         "properties": {"type": {"enum": [t for t in K.PART_TYPES if t not in modelled]}}}
    parts = defs["Message"]["properties"]["content"]["anyOf"][1]["items"]["anyOf"]
    parts += [{"$ref": "#/$defs/ValuePart"}, {"$ref": "#/$defs/ExtraPart"}]
    conversation = {"type": "array", "items": {"$ref": "#/$defs/Message"}}
    turn = {"type": "object", "description": "A ShareGPT turn: {\"from\", \"value\"} by default "
            "(other tags are set in dataset_info.json).",
            "anyOf": [{"required": ["from", "value"]}, {"required": ["role", "content"]}],
            "properties": {"from": {"type": "string"}, "value": {"type": ["string", "null"]},
                           "role": {"type": "string"}}}
    columns = {k: _MEDIA_COLUMN for k in ("images", "videos", "audios", "image", "video", "audio",
                                           "rejected_images")}
    defs.update({
        "Conversation": conversation,
        "MessagesRecord": {"type": "object", "required": ["messages"],
                           "description": "A dataset record with a messages column (ms-swift, "
                                          "LLaMA-Factory's openai formatting).",
                           "properties": {"messages": {"$ref": "#/$defs/Conversation"},
                                          "rejected_messages": {"$ref": "#/$defs/Conversation"},
                                          **columns}},
        "ShareGPTRecord": {"type": "object", "required": ["conversations"],
                           "properties": {"conversations": {"type": "array", "items": turn}, **columns}},
        "AlpacaRecord": {"type": "object", "required": ["instruction"],
                         "properties": {"instruction": {"type": "string"}, "input": {"type": "string"},
                                        **columns}},
        "RequestBody": {"type": "object", "required": ["messages"],
                        "description": "An OpenAI chat-completions request body (vLLM).",
                        "properties": {"model": {"type": "string"},
                                       "messages": {"$ref": "#/$defs/Conversation"}}},
        "BatchLine": {"type": "object", "required": ["body"],
                      "description": "A line of an OpenAI batch file.",
                      "properties": {"custom_id": {"type": "string"},
                                     "body": {"$ref": "#/$defs/RequestBody"}}},
    })
    record = {"anyOf": [{"$ref": f"#/$defs/{n}"} for n in
                        ("MessagesRecord", "ShareGPTRecord", "AlpacaRecord", "BatchLine")]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Qwen-VL model input (qwenlint)",
        "description": "A conversation, a batch of conversations, a dataset file or "
                       "record, an OpenAI request body or batch-file line.",
        "anyOf": [
            {"$ref": "#/$defs/Conversation"},
            {"type": "array", "items": {"$ref": "#/$defs/Conversation"}},
            record,
            {"$ref": "#/$defs/RequestBody"},
            {"type": "array", "items": record},
        ],
        "$defs": defs,
    }
