"""Hypothesis properties of the pure predictor (no real libraries needed)."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlint.vision import (
    PIPELINES,
    PROFILES,
    ImageFacts,
    VideoFacts,
    VisionError,
    get_profile,
    hf_smart_resize,
    predict_image,
    predict_video,
    qvu_smart_resize,
    qwen2vl_sample_frames,
    smart_nframes,
    worst_case_image_tokens,
)

FAST = settings(max_examples=300, deadline=None)
families = st.sampled_from(sorted(PROFILES))
pipelines = st.sampled_from(PIPELINES)
sides = st.one_of(st.integers(1, 64), st.integers(1, 9000))
budgets = st.one_of(st.integers(1, 20_000_000), st.sampled_from([784, 3136, 4096, 65536, 262144]))
image_options = st.fixed_dictionaries({}, optional={
    "min_pixels": budgets, "max_pixels": budgets,
    "resized_height": st.integers(1, 3000), "resized_width": st.integers(1, 3000)})


@FAST
@given(h=sides, w=sides, factor=st.sampled_from([28, 32]), lo=budgets, hi=budgets)
def test_hf_resize_is_on_grid_and_under_max(h: int, w: int, factor: int, lo: int, hi: int) -> None:
    try:
        rh, rw = hf_smart_resize(h, w, factor, lo, hi)
    except VisionError as exc:
        assert exc.library == "transformers" and exc.exc_type == "ValueError"
        assert max(h, w) / min(h, w) > 200
        return
    assert rh % factor == 0 and rw % factor == 0
    if round(h / factor) * round(w / factor) * factor * factor > hi:
        assert rh >= factor and rw >= factor
        assert rh * rw <= hi or rh == factor or rw == factor


@FAST
@given(h=sides, w=sides, factor=st.sampled_from([28, 32]), lo=budgets, hi=budgets)
def test_qvu_resize_asserts_or_lands_on_grid(h: int, w: int, factor: int, lo: int, hi: int) -> None:
    try:
        rh, rw = qvu_smart_resize(h, w, factor, lo, hi)
    except VisionError as exc:
        assert exc.library == "qwen-vl-utils"
        assert (exc.exc_type == "AssertionError") == (hi < lo)
        return
    assert rh % factor == 0 and rw % factor == 0 and rh >= 0 and rw >= 0


@FAST
@given(family=families, pipeline=pipelines, w=sides, h=sides, options=image_options, do_resize=st.booleans())
def test_image_prediction_is_consistent(family: str, pipeline: str, w: int, h: int, options: dict,
                                        do_resize: bool) -> None:
    profile = get_profile(family)
    try:
        p = predict_image(ImageFacts(w, h), options, profile, pipeline, do_resize=do_resize)
    except VisionError as exc:
        assert exc.message and exc.exc_type in {"ValueError", "AssertionError", "RuntimeError", "TypeError"}
        return
    t, gh, gw = p.grid_thw
    assert t == 1 and p.resized == (gh * profile.patch_size, gw * profile.patch_size)
    assert p.tokens == gh * gw // 4 and gh % 2 == 0 and gw % 2 == 0
    bound = worst_case_image_tokens(profile, options, pipeline, do_resize=do_resize)
    assert bound is None or p.tokens <= bound


@FAST
@given(family=families, pipeline=pipelines, total=st.integers(1, 2000), fps=st.floats(1, 60, allow_nan=False),
       w=st.integers(16, 2000), h=st.integers(16, 2000),
       options=st.fixed_dictionaries({}, optional={"fps": st.floats(0.1, 8, allow_nan=False),
                                                   "max_frames": st.integers(2, 100)}),
       kwargs=st.fixed_dictionaries({}, optional={"fps": st.sampled_from([1, 2]), "do_resize": st.booleans()}))
def test_video_prediction_is_consistent(family: str, pipeline: str, total: int, fps: float, w: int, h: int,
                                        options: dict, kwargs: dict) -> None:
    profile = get_profile(family)
    try:
        p = predict_video(VideoFacts(total, fps, w, h), options, profile, pipeline, processor_kwargs=kwargs)
    except VisionError as exc:
        assert exc.quoted
        return
    t, gh, gw = p.grid_thw
    assert p.frames is not None and t == -(-p.frames // 2)
    assert p.tokens == t * gh * gw // 4
    assert len(p.frame_indices or ()) == p.frames
    assert all(0 <= i < total for i in p.frame_indices or ())
    if profile.video_timestamps:
        assert p.timestamps is not None and len(p.extra_text) == t
        assert all(s.startswith("<") and s.endswith(" seconds>") for s in p.extra_text)
    else:
        assert p.timestamps is None and p.extra_text == ()


@FAST
@given(total=st.integers(1, 5000), fps=st.floats(0.5, 120, allow_nan=False),
       options=st.fixed_dictionaries({}, optional={"fps": st.floats(0.1, 30, allow_nan=False),
                                                   "min_frames": st.integers(1, 32), "max_frames": st.integers(1, 900)}))
def test_smart_nframes_is_even_and_in_range(total: int, fps: float, options: dict) -> None:
    try:
        n = smart_nframes(options, total, fps)
    except VisionError as exc:
        assert exc.message.startswith("nframes should in interval [2, ")
        return
    assert n % 2 == 0 and 2 <= n <= total


@FAST
@given(total=st.integers(1, 3000), n=st.integers(1, 400))
def test_qwen2vl_arange_gives_n_or_n_plus_one(total: int, n: int) -> None:
    try:
        indices = qwen2vl_sample_frames(total, 30.0, num_frames=n)
    except VisionError:
        return
    rounded = round(n / 2) * 2
    assert len(indices) in (rounded, rounded + 1)
    assert indices == sorted(indices)


def test_vision_error_round_trips() -> None:
    err = VisionError("qwen-vl-utils", "ValueError", "boom", "x.py:f")
    assert str(err) == "qwen-vl-utils: ValueError: boom"
    back = pickle.loads(pickle.dumps(err))
    assert (back.library, back.exc_type, back.message, back.where) == ("qwen-vl-utils", "ValueError", "boom", "x.py:f")
