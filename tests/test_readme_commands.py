"""The README's command lines run as written.

Every line of the README's ``bash`` blocks that runs ``qwenlint`` is run by a shell, in a scratch
folder holding the files the lines name (a conversation, a dataset, a vLLM request, a template, a
tiny checkpoint, ...), built from the bundled examples.  Each must be a valid command line: exit 0
or 1 (1: it found something), never 2 (a usage error: a flag the README names that does not
exist, a bad value) and never a traceback.  Lines that need a model directory need torch and
transformers to write the tiny checkpoint: without them they are skipped, unless
``QWENLINT_REQUIRE_DIFF=1`` (CI).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MODEL_DIRS = ("./Qwen2.5-VL-7B-Instruct", "DIR")


def _lines() -> list:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if re.match(r"^(qwenlint |qwenlint$)", command) or "| qwenlint " in command:
                out.append(pytest.param(command, id=command[:60]))
    return out


LINES = _lines()


def test_the_readme_commands_are_found():
    assert len(LINES) >= 15


def _wav(path: Path, seconds: float = 1.0) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("readme")
    good = ROOT / "examples" / "good"
    shutil.copytree(good / "media", d / "media")
    shutil.copy(good / "conversation.json", d / "messages.json")
    shutil.copy(good / "conversation.json", d / "chat.json")
    shutil.copy(good / "train.jsonl", d / "train.jsonl")
    shutil.copy(good / "batch.json", d / "train.json")
    shutil.copy(good / "openai_request.json", d / "request.json")
    body = json.loads((good / "openai_request.json").read_text(encoding="utf-8"))
    (d / "requests.jsonl").write_text(json.dumps(body) + "\n", encoding="utf-8")
    (d / "prefs.jsonl").write_text(json.dumps({"messages": [
        {"role": "user", "content": "<image>What is the total?"},
        {"role": "assistant", "content": "12.50 EUR"}], "images": ["media/receipt.jpg"],
        "label": True}) + "\n", encoding="utf-8")
    shutil.copytree(good, d / "data", ignore=shutil.ignore_patterns("media"))
    shutil.copytree(good / "media", d / "data" / "media")
    template = (ROOT / "templates" / "qwen2.5-vl" / "Qwen2.5-VL-3B-Instruct.jinja").read_text(encoding="utf-8")
    (d / "chat_template.json").write_text(json.dumps({"chat_template": template}), encoding="utf-8")
    _wav(d / "media" / "voice.wav")
    (d / "talk.json").write_text(json.dumps([{"role": "user", "content": [
        {"type": "audio", "audio": "media/voice.wav"}, {"type": "video", "video": "media/clip.mp4"},
        {"type": "text", "text": "What is said?"}]}]), encoding="utf-8")
    if importlib.util.find_spec("transformers") is not None and importlib.util.find_spec("torch") is not None:
        from qwenlint.checkpoints import write_checkpoint

        for name in MODEL_DIRS:
            write_checkpoint("qwen2.5-vl", d / name)
    return d


@pytest.mark.parametrize("command", LINES)
def test_readme_command_runs_as_written(sandbox: Path, command: str):
    if any(m in command for m in MODEL_DIRS) and not (sandbox / "DIR").is_dir():
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            pytest.fail("torch and transformers are needed for the checkpoint (QWENLINT_REQUIRE_DIFF=1)")
        pytest.skip("needs torch and transformers for a tiny checkpoint")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", NO_COLOR="1")
    out = subprocess.run(command, shell=True, cwd=sandbox, capture_output=True, text=True,
                         timeout=600, env=env)
    assert out.returncode in (0, 1), f"{command}\nexit {out.returncode}\n{out.stdout[-1500:]}\n{out.stderr[-1500:]}"
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    assert out.stdout.strip() or out.stderr.strip(), "no output at all"


def test_the_readme_example_output_is_what_qwenlint_prints():
    """The README's first block shows ``qwenlint check examples/broken/translated_keys.json``: its
    lines are the command's first lines, as printed today."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```text\n\$ (qwenlint [^\n]*)\n(.*?)^```", text, re.S | re.M)
    assert block is not None
    command, shown = block.group(1), block.group(2).rstrip("\n").splitlines()
    out = subprocess.run(command.split(), cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, NO_COLOR="1",
                                  PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"))
    assert out.stdout.splitlines()[:len(shown)] == shown
