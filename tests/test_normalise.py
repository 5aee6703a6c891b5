"""The dialect normaliser: document shapes, part forms, and the pointer of every node."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.dialects.normalise import normalise
from qwenlint.ir import Form, Kind
from qwenlint.pointer import split
from test_properties import native_batch, native_conversation, openai_conversation

MSG = {"role": "user", "content": "Hi"}


def _resolve(value, pointer):
    """The value at an RFC 6901 pointer, or raise KeyError/IndexError/TypeError."""
    for token in split(pointer):
        if isinstance(value, list):
            if not token.isdigit():
                raise KeyError(token)
            value = value[int(token)]
        elif isinstance(value, dict):
            value = value[token]
        else:
            raise TypeError(f"cannot descend into {type(value).__name__} with {token!r}")
    return value


def _pointers(batch):
    """Every pointer the IR keeps, with what it should point at."""
    for c in batch.conversations:
        yield "conversation", c.pointer, None
        yield "record", c.record_pointer, None
        for ref in c.media:
            yield "media", ref.pointer, ref.source
        for m in c.messages:
            yield "message", m.pointer, m.raw
            if m.role_pointer:
                yield "role", m.role_pointer, m.role if c.dialect != "sharegpt" else None
            if m.content_pointer:
                yield "content", m.content_pointer, None
            for p in m.parts:
                yield "part", p.pointer, p.raw
                if p.source_pointer:
                    yield "source", p.source_pointer, None
    for i in batch.shape_issues:
        yield "shape-issue", i.pointer, None
    for i in batch.schema_issues:
        yield "schema-issue", i.pointer, i.value


def _bad_pointers(value):
    """(what, pointer, why) for every IR pointer that is not a path of ``value``."""
    batch = normalise(value)
    bad = []
    for what, ptr, expected in _pointers(batch):
        try:
            got = _resolve(value, ptr)
        except (KeyError, IndexError, TypeError) as e:
            bad.append((what, ptr, f"does not exist in the input ({e})"))
            continue
        if expected is not None and what in ("message", "part", "role", "media") \
                and not (got is expected or got == expected):
            bad.append((what, ptr, f"points at {got!r}, not at the {what}"))
    return batch, bad


def _assert_pointers_resolve(value):
    batch, bad = _bad_pointers(value)
    assert not bad, bad
    return batch


# Known bugs: none open (the ones this file found are fixed and tested below).


def _known_bug(value, what, ptr):
    return False  # every bug found here has been fixed; keep the hook for the next one


# --- shapes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, shape, convs, issues", [
    ([MSG], "conversation", [""], []),
    ([[MSG], [MSG, {"role": "assistant", "content": "ok"}]], "batch", ["/0", "/1"], []),
    ([{"messages": [MSG]}, {"messages": [MSG]}], "records", ["/0/messages", "/1/messages"], []),
    ({"messages": [MSG]}, "record", ["/messages"], []),
    ({"conversations": [{"from": "human", "value": "Hi"}]}, "record", ["/conversations"], []),
    ({"instruction": "Do it.", "output": "Done."}, "record", [""], []),
    (MSG, "invalid", [""], [("single-message", "")]),
    ([], "invalid", [], [("empty", "")]),
    ({}, "record", [], [("not-a-conversation", "")]),
    ({"messages": "Hi"}, "record", [], [("not-a-conversation", "/messages")]),
    ({"mesages": [MSG]}, "record", [], [("not-a-conversation", "")]),
    (5, "invalid", [], [("not-a-conversation", "")]),
    (2.5, "invalid", [], [("not-a-conversation", "")]),
    ("Hi", "invalid", [], [("not-a-conversation", "")]),
    (None, "invalid", [], [("not-a-conversation", "")]),
    (True, "invalid", [], [("not-a-conversation", "")]),
    ([1, 2], "invalid", [], [("not-a-conversation", "/0")]),
    ([None], "invalid", [], [("not-a-conversation", "/0")]),
    ([[MSG], MSG], "batch", ["/0", "/1"], [("mixed-nesting", "/1")]),
    ([[MSG], 5, "x"], "batch", ["/0"], [("not-a-conversation", "/1"), ("not-a-conversation", "/2")]),
    ([MSG, [MSG]], "conversation", [""], [("mixed-nesting", "/1")]),
    ([{"messages": [MSG]}, 5], "records", ["/0/messages"], [("not-a-conversation", "/1")]),
])
def test_shapes(value, shape, convs, issues):
    before = copy.deepcopy(value)
    batch = _assert_pointers_resolve(value)
    assert batch.shape == shape
    assert [c.pointer for c in batch.conversations] == convs
    assert [(i.kind, i.pointer) for i in batch.shape_issues] == issues
    assert value == before, "normalise never modifies its input"


def test_single_message_is_checked_as_a_conversation():
    batch = normalise({"role": "user", "content": [{"type": "imgae"}]})
    (conv,) = batch.conversations
    (msg,) = conv.messages
    assert msg.pointer == "" and msg.content_pointer == "/content"
    assert msg.parts[0].pointer == "/content/0"


def test_dialects():
    assert normalise([MSG]).conversations[0].dialect == "native"
    openai = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a"}}]}]
    assert normalise(openai).conversations[0].dialect == "openai"
    assert normalise({"conversations": [{"from": "human", "value": "x"}]}).conversations[0].dialect \
        == "sharegpt"
    assert normalise({"messages": [MSG], "images": ["a.jpg"]}).conversations[0].dialect == \
        "messages-record"
    assert normalise({"instruction": "x"}).conversations[0].dialect == "alpaca"


def test_sharegpt_roles_and_pointers():
    rec = {"conversations": [{"from": "human", "value": "<image>Hi"},
                             {"from": "gpt", "value": "Hello"}], "images": ["a.jpg"]}
    conv = _assert_pointers_resolve(rec).conversations[0]
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    assert [m.role_pointer for m in conv.messages] == ["/conversations/0/from", "/conversations/1/from"]
    assert [m.content_pointer for m in conv.messages] == ["/conversations/0/value",
                                                          "/conversations/1/value"]
    assert [(r.kind, r.pointer, r.source) for r in conv.media] == [(Kind.IMAGE, "/images/0", "a.jpg")]


def test_record_media_columns():
    conv = normalise({"messages": [MSG], "videos": ["a.mp4", "b.mp4"], "image": "c.jpg"}) \
        .conversations[0]
    assert sorted((r.kind.value, r.pointer) for r in conv.media) == \
        [("image", "/image"), ("video", "/videos/0"), ("video", "/videos/1")]


def test_alpaca_pointers():
    conv = _assert_pointers_resolve({"system": "S", "instruction": "I", "input": "",
                                     "output": "O"}).conversations[0]
    assert [(m.role, m.pointer) for m in conv.messages] == [("system", "/system"),
                                                            ("user", "/instruction"),
                                                            ("assistant", "/output")]


@pytest.mark.parametrize("content, kind", [
    ("Hi", "string"), ([], "list"), (None, "null"), (5, "invalid"), ({"type": "text"}, "invalid"),
    (True, "invalid"),
])
def test_content_kinds(content, kind):
    batch = normalise([{"role": "user", "content": content}])
    assert batch.conversations[0].messages[0].content_kind == kind
    assert ("content" in [i.kind for i in batch.schema_issues]) is (kind == "invalid")


def test_missing_content_and_role():
    (m,) = normalise([{"name": "x"}]).conversations[0].messages
    assert m.content_kind == "missing" and m.role is None and m.role_pointer is None
    assert m.unknown_keys == []


def test_non_object_messages_are_schema_issues():
    batch = _assert_pointers_resolve([MSG, "Hi", 5, None, [1]])
    # [1] is a nested list: reported as mixed nesting, not as a message
    assert [(i.kind, i.pointer) for i in batch.schema_issues] == \
        [("message", "/1"), ("message", "/2"), ("message", "/3")]
    assert [(i.kind, i.pointer) for i in batch.shape_issues] == [("mixed-nesting", "/4")]


# --- forms of parts ---------------------------------------------------------------------------

URL = "https://example.com/a.jpg"
VURL = "https://example.com/a.mp4"


@pytest.mark.parametrize("part, kind, form, source_key, source_ptr", [
    ({"type": "text", "text": "t"}, Kind.TEXT, Form.TYPED, "text", None),
    ({"text": "t"}, Kind.TEXT, Form.TYPELESS, "text", None),
    ({"type": "image", "image": URL}, Kind.IMAGE, Form.TYPED, "image", "/image"),
    ({"type": "video", "video": VURL}, Kind.VIDEO, Form.TYPED, "video", "/video"),
    ({"type": "video", "video": [URL, URL]}, Kind.VIDEO, Form.TYPED, "video", "/video"),
    ({"type": "audio", "audio": "a.wav"}, Kind.AUDIO, Form.TYPED, "audio", "/audio"),
    ({"image": URL}, Kind.IMAGE, Form.TYPELESS, "image", "/image"),
    ({"video": VURL}, Kind.VIDEO, Form.TYPELESS, "video", "/video"),
    ({"type": "image", "url": URL}, Kind.IMAGE, Form.URL_KEY, "url", "/url"),
    ({"type": "image", "path": "a.jpg"}, Kind.IMAGE, Form.URL_KEY, "path", "/path"),
    ({"type": "image", "base64": "AAAA"}, Kind.IMAGE, Form.URL_KEY, "base64", "/base64"),
    ({"type": "video", "url": VURL}, Kind.VIDEO, Form.URL_KEY, "url", "/url"),
    ({"type": "image", "image_url": URL}, Kind.IMAGE, Form.TYPED, "image_url", "/image_url"),
    ({"type": "image_url", "image_url": {"url": URL}}, Kind.IMAGE, Form.OPENAI, "image_url",
     "/image_url/url"),
    ({"type": "video_url", "video_url": {"url": VURL}}, Kind.VIDEO, Form.OPENAI, "video_url",
     "/video_url/url"),
    ({"image_url": {"url": URL}}, Kind.IMAGE, Form.OPENAI, "image_url", "/image_url/url"),
    ({"type": "image_url", "image_url": URL}, Kind.IMAGE, Form.OPENAI_STRING, "image_url",
     "/image_url"),
    ({"video_url": VURL}, Kind.VIDEO, Form.OPENAI_STRING, "video_url", "/video_url"),
    ({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}, Kind.AUDIO,
     Form.OPENAI_AUDIO, "input_audio", "/input_audio"),
    ({"type": "image_url", "value": "a.jpg"}, Kind.IMAGE, Form.VALUE, "value", "/value"),
    ({"type": "video_url", "value": "a.mp4"}, Kind.VIDEO, Form.VALUE, "value", "/value"),
    ({"type": "text", "value": "t"}, Kind.TEXT, Form.VALUE, "value", None),
    ({"type": "image"}, Kind.IMAGE, Form.NO_SOURCE, None, None),
    ({"type": "video", "fps": 2.0}, Kind.VIDEO, Form.NO_SOURCE, None, None),
    ({"type": "text"}, Kind.TEXT, Form.NO_SOURCE, None, None),
    ({"type": "image_url"}, Kind.IMAGE, Form.NO_SOURCE, None, None),
    ({"foo": 1}, Kind.UNKNOWN, Form.UNKNOWN, None, None),
    ({"type": "imgae", "imgae": URL}, Kind.UNKNOWN, Form.UNKNOWN, None, None),
    ({"type": 5}, Kind.UNKNOWN, Form.UNKNOWN, None, None),
    ({}, Kind.UNKNOWN, Form.UNKNOWN, None, None),
    ({"type": "图片", "图片": URL}, Kind.IMAGE, Form.TRANSLATED, "image", "/图片"),
    ({"类型": "视频", "视频": VURL, "最大像素": 50176}, Kind.VIDEO, Form.TRANSLATED, "video", "/视频"),
    ({"type": "文本", "文本": "t"}, Kind.TEXT, Form.TRANSLATED, "text", None),
])
def test_part_forms(part, kind, form, source_key, source_ptr, request):
    conv = [{"role": "user", "content": [{"type": "text", "text": "x"}, part]}]
    batch = normalise(conv)
    p = batch.conversations[0].messages[0].parts[1]
    assert (p.kind, p.form) == (kind, form)
    assert p.pointer == "/0/content/1"
    assert p.raw is part
    if form is Form.TRANSLATED:
        assert p.suggestion is not None
    else:
        assert p.source_key == source_key
    assert p.source_pointer == (None if source_ptr is None else "/0/content/1" + source_ptr)
    _assert_pointers_resolve(conv)



def test_part_suggestions():
    batch = normalise([{"role": "user", "content": [
        {"type": "视频", "视频": VURL, "最大像素": 50176},
        {"type": "image", "imgae": URL},
    ]}])
    p0, p1 = batch.conversations[0].messages[0].parts
    assert p0.suggestion == {"type": "video", "video": VURL, "max_pixels": 50176}
    assert p1.form is Form.NO_SOURCE and p1.suggestion == {"type": "image", "image": URL}
    assert p1.unknown_keys == ["imgae"]


def test_options_unknown_keys_and_schema_issues():
    part = {"type": "video", "video": VURL, "fps": "2", "max_pixel": 1, "uuid": "u", "nframes": 4}
    batch = normalise([{"role": "user", "content": [part, "bare string", 7]}])
    p = batch.conversations[0].messages[0].parts[0]
    assert p.options == {"fps": "2", "nframes": 4}
    assert p.unknown_keys == ["max_pixel"]
    assert [(i.kind, i.pointer, i.value) for i in batch.schema_issues] == [
        ("option", "/0/content/0/fps", "2"),
        ("part", "/0/content/1", "bare string"),
        ("part", "/0/content/2", 7),
    ]


@pytest.mark.parametrize("part, pointer", [
    ({"type": "text", "text": 5}, "/text"),
    ({"type": "image", "image": ["a.jpg"]}, "/image"),
    ({"type": "image_url", "image_url": {"uri": URL}}, "/image_url"),
    ({"type": "video", "video": VURL, "fps": True}, "/fps"),
    ({"type": 7, "text": "x"}, "/type"),])
def test_part_schema_issue_pointers(part, pointer):
    """Each malformed value is reported once, at a pointer that exists in the input."""
    value = [{"role": "user", "content": [part]}]
    batch = _assert_pointers_resolve(value)
    ptrs = [i.pointer for i in batch.schema_issues]
    assert ptrs == ["/0/content/0" + pointer], ptrs


def test_pointers_escape_special_keys():
    rec = {"messages": [{"role": "user", "content": [
        {"type": "image", "image": URL, "a/b": 1, "m~n": 2}]}]}
    batch = _assert_pointers_resolve(rec)
    p = batch.conversations[0].messages[0].parts[0]
    assert p.unknown_keys == ["a/b", "m~n"]


def test_every_part_pointer_in_a_batch():
    batch_value = [
        [{"role": "system", "content": "S"},
         {"role": "user", "content": [{"type": "image", "image": URL}, {"type": "text", "text": "a"}]}],
        [{"role": "user", "content": [{"type": "video", "video": VURL}]},
         {"role": "assistant", "content": "ok"},
         {"role": "user", "content": [{"type": "text", "text": "b"}, {"image": URL}]}],
    ]
    batch = _assert_pointers_resolve(batch_value)
    got = [p.pointer for c in batch.conversations for _, p in c.parts()]
    assert got == ["/0/0/content", "/0/1/content/0", "/0/1/content/1", "/1/0/content/0",
                   "/1/1/content", "/1/2/content/0", "/1/2/content/1"]


# --- properties -------------------------------------------------------------------------------

_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=8))
_keys = st.one_of(st.sampled_from(["role", "content", "type", "text", "image", "video", "audio",
                                   "image_url", "video_url", "url", "messages", "conversations",
                                   "from", "value", "images", "instruction", "fps", "图片", "类型",
                                   "a/b", "~"]), st.text(max_size=5))
any_json = st.recursive(_scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(_keys, kids, max_size=4)), max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(any_json, native_conversation, native_batch, openai_conversation,
                 native_conversation.map(lambda c: {"messages": c})))
def test_normalise_never_raises_and_every_pointer_resolves(value):
    before = copy.deepcopy(value)
    _, bad = _bad_pointers(value)
    bad = [b for b in bad if not _known_bug(value, b[0], b[1])]
    assert not bad, bad
    assert value == before


@settings(max_examples=100, deadline=None)
@given(native_batch)
def test_batch_conversations_follow_items(batch_value):
    batch = normalise(batch_value)
    assert batch.shape == "batch"
    assert [c.pointer for c in batch.conversations] == [f"/{i}" for i in range(len(batch_value))]
    assert [c.index for c in batch.conversations] == list(range(len(batch_value)))
    assert not batch.shape_issues and not batch.schema_issues


def test_single_message_diagnostics_point_into_the_file():
    import qwenlint

    diags = qwenlint.check({"role": "user", "content": [{"type": "imgae", "imgae": URL}]}).diagnostics
    assert {(d.rule, d.pointer) for d in diags} >= {("QL103", ""), ("QL201", "/content/0")}


# --- the pydantic-free fast path (qwenlint/dialects/plain.py) -------------------------------------

def test_plain_fields_are_the_models_fields():
    """One home per fact: the fast path's table names exactly each model's fields, and its
    required fields are the models' required ones."""
    from qwenlint.dialects.models import PART_ADAPTERS
    from qwenlint.dialects.plain import FIELDS, REQUIRED

    assert set(FIELDS) == set(PART_ADAPTERS)
    for name, adapter in PART_ADAPTERS.items():
        model = adapter.core_schema["cls"]
        assert set(FIELDS[name]) == set(model.model_fields), name
        required = {f for f, info in model.model_fields.items() if info.is_required()}
        assert required == set(REQUIRED.get(name, ())), name


