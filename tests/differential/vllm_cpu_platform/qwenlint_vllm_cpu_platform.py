"""A vLLM platform plugin that names vLLM's own CPU platform, for releases before 0.28.

vLLM 0.28 and later pick the CPU platform when ``VLLM_TARGET_DEVICE=cpu``; before, only when the
version string says "cpu" (a CPU build, which the registry does not have) or on macOS, and
otherwise stop with ``RuntimeError: Failed to infer device type``.  vLLM loads platform plugins
from the ``vllm.platform_plugins`` entry-point group (``vllm/platforms/__init__.py``); this folder,
put on ``PYTHONPATH`` by tests/differential/_vllm.py for those releases only, is such a plugin.
"""


def cpu() -> str:
    return "vllm.platforms.cpu.CpuPlatform"
