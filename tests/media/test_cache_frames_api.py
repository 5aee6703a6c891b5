from __future__ import annotations

import os
import subprocess
import sys
import time

import qwenlint.media as media
from qwenlint.media import FactsCache, ImageFacts, MediaError, distinct_sizes, probe_frames, probe_image
from qwenlint.media.errors import ERROR_CODES

from mediasynth import make_image

PUBLIC = {
    "AudioFacts", "probe_audio", "ERROR_CODES", "MAX_DECODED_BYTES", "DataURI", "FactsCache", "Format", "ImageFacts", "MediaError",
    "MediaSource", "SourceKind", "VideoFacts", "bomb_error", "classify_source", "decode_data_uri", "distinct_sizes",
    "parse_data_uri", "probe_frames", "probe_image", "probe_source", "probe_video", "sniff_format",
    "Opener", "probe_opened",  # media opened by the caller (object storage: qwenlint.remote)
}


def test_public_names_do_not_drift() -> None:
    assert set(media.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(media, name)


def test_imports_without_av_or_torch() -> None:
    code = ("import sys; sys.modules['av'] = None; sys.modules['torch'] = None; import qwenlint.media as m; "
            "assert 'numpy' not in sys.modules; print('ok')")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_unknown_error_code_is_a_bug() -> None:
    try:
        MediaError("nope", "x")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown codes must be rejected")
    assert "not-found" in ERROR_CODES


def test_cache_keys_on_file_version(tmp_path) -> None:
    p = make_image(str(tmp_path / "x.png"), 10, 10)
    cache = FactsCache()
    a = cache.get_or_probe(p, probe_image, ("image",))
    b = cache.get_or_probe(os.path.join(str(tmp_path), ".", "x.png"), probe_image, ("image",))
    assert a is b and cache.hits == 1
    time.sleep(0.01)
    make_image(p, 12, 10)
    os.utime(p, ns=(time.time_ns(), time.time_ns() + 10**9))
    c = cache.get_or_probe(p, probe_image, ("image",))
    assert isinstance(c, ImageFacts) and c.size == (12, 10) and cache.misses == 2
    # missing files are not cached (no key) but still answered
    assert isinstance(cache.get_or_probe(str(tmp_path / "none.png"), probe_image), MediaError)
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def test_probe_frames(tmp_path) -> None:
    for i, size in enumerate([(20, 10), (20, 10), (21, 10)]):
        make_image(str(tmp_path / f"f{i}.jpg"), *size)
    frames = probe_frames(["f0.jpg", "file://f1.jpg", "f2.jpg", "missing.jpg", "https://x/y.jpg"],
                          base_dir=tmp_path)
    assert [type(f).__name__ for f in frames] == ["ImageFacts"] * 3 + ["MediaError"] * 2
    assert [f.code for f in frames[3:]] == ["not-found", "remote"]  # type: ignore[union-attr]
    assert distinct_sizes(frames) == {(20, 10), (21, 10)}
