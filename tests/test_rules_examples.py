"""One positive and one negative example per foundation rule (QL0xx files, QL1xx structure, QL2xx parts).

Each entry: the input where the rule fires (at the expected pointer) and the fixed input where it
does not.  Inputs are values checked with :func:`qwenlint.check`, or ``File`` texts/bytes written
to a temporary file and checked with :func:`qwenlint.check_files`.  A meta-test fails when a
registered QL0/QL1/QL2 rule has no entry (the rules of later stages are tested by their owners).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import json
import re

import pytest

import qwenlint
from qwenlint.rules import REGISTRY


@dataclass(frozen=True)
class File:
    """File contents (text or bytes) and its name."""

    data: str | bytes
    name: str = "input.json"


@dataclass
class Example:
    positive: Any
    pointer: str
    negative: Any
    options: dict = field(default_factory=dict)
    negative_options: dict | None = None


IMG = "https://example.com/cat.jpg"
VID = "https://example.com/clip.mp4"
OK = [{"role": "user", "content": "Hi"}]


def _user(*parts):
    return [{"role": "user", "content": list(parts)}]


EXAMPLES: dict[str, Example] = {
    # --- QL0xx: files ---
    "QL001": Example(File('[{"role": "user",}]'), "", File('[{"role": "user", "content": "hi"}]')),
    "QL002": Example(File(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "",
                     File('[{"role": "user", "content": "hi"}]')),
    "QL003": Example([], "", OK),
    "QL004": Example(File("[" * 100_000 + "]" * 100_000), "",
                     File("[[" + '{"role": "user", "content": "hi"}' + "]]")),
    # --- QL1xx: structure ---
    "QL101": Example({"mesages": OK}, "", {"messages": OK}),
    "QL102": Example([[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}],
                      {"role": "user", "content": "c"}], "/2",
                     [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}],
                      [{"role": "user", "content": "c"}]]),
    "QL103": Example({"role": "user", "content": "Describe."}, "",
                     [{"role": "user", "content": "Describe."}]),
    "QL104": Example([{"role": "user", "content": "Describe the image."}, "A cat."], "/1",
                     [{"role": "user", "content": "Describe the image."},
                      {"role": "assistant", "content": "A cat."}]),
    "QL105": Example([{"content": "Describe the image."}], "/0",
                     [{"role": "user", "content": "Describe the image."}]),
    "QL106": Example([{"role": "用户", "content": "你好"}], "/0/role",
                     [{"role": "user", "content": "你好"}]),
    "QL107": Example([{"role": "user", "content": {"type": "text", "text": "Hi"}}], "/0/content",
                     [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]),
    "QL108": Example([{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."}],
                     "/1",
                     [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]),
    "QL109": Example([{"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Hi"}],
                     "/0",
                     [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]),
    "QL110": Example([{"role": "user", "content": []}], "/0/content",
                     [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]),
    "QL111": Example([{"role": "user", "content": "Hi", "nmae": "alice"}], "/0/nmae",
                     [{"role": "user", "content": "Hi", "name": "alice"}]),
    # --- QL2xx: parts ---
    "QL201": Example(_user({"type": "imgae", "imgae": IMG}), "/0/content/0",
                     _user({"type": "image", "image": IMG})),
    "QL202": Example(_user({"type": "视频", "视频": VID, "fps": 1.0}), "/0/content/0",
                     _user({"type": "video", "video": VID, "fps": 1.0})),
    "QL203": Example(_user({"type": "image", "image": IMG, "max_pixel": 200704}),
                     "/0/content/0/max_pixel",
                     _user({"type": "image", "image": IMG, "max_pixels": 200704})),
    "QL204": Example(_user({"type": "image"}, {"type": "text", "text": "What is it?"}),
                     "/0/content/0",
                     _user({"type": "image", "image": IMG}, {"type": "text", "text": "What is it?"})),
    "QL205": Example(_user({"type": "video_url", "video_url": {"url": VID}}), "/0/content/0",
                     _user({"type": "video", "video": VID}), {"target": "transformers"}),
    "QL206": Example(_user({"type": "image_url", "image_url": {"url": IMG}}), "/0/content/0",
                     _user({"type": "image", "image": IMG}), {"target": "qwen-vl-utils"}),
    "QL207": Example(_user({"type": "image_url", "image_url": {"url": IMG}, "max_pixels": 200704}),
                     "/0/content/0/max_pixels",
                     _user({"type": "image_url", "image_url": {"url": IMG}}), {"target": "vllm"}),
    "QL208": Example(_user({"type": "video", "video": [IMG, IMG], "sample_fps": "1"}),
                     "/0/content/0/sample_fps",
                     _user({"type": "video", "video": [IMG, IMG], "sample_fps": 1})),
    "QL209": Example(_user({"type": "text", "text": ["Describe", "the image"]}), "/0/content/0/text",
                     _user({"type": "text", "text": "Describe the image"})),
    "QL210": Example(_user({"type": "audio", "audio": "https://example.com/q.wav"}), "/0/content/0",
                     _user({"type": "audio", "audio": "https://example.com/q.wav"}),
                     {"family": "qwen2.5-vl"}, {"family": "qwen2.5-omni"}),
}

FOUNDATION = sorted(c for c in REGISTRY if c[:3] in ("QL0", "QL1", "QL2"))


def _run(value, options, tmp_path):
    if isinstance(value, File):
        p = tmp_path / value.name
        if isinstance(value.data, bytes):
            p.write_bytes(value.data)
        else:
            p.write_text(value.data, encoding="utf-8")
        return qwenlint.check_files([str(p)], **options).diagnostics
    return qwenlint.check(value, **options).diagnostics


def test_every_foundation_rule_has_an_example():
    missing = [c for c in FOUNDATION if c not in EXAMPLES]
    assert not missing, f"rules without a positive/negative example here: {missing}"
    stale = [c for c in EXAMPLES if c not in REGISTRY]
    assert not stale, f"examples for rules that are not registered: {stale}"


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_positive_example_fires_at_pointer(code, tmp_path):
    ex = EXAMPLES[code]
    diags = _run(ex.positive, ex.options, tmp_path)
    hits = [d for d in diags if d.rule == code]
    assert hits, f"{code} did not fire; got {[(d.rule, d.pointer) for d in diags]}"
    assert ex.pointer in {d.pointer for d in hits}, [(d.rule, d.pointer) for d in hits]
    rule = REGISTRY[code]
    for d in hits:
        assert d.name == rule.name
        assert d.message and d.help, "every finding says what is wrong and how to fix it"


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_negative_example_does_not_fire(code, tmp_path):
    ex = EXAMPLES[code]
    opts = ex.options if ex.negative_options is None else ex.negative_options
    diags = _run(ex.negative, opts, tmp_path)
    assert code not in {d.rule for d in diags}, [(d.rule, d.pointer, d.message) for d in diags]


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_select_runs_only_the_selected_rule(code, tmp_path):
    ex = EXAMPLES[code]
    diags = _run(ex.positive, {**ex.options, "select": (code,)}, tmp_path)
    assert {d.rule for d in diags} == {code}
    ignored = _run(ex.positive, {**ex.options, "ignore": (code,)}, tmp_path)
    assert code not in {d.rule for d in ignored}


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_default_severity_of_positive_example(code, tmp_path):
    """Findings carry the rule's registered severity (QL111 may raise it to error on purpose)."""
    ex = EXAMPLES[code]
    diags = [d for d in _run(ex.positive, ex.options, tmp_path) if d.rule == code]
    assert {d.severity for d in diags} == {REGISTRY[code].severity}


