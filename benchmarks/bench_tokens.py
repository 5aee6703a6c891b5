"""qwenlint's dry-run token prediction vs the real preprocessing, side by side, in one run.

    python benchmarks/bench_tokens.py                 # N = 10 and 100 files of each kind
    python benchmarks/bench_tokens.py --sizes 10      # just N = 10
    python benchmarks/bench_tokens.py --codec mpeg4   # videos outside the MP4/H.264 fast path

Synthesises, in a temporary directory (nothing is written into the repository), N 1920x1080 JPEG
images and N short videos (2 s, 1920x1080, 24 fps, MP4, H.264 unless ``--codec``), then runs each
side in its own subprocess so that peak memory is measured separately:

* ``qwenlint``: what ``qwenlint tokens`` does per part: ``qwenlint.media.probe_image`` (the
  header, Pillow lazy open) / ``probe_video`` (torchcodec's exact frame count and rate: from the
  MP4 sample tables for H.264, else a PyAV packet scan; no decoding), then
  ``qwenlint.vision.predict`` with the Qwen2.5-VL profile and the qwen-vl-utils pipeline;
* ``real``: ``qwen_vl_utils.fetch_image`` / ``fetch_video`` and the Qwen2.5-VL image / video
  processor (transformers 5.23), i.e. what ``process_vision_info`` + ``processor(...)`` do.

Reported per side: per-file time (mean, ms), total seconds, the speed ratio, peak RSS
(``resource.getrusage``, includes the interpreter and imported libraries), with ``--traced`` the
tracemalloc peak (Python allocations only; torch tensors are not traced; tracing slows both sides,
so the timings of a traced run are not the ones to quote), setup time (imports, building the
processors; excluded from the per-file times), and whether both sides
agree on every file's pad count.  Needs the ``[diff]`` extra (torch, transformers, qwen-vl-utils, av).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from fractions import Fraction
from typing import Any

FAMILY = "qwen2.5-vl"
IMAGE_SIZE = (1920, 1080)
VIDEO = {"width": 1920, "height": 1080, "fps": 24, "frames": 48}


def synthesise(folder: str, n: int, codec: str = "libx264") -> list[dict[str, str]]:
    """N images and N videos (distinct files, H.264 unless ``codec`` says otherwise) under ``folder``."""
    import av
    import numpy as np
    from PIL import Image

    files = []
    for i in range(n):
        path = os.path.join(folder, f"img_{i:03d}.jpg")
        Image.new("RGB", IMAGE_SIZE, (i % 256, 90, 160)).save(path, quality=80)
        files.append({"kind": "image", "path": path})
    for i in range(n):
        path = os.path.join(folder, f"vid_{i:03d}.mp4")
        rate = Fraction(VIDEO["fps"])
        with av.open(path, mode="w") as container:
            stream = container.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = VIDEO["width"], VIDEO["height"], "yuv420p"
            if codec == "libx264":
                stream.options = {"preset": "ultrafast", "crf": "51", "bf": "0"}
            arr = np.full((VIDEO["height"], VIDEO["width"], 3), i % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="yuv420p")
            for k in range(VIDEO["frames"]):
                frame.pts = k
                frame.time_base = 1 / rate
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        files.append({"kind": "video", "path": path})
    return files


# ---------------------------------------------------------------------------------------------
# workers (run in a subprocess each)


#: Seconds spent inside ``qwenlint.vision.predict`` alone (no header probing), per file.
PREDICT_ONLY: list[float] = []


def _ours() -> Callable[[dict[str, str]], int]:
    """Setup (imports) for the qwenlint side; returns the per-file function.

    Per file it does what ``qwenlint tokens`` does for a part: the media layer's facts (image
    header; for a video torchcodec's exact frame count and rate, from the MP4 sample tables or a
    PyAV packet scan) and the prediction.
    """
    from PIL import Image

    from qwenlint.media import ImageFacts as MImage
    from qwenlint.media import probe_image, probe_video
    from qwenlint.vision import ImageFacts, VideoFacts, get_profile, predict

    Image.init()  # import every format plugin now (probe_image would on its first call)
    import av  # noqa: F401  (imported by probe_video's PyAV path on first use)
    profile = get_profile(FAMILY)

    def one(f: dict[str, str]) -> int:
        if f["kind"] == "image":
            facts = probe_image(f["path"])
            assert isinstance(facts, MImage), facts
            media: Any = ImageFacts(facts.width, facts.height, facts.exif_orientation or 1)
        else:
            v = probe_video(f["path"])
            assert not hasattr(v, "code"), v
            media = VideoFacts(v.num_frames, v.fps_float, v.width, v.height)
        start = time.perf_counter()
        tokens = predict(media, {}, profile, "qwen-vl-utils").tokens
        PREDICT_ONLY.append(time.perf_counter() - start)
        return tokens

    return one


def _real() -> Callable[[dict[str, str]], int]:
    """Setup (imports, processors) for the real side; returns the per-file function."""
    import contextlib
    import io
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from qwen_vl_utils import fetch_image, fetch_video
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    config = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
              "merge_size": 2}
    image_processor = Qwen2VLImageProcessor(**config)
    video_processor = Qwen2VLVideoProcessor(**config)

    def one(f: dict[str, str]) -> int:
        if f["kind"] == "image":
            grid = image_processor(images=[fetch_image({"image": f["path"]})])["image_grid_thw"][0]
        else:
            with contextlib.redirect_stderr(io.StringIO()):
                video = fetch_video({"video": f["path"]})
            out = video_processor(videos=[video], do_sample_frames=False, cap_pixels_per_frame=False)
            grid = out["video_grid_thw"][0]
        return int(grid.prod()) // 4

    return one


def worker(side: str, manifest: str, traced: bool) -> None:
    with open(manifest, encoding="utf-8") as fh:
        files = json.load(fh)
    if traced:
        tracemalloc.start()
    t0 = time.perf_counter()
    one = _ours() if side == "ours" else _real()
    t1 = time.perf_counter()
    per_kind: dict[str, list[float]] = {"image": [], "video": []}
    tokens = []
    for f in files:
        start = time.perf_counter()
        tokens.append(one(f))
        per_kind[f["kind"]].append(time.perf_counter() - start)
    t2 = time.perf_counter()
    _, traced_peak = tracemalloc.get_traced_memory()
    json.dump({"import_s": t1 - t0, "run_s": t2 - t1, "per_kind": per_kind, "tokens": tokens,
               "traced_peak": traced_peak, "predict_only": PREDICT_ONLY,
               "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss},
              sys.stdout)


# ---------------------------------------------------------------------------------------------
# driver


def _run_side(side: str, manifest: str, traced: bool) -> dict[str, Any]:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", side, manifest]
                         + (["--traced"] if traced else []),
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def _ms(values: list[float]) -> str:
    return f"{1000 * sum(values) / len(values):9.2f}" if values else "      n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--codec", default="libx264", help="video encoder (default libx264; e.g. mpeg4)")
    parser.add_argument("--traced", action="store_true",
                        help="also trace Python allocations (tracemalloc; slows both sides down)")
    parser.add_argument("--worker", nargs=2, metavar=("SIDE", "MANIFEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.traced)
        return
    header = (f"{'N':>4} {'side':<9} {'image ms/file':>13} {'video ms/file':>13} {'total s':>8} {'setup s':>8} "
              f"{'peak RSS MiB':>12} {'traced MiB':>10}")
    print(f"family {FAMILY}, pipeline qwen-vl-utils; images {IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} JPEG, videos "
          f"{VIDEO['width']}x{VIDEO['height']} {VIDEO['frames']} frames @ {VIDEO['fps']} fps, {args.codec} MP4")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="qwenlint-bench-") as folder:
        for n in args.sizes:
            files = synthesise(folder, n, args.codec)
            manifest = os.path.join(folder, f"manifest_{n}.json")
            with open(manifest, "w", encoding="utf-8") as fh:
                json.dump(files, fh)
            results = {side: _run_side(side, manifest, args.traced) for side in ("ours", "real")}
            for side, label in (("ours", "qwenlint"), ("real", "real")):
                r = results[side]
                print(f"{n:>4} {label:<9} {_ms(r['per_kind']['image']):>13} {_ms(r['per_kind']['video']):>13} "
                      f"{r['run_s']:8.3f} {r['import_s']:8.3f} {r['maxrss_kib'] / 1024:12.1f} "
                      + (f"{r['traced_peak'] / 2**20:10.2f}" if args.traced else f"{'-':>10}"))
            ratio = results["real"]["run_s"] / max(results["ours"]["run_s"], 1e-9)
            agree = sum(a == b for a, b in zip(results["ours"]["tokens"], results["real"]["tokens"]))
            pure = sorted(results["ours"]["predict_only"])
            print(f"{n:>4} qwenlint.vision.predict alone (header already read): "
                  f"median {1e6 * pure[len(pure) // 2]:.1f} us/file")
            print(f"{n:>4} speed ratio (real / qwenlint, excluding imports): {ratio:,.0f}x; "
                  f"pad counts agree on {agree}/{len(files)} files")


if __name__ == "__main__":
    main()
