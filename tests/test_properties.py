"""Hypothesis properties of the foundation (structure and part rules, QL1xx / QL2xx).

1. Valid conversations — native (qwen-vl-utils / transformers), OpenAI (vLLM), and batches of them —
   produce no error diagnostic.  Warnings are allowed (and collected in ``_WARNINGS_ON_VALID``
   for review: a warning on valid input may be a false positive).
2. One fault at a time, injected into a valid conversation, makes the expected rule fire at the
   expected JSON pointer, and every *error* reported lies at (or under) the mutated place.

Media sources are remote ``https://`` URLs, so no media file is needed.
"""

from __future__ import annotations

import copy
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import qwenlint
from qwenlint.dialects import keys as K

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: (rule, pointer, target) of every warning seen on valid input (reported, not asserted).
_WARNINGS_ON_VALID: set[tuple[str, str]] = set()

# --- strategies: valid input ------------------------------------------------------------------

# No "<" / ">" (media tags, special tokens) and no control characters: plain prompt text.
_TEXT_CHARS = st.characters(categories=("L", "N", "Zs", "Pd", "Po", "Ps", "Pe"),
                            exclude_characters="<>")
text = st.text(_TEXT_CHARS, min_size=1, max_size=40).filter(lambda s: s.strip())
_stem = st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True)
_host = st.sampled_from(["example.com", "cdn.example.org", "qianwen-res.oss-cn-beijing.aliyuncs.com"])


def _url(exts):
    return st.builds(lambda scheme, host, stem, ext: f"{scheme}://{host}/{stem}.{ext}",
                     st.sampled_from(["https"]), _host, _stem, st.sampled_from(exts))


image_url = _url(["jpg", "jpeg", "png", "webp"])
video_url = _url(["mp4", "mov", "webm"])

_pixels = st.integers(4, 1280).map(lambda n: n * 28 * 28)
_side = st.integers(2, 40).map(lambda n: n * 28)


@st.composite
def image_options(draw):
    which = draw(st.sampled_from(["none", "max", "minmax", "resized"]))
    if which == "max":
        return {"max_pixels": draw(_pixels)}
    if which == "minmax":
        a, b = sorted((draw(_pixels), draw(_pixels)))
        return {"min_pixels": a, "max_pixels": b}
    if which == "resized":
        return {"resized_height": draw(_side), "resized_width": draw(_side)}
    return {}


@st.composite
def video_options(draw):
    which = draw(st.sampled_from(["none", "fps", "nframes", "max", "total", "fps-frames", "range"]))
    if which == "fps":
        return {"fps": draw(st.sampled_from([0.5, 1.0, 2.0, 1, 2]))}
    if which == "nframes":
        return {"nframes": draw(st.integers(1, 32).map(lambda n: 2 * n))}
    if which == "max":
        return {"max_pixels": draw(_pixels)}
    if which == "total":
        return {"total_pixels": draw(st.integers(64, 24576).map(lambda n: n * 28 * 28))}
    if which == "fps-frames":
        lo = draw(st.integers(2, 16))
        return {"fps": 2.0, "min_frames": lo, "max_frames": lo + draw(st.integers(0, 64))}
    if which == "range":
        start = draw(st.integers(0, 60))
        return {"video_start": float(start), "video_end": float(start + draw(st.integers(1, 60)))}
    return {}


text_part = st.builds(lambda t: {"type": "text", "text": t}, text)


@st.composite
def image_part(draw):
    return {"type": "image", "image": draw(image_url), **draw(image_options())}


@st.composite
def video_part(draw):
    if draw(st.booleans()):
        return {"type": "video", "video": draw(video_url), **draw(video_options())}
    frames = draw(st.lists(image_url, min_size=2, max_size=8).filter(lambda fs: len(fs) % 2 == 0))
    opts = {"sample_fps": draw(st.sampled_from([1, 2, 1.0, 0.5]))} if draw(st.booleans()) else {}
    return {"type": "video", "video": frames, **opts}


native_part = st.one_of(text_part, image_part(), video_part())


