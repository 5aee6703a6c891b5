"""``qwenlint smoke``: run the real processor and model on conversations and compare with the predictions.

For every conversation of the input files:

1. **Predict** (no torch): each media part's ``grid_thw`` and pad count for the chosen pipeline
   (`qwenlint.vision.predict_image` / `predict_video` from header facts), which parts the chat
   template renders a placeholder for (`qwenlint.template.render`), and ``qwenlint check``'s
   diagnostics with the same options.
2. **Run for real**, from a local checkpoint directory only (``HF_HUB_OFFLINE=1``,
   ``local_files_only=True``):

   * ``--target qwen-vl-utils``: ``processor.apply_chat_template(tokenize=False)``, then
     ``process_vision_info(image_patch_size=..., return_video_metadata=True)``, then
     ``processor(text, images, videos, video_metadata=..., do_resize=<README recipe>,
     do_sample_frames=False)``;
   * ``--target transformers``: ``processor.apply_chat_template(tokenize=True, return_dict=True)``;
   * then the model: ``generate(max_new_tokens=N)`` (``N=0``: one forward pass).  With
     ``--max-model-len L`` the processed inputs are cut to their first ``L`` tokens before the
     model runs, as a framework's ``cutoff_len`` / a collator's ``max_length`` does.

3. **Compare** per part (predicted vs actual ``image_grid_thw`` / ``video_grid_thw`` rows, pads)
   and per conversation (pad ids in ``input_ids``), and map a real exception to the qwenlint rule
   that predicted it.

A real run that raises, or a prediction that disagrees, is an error finding (exit 1).  torch and
transformers are imported lazily, only by `run_smoke`; ``import qwenlint`` never imports them.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from qwenlint.options import Options

__all__ = ["PartResult", "RealError", "SmokeError", "SmokeReport", "SmokeUnavailable", "ConversationResult",
           "SUPPORTED_TARGETS", "detect_family", "format_json", "format_text", "run_smoke"]

SUPPORTED_TARGETS = ("qwen-vl-utils", "transformers")

#: config.json ``model_type`` -> family (includes the Omni thinker-only configs).
_MODEL_TYPES = {
    "qwen2_vl": "qwen2-vl", "qwen2_5_vl": "qwen2.5-vl", "qwen3_vl": "qwen3-vl", "qwen3_vl_moe": "qwen3-vl",
    "qwen3_5": "qwen3.5", "qwen3_5_moe": "qwen3.5", "qwen2_5_omni": "qwen2.5-omni",
    "qwen2_5_omni_thinker": "qwen2.5-omni", "qwen3_omni_moe": "qwen3-omni", "qwen3_omni_moe_thinker": "qwen3-omni",
}

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


class SmokeError(Exception):
    """A usage problem (bad model directory, unsupported target): exit 2 with one line."""


class SmokeUnavailable(SmokeError):
    """torch / transformers / qwen-vl-utils are not installed: names the extra to install."""


@dataclass
class RealError:
    stage: str  # "qwen-vl-utils" | "processor" | "model" | "load"
    type: str
    message: str
    kind: str  # "image-features" | "video-features" | "truncation" | "placeholder-count" | "other"

    @property
    def line(self) -> str:
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.type}: {first}"


@dataclass
class PartResult:
    pointer: str
    kind: str  # "image" | "video"
    loaded: bool  # predicted: the consumer loads this part
    rendered: int | None  # predicted placeholders the template writes for it (None: unknown)
    predicted_grid: list[int] | None = None
    actual_grid: list[int] | None = None
    predicted_pads: int | None = None
    actual_pads: int | None = None
    predicted_error: str | None = None  # the exception qwenlint predicts for this part
    note: str | None = None

    @property
    def compared(self) -> bool:
        return self.predicted_grid is not None and self.actual_grid is not None

    @property
    def agrees(self) -> bool | None:
        if not self.compared:
            return None
        return self.predicted_grid == self.actual_grid and self.predicted_pads == self.actual_pads


@dataclass
class ConversationResult:
    file: str
    pointer: str
    index: int
    target: str
    parts: list[PartResult] = field(default_factory=list)
    predicted_pad_ids: dict[str, int] | None = None
    actual_pad_ids: dict[str, int] | None = None
    predicted_outcome: str = "ok"
    error: RealError | None = None
    predicted_by: list[str] = field(default_factory=list)  # "QL123 name (how)"
    check_errors: list[str] = field(default_factory=list)  # error diagnostics of `qwenlint check`
    seconds: float = 0.0
    peak_memory_mb: float | None = None
    input_tokens: int | None = None
    truncated_to: int | None = None
    generated_tokens: int | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def disagreements(self) -> list[str]:
        out = [f"{p.pointer}: predicted {p.predicted_grid}/{p.predicted_pads} pads, actual "
               f"{p.actual_grid}/{p.actual_pads}" for p in self.parts if p.agrees is False]
        if self.predicted_pad_ids is not None and self.actual_pad_ids is not None and \
                self.predicted_pad_ids != self.actual_pad_ids:
            out.append(f"pad ids: predicted {self.predicted_pad_ids}, actual {self.actual_pad_ids}")
        return out

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        if self.error is not None:
            return "error-predicted" if self.predicted_by else "error-missed"
        return "disagree" if self.disagreements else "agree"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status
        d["disagreements"] = self.disagreements
        d["error"] = None if self.error is None else {**asdict(self.error), "line": self.error.line}
        for p, pd in zip(self.parts, d["parts"]):
            pd["agrees"] = p.agrees
        return d


@dataclass
class SmokeReport:
    model: str
    family: str
    model_class: str
    processor_class: str
    device: str
    dtype: str
    attention: str
    conversations: list[ConversationResult] = field(default_factory=list)
    load_seconds: float = 0.0
    files: int = 0

    @property
    def summary(self) -> dict[str, Any]:
        rows = self.conversations
        compared = [p for r in rows for p in r.parts if p.compared]
        agree = [p for p in compared if p.agrees]
        return {
            "files": self.files, "conversations": len(rows),
            "agree": sum(r.status == "agree" for r in rows),
            "disagree": sum(r.status == "disagree" for r in rows),
            "errors": sum(r.error is not None for r in rows),
            "errors_predicted": sum(r.status == "error-predicted" for r in rows),
            "errors_missed": sum(r.status == "error-missed" for r in rows),
            "skipped": sum(r.status == "skipped" for r in rows),
            "parts_compared": len(compared), "parts_agree": len(agree),
            "agreement": (len(agree) / len(compared)) if compared else None,
            "seconds": round(sum(r.seconds for r in rows) + self.load_seconds, 3),
        }

    @property
    def error_findings(self) -> int:
        return sum(r.status in ("disagree", "error-predicted", "error-missed") for r in self.conversations)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "model": self.model, "family": self.family, "model_class": self.model_class,
                "processor_class": self.processor_class, "device": self.device, "dtype": self.dtype,
                "attention": self.attention, "load_seconds": round(self.load_seconds, 3),
                "conversations": [r.to_json() for r in self.conversations], "summary": self.summary}


# ---------------------------------------------------------------------------------------------
# helpers without torch


def detect_family(model_dir: str) -> str | None:
    """The family of a checkpoint directory from ``config.json``'s ``model_type`` (None: unknown)."""
    try:
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError):
        return None
    return _MODEL_TYPES.get(str(cfg.get("model_type"))) if isinstance(cfg, dict) else None


