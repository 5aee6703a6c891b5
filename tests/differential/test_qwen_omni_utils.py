"""qwen-omni-utils (``--target qwen-omni-utils``) against the real ``process_mm_info`` + Omni processor.

The Omni READMEs' recipe, run for real on hypothesis-drawn conversations::

    audios, images, videos = process_mm_info(conversation, use_audio_in_video=flag)
    text = processor.apply_chat_template(conversation, tokenize=False)
    inputs = processor(text=text, audio=audios, images=images, videos=videos, use_audio_in_video=flag)

Drawn: images of any size (Qwen3-Omni's double resize: multiples of 28, then 32), audio parts
(WAV, FLAC, Opus at any rate, with ``audio_start`` / ``audio_end`` windows), videos with or without
a sound track, a part without ``type``, ``use_audio_in_video`` on and off.  Compared: whether the
recipe raises (and with which exception class, which qwenlint must name in an error diagnostic),
the image grids, and the image, video and audio pads.  Audio lengths are exact here (librosa
fixes the resampled length) except a video's AAC track (FFmpeg through audioread: within one frame,
so the audio pads are bounded as in test_audio_omni.py).
"""

from __future__ import annotations

import json
import os
import tempfile

import _real as real  # first: it skips this module when the real libraries are missing
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mediasynth import make_clip, make_video  # tests/media, on the path through _real

import qwenlint
from qwenlint.consumers import Target
from qwenlint.options import Options
from qwenlint.tokens import collect
from qwenlint.vision.audio import predict_audio_batch

qou = pytest.importorskip("qwen_omni_utils") if os.environ.get("QWENLINT_REQUIRE_DIFF") != "1" else \
    __import__("qwen_omni_utils")

pytestmark = pytest.mark.differential
OMNI = ("qwen2.5-omni", "qwen3-omni")
_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-qou-")


seconds = st.one_of(st.floats(0.02, 3.0), st.floats(28.0, 33.0))
images = st.fixed_dictionaries({"kind": st.just("image"), "w": st.integers(20, 900), "h": st.integers(20, 900)})
parts = st.one_of(
    images,
    st.fixed_dictionaries({"kind": st.just("audio"), "codec": st.sampled_from(["wav", "flac", "opus"]),
                           "rate": st.sampled_from([8000, 16000, 22050, 44100, 48000]), "seconds": seconds},
                          optional={"audio_start": st.floats(0.0, 2.0), "audio_end": st.floats(0.5, 40.0)}),
    st.fixed_dictionaries({"kind": st.just("video"), "frames": st.integers(4, 12),
                           "track": st.one_of(st.none(), st.sampled_from([8000, 16000, 44100]))}),
    st.just({"kind": "typeless"}),
)


