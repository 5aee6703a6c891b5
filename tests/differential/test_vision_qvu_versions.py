"""Older qwen-vl-utils releases against qwenlint's model of them (``qvu_version``), run for real.

The test set-up (scripts/test.sh) installs qwen-vl-utils 0.0.10, 0.0.11 and 0.0.13 beside the
environment's 0.0.14, with ``pip install --no-deps --target .versions/qwen-vl-utils-X``
(``QWENLINT_VERSIONS_DIR`` names another folder); each ``vision_process.py`` is loaded here under its
own module name, so every release runs in one process with the same torch, torchvision and
transformers 5.23 processors.  0.0.10 reads video files with decord (its README installs
``qwen-vl-utils[decord]``; it never tries torchcodec): decord 0.6.0 is installed in
``.versions/decord-0.6.0`` and those cases run in a worker (_tf_worker.py) with it on ``PYTHONPATH``,
because decord and torchcodec must not share a process.

``extract_vision_info`` of every release is run on generated content lists (which parts it picks,
or the ``KeyError: 'type'`` of 0.0.10) and compared with qwenlint's model and with the whole
check's diagnostics.

The recipe of each release's time: 0.0.10 and 0.0.11, the Qwen2.5-VL README of early 2025,
``process_vision_info(messages)`` (no ``image_patch_size``: the Qwen3 README's
``image_patch_size=16`` is a ``TypeError``); 0.0.13, the recipe of 0.0.14 (``image_patch_size``,
``return_video_metadata=True``).  Then the processor with ``do_sample_frames=False`` and the drawn
``do_resize``.  Compared exactly, as for 0.0.14 in test_vision_images.py / test_vision_videos.py:
grid, pad count, frame count and Qwen3 timestamps, or the error class and message.  0.0.11's
``fps`` list (``return_video_kwargs``) is not passed: transformers 5.23 rejects it whatever the
release (vision/predict.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from fractions import Fraction
from pathlib import Path

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

import qwenlint
from qwenlint.consumers import qwen_vl_utils as qvu_consumer
from qwenlint.consumers.versions import resolve
from qwenlint.vision import qvu
from qwenlint.vision import (
    ImageFacts,
    VideoFacts,
    get_profile,
    predict_image,
    predict_video,
)

pytestmark = pytest.mark.differential
ours = real.ours
REPO = Path(__file__).resolve().parents[2]
FOLDER = Path(os.environ.get("QWENLINT_VERSIONS_DIR") or REPO / ".versions")
RELEASES = ("0.0.10", "0.0.11", "0.0.13")
PATCH_SIZE = Version("0.0.13")  # the first release with image_patch_size
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-qvu-releases-")
_TS = re.compile(r"<\d+\.\d seconds>")


def _load(release: str):
    source = real.qvu_release_source(FOLDER, release)
    if not os.path.isfile(source):
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise FileNotFoundError(f"QWENLINT_REQUIRE_DIFF=1 but qwen-vl-utils {release} is not at {source} "
                                    "(scripts/test.sh installs it)")
        pytest.skip(f"qwen-vl-utils {release} is not at {source}", allow_module_level=True)
    return real.load_qvu_release(FOLDER, release)


MODULES = {release: _load(release) for release in RELEASES}


def test_they_are_the_releases_named() -> None:
    oldest, old, new = MODULES["0.0.10"], MODULES["0.0.11"], MODULES["0.0.13"]
    assert not hasattr(oldest, "calculate_video_frame_range") and hasattr(old, "calculate_video_frame_range")
    with pytest.raises(KeyError):
        oldest.extract_vision_info([{"role": "user", "content": [{"text": "hi"}]}])
    assert old.IMAGE_FACTOR == 28 and not hasattr(old, "IMAGE_MIN_TOKEN_NUM")
    with pytest.raises(TypeError, match="image_patch_size"):
        old.process_vision_info([{"role": "user", "content": "hi"}], image_patch_size=16)
    assert hasattr(new, "IMAGE_MIN_TOKEN_NUM") and not hasattr(new, "MAX_NUM_WORKERS_FETCH_VIDEO")


def _patch(family: str) -> int:
    return get_profile(family).qvu_image_patch_size


def _fetch_images(release: str, family: str, part: dict) -> list:
    mod = MODULES[release]
    messages = [{"role": "user", "content": [part]}]
    if Version(release) < PATCH_SIZE and _patch(family) == 14:
        images, _videos = mod.process_vision_info(messages)
    else:  # 0.0.11 with the Qwen3 README's keyword: a TypeError
        images, _videos = mod.process_vision_info(messages, image_patch_size=_patch(family))
    return images


def _video_run(release: str, family: str, part: dict, do_resize: bool) -> tuple:
    """The release's ``fetch_video`` then the processor: (grid, pads, Qwen3 timestamps)."""
    mod = MODULES[release]
    start, _, pad, end = real.placeholders(family)
    text = f"{start}{pad}{end}"
    with contextlib.redirect_stderr(io.StringIO()):
        if Version(release) < PATCH_SIZE:
            if _patch(family) != 14:
                mod.process_vision_info([{"role": "user", "content": [part]}], image_patch_size=_patch(family))
            frames = mod.fetch_video(part)
            r = real.run_processor(family, text, videos=[frames], do_sample_frames=False, do_resize=do_resize)
        else:
            frames, metadata = mod.fetch_video(part, image_patch_size=_patch(family), return_video_metadata=True)
            r = real.run_processor(family, text, videos=[frames], video_metadata=[metadata],
                                   do_sample_frames=False, do_resize=do_resize)
    return r["video_grid_thw"], r["video_pads"], _TS.findall(r["text"])


