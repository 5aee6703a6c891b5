"""The REAL libraries, built offline, for the differential tests of ``qwenlint.vision``.

Everything here is independent of qwenlint: processor configs are written out from the published
checkpoint files (shared reference token-math §4 / transformers class attributes), not read from
``qwenlint.vision.profiles``, so a wrong profile shows up as a disagreement.

* `build_processor(family)`: the family's real ``*Processor`` class (``Qwen2VLProcessor``,
  ``Qwen2_5_VLProcessor``, ``Qwen3VLProcessor``, ``Qwen2_5OmniProcessor``, ``Qwen3OmniMoeProcessor``)
  with a byte-level tokenizer whose special tokens keep their real ids, and a minimal chat template
  that renders one placeholder per image/video part.
* `outcome(fn)`: ``("ok", value)`` or ``("error", exception class name, message)``.
* `synth_video(dir, w, h, fps, frames)`: a tiny H.264 file written with PyAV.

Importing this module needs torch, torchvision, transformers, qwen-vl-utils, PyAV and numpy.  When
they are missing, the importing test module is skipped -- unless ``QWENLINT_REQUIRE_DIFF=1`` (CI),
where the import error fails the run loudly.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import sys
import warnings
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest

from qwenlint.vision import VisionError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "media"))
from mediasynth import make_video  # noqa: E402  (tests/media: one video synthesiser for all tests)

try:
    import av  # noqa: F401
    import numpy as np
    import torch  # noqa: F401
    import transformers
    from PIL import Image
    from transformers.convert_slow_tokenizer import bytes_to_unicode
except ImportError as _exc:
    if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
        raise ImportError(f"QWENLINT_REQUIRE_DIFF=1 but the real libraries cannot be imported: {_exc}") from _exc
    pytest.skip(f"differential tests need torch, transformers, qwen-vl-utils, av: {_exc}", allow_module_level=True)

transformers.logging.set_verbosity_error()
logging.getLogger("qwen_vl_utils").setLevel(logging.CRITICAL)
logging.getLogger("qwen_vl_utils.vision_process").setLevel(logging.CRITICAL)
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

try:
    import qwen_vl_utils.vision_process as qvu
except ImportError as _exc:
    if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
        raise
    pytest.skip(f"differential tests need qwen-vl-utils: {_exc}", allow_module_level=True)

SPECIAL_IDS = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|AUDIO|>": 151646,
    "<|audio_bos|>": 151647, "<|audio_eos|>": 151648, "<|vision_start|>": 151652, "<|vision_end|>": 151653,
    "<|vision_pad|>": 151654, "<|image_pad|>": 151655, "<|video_pad|>": 151656,
    "<|IMAGE|>": 151657, "<|VIDEO|>": 151658, "<|vision_bos|>": 151659, "<|vision_eos|>": 151660,
    "<|audio_pad|>": 151661, "<|audio_start|>": 151669, "<|audio_end|>": 151670,
}

#: Published preprocessor values (image size, video size, patch) per family.
_P14 = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2}
_P16_IMAGE = {"size": {"shortest_edge": 65536, "longest_edge": 16777216}, "patch_size": 16,
              "temporal_patch_size": 2, "merge_size": 2, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
_P16_VIDEO = {"size": {"shortest_edge": 4096, "longest_edge": 25165824}, "patch_size": 16,
              "temporal_patch_size": 2, "merge_size": 2, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}

# The Omni processors need named special tokens; the checkpoint generator owns that table.
from qwenlint.checkpoints import OMNI_NAMED_TOKENS as OMNI_TOKENS  # noqa: E402

FAMILIES = ("qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3.5", "qwen2.5-omni", "qwen3-omni")


def qvu_release_source(folder: str | os.PathLike, release: str) -> str:
    """Where scripts/test.sh installs an older qwen-vl-utils ``release`` (beside the installed one)."""
    return os.path.join(folder, f"qwen-vl-utils-{release}", "qwen_vl_utils", "vision_process.py")


def load_qvu_release(folder: str | os.PathLike, release: str) -> Any:
    """That release's ``vision_process`` module, loaded by path under its own name (it shares this
    process's torch and transformers)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("qwen_vl_utils_" + release.replace(".", "_"),
                                                  qvu_release_source(folder, release))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Worker:
    """A worker script (tests/differential/_tf_worker.py unless ``script`` names another) in a
    subprocess with ``path`` first on ``PYTHONPATH`` (another transformers release, decord, a
    LLaMA-Factory release): ``ask(**case)`` sends one JSON case and returns its answer."""

    def __init__(self, path: str | os.PathLike, versions_dir: str | os.PathLike,
                 script: str = "_tf_worker.py") -> None:
        import subprocess
        import sys

        env = {**os.environ, "PYTHONPATH": str(path), "QWENLINT_REQUIRE_DIFF": "1",
               "QWENLINT_VERSIONS_DIR": str(versions_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}
        self.proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), script)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=env)

    def ask(self, **case: Any) -> tuple:
        import json

        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the worker died"
        return tuple(json.loads(line))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def transformers_worker(release: str) -> Worker:
    """A worker (_tf_worker.py) running transformers ``release`` from ``.versions/transformers-X``,
    checked to answer with that version.  Skips the test when it is not installed (fails under
    ``QWENLINT_REQUIRE_DIFF=1``)."""
    from _releases import VERSIONS_DIR

    folder = VERSIONS_DIR / f"transformers-{release}"
    if not (folder / "transformers" / "__init__.py").is_file():
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise FileNotFoundError(f"QWENLINT_REQUIRE_DIFF=1 but transformers {release} is not in {folder} "
                                    "(scripts/test.sh installs it)")
        pytest.skip(f"transformers {release} is not in {folder}")
    worker = Worker(folder, VERSIONS_DIR)
    assert worker.ask(family="", kind="version") == ("ok", release)
    return worker