def _write(k: int, spec: dict) -> dict:
    kind = spec["kind"]
    if kind == "image":
        return {"type": "image", "image": real.write_image(_DIR, spec["w"], spec["h"])}
    if kind == "audio":
        rate = 48000 if spec["codec"] == "opus" else spec["rate"]
        n = max(1, int(spec["seconds"] * rate))
        path = make_clip(os.path.join(_DIR, f"a{k}.{spec['codec']}"), spec["codec"], rate, n)
        part = {"type": "audio", "audio": path}
        part.update({k2: round(spec[k2], 3) for k2 in ("audio_start", "audio_end") if k2 in spec})
        return part
    if kind == "video":
        path = os.path.join(_DIR, f"v{k}.mp4")
        rate = spec["track"]
        make_video(path, 64, 48, 8, spec["frames"], audio=rate is not None, audio_rate=rate or 16000,
                   audio_samples=None if rate is None else rate * spec["frames"] // 8)
        return {"type": "video", "video": path}
    return {"text": "no type"}


def _real_run(family: str, content: list, flag: bool) -> dict:
    return real.omni_recipe(family, content, flag)


def _ours(content: list, result: tuple, **options) -> list | None:
    """qwenlint on the conversation: when the real recipe raised (``result``), an error diagnostic
    must name its exception class (None is returned); else the ``tokens`` rows, none an error."""
    if result[0] == "error":
        diags = qwenlint.check([{"role": "user", "content": content}], base_dir=_DIR, **options).diagnostics
        assert any(d.severity.value == "error" and result[1] in d.message for d in diags), \
            (content, options, result, [d.message for d in diags])
        return None
    conv = os.path.join(_DIR, "conv.json")
    with open(conv, "w") as fh:
        json.dump([{"role": "user", "content": content}], fh)
    rows = collect([conv], Options(**options)).parts
    assert not any(r["error"] for r in rows), (content, rows)
    return rows


def _audio_tokens(rows: list) -> int:
    """The audio pads of the rows: audio parts, and the sound tracks interleaved with videos."""
    return sum(r["tokens"] for r in rows if r["kind"] == "audio") + \
        sum(r["audio_tokens"] for r in rows if r.get("audio_tokens") is not None)


@pytest.mark.parametrize("family", OMNI)
@settings(max_examples=int(os.environ.get("QWENLINT_QOU_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(parts, min_size=1, max_size=3), flag=st.booleans())
def test_process_mm_info_recipe(family: str, specs: list[dict], flag: bool) -> None:
    content = [_write(k, s) for k, s in enumerate(specs)] + [{"type": "text", "text": "?"}]
    result = real.outcome(lambda: _real_run(family, content, flag))
    event(f"real: {result[0]} {result[1] if result[0] == 'error' else ''}")

    rows = _ours(content, result, family=family, target=Target.QWEN_OMNI_UTILS, use_audio_in_video=flag)
    if rows is None:
        return
    expected = result[1]
    assert [r["grid_thw"] for r in rows if r["kind"] == "image"] == expected["image_grid_thw"], (specs, rows)
    assert sum(r["tokens"] for r in rows if r["kind"] == "image") == expected["image"]
    assert sum(r.get("video_tokens", r["tokens"]) for r in rows if r["kind"] == "video") == expected["video"]
    audio = [(r["samples"], True) if r["kind"] == "audio" else (r["audio_samples"], False)
             for r in rows if r["kind"] == "audio" or r.get("audio_tokens") is not None]
    got = _audio_tokens(rows)
    event(f"audio exact: {got == expected['audio']}")
    if got == expected["audio"]:
        return
    # a video's AAC track: within one frame (1024 samples at the track's rate; at most 2048 at 16 kHz)
    assert any(not standalone for _, standalone in audio), (specs, flag, rows, expected)
    low, high = (sum(p.tokens for p in predict_audio_batch(family, [max(1, n + (0 if standalone else sign * 2049))
                                                                    for n, standalone in audio]))
                 for sign in (-1, 1))
    assert low <= expected["audio"] <= high, (specs, rows, expected, low, high)


@pytest.mark.parametrize("family", OMNI)
@settings(max_examples=int(os.environ.get("QWENLINT_QOU_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(images, min_size=1, max_size=2))
def test_images(family: str, specs: list[dict]) -> None:
    """Images alone, densely: Qwen3-Omni's are resized twice (``fetch_image`` to multiples of 28,
    as process_mm_info passes ``image_patch_size=14``, then the processor to multiples of 32)."""
    content = [_write(k, s) for k, s in enumerate(specs)]
    expected = _real_run(family, content, False)
    conv = os.path.join(_DIR, "conv-img.json")
    with open(conv, "w") as fh:
        json.dump([{"role": "user", "content": content}], fh)
    rows = collect([conv], Options(family=family, target=Target.QWEN_OMNI_UTILS)).parts
    assert [r["grid_thw"] for r in rows] == expected["image_grid_thw"], (specs, rows)
    assert sum(r["tokens"] for r in rows) == expected["image"]


# --- older transformers releases: the README call with use_audio_in_video --------------------------

av_parts = st.one_of(
    st.fixed_dictionaries({"kind": st.just("video"), "frames": st.integers(4, 10),
                           "track": st.one_of(st.none(), st.sampled_from([16000, 44100]))}),
    st.fixed_dictionaries({"kind": st.just("audio"), "codec": st.just("wav"), "rate": st.sampled_from([16000, 22050]),
                           "seconds": st.one_of(st.floats(0.05, 3.0), st.floats(29.0, 32.0))}),
    images,
)


@pytest.fixture(scope="module", params=("4.57.6", "5.17.0"))
def tf_worker(request):
    worker = real.transformers_worker(request.param)
    yield request.param, worker
    worker.close()


@pytest.mark.parametrize("family", OMNI)
@settings(max_examples=int(os.environ.get("QWENLINT_QOU_RELEASE_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(specs=st.lists(av_parts, min_size=1, max_size=3), flag=st.booleans())
def test_recipe_on_older_transformers(tf_worker, family: str, specs: list[dict], flag: bool) -> None:
    """Before 5.23 the README call interleaves each video's sound track (5.23 refuses it: the test
    above); a silent video still fails qwen-omni-utils' assertion; 4.57 cuts Qwen3-Omni's audio at
    30 seconds (5.0 does not)."""
    release, worker = tf_worker
    content = [_write(k, s) for k, s in enumerate(specs)] + [{"type": "text", "text": "?"}]
    result = worker.ask(family=family, kind="omni-recipe", content=content, use_audio_in_video=flag)
    if result[0] == "error":
        event(f"{release} real: error {result[1]}")
    rows = _ours(content, result, family=family, target=Target.QWEN_OMNI_UTILS, use_audio_in_video=flag,
                 assume=(f"transformers=={release}",))
    if rows is None:
        return
    expected = result[1]
    assert [r["grid_thw"] for r in rows if r["kind"] == "image"] == expected["image_grid_thw"]
    assert sum(r.get("video_tokens", r["tokens"]) for r in rows if r["kind"] == "video") == expected["video"]
    got = _audio_tokens(rows)
    event(f"{release} interleaved: {any(r.get('audio_tokens') for r in rows)}")
    assert got == expected["audio"], (specs, flag, rows, expected)
