"""QL4xx (media and geometry): one positive and one negative example per rule.

The media are synthesised into tmp_path (tiny images, 1-2 second videos); data: URIs are built
from synthesised PNG bytes.
"""

from __future__ import annotations

from _examples import Example, Rel, data_uri, png_bytes

PNG = png_bytes(64, 64)


def _conv(*parts):
    return [{"role": "user", "content": [*parts, {"type": "text", "text": "Describe it."}]}]


IMAGE = {"a.png": ("image", 64, 64)}
CLIP = {"clip.mp4": ("video", 64, 48, 8, 16)}  # 2 seconds at 8 fps

EXAMPLES: dict[str, Example] = {
    "QL401": Example(_conv({"type": "image", "image": "imgs/a.png"}), "/0/content/0/image",
                     _conv({"type": "image", "image": "a.png"}), media=IMAGE),
    # a video given as an image part
    "QL402": Example(_conv({"type": "image", "image": "clip.mp4"}), "/0/content/0/image",
                     _conv({"type": "video", "video": "clip.mp4"}), media=CLIP),
    # transformers' load_image needs data:image/<type>
    "QL403": Example(_conv({"type": "image", "image": data_uri(PNG, "image")}), "/0/content/0/image",
                     _conv({"type": "image", "image": data_uri(PNG, "image/png")}),
                     {"target": "transformers"}),
    # FFmpeg opens file://clip.mp4 as /clip.mp4
    "QL404": Example(_conv({"type": "video", "video": "file://clip.mp4"}), "/0/content/0/video",
                     _conv({"type": "video", "video": "clip.mp4"}), media=CLIP),
    # 10000 x 9000 = 90 M pixels (a 1-bit PNG: a small file), downscaled in the fix
    "QL405": Example(_conv({"type": "image", "image": "scan.png"}), "/0/content/0/image",
                     _conv({"type": "image", "image": "scan.png"}),
                     media={"scan.png": ("image", 10000, 9000, {"mode": "1"})},
                     negative_media={"scan.png": ("image", 1000, 900, {"mode": "1"})}),
    "QL406": Example(_conv({"type": "image", "image": "https://example.com/a.png"}),
                     "/0/content/0/image", _conv({"type": "image", "image": "a.png"}),
                     {"max_model_len": 4096}, media=IMAGE),
    # qwen-vl-utils' per-frame min_pixels default (128*28*28) is above this max_pixels
    "QL407": Example(_conv({"type": "video", "video": "clip.mp4", "max_pixels": 50176, "fps": 2.0}),
                     "/0/content/0",
                     _conv({"type": "video", "video": "clip.mp4", "max_pixels": 50176,
                            "min_pixels": 3136, "fps": 2.0}),
                     {"family": "qwen2-vl", "target": "qwen-vl-utils"}, media=CLIP),
    "QL407:aspect-ratio": Example(_conv({"type": "image", "image": "strip.png"}), "/0/content/0",
                                  _conv({"type": "image", "image": "strip.png"}),
                                  media={"strip.png": ("image", 5000, 20)},
                                  negative_media={"strip.png": ("image", 500, 20)}),
    "QL408": Example(_conv({"type": "image", "image": "a.png", "max_pixels": 256 * 28 * 28}),
                     "/0/content/0/max_pixels",
                     _conv({"type": "image", "image": "a.png", "max_pixels": 256 * 32 * 32}),
                     {"family": "qwen3-vl"}, media=IMAGE,
                     has_help=False),  # known gap: the fix ("write 256*32*32") is only in the message
    # LLaMA-Factory hands pre-sampled frames to the Qwen3-VL processor without their fps.  The
    # record cannot carry a frame rate for LLaMA-Factory: the negative is the same record read by
    # ms-swift, which passes the video itself (its metadata) to the processor.
    # Qwen2.5-Omni's processor pads and cuts every audio to Whisper's 30-second window
    "QL414": Example(_conv({"type": "audio", "audio": "talk.wav"}), "/0/content/0",
                     _conv({"type": "audio", "audio": "talk.wav"}),
                     {"family": "qwen2.5-omni", "target": "transformers"},
                     media={"talk.wav": ("audio", 8000, 45.0)},
                     negative_media={"talk.wav": ("audio", 8000, 25.0)}),
    "QL409": Example([{"messages": [{"role": "user", "content": "<video>What happens?"},
                                    {"role": "assistant", "content": "Nothing."}],
                       "videos": ["clip.mp4"]}], "/0/videos/0",
                     [{"messages": [{"role": "user", "content": "<video>What happens?"},
                                    {"role": "assistant", "content": "Nothing."}],
                       "videos": ["clip.mp4"]}],
                     {"family": "qwen3-vl", "target": "llamafactory"},
                     negative_options={"target": "ms-swift"}, media=CLIP),
    # qwen-vl-utils makes it 28x28; the processor's minimum (56x56) resizes it again
    "QL410": Example(_conv({"type": "image", "image": "icon.png", "min_pixels": 784, "max_pixels": 784}),
                     "/0/content/0",
                     _conv({"type": "image", "image": "icon.png", "min_pixels": 3136,
                            "max_pixels": 3136}),
                     {"family": "qwen2.5-vl"}, media={"icon.png": ("image", 40, 40)}),
    # a frame list is never sampled: fps has no effect, sample_fps is its frame rate
    "QL411": Example(_conv({"type": "video", "video": ["a.png", "a.png"], "fps": 1}),
                     "/0/content/0/fps",
                     _conv({"type": "video", "video": ["a.png", "a.png"], "sample_fps": 1}),
                     media=IMAGE),
    "QL412": Example(_conv(), "", _conv(), {"model": Rel("ckpt")},
                     files={"ckpt/config.json": "{oops",
                            "ckpt/chat_template.jinja": "{% for m in messages %}{{ m.role }}{% endfor %}"},
                     negative_files={"ckpt/config.json": {"model_type": "qwen2_5_vl"}}),
    # the Example of QL413's docs: Qwen3.5 came in transformers 5.2.0 (LLaMA-Factory 0.9.5 allows 5.1.0)
    "QL413": Example(_conv({"type": "image", "image": "a.png"}), "",
                     _conv({"type": "image", "image": "a.png"}),
                     {"target": "transformers", "family": "qwen3.5", "assume": ("transformers==5.1.0",)},
                     negative_options={"assume": ("transformers==5.2.0",)}, media=IMAGE),
}