def framework_worker(folder: str, release: str, transformers: str, script: str) -> Worker:
    """A worker running a fine-tuning framework ``release`` (test_llamafactory.py,
    test_ms_swift.py): ``script`` with the release's ``.versions/`` folder, the frameworks' shared
    dependencies and ``transformers`` first on ``PYTHONPATH``, checked to answer with those
    versions.  Skips the test when one is not installed (fails under ``QWENLINT_REQUIRE_DIFF=1``)."""
    from _releases import VERSIONS_DIR

    parts = [VERSIONS_DIR / folder, VERSIONS_DIR / "frameworks-deps", VERSIONS_DIR / f"transformers-{transformers}"]
    missing = [str(p) for p in parts if not p.is_dir()]
    if missing:
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise FileNotFoundError(f"QWENLINT_REQUIRE_DIFF=1 but {missing} are not installed (scripts/test.sh)")
        pytest.skip(f"{folder} is not installed in {VERSIONS_DIR}: {missing}")
    worker = Worker(os.pathsep.join(str(p) for p in parts), VERSIONS_DIR, script=script)
    assert worker.ask(kind="version") == ("ok", release, transformers)
    return worker


def placeholders(family: str) -> tuple[str, str, str, str]:
    """(vision start, image pad, video pad, vision end) strings the family's processor expands."""
    if family in OMNI_TOKENS:
        t = OMNI_TOKENS[family]
        return t["vision_bos_token"], t["image_token"], t["video_token"], t["vision_eos_token"]
    return "<|vision_start|>", "<|image_pad|>", "<|video_pad|>", "<|vision_end|>"


def _template(family: str) -> str:
    start, image, video, end = placeholders(family)
    return ("{% for m in messages %}{% for c in m['content'] %}"
            f"{{% if c['type'] == 'video' %}}{start}{video}{end}"
            f"{{% elif c['type'] == 'image' %}}{start}{image}{end}"
            "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}")


@functools.cache
def _tokenizer(family: str) -> Any:
    import transformers
    from transformers import Qwen2Tokenizer

    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    vocab.update(SPECIAL_IDS)
    extra: Any = list(SPECIAL_IDS)
    if family in OMNI_TOKENS:
        extra = dict(OMNI_TOKENS[family])
    # 4.x takes files, and named special tokens differently
    if int(transformers.__version__.split(".")[0]) < 5:
        import json
        import tempfile

        folder = tempfile.mkdtemp(prefix="qwenlint-tok4-")
        with open(os.path.join(folder, "vocab.json"), "w") as f:
            json.dump(vocab, f)
        with open(os.path.join(folder, "merges.txt"), "w") as f:
            f.write("#version: 0.2\n")
        names = list(extra) if isinstance(extra, list) else list(extra.values())
        kwargs = {"extra_special_tokens": dict(extra)} if isinstance(extra, dict) else {}
        tok = Qwen2Tokenizer(os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt"),
                             eos_token="<|im_end|>", pad_token="<|endoftext|>",
                             additional_special_tokens=names, **kwargs)
        return tok
    return Qwen2Tokenizer(vocab=vocab, merges=[], eos_token="<|im_end|>", pad_token="<|endoftext|>",
                          extra_special_tokens=extra)


