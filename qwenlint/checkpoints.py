"""Tiny offline checkpoints: a complete, loadable model directory per Qwen family, for tests.

``write_checkpoint(family, directory)`` (or ``python -m qwenlint.checkpoints FAMILY DIR``) writes

* ``config.json`` + ``model.safetensors``: the family's real model class with a tiny random-weight
  configuration (hidden size 32-64, 1-2 text layers, vision depth 1) -- the real vision encoder,
  the real ``get_placeholder_mask`` checks, the real rope index code;
* the tokenizer: a byte-level vocabulary (256 symbols, no merges) plus the family's special tokens
  **at their real ids** (``<|image_pad|>`` = 151655, Qwen3.5's 248056, ...), so ``input_ids``
  compare with the model config's ``image_token_id`` / ``video_token_id`` as in the real checkpoint;
* the processor files: ``preprocessor_config.json`` / ``video_preprocessor_config.json`` with the
  published values (shared reference token-math §4), written by the real processor class's
  ``save_pretrained``;
* the chat template: the bundled template of ``CheckpointSpec.template_family`` (``templates/``):
  the official text for Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Qwen3.5 (the 4B-and-larger text) and
  Qwen2.5-Omni; for Qwen3-Omni the bundled Instruct text, which is an *unverified* single-source
  copy (manifest status ``unverified-text``; ``qwenlint_checkpoint.json`` records the status).

``AutoProcessor.from_pretrained(dir)`` and the family's model class load the directory with
``HF_HUB_OFFLINE=1``.  Needs torch and transformers (``pip install 'qwenlint[smoke]'``); importing
this module does not import them.

Model classes: Qwen2-VL ``Qwen2VLForConditionalGeneration``, Qwen2.5-VL
``Qwen2_5_VLForConditionalGeneration``, Qwen3-VL ``Qwen3VLForConditionalGeneration`` (and
``qwen3-vl-moe``: ``Qwen3VLMoeForConditionalGeneration``), Qwen3.5 and Qwen3.6
``Qwen3_5ForConditionalGeneration``, Qwen4-Exp ``Qwen4ExpForConditionalGeneration`` (MoE, gated
residual streams and the QSA indexer at tiny sizes; no bundled chat template, so it is written
with the caller's ``template``), Qwen2.5-Omni ``Qwen2_5OmniThinkerForConditionalGeneration``,
Qwen3-Omni ``Qwen3OmniMoeThinkerForConditionalGeneration`` (the Omni thinkers only: no talker, no
code2wav).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

__all__ = ["CHECKPOINT_FAMILIES", "CheckpointSpec", "SPECS", "special_tokens",
           "write_checkpoint", "main"]

#: Families this module can write (those of ``qwenlint --family`` plus the Qwen3-VL MoE class).
CHECKPOINT_FAMILIES = ("qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3-vl-moe", "qwen3.5", "qwen3.6", "qwen4-exp",
                       "qwen2.5-omni", "qwen3-omni")

# --- special tokens at their real ids ---------------------------------------------------------

#: Qwen2 / Qwen2.5 / Qwen3 vocabulary specials (transformers configuration defaults; token-math §3).
_QWEN_SPECIALS = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
    "<|object_ref_start|>": 151646, "<|object_ref_end|>": 151647, "<|box_start|>": 151648,
    "<|box_end|>": 151649, "<|quad_start|>": 151650, "<|quad_end|>": 151651,
    "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655, "<|video_pad|>": 151656,
}
#: Qwen2.5-Omni renames the vision/audio specials (configuration_qwen2_5_omni.py: image 151655,
#: video 151656, audio 151646, audio_bos 151647, audio_eos 151648, vision_bos 151652, vision_eos 151653).
_OMNI25_SPECIALS = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
    "<|AUDIO|>": 151646, "<|audio_bos|>": 151647, "<|audio_eos|>": 151648,
    "<|vision_bos|>": 151652, "<|vision_eos|>": 151653, "<|vision_pad|>": 151654,
    "<|IMAGE|>": 151655, "<|VIDEO|>": 151656,
}
#: Qwen3-Omni: Qwen vision specials; audio_start/end 151669/151670 and audio_pad 151675 as in the
#: published Instruct checkpoint's tokenizer_config.json / thinker config (third-party copies; the
#: thinker config class defaults differ: audio_token_id 151646, audio_start_token_id 151647).
_OMNI3_SPECIALS = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
    "<|audio_pad|>": 151675,
    "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655, "<|video_pad|>": 151656,
    "<|audio_start|>": 151669, "<|audio_end|>": 151670,
}
#: Qwen3.5 / Qwen3.6: vision ids from configuration_qwen3_5.py (248053/248054/248056/248057); the
#: ChatML ids (248044-248046) as found with the hash-pinned official files (shared reference
#: templates/sources.md).
_QWEN35_SPECIALS = {
    "<|endoftext|>": 248044, "<|im_start|>": 248045, "<|im_end|>": 248046,
    "<|vision_start|>": 248053, "<|vision_end|>": 248054, "<|vision_pad|>": 248055,
    "<|image_pad|>": 248056, "<|video_pad|>": 248057,
}

#: The named special tokens the Omni processors require (``tokenizer.image_token`` ...).
OMNI_NAMED_TOKENS = {
    "qwen2.5-omni": {"image_token": "<|IMAGE|>", "video_token": "<|VIDEO|>", "audio_token": "<|AUDIO|>",
                     "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>",
                     "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>"},
    "qwen3-omni": {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>", "audio_token": "<|audio_pad|>",
                   "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>",
                   "audio_bos_token": "<|audio_start|>", "audio_eos_token": "<|audio_end|>"},
}

# --- published processor values (token-math §4) ----------------------------------------------

_P14 = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}
_P16_IMAGE = {"size": {"shortest_edge": 65536, "longest_edge": 16777216}, "patch_size": 16,
              "temporal_patch_size": 2, "merge_size": 2, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
_P16_VIDEO = {"size": {"shortest_edge": 4096, "longest_edge": 25165824}, "patch_size": 16,
              "temporal_patch_size": 2, "merge_size": 2, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
#: Qwen3-Omni's preprocessor_config.json: Qwen2.5-Omni's pixel bounds with patch 16.
_OMNI3_IMAGE = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 16, "temporal_patch_size": 2,
                "merge_size": 2, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}


@dataclass(frozen=True)
class CheckpointSpec:
    """How one family's tiny checkpoint is made."""

    family: str
    model_class: str  # transformers class name
    config_class: str
    processor_class: str
    video_processor_class: str
    specials: dict[str, int]
    image_config: dict[str, Any]
    video_config: dict[str, Any] | None  # None: no video_preprocessor_config.json (Qwen2/2.5-VL)
    template_family: str | None  # the bundled template (templates/manifest.json family) to write
    notes: str = ""

    @property
    def vocab_size(self) -> int:
        return max(self.specials.values()) + 1 + 64


