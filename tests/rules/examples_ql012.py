"""QL0xx (files), QL1xx (structure), QL2xx (parts and dialects): one positive and one negative
example per rule (see _examples.py for the table type; test_rule_examples.py runs every table)."""

from __future__ import annotations

from _examples import Example, File

IMG = "https://example.com/cat.jpg"
VID = "https://example.com/clip.mp4"
OK = [{"role": "user", "content": "Hi"}]


def _user(*parts):
    return [{"role": "user", "content": list(parts)}]


class _Unreadable(dict):
    """A value from a Python caller that raises when qwenlint reads it (QL005, not the run's end)."""

    def items(self):
        raise RuntimeError("this value cannot be read")


EXAMPLES: dict[str, Example] = {
    # --- QL0xx: files ---
    "QL001": Example(File('[{"role": "user",}]'), "", File('[{"role": "user", "content": "hi"}]')),
    "QL002": Example(File(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "",
                     File('[{"role": "user", "content": "hi"}]')),
    "QL003": Example([], "", OK),
    "QL004": Example(File("[" * 100_000 + "]" * 100_000), "",
                     File("[[" + '{"role": "user", "content": "hi"}' + "]]")),
    "QL005": Example([_Unreadable(role="user", content="hi")], "", OK),
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
    # transformers 5.6.0 indexes a string content's characters with "type"; 5.7.0 skips it
    "QL112": Example([{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                     "/0/content",
                     [{"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
                      {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
                     {"target": "transformers", "assume": ("transformers==5.6.0",)}),
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
    # --- QL211/QL212: requests to a vLLM server ---
    "QL211": Example({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                      "mm_processor_kwargs": {"max_pixels": 200704}}, "/mm_processor_kwargs",
                     {"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                      "mm_processor_kwargs": {"max_pixels": 200704}}, {"target": "vllm"},
                     {"target": "vllm", "vllm_args": "--trust-request-mm-kwargs"}),
    "QL212": Example({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_pixels": 200704},
                     "/max_pixels",
                     {"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                      "mm_processor_kwargs": {"max_pixels": 200704}},
                     {"target": "vllm", "vllm_args": "--trust-request-mm-kwargs"}),
    "QL213": Example({"model": "m", "messages": _user({"type": "image_url", "image_url": {"url": IMG, "detail": "high"}})},
                     "/messages/0/content/0/image_url/detail",
                     {"model": "m", "messages": _user({"type": "image_url", "image_url": {"url": IMG}})},
                     {"target": "vllm"}),
    "QL214": Example({"model": "m", "messages": _user({"type": "image_url", "image_url": {"url": IMG}})},
                     "/messages/0/content/0",
                     {"model": "m", "messages": _user({"type": "image_url", "image_url": {"url": "a.png"}})},
                     {"target": "vllm"}, media={"a.png": ("image", 64, 64)}),
}
