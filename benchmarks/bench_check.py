"""Throughput of the whole ``qwenlint check`` path, and ``qwenlint tokens`` vs the real preprocessing.

    python benchmarks/bench_check.py                  # 20000 conversations per kind, N=20 media
    python benchmarks/bench_check.py --convs 5000 --media 10 --no-real

Part 1 generates JSONL files (in a temporary directory) of text-only conversations and of
conversations with one known-size image each (a handful of distinct 1080p JPEGs, so the facts
cache is exercised as in a real dataset), and runs ``engine.run_serial`` (the record loop and the fold) on one core: every
stage (media facts, predictions, template render) and every rule.  It prints conversations per
second (goal: >= 20 000 / s / core for text-only); it measures, it does not assert.

Part 2 runs the ``tokens`` report (qwenlint.tokens.collect) on N 1920x1080 JPEGs and N short
1080p videos, and the real qwen-vl-utils + Qwen2.5-VL processor on the same files
(benchmarks/bench_tokens.py's worker), side by side, and checks that the pad counts agree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def _write_jsonl(path: str, records) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")


def _conversations(kind: str, n: int, images: list[str]):
    for i in range(n):
        user: list = [{"type": "text", "text": f"Question {i}: what is shown here, and why does it matter?"}]
        if kind == "media":
            user.insert(0, {"type": "image", "image": images[i % len(images)], "max_pixels": 512 * 28 * 28})
        yield [{"role": "system", "content": "You are a helpful assistant."},
               {"role": "user", "content": user},
               {"role": "assistant", "content": [{"type": "text", "text": f"Answer number {i}."}]}]


def bench_check(n: int, folder: str, profile: bool) -> None:
    from PIL import Image

    from qwenlint.engine import Engine, run_serial
    from qwenlint.options import Options

    images = []
    for i in range(8):
        p = os.path.join(folder, f"img_{i}.jpg")
        Image.new("RGB", (1920, 1080), (i * 20, 90, 160)).save(p, quality=80)
        images.append(os.path.basename(p))
    for kind in ("text", "media"):
        path = os.path.join(folder, f"{kind}.jsonl")
        _write_jsonl(path, _conversations(kind, n, images))
        run_serial(Engine(Options(family="qwen2.5-vl", max_model_len=32768)), [path])  # warm-up
        engine = Engine(Options(family="qwen2.5-vl", max_model_len=32768))  # the run's resources
        t0 = time.process_time()
        if profile:
            import cProfile
            import pstats

            pr = cProfile.Profile()
            pr.enable()
        result = run_serial(engine, [path])
        dt = time.process_time() - t0
        if profile:
            pr.disable()
            pstats.Stats(pr).sort_stats("cumulative").print_stats(25)
        print(f"check  {kind:<6} {n:>7} conversations  {dt:7.3f} s CPU  "
              f"{n / dt:10.0f} conversations/s/core  ({len(result.diagnostics)} diagnostics)")
        bench_schema(path, kind, n)


def bench_schema(path: str, kind: str, n: int) -> None:
    """Schema validation alone: the pydantic models and the normaliser, on already-parsed records."""
    from qwenlint.dialects.normalise import normalise

    with open(path, encoding="utf-8") as fh:
        values = [json.loads(line) for line in fh]
    t0 = time.process_time()
    issues = sum(len(normalise(v).schema_issues) for v in values)
    dt = time.process_time() - t0
    print(f"schema {kind:<6} {n:>7} conversations  {dt:7.3f} s CPU  "
          f"{n / dt:10.0f} conversations/s/core  ({issues} schema issues)")


def bench_tokens(n: int, folder: str, real: bool) -> None:
    import bench_tokens as BT

    from qwenlint.options import Options
    from qwenlint.tokens import collect

    files = BT.synthesise(folder, n)
    convs = [[{"role": "user", "content": [{"type": f["kind"], f["kind"]: f["path"]}]}] for f in files]
    path = os.path.join(folder, "tokens.jsonl")
    _write_jsonl(path, convs)
    times = []
    for _ in range(2):  # cold: lazy imports, template compile, PIL plugins; warm: a second report
        t0 = time.perf_counter()
        report = collect([path], Options(family="qwen2.5-vl", target="qwen-vl-utils"))
        times.append(time.perf_counter() - t0)
    cold_s, ours_s = times
    ours = [p["tokens"] for p in report.parts]
    print(f"tokens qwenlint: {len(files)} files ({n} images + {n} videos): cold {cold_s:.3f} s "
          f"({1000 * cold_s / len(files):.2f} ms/file, first report in the process), warm {ours_s:.3f} s "
          f"({1000 * ours_s / len(files):.2f} ms/file); both incl. probing and the template render")
    if not real:
        return
    manifest = os.path.join(folder, "manifest.json")
    with open(manifest, "w", encoding="utf-8") as fh:
        json.dump(files, fh)
    r = BT._run_side("real", manifest, False)
    print(f"tokens real    : {len(files)} files in {r['run_s']:.3f} s ({1000 * r['run_s'] / len(files):.2f} ms/file; "
          f"setup {r['import_s']:.1f} s)  speed-up x{r['run_s'] / cold_s:.0f} cold, x{r['run_s'] / ours_s:.0f} warm")
    print(f"pad counts agree on every file: {ours == r['tokens']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--convs", type=int, default=20000)
    ap.add_argument("--media", type=int, default=20)
    ap.add_argument("--no-real", action="store_true", help="skip the real qwen-vl-utils + processor side")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the check runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qwenlint-bench-") as folder:
        bench_check(args.convs, folder, args.profile)
        if args.media:
            bench_tokens(args.media, folder, not args.no_real)


if __name__ == "__main__":
    main()