SPECS: dict[str, CheckpointSpec] = {
    "qwen2-vl": CheckpointSpec("qwen2-vl", "Qwen2VLForConditionalGeneration", "Qwen2VLConfig", "Qwen2VLProcessor",
                               "Qwen2VLVideoProcessor", _QWEN_SPECIALS, _P14, None, "qwen2-vl"),
    "qwen2.5-vl": CheckpointSpec("qwen2.5-vl", "Qwen2_5_VLForConditionalGeneration", "Qwen2_5_VLConfig",
                                 "Qwen2_5_VLProcessor", "Qwen2VLVideoProcessor", _QWEN_SPECIALS, _P14, None,
                                 "qwen2.5-vl"),
    "qwen3-vl": CheckpointSpec("qwen3-vl", "Qwen3VLForConditionalGeneration", "Qwen3VLConfig", "Qwen3VLProcessor",
                               "Qwen3VLVideoProcessor", _QWEN_SPECIALS, _P16_IMAGE, _P16_VIDEO, "qwen3-vl"),
    "qwen3-vl-moe": CheckpointSpec("qwen3-vl-moe", "Qwen3VLMoeForConditionalGeneration", "Qwen3VLMoeConfig",
                                   "Qwen3VLProcessor", "Qwen3VLVideoProcessor", _QWEN_SPECIALS, _P16_IMAGE,
                                   _P16_VIDEO, "qwen3-vl"),
    "qwen3.5": CheckpointSpec("qwen3.5", "Qwen3_5ForConditionalGeneration", "Qwen3_5Config", "Qwen3VLProcessor",
                              "Qwen3VLVideoProcessor", _QWEN35_SPECIALS, _P16_IMAGE, _P16_VIDEO, "qwen3.5",
                              notes=""),
    # Qwen3.6: Qwen3.5's classes, ids and processor values (model type qwen3_5); its own template.
    "qwen3.6": CheckpointSpec("qwen3.6", "Qwen3_5ForConditionalGeneration", "Qwen3_5Config", "Qwen3VLProcessor",
                              "Qwen3VLVideoProcessor", _QWEN35_SPECIALS, _P16_IMAGE, _P16_VIDEO, "qwen3.6",
                              notes="Qwen3.5's classes (model type qwen3_5)"),
    # Qwen4-Exp (model type qwen4_exp, transformers >= 5.16.0): Qwen3.5's vision ids
    # (configuration_qwen4_exp.py) and processor classes (the auto mappings); no published
    # preprocessor file was read, so the Qwen3.5 values are written.  No bundled chat template:
    # write_checkpoint needs ``template=``.
    "qwen4-exp": CheckpointSpec("qwen4-exp", "Qwen4ExpForConditionalGeneration", "Qwen4ExpConfig",
                                "Qwen3VLProcessor", "Qwen3VLVideoProcessor", _QWEN35_SPECIALS, _P16_IMAGE,
                                _P16_VIDEO, "qwen4-exp",
                                notes="processor values assumed equal to Qwen3.5's"),
    "qwen2.5-omni": CheckpointSpec("qwen2.5-omni", "Qwen2_5OmniThinkerForConditionalGeneration",
                                   "Qwen2_5OmniThinkerConfig", "Qwen2_5OmniProcessor", "Qwen2VLVideoProcessor",
                                   _OMNI25_SPECIALS, _P14, None, "qwen2.5-omni",
                                   notes="thinker only"),
    "qwen3-omni": CheckpointSpec("qwen3-omni", "Qwen3OmniMoeThinkerForConditionalGeneration",
                                 "Qwen3OmniMoeThinkerConfig", "Qwen3OmniMoeProcessor", "Qwen2VLVideoProcessor",
                                 _OMNI3_SPECIALS, _OMNI3_IMAGE, None, "qwen3-omni",
                                 notes="thinker only; chat template: the bundled unverified Qwen3-Omni text"),
}

