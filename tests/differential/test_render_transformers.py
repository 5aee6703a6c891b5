"""Differential: qwenlint's sandbox renders exactly what transformers renders (5.23, the
environment's; other releases through test_render_transformers_versions.py).

For every bundled template and variant (parametrised over templates/manifest.json, so a new file
is covered without editing this module), hypothesis-generated conversations are rendered: random
role sequences and well-formed multi-turn chats (system first or not, system as a string or a list
of parts, tool calls answered by tool messages, several user queries); string/list content with
text/image/video/audio parts in every form (``image_url``, ``video_url``, ``audio_url``, bare keys,
strings inside a content list) in every role; unicode, literal special tokens, ``<think>`` /
``</think>`` and ``<tool_response>`` text; None-valued keys; ``reasoning_content`` (and the aliases
``reasoning`` / ``thinking``, string or not); tool calls with and without the ``function``
wrapper, arguments as a mapping or a JSON string, argument values of every JSON type; ``tools=``
(absent, empty, wrapped and bare schemas); ``add_generation_prompt``, ``add_vision_id``,
``enable_thinking``, ``preserve_thinking`` (Qwen3.6) and ``add_audio_id`` (Omni) each absent, true
or false. Each is rendered

* by the real ``processor.apply_chat_template(tokenize=False)`` of a ``Qwen2VLProcessor`` built
  offline, against ``render(..., consumer="processor")`` (the text path is
  ``ProcessorMixin.apply_chat_template`` for every Qwen processor: the Omni processors do not
  change it, ``Qwen3OmniMoeProcessor``'s override only calls it);
* by the real ``tokenizer.apply_chat_template(tokenize=False)`` of a ``PreTrainedTokenizerFast``
  built from a ``tokenizers`` object with the Qwen special tokens (no hub), against
  ``render(..., consumer="tokenizer")``;

and compared exactly: same text, or both raise the same exception class (the official templates
raise on, e.g., an image in a Qwen3.5 system message or a conversation without a user query). The
attribution render must give the same text, its pads (counted with the family's pad tokens)
must add up, and for the bundled templates every pad must belong to a part or to text the user
typed (an unattributed pad would be a part qwenlint calls "not rendered").
``test_render_matches_transformers_on_known_cases`` renders fixed conversations that take each
template branch, and checks that each template renders some of them (and raises on some, where it
has ``raise_exception``) and that each flag the template reads, and ``tools=``, changes
transformers' text for one of them.

Skipped when transformers cannot be imported, unless ``QWENLINT_REQUIRE_DIFF=1``.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from typing import Any

import pytest

try:
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
except ImportError as exc:  # pragma: no cover - depends on the environment
    if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
        raise ImportError(f"QWENLINT_REQUIRE_DIFF=1 but transformers cannot be imported: {exc}") from exc
    pytest.skip(f"differential tests need transformers and tokenizers: {exc}", allow_module_level=True)

from hypothesis import HealthCheck, given, settings
from packaging.version import Version
from hypothesis import strategies as st

from qwenlint.template import bundled_template, render
from qwenlint.template.bundled import manifest
from qwenlint.template.tokens import QWEN_VL_TOKENS, FamilyTokens, tokens_for_family

pytestmark = pytest.mark.differential
#: The release under test: the environment's, or another put first on PYTHONPATH
#: (test_render_transformers_versions.py runs this module so for each installed release).
RELEASE = Version(transformers.__version__)

SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
]


def _bundled() -> list[tuple[str, str]]:
    out = []
    for family, entry in manifest()["families"].items():
        if entry.get("file"):
            out.append((family, bundled_template(family).source))
        for variant, v in entry.get("variants", {}).items():
            if v.get("file"):
                out.append((f"{family}/{variant}", bundled_template(family, variant).source))
    return out


#: Non-official templates that exercise the error paths (string-only: TypeError on list content;
#: raise_exception on a role) and a macro with buffered output.
EXTRA = [
    ("string-only", "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"),
    ("raises-on-tool", "{% for m in messages %}{% if m.role == 'tool' %}{{ raise_exception('no tool role') }}{% endif %}"
                       "{{ m.role }}{% endfor %}"),
    ("macro", "{%- macro rc(c) %}{% if c is string %}{{ c }}{% else %}{% for i in c %}{% if i.type == 'image' or 'image' in i %}"
              "<|vision_start|><|image_pad|><|vision_end|>{% elif 'video' in i %}<|video_pad|>{% elif 'text' in i %}{{ i.text }}"
              "{% endif %}{% endfor %}{% endif %}{% endmacro %}{% set last = rc(messages[-1].content)|trim %}"
              "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ rc(m.content) }}<|im_end|>\n{% endfor %}{{ last|length }}"),
]
TEMPLATES = _bundled() + EXTRA


def _tokens(name: str) -> FamilyTokens:
    """The pad tokens of a bundled template's family (``qwen3.5/small`` -> qwen3.5); the Qwen-VL
    pads for the families tokens_for_family does not list (qwen3-vl-thinking, qwen3.6) and EXTRA."""
    try:
        return tokens_for_family(name.split("/")[0])
    except ValueError:
        return QWEN_VL_TOKENS


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    """A real tokenizer (special tokens at their Qwen ids) and a real Qwen2VLProcessor, offline."""
    transformers.logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    vocab = {chr(i): i for i in range(256)}
    for i, tok in enumerate(SPECIALS):
        vocab[tok] = 151643 + i
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|endoftext|>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    # 4.x names a list of extra special tokens additional_special_tokens (and lists it in
    # special_tokens_map, which apply_chat_template passes to the template; no template reads it)
    # (and its processors take only a Qwen2 tokenizer class, which 5.x does not check)
    v4 = int(transformers.__version__.split(".")[0]) < 5
    extra = "additional_special_tokens" if v4 else "extra_special_tokens"
    cls = transformers.Qwen2TokenizerFast if v4 else PreTrainedTokenizerFast
    tokenizer = cls(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>", **{extra: SPECIALS[3:]},
        **({"unk_token": None, "bos_token": None} if v4 else {}),
    )
    assert {k: v for k, v in tokenizer.special_tokens_map.items() if k != "additional_special_tokens"} == \
        {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    processor = None
    try:
        from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            processor = Qwen2VLProcessor(
                image_processor=Qwen2VLImageProcessor(), tokenizer=tokenizer,
                video_processor=Qwen2VLVideoProcessor(), chat_template=TEMPLATES[0][1],
            )
    except Exception as exc:  # torchvision missing: compare the tokenizer path only
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise
        warnings.warn(f"no real Qwen2VLProcessor ({exc}); processor path not compared", stacklevel=1)
    return {"tokenizer": tokenizer, "processor": processor}


# ---------------------------------------------------------------------------------------------
# Conversations.

_text = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
        st.sampled_from(["<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|im_end|>", "<|IMAGE|>", "<|AUDIO|>",
                         "<|audio_pad|>", "<think>", "</think>", "<tool_response>", "</tool_response>", "\n", " ",
                         "{{ x }}", "é", "😀"]),
    ),
    max_size=4,
).map("".join)
_url = st.sampled_from(["file:///a.jpg", "https://x/y.png", "data:image/png;base64,AAAA", "clip.mp4", "a.wav"])
#: Text the Qwen3 templates parse: a <think> block before the answer, a tool response.
_think_text = st.builds(lambda r, a, nl: f"<think>{nl}{r}{nl}</think>{nl}{nl}{a}", _text, _text, st.sampled_from(["", "\n"]))
_tool_response = st.builds(lambda t: f"<tool_response>\n{t}\n</tool_response>", _text)
_any_text = st.one_of(_text, _text, _think_text, _tool_response)

_part = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _any_text),
    st.builds(lambda u: {"type": "image", "image": u}, _url),
    st.builds(lambda u: {"type": "image", "url": u}, _url),
    st.builds(lambda u: {"image": u}, _url),
    st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, _url),
    st.builds(lambda u: {"image_url": u}, _url),
    st.builds(lambda u: {"type": "video", "video": u}, _url),
    st.builds(lambda u: {"video": [u, u]}, _url),
    st.builds(lambda u: {"type": "video_url", "video_url": {"url": u}}, _url),
    st.builds(lambda u: {"type": "video", "video": u, "fps": 2.0, "max_pixels": 12845056}, _url),
    st.builds(lambda u: {"type": "audio", "audio": u}, _url),
    st.builds(lambda u: {"audio": u}, _url),
    st.builds(lambda u: {"type": "audio_url", "audio_url": {"url": u}}, _url),
    st.builds(lambda u: {"audio_url": u}, _url),
    st.builds(lambda u: {"type": "audio", "path": u}, _url),
    st.builds(lambda t: {"type": "text", "text": t, "extra": None}, _text),
    st.builds(lambda u, t: {"视频": u, "text": t}, _url, _text),
    st.just({"type": "text"}),  # no text key: some templates drop it, some raise
    st.sampled_from(["an image", "plain", "video"]),  # a string inside a content list ('image' in "an image")
)
_content = st.one_of(_any_text, st.lists(_part, max_size=4))
_json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False, width=32),
              _text),
    lambda inner: st.one_of(st.lists(inner, max_size=2), st.dictionaries(_text, inner, max_size=2)),
    max_leaves=4,
)
_arguments = st.one_of(
    st.dictionaries(st.sampled_from(["x", "city", "é", "n"]), _json_value, max_size=3),
    st.builds(lambda v: json.dumps({"x": v}, ensure_ascii=False), _json_value),  # OpenAI: a JSON string
)


@st.composite
def _tool_call(draw: st.DrawFn) -> dict[str, Any]:
    function: dict[str, Any] = {"name": draw(st.sampled_from(["get_weather", "f", "é"]))}
    if draw(st.integers(0, 6)):
        function["arguments"] = draw(_arguments)
    if draw(st.booleans()):
        return {"type": "function", "id": "call_1", "function": function}
    return function  # a bare call (no "function" wrapper)


@st.composite
def _message(draw: st.DrawFn, role: str | None = None) -> dict[str, Any]:
    if role is None:
        role = draw(st.sampled_from(["system", "user", "user", "assistant", "assistant", "tool", "developer"]))
    message: dict[str, Any] = {"role": role, "content": draw(_content) if draw(st.integers(0, 12)) else None}
    if draw(st.integers(0, 5)) == 0:
        message["name"] = None
    if role == "assistant" and draw(st.integers(0, 3)) == 0:
        # the names transformers 5.21 and later alias to reasoning_content (a string, or not)
        message[draw(st.sampled_from(["reasoning_content", "reasoning", "thinking"]))] = draw(
            st.one_of(_text, _text, _text, st.just(["r"]), st.just(None)))
    if role == "assistant" and draw(st.integers(0, 3)) == 0:
        message["tool_calls"] = draw(st.one_of(st.lists(_tool_call(), min_size=1, max_size=3), st.just(None),
                                               st.just({"name": "f"})))  # a mapping, not a list
    return message


@st.composite
def _chat(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A well-formed multi-turn chat: an optional system message first, user turns, assistant
    answers (with reasoning, <think> text or tool calls), tool messages after tool calls."""
    messages = []
    if draw(st.booleans()):
        messages.append(draw(_message("system")))
    for _ in range(draw(st.integers(1, 3))):
        messages.append(draw(_message("user")))
        if draw(st.integers(0, 4)):
            answer = draw(_message("assistant"))
            messages.append(answer)
            if isinstance(answer.get("tool_calls"), list):
                messages.extend(draw(_message("tool")) for _ in range(draw(st.integers(1, 2))))
                if draw(st.booleans()):
                    messages.append(draw(_message("assistant")))
    return messages


