"""A worker that answers with the transformers first on ``sys.path`` (another release, put there
by ``PYTHONPATH``): JSON cases on stdin, one ``real.outcome`` per line on stdout.

Run by tests/differential/test_vision_transformers_versions.py; the cases are built there.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _real as real  # noqa: E402

_DIR = tempfile.mkdtemp(prefix="qwenlint-tf-worker-")


def answer(case: dict) -> tuple:
    family, kind = case["family"], case["kind"]
    if kind == "version":
        import transformers

        return ("ok", transformers.__version__)
    if kind == "chat_template_image":
        path = real.write_image(_DIR, case["width"], case["height"], case["orientation"])

        def run() -> list:
            r = real.run_chat_template(family, [{"type": "image", "path": path}, {"type": "text", "text": "hi"}],
                                       **case["kwargs"])
            return [r["image_grid_thw"], r["image_pads"]]
        return real.outcome(run)
    if kind == "qvu_image":
        def run() -> list:
            r = real.qvu_image(family, real.pil_image(case["width"], case["height"]), case["options"],
                               case["patch"], case["do_resize"])
            return [r["image_grid_thw"], r["image_pads"]]
        return real.outcome(run)
    if kind == "chat_template_video":
        path = real.synth_video(_DIR, case["width"], case["height"], Fraction(case["rate"]), case["frames"])

        def run() -> list:
            r = real.run_chat_template(family, [{"type": "video", "path": path}], **case["kwargs"])
            return [r["video_grid_thw"], r["video_pads"]]
        # the file's facts (read here with torchcodec) travel with the answer
        return real.outcome(run), real.torchcodec_metadata(path)
    if kind == "chat_template_parts":
        # the family's official template (templates/), which renders image_url parts too
        proc = real.build_processor(family)
        template = proc.chat_template
        proc.chat_template = case["template"]
        pad = proc.tokenizer.convert_tokens_to_ids(real.placeholders(family)[1])

        def run() -> list:
            out = proc.apply_chat_template([{"role": "user", "content": case["content"]}], tokenize=True,
                                           return_dict=True)
            grids = out.get("image_grid_thw")
            return [0 if grids is None else len(grids), sum(1 for t in out["input_ids"][0] if t == pad)]
        try:
            return real.outcome(run)
        finally:
            proc.chat_template = template
    raise ValueError(kind)


for line in sys.stdin:
    print(json.dumps(answer(json.loads(line))), flush=True)