#: Tiny sizes: text hidden 64 (4 heads of 16, mrope sections summing to 8), vision hidden 32, depth 1.
_TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
         "num_key_value_heads": 2, "max_position_embeddings": 4096}
_MROPE = [2, 3, 3]  # sums to head_dim/2 = 8
_MROPE3 = [4, 2, 2]


def _text_config(spec: CheckpointSpec, **extra: Any) -> dict[str, Any]:
    specials = spec.specials
    cfg = dict(_TEXT, vocab_size=spec.vocab_size, bos_token_id=specials["<|endoftext|>"],
               eos_token_id=specials["<|im_end|>"], pad_token_id=specials["<|endoftext|>"])
    cfg.update(extra)
    return cfg


def _model_config(spec: CheckpointSpec) -> Any:
    import transformers

    cls = getattr(transformers, spec.config_class)
    s = spec.specials
    fam = spec.family
    if fam in ("qwen2-vl",):
        return cls(text_config=_text_config(spec, rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                                                   "mrope_section": _MROPE}),
                   vision_config={"depth": 1, "embed_dim": 32, "hidden_size": 64, "num_heads": 2,
                                  "mlp_ratio": 2, "patch_size": 14},
                   image_token_id=s["<|image_pad|>"], video_token_id=s["<|video_pad|>"],
                   vision_start_token_id=s["<|vision_start|>"], vision_end_token_id=s["<|vision_end|>"],
                   tie_word_embeddings=True)
    if fam == "qwen2.5-vl":
        return cls(text_config=_text_config(spec, rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                                                   "mrope_section": _MROPE}),
                   vision_config={"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                                  "out_hidden_size": 64, "fullatt_block_indexes": [0], "window_size": 112},
                   image_token_id=s["<|image_pad|>"], video_token_id=s["<|video_pad|>"],
                   vision_start_token_id=s["<|vision_start|>"], vision_end_token_id=s["<|vision_end|>"],
                   tie_word_embeddings=True)
    vision3 = {"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
               "num_position_embeddings": 64, "deepstack_visual_indexes": [0], "patch_size": 16}
    rope3 = {"rope_type": "default", "rope_theta": 5e6, "mrope_section": _MROPE3, "mrope_interleaved": True}
    if fam in ("qwen3-vl", "qwen3-vl-moe"):
        text = _text_config(spec, head_dim=16, rope_parameters=rope3)
        if fam == "qwen3-vl-moe":
            text.update(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, decoder_sparse_step=1)
        return cls(text_config=text, vision_config=vision3,
                   image_token_id=s["<|image_pad|>"], video_token_id=s["<|video_pad|>"],
                   vision_start_token_id=s["<|vision_start|>"], vision_end_token_id=s["<|vision_end|>"],
                   tie_word_embeddings=True)
    if fam in ("qwen3.5", "qwen3.6", "qwen4-exp"):
        # Qwen3.5's hybrid text model; Qwen4-Exp adds MoE, gated residual streams (hc_count > 1) and
        # the QSA indexer of its full-attention layers (configuration_qwen4_exp.py's invariants).
        extra = dict(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                     shared_expert_intermediate_size=32, hc_count=2, hc_lowrank=8, indexer_n_heads=2,
                     indexer_kv_heads=1, indexer_head_dim=16, indexer_budget=64,
                     indexer_compress_ratio=4) if fam == "qwen4-exp" else {}
        text = _text_config(spec, head_dim=16, layer_types=["linear_attention", "full_attention"],
                            linear_conv_kernel_dim=4, linear_key_head_dim=16, linear_value_head_dim=16,
                            linear_num_key_heads=2, linear_num_value_heads=4, **extra,
                            rope_parameters={"rope_type": "default", "rope_theta": 1e7, "partial_rotary_factor": 1.0,
                                             "mrope_section": _MROPE3, "mrope_interleaved": True})
        vision = {k: v for k, v in vision3.items() if k != "deepstack_visual_indexes"}
        return cls(text_config=text, vision_config=vision,
                   image_token_id=s["<|image_pad|>"], video_token_id=s["<|video_pad|>"],
                   vision_start_token_id=s["<|vision_start|>"], vision_end_token_id=s["<|vision_end|>"],
                   tie_word_embeddings=True)
    audio = {"num_mel_bins": 128, "encoder_layers": 1, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
             "d_model": 32, "output_dim": 64, "max_source_positions": 1500}
    if fam == "qwen2.5-omni":
        return cls(text_config=_text_config(spec, rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                                                                   "mrope_section": _MROPE}),
                   vision_config={"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                                  "out_hidden_size": 64, "fullatt_block_indexes": [0], "window_size": 112},
                   audio_config=dict(audio, n_window=100),
                   audio_token_index=s["<|AUDIO|>"], image_token_index=s["<|IMAGE|>"],
                   video_token_index=s["<|VIDEO|>"], audio_start_token_id=s["<|audio_bos|>"],
                   audio_end_token_id=s["<|audio_eos|>"], vision_start_token_id=s["<|vision_bos|>"],
                   vision_end_token_id=s["<|vision_eos|>"], tie_word_embeddings=True)
    if fam == "qwen3-omni":
        text = _text_config(spec, head_dim=16, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                            decoder_sparse_step=1,
                            rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": _MROPE3,
                                             "interleaved": True, "mrope_interleaved": True})
        return cls(text_config=text, vision_config=vision3,
                   audio_config=dict(audio, n_window=50, downsample_hidden_size=16, conv_chunksize=500,
                                     n_window_infer=800),
                   audio_token_id=s["<|audio_pad|>"], image_token_id=s["<|image_pad|>"],
                   video_token_id=s["<|video_pad|>"], audio_start_token_id=s["<|audio_start|>"],
                   vision_start_token_id=s["<|vision_start|>"], vision_end_token_id=s["<|vision_end|>"],
                   tie_word_embeddings=True)
    raise ValueError(fam)


