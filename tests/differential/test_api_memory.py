"""In-memory media through the Python API (``qwenlint.check``'s engine) against the real consumers.

A user of qwen-vl-utils or transformers usually holds PIL images, not paths: an ``Image.open``'d
photo (which keeps its EXIF orientation) or a made image, in a part's ``image``, or a list of them
as a video's frames; or, for transformers, a numpy array or a torch tensor (its shape drawn:
height x width, 1 to 5 channels first or last).  Hypothesis draws the size, the EXIF orientation
and the mode; the real
qwen-vl-utils (``fetch_image`` / ``fetch_video`` and the processor, as its README recipe calls them:
``image_patch_size`` and ``do_resize`` per family) and the real
``processor.apply_chat_template(tokenize=True)`` get the same objects, and qwenlint's prediction
(read from the object: :mod:`qwenlint.media.memory`) must give the same grid and pad count and no
error, or the same error (QL407; e.g. an aspect ratio above 200).  Nothing is written for qwenlint: the objects are read in memory.
"""

from __future__ import annotations

import os
import tempfile

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from qwenlint.engine import Engine, FileScope
from qwenlint.ir import Record
from qwenlint.options import Options
from qwenlint.vision import VisionError, get_profile
from qwenlint.vision.predict import recipe_do_resize

pytestmark = pytest.mark.differential
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-memory-")
EXAMPLES = int(os.environ.get("QWENLINT_API_MEMORY_EXAMPLES", "15"))  # per family


def _image(width: int, height: int, orientation: int, mode: str, opened: bool) -> Image.Image:
    """A made image, or a JPEG photo as ``Image.open`` gives it (its EXIF orientation kept)."""
    if opened:
        return Image.open(real.write_image(_DIR, width, height, orientation))
    return Image.new(mode, (width, height))


def _ours(family: str, target: str, content: list) -> tuple:
    engine = Engine(Options(family=family, target=target))
    out = engine.check_record(Record(value=[{"role": "user", "content": content}]), FileScope("<memory>", _DIR),
                              keep=True)
    errors = [d for d in out.diagnostics if d.severity.value == "error"]
    pred = out.context.predictions.get("/0/content/0")
    if isinstance(pred, VisionError):  # the consumer raises: QL407 says so
        assert [d.rule for d in errors] == ["QL407"], errors
        return "error", pred.exc_type, pred.message
    assert pred is not None and not errors, (pred, errors)
    return "ok", ([list(pred.grid_thw)], pred.tokens)


images = st.fixed_dictionaries({
    "width": st.one_of(st.integers(1, 60), st.integers(28, 1800)), "height": st.one_of(st.integers(1, 60),
                                                                                       st.integers(28, 1800)),
    "orientation": st.sampled_from([1, 1, 3, 6, 8]), "mode": st.sampled_from(["RGB", "RGB", "L", "RGBA"]),
    "opened": st.booleans()})


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=images, target=st.sampled_from(["qwen-vl-utils", "transformers"]))
def test_pil_images(family: str, spec: dict, target: str) -> None:
    im = _image(**spec)
    content = [{"type": "image", "image": im}, {"type": "text", "text": "what is this?"}]
    if target == "qwen-vl-utils":
        def run() -> tuple:
            r = real.qvu_image(family, im, {}, get_profile(family).qvu_image_patch_size,
                               recipe_do_resize(get_profile(family)))
            return r["image_grid_thw"], r["image_pads"]
    else:
        def run() -> tuple:
            r = real.run_chat_template(family, content)
            return r["image_grid_thw"], r["image_pads"]
    assert _ours(family, target, content) == real.outcome(run), (spec, target)


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=max(1, EXAMPLES // 2), deadline=None, suppress_health_check=list(HealthCheck))
@given(width=st.integers(28, 700), height=st.integers(28, 700), frames=st.integers(2, 12))
def test_pil_frames(family: str, width: int, height: int, frames: int) -> None:
    """A video given as a list of PIL frames, through qwen-vl-utils' ``fetch_video``."""
    video = [Image.new("RGB", (width, height)) for _ in range(frames)]

    def run() -> tuple:
        r = real.qvu_video(family, video, {}, get_profile(family).qvu_image_patch_size,
                           recipe_do_resize(get_profile(family)))
        return r["video_grid_thw"], r["video_pads"]

    content = [{"type": "video", "video": video}, {"type": "text", "text": "what happens?"}]
    assert _ours(family, "qwen-vl-utils", content) == real.outcome(run), (width, height, frames)


arrays = st.fixed_dictionaries({
    "height": st.one_of(st.integers(1, 8), st.integers(28, 900)), "width": st.one_of(st.integers(1, 8), st.integers(28, 900)),
    "channels": st.sampled_from([None, 1, 3, 3, 4, 2, 5]), "first": st.booleans(),
    "torch": st.booleans(), "dtype": st.sampled_from(["uint8", "float32"])})


def _array(spec: dict):
    import numpy as np

    h, w, c = spec["height"], spec["width"], spec["channels"]
    shape = (h, w) if c is None else ((c, h, w) if spec["first"] else (h, w, c))
    a = np.zeros(shape, dtype=spec["dtype"])  # zeros: in [0, 1], as RGBA floats must be
    if spec["torch"]:
        import torch

        return torch.from_numpy(a)
    return a


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=arrays)
def test_arrays_through_apply_chat_template(family: str, spec: dict) -> None:
    """An image as a numpy array or a torch tensor (height x width, or with 1 to 5 channels first
    or last): transformers reads its axes itself (a shape it cannot read raises)."""
    image = _array(spec)
    content = [{"type": "image", "image": image}, {"type": "text", "text": "what is this?"}]

    def run() -> tuple:
        r = real.run_chat_template(family, content)
        return r["image_grid_thw"], r["image_pads"]

    assert _ours(family, "transformers", content) == real.outcome(run), spec
