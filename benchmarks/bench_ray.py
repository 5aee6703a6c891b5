"""Records per second and driver memory of ``qwenlint check`` locally and on Ray, side by side.

    python benchmarks/bench_ray.py                    # 100 000 records with one image each
    python benchmarks/bench_ray.py --records 20000 --format json
    RAY_ADDRESS=ray://head:10001 python benchmarks/bench_ray.py   # a real cluster (the files and
                                                       # images must be visible to its workers)

Generates ms-swift records ``{"messages": [...], "images": [...]}`` with one local JPEG each (6
distinct images reused, as in bench_dataset.py) as one JSONL file, then checks it (the whole
check: load, normalise, media facts, predictions, rules; ``--target ms-swift``) three ways, each
in a fresh process so that its peak RSS is the driver's own: serial, ``--jobs 2``, and
``--engine ray`` (a local Ray cluster on every core unless RAY_ADDRESS names one; the cluster's
start-up is timed apart).  The three results must be identical (compared as JSON reports).  It
measures; it does not assert speed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)


def generate(folder: str, n: int) -> str:
    from bench_dataset import _record
    from PIL import Image

    images = []
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    for k in range(6):
        p = os.path.join("images", f"img_{k}.jpg")
        Image.new("RGB", (640 + 32 * k, 480), (k * 30, 90, 160)).save(os.path.join(folder, p), quality=80)
        images.append(p)
    path = os.path.join(folder, "images.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            rec = _record(i, images)
            if i % 50 == 0:  # some broken records: diagnostics to carry back
                rec["messages"][1]["content"] += "<image>"
            f.write(json.dumps(rec) + "\n")
    return path


def measure(mode: str, path: str) -> dict:
    """In a fresh process: check ``path`` one way; wall clock, peak RSS, the report's digest."""
    from qwenlint.engine import Engine, run_serial
    from qwenlint.options import Options
    from qwenlint.report.json_report import document

    engine = Engine(Options(target="ms-swift"), statistics=True)
    startup = 0.0
    if mode == "ray":
        import ray
        from qwenlint.ray import run_ray

        t0 = time.perf_counter()
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False, **({} if address else {"_node_ip_address": "127.0.0.1"}))
        startup = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_ray(engine, [path])
        wall = time.perf_counter() - t0
        cpus = int(ray.cluster_resources().get("CPU", 0))
        ray.shutdown()
    else:
        from qwenlint.parallel import run_parallel

        cpus = 2 if mode == "jobs2" else 1
        t0 = time.perf_counter()
        result = run_parallel(engine, [path], jobs=2) if mode == "jobs2" else run_serial(engine, [path])
        wall = time.perf_counter() - t0
    doc = json.dumps([document(result), result.summary.to_json()], sort_keys=True, default=str)
    return {"mode": mode, "records": result.records, "diagnostics": len(result.diagnostics),
            "wall_s": round(wall, 2), "startup_s": round(startup, 2), "cpus": cpus,
            "records_per_s": round(result.records / wall),
            "driver_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "report_sha256": hashlib.sha256(doc.encode()).hexdigest()[:16]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--format", choices=["text", "json"], default="text")
    ap.add_argument("--measure", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = generate(folder, args.records)
        mib = os.path.getsize(path) / 2**20
        for mode in ("serial", "jobs2", "ray"):
            out = subprocess.run([sys.executable, __file__, "--measure", mode, path], check=True,
                                 capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            rows.append(row)
            if args.format == "text":
                print(f"{mode:7} {row['records']} records ({mib:.1f} MiB, {row['cpus']} CPUs): "
                      f"{row['records_per_s']:>7,} records/s, {row['wall_s']} s "
                      f"(+{row['startup_s']} s cluster start), driver peak RSS "
                      f"{row['driver_peak_rss_mib']} MiB, report {row['report_sha256']}", flush=True)
    same = len({r["report_sha256"] for r in rows}) == 1
    if args.format == "json":
        print(json.dumps({"records": args.records, "identical_reports": same, "rows": rows}, indent=1))
    else:
        print(f"identical reports: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