def special_tokens(family: str) -> dict[str, int]:
    """The special tokens (string -> id) of ``family``'s tiny tokenizer."""
    return dict(_spec(family).specials)


def _spec(family: str) -> CheckpointSpec:
    try:
        return SPECS[family]
    except KeyError:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(CHECKPOINT_FAMILIES)}") from None


def _tokenizer(spec: CheckpointSpec) -> Any:
    from transformers import Qwen2Tokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    vocab.update(spec.specials)
    extra: Any = [t for t in spec.specials if t not in ("<|endoftext|>", "<|im_end|>")]
    if spec.family in OMNI_NAMED_TOKENS:
        extra = dict(OMNI_NAMED_TOKENS[spec.family])
    tok = Qwen2Tokenizer(vocab=vocab, merges=[], eos_token="<|im_end|>", pad_token="<|endoftext|>",
                         extra_special_tokens=extra)
    tok.model_max_length = 32768
    for token, token_id in spec.specials.items():
        actual = tok.convert_tokens_to_ids(token)
        if actual != token_id:  # pragma: no cover - a transformers change
            raise RuntimeError(f"tokenizer put {token} at {actual}, expected {token_id}")
    return tok


def _template(spec: CheckpointSpec) -> tuple[str, str]:
    """(template text, provenance): the bundled template of ``spec.template_family``.

    Raises ``ValueError`` when the spec names none, and ``TemplateLoadError`` when that family has
    no bundled template (``qwen4-exp``): a tiny checkpoint never gets an invented template.
    """
    if spec.template_family is None:
        raise ValueError(f"{spec.family}: no chat template to write (CheckpointSpec.template_family is None)")
    from qwenlint.template import bundled_template

    bt = bundled_template(spec.template_family)
    return bt.source, f"bundled {bt.resolved_family} ({bt.status})"


