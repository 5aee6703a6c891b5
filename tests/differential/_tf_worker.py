"""A worker that answers with the transformers first on ``sys.path`` (another release, put there
by ``PYTHONPATH``): JSON cases on stdin, one ``real.outcome`` per line on stdout.

Run by tests/differential/test_vision_transformers_versions.py; the cases are built there.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import sys
import tempfile
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _real as real  # noqa: E402

_DIR = tempfile.mkdtemp(prefix="qwenlint-tf-worker-")


@functools.cache
def _qvu_release(release: str):
    """qwen-vl-utils ``release``, loaded by path from ``QWENLINT_VERSIONS_DIR``."""
    return real.load_qvu_release(os.environ["QWENLINT_VERSIONS_DIR"], release)


def answer(case: dict) -> tuple:
    family, kind = case["family"], case["kind"]
    if kind == "version":
        import transformers

        return ("ok", transformers.__version__)
    if kind == "qwen-finetune":  # qwen-vl-finetune's data processor on this release's processor
        return ("ok", real.qwen_finetune_outcomes(family, case["records"], case["data_path"]))
    if kind == "omni-recipe":  # qwen-omni-utils' process_mm_info, then this release's processor
        return real.outcome(lambda: real.omni_recipe(family, case["content"], case["use_audio_in_video"]))
    if kind == "build":  # whether this release has the family's processor classes at all
        return real.outcome(lambda: type(real.build_processor(family)).__name__)
    if kind == "model_type":  # what loading a checkpoint of this model_type does (its config.json)
        from transformers import AutoConfig

        folder = tempfile.mkdtemp(dir=_DIR)
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump({"model_type": case["model_type"]}, f)
        return real.outcome(lambda: type(AutoConfig.from_pretrained(folder)).__name__)
    if kind == "chat_template_image":
        path = real.write_image(_DIR, case["width"], case["height"], case["orientation"])

        def run() -> list:
            r = real.run_chat_template(family, [{"type": "image", "path": path}, {"type": "text", "text": "hi"}],
                                       **case["kwargs"])
            return [r["image_grid_thw"], r["image_pads"]]
        return real.outcome(run)
    if kind == "qvu_image":
        release = case.get("qvu")  # an older qwen-vl-utils release (in .versions/), else the installed one

        def run() -> list:
            pil = real.pil_image(case["width"], case["height"])
            if release is None:
                r = real.qvu_image(family, pil, case["options"], case["patch"], case["do_resize"])
            else:  # that release's README recipe: process_vision_info, image_patch_size for Qwen3
                mod = _qvu_release(release)
                messages = [{"role": "user", "content": [{"type": "image", "image": pil, **case["options"]}]}]
                if case["patch"] == 14 and not hasattr(mod, "IMAGE_MIN_TOKEN_NUM"):  # before 0.0.13
                    images, _ = mod.process_vision_info(messages)
                else:
                    images, _ = mod.process_vision_info(messages, image_patch_size=case["patch"])
                start, pad, _, end = real.placeholders(family)
                r = real.run_processor(family, f"{start}{pad}{end}", images=images, do_resize=case["do_resize"])
            return [r["image_grid_thw"], r["image_pads"]]
        return real.outcome(run)
    if kind == "qvu_frames":
        # a frame list through a qwen-vl-utils release's fetch_video, then this release's processor
        # (tests/differential/test_vision_qvu_versions.py ``_video_run``, with another transformers)
        mod = _qvu_release(case["qvu"]) if case.get("qvu") else __import__("qwen_vl_utils.vision_process").vision_process
        old = not hasattr(mod, "IMAGE_MIN_TOKEN_NUM")  # before 0.0.13
        part = {"type": "video", "video": [real.pil_image(w, h) for w, h in case["sizes"]], **case["options"]}
        start, _, pad, end = real.placeholders(family)

        def run() -> list:
            with contextlib.redirect_stderr(io.StringIO()):
                if old:
                    if case["patch"] != 14:  # the Qwen3 recipe's keyword: a TypeError
                        mod.process_vision_info([{"role": "user", "content": [part]}], image_patch_size=case["patch"])
                    r = real.run_processor(family, f"{start}{pad}{end}", videos=[mod.fetch_video(part)],
                                           do_sample_frames=False, do_resize=case["do_resize"])
                else:
                    frames, metadata = mod.fetch_video(part, image_patch_size=case["patch"], return_video_metadata=True)
                    r = real.run_processor(family, f"{start}{pad}{end}", videos=[frames], video_metadata=[metadata],
                                           do_sample_frames=False, do_resize=case["do_resize"])
            return [r["video_grid_thw"], r["video_pads"]]
        return real.outcome(run)
    if kind == "qvu_reader":  # the video reader an older qwen-vl-utils release picks here
        return ("ok", _qvu_release(case["qvu"]).get_video_reader_backend())
    if kind == "qvu_video_file":
        # a video file through an older qwen-vl-utils release, whose reader is decord (put first on
        # PYTHONPATH by tests/differential/test_vision_qvu_versions.py; torchcodec is never imported
        # here), then this environment's processor
        mod = _qvu_release(case["qvu"])
        part = {"type": "video", "video": case["path"], **case["options"]}
        start, _, pad, end = real.placeholders(family)

        def run() -> list:
            if case["patch"] != 14:  # the Qwen3 recipe's keyword: a TypeError before 0.0.13
                mod.process_vision_info([{"role": "user", "content": [part]}], image_patch_size=case["patch"])
            r = real.run_processor(family, f"{start}{pad}{end}", videos=[mod.fetch_video(part)],
                                   do_sample_frames=False, do_resize=case["do_resize"])
            return [r["video_grid_thw"], r["video_pads"], re.findall(r"<\d+\.\d seconds>", r["text"])]
        return real.outcome(run)
    if kind == "chat_template_video":
        path = real.synth_video(_DIR, case["width"], case["height"], Fraction(case["rate"]), case["frames"])

        def run() -> list:
            r = real.run_chat_template(family, [{"type": "video", "path": path}], **case["kwargs"])
            return [r["video_grid_thw"], r["video_pads"]]
        # the file's facts (read here with torchcodec) travel with the answer
        return real.outcome(run), real.torchcodec_metadata(path)
    if kind in ("chat_template_parts", "chat_template_messages"):
        # the family's official template (templates/), which renders image_url parts too
        proc = real.build_processor(family)
        template = proc.chat_template
        proc.chat_template = case["template"]
        pad = proc.tokenizer.convert_tokens_to_ids(real.placeholders(family)[1])
        messages = case["messages"] if kind == "chat_template_messages" else [{"role": "user", "content": case["content"]}]

        def run() -> list:
            out = proc.apply_chat_template(messages, tokenize=True, return_dict=True)
            grids = out.get("image_grid_thw")
            return [0 if grids is None else len(grids), sum(1 for t in out["input_ids"][0] if t == pad)]
        try:
            return real.outcome(run)
        finally:
            proc.chat_template = template
    raise ValueError(kind)


for line in sys.stdin:
    print(json.dumps(answer(json.loads(line))), flush=True)
