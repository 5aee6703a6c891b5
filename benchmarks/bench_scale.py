"""Issue 19's scale run: a Parquet dataset with embedded images in a local S3 server, checked by the
local engine and by Ray on all cores, side by side in one run; the two reports must be identical.

    python benchmarks/bench_scale.py                     # 1 000 000 rows
    python benchmarks/bench_scale.py --rows 20000 --engines local ray

Generates LLaVA-style rows ``{"messages": [system, user, assistant], "images": [{"bytes": ...,
"path": null}]}`` (64 small PNGs, 28x28 to 280x217, cycled, each row's bytes made unique by 8
bytes after the image's end, which Pillow ignores) in row groups of 1 000 rows; one row in 100 is broken (no ``<image>`` tag: QL601), one in 250 holds bytes no image
format recognises (QL402), so the reports carry findings to compare.  The file goes to moto's S3
server on 127.0.0.1 (started and stopped here, dummy credentials), and each engine runs in a fresh
``python -m qwenlint check s3://... --allow-network --target llamafactory --format json`` whose
wall time, CPU time (its own and its children's) and peak RSS (``ru_maxrss`` of the process, from
``wait4``) are measured; the machine's memory in use is sampled from ``/proc/meminfo`` (it covers
Ray's raylet and workers, which are not children).  It measures and compares; it asserts only that
the reports are identical.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_DEFAULT_REGION": "us-east-1"}


def _images() -> list[bytes]:
    from PIL import Image

    out = []
    for k in range(64):
        w, h = 28 + 4 * k, 28 + 3 * k
        buf = io.BytesIO()
        Image.new("RGB", (w, h), (k * 3, 90, 160)).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def generate(path: str, rows: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    images = _images()
    schema = pa.schema([
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("images", pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))),
    ])

    def row(i: int) -> dict:
        tag = "" if i % 100 == 7 else "<image>"
        # Every row's bytes differ (8 bytes after the PNG's end, which Pillow ignores), so Parquet
        # stores each image, as it would a real dataset's, instead of one per distinct value.
        data = b"not an image" if i % 250 == 3 else images[i % len(images)] + i.to_bytes(8, "big")
        return {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                             {"role": "user", "content": f"{tag}Question {i}: what is shown here?"},
                             {"role": "assistant", "content": f"Answer {i}: a short description."}],
                "images": [{"bytes": data, "path": None}]}

    with pq.ParquetWriter(path, schema) as w:
        for start in range(0, rows, 1000):
            w.write_table(pa.Table.from_pylist([row(i) for i in range(start, min(rows, start + 1000))],
                                               schema=schema))


class _MemorySampler(threading.Thread):
    """The machine's memory in use (MemTotal - MemAvailable), its peak while running."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self._done = threading.Event()

    @staticmethod
    def used() -> int:
        info = {}
        with open("/proc/meminfo") as f:
            for line in f:
                k, v = line.split(":", 1)
                info[k] = int(v.split()[0]) * 1024
        return info["MemTotal"] - info["MemAvailable"]

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.used())
            time.sleep(0.2)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.peak


def run_check(url: str, endpoint: str, engine: str, jobs: int) -> dict:
    cmd = [sys.executable, "-m", "qwenlint", "check", url, "--allow-network", "--storage-option",
           f"endpoint_url={endpoint}", "--target", "llamafactory", "--format", "json", "--isolated",
           "--no-progress", "--engine", engine]
    if jobs != 1:
        cmd += ["--jobs", str(jobs)]
    env = dict(os.environ, **CREDENTIALS, PYTHONPATH=ROOT)
    baseline = _MemorySampler.used()
    sampler = _MemorySampler()
    sampler.start()
    out = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    peak = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode("utf-8", "replace")
    out.seek(0)
    text = out.read().decode("utf-8")
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{engine}: exit {proc.returncode}\n{err[-3000:]}")
    return {"doc": json.loads(text), "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss * 1024, "machine": peak - baseline}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--engines", nargs="+", default=["local", "ray"], choices=["local", "ray"])
    args = ap.parse_args()
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.parquet")
        t0 = time.perf_counter()
        generate(path, args.rows)
        size = os.path.getsize(path)
        print(f"generated {args.rows} rows, {size / 2**20:.1f} MiB in {time.perf_counter() - t0:.0f} s")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            s3.create_bucket(Bucket="bench")
            s3.upload_file(path, "bench", "train.parquet")
            os.unlink(path)
            url = "s3://bench/train.parquet"
            results = {}
            for engine in args.engines:
                results[engine] = r = run_check(url, endpoint, engine, 1)
                doc = r["doc"]
                print(f"{engine:6s} {args.rows / r['wall']:8.0f} rows/s  wall {r['wall']:7.1f} s  "
                      f"cpu (own + children) {r['cpu']:7.1f} s  driver peak RSS {r['rss'] / 2**20:6.0f} MiB  "
                      f"machine memory +{r['machine'] / 2**20:6.0f} MiB  "
                      f"{doc['summary']['errors']} errors, {len(doc['diagnostics'])} diagnostics")
        finally:
            server.stop()
    if len(results) == 2:
        a, b = (results[e]["doc"] for e in args.engines)
        same = a["diagnostics"] == b["diagnostics"] and a["summary"] == b["summary"]
        print("reports identical" if same else "REPORTS DIFFER")
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