def classify_error(exc_type: str, message: str, stage: str) -> RealError:
    kind = "other"
    for pattern, k, _ in _ERROR_KINDS:
        if re.search(pattern, message):
            kind = k
            break
    return RealError(stage, exc_type, message[:2000], kind)


def _under(pointer: str, prefix: str) -> bool:
    return prefix == "" or pointer == prefix or pointer.startswith(prefix + "/")


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
        if d.severity is not Severity.ERROR or not _under(d.pointer or "", conv_pointer):
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


def _local_path(src: Any, base_dir: str) -> str | None:
    if not isinstance(src, str) or re.match(r"^(https?|data):", src):
        return None
    path = src[7:] if src.startswith("file://") else src
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))


def _absolutise(value: Any, base_dir: str) -> Any:
    """A copy of the messages with relative local media paths made absolute (the real libraries
    resolve them against the working directory; qwenlint against the file's directory)."""
    value = copy.deepcopy(value)
    keys = ("image", "video", "audio", "url", "path", "image_url", "video_url")

    def fix(s: Any) -> Any:
        if isinstance(s, str) and not re.match(r"^([a-z]+:)", s) and not os.path.isabs(s) and s:
            return os.path.normpath(os.path.join(base_dir, s))
        if isinstance(s, str) and s.startswith("file://") and not os.path.isabs(s[7:]):
            return "file://" + os.path.normpath(os.path.join(base_dir, s[7:]))
        return s

    def walk(v: Any) -> None:
        if isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k in list(v):
                if k in keys and isinstance(v[k], str):
                    v[k] = fix(v[k])
                elif k in ("video",) and isinstance(v[k], list):
                    v[k] = [fix(x) for x in v[k]]
                elif k in ("image_url", "video_url") and isinstance(v[k], dict) and isinstance(v[k].get("url"), str):
                    v[k]["url"] = fix(v[k]["url"])
                elif k in ("content",) or isinstance(v[k], (list, dict)):
                    walk(v[k])

    walk(value)
    return value


