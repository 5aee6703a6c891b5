"""qwenlint's model of vLLM's audio path (``qwenlint.vision.audio.predict_vllm_audio``) against the
REAL vLLM render server, for both Omni families.

Hypothesis draws requests of one to three audio parts — ``audio_url`` with a ``file://`` URL or a
base64 data URL, or ``input_audio`` (``{"data", "format"}``) — of WAV and FLAC files at drawn
rates (8 kHz to 48 kHz, odd ones included), channel counts and lengths (a few samples, around
the 160-sample hop and the shortest audio each family takes, around and past the 30-second
window).  Each request goes to vLLM's render server (tests/differential/_vllm.py) and through
qwenlint's engine (``--target vllm``); they must agree on the HTTP status and the error's first
line, or on the audio pad count of every part, in order.  Run at vLLM 0.33 (the environment's
release) and 0.30 (the first release qwenlint models: ``qwenlint.consumers.vllm.server.AUDIO_MODELLED``);
at each, one family's server takes at most two audios per prompt (``--limit-mm-per-prompt``,
:data:`LIMITED`), so requests of three are refused.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _vllm import BASE_RELEASE, SERVERS, assumed, pad_ids, tiny_checkpoint, verdict  # noqa: E402  (skips the module without vLLM)

from qwenlint.engine import Engine, FileScope
from qwenlint.ir import Record
from qwenlint.options import Options

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "media"))
from mediasynth import make_clip  # noqa: E402

pytestmark = pytest.mark.differential

FAMILIES = ("qwen2.5-omni", "qwen3-omni")
RELEASES = (BASE_RELEASE, "0.30.0")
EXAMPLES = int(os.environ.get("QWENLINT_VLLM_AUDIO_EXAMPLES", "20"))  # per (family, release)
#: The set-ups whose server takes at most two audios per prompt (``--limit-mm-per-prompt``): a
#: request of three is refused; one of each family, one at each release.
LIMITED = {("qwen2.5-omni", BASE_RELEASE): 2, ("qwen3-omni", "0.30.0"): 2}

RATES = st.sampled_from([16000, 16000, 8000, 11025, 22050, 24000, 32000, 44100, 48000, 12345])
#: 16 kHz lengths around what matters: the hop (160), the shortest audio each family takes (161 /
#: 321 samples), token steps, the 30-second window (480 000).
LENGTHS = st.one_of(st.integers(1, 1200), st.integers(1200, 80000), st.integers(1200, 80000),
                    st.integers(1200, 80000), st.integers(479_000, 481_000), st.integers(481_000, 560_000))


@st.composite
def clips(draw):
    rate = draw(RATES)
    n16 = draw(LENGTHS)
    return {"codec": draw(st.sampled_from(["wav", "wav", "flac"])), "rate": rate,
            "samples": max(1, n16 * rate // 16000 + draw(st.integers(-2, 2))),
            "channels": draw(st.sampled_from([1, 1, 2])), "form": draw(st.sampled_from(["file", "data", "input"]))}


def _part(clip: dict, path: Path) -> dict:
    if clip["form"] == "file":
        return {"type": "audio_url", "audio_url": {"url": f"file://{path}"}}
    data = base64.b64encode(path.read_bytes()).decode()
    if clip["form"] == "data":
        return {"type": "audio_url", "audio_url": {"url": f"data:audio/{clip['codec']};base64,{data}"}}
    return {"type": "input_audio", "input_audio": {"data": data, "format": clip["codec"]}}


_ENGINES: dict = {}


def _qwenlint(body: dict, family: str, ckpt: Path, args: tuple[str, ...], root: Path, release: str) -> dict:
    key = (family, args, release)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = Engine(Options(target="vllm", family=family, model=str(ckpt),
                                                vllm_args=args, assume=assumed(release)), rules=[])
    out = engine.check_record(Record(value=json.loads(json.dumps(body))), FileScope("<memory>", str(root)),
                              keep=True)
    ctx = out.context
    response = ctx.responses[0]
    if response.error is not None:
        e = response.error
        return {"status": e.status, "first_line": e.message.splitlines()[0]}
    errors = [p for p in (ctx.predictions.get(it.pointer) for it in response.items) if hasattr(p, "quoted")]
    if errors:  # the processor raises: the server answers 400 with the error's text
        return {"status": 400, "first_line": errors[0].message.splitlines()[0]}
    return {"status": 200, "pads": {"audio": [getattr(ctx.predictions.get(it.pointer), "tokens", None)
                                              for it in response.items]}}


def _real(server, body: dict) -> dict:
    v = verdict(*server.render(body), pad_ids(server.model), server.release)
    if v["status"] != 200:
        return {"status": v["status"], "first_line": v["message"]}
    return {"status": 200, "pads": v["pads"]}


def _same_error(real: dict, ours: dict) -> bool:
    """The server quotes the audio arrays (and the prompt) in its message, where qwenlint writes
    ``[...]`` / ``{...}``: every other piece of qwenlint's message must be in the server's, in order."""
    if real["status"] != ours["status"]:
        return False
    text, at = real["first_line"], 0
    for piece in re.split(r"\[\.\.\.\]|\{\.\.\.\}", ours["first_line"]):
        at = text.find(piece, at)
        if at < 0:
            return False
        at += len(piece)
    return True


@pytest.mark.parametrize("family,release", [(f, r) for r in RELEASES for f in FAMILIES])
def test_vllm_audio(family, release, tmp_path_factory):
    root = tmp_path_factory.mktemp("vllm-audio")
    ckpt = tiny_checkpoint(family, tmp_path_factory.mktemp("vllm-audio-ckpt"))
    # no processor cache: an item the cache holds is not sent to the processor again, which makes the
    # outcome of a request depend on the ones before it (qwenlint predicts a fresh server)
    args = ("--allowed-local-media-path", str(root), "--max-model-len", "131072", "--mm-processor-cache-gb", "0")
    limit = LIMITED.get((family, release))
    if limit is not None:
        args += ("--limit-mm-per-prompt", json.dumps({"audio": limit}))
    server = SERVERS.get(ckpt, args, tmp_path_factory.mktemp("vllm-logs"), release)
    disagreements = []
    tally: Counter = Counter()
    counter = iter(range(10**9))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(clips(), min_size=1, max_size=3))
    def check(drawn):
        parts = []
        for clip in drawn:
            path = root / f"c{next(counter)}.{clip['codec']}"
            make_clip(str(path), clip["codec"], clip["rate"], clip["samples"], clip["channels"])
            parts.append(_part(clip, path))
        body = {"model": str(ckpt), "mm_payload": "none",
                "messages": [{"role": "user", "content": [*parts, {"type": "text", "text": "what is it?"}]}]}
        real = _real(server, body)
        ours = _qwenlint(body, family, ckpt, args, root, release)
        tally["rendered" if real["status"] == 200 else f"{real['status']} {real['first_line'][:30]}"] += 1
        same = real == ours if real["status"] == 200 else _same_error(real, ours)
        if not same:
            disagreements.append({"clips": drawn, "server": real, "qwenlint": ours})

    check()
    print(f"\n[vLLM {release} {family} audio] {dict(sorted(tally.items()))}")
    for d in disagreements:
        print("DIS", json.dumps(d)[:700])
    assert not disagreements, json.dumps(disagreements[:5], indent=1)[:6000]
    assert tally["rendered"] > 0
    if limit is not None:  # the limit was reached and refused alike
        assert any(k.startswith("400 At most") for k in tally), tally