# --- the "Example" of each rule's docs fires the rule -----------------------------------------

#: Examples that are prose or a file, not a JSON value (covered by EXAMPLES above).
_PROSE_EXAMPLES = {"QL001", "QL002", "QL004"}


def _doc_example(code):
    """The first ``...`` span of the rule's Example section as a value, and the options it names."""
    text = REGISTRY[code].docs.get("Example", "")
    m = re.search(r"``(.*?)``", text, re.S)
    value = json.loads(m.group(1))
    if isinstance(value, dict) and "role" not in value and ("type" in value or len(value) == 1) \
            and not any(k in value for k in ("messages", "mesages", "conversations")):
        value = [{"role": "user", "content": [value]}]  # a part: put it in a user turn
    opts = {}
    for opt in ("target", "family"):
        hit = re.search(rf"--{opt} ([\w.-]+)", text)
        if hit:
            opts[opt] = hit.group(1)
    if "for vLLM" in text:
        opts["target"] = "vllm"
    return value, opts


_DOC_XFAIL: dict[str, str] = {}  # documented examples that do not fire yet (none)


@pytest.mark.parametrize("code", [
    pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=_DOC_XFAIL[c])) if c in _DOC_XFAIL
    else c for c in FOUNDATION if c not in _PROSE_EXAMPLES])
def test_documented_example_fires_the_rule(code):
    value, opts = _doc_example(code)
    diags = qwenlint.check(value, **opts).diagnostics
    assert code in {d.rule for d in diags}, [(d.rule, d.pointer) for d in diags]