def _predicted_video(release: str, media, options: dict, family: str, do_resize: bool) -> tuple:
    p = predict_video(media, options, get_profile(family), "qwen-vl-utils", do_resize=do_resize,
                      qvu_version=Version(release))
    return [list(p.grid_thw)], p.tokens, list(p.extra_text)


budgets = st.one_of(st.integers(1, 3_000_000), st.sampled_from([784, 3136, 4096, 50176, 65536, 262144, 1003520]))
part_options = st.fixed_dictionaries({}, optional={
    "min_pixels": budgets, "max_pixels": budgets,
    "resized_height": st.integers(1, 2000), "resized_width": st.integers(1, 2000),
})


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.one_of(st.integers(1, 80), st.integers(1, 2200)), height=st.one_of(st.integers(1, 80), st.integers(1, 2200)),
       options=part_options, do_resize=st.booleans())
def test_images(release: str, family: str, width: int, height: int, options: dict, do_resize: bool) -> None:
    def run() -> tuple:
        images = _fetch_images(release, family, {"type": "image", "image": real.pil_image(width, height), **options})
        start, pad, _, end = real.placeholders(family)
        r = real.run_processor(family, f"{start}{pad}{end}", images=images, do_resize=do_resize)
        return r["image_grid_thw"], r["image_pads"]

    expected = real.outcome(run)

    def predicted() -> tuple:
        p = predict_image(ImageFacts(width, height), options, get_profile(family), "qwen-vl-utils",
                          do_resize=do_resize, qvu_version=Version(release))
        return [list(p.grid_thw)], p.tokens

    assert ours(predicted) == expected


frame_options = st.fixed_dictionaries({}, optional={
    "min_pixels": budgets, "max_pixels": budgets,
    "resized_height": st.integers(1, 400), "resized_width": st.integers(1, 400),
    "fps": st.sampled_from([1.0, 2.0]), "sample_fps": st.sampled_from([1.0, 2.0, 4.0]),
    "raw_fps": st.sampled_from([10.0, 30.0]),
})


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 700), height=st.integers(1, 700), n=st.integers(0, 9), odd=st.one_of(st.none(),
       st.tuples(st.integers(0, 8), st.integers(1, 700), st.integers(1, 700))), options=frame_options,
       do_resize=st.booleans())
def test_frame_lists(release: str, family: str, width: int, height: int, n: int, odd: tuple | None,
                     options: dict, do_resize: bool) -> None:
    sizes = [(width, height)] * n
    if odd is not None and odd[0] < n:
        sizes[odd[0]] = odd[1:]
    part = {"type": "video", "video": [real.pil_image(w, h) for w, h in sizes], **options}
    expected = real.outcome(lambda: _video_run(release, family, part, do_resize))
    got = ours(lambda: _predicted_video(release, [ImageFacts(w, h) for w, h in sizes], options, family, do_resize))
    assert got == expected


