"""Properties of render() that hold for any conversation (no transformers needed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlint.template import bundled_template, render

TEMPLATES = [bundled_template(f).source for f in ("qwen2-vl", "qwen3-vl")] + [bundled_template("qwen2-vl", "generation-tag").source]
MACRO = (
    "{%- macro rc(c) %}{% for i in c %}{% if i.type == 'image' or 'image' in i %}<|image_pad|>"
    "{% elif 'video' in i %}<|video_pad|>{% elif 'text' in i %}{{ i.text }}{% endif %}{% endfor %}{% endmacro %}"
    "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{{ rc(m.content) }}{% endif %}{% endfor %}"
)

_text = st.lists(st.sampled_from(["a", "é", " ", "\n", "<|image_pad|>", "<|video_pad|>", "<|im_end|>"]), max_size=4).map("".join)
_part = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _text),
    st.just({"type": "image", "image": "a.jpg"}),
    st.just({"image": "a.jpg"}),
    st.just({"type": "image_url", "image_url": {"url": "a.jpg"}}),
    st.just({"type": "video", "video": "v.mp4"}),
    st.just({"type": "video_url", "video_url": {"url": "v.mp4"}}),
    st.just({"视频": "v.mp4"}),
)
_message = st.builds(
    lambda role, content: {"role": role, "content": content},
    st.sampled_from(["system", "user", "assistant", "tool"]),
    st.one_of(_text, st.lists(_part, max_size=4)),
)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([*TEMPLATES, MACRO]), st.lists(_message, min_size=1, max_size=4), st.booleans())
def test_attribution_accounts_for_every_pad_and_keeps_the_text(template, messages, vision_id):
    plain = render(template, messages, attribute=False, add_vision_id=vision_id)
    tracked = render(template, messages, add_vision_id=vision_id)
    assert plain.text == tracked.text and plain.pad_counts == tracked.pad_counts
    if not tracked.ok:
        return
    assert tracked.attribution == "exact"
    for kind in ("image", "video"):
        by_parts = sum(getattr(p, kind) for p in tracked.parts)
        strays = sum(1 for s in tracked.stray_pads if s.kind == kind)
        assert by_parts + strays == tracked.pad_counts[kind]
    typed = sum(t.token in ("<|image_pad|>", "<|video_pad|>") for t in tracked.literal_tokens)
    assert all(s.source == "user-text" for s in tracked.stray_pads)
    assert len(tracked.stray_pads) <= typed  # a template may drop user text, never invent pads here