@functools.cache
def build_processor(family: str) -> Any:
    """The real processor of ``family``, from published config values, fully offline."""
    import transformers as T

    tok = _tokenizer(family)
    tpl = _template(family)
    # What AutoProcessor loads from the published configs: transformers 4.x forces the fast
    # (torchvision) image processor for every Qwen checkpoint (FORCE_FAST_IMAGE_PROCESSOR), and its
    # slow class drops a valid ``size`` (Qwen3-VL's published bounds); in 5.x the torchvision class
    # is the one named Qwen2VLImageProcessor.
    image_cls = T.Qwen2VLImageProcessorFast if int(T.__version__.split(".")[0]) < 5 else T.Qwen2VLImageProcessor
    if family in ("qwen2-vl", "qwen2.5-vl"):
        cls = T.Qwen2VLProcessor if family == "qwen2-vl" else T.Qwen2_5_VLProcessor
        # No video_preprocessor_config.json is published: the video processor loads preprocessor_config.json.
        return cls(image_processor=image_cls(**_P14), tokenizer=tok,
                   video_processor=T.Qwen2VLVideoProcessor(**_P14), chat_template=tpl)
    if family in ("qwen3-vl", "qwen3.5"):
        return T.Qwen3VLProcessor(image_processor=image_cls(**_P16_IMAGE), tokenizer=tok,
                                  video_processor=T.Qwen3VLVideoProcessor(**_P16_VIDEO), chat_template=tpl)
    fe = T.WhisperFeatureExtractor(feature_size=128)
    if family == "qwen2.5-omni":
        return T.Qwen2_5OmniProcessor(image_processor=image_cls(**_P14),
                                      video_processor=T.Qwen2VLVideoProcessor(**_P14),
                                      feature_extractor=fe, tokenizer=tok, chat_template=tpl)
    if family == "qwen3-omni":
        # Qwen3-Omni's published preprocessor_config.json: min/max_pixels with patch 16.
        omni3 = dict(_P14, patch_size=16, image_mean=[0.5] * 3, image_std=[0.5] * 3)
        return T.Qwen3OmniMoeProcessor(image_processor=image_cls(**omni3),
                                       video_processor=T.Qwen2VLVideoProcessor(**omni3),
                                       feature_extractor=fe, tokenizer=tok, chat_template=tpl)
    raise ValueError(family)


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    """Run ``fn``: ``("ok", result)`` or ``("error", class name, message)``."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - the point is to capture whatever the library raises
        return ("error", type(exc).__name__, str(exc))


def ours(fn: Callable[[], Any]) -> tuple[Any, ...]:
    """Run a qwenlint prediction: ``("ok", value)`` or ``("error", exc_type, message)``."""
    try:
        return ("ok", fn())
    except VisionError as exc:
        return ("error", exc.exc_type, exc.message)


def count(ids: Any, token_id: int) -> int:
    return int((np.asarray(ids) == token_id).sum())


def grid_list(tensor: Any) -> list[list[int]]:
    return [[int(v) for v in row] for row in tensor]


# ---------------------------------------------------------------------------------------------
# the two pipelines, run for real


def run_processor(family: str, text: str, images: Any = None, videos: Any = None, **kwargs: Any) -> dict[str, Any]:
    """``processor(text=[text], images=..., videos=..., **kwargs)``: grids, pad counts, decoded text."""
    proc = build_processor(family)
    out = proc(text=[text], images=images, videos=videos, **kwargs)
    return _summarise(family, out)


def run_chat_template(family: str, content: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """``processor.apply_chat_template([{"role": "user", "content": content}], tokenize=True)``."""
    proc = build_processor(family)
    out = proc.apply_chat_template([{"role": "user", "content": content}], tokenize=True, return_dict=True, **kwargs)
    return _summarise(family, out)


def _summarise(family: str, out: Any) -> dict[str, Any]:
    proc = build_processor(family)
    ids = out["input_ids"][0]
    _, image, video, _ = placeholders(family)
    tok = proc.tokenizer
    return {
        "image_grid_thw": grid_list(out["image_grid_thw"]) if "image_grid_thw" in out else None,
        "video_grid_thw": grid_list(out["video_grid_thw"]) if "video_grid_thw" in out else None,
        "image_pads": count(ids, tok.convert_tokens_to_ids(image)),
        "video_pads": count(ids, tok.convert_tokens_to_ids(video)),
        "text": tok.decode(ids),
    }


def qvu_image(family: str, image: Any, options: dict[str, Any], image_patch_size: int, do_resize: bool) -> dict[str, Any]:
    """``fetch_image`` then the processor, as the README recipe does."""
    pil = qvu.fetch_image({"image": image, **options}, image_patch_size=image_patch_size)
    start, pad, _, end = placeholders(family)
    return run_processor(family, f"{start}{pad}{end}", images=[pil], do_resize=do_resize)


def qvu_video(family: str, video: Any, options: dict[str, Any], image_patch_size: int, do_resize: bool) -> dict[str, Any]:
    """``fetch_video(return_video_metadata=True)`` then the processor with ``do_sample_frames=False``."""
    with contextlib.redirect_stderr(io.StringIO()):
        (frames, metadata), _fps = qvu.fetch_video({"video": video, **options}, image_patch_size=image_patch_size,
                                                   return_video_sample_fps=True, return_video_metadata=True)
    start, _, pad, end = placeholders(family)
    result = run_processor(family, f"{start}{pad}{end}", videos=[frames], video_metadata=[metadata],
                           do_sample_frames=False, do_resize=do_resize)
    result["frames"] = int(frames.shape[0])
    result["indices"] = [int(i) for i in metadata["frames_indices"]]
    return result


def pil_image(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width, height), (120, 130, 140))


def write_image(folder: str, width: int, height: int, orientation: int = 1) -> str:
    path = os.path.join(folder, f"img_{width}x{height}_o{orientation}.jpg")
    if not os.path.exists(path):
        exif = Image.Exif()
        if orientation != 1:
            exif[0x0112] = orientation
        pil_image(width, height).save(path, quality=30, exif=exif.tobytes())
    return path


def synth_video(folder: str, width: int, height: int, fps: Fraction | int, frames: int) -> str:
    """A flat grey H.264 clip (yuv420p, so even sides), cached by its parameters; written by the
    media tests' synthesiser (tests/media/mediasynth.py)."""
    rate = Fraction(fps)
    path = os.path.join(folder, f"v_{width}x{height}_{rate.numerator}_{rate.denominator}_{frames}.mp4")
    if not os.path.exists(path):
        make_video(path, width, height, rate, frames)
    return path


