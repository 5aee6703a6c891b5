"""Differential: qwenlint's sandbox renders exactly what transformers renders (5.23, the
environment's; other releases through test_render_transformers_versions.py).

For every bundled template, hypothesis-generated conversations (roles, string/list content,
text/image/video parts in every form, unicode, literal special tokens, None-valued keys,
reasoning fields, add_generation_prompt, add_vision_id, tools) are rendered

* by the real ``processor.apply_chat_template(tokenize=False)`` of a ``Qwen2VLProcessor`` built
  offline, against ``render(..., consumer="processor")``;
* by the real ``tokenizer.apply_chat_template(tokenize=False)`` of a ``PreTrainedTokenizerFast``
  built from a ``tokenizers`` object with the Qwen special tokens (no hub), against
  ``render(..., consumer="tokenizer")``;

and compared exactly: same text, or both raise. The attribution render must give the same text.

Skipped when transformers cannot be imported, unless ``QWENLINT_REQUIRE_DIFF=1``.
"""

from __future__ import annotations

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
        st.sampled_from(["<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|im_end|>", "\n", "{{ x }}", "é", "😀"]),
    ),
    max_size=4,
).map("".join)
_url = st.sampled_from(["file:///a.jpg", "https://x/y.png", "data:image/png;base64,AAAA", "clip.mp4"])

_part = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.builds(lambda u: {"type": "image", "image": u}, _url),
    st.builds(lambda u: {"type": "image", "url": u}, _url),
    st.builds(lambda u: {"image": u}, _url),
    st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, _url),
    st.builds(lambda u: {"image_url": u}, _url),
    st.builds(lambda u: {"type": "video", "video": u}, _url),
    st.builds(lambda u: {"video": [u, u]}, _url),
    st.builds(lambda u: {"type": "video_url", "video_url": {"url": u}}, _url),
    st.builds(lambda u: {"type": "video", "video": u, "fps": 2.0, "max_pixels": 12845056}, _url),
    st.builds(lambda t: {"type": "text", "text": t, "extra": None}, _text),
    st.builds(lambda u, t: {"视频": u, "text": t}, _url, _text),
)
_content = st.one_of(_text, st.lists(_part, max_size=4))


@st.composite
def _message(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.sampled_from(["system", "user", "user", "assistant", "tool"]))
    message: dict[str, Any] = {"role": role, "content": draw(_content) if draw(st.integers(0, 12)) else None}
    if draw(st.integers(0, 5)) == 0:
        message["name"] = None
    if role == "assistant" and draw(st.integers(0, 4)) == 0:
        # the names transformers 5.21 and later alias to reasoning_content
        message[draw(st.sampled_from(["reasoning_content", "reasoning", "thinking"]))] = draw(_text)
    if role == "assistant" and draw(st.integers(0, 5)) == 0:
        message["tool_calls"] = [{"type": "function", "function": {"name": "f", "arguments": {"x": draw(_text)}}}]
    return message


conversations = st.lists(_message(), min_size=1, max_size=5)
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "é", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - any error counts as "raised"
        return ("error", type(exc).__name__)


def _compare(real: dict[str, Any], source: str, messages: list[dict[str, Any]], gen: bool, vision_id: bool | None, tools: Any) -> None:
    kwargs: dict[str, Any] = {} if vision_id is None else {"add_vision_id": vision_id}
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
                source, messages, add_generation_prompt=gen, add_vision_id=vision_id, tools=tools,
                consumer=consumer, attribute=attribute, transformers=RELEASE,  # type: ignore[arg-type]
            )
            got = ("ok", ours.text) if ours.ok else ("error", ours.error.exception_type)  # type: ignore[union-attr]
            assert got == expected, (consumer, attribute, messages)
            if expected[0] == "ok" and attribute:
                # markers may change what a template computes from buffered strings (the "macro"
                # template measures one): then the text comes from a plain render, still exact
                assert ours.attribution == "exact" or source == dict(EXTRA)["macro"]
                if ours.attribution == "exact":
                    assert sum(p.total for p in ours.parts) + len(ours.stray_pads) == sum(ours.pad_counts.values())


@pytest.mark.parametrize(("name", "source"), TEMPLATES, ids=[n for n, _ in TEMPLATES])
@settings(max_examples=int(os.environ.get("QWENLINT_DIFF_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(messages=conversations, gen=st.booleans(), vision_id=st.sampled_from([None, True, False]), with_tools=st.booleans())
def test_render_matches_transformers(real, name, source, messages, gen, vision_id, with_tools):
    _compare(real, source, messages, gen, vision_id, TOOLS if with_tools else None)


def test_render_matches_transformers_on_known_cases(real):
    cases = [
        [{"role": "user", "content": [{"type": "video", "video": "clip.mp4"}, {"type": "text", "text": "Describe."}]}],
        [{"role": "system", "content": [{"type": "image", "image": "a"}, {"type": "text", "text": "s"}]},
         {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
         {"role": "assistant", "content": [{"type": "text", "text": "a"}], "reasoning_content": "r"},
         {"role": "system", "content": "late"},
         {"role": "tool", "content": [{"type": "image", "image": "t"}]}],
        [{"role": "user", "content": "plain <|image_pad|> text"}],
    ]
    for _, source in TEMPLATES:
        for messages in cases:
            for gen in (True, False):
                _compare(real, source, messages, gen, True, None)
                _compare(real, source, messages, gen, None, TOOLS)
