"""Renders per second of qwenlint's template sandbox, on one core.

Usage: ``python benchmarks/bench_render.py [--seconds S]``. Prints renders/s for the Qwen2-VL
template and a one-image conversation (and a text-only one): the plain render (text + pad totals), the render with pad
attribution, and, when transformers is importable, transformers' own ``render_jinja_template`` on
the same input for comparison.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qwenlint.template import bundled_template, render  # noqa: E402

MESSAGES = [
    {
        "role": "user",
        "content": [
            {"type": "image", "image": "file:///data/cat.jpg"},
            {"type": "text", "text": "Describe this image."},
        ],
    }
]
TEXT_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": [{"type": "text", "text": "What is shown here, and why does it matter?"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "Answer number 1."}]},
]


def rate(fn, seconds: float) -> tuple[float, float]:
    """(renders per wall-clock second, renders per CPU second of this process).

    On a shared machine the CPU-second figure is the one-core speed; the wall figure is what the
    machine delivered while others were using it.
    """
    fn()  # warm the caches
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        for _ in range(200):
            fn()
        n += 200
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, n / max(time.process_time() - cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    template = bundled_template("qwen2-vl").source
    results = {
        "render, attribution off": rate(lambda: render(template, MESSAGES, attribute=False), args.seconds),
        "render, attribution on": rate(lambda: render(template, MESSAGES), args.seconds),
        "text-only, attribution off": rate(lambda: render(template, TEXT_MESSAGES, attribute=False), args.seconds),
        "text-only, attribution on": rate(lambda: render(template, TEXT_MESSAGES), args.seconds),
    }
    try:
        from transformers.utils.chat_template_utils import render_jinja_template
    except Exception:  # transformers is optional
        pass
    else:
        results["transformers render_jinja_template"] = rate(
            lambda: render_jinja_template([MESSAGES], chat_template=template, add_generation_prompt=True), args.seconds
        )
    print(f"{'':40s} {'wall':>10s} {'per CPU-s':>10s}   (renders/s, one thread)")
    for name, (wall, cpu) in results.items():
        print(f"{name:40s} {wall:10,.0f} {cpu:10,.0f}")


if __name__ == "__main__":
    main()