def torchcodec_metadata(path: str) -> tuple[int, float, int, int]:
    """``(num_frames, average_fps, width, height)`` as qwen-vl-utils and transformers read them."""
    from torchcodec.decoders import VideoDecoder

    m = VideoDecoder(path).metadata
    return int(m.num_frames), float(m.average_fps), int(m.width), int(m.height)


# ---------------------------------------------------------------------------------------------
# checkpoints written by the real classes

#: The chat template the checkpoint tests render with: one placeholder per image / video part
#: (Qwen4-Exp has no bundled template, and the pads, not the template, are under test).
CHECKPOINT_TEMPLATE = _template("qwen3.5")
_CHECKPOINT_DIR = None


@functools.cache
def tiny_checkpoint(name: str) -> str:
    """A checkpoint directory written by the real transformers classes (``qwenlint.checkpoints``:
    the family's model, tokenizer and processor ``save_pretrained``), once per process.  ``name``
    is a family, or ``renamed-FAMILY``: a copy of that family's files (no weights) whose
    config.json ``model_type`` is ``qwen_unseen_vl``, a type neither transformers nor qwenlint
    knows, its processor files unchanged."""
    import json
    import shutil
    import tempfile

    from qwenlint.checkpoints import write_checkpoint

    global _CHECKPOINT_DIR
    if _CHECKPOINT_DIR is None:
        _CHECKPOINT_DIR = tempfile.mkdtemp(prefix="qwenlint-diff-ckpt-")
    path = os.path.join(_CHECKPOINT_DIR, name)
    if name.startswith("renamed-"):
        shutil.copytree(tiny_checkpoint(name.removeprefix("renamed-")), path,
                        ignore=shutil.ignore_patterns("*.safetensors"))
        with open(os.path.join(path, "config.json"), encoding="utf-8") as fh:
            config = json.load(fh)
        config["model_type"] = "qwen_unseen_vl"
        with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as fh:
            json.dump(config, fh)
        return path
    with contextlib.redirect_stderr(io.StringIO()):
        return write_checkpoint(name, path, template=CHECKPOINT_TEMPLATE if name == "qwen4-exp" else None)