@st.composite
def openai_part(draw):
    kind = draw(st.sampled_from(["text", "image", "video"]))
    if kind == "text":
        return {"type": "text", "text": draw(text)}
    src = draw(image_url if kind == "image" else video_url)
    inner = {"url": src}
    if kind == "image" and draw(st.booleans()):
        inner["detail"] = draw(st.sampled_from(["auto", "low", "high"]))
    return {"type": f"{kind}_url", f"{kind}_url": inner}


def _content(parts_strategy):
    return st.one_of(text, st.lists(parts_strategy, min_size=1, max_size=4))


def _text_content():
    return st.one_of(text, st.lists(text_part, min_size=1, max_size=2))


@st.composite
def conversation(draw, parts=native_part):
    """[system?] user (assistant (tool+ assistant)?)* ... : the order the chat format expects."""
    msgs = []
    if draw(st.booleans()):
        msgs.append({"role": "system", "content": draw(_text_content())})
    for _ in range(draw(st.integers(1, 3))):
        msgs.append({"role": "user", "content": draw(_content(parts))})
        if not draw(st.booleans()):
            break
        msgs.append({"role": "assistant", "content": draw(_text_content())})
        if draw(st.integers(0, 3)) == 0:
            for _ in range(draw(st.integers(1, 2))):
                msgs.append({"role": "tool", "content": draw(text)})
            msgs.append({"role": "assistant", "content": draw(_text_content())})
    return msgs


native_conversation = conversation(native_part)
openai_conversation = conversation(openai_part())
native_batch = st.lists(native_conversation, min_size=1, max_size=3)
openai_batch = st.lists(openai_conversation, min_size=1, max_size=3)


def _diags(value, **options):
    return qwenlint.check(value, **options).diagnostics


def _assert_no_errors(value, **options):
    diags = _diags(value, **options)
    errors = [(d.rule, d.pointer, d.message) for d in diags if d.severity is qwenlint.Severity.ERROR]
    assert not errors, errors
    for d in diags:
        _WARNINGS_ON_VALID.add((d.rule, d.name, options.get("target") or "default"))


# --- valid input: no error --------------------------------------------------------------------

@SETTINGS
@given(native_conversation)
def test_valid_native_conversation_has_no_error(conv):
    _assert_no_errors(conv)


@SETTINGS
@given(native_conversation, st.sampled_from(["qwen-vl-utils", "transformers"]),
       st.sampled_from(["qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3.5"]))
def test_valid_native_conversation_for_native_targets(conv, target, family):
    _assert_no_errors(conv, target=target, family=family)


@SETTINGS
@given(openai_conversation)
def test_valid_openai_conversation_for_vllm(conv):
    _assert_no_errors(conv, target="vllm")
    _assert_no_errors(conv)  # inferred: OpenAI parts → vllm


@SETTINGS
@given(native_batch)
def test_valid_native_batch_has_no_error(batch):
    _assert_no_errors(batch)


@SETTINGS
@given(openai_batch)
def test_valid_openai_batch_for_vllm(batch):
    _assert_no_errors(batch, target="vllm")


@SETTINGS
@given(native_conversation)
def test_record_with_messages_is_valid(conv):
    _assert_no_errors({"messages": conv}, target="qwen-vl-utils")


@SETTINGS
@given(native_conversation)
def test_check_does_not_modify_its_input(conv):
    before = copy.deepcopy(conv)
    qwenlint.check(conv)
    assert conv == before


# --- one fault at a time ----------------------------------------------------------------------

def _rules_at(diags):
    return {(d.rule, d.pointer) for d in diags}


def _errors_outside(diags, prefix):
    """Foundation (QL0/1/2) errors not at or under ``prefix``: a fault must not be reported
    elsewhere.  Later stages (a template that fails to render the broken message, ...) may
    legitimately report the same fault at the conversation."""
    return [(d.rule, d.pointer) for d in diags if d.severity is qwenlint.Severity.ERROR
            and d.rule[:3] in ("QL0", "QL1", "QL2")
            and not (d.pointer == prefix or d.pointer.startswith(prefix + "/"))]


def _user_indexes(conv):
    return [i for i, m in enumerate(conv) if m["role"] == "user"]