def _resolve(value: Any, pointer: str) -> Any:
    for tok in [t for t in pointer.split("/")[1:]] if pointer else []:
        tok = tok.replace("~1", "/").replace("~0", "~")
        value = value[int(tok)] if isinstance(value, list) else value[tok]
    return value


def _predict_part(part: Any, profile: Any, target: str, base_dir: str) -> PartResult:
    from qwenlint import consumers, vision as V
    from qwenlint.media import MediaError, probe_image, probe_video

    kind = part.kind.value
    res = PartResult(part.pointer, kind, loaded=False, rendered=None)
    reading = consumers.reading(target, part)
    if not reading.loaded:
        res.note = f"not loaded by {target}" + (f": {reading.why}" if reading.why else "")
        return res
    res.loaded = True
    if reading.crash:
        res.predicted_error = reading.crash
        return res

    def image_facts(src: Any) -> Any:
        path = _local_path(src, base_dir)
        if path is None:
            raise LookupError(f"not a local file: {str(src)[:60]}")
        f = probe_image(path)
        if isinstance(f, MediaError):
            raise LookupError(str(f))
        return V.ImageFacts(f.width, f.height, f.exif_orientation or 1)

    try:
        if kind == "image":
            pred = V.predict_image(image_facts(part.source), part.options, profile, target)
        else:
            if isinstance(part.source, list):
                media: Any = [image_facts(s) for s in part.source]
            else:
                path = _local_path(part.source, base_dir)
                if path is None:
                    raise LookupError(f"not a local file: {str(part.source)[:60]}")
                f = probe_video(path)
                if isinstance(f, MediaError):
                    raise LookupError(str(f))
                media = V.VideoFacts(int(f.num_frames or 0), float(f.fps_float or 0.0), int(f.width or 0),
                                     int(f.height or 0))
            pred = V.predict_video(media, part.options, profile, target)
    except V.VisionError as exc:
        res.predicted_error = f"{exc.exc_type}: {exc.message}"
        return res
    except LookupError as exc:
        res.note = f"no prediction: {exc}"
        return res
    res.predicted_grid = list(pred.grid_thw)
    res.predicted_pads = pred.tokens
    return res


@dataclass
class _Item:
    result: ConversationResult
    messages: list[Any]
    diagnostics: list[Any]