conversations = st.one_of(st.lists(_message(), min_size=1, max_size=5), _chat())
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "é", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
#: tools= as callers pass it: absent, empty, OpenAI-wrapped, bare schemas.
TOOL_SETS = [None, [], TOOLS, TOOLS + [{"name": "f", "description": "\"q\" <b>", "parameters": {}}]]
#: Template keyword arguments, each absent (None), true or false.
FLAGS = ("add_vision_id", "enable_thinking", "preserve_thinking", "add_audio_id")
_flags = st.fixed_dictionaries({flag: st.sampled_from([None, True, False]) for flag in FLAGS})


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - any error counts as "raised"
        return ("error", type(exc).__name__)


def _has_non_dict_part(messages: list[dict[str, Any]], index: int | None) -> bool:
    content = messages[index].get("content") if index is not None else None
    return isinstance(content, list) and any(not isinstance(part, dict) for part in content)


def _untracked_pads(messages: list[dict[str, Any]], tokens: FamilyTokens) -> int:
    """Pads typed where attribution does not mark user text: keys, and values below a message's or
    a dict part's own string values (tool calls, nested lists and mappings)."""
    def count(value: Any) -> int:
        text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        return len(tokens.pad_re.findall(text))

    n = 0
    for message in messages:
        for key, value in message.items():
            n += count(key)
            if key == "content" and isinstance(value, list):
                for part in value:
                    if isinstance(part, dict):
                        n += sum(count(k) + (0 if isinstance(v, str) else count(v)) for k, v in part.items())
                    else:
                        n += count(part)
            elif not isinstance(value, str):
                n += count(value)
    return n