@st.composite
def with_part(draw, base=native_conversation, part=native_part):
    """A valid conversation and the pointer (message, index) of one list part in a user message."""
    conv = copy.deepcopy(draw(base))
    mi = draw(st.sampled_from(_user_indexes(conv)))
    content = conv[mi]["content"]
    if isinstance(content, str):
        content = conv[mi]["content"] = [{"type": "text", "text": content}]
    pi = draw(st.integers(0, len(content)))
    content.insert(pi, draw(part))
    return conv, mi, pi


def _translate_word(english: str, pick: int) -> str:
    words = [w for w, e in K.TRANSLATED.items() if e == english]
    return words[pick % len(words)]


@SETTINGS
@given(with_part(part=st.one_of(text_part, image_part(), video_part())), st.integers(0, 100),
       st.integers(0, 100))
def test_translated_part_keys_fire_ql202(sample, pick_type, pick_key):
    conv, mi, pi = sample
    part = conv[mi]["content"][pi]
    kind = part["type"]
    translated = {_translate_word("type", pick_type): _translate_word(kind, pick_key),
                  _translate_word(kind, pick_key): part[kind]}
    translated.update({k: v for k, v in part.items() if k not in ("type", kind)})
    conv[mi]["content"][pi] = translated
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv)
    assert ("QL202", ptr) in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


_MISSPELT_TYPES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=10).filter(
    lambda t: t not in K.PART_TYPES and K.translate(t) is None and t not in K.ALL_PART_KEYS)


@SETTINGS
@given(with_part(part=st.one_of(image_part(), video_part(), text_part)), _MISSPELT_TYPES)
def test_misspelt_type_fires_ql201(sample, bad_type):
    conv, mi, pi = sample
    part = conv[mi]["content"][pi]
    kind = part["type"]
    part["type"] = bad_type
    part[bad_type + "_src"] = part.pop(kind)  # no key a consumer could recognise either
    assume(K.translate(bad_type + "_src") is None)
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv)
    assert ("QL201", ptr) in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


@SETTINGS
@given(with_part(part=st.one_of(image_part(), video_part())),
       st.sampled_from(["max_pixel", "min_pixel", "maxpixels", "fpss", "frames", "nframe",
                        "total_pixel", "resize_height", "sample_fp", "maxPixels2"]),
       st.integers(1, 10 ** 6))
def test_misspelt_option_key_fires_ql203(sample, bad_key, value):
    conv, mi, pi = sample
    conv[mi]["content"][pi][bad_key] = value
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv)
    assert ("QL203", f"{ptr}/{bad_key}") in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


@SETTINGS
@given(with_part(part=st.one_of(image_part(), video_part())),
       st.one_of(st.integers(1, 10 ** 6).map(str), st.sampled_from(["2", "1.5", "auto", ""]),
                 st.booleans(), st.just([1]), st.just({"v": 1})))
def test_option_of_wrong_type_fires_ql208(sample, bad_value):
    conv, mi, pi = sample
    part = conv[mi]["content"][pi]
    if isinstance(part["video"] if "video" in part else None, list):
        key = "sample_fps"
    elif part["type"] == "video":
        key = "fps"
    else:
        key = "max_pixels"
    for k in ("nframes", "min_frames", "max_frames"):  # keep the part otherwise valid
        if key == "fps":
            part.pop(k, None)
    part[key] = bad_value
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv)
    assert ("QL208", f"{ptr}/{key}") in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


@pytest.mark.parametrize("part, key", [
    ({"type": "image", "image": "https://example.com/a.jpg", "max_pixels": None}, "max_pixels"),
    ({"type": "video", "video": "https://example.com/a.mp4", "fps": None}, "fps"),
])
def test_null_option_fires_ql208(part, key):
    conv = [{"role": "user", "content": [part, {"type": "text", "text": "Describe."}]}]
    assert ("QL208", f"/0/content/0/{key}") in _rules_at(_diags(conv))


@SETTINGS
@given(native_conversation, st.data(),
       st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(),
                 st.fixed_dictionaries({"type": st.just("text"), "text": text})))
def test_content_of_wrong_type_fires_ql107(conv, data, bad):
    conv = copy.deepcopy(conv)
    mi = data.draw(st.integers(0, len(conv) - 1))
    conv[mi]["content"] = bad
    diags = _diags(conv)
    assert ("QL107", f"/{mi}/content") in _rules_at(diags), diags
    assert not _errors_outside(diags, f"/{mi}")