def _prepare(paths: Iterable[str], options: Options, profile: Any, template_text: str | None,
             family: str) -> tuple[list[_Item], int]:
    """Load, normalise, check and predict every conversation of ``paths``."""
    from qwenlint.engine import Checker, expand_paths
    from qwenlint.ir import Kind
    from qwenlint.load import files as loader
    from qwenlint.dialects.normalise import normalise
    from qwenlint import consumers
    from qwenlint.template import render, tokens_for_family

    checker = Checker(options)
    items: list[_Item] = []
    files = 0
    for path in expand_paths(paths):
        files += 1
        display = os.path.relpath(path) if not os.path.isabs(path) else path
        src = loader.read(path, display=display)
        base_dir = options.media_root or os.path.dirname(os.path.abspath(path))
        for record in src.records:
            diags = checker.check_value(record.value, file=display, base_dir=base_dir).diagnostics
            batch = normalise(record.value)
            for conv in batch.conversations:
                target = options.target or consumers.infer_target(conv)
                pointer = conv.pointer if record.line is None else f"{record.line}:{conv.pointer or '/'}"
                res = ConversationResult(display, pointer, conv.index, target)
                res.check_errors = [f"{d.rule} {d.name} at {d.pointer or '/'}: {d.message}"
                                    for d in diags if d.severity.value == "error"
                                    and _under(d.pointer or "", conv.pointer)]
                conv_diags = [d for d in diags if _under(d.pointer or "", conv.pointer)]
                if target not in SUPPORTED_TARGETS:
                    res.skipped = (f"target {target!r} is not run by smoke (only {', '.join(SUPPORTED_TARGETS)}); "
                                   "pass --target")
                    items.append(_Item(res, [], conv_diags))
                    continue
                if conv.dialect != "native" and target == "qwen-vl-utils" and conv.dialect != "openai":
                    res.skipped = f"{conv.dialect} records are not conversations the real pipeline takes"
                    items.append(_Item(res, [], conv_diags))
                    continue
                try:
                    raw = _resolve(record.value, conv.pointer)
                except (KeyError, IndexError, ValueError, TypeError):
                    res.skipped = "cannot locate the conversation's messages"
                    items.append(_Item(res, [], conv_diags))
                    continue
                for _msg, part in conv.parts():
                    if part.kind in (Kind.IMAGE, Kind.VIDEO):
                        res.parts.append(_predict_part(part, profile, target, base_dir))
                # what the template renders
                if template_text is not None:
                    rr = render(template_text, raw, tokens=tokens_for_family(family), consumer="processor")
                    if rr.ok:
                        part_index = {p.pointer: p for _m, p in conv.parts()}
                        for pr in res.parts:
                            ir_part = part_index[pr.pointer]
                            msg_i = next(i for i, m in enumerate(conv.messages) if ir_part in m.parts)
                            pp = rr.part(msg_i, ir_part.index)
                            pr.rendered = None if pp is None else getattr(pp, pr.kind)
                        loaded = {k: sum(1 for p in res.parts if p.kind == k and p.loaded and not p.predicted_error)
                                  for k in ("image", "video")}
                        placeholders = {k: int(rr.pad_counts.get(k, 0)) for k in ("image", "video")}
                        bad = [k for k in ("image", "video") if placeholders[k] != loaded[k]]
                        if any(p.predicted_error for p in res.parts):
                            res.predicted_outcome = "raises: " + next(p.predicted_error for p in res.parts
                                                                     if p.predicted_error)
                        elif bad:
                            res.predicted_outcome = "processor raises: " + "; ".join(
                                f"{placeholders[k]} {k} placeholder(s) in the text for {loaded[k]} loaded {k}(s)"
                                for k in bad)
                        elif all(p.predicted_pads is not None for p in res.parts if p.loaded):
                            res.predicted_pad_ids = {k: sum(p.predicted_pads or 0 for p in res.parts
                                                            if p.kind == k and p.loaded) for k in ("image", "video")}
                    else:
                        res.predicted_outcome = f"template raises: {rr.error.exception_type}: {rr.error.message}"
                items.append(_Item(res, _absolutise(raw, base_dir), conv_diags))
    return items, files


# ---------------------------------------------------------------------------------------------
# the real run


