"""Structured option warnings and the no-numpy/no-torch import guarantee."""

from __future__ import annotations

import subprocess
import sys

from qwenlint.vision import (
    budget_warnings,
    get_profile,
    ignored_options,
    patch_size_warnings,
)


def test_transformers_and_vllm_ignore_every_part_key() -> None:
    options = {"type": "video", "video": "a.mp4", "fps": 1, "max_pixels": 200704, "total_pixels": 10}
    for pipeline in ("transformers", "vllm"):
        warnings = ignored_options(options, pipeline, "video")
        assert [w.key for w in warnings] == ["fps", "max_pixels", "total_pixels"]
        assert all(w.code == "ignored-option" for w in warnings)
    # Where the setting belongs instead: vLLM's video loader samples, the processor resizes.
    fps, pixels, _ = ignored_options(options, "vllm", "video")
    assert "--media-io-kwargs" in fps.message and "mm_processor_kwargs" in pixels.message
    assert "mm_processor_kwargs" in ignored_options(options, "transformers", "video")[0].message


def test_qwen_vl_utils_reads_keys_by_part_kind() -> None:
    assert [w.key for w in ignored_options({"fps": 2, "max_pixels": 1}, "qwen-vl-utils", "image")] == ["fps"]
    assert [w.key for w in ignored_options({"fps": 2, "sample_fps": 1}, "qwen-vl-utils", "video")] == ["sample_fps"]
    assert [w.key for w in ignored_options({"fps": 2, "sample_fps": 1}, "qwen-vl-utils", "frames")] == ["fps"]
    half = ignored_options({"resized_height": 280}, "qwen-vl-utils", "image")
    assert [w.key for w in half] == ["resized_height"] and "both" in half[0].message


def test_budget_written_for_patch_14() -> None:
    options = {"max_pixels": 256 * 28 * 28, "min_pixels": 4 * 32 * 32, "total_pixels": 20480 * 28 * 28}
    warnings = budget_warnings(options, get_profile("qwen3-vl"))
    assert [w.key for w in warnings] == ["max_pixels", "total_pixels"]
    assert "256*32*32 = 262144" in warnings[0].message
    assert budget_warnings(options, get_profile("qwen2.5-vl")) == []
    # 256*28*28 is also 196*32*32: still flagged (a 32-based count is rarely a multiple of 49)
    assert [w.key for w in budget_warnings({"max_pixels": 200704}, get_profile("qwen3.5"))] == ["max_pixels"]
    assert budget_warnings({"max_pixels": 256 * 32 * 32, "min_pixels": "4"}, get_profile("qwen3.5")) == []


def test_patch_size_warning() -> None:
    assert patch_size_warnings(get_profile("qwen3-vl"), 16) == []
    [warning] = patch_size_warnings(get_profile("qwen3-vl"), 14)
    assert warning.code == "image-patch-size-mismatch" and "image_patch_size=16" in warning.message


def test_imports_without_numpy_or_torch() -> None:
    code = ("import sys\n"
            "for name in ('numpy', 'torch', 'torchvision', 'transformers', 'PIL', 'qwen_vl_utils'):\n"
            "    sys.modules[name] = None\n"
            "import qwenlint.vision as v\n"
            "p = v.predict_image(v.ImageFacts(500, 300), {}, v.get_profile('qwen2-vl'))\n"
            "assert p.tokens == 198, p\n")
    subprocess.run([sys.executable, "-c", code], check=True)
