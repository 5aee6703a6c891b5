"""A worker that runs LLaMA-Factory's own dataset code (``llamafactory.data.get_dataset``, the
function its trainer calls) on one generated dataset folder per case: JSON cases on stdin, one
answer per line on stdout.

It runs with a LLaMA-Factory release, the packages its data code imports and a transformers
release it allows first on ``PYTHONPATH`` (scripts/test.sh installs them into ``.versions/``); it
shares this environment's torch, torchvision and PyAV.  Nothing of LLaMA-Factory is stubbed: its
start-up version check runs too (``check_dependencies``).  The tokenizer and processor are the real
classes built offline by ``_real.build_processor`` (real special-token ids, published configs).

A case: ``{"dir": dataset_dir, "dataset": name, "family": f, "template": t, "cwd": folder,
"media_dir": folder or null, "cutoff_len": n, "packing": bool or null, "processor": {"image_max_pixels":
n, ...}, "stage": "sft" | "rm" | "kto"}`` (the training YAML's ``ProcessorArguments``; the stage
``get_dataset`` runs with, dpo's being ``rm``).  The answer: ``["error", class, message]`` when
``get_dataset`` raises, ``["dropped"]`` when no example is left (``RuntimeError: Cannot find valid
samples``: every record was skipped), else ``["kept", [[image_pads, video_pads, images, videos,
audio_pads, cut, rejected_image_pads], ...]]``, one per example kept, in file order (the media
paths the converter resolved; the pads of ``input_ids``, or of ``chosen_input_ids`` for pairs).
``cut`` is what ``cutoff_len`` did to a supervised (sft) example, else None: ``{"length":
len(input_ids), "full": its length untruncated, "full_pads": [image, video, audio pads
untruncated]}`` — the supervised processor's own ``_encode_data_example`` run once more with no
cutoff, beside the real run.  ``rejected_image_pads``: the pads of ``rejected_input_ids`` for a
pair, else None.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _real as real  # noqa: E402

from llamafactory.data import get_dataset, get_template_and_fix_tokenizer  # noqa: E402
from llamafactory.data.processor import supervised  # noqa: E402
from llamafactory.hparams import DataArguments, ModelArguments  # noqa: E402
from llamafactory.model.patcher import patch_processor  # noqa: E402
from transformers import Seq2SeqTrainingArguments  # noqa: E402

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
_SCRATCH = tempfile.mkdtemp(prefix="qwenlint-lf-worker-")
_UNCUT: list[list[int]] = []  # each example's input_ids without cutoff_len, in order
_encode_data_example = supervised.SupervisedDatasetProcessor._encode_data_example


def _encode_twice(self, *args, **kwargs):
    """LLaMA-Factory's own encoding of the example with no cutoff (kept aside), then the real one."""
    cutoff = self.data_args.cutoff_len
    self.data_args.cutoff_len = 1 << 40
    try:
        _UNCUT.append(_encode_data_example(self, *args, **kwargs)[0])
    finally:
        self.data_args.cutoff_len = cutoff
    return _encode_data_example(self, *args, **kwargs)


supervised.SupervisedDatasetProcessor._encode_data_example = _encode_twice


def _json_safe(media: list) -> list:
    """A media list as the answer gives it: a ``{"bytes", "path"}`` struct (a Parquet dataset's
    cell) with its bytes' length instead of the bytes, an object (a PIL image ``datasets`` decoded)
    by its type's name."""
    return [{**m, "bytes": len(m["bytes"]) if isinstance(m.get("bytes"), bytes) else m.get("bytes")}
            if isinstance(m, dict) else m if isinstance(m, (str, list)) or m is None else f"<{type(m).__name__}>"
            for m in media]


def answer(case: dict) -> list:
    if case.get("kind") == "version":
        import llamafactory
        import transformers

        return ["ok", llamafactory.__version__, transformers.__version__]
    proc = real.build_processor(case["family"])
    tok = proc.tokenizer
    _, image, video, _ = real.placeholders(case["family"])
    kwargs = {"media_dir": case["media_dir"]} if case.get("media_dir") else {}
    data_args = DataArguments(template=case["template"], dataset=case["dataset"], dataset_dir=case["dir"],
                              cutoff_len=case.get("cutoff_len", 32768), packing=case.get("packing"),
                              overwrite_cache=True, **kwargs)
    try:
        model_args = ModelArguments(model_name_or_path="unused", cache_dir=os.path.join(_SCRATCH, "cache"),
                                    **case.get("processor", {}))
    except ValueError as exc:  # the training arguments themselves are refused at start-up
        return ["error", type(exc).__name__, str(exc)[:500]]
    patch_processor(proc, tok, model_args)  # what load_tokenizer does: the media settings on the processor
    training_args = Seq2SeqTrainingArguments(output_dir=os.path.join(_SCRATCH, "out"), report_to=[])
    os.chdir(case["cwd"])  # where LLaMA-Factory's "Use original path" fallback resolves
    _UNCUT.clear()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            template = get_template_and_fix_tokenizer(tok, data_args)
            module = get_dataset(template, model_args, data_args, training_args, stage=case.get("stage", "sft"),
                                 tokenizer=tok, processor=proc)
    except RuntimeError as exc:
        if str(exc).startswith("Cannot find valid samples"):  # the record was dropped: none is left
            return ["dropped"]
        return ["error", type(exc).__name__, str(exc)[:500]]
    except Exception as exc:  # noqa: BLE001 - the point is to capture whatever it raises
        return ["error", type(exc).__name__, str(exc)[:500]]
    finally:
        os.chdir(_SCRATCH)
    data = module.get("train_dataset")
    if data is None or len(data) == 0:
        return ["dropped"]
    image_id, video_id = tok.convert_tokens_to_ids(image), tok.convert_tokens_to_ids(video)
    audio = real.OMNI_TOKENS.get(case["family"], {}).get("audio_token")
    audio_id = tok.convert_tokens_to_ids(audio) if audio else None
    supervised_run = case.get("stage", "sft") == "sft"
    assert not supervised_run or len(_UNCUT) == len(data), (len(_UNCUT), len(data))

    def pads(ids):
        return [real.count(ids, image_id), real.count(ids, video_id),
                real.count(ids, audio_id) if audio_id is not None else 0]

    kept = []
    os.chdir(case["cwd"])  # an Image feature (a Parquet file's) is decoded again here: paths as in the run
    try:
        examples = list(data)
    finally:
        os.chdir(_SCRATCH)
    for k, ex in enumerate(examples):  # stage rm (and dpo): chosen_input_ids and rejected_input_ids
        ids = ex["input_ids"] if "input_ids" in ex else ex["chosen_input_ids"]
        uncut = _UNCUT[k] if supervised_run else None
        kept.append([real.count(ids, image_id), real.count(ids, video_id),
                     _json_safe(ex.get("images") or []), _json_safe(ex.get("videos") or []),
                     real.count(ids, audio_id) if audio_id is not None else 0,
                     {"length": len(ids), "full": len(uncut), "full_pads": pads(uncut)} if uncut is not None else None,
                     real.count(ex["rejected_input_ids"], image_id) if "rejected_input_ids" in ex else None])
    return ["kept", kept]


def main() -> None:
    # The answers go to the real stdout; anything the libraries write to file descriptor 1 (their
    # example printout, progress bars) goes nowhere.
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    for line in sys.stdin:
        out.write(json.dumps(answer(json.loads(line))) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
