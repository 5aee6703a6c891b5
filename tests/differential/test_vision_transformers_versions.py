"""Older transformers releases against qwenlint's model of them (``tf_version``), run for real.

The test set-up (scripts/test.sh) installs transformers 4.55.4 (the oldest LLaMA-Factory 0.9.5
allows), 4.56.2, 4.57.6, 5.1.0, 5.6.0 (the newest LLaMA-Factory 0.9.5 allows) and 5.17.0 beside the
environment's 5.23.0, each with the huggingface-hub and tokenizers it pins, in ``.versions/transformers-X`` (``QWENLINT_VERSIONS_DIR`` names another folder).  A
worker (_tf_worker.py) runs with that folder first on ``PYTHONPATH``, so it shares torch,
torchvision and torchcodec with this process, and answers each generated case with the real
processors of that release; qwenlint predicts the same case with ``tf_version``.

Compared exactly: grid and pad count, or the error class and message, for images through
``apply_chat_template`` (EXIF-rotated files, call-time pixel budgets flat, nested or as ``size``),
images and frame lists through qwen-vl-utils 0.0.11, 0.0.13 or 0.0.14 (loaded by path from
``.versions/``) and the processor, videos through ``apply_chat_template``, and
which image parts ``apply_chat_template`` loads (OpenAI ``image_url`` parts from 5.2) and which
messages it raises on (string content before 5.7), through the whole check, and which families each
release can load at all (QL413).
The differences these releases make are the branches of vision/processor.py (``TF_*``).  Not
generated: a key given both flat and in ``videos_kwargs`` (releases differ in which error they
raise, and before 5.23 in which key they name: the first of a set).
"""

from __future__ import annotations


import _real as real  # first: it skips this module when the real libraries are missing
from _releases import TF_RELEASES, VERSIONS_DIR
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from qwenlint.vision import ImageFacts, VideoFacts, get_profile, predict_image, predict_video

pytestmark = pytest.mark.differential
ours = real.ours
FOLDER, RELEASES = VERSIONS_DIR, TF_RELEASES


_WORKERS: dict[str, real.Worker] = {}


@pytest.fixture(scope="module", params=RELEASES)
def release(request) -> str:
    worker = real.transformers_worker(request.param)
    _WORKERS[request.param] = worker
    yield request.param
    worker.close()


def _ask(release: str, **case) -> tuple | None:
    """The worker's answer, or None where this release has no processor for the family at all
    (Qwen3-VL and Qwen3-Omni before 4.57), which qwenlint must know too (QL413; its message is
    proven by test_families_each_release_loads)."""
    from qwenlint.consumers.transformers import knows_family

    worker = _WORKERS[release]
    key = (release, case["family"])
    if key not in _BUILT:
        _BUILT[key] = worker.ask(family=case["family"], kind="build")[0] == "ok"
    if not _BUILT[key]:
        assert not knows_family(case["family"], Version(release))
        return None
    return worker.ask(**case)


_BUILT: dict[tuple[str, str], bool] = {}


budgets = st.one_of(st.integers(1, 3_000_000), st.sampled_from([3136, 50176, 65536, 262144, 1003520]))
processor_kwargs = st.one_of(
    st.just({}),
    st.fixed_dictionaries({}, optional={"min_pixels": budgets, "max_pixels": budgets}),
    st.builds(lambda lo, hi: {"size": {"shortest_edge": lo, "longest_edge": hi}}, budgets, budgets),
    st.builds(lambda hi: {"images_kwargs": {"max_pixels": hi}}, budgets),
    st.builds(lambda lo, hi: {"images_kwargs": {"min_pixels": lo, "max_pixels": hi}}, budgets, budgets),
)
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("family", real.FAMILIES)
@SETTINGS
@given(width=st.one_of(st.integers(1, 4), st.integers(1, 1600)),
       height=st.one_of(st.integers(1, 4), st.integers(1, 1600)),  # 1 and 3 high: read as the channels before 5.4
       orientation=st.sampled_from([1, 3, 5, 6, 7, 8]), kwargs=processor_kwargs)
def test_chat_template_images(release: str, family: str, width: int, height: int, orientation: int,
                              kwargs: dict) -> None:
    expected = _ask(release, family=family, kind="chat_template_image", width=width, height=height,
                    orientation=orientation, kwargs=kwargs)
    if expected is None:  # no such processor in this release
        return

    def predicted() -> list:
        p = predict_image(ImageFacts(width, height, orientation), {}, get_profile(family), "transformers",
                          processor_kwargs=kwargs, tf_version=Version(release))
        return [[list(p.grid_thw)], p.tokens]

    assert ours(predicted) == expected