def _require() -> tuple[Any, Any]:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise SmokeUnavailable(f"qwenlint smoke needs torch and transformers, which are not installed ({exc}); "
                               "install them with: pip install 'qwenlint[smoke]'") from None
    return torch, transformers


class _Runtime:
    """The processor and model of one checkpoint directory, loaded once."""

    def __init__(self, model_dir: str, family: str, device: str):
        torch, T = _require()
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


def _run_batch(rt: _Runtime, batch: list[_Item], profile: Any, max_model_len: int | None,
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
            raise _BatchFailed() from exc
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


class _BatchFailed(Exception):
    pass


def _conv_pointer(r: ConversationResult) -> str:
    return r.pointer.split(":", 1)[1].rstrip("/") if ":" in r.pointer else r.pointer


def _probe_grids(rt: _Runtime, item: _Item, profile: Any, images: Any, videos: Any, metas: Any,
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


def run_smoke(paths: Iterable[str], model_dir: str, options: Options | None = None, *, device: str = "auto",
              max_new_tokens: int = 1, batch_size: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> SmokeReport:
    """Run every conversation of ``paths`` through the real processor and model of ``model_dir``.

    ``options`` are those of ``qwenlint check`` (``family``, ``target``, ``template``,
    ``max_model_len``, ``select``/``ignore``; ``model`` is set to ``model_dir``).  ``batch_size``:
    conversations per model call (default 1 on CPU, 4 on CUDA; a batch that raises is re-run one
    conversation at a time so the error is attributed).  Raises `SmokeUnavailable` when torch /
    transformers are missing and `SmokeError` for an unusable checkpoint.
    """
    import dataclasses as dc

    from qwenlint.vision import ProfileError, profile_from_model_dir

    options = dc.replace(options or Options(), model=model_dir)
    if options.target is not None and options.target not in SUPPORTED_TARGETS:
        raise SmokeError(f"--target {options.target}: smoke runs only {', '.join(SUPPORTED_TARGETS)} "
                         "(vLLM and the fine-tuning frameworks are not run)")
    family = options.family or detect_family(model_dir)
    if family is None:
        raise SmokeError(f"{model_dir}: cannot tell the model family from config.json; pass --family")
    options = dc.replace(options, family=family)
    try:
        profile = profile_from_model_dir(model_dir, family=family)
    except ProfileError as exc:
        raise SmokeError(str(exc)) from None
    rt = _Runtime(model_dir, family, device)
    template_text = None
    if options.template:
        from qwenlint.template import load_template

        template_text = load_template(options.template).source
        rt.processor.chat_template = template_text
    else:
        template_text = getattr(rt.processor, "chat_template", None)
    if not isinstance(template_text, str):
        template_text = None
    items, files = _prepare(paths, options, profile, template_text, family)
    report = SmokeReport(model_dir, family, rt.model_class, rt.processor_class, rt.device, rt.dtype, rt.attention,
                         [it.result for it in items], rt.load_seconds, files)
    runnable = [it for it in items if not it.result.skipped]
    size = batch_size or (4 if rt.device == "cuda" else 1)
    done = 0
    i = 0
    while i < len(runnable):
        batch = runnable[i:i + size]
        same = [it for it in batch if it.result.target == batch[0].result.target]
        try:
            _run_batch(rt, same, profile, options.max_model_len, max_new_tokens)
        except _BatchFailed as exc:
            cause = exc.__cause__
            if size > 1 and rt.device == "cuda" and "out of memory" in str(cause).lower():
                rt.torch.cuda.empty_cache()
                size = max(1, size // 2)
                continue
            for it in same:
                _reset(it)
                _run_batch(rt, [it], profile, options.max_model_len, max_new_tokens)
        i += len(same)
        done += len(same)
        if progress:
            progress(done, len(runnable))
    return report


def _reset(it: _Item) -> None:
    for p in it.result.parts:
        p.actual_grid = p.actual_pads = None
    it.result.actual_pad_ids = None


# ---------------------------------------------------------------------------------------------
# output


def _g(grid: list[int] | None) -> str:
    return "-" if grid is None else "[" + ",".join(map(str, grid)) + "]"


def format_text(report: SmokeReport) -> str:
    """A plain-text agreement table (no colour, no rich)."""
    lines = [f"qwenlint smoke: {report.model} ({report.family}, {report.model_class}, {report.processor_class}) "
             f"on {report.device} {report.dtype}, attention {report.attention}; loaded in {report.load_seconds:.2f}s",
             ""]
    head = f"  {'part':<28} {'kind':<5} {'predicted grid':<15} {'actual grid':<15} {'pred pads':>9} " \
           f"{'real pads':>9}  {'':<5}"
    for r in report.conversations:
        where = f"{r.file}:{r.pointer or '/'}"
        lines.append(f"{where}  [target {r.target}]")
        if r.skipped:
            lines += [f"  SKIPPED: {r.skipped}", ""]
            continue
        if r.parts:
            lines.append(head)
        for p in r.parts:
            verdict = {True: "ok", False: "DIFF", None: "-"}[p.agrees]
            lines.append(f"  {p.pointer[-28:]:<28} {p.kind:<5} {_g(p.predicted_grid):<15} {_g(p.actual_grid):<15} "
                         f"{'-' if p.predicted_pads is None else p.predicted_pads:>9} "
                         f"{'-' if p.actual_pads is None else p.actual_pads:>9}  {verdict:<5}")
            for extra in (p.predicted_error and f"predicted: {p.predicted_error}", p.note):
                if extra:
                    lines.append(f"      {extra}")
        if r.predicted_pad_ids is not None or r.actual_pad_ids is not None:
            lines.append(f"  pad ids in input_ids: predicted {r.predicted_pad_ids or '-'}, real {r.actual_pad_ids or '-'}")
        if r.predicted_outcome != "ok":
            lines.append(f"  qwenlint predicts: {r.predicted_outcome}")
        compared = [p for p in r.parts if p.compared]
        pct = f"{100 * sum(bool(p.agrees) for p in compared) / len(compared):.0f}% ({sum(bool(p.agrees) for p in compared)}/{len(compared)} parts)" \
            if compared else "no parts compared"
        cost = f"{r.seconds:.2f}s, peak {r.peak_memory_mb if r.peak_memory_mb is not None else '-'} MiB"
        if r.input_tokens is not None:
            cost += f", {r.input_tokens} input tokens"
        if r.truncated_to is not None:
            cost += f", cut to {r.truncated_to}"
        if r.error is not None:
            lines.append(f"  REAL ERROR ({r.error.stage}): {r.error.line}")
            if r.predicted_by:
                lines.append("  predicted by: " + "; ".join(r.predicted_by))
            else:
                lines.append("  qwenlint MISS: no rule of `qwenlint check` predicted this error")
                for c in r.check_errors[:5]:
                    lines.append(f"    (other check error: {c})")
            lines.append(f"  => ERROR  {pct}; {cost}")
        elif r.disagreements:
            for d in r.disagreements:
                lines.append(f"  DISAGREE: {d}")
            lines.append(f"  => DISAGREE  {pct}; {cost}")
        else:
            lines.append(f"  => PASS  {pct}; {cost}")
            for c in r.check_errors[:5]:
                lines.append(f"    (check error, not contradicted by the run: {c})")
        for n in r.notes:
            lines.append(f"  note: {n}")
        lines.append("")
    s = report.summary
    agreement = "-" if s["agreement"] is None else f"{100 * s['agreement']:.1f}%"
    lines.append(f"{s['conversations']} conversation(s) in {s['files']} file(s): {s['agree']} agree, "
                 f"{s['disagree']} disagree, {s['errors']} real error(s) ({s['errors_predicted']} predicted, "
                 f"{s['errors_missed']} missed), {s['skipped']} skipped; parts agreement {agreement} "
                 f"({s['parts_agree']}/{s['parts_compared']}); {s['seconds']:.2f}s")
    return "\n".join(lines)


def format_json(report: SmokeReport) -> str:
    return json.dumps(report.to_json(), indent=1, ensure_ascii=False)
