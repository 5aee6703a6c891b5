"""Rows per second and peak memory of ``qwenlint check`` on a Parquet dataset with embedded images,
side by side with the same records as JSONL (images as files), in one run.

    python benchmarks/bench_parquet.py                      # 100 000 rows (and 10 000 for memory)
    python benchmarks/bench_parquet.py --rows 1000000 --jobs 1 0

Generates, in a temporary directory, LLaVA-style records ``{"messages": [system, user, assistant],
"images": [{"bytes": <PNG or JPEG>, "path": null}]}`` with small images (32 distinct PNGs and JPEGs
of 56x56 to 300x220, cycled) written with pyarrow in row groups of 1 000 rows, and the same records
as JSONL whose ``images`` name those images as files.  Each check runs in a fresh process (the
whole check: read, normalise, media facts from the bytes or the file, predictions, rules, with
``--target llamafactory``), which reports its wall time, its CPU time and its peak RSS
(``ru_maxrss``) before the check (imports, the run's resources) and after it (the parent's only
with ``--jobs``).  The
smaller Parquet file is checked too: a flat memory shows as the same peak for 10x the rows.  It
measures; it does not assert.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def _images() -> list[tuple[str, bytes]]:
    from PIL import Image

    out = []
    for k in range(32):
        w, h = 56 + 8 * k, 56 + 5 * k
        buf = io.BytesIO()
        fmt = "PNG" if k % 2 else "JPEG"
        Image.new("RGB", (w, h), (k * 7, 90, 160)).save(buf, fmt)
        out.append((f"img_{k}.{fmt.lower()}", buf.getvalue()))
    return out


def _messages(i: int) -> list[dict]:
    return [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": f"<image>Question {i}: what is shown here, and why does it matter?"},
            {"role": "assistant", "content": f"Answer number {i}: a short description of the scene."}]


def generate(folder: str, rows: int, also: int | None) -> dict[str, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    images = _images()
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    for name, data in images:
        with open(os.path.join(folder, "images", name), "wb") as f:
            f.write(data)
    schema = pa.schema([
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("images", pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))),
    ])
    out = {}
    for n in [rows] + ([also] if also else []):
        path = os.path.join(folder, f"rows_{n}.parquet")
        with pq.ParquetWriter(path, schema, use_dictionary=["messages"]) as w:  # every image stored
            for start in range(0, n, 1000):
                batch = [{"messages": _messages(i), "images": [{"bytes": images[i % len(images)][1], "path": None}]}
                         for i in range(start, min(n, start + 1000))]
                w.write_table(pa.Table.from_pylist(batch, schema=schema))
        out[f"Parquet, embedded bytes, {n} rows"] = path
    path = os.path.join(folder, f"rows_{rows}.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(rows):
            f.write(json.dumps({"messages": _messages(i),
                                "images": [os.path.join("images", images[i % len(images)][0])]}) + "\n")
    out[f"JSONL, image files, {rows} rows"] = path
    return out


def measure(path: str, jobs: int) -> dict:
    """In this (fresh) process: the check of ``path``; wall time, records, peak RSS."""
    from qwenlint.engine import Engine, run_serial
    from qwenlint.options import Options
    from qwenlint.parallel import resolve_jobs, run_parallel

    os.chdir(os.path.dirname(path))
    jobs = resolve_jobs(jobs)
    t0 = time.perf_counter()
    engine = Engine(Options(target="llamafactory"))
    import pyarrow.parquet  # noqa: F401 - imported before the baseline, as a Parquet check imports it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = run_parallel(engine, [path], jobs=jobs) if jobs > 1 else run_serial(engine, [path])
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "records": result.records, "diagnostics": len(result.diagnostics),
            "before_mib": before, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cpu_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--also", type=int, default=None, help="a smaller Parquet file too (default rows / 10)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1])
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.jobs[0])))
        return
    also = args.also if args.also is not None else max(1, args.rows // 10)
    with tempfile.TemporaryDirectory(prefix="qwenlint-bench-parquet-") as folder:
        t0 = time.perf_counter()
        inputs = generate(folder, args.rows, also)
        print(f"generated in {time.perf_counter() - t0:.1f} s: " +
              ", ".join(f"{os.path.basename(p)} {os.path.getsize(p) / 2**20:.1f} MiB" for p in inputs.values()))
        print(f"{'input':45} {'jobs':>4} {'rows/s':>9} {'CPU s':>7} {'RSS before':>10} {'peak RSS':>9} "
              f"{'diagnostics':>11}")
        for jobs in args.jobs:
            for label, path in inputs.items():
                out = subprocess.run([sys.executable, __file__, "--measure", path, "--jobs", str(jobs)],
                                     capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT})
                if out.returncode:
                    print(label, "failed:", out.stderr[-2000:])
                    continue
                m = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{label:45} {jobs:>4} {m['records'] / m['seconds']:>9.0f} {m['cpu_s']:>7.1f} "
                      f"{m['before_mib']:>7.0f} MiB {m['peak_rss_mib']:>6.0f} MiB {m['diagnostics']:>11}")


if __name__ == "__main__":
    main()
