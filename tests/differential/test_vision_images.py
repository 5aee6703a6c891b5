"""Image predictions against the real qwen-vl-utils ``fetch_image`` + processor, and ``apply_chat_template``.

For every family: random sizes and part options through the qwen-vl-utils recipe (both
``do_resize`` settings and both ``image_patch_size`` values), and random sizes, EXIF orientations
and processor kwargs through ``processor.apply_chat_template(tokenize=True)``.  Grid, pad count,
and error class + message must agree exactly.
"""

from __future__ import annotations

import tempfile

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.vision import ImageFacts, get_profile, predict_image

pytestmark = pytest.mark.differential
ours = real.ours
SLOW = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-img-")

sides = st.one_of(st.integers(1, 80), st.integers(1, 2200))
budgets = st.one_of(st.integers(1, 3_000_000), st.sampled_from([784, 3136, 4096, 50176, 65536, 262144, 1003520]))
part_options = st.fixed_dictionaries({}, optional={
    "min_pixels": budgets, "max_pixels": budgets,
    "resized_height": st.integers(1, 2000), "resized_width": st.integers(1, 2000),
})


def _ours_image(family: str, width: int, height: int, options: dict, pipeline: str, **kw: object) -> tuple:
    def run() -> tuple:
        p = predict_image(ImageFacts(width, height, kw.pop("orientation", 1)), options, get_profile(family), pipeline, **kw)
        return [list(p.grid_thw)], p.tokens

    return ours(run)


@pytest.mark.parametrize("family", real.FAMILIES)
@SLOW
@given(width=sides, height=sides, options=part_options, do_resize=st.booleans(), ips=st.sampled_from([None, 14, 16]))
def test_qwen_vl_utils_images(family: str, width: int, height: int, options: dict, do_resize: bool,
                              ips: int | None) -> None:
    patch = ips or get_profile(family).qvu_image_patch_size

    def run() -> tuple:
        r = real.qvu_image(family, real.pil_image(width, height), options, patch, do_resize)
        return r["image_grid_thw"], r["image_pads"]

    expected = real.outcome(run)
    got = _ours_image(family, width, height, options, "qwen-vl-utils", do_resize=do_resize, image_patch_size=patch)
    assert got == expected


call_budgets = st.one_of(budgets, st.just(0))
processor_kwargs = st.one_of(
    st.just({}),
    st.fixed_dictionaries({}, optional={"min_pixels": call_budgets, "max_pixels": call_budgets}),
    st.builds(lambda lo, hi: {"size": {"shortest_edge": lo, "longest_edge": hi}}, budgets, budgets),
    st.builds(lambda hi: {"images_kwargs": {"max_pixels": hi}}, budgets),
    st.builds(lambda hi, lo: {"max_pixels": hi, "images_kwargs": {"max_pixels": lo}}, budgets, budgets),
    st.builds(lambda hi: {"videos_kwargs": {"max_pixels": hi}}, budgets),
)


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 1600), height=st.integers(1, 1600), orientation=st.sampled_from([1, 1, 3, 6, 8]),
       kwargs=processor_kwargs, options=part_options)
def test_transformers_images(family: str, width: int, height: int, orientation: int, kwargs: dict,
                             options: dict) -> None:
    path = real.write_image(_DIR, width, height, orientation)

    def run() -> tuple:
        r = real.run_chat_template(family, [{"type": "image", "path": path, **options}, {"type": "text", "text": "hi"}],
                                   **kwargs)
        return r["image_grid_thw"], r["image_pads"]

    expected = real.outcome(run)
    got = _ours_image(family, width, height, options, "transformers", orientation=orientation, processor_kwargs=kwargs)
    assert got == expected