def _compare(real: dict[str, Any], name: str, source: str, messages: list[dict[str, Any]], gen: bool,
             flags: dict[str, bool | None], tools: Any) -> tuple[str, Any]:
    """Render with transformers and qwenlint (both consumers, with and without attribution) and
    assert the same outcome; returns transformers' outcome of the last consumer."""
    kwargs: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
    extra = {k: v for k, v in kwargs.items() if k not in ("add_vision_id", "enable_thinking")}
    consumers = [("tokenizer", real["tokenizer"])]
    if real["processor"] is not None:
        consumers.append(("processor", real["processor"]))
    for consumer, obj in consumers:
        def theirs() -> str:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return obj.apply_chat_template(  # type: ignore[no-any-return]
                    [dict(m) for m in messages], chat_template=source, tokenize=False,
                    add_generation_prompt=gen, tools=tools, **kwargs,
                )

        expected = _outcome(theirs)
        for attribute in (False, True):
            ours = render(
                source, messages, add_generation_prompt=gen, add_vision_id=flags.get("add_vision_id"),
                enable_thinking=flags.get("enable_thinking"), extra_kwargs=extra, tools=tools, tokens=_tokens(name),
                consumer=consumer, attribute=attribute, transformers=RELEASE,  # type: ignore[arg-type]
            )
            got = ("ok", ours.text) if ours.ok else ("error", ours.error.exception_type)  # type: ignore[union-attr]
            assert got == expected, (name, consumer, attribute, gen, flags, tools, messages)
            if expected[0] == "ok" and attribute:
                # markers may change what a template computes from buffered strings (the "macro"
                # template measures one): then the text comes from a plain render, still exact
                assert ours.attribution == "exact" or source == dict(EXTRA)["macro"], (name, ours.attribution, messages)
                if ours.attribution == "exact":
                    assert sum(p.total for p in ours.parts) + len(ours.stray_pads) == sum(ours.pad_counts.values())
                if name not in dict(EXTRA):
                    # an official template emits each pad for a part, or the pad was typed in user
                    # text, or (a string inside a content list: 'image' in "an image") for a part
                    # that is no dict: a pad qwenlint cannot attribute would be a part it calls
                    # "not rendered"
                    # (pads typed deeper in the input, e.g. in tool-call arguments, are not marked
                    # as user text: at most that many may stay unknown)
                    unknown = [sp for sp in ours.stray_pads if sp.source == "unknown"]
                    assert len(unknown) <= _untracked_pads(messages, _tokens(name)), (name, unknown, messages)
                    assert all(sp.source in ("user-text", "unknown") or (sp.source == "template" and _has_non_dict_part(
                        messages, sp.message_index)) for sp in ours.stray_pads), (name, ours.stray_pads, messages)
    return expected