def _processor(spec: CheckpointSpec, template: str) -> Any:
    import transformers as T

    tok = _tokenizer(spec)
    image = T.Qwen2VLImageProcessor(**spec.image_config)
    video_cls = getattr(T, spec.video_processor_class)
    video = video_cls(**(spec.video_config or spec.image_config))
    cls = getattr(T, spec.processor_class)
    if spec.family in OMNI_NAMED_TOKENS:
        fe = T.WhisperFeatureExtractor(feature_size=128)
        return cls(image_processor=image, video_processor=video, feature_extractor=fe, tokenizer=tok,
                   chat_template=template)
    return cls(image_processor=image, tokenizer=tok, video_processor=video, chat_template=template)


def write_checkpoint(family: str, directory: str | os.PathLike[str], *, seed: int = 0,
                     template: str | None = None, dtype: str = "float32") -> str:
    """Write ``family``'s tiny random-weight checkpoint into ``directory`` (created if missing).

    ``template`` replaces the chat template (to build a deliberately broken checkpoint).  Returns
    the directory.  Raises ``ValueError`` for an unknown family and ``ImportError`` (naming the
    ``smoke`` extra) when torch/transformers are missing.
    """
    spec = _spec(family)
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ImportError(f"writing a checkpoint needs torch and transformers: pip install 'qwenlint[smoke]' ({exc})") \
            from exc
    root = os.fspath(directory)
    os.makedirs(root, exist_ok=True)
    # the caller's template, else the bundled one (a family without one, qwen4-exp, needs ``template``)
    text, provenance = (template, "given by the caller") if template is not None else _template(spec)
    processor = _processor(spec, text)
    processor.save_pretrained(root)

    config = _model_config(spec)
    config.architectures = [spec.model_class]
    torch.manual_seed(seed)
    model_cls = getattr(transformers, spec.model_class)
    model = model_cls(config).to(getattr(torch, dtype))
    model.eval()
    model.save_pretrained(root)
    with open(os.path.join(root, "qwenlint_checkpoint.json"), "w", encoding="utf-8") as fh:
        json.dump({"family": family, "model_class": spec.model_class, "processor_class": spec.processor_class,
                   "chat_template": provenance, "seed": seed, "notes": spec.notes,
                   "transformers": transformers.__version__,
                   "what": "tiny random-weight test checkpoint written by qwenlint.checkpoints; "
                           "its outputs are meaningless"}, fh, indent=1)
    return root


def main(argv: list[str] | None = None) -> int:
    """``python -m qwenlint.checkpoints FAMILY DIR [--seed N]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m qwenlint.checkpoints",
                                     description="Write a tiny random-weight Qwen VL checkpoint directory.")
    parser.add_argument("family", choices=CHECKPOINT_FAMILIES)
    parser.add_argument("directory")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        path = write_checkpoint(args.family, args.directory, seed=args.seed)
    except ImportError as exc:
        print(f"qwenlint: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