@pytest.mark.parametrize("family", real.FAMILIES)
@SETTINGS
@given(width=st.one_of(st.integers(1, 80), st.integers(1, 2200)), height=st.one_of(st.integers(1, 80), st.integers(1, 2200)),
       options=st.fixed_dictionaries({}, optional={"min_pixels": budgets, "max_pixels": budgets}),
       do_resize=st.booleans(), qvu=st.sampled_from([None, "0.0.11", "0.0.13"]))
def test_qwen_vl_utils_images(release: str, family: str, width: int, height: int, options: dict,
                              do_resize: bool, qvu: str | None) -> None:
    """The README recipe of a qwen-vl-utils release (the installed 0.0.14, or 0.0.11 / 0.0.13 from
    .versions/) with this transformers release's processor: the pair a user runs, e.g. 5.6.0 with
    0.0.11, both assumed."""
    patch = get_profile(family).qvu_image_patch_size
    expected = _ask(release, family=family, kind="qvu_image", width=width, height=height, options=options,
                    patch=patch, do_resize=do_resize, qvu=qvu)
    if expected is None:  # no such processor in this release
        return

    def predicted() -> list:
        p = predict_image(ImageFacts(width, height), options, get_profile(family), "qwen-vl-utils",
                          do_resize=do_resize, tf_version=Version(release), qvu_version=Version(qvu or "0.0.14"))
        return [[list(p.grid_thw)], p.tokens]

    assert ours(predicted) == expected


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(sizes=st.lists(st.tuples(st.integers(1, 500), st.integers(1, 500)), min_size=0, max_size=6),
       same=st.booleans(), do_resize=st.booleans(), qvu=st.sampled_from([None, "0.0.11", "0.0.13"]),
       options=st.fixed_dictionaries({}, optional={"min_pixels": budgets, "max_pixels": budgets,
                                                   "sample_fps": st.sampled_from([1.0, 2.0])}))
def test_qwen_vl_utils_frame_lists(release: str, family: str, sizes: list, same: bool, do_resize: bool,
                                   qvu: str | None, options: dict) -> None:
    """A frame list through a qwen-vl-utils release (0.0.11: image resizes only; 0.0.13 and later:
    the video budget too) and this transformers release's processor, both versions assumed."""
    if same and sizes:
        sizes = [sizes[0]] * len(sizes)
    patch = get_profile(family).qvu_image_patch_size
    expected = _ask(release, family=family, kind="qvu_frames", sizes=sizes, options=options, patch=patch,
                    do_resize=do_resize, qvu=qvu)
    if expected is None:  # no such processor in this release
        return

    def predicted() -> list:
        p = predict_video([ImageFacts(w, h) for w, h in sizes], options, get_profile(family), "qwen-vl-utils",
                          do_resize=do_resize, tf_version=Version(release), qvu_version=Version(qvu or "0.0.14"))
        return [[list(p.grid_thw)], p.tokens]

    assert ours(predicted) == expected


video_kwargs = st.fixed_dictionaries({}, optional={
    "fps": st.sampled_from([0.5, 1, 2]), "num_frames": st.integers(2, 20),
    "max_pixels": budgets, "min_pixels": budgets, "do_resize": st.booleans(),
    "do_sample_frames": st.booleans(),
    "size": st.builds(lambda lo, hi: {"shortest_edge": lo, "longest_edge": hi}, budgets, budgets),
    "videos_kwargs": st.fixed_dictionaries({}, optional={"min_pixels": budgets, "max_pixels": budgets}),
}).filter(lambda kw: not ("fps" in kw and "num_frames" in kw)
          # a key both flat and in videos_kwargs: which error, and for which key, differs between
          # releases (before 5.23 the key checked first is a set's order); not modelled per release
          and not set(kw.get("videos_kwargs", {})) & set(kw))


