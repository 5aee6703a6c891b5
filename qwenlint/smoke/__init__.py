"""``qwenlint smoke``: run the real processor and model on conversations and compare with the predictions.

For every conversation of the input files:

1. **Predict** (no torch, :mod:`qwenlint.smoke.predict`): every record goes through the engine's
   own record loop, so the predictions are exactly ``qwenlint check``'s and ``qwenlint tokens``':
   each media part's ``grid_thw`` and pad count for the consumer, which parts the chat template
   renders a placeholder for, and ``qwenlint check``'s diagnostics with the same options.
2. **Run for real** (:mod:`qwenlint.smoke.runtime`), from a local checkpoint directory only (``HF_HUB_OFFLINE=1``,
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

A real run that raises, or a prediction that disagrees, is an error finding (exit 1); the report
and its formats are :mod:`qwenlint.smoke.report`.  torch and transformers are imported lazily, only
by `run_smoke`; ``import qwenlint`` never imports them.
"""

from __future__ import annotations

from typing import Callable, Iterable

from qwenlint.options import Options
from qwenlint.smoke.predict import Item, detect_family, prepare
from qwenlint.smoke.report import (
    SUPPORTED_TARGETS,
    ConversationResult,
    PartResult,
    RealError,
    SmokeError,
    SmokeReport,
    SmokeUnavailable,
    format_json,
    format_text,
)
from qwenlint.smoke.runtime import BatchFailed, Runtime, run_batch

__all__ = ["PartResult", "RealError", "SmokeError", "SmokeReport", "SmokeUnavailable", "ConversationResult",
           "SUPPORTED_TARGETS", "detect_family", "format_json", "format_text", "run_smoke"]


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
    try:  # the family: --family, else config.json's model type, else the nearest to the processor classes
        profile = profile_from_model_dir(model_dir, family=options.family)
    except ProfileError as exc:
        raise SmokeError(str(exc)) from None
    family = profile.family
    options = dc.replace(options, family=family)
    rt = Runtime(model_dir, family, device)
    if options.template:
        from qwenlint.template import load_template

        rt.processor.chat_template = load_template(options.template).source
    items, files = prepare(paths, options)
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
            run_batch(rt, same, profile, options.max_model_len, max_new_tokens)
        except BatchFailed as exc:
            cause = exc.__cause__
            if size > 1 and rt.device == "cuda" and "out of memory" in str(cause).lower():
                rt.torch.cuda.empty_cache()
                size = max(1, size // 2)
                continue
            for it in same:
                _reset(it)
                run_batch(rt, [it], profile, options.max_model_len, max_new_tokens)
        i += len(same)
        done += len(same)
        if progress:
            progress(done, len(runnable))
    return report


def _reset(it: Item) -> None:
    for p in it.result.parts:
        p.actual_grid = p.actual_pads = None
    it.result.actual_pad_ids = None
