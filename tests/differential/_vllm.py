"""The REAL vLLM, as an oracle: its GPU-less render server, started and stopped by the tests.

vLLM pins its own transformers, so it lives in its own virtual environment (``.venv-vllm``, made by
scripts/test.sh; another one with ``QWENLINT_VLLM_PYTHON=/path/to/python``).  Other vLLM releases
run in that same environment: scripts/test.sh installs each with ``--no-deps`` into
``.versions/vllm-X`` (`RELEASES`), first on ``PYTHONPATH``, sharing the environment's torch 2.14.0
(0.33 and 0.34 pin it; 0.31 and 0.32 pin 2.13.0, but the render path runs no compiled kernel) and
its transformers 5.20.2 (inside the pins of 0.33 and 0.34; 0.30, 0.31 and 0.32 get
``.versions/transformers-5.17.0`` first, inside theirs).  ``0.30.0+transformers-5.20.2`` is vLLM 0.30
beside a transformers its pin (``>=5.10.4``) allows and its video loader lookup does not (from 5.19:
``Server.video_lookup_fails``); the tests assume both versions of each set-up (`assumed`).  0.23 (pinned
torch 2.11.0, transformers ``>=4.56`` without 5.0-5.5) runs beside the environment's 5.20.2 too, and
0.25.1 (``>=5.5.3``) beside 5.17.0, both with the CPU platform named by a plugin (``vllm_cpu_platform``:
before 0.28 vLLM does not read ``VLLM_TARGET_DEVICE``).  A test asks for a
server with ``SERVERS.get``: a tiny checkpoint of the family is written once per session
with that environment's torch and transformers (``python -m qwenlint.checkpoints``), then
``vllm launch render CHECKPOINT --host 127.0.0.1 --port P <flags>`` runs until the session ends
or another server is asked for (one at a time: each takes ~1 GB and 10-30 s to start).  Its
``/v1/chat/completions/render`` runs vLLM's whole request path — the HTTP request model, content
parts, the media connector, the loaders, the limits, the processor — and returns the prompt's
token ids and one placeholder per media item, or the error the real server gives, with its status
(shared reference vllm-oracle.md).

When the environment is missing, the importing test module is skipped, unless
``QWENLINT_REQUIRE_DIFF=1`` (CI), where it fails.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
VLLM_PYTHON = Path(os.environ.get("QWENLINT_VLLM_PYTHON") or REPO / ".venv-vllm" / "bin" / "python")
#: The environment every vLLM process runs with (a CPU machine, no hub).
VLLM_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_TARGET_DEVICE": "cpu",
            "CUDA_VISIBLE_DEVICES": "", "VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1",
            "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "TOKENIZERS_PARALLELISM": "false"}
STARTUP_SECONDS = 240
#: The vLLM release of the environment itself, and the ones installed beside it: release -> the
#: folders put first on ``PYTHONPATH`` (that release's vllm package, and a transformers inside its pin
#: where the environment's 5.20.2 is not: 0.31 pins <5.18, 0.32 <5.20).
BASE_RELEASE = "0.33.0"
_V = REPO / ".versions"
#: Before 0.28 vLLM ignores ``VLLM_TARGET_DEVICE=cpu``: a platform plugin names its CPU platform.
_CPU_PLATFORM = Path(__file__).resolve().parent / "vllm_cpu_platform"
RELEASES: dict[str, tuple[Path, ...]] = {
    BASE_RELEASE: (),
    "0.34.0": (_V / "vllm-0.34.0",),
    "0.32.0": (_V / "vllm-0.32.0", _V / "transformers-5.17.0"),
    "0.31.0": (_V / "vllm-0.31.0", _V / "transformers-5.17.0"),
    "0.30.0": (_V / "vllm-0.30.0", _V / "transformers-5.17.0"),
    "0.30.0+transformers-5.20.2": (_V / "vllm-0.30.0",),
    "0.25.1": (_V / "vllm-0.25.1", _V / "transformers-5.17.0", _CPU_PLATFORM),
    "0.23.0": (_V / "vllm-0.23.0", _CPU_PLATFORM),
}
#: The transformers each set-up runs with (the environment's 5.20.2 unless RELEASES puts another first).
_TRANSFORMERS = {"0.32.0": "5.17.0", "0.31.0": "5.17.0", "0.30.0": "5.17.0", "0.25.1": "5.17.0"}


def assumed(release: str) -> tuple[str, str]:
    """The ``--assume`` entries of a `RELEASES` set-up: its vLLM release and its transformers."""
    vllm, _, local = release.partition("+")
    tf = local.removeprefix("transformers-") if local else _TRANSFORMERS.get(vllm, "5.20.2")
    return f"vllm=={vllm}", f"transformers=={tf}"

if not VLLM_PYTHON.exists():
    if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
        raise ImportError(f"QWENLINT_REQUIRE_DIFF=1 but there is no vLLM environment at {VLLM_PYTHON} "
                          "(scripts/test.sh makes .venv-vllm)")
    pytest.skip(f"the vLLM differential tests need vLLM's environment ({VLLM_PYTHON})",
                allow_module_level=True)


def vllm_env(release: str = BASE_RELEASE) -> dict[str, str]:
    env = dict(os.environ, **VLLM_ENV)
    # qwenlint.checkpoints, with vLLM's own torch/transformers; another release's vllm package first
    env["PYTHONPATH"] = os.pathsep.join([*map(str, RELEASES[release]), str(REPO)])
    return env


def require_release(release: str) -> None:
    """Skip (or, under QWENLINT_REQUIRE_DIFF=1, fail) a test of a release that is not installed."""
    missing = [str(p) for p in RELEASES[release] if not p.is_dir()]
    if missing:
        if os.environ.get("QWENLINT_REQUIRE_DIFF") == "1":
            raise RuntimeError(f"QWENLINT_REQUIRE_DIFF=1 but vLLM {release} needs {', '.join(missing)} (scripts/test.sh)")
        pytest.skip(f"vLLM {release} needs {', '.join(missing)}")


#: vLLM serves an Omni model from the full model's config (thinker, talker, token2wav), not from
#: a thinker-only one: (the config class, the architecture vLLM maps to its thinker).
_OMNI_SERVED_AS = {"qwen2.5-omni": ("Qwen2_5OmniConfig", "Qwen2_5OmniForConditionalGeneration"),
                   "qwen3-omni": ("Qwen3OmniMoeConfig", "Qwen3OmniMoeForConditionalGeneration")}
_FULL_OMNI_CONFIG = """
import json, sys, transformers
path, cls, arch = sys.argv[1:]
thinker = json.load(open(path))
thinker.pop("architectures", None)
config = getattr(transformers, cls)(thinker_config=thinker, enable_audio_output=False).to_dict()
config["architectures"] = [arch]
json.dump(config, open(path, "w"), indent=1)
"""


def tiny_checkpoint(family: str, root: Path) -> Path:
    """A tiny checkpoint of ``family`` under ``root`` (written once), made in vLLM's environment.
    An Omni family's thinker checkpoint gets the full model's config, which is what vLLM serves
    (the render server loads no weights)."""
    out = root / family
    if not (out / "config.json").exists():
        proc = subprocess.run([str(VLLM_PYTHON), "-m", "qwenlint.checkpoints", family, str(out)],
                              env=vllm_env(), capture_output=True, text=True, timeout=600)
        if proc.returncode == 0 and family in _OMNI_SERVED_AS:
            proc = subprocess.run([str(VLLM_PYTHON), "-c", _FULL_OMNI_CONFIG, str(out / "config.json"),
                                   *_OMNI_SERVED_AS[family]], env=vllm_env(), capture_output=True, text=True,
                                  timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"cannot write the {family} checkpoint: {proc.stderr[-2000:]}")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RenderServer:
    """One running ``vllm launch render`` process."""

    model: Path
    args: tuple[str, ...]
    release: str = BASE_RELEASE
    port: int = 0
    proc: subprocess.Popen | None = None
    log: Path | None = None
    started_s: float = 0.0
    requests: int = field(default=0)

    def start(self, log_dir: Path) -> None:
        self.port = _free_port()
        self.log = log_dir / f"vllm-{self.release}-{self.model.name}-{self.port}.log"
        cmd = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.cli.main", "launch", "render", str(self.model),
               "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        t0 = time.monotonic()
        with open(self.log, "w") as fh:
            self.proc = subprocess.Popen(cmd, env=vllm_env(self.release), stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = t0 + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vllm launch render exited ({self.proc.returncode}): "
                                   f"{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    self.started_s = time.monotonic() - t0
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"vllm launch render did not come up in {STARTUP_SECONDS} s: "
                           f"{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, 9)
                except ProcessLookupError:
                    pass
        self.proc = None

    def render(self, body: dict[str, Any]) -> tuple[int, Any]:
        """POST ``body`` to the render route: (HTTP status, the JSON answer)."""
        body = {"model": str(self.model), "mm_payload": "none", **body}
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1/chat/completions/render",
            data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"error": {"message": raw.decode("utf-8", "replace")}}


class _Servers:
    """At most one server alive; a new (model, args) stops the previous one."""

    def __init__(self) -> None:
        self.current: RenderServer | None = None

    def get(self, model: Path, args: tuple[str, ...], log_dir: Path,
            release: str = BASE_RELEASE) -> RenderServer:
        require_release(release)
        cur = self.current
        if cur is not None and cur.model == model and cur.args == args and cur.release == release \
                and cur.proc is not None and cur.proc.poll() is None:
            return cur
        self.stop()
        server = RenderServer(model, args, release)
        server.start(log_dir)
        self.current = server
        return server

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None


SERVERS = _Servers()
atexit.register(SERVERS.stop)


def pad_ids(model: Path) -> dict[str, int]:
    """The pad token id of each modality, read from the checkpoint's config (an Omni model's from
    its thinker)."""
    config = json.loads((model / "config.json").read_text())
    config = config.get("thinker_config", config)
    return {m: config[f"{m}_token_id"] for m in ("image", "video", "audio")
            if isinstance(config.get(f"{m}_token_id"), int)}


def readable_message(message: str, release: str) -> str:
    """The server's error message as qwenlint writes it: before vLLM 0.26 (``PATHS_REDACTED``) the
    server names its own file paths, which qwenlint writes as ``<path>`` (the redaction 0.26 brought),
    and a request-model error goes on with the server's file, line and route and the error list once
    more, which qwenlint leaves out.  From 0.26 the message is compared as it is."""
    from packaging.version import Version

    from qwenlint.consumers.vllm.request import sanitize_message
    from qwenlint.consumers.vllm.server import PATHS_REDACTED

    if Version(release.partition("+")[0]) >= Version(PATHS_REDACTED):
        return message
    return sanitize_message(message.split('\n\n  File "', 1)[0])


def verdict(status: int, doc: Any, pads: dict[str, int], release: str = BASE_RELEASE) -> dict[str, Any]:
    """What the server answered, reduced to what is compared: the status, the error's message (first
    line) and type, or the number of pad tokens of every media item, per modality, in order.

    A placeholder is the span vLLM replaces for one item; for Qwen3-VL and Qwen3.5 video it also
    holds each frame group's timestamp and vision start/end tokens, so the pads are counted inside
    it rather than taken from its length."""
    if status != 200:
        err = (doc or {}).get("error") or {}
        message = readable_message(str(err.get("message", "")), release)
        return {"status": status, "type": err.get("type"), "message": message,
                "first_line": message.splitlines()[0] if message else ""}
    ph = ((doc or {}).get("features") or {}).get("mm_placeholders") or {}
    ids = doc.get("token_ids") or []

    def count(modality: str, p: dict) -> int:
        span = ids[p["offset"]:p["offset"] + p["length"]]
        return sum(1 for t in span if t == pads[modality]) if modality in pads else p["length"]

    return {"status": 200, "pads": {k: [count(k, p) for p in v] for k, v in ph.items() if v},
            "tokens": len(doc.get("token_ids") or [])}


# --- qwenlint's side ------------------------------------------------------------------------------

def qwenlint_verdict(engine: Any, body: Any, cwd: Path) -> dict[str, Any]:
    """What qwenlint's engine (``--target vllm``) predicts the server answers ``body``, in
    `verdict`'s form; ``{"status": None, "unknown": why}`` when it cannot be known here (a URL the
    server would fetch), ``{"status": None, "findings": [...]}`` when the record is not a request
    qwenlint reads (its error-level findings say why)."""
    from qwenlint.engine import FileScope
    from qwenlint.ir import Record

    out = engine.check_record(Record(value=json.loads(json.dumps(body))), FileScope("<memory>", str(cwd)),
                              keep=True)
    ctx = out.context
    response = ctx.responses[0] if ctx is not None and ctx.responses else None
    if response is None:
        return {"status": None, "findings": sorted({d.rule for d in out.diagnostics if d.severity.name == "ERROR"})}
    if response.unknown is not None:
        return {"status": None, "unknown": response.unknown}
    if response.error is not None:
        e = response.error
        return {"status": e.status, "type": e.type, "first_line": e.message.splitlines()[0] if e.message else ""}
    pads: dict[str, list] = {}
    for item in response.items:
        pred = ctx.predictions.get(item.pointer)
        pads.setdefault(item.modality, []).append(getattr(pred, "tokens", repr(pred)))
    return {"status": 200, "pads": pads}