@pytest.mark.parametrize("family", real.FAMILIES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(width=st.integers(4, 120).map(lambda v: v * 2), height=st.integers(4, 120).map(lambda v: v * 2),
       rate=st.sampled_from(["2", "10", "30000/1001"]), frames=st.integers(1, 40), kwargs=video_kwargs)
def test_chat_template_videos(release: str, family: str, width: int, height: int, rate: str, frames: int,
                              kwargs: dict) -> None:
    answer = _ask(release, family=family, kind="chat_template_video", width=width, height=height,
                  rate=rate, frames=frames, kwargs=kwargs)
    if answer is None:  # no such processor in this release
        return
    expected, facts = answer

    def predicted() -> list:
        p = predict_video(VideoFacts(*facts), {}, get_profile(family), "transformers", processor_kwargs=kwargs,
                          tf_version=Version(release))
        return [[list(p.grid_thw)], p.tokens]

    assert ours(predicted) == tuple(expected)


def _image_parts(paths: list[str]) -> st.SearchStrategy[list[dict]]:
    """Content lists with OpenAI ``image_url`` parts (object or string value, extra keys) and image
    parts in the forms apply_chat_template loads."""
    path = st.sampled_from(paths)
    part = st.one_of(
        path.map(lambda p: {"type": "image_url", "image_url": {"url": p}}),
        path.map(lambda p: {"type": "image_url", "image_url": p}),
        path.map(lambda p: {"type": "image_url", "image_url": {"url": p, "detail": "high"}}),
        path.map(lambda p: {"type": "image", "path": p}),
        path.map(lambda p: {"type": "image", "url": p}),
    )
    return st.lists(part, min_size=1, max_size=3).map(lambda parts: [*parts, {"type": "text", "text": "hi"}])


@pytest.fixture(scope="module")
def image_files(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("tf-parts")
    return [real.write_image(str(root), w, h, 1) for w, h in ((64, 48), (40, 90))]


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen2.5-vl"])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_image_url_parts(release: str, family: str, image_files: list[str], data: st.DataObject) -> None:
    """Which parts apply_chat_template loads (OpenAI image_url parts only from 5.2), through the whole
    check with the family's official template: the images loaded, and the pads left without one
    (each is a QL304 finding; with other images loaded, the real processor raises)."""
    from qwenlint.engine import Engine, FileScope
    from qwenlint.ir import Record
    from qwenlint.options import Options
    from qwenlint.template.bundled import bundled_template

    content = data.draw(_image_parts(image_files))
    expected = _ask(release, family=family, kind="chat_template_parts", content=content,
                    template=bundled_template(family).source)
    if expected is None:  # no such processor in this release
        return
    engine = Engine(Options(target="transformers", family=family, assume=(f"transformers=={release}",)))
    out = engine.check_record(Record(value=[{"role": "user", "content": content}]), FileScope("<m>", "/"), keep=True)
    parts = out.context.conversations[0].messages[0].parts
    loaded = [p for p in parts if p.kind.value == "image" and out.context.reading(p).loaded]
    unloaded = [d for d in out.diagnostics if d.rule == "QL304"]
    pads = sum(out.context.predictions[p.pointer].tokens for p in loaded)
    if expected[0] == "ok":
        assert (len(loaded), pads + len(unloaded)) == tuple(expected[1]), (content, expected, unloaded)
    else:  # pads outnumber the images loaded: qwenlint reports every pad left without one
        assert unloaded and expected[1] in ("IndexError", "ValueError"), (content, expected)


@pytest.mark.parametrize("family", (*real.FAMILIES, "qwen3.6", "qwen4-exp"))
def test_families_each_release_loads(release: str, family: str) -> None:
    """Which families a release can load at all (``consumers.transformers.FAMILY_SINCE``, read by
    QL413): a config.json of the family's checkpoint model type (the first; the Omni ``*_thinker``
    types are sub-configs, never a checkpoint's) through ``AutoConfig``."""
    from qwenlint.consumers.transformers import knows_family

    model_type = get_profile(family).model_types[0]
    expected = _WORKERS[release].ask(family=family, kind="model_type", model_type=model_type)
    unknown = expected[:2] == ("error", "ValueError") and "does not recognize this architecture" in expected[2]
    # known: whatever else this bare config does (5.0.0 fails to fill Qwen3-Omni's default
    # sub-configs, an AttributeError), the model type is recognised
    assert unknown is not knows_family(family, Version(release)), (model_type, expected)


_text = st.text(st.sampled_from("ab \u4e2d"), max_size=3)
_content = st.one_of(_text, st.lists(_text.map(lambda t: {"type": "text", "text": t}), max_size=2))


@pytest.mark.parametrize("family", ["qwen2.5-vl"])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(system=st.none() | _content, user=_content, answer=st.none() | _content)
def test_string_content(release: str, family: str, system, user, answer) -> None:
    """Messages with string or list content (empty ones too) through apply_chat_template(tokenize=True)
    and the family's official template, against the whole check: the real call raises exactly where
    QL112 reports (string content before 5.7.0)."""
    from qwenlint.engine import Engine, FileScope
    from qwenlint.ir import Record
    from qwenlint.options import Options
    from qwenlint.template.bundled import bundled_template

    messages = ([{"role": "system", "content": system}] if system is not None else []) + \
        [{"role": "user", "content": user}] + ([{"role": "assistant", "content": answer}] if answer is not None else [])
    expected = _ask(release, family=family, kind="chat_template_messages", messages=messages,
                    template=bundled_template(family).source)
    if expected is None:  # no such processor in this release
        return
    engine = Engine(Options(target="transformers", family=family, assume=(f"transformers=={release}",)))
    found = [d for d in engine.check_record(Record(value=messages), FileScope("<m>", "/")).diagnostics if d.rule == "QL112"]
    if expected[0] == "ok":
        assert not found, (messages, found)
    else:
        assert found and f"{expected[1]}: {expected[2]}" in found[0].message, (messages, expected, found)
