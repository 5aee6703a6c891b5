"""Fixtures of the smoke tests: one tiny checkpoint per family (built once per session) and media.

Skipped when torch / transformers / qwen-vl-utils / PyAV cannot be imported -- unless
``QWENLINT_REQUIRE_DIFF=1`` (CI), where the import error fails the run.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction

import pytest

try:
    import av
    import numpy as np
    import qwen_vl_utils  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from PIL import Image
except ImportError as _exc:
    if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
        raise ImportError(f"QWENLINT_REQUIRE_DIFF=1 but the smoke libraries cannot be imported: {_exc}") from _exc
    pytest.skip(f"smoke tests need torch, transformers, qwen-vl-utils, av: {_exc}", allow_module_level=True)

from qwenlint.checkpoints import write_checkpoint  # noqa: E402

_CHECKPOINTS: dict[str, str] = {}


@pytest.fixture(scope="session")
def checkpoint_root(tmp_path_factory):
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="session")
def checkpoint(checkpoint_root):
    """``checkpoint(family)``: the family's tiny checkpoint directory, written once per session."""

    def get(family: str) -> str:
        if family not in _CHECKPOINTS:
            _CHECKPOINTS[family] = write_checkpoint(family, os.path.join(checkpoint_root, family))
        return _CHECKPOINTS[family]

    return get


def _synth_video(path: str, width: int, height: int, fps: int, frames: int) -> None:
    with av.open(path, mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "51", "bf": "0"}
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), (i * 20) % 255, dtype=np.uint8),
                                               format="rgb24")
            frame.pts, frame.time_base = i, 1 / Fraction(fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


NO_VIDEO_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    """An 80x56 PNG, an 8-frame 64x48 H.264 clip at 4 fps, and the conversation files of the tests."""
    d = tmp_path_factory.mktemp("smoke_media")
    Image.new("RGB", (80, 56), (120, 130, 140)).save(d / "img.png")
    _synth_video(str(d / "clip.mp4"), 64, 48, 4, 8)
    return d


def write_conversation(folder, name: str, content: list) -> str:
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump([{"role": "user", "content": content}], fh)
    return path
