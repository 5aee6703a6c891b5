"""Run in a subprocess by test_differential.py: report torchcodec's real metadata for video paths.

Protocol: one JSON line per request on stdin ({"path": ..., "seek_mode": "exact"|"approximate",
"cwd": optional}, or {"op": "hf_image"|"qvu_image", "src": ..., "cwd": optional}), one JSON line per
answer on stdout.  The first line out says whether torchcodec imported, and the
FFmpeg it links.  Kept out of the test process so PyAV's bundled FFmpeg and the one torchcodec
loads never share a process, and a crash in either cannot take pytest down.
"""

from __future__ import annotations

import json
import os
import sys


def _image_op(op: str, src: str, cwd: str | None) -> dict:
    """Open an image source with the real loaders: transformers `load_image` (size after its EXIF
    transpose) or qwen-vl-utils `fetch_image` (success only: it returns the resized image)."""
    try:
        if cwd:
            os.chdir(cwd)
        if op == "hf_image":
            from transformers.image_utils import load_image

            return {"size": list(load_image(src).size)}
        if op == "qvu_image":
            from qwen_vl_utils.vision_process import fetch_image

            fetch_image({"image": src})
            return {"ok": True}
        return {"error": f"unknown op {op}"}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}


def main() -> None:
    try:
        from torchcodec._core import get_ffmpeg_library_versions
        from torchcodec.decoders import VideoDecoder
        versions = get_ffmpeg_library_versions()
    except Exception as e:  # torch / torchcodec / FFmpeg missing
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
        return
    print(json.dumps({"ok": True, "versions": {k: str(v) for k, v in versions.items()}}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get("op", "video")
        if op != "video":
            print(json.dumps(_image_op(op, req["src"], req.get("cwd"))), flush=True)
            continue
        try:
            if req.get("cwd"):
                os.chdir(req["cwd"])
            m = VideoDecoder(req["path"], seek_mode=req.get("seek_mode", "exact")).metadata
            out = {"num_frames": m.num_frames,
                   "average_fps": None if m.average_fps is None else float(m.average_fps).hex(),
                   "width": m.width, "height": m.height, "rotation": m.rotation,
                   "duration_seconds": m.duration_seconds}
        except Exception as e:
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