@functools.cache
def checkpoint_processor(name: str) -> Any:
    """``AutoProcessor.from_pretrained`` of `tiny_checkpoint` ``name``, offline."""
    from transformers import AutoProcessor

    with contextlib.redirect_stderr(io.StringIO()):
        return AutoProcessor.from_pretrained(tiny_checkpoint(name), local_files_only=True)


# ---------------------------------------------------------------------------------------------
# the Omni READMEs' recipe: qwen-omni-utils' process_mm_info, then the processor


def omni_template(family: str) -> str:
    """A minimal chat template rendering one placeholder per image / video / audio part."""
    t = OMNI_TOKENS[family]
    return ("{% for m in messages %}{% for c in m['content'] %}"
            f"{{% if c['type'] == 'audio' %}}{t['audio_bos_token']}{t['audio_token']}{t['audio_eos_token']}"
            f"{{% elif c['type'] == 'video' %}}{t['vision_bos_token']}{t['video_token']}{t['vision_eos_token']}"
            f"{{% elif c['type'] == 'image' %}}{t['vision_bos_token']}{t['image_token']}{t['vision_eos_token']}"
            "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endfor %}")


def omni_recipe(family: str, content: list, use_audio_in_video: bool) -> dict[str, Any]:
    """``process_mm_info(conversation, use_audio_in_video=...)`` then ``processor(text=..., audio=...,
    images=..., videos=..., use_audio_in_video=...)``: image grids and the image, video, audio pads."""
    from qwen_omni_utils import process_mm_info

    proc = build_processor(family)
    conv = [{"role": "user", "content": content}]
    audios, images, videos = process_mm_info(conv, use_audio_in_video=use_audio_in_video)
    text = proc.apply_chat_template(conv, tokenize=False, chat_template=omni_template(family))
    out = proc(text=[text], audio=audios, images=images, videos=videos, use_audio_in_video=use_audio_in_video)
    ids = out["input_ids"][0]
    tok = proc.tokenizer
    t = OMNI_TOKENS[family]
    return {"image_grid_thw": grid_list(out["image_grid_thw"]) if "image_grid_thw" in out else [],
            **{k: count(ids, tok.convert_tokens_to_ids(t[f"{k}_token"])) for k in ("image", "video", "audio")}}


# ---------------------------------------------------------------------------------------------
# qwen-vl-finetune's data processor (vendored: tests/differential/vendor/qwen_vl_finetune)


def qwen_finetune_outcomes(family: str, records: list, data_path: str) -> list:
    """Each record through qwen-vl-finetune's ``preprocess_qwen_visual`` (what ``LazySupervisedDataset``
    calls per item) with ``DataArguments``' defaults written into a fresh processor by
    ``update_processor_pixels``: ``outcome`` of ``(image_pads, video_pads)`` per record."""
    vendor = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor", "qwen_vl_finetune")
    if vendor not in sys.path:
        sys.path.insert(0, vendor)
    from qwenvl.data import data_processor as qft
    from qwenvl.train.argument import DataArguments

    proc = qft.update_processor_pixels(build_processor.__wrapped__(family), DataArguments())
    tok = proc.tokenizer
    image_id, video_id = tok.convert_tokens_to_ids("<|image_pad|>"), tok.convert_tokens_to_ids("<|video_pad|>")

    def run(rec: dict) -> tuple[int, int]:
        with contextlib.redirect_stdout(io.StringIO()):
            out = qft.preprocess_qwen_visual([dict(rec, data_path=data_path)], proc)
        return count(out["input_ids"][0], image_id), count(out["input_ids"][0], video_id)

    return [outcome(lambda r=r: run(r)) for r in records]