@pytest.mark.parametrize(("name", "source"), TEMPLATES, ids=[n for n, _ in TEMPLATES])
@settings(max_examples=int(os.environ.get("QWENLINT_DIFF_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages=conversations, gen=st.booleans(), flags=_flags, tools=st.sampled_from(TOOL_SETS))
def test_render_matches_transformers(real, name, source, messages, gen, flags, tools):
    _compare(real, name, source, messages, gen, flags, tools)


_IMG = {"type": "image", "image": "a.jpg"}
_VID = {"type": "video", "video": "clip.mp4"}
_WAV = {"type": "audio", "audio": "a.wav"}
_CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {
    "city": "Zürich", "days": 3, "hourly": True, "at": [1, 2.5], "opts": {"unit": "c", "none": None}}}}

#: Conversations that take each branch of the official templates: media in every role, a list
#: system message, reasoning in earlier and later turns, <think> text, tool calls answered by
#: (consecutive) tool messages, arguments as a JSON string, bare calls, audio in every form, a
#: tool-response-only user turn, no user query, an unknown role, a system message not first,
#: reasoning under its alias names, whitespace to trim.
KNOWN_CASES: list[list[dict[str, Any]]] = [
    [{"role": "user", "content": [_VID, {"type": "text", "text": "Describe."}]}],
    [{"role": "system", "content": [_IMG, {"type": "text", "text": "s"}]},
     {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
     {"role": "assistant", "content": [{"type": "text", "text": "a"}], "reasoning_content": "r"},
     {"role": "system", "content": "late"},
     {"role": "tool", "content": [{"type": "image", "image": "t"}]}],
    [{"role": "user", "content": "plain <|image_pad|> text"}],
    [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
     {"role": "user", "content": [_IMG, _IMG, {"type": "text", "text": "Compare."}]},
     {"role": "assistant", "content": "Old answer.", "reasoning_content": "old thoughts"},
     {"role": "user", "content": [_VID, {"type": "text", "text": "And this?"}]},
     {"role": "assistant", "content": "<think>\nnew thoughts\n</think>\n\nNew answer."}],
    [{"role": "system", "content": "You are a weather bot."},
     {"role": "user", "content": "Weather in Zürich?"},
     {"role": "assistant", "content": "Let me look.", "reasoning_content": "need a tool", "tool_calls": [_CALL, _CALL]},
     {"role": "tool", "content": "{\"temp\": 20}"},
     {"role": "tool", "content": [{"type": "text", "text": "sunny"}, _IMG]},
     {"role": "assistant", "content": "<think>\ndone\n</think>\n\n20 degrees."}],
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": "", "tool_calls": [
         {"type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}},
         {"name": "g", "arguments": {"y": "é"}}]},
     {"role": "tool", "content": "ok"}],
    [{"role": "user", "content": [_WAV, {"audio_url": "b.wav"}, {"type": "audio_url", "audio_url": {"url": "c.wav"}},
                                  _IMG, _VID, {"type": "text", "text": "What do you hear and see?"}]},
     {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
     {"role": "user", "content": [{"type": "audio", "path": "d.wav"}, _IMG]}],
    [{"role": "system", "content": [_WAV, {"type": "text", "text": "sys"}]},
     {"role": "user", "content": "hi"}],
    [{"role": "system", "content": "s"}, {"role": "assistant", "content": "no user query"}],
    [{"role": "user", "content": "q"},
     {"role": "assistant", "content": "", "tool_calls": [_CALL]},
     {"role": "user", "content": "<tool_response>\n42\n</tool_response>"}],
    [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "tool_calls": {"name": "f"}}],
    [{"role": "developer", "content": "d"}, {"role": "user", "content": "q"}],
    # reasoning under the names transformers aliases (5.21+), whitespace the templates trim
    [{"role": "user", "content": "\n q \n"}, {"role": "assistant", "content": "\n a \n", "reasoning": "\n r \n"},
     {"role": "user", "content": [{"type": "text", "text": " again\n"}]},
     {"role": "assistant", "content": "b", "thinking": "t"}],
]
#: Flag settings: none passed, then each flag alone true and alone false.
KNOWN_FLAGS: list[dict[str, bool | None]] = [dict.fromkeys(FLAGS)] + [
    {**dict.fromkeys(FLAGS), flag: value} for flag in FLAGS for value in (True, False)]