@SETTINGS
@given(native_conversation, st.data())
def test_missing_role_fires_ql105(conv, data):
    conv = copy.deepcopy(conv)
    mi = data.draw(st.integers(0, len(conv) - 1))
    del conv[mi]["role"]
    diags = _diags(conv)
    assert ("QL105", f"/{mi}") in _rules_at(diags), diags
    assert not _errors_outside(diags, f"/{mi}")


_BAD_ROLES = st.one_of(
    st.text(st.characters(categories=("L", "N")), min_size=1, max_size=12),
    st.sampled_from(["User", "human", "gpt", "bot", "用户", "assistent", "systen", ""]),
).filter(lambda r: r not in K.ROLES + K.EXTRA_ROLES)


@SETTINGS
@given(native_conversation, st.data(), _BAD_ROLES)
def test_unknown_role_fires_ql106(conv, data, role):
    conv = copy.deepcopy(conv)
    mi = data.draw(st.integers(0, len(conv) - 1))
    conv[mi]["role"] = role
    diags = _diags(conv)
    assert ("QL106", f"/{mi}/role") in _rules_at(diags), diags
    assert not _errors_outside(diags, f"/{mi}")


@SETTINGS
@given(native_batch, st.data())
def test_bare_message_in_batch_fires_ql102(batch, data):
    batch = copy.deepcopy(batch)
    n = data.draw(st.integers(1, len(batch)))
    msg = data.draw(st.sampled_from([m for m in batch[0] if m["role"] == "user"]))
    batch.insert(n, copy.deepcopy(msg))
    diags = _diags(batch)
    assert ("QL102", f"/{n}") in _rules_at(diags), diags
    assert not _errors_outside(diags, f"/{n}")


@SETTINGS
@given(native_batch, st.data(),
       st.one_of(st.integers(), st.text(max_size=10), st.none(), st.booleans(),
                 st.floats(allow_nan=False)))
def test_batch_item_of_wrong_type_fires_ql101(batch, data, item):
    batch = copy.deepcopy(batch)
    n = data.draw(st.integers(1, len(batch)))
    batch.insert(n, item)
    diags = _diags(batch)
    assert ("QL101", f"/{n}") in _rules_at(diags), diags
    assert not _errors_outside(diags, f"/{n}")


@SETTINGS
@given(with_part(part=video_url.map(lambda u: {"type": "video_url", "video_url": {"url": u}})))
def test_video_url_part_for_transformers_fires_ql205(sample):
    conv, mi, pi = sample
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv, target="transformers")
    assert ("QL205", ptr) in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


@SETTINGS
@given(with_part(part=image_url.map(lambda u: {"type": "image_url", "image_url": {"url": u}})))
def test_openai_image_url_object_for_qwen_vl_utils_fires_ql206(sample):
    conv, mi, pi = sample
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv, target="qwen-vl-utils")
    assert ("QL206", ptr) in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


@SETTINGS
@given(with_part(part=st.one_of(image_part(), video_part(), text_part)))
def test_typeless_part_for_transformers_fires_ql206(sample):
    conv, mi, pi = sample
    del conv[mi]["content"][pi]["type"]
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv, target="transformers")
    assert ("QL206", ptr) in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


@SETTINGS
@given(with_part(part=st.one_of(image_part(), video_part())),
       st.sampled_from(["qwen-vl-utils", "transformers"]))
def test_media_part_without_source_fires_ql204(sample, target):
    conv, mi, pi = sample
    part = conv[mi]["content"][pi]
    del part[part["type"]]
    ptr = f"/{mi}/content/{pi}"
    diags = _diags(conv, target=target)
    assert ("QL204", ptr) in _rules_at(diags), diags
    assert not _errors_outside(diags, ptr)


def test_report_warnings_seen_on_valid_input():
    """Not a check: prints the warnings the valid-input properties saw (run with -s to read)."""
    for w in sorted(_WARNINGS_ON_VALID):
        print("warning on valid input:", *w)


def test_translation_table_is_nfkc_casefolded():
    for w in K.TRANSLATED:
        assert w == unicodedata.normalize("NFKC", w).casefold()