times = st.one_of(st.none(), st.floats(0, 12, allow_nan=False), st.integers(0, 12))
file_options = st.fixed_dictionaries({}, optional={
    "fps": st.sampled_from([0.5, 1, 2, 4]),
    "nframes": st.integers(0, 40),
    "min_pixels": budgets, "max_pixels": budgets, "total_pixels": st.integers(10_000, 50_000_000),
    "resized_height": st.integers(1, 400), "resized_width": st.integers(1, 400),
    "video_start": times, "video_end": times,
})


@pytest.fixture(scope="module")
def decord_worker():
    """_tf_worker.py with decord 0.6.0 first on PYTHONPATH: 0.0.10's video reader."""
    folder = FOLDER / "decord-0.6.0"
    if not (folder / "decord" / "__init__.py").is_file():
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise FileNotFoundError(f"QWENLINT_REQUIRE_DIFF=1 but decord is not in {folder} (scripts/test.sh installs it)")
        pytest.skip(f"decord is not in {folder}")
    worker = real.Worker(folder, FOLDER)
    assert worker.ask(family="", kind="qvu_reader", qvu="0.0.10") == ("ok", "decord")
    yield worker
    worker.close()


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("family", ["qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen2.5-omni"])
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(width=st.one_of(st.integers(8, 200).map(lambda v: v * 2), st.sampled_from(sorted(qvu.DECORD_UNREADABLE_WIDTHS))),
       height=st.integers(8, 200).map(lambda v: v * 2),
       rate=st.sampled_from([Fraction(2), Fraction(10), Fraction(30000, 1001)]), frames=st.integers(2, 60),
       options=file_options, do_resize=st.booleans())
def test_video_files(request, release: str, family: str, width: int, height: int, rate: Fraction, frames: int,
                     options: dict, do_resize: bool) -> None:
    path = real.synth_video(_DIR, width, height, rate, frames)
    part = {"type": "video", "video": path, **options}
    if Version(release) < qvu.TIME_RANGE_RELEASE:  # decord reads it, in the worker
        worker = request.getfixturevalue("decord_worker")
        expected = worker.ask(family=family, kind="qvu_video_file", qvu=release, path=path, options=options,
                              patch=_patch(family), do_resize=do_resize)
        expected = (expected[0], tuple(expected[1])) if expected[0] == "ok" else expected
    else:
        expected = real.outcome(lambda: _video_run(release, family, part, do_resize))
    n, fps, w, h = real.torchcodec_metadata(path)
    got = ours(lambda: _predicted_video(release, VideoFacts(n, fps, w, h), options, family, do_resize))
    assert got == expected


# -- extract_vision_info: which parts are picked, or KeyError: 'type' ------------------------------

_values = st.sampled_from(["a.jpg", "clip.mp4", "hi", "file:///x.png"])
part_dicts = st.dictionaries(
    st.sampled_from(["type", "text", "image", "video", "image_url", "video_url", "audio", "url", "视频", "图片",
                     "max_pixels", "fps"]),
    st.one_of(_values, st.sampled_from(["text", "image", "video", "image_url", "video_url", "audio", "视频", "imgae"])),
    max_size=3)


def _extract(mod, content: list) -> tuple:
    def run() -> list[int]:
        picked = mod.extract_vision_info([{"role": "user", "content": content}])
        return [next(i for i, p in enumerate(content) if p is q) for q in picked]
    return real.outcome(run)


@pytest.mark.parametrize("release", (*RELEASES, "0.0.14"))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(content=st.lists(part_dicts, min_size=1, max_size=4))
def test_extraction(release: str, content: list) -> None:
    import qwen_vl_utils.vision_process as installed

    mod = installed if release == "0.0.14" else MODULES[release]
    expected = _extract(mod, content)
    versions = resolve({"qwen-vl-utils": release}, found=({}, ""))
    readings = [qvu_consumer.extraction(p, versions) for p in content]
    crashes = [i for i, r in enumerate(readings) if r.crash]
    got = (("error", "KeyError", "'type'") if crashes else ("ok", [i for i, r in enumerate(readings) if r.loaded]))
    assert got == expected
    # the whole check reports every part that raises, at the part
    result = qwenlint.check([{"role": "user", "content": content}], target="qwen-vl-utils", family="qwen2.5-vl",
                            assume=[f"qwen-vl-utils=={release}"])
    flagged = {d.pointer for d in result.diagnostics if "KeyError: 'type'" in d.message}
    assert flagged == {f"/0/content/{i}" for i in crashes}