_ODD = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                 st.text(max_size=8), st.sampled_from(["text", "image", "video", "image_url", "input_audio",
                                                       "auto", "low", "high", "url"]),
                 st.lists(st.text(max_size=3), max_size=3), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.sampled_from(["url", "detail", "data", "format", "x"]),
                                 st.one_of(st.none(), st.text(max_size=4), st.integers(),
                                           st.sampled_from(["auto", "low", "high"])), max_size=4))


@st.composite
def _drawn_part(draw):
    from qwenlint.dialects.plain import FIELDS

    adapter = draw(st.sampled_from(sorted(FIELDS)))
    keys = draw(st.lists(st.one_of(st.sampled_from(sorted(FIELDS[adapter])), st.text(max_size=6)),
                         max_size=6, unique=True))
    return adapter, {k: draw(_ODD) for k in keys}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_drawn_part())
def test_plainly_valid_only_where_pydantic_agrees(drawn):
    """The fast path never calls a part valid that the pydantic model rejects; and a part whose
    values all have their plain types is recognised (the fast path is taken at all)."""
    from pydantic import ValidationError

    from qwenlint.dialects.models import PART_ADAPTERS
    from qwenlint.dialects.plain import plainly_valid

    adapter, part = drawn
    if plainly_valid(adapter, part):
        try:
            PART_ADAPTERS[adapter].validate_python(part)
        except ValidationError as e:  # pragma: no cover - the failure this test exists for
            raise AssertionError(f"plainly_valid accepted a part pydantic rejects: {part!r}\n{e}")


def test_plainly_valid_takes_the_common_parts():
    from qwenlint.dialects.plain import plainly_valid

    assert plainly_valid("text", {"type": "text", "text": "hi"})
    assert plainly_valid("image", {"type": "image", "image": "a.jpg", "max_pixels": 602112, "note": [1]})
    assert plainly_valid("video", {"type": "video", "video": ["a.jpg", "b.jpg"], "fps": 2.0})
    assert plainly_valid("image_url", {"type": "image_url", "image_url": {"url": "http://x/a.png"}})
    assert not plainly_valid("image", {"type": "image", "image": "a.jpg", "max_pixels": "602112"})
    assert not plainly_valid("image", {"type": "image", "image": "a.jpg", "max_pixels": True})
    assert not plainly_valid("video", {"type": "video", "video": "a.mp4", "fps": float("nan")})
    assert not plainly_valid("text", {"type": "text"})
