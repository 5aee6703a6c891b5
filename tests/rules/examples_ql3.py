"""QL3xx (chat templates): one positive and one negative example per rule.

Conversation rules run with ``--template`` (a file in tmp_path) or a bundled family template;
the template-level rules QL310-QL312 run through ``qwenlint template --format json FILE``.
"""

from __future__ import annotations

from _examples import Example, Rel, TemplateCmd

IMG = "https://example.com/cat.jpg"
VID = "https://example.com/clip.mp4"


def _user(*parts):
    return [{"role": "user", "content": list(parts)}]


def _text(text="Describe it."):
    return {"type": "text", "text": text}


# A small VL template: string or list content; every image/video part form gets one pad.
VL = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}"
    "{% if c['type'] == 'image' or 'image' in c or 'image_url' in c %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' or 'video' in c or 'video_url' in c %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in c %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# ... without its video branch (the seed report: video parts get no pad).
VL_NO_VIDEO = VL.replace(
    "{% elif c['type'] == 'video' or 'video' in c or 'video_url' in c %}"
    "<|vision_start|><|video_pad|><|vision_end|>", "")
# ... with a misspelt variable.
VL_TYPO = VL.replace("add_generation_prompt", "add_generation_promt")
# ... testing the image and the video key one after the other (not elif): a part with both gets 2.
VL_TWO_IFS = VL.replace("{% elif c['type'] == 'video'", "{% endif %}{% if c['type'] == 'video'")
# ... with a hard-coded placeholder in front.
VL_HARD_CODED_PAD = "<|vision_start|><|image_pad|><|vision_end|>" + VL
# A text-LLM template: concatenates content as a string.
TEXT_ONLY = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
             "message['content'] + '<|im_end|>\\n' }}{% endfor %}")
# A syntax error: no {% endfor %}.
UNCLOSED = "{% for message in messages %}{{ message['role'] }}"

assert VL_NO_VIDEO != VL and VL_TYPO != VL and VL_TWO_IFS != VL  # the replacements matched

T = {"template": Rel("chat_template.jinja")}


EXAMPLES: dict[str, Example] = {
    "QL301": Example(_user(_text()), "", _user(_text()), T,
                     files={"chat_template.jinja": UNCLOSED},
                     negative_files={"chat_template.jinja": UNCLOSED + "{% endfor %}"}),
    "QL302": Example(_user({"type": "image", "image": IMG}, _text()), "/0",
                     _user({"type": "image", "image": IMG}, _text()), T,
                     files={"chat_template.jinja": TEXT_ONLY},
                     negative_files={"chat_template.jinja": VL}),
    # the seed report: a chat_template.json without a video branch, and a video part
    "QL303": Example(_user({"type": "video", "video": VID}, _text()), "/0/content/0",
                     _user({"type": "video", "video": VID}, _text()),
                     {"template": Rel("chat_template.json")},
                     files={"chat_template.json": {"chat_template": VL_NO_VIDEO}},
                     negative_files={"chat_template.json": {"chat_template": VL}}),
    # Qwen3-VL's template renders no media in assistant turns: move the image into the user turn
    "QL303:assistant-turn": Example(
        [{"role": "user", "content": [_text("What do you see?")]},
         {"role": "assistant", "content": [{"type": "image", "image": IMG}]}], "/1/content/0",
        [{"role": "user", "content": [{"type": "image", "image": IMG}, _text("What do you see?")]},
         {"role": "assistant", "content": [_text("A cat.")]}], {"family": "qwen3-vl"}),
    # transformers loads an image part only from image/url/path/base64: "image_url" is skipped,
    # while the template renders a pad for the part
    "QL304": Example(_user({"type": "image", "image_url": IMG}, _text()), "/0/content/0",
                     _user({"type": "image", "image": IMG}, _text()), {"target": "transformers"}),
    "QL305": Example(_user({"type": "image", "image": IMG, "video": VID}, _text()), "/0/content/0",
                     _user({"type": "image", "image": IMG}, {"type": "video", "video": VID}, _text()),
                     T, files={"chat_template.jinja": VL_TWO_IFS}),
    "QL306": Example(_user(_text("Look at <|image_pad|> please")), "/0/content/0/text",
                     _user(_text("Look at this please"))),
    "QL307": Example(_user(_text()), "/0", _user(_text()), T,
                     files={"chat_template.jinja": VL_HARD_CODED_PAD},
                     negative_files={"chat_template.jinja": VL}),
    # the processor's chat_template.json and the tokenizer's text template disagree (error);
    # the fix keeps one template
    "QL308": Example(_user(_text()), "", _user(_text()),
                     {"model": Rel("ckpt"), "family": "qwen2-vl"},
                     files={"ckpt/chat_template.json": {"chat_template": VL},
                            "ckpt/tokenizer_config.json": {"chat_template": TEXT_ONLY,
                                                           "model_max_length": 32768}},
                     negative_files={"ckpt/tokenizer_config.json": {"model_max_length": 32768}},
                     severity="error"),
    # a --model directory without any chat template (every family but qwen4-exp has a bundled one)
    "QL309": Example(_user(_text()), "", _user(_text()), {"model": Rel("ckpt")},
                     negative_options={"template": Rel("chat_template.jinja")},
                     files={"ckpt/config.json": {"model_type": "qwen2_vl"}, "chat_template.jinja": VL}),
    "QL310": Example(TemplateCmd("chat_template.jinja"), "", TemplateCmd("chat_template.jinja"),
                     files={"chat_template.jinja": TEXT_ONLY},
                     negative_files={"chat_template.jinja": VL}, line=1),
    # type:video without a pad is an error, the bare "video" key a warning, video_url info
    "QL311": Example(TemplateCmd("chat_template.jinja"), "", TemplateCmd("chat_template.jinja"),
                     files={"chat_template.jinja": VL_NO_VIDEO},
                     negative_files={"chat_template.jinja": VL}),
    "QL312": Example(TemplateCmd("chat_template.jinja"), "", TemplateCmd("chat_template.jinja"),
                     files={"chat_template.jinja": VL_TYPO},
                     negative_files={"chat_template.jinja": VL}),
}