def _key(flags: dict[str, bool | None]) -> tuple[tuple[str, bool], ...]:
    return tuple(sorted((k, v) for k, v in flags.items() if v is not None))


@pytest.mark.parametrize(("name", "source"), TEMPLATES, ids=[n for n, _ in TEMPLATES])
def test_render_matches_transformers_on_known_cases(real, name, source):
    outcomes: dict[tuple[Any, ...], tuple[str, Any]] = {}
    for i, messages in enumerate(KNOWN_CASES):
        for tools in (None, TOOLS):
            _compare(real, name, source, messages, False, KNOWN_FLAGS[0], tools)
            for flags in KNOWN_FLAGS:
                outcomes[i, tools is not None, _key(flags)] = _compare(real, name, source, messages, True, flags, tools)
    if name in dict(EXTRA):
        return
    # The cases reach what each official template branches on (so the comparisons above cover it):
    # some render and, where the template raises, some raise; each flag and tools= the template
    # reads changes transformers' text for some case.
    kinds = {kind for kind, _ in outcomes.values()}
    assert "ok" in kinds, name
    if "raise_exception" in source:
        assert "error" in kinds, name
    for flag in FLAGS:
        if flag in source:
            on, off = ((flag, True),), ((flag, False),)
            assert any(outcomes[i, t, on] != outcomes[i, t, off] and outcomes[i, t, on][0] == "ok"
                       for i in range(len(KNOWN_CASES)) for t in (False, True)), (name, flag)
    if "tools" in source:
        assert any(outcomes[i, True, ()] != outcomes[i, False, ()] and outcomes[i, True, ()][0] == "ok"
                   for i in range(len(KNOWN_CASES))), name
