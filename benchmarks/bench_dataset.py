"""Records per second of ``qwenlint check`` on a generated fine-tuning dataset, one core vs all.

    python benchmarks/bench_dataset.py                   # 100 000 records per kind
    python benchmarks/bench_dataset.py --records 20000 --format json

Generates, in a temporary directory, ms-swift / LLaMA-Factory style JSONL records
``{"messages": [...], "images": [...]}`` — text-only, and with one local image each (a handful of
distinct small JPEGs reused, so the media facts cache works as on a real dataset) — plus the same
image records as one JSON array (streamed element by element).  Then runs the whole check
(the engine's record loop: load, normalise, media facts, predictions, rules) with ``--jobs 1`` and
``--jobs 0`` (every core) side by side, and prints records per second (wall clock) and the peak
memory of the parent.  It measures; it does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def _record(i: int, images: list[str] | None) -> dict:
    user = f"Question {i}: what is shown here, and why does it matter for the task?"
    rec: dict = {"messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": ("<image>" if images else "") + user},
        {"role": "assistant", "content": f"Answer number {i}: a short description of the scene."}]}
    if images:
        rec["images"] = [images[i % len(images)]]
    return rec


def generate(folder: str, n: int) -> dict[str, str]:
    from PIL import Image

    images = []
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    for k in range(6):
        p = os.path.join("images", f"img_{k}.jpg")
        Image.new("RGB", (640 + 32 * k, 480), (k * 30, 90, 160)).save(os.path.join(folder, p),
                                                                       quality=80)
        images.append(p)
    out = {}
    for kind, imgs in (("text", None), ("images", images)):
        path = os.path.join(folder, f"{kind}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for i in range(n):
                f.write(json.dumps(_record(i, imgs)) + "\n")
        out[f"{kind} (JSONL)"] = path
    path = os.path.join(folder, "images_array.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n")
        for i in range(n):
            f.write(json.dumps(_record(i, images)) + (",\n" if i < n - 1 else "\n"))
        f.write("]\n")
    out["images (JSON array, streamed)"] = path
    return out


def run(path: str, jobs: int, target: str) -> tuple[float, int, int]:
    from qwenlint.engine import Engine, run_serial
    from qwenlint.load import files as loader
    from qwenlint.options import Options
    from qwenlint.parallel import resolve_jobs, run_parallel

    loader.STREAM_JSON_BYTES = 0  # stream the array even where it is below 32 MiB
    jobs = resolve_jobs(jobs)
    t0 = time.perf_counter()
    engine = Engine(Options(target=target))
    result = (run_parallel(engine, [path], jobs=jobs) if jobs > 1 else run_serial(engine, [path]))
    return time.perf_counter() - t0, result.conversations, len(result.diagnostics)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--target", default="ms-swift")
    ap.add_argument("--format", choices=["text", "json"], default="text")
    args = ap.parse_args()
    from qwenlint.parallel import resolve_jobs

    cores = resolve_jobs(0)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        files = generate(folder, args.records)
        gen = time.perf_counter() - t0
        for name, path in files.items():
            mib = os.path.getsize(path) / 2**20
            row = {"input": name, "records": args.records, "MiB": round(mib, 1)}
            for jobs in (1, 0):
                wall, convs, diags = run(path, jobs, args.target)
                assert convs == args.records, (convs, args.records)
                row[f"jobs={jobs or cores}"] = round(args.records / wall)
                row[f"diagnostics jobs={jobs or cores}"] = diags
            rows.append(row)
            if args.format == "text":
                print(f"{name:32} {args.records} records, {mib:6.1f} MiB: "
                      f"--jobs 1 {row['jobs=1']:>7,} records/s   "
                      f"--jobs 0 ({cores} cores) {row[f'jobs={cores}']:>7,} records/s   "
                      f"(×{row[f'jobs={cores}'] / row['jobs=1']:.2f})", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.format == "json":
        print(json.dumps({"cores": cores, "generate_s": round(gen, 1), "parent_peak_rss_mib":
                          round(peak), "rows": rows}, indent=1))
    else:
        print(f"cores: {cores}; dataset generation {gen:.1f} s; parent peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
