"""QL5xx (token budget): one positive and one negative example per rule (synthesised media)."""

from __future__ import annotations

from _examples import Example


def _conv(*parts):
    return [{"role": "user", "content": [*parts, {"type": "text", "text": "Describe it."}]}]


EXAMPLES: dict[str, Example] = {
    # 640x480 at the default budget is 391 image tokens (+ text) > 300; max_pixels=256*28*28
    # brings it to 234
    "QL501": Example(_conv({"type": "image", "image": "photo.png"}), "/0/content/0",
                     _conv({"type": "image", "image": "photo.png", "max_pixels": 256 * 28 * 28}),
                     {"max_model_len": 300, "family": "qwen2.5-vl"},
                     media={"photo.png": ("image", 640, 480)}),
    # no media: the text alone runs past the budget (the finding is on the conversation)
    "QL501:text-only": Example([{"role": "user", "content": "word " * 2000}], "",
                               [{"role": "user", "content": "word " * 20}],
                               {"max_model_len": 100}),
    # a 48-frame list of 1280x720 frames through qwen-vl-utils: 17280 tokens at the default
    # per-frame budget; the part's max_pixels fixes it
    "QL502": Example(_conv({"type": "video", "video": ["hd.png"] * 48}), "/0/content/0",
                     _conv({"type": "video", "video": ["hd.png"] * 48, "max_pixels": 128 * 28 * 28}),
                     {"family": "qwen2.5-vl", "target": "qwen-vl-utils"},
                     media={"hd.png": ("image", 1280, 720)}),
}
