"""Inputs by URL, side by side with the same files on disk, in one run.

    python benchmarks/bench_remote.py                    # 2000 records, 3 rounds
    python benchmarks/bench_remote.py --records 10000 --rounds 5

Starts moto's S3 server and a Range-capable HTTP server on 127.0.0.1 (tests/s3_server.py,
tests/http_range_server.py), then:

1. **A dataset check**: a JSONL file of ``--records`` records, each naming one of 20 JPEGs beside
   it, written to a temporary folder and to a bucket; ``qwenlint.check_files`` on the local file and
   on the ``s3://`` URL, interleaved round by round.  Prints the minimum and median wall time of
   each side and checks that the diagnostics are the same but for the file names.
2. **Bytes read per media file**: a large JPEG, a large PNG and two large H.264 MP4s (``moov`` at
   the front and at the end) served over HTTP; the facts qwenlint reads by byte range, and the
   bytes the server sent for each (its own count), against the file's size.

It measures, it does not assert (but for the identical diagnostics).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from http_range_server import RangeServer  # noqa: E402
from s3_server import S3Server, credentials_env  # noqa: E402


def _dataset(folder: Path, records: int) -> bytes:
    from PIL import Image

    (folder / "media").mkdir()
    for i in range(20):
        Image.new("RGB", (200 + 37 * i, 150 + 53 * i), (i * 10, 80, 160)).save(folder / "media" / f"{i}.jpg")
    lines = []
    for r in range(records):
        lines.append(json.dumps({"messages": [
            {"role": "user", "content": [{"type": "image", "image": f"media/{r % 20}.jpg"},
                                         {"type": "text", "text": f"What is in picture {r}?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "A flat colour."}]}]}))
    raw = ("\n".join(lines) + "\n").encode()
    (folder / "train.jsonl").write_bytes(raw)
    return raw


def _noise_mp4(path: Path, frames: int, faststart: bool) -> None:
    import av
    import numpy as np

    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "+faststart"} if faststart else {}) as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "0"}
        for i in range(frames):
            f = av.VideoFrame.from_ndarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def bench_dataset(records: int, rounds: int) -> None:
    import qwenlint

    os.environ.update(credentials_env())
    server = S3Server.start()
    try:
        with tempfile.TemporaryDirectory() as d:
            folder = Path(d)
            raw = _dataset(folder, records)
            client = server.client()
            client.create_bucket(Bucket="bench")
            client.put_object(Bucket="bench", Key="ds/train.jsonl", Body=raw)
            for p in (folder / "media").iterdir():
                client.put_object(Bucket="bench", Key=f"ds/media/{p.name}", Body=p.read_bytes())
            url = "s3://bench/ds/train.jsonl"
            opts = dict(allow_network=True, storage_options={"endpoint_url": server.endpoint})
            times: dict[str, list[float]] = {"local disk": [], "local S3 (moto)": []}
            results = {}
            for _ in range(rounds):
                for side, path in (("local disk", str(folder / "train.jsonl")), ("local S3 (moto)", url)):
                    t = time.perf_counter()
                    res = qwenlint.check_files([path], **opts)
                    times[side].append(time.perf_counter() - t)
                    results[side] = [(d.rule, d.pointer, d.line, d.column,
                                      d.message.replace(str(folder), "<base>").replace("s3://bench/ds", "<base>"))
                                     for d in res]
            same = results["local disk"] == results["local S3 (moto)"]
            print(f"check of {records} JSONL records naming 20 JPEGs ({len(raw) / 1e6:.2f} MB), "
                  f"{rounds} rounds, diagnostics identical: {same} ({len(results['local disk'])} each)")
            for side, ts in times.items():
                print(f"  {side:16s} min {min(ts):6.2f} s   median {statistics.median(ts):6.2f} s   "
                      f"{records / min(ts):8.0f} records/s")
    finally:
        server.stop()


def bench_bytes() -> None:
    from PIL import Image

    from qwenlint import remote
    from qwenlint.media import probe_image, probe_video
    from qwenlint.media.probe import probe_opened

    with tempfile.TemporaryDirectory() as d:
        www = Path(d)
        Image.frombytes("RGB", (3000, 2000), os.urandom(3000 * 2000 * 3)).save(www / "big.jpg", quality=95)
        Image.frombytes("RGB", (1500, 1000), os.urandom(1500 * 1000 * 3)).save(www / "big.png")
        _noise_mp4(www / "moov_end.mp4", 150, faststart=False)
        _noise_mp4(www / "moov_front.mp4", 150, faststart=True)
        server = RangeServer(str(www)).start()
        try:
            access = remote.Access(allow_network=True)
            print("bytes read by range per media file (the HTTP server's own count):")
            for name, kind, local in (("big.jpg", "image", probe_image), ("big.png", "image", probe_image),
                                      ("moov_front.mp4", "video", probe_video),
                                      ("moov_end.mp4", "video", probe_video)):
                url = server.url(name)
                before = len(server.requests)
                facts = probe_opened(lambda u=url: remote.open_binary(u, access), url, kind)
                size = (www / name).stat().st_size
                sent = server.served[name]
                ref = local(str(www / name))
                differ = [k for k in vars(ref) if getattr(facts, k, None) != getattr(ref, k)] \
                    if hasattr(ref, "__dict__") else []
                same = "equal" if facts == ref else f"differ in {', '.join(differ) or repr(facts)}"
                print(f"  {name:15s} {size / 1e6:7.2f} MB  read {sent / 1e3:8.1f} kB ({100 * sent / size:5.2f} %) "
                      f"in {len(server.requests) - before} requests; facts vs the local file's: {same}")
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    bench_dataset(args.records, args.rounds)
    bench_bytes()


if __name__ == "__main__":
    main()
