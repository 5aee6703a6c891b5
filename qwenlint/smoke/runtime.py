"""The real side of ``qwenlint smoke``: the processor and model of a checkpoint, run offline, and
the real error mapped to the ``qwenlint check`` rule that predicted it.

torch and transformers are imported only here, and only when a smoke run starts.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any, Iterable

from qwenlint.pointer import under
from qwenlint.smoke.predict import Item
from qwenlint.smoke.report import (
    ConversationResult,
    RealError,
    SmokeError,
    SmokeUnavailable,
)

#: Real error messages -> (kind, phrase used to find the rule that quotes it).
_ERROR_KINDS: tuple[tuple[str, str, str], ...] = (
    (r"Image features and image tokens do not match", "image-features",
     "Image features and image tokens do not match"),
    (r"Video features and video tokens do not match", "video-features",
     "Video features and video tokens do not match"),
    (r"Mismatch in `\w+` token count between text and `input_ids`", "truncation", "token count between text"),
    (r"tokens in the prompts should be the same as the number of", "placeholder-count",
     "should be the same as the number of"),
    (r"tokens in the text but no \w+ were passed", "placeholder-count", "in the text but no"),
)
#: Words in a rule's name that tie it to an error kind (when its docs do not quote the message).
_KIND_WORDS = {
    "image-features": ("pad", "placeholder", "truncat", "budget", "max-model-len", "context", "literal"),
    "video-features": ("pad", "placeholder", "truncat", "budget", "max-model-len", "context", "literal",
                       "video-branch", "template"),
    "truncation": ("truncat", "budget", "max-model-len", "context", "too-long"),
    "placeholder-count": ("pad", "placeholder", "literal", "template", "branch", "not-rendered", "vision-token"),
    "other": (),
}


def classify_error(exc_type: str, message: str, stage: str) -> RealError:
    kind = "other"
    for pattern, k, _ in _ERROR_KINDS:
        if re.search(pattern, message):
            kind = k
            break
    return RealError(stage, exc_type, message[:2000], kind)


def map_to_rules(error: RealError, diagnostics: Iterable[Any], conv_pointer: str) -> list[str]:
    """Rules (of ``qwenlint check``'s error diagnostics on this conversation) that predicted ``error``.

    A rule matches when its message or docs quote the real error (``quoted``), when its name ties
    it to the error's kind (``kind``), or -- for a loader crash -- when it predicts that the
    consumer raises this exception type on a part (``crash``).
    """
    from qwenlint.diagnostics import Severity
    from qwenlint.rules import find_rule

    phrase = next((p for _, k, p in _ERROR_KINDS if k == error.kind), None)
    found: list[str] = []
    for d in diagnostics:
        if d.severity is not Severity.ERROR or not under(d.pointer or "", conv_pointer):
            continue
        r = find_rule(d.rule)
        docs = " ".join(r.docs.values()) if r else ""
        how = None
        if phrase and (phrase in (d.message or "") or phrase in docs):
            how = "quoted"
        elif error.kind == "other" and error.type and f"{error.type}" in (d.message or "") and \
                _first_words(error.message) in (d.message or ""):
            how = "crash"
        elif any(w in d.name for w in _KIND_WORDS.get(error.kind, ())):
            how = "kind"
        if how:
            label = f"{d.rule} {d.name} ({how}) at {d.pointer or '/'}"
            if label not in found:
                found.append(label)
    return found


def _first_words(message: str) -> str:
    return " ".join(message.strip().split()[:4])


def require() -> tuple[Any, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise SmokeUnavailable(f"qwenlint smoke needs torch and transformers, which are not installed ({exc}); "
                               "install them with: pip install 'qwenlint[smoke]'") from None
    return torch, transformers


class Runtime:
    """The processor and model of one checkpoint directory, loaded once."""

    def __init__(self, model_dir: str, family: str, device: str):
        torch, T = require()
        import logging
        import warnings

        T.logging.set_verbosity_error()
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        for name in ("qwen_vl_utils", "qwen_vl_utils.vision_process"):
            logging.getLogger(name).setLevel(logging.ERROR)
        try:
            T.utils.logging.disable_progress_bar()
        except AttributeError:  # pragma: no cover
            pass
        self.torch = torch
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise SmokeError("--device cuda, but torch sees no CUDA device")
        self.device = device
        try:
            with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as fh:
                cfg = json.load(fh)
        except (OSError, ValueError) as exc:
            raise SmokeError(f"{model_dir}: cannot read config.json: {exc}") from None
        arch = (cfg.get("architectures") or [None])[0]
        cls = getattr(T, arch, None) if arch else None
        if cls is None:
            cls = T.AutoModelForImageTextToText
        kwargs: dict[str, Any] = {"local_files_only": True}
        if device == "cuda":
            self.dtype = "bfloat16"
            self.attention = _best_attention(T)
            kwargs.update(dtype=torch.bfloat16, device_map="auto", attn_implementation=self.attention)
        else:
            self.dtype, self.attention = "float32", "sdpa"
            kwargs.update(dtype=torch.float32)
        t0 = time.perf_counter()
        try:
            self.processor = T.AutoProcessor.from_pretrained(model_dir, local_files_only=True)
            model = cls.from_pretrained(model_dir, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported as a usage problem, with the library's words
            raise SmokeError(f"{model_dir}: cannot load the checkpoint offline: {type(exc).__name__}: {exc}") \
                from None
        self.model = getattr(model, "thinker", model)  # full Omni checkpoints: the thinker answers
        self.model.eval()
        self.load_seconds = time.perf_counter() - t0
        self.model_class = type(self.model).__name__
        self.processor_class = type(self.processor).__name__
        tok = getattr(self.processor, "tokenizer", None)
        if tok is not None:
            tok.padding_side = "left"

    def reset_peak(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.reset_peak_memory_stats()

    def peak_mb(self) -> float:
        if self.device == "cuda":
            return self.torch.cuda.max_memory_allocated() / 2**20
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def _best_attention(T: Any) -> str:
    """flash_attention_2 when installed, else PyTorch SDPA."""
    try:
        if T.utils.is_flash_attn_2_available():
            return "flash_attention_2"
    except AttributeError:  # pragma: no cover
        pass
    return "sdpa"


def _grid_rows(value: Any) -> list[list[int]]:
    return [] if value is None else [[int(x) for x in row] for row in value.tolist()]


def run_batch(rt: Runtime, batch: list[Item], profile: Any, max_model_len: int | None,
               max_new_tokens: int) -> None:
    """Run ``batch`` through the real pipeline; fills each item's actual values or error."""
    torch = rt.torch
    proc = rt.processor
    target = batch[0].result.target
    msgs = [it.messages for it in batch]
    from qwenlint.vision import recipe_do_resize

    do_resize = recipe_do_resize(profile)
    stage = "processor"
    images = videos = metas = None
    rt.reset_peak()
    t0 = time.perf_counter()
    try:
        if target == "qwen-vl-utils":
            try:
                from qwen_vl_utils import process_vision_info
            except ImportError as exc:
                raise SmokeUnavailable(f"--target qwen-vl-utils needs qwen-vl-utils ({exc}): "
                                       "pip install 'qwenlint[smoke]'") from None
            texts = [proc.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in msgs]
            stage = "qwen-vl-utils"
            images, vids, _ = process_vision_info(msgs if len(msgs) > 1 else msgs[0],
                                                  image_patch_size=profile.qvu_image_patch_size,
                                                  return_video_kwargs=True, return_video_metadata=True)
            if vids:
                videos, metas = [v for v, _m in vids], [m for _v, m in vids]
            stage = "processor"
            inputs = proc(text=texts, images=images or None, videos=videos or None, video_metadata=metas,
                          do_resize=do_resize, do_sample_frames=False, padding=True, return_tensors="pt")
        else:
            inputs = proc.apply_chat_template(msgs if len(msgs) > 1 else msgs[0], tokenize=True, return_dict=True,
                                              add_generation_prompt=True, return_tensors="pt",
                                              processor_kwargs={"padding": True})
        ids = inputs["input_ids"]
        tokens = profile.tokens
        lengths = inputs["attention_mask"].sum(dim=1).tolist() if "attention_mask" in inputs else \
            [ids.shape[1]] * len(batch)
        image_rows, video_rows = _grid_rows(inputs.get("image_grid_thw")), _grid_rows(inputs.get("video_grid_thw"))
        m2 = profile.merge_size ** 2
        for row, it in enumerate(batch):
            r = it.result
            r.actual_pad_ids = {"image": int((ids[row] == tokens.image_pad_id).sum()),
                                "video": int((ids[row] == tokens.video_pad_id).sum())}
            r.input_tokens = int(lengths[row])
            for kind, rows in (("image", image_rows), ("video", video_rows)):
                budget = r.actual_pad_ids[kind]
                for p in r.parts:
                    if p.kind != kind or not rows:
                        continue
                    if not p.loaded or p.predicted_error or (p.rendered == 0 and len(batch) > 1):
                        continue
                    if budget <= 0 and len(batch) > 1:
                        break
                    grid = rows.pop(0)
                    p.actual_grid, p.actual_pads = grid, grid[0] * grid[1] * grid[2] // m2
                    budget -= p.actual_pads
        if max_model_len is not None and ids.shape[1] > max_model_len:
            for key in ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids"):
                if key in inputs:
                    inputs[key] = inputs[key][:, :max_model_len]
            for it in batch:
                it.result.truncated_to = max_model_len
        stage = "model"
        inputs = inputs.to(rt.model.device)
        with torch.inference_mode():
            if max_new_tokens > 0:
                out = rt.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
                gen = int(out.shape[1] - inputs["input_ids"].shape[1])
            else:
                rt.model(**inputs)
                gen = 0
        for it in batch:
            it.result.generated_tokens = gen
    except SmokeUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - the point: the real library's exception, as a finding
        if len(batch) > 1:
            raise BatchFailed() from exc
        err = classify_error(type(exc).__name__, str(exc), stage)
        r = batch[0].result
        if err.kind == "other" and stage == "model" and r.truncated_to is not None:
            err.kind = "truncation"  # e.g. Qwen3 rope index: a video group cut in the middle
        r.error = err
        r.predicted_by = map_to_rules(err, batch[0].diagnostics, _conv_pointer(r))
        if stage == "processor" and target == "qwen-vl-utils" and (images or videos):
            _probe_grids(rt, batch[0], profile, images, videos, metas, do_resize)
    finally:
        elapsed = time.perf_counter() - t0
        peak = rt.peak_mb()
        for it in batch:
            it.result.seconds = elapsed / len(batch)
            it.result.peak_memory_mb = round(peak, 1)


class BatchFailed(Exception):
    pass


def _conv_pointer(r: ConversationResult) -> str:
    return r.pointer.split(":", 1)[1].rstrip("/") if ":" in r.pointer else r.pointer


def _probe_grids(rt: Runtime, item: Item, profile: Any, images: Any, videos: Any, metas: Any,
                 do_resize: bool) -> None:
    """After a processor error: the actual grids from a call with one placeholder per loaded media."""
    t = profile.tokens
    text = (f"{t.vision_start}{t.image_pad}{t.vision_end}" * len(images or []) +
            f"{t.vision_start}{t.video_pad}{t.vision_end}" * len(videos or []))
    try:
        out = rt.processor(text=[text], images=images or None, videos=videos or None, video_metadata=metas,
                           do_resize=do_resize, do_sample_frames=False, return_tensors="pt")
    except Exception:  # noqa: BLE001 - best effort only
        return
    m2 = profile.merge_size ** 2
    rows = {"image": _grid_rows(out.get("image_grid_thw")), "video": _grid_rows(out.get("video_grid_thw"))}
    for p in item.result.parts:
        if p.loaded and not p.predicted_error and rows[p.kind]:
            grid = rows[p.kind].pop(0)
            p.actual_grid, p.actual_pads = grid, grid[0] * grid[1] * grid[2] // m2
    item.result.notes.append("actual grids from a processor call with one placeholder per loaded media "
                             "(the conversation's own call raised)")
