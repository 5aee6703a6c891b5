"""`parse_server_args` against vLLM's own command-line parsing (0.33 and 0.34), run for real.

A worker process in vLLM's environment (``QWENLINT_VLLM_PYTHON``, default ``<repo>/.venv-vllm/bin/
python``) builds the parser exactly as ``vllm`` does (``ServeSubcommand`` / ``LaunchSubcommand``
under a ``FlexibleArgumentParser``, vllm/entrypoints/cli/main.py), parses each argument list sent
to it, and builds the ``ModelConfig`` those arguments make (``EngineArgs(...).create_model_config()``
on a config-only Qwen2.5-VL directory, with the modelled fields only, so that an ignored flag's
value cannot fail there); it answers with the modelled fields, or the error.  One worker serves
the whole module (vLLM's imports take ~10-20 s); hypothesis examples go to it one by one, so a
disagreement shrinks to a minimal argument list.

What is compared: accept / reject, and on accept every modelled field of `Server`.  Not compared
(documented in qwenlint/consumers/vllm/server.py): ``--config FILE``, the values of ignored flags
(the generated ones are valid for vLLM's parser), ``validate_parsed_serve_args``' checks of files
and of combinations of ignored flags.  ``-1`` / ``auto`` for ``--max-model-len`` is None in
`Server` (the model's length).

``QWENLINT_PRINT_FLAGS=1`` prints the flag table of server.py from the real parser.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.consumers.vllm import server as srv
from qwenlint.consumers.vllm.server import Server, parse_server_args

pytestmark = pytest.mark.differential

from _vllm import BASE_RELEASE, RELEASES, VLLM_PYTHON, require_release, vllm_env  # noqa: E402  (skips the module without vLLM)

EXAMPLES = int(os.environ.get("QWENLINT_VLLM_ARGS_EXAMPLES", "600"))

# The worker: one JSON request per stdin line, one JSON answer per stdout line.
_WORKER = r'''
import argparse, contextlib, io, json, os, sys
real_stdout = sys.stdout
sys.stdout = sys.stderr  # vLLM's logs stay off the answer channel
from vllm.engine.arg_utils import EngineArgs
from vllm.entrypoints.cli.launch import LaunchSubcommand
from vllm.entrypoints.cli.serve import ServeSubcommand
from vllm.utils.argparse_utils import FlexibleArgumentParser

top = FlexibleArgumentParser(description="vLLM CLI")
from vllm import __version__
top.add_argument("-v", "--version", action="version", version=__version__)
subparsers = top.add_subparsers(required=False, dest="subparser")
serve = ServeSubcommand().subparser_init(subparsers)
launch = LaunchSubcommand().subparser_init(subparsers)
render = next(a for a in launch._actions if isinstance(a, argparse._SubParsersAction)).choices["render"]
for p in (serve, render):
    p.set_defaults(model=None)  # vLLM's default model is Qwen/Qwen3-0.6B; None: not given

MODEL = sys.argv[1]  # a directory with a config.json of Qwen2.5-VL: all ModelConfig reads
with open(os.path.join(MODEL, "config.json"), "w") as f:
    json.dump({"architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl"}, f)
FIELDS = ("max_model_len", "limit_mm_per_prompt", "media_io_kwargs", "mm_processor_kwargs",
          "enable_mm_embeds", "language_model_only", "allowed_local_media_path", "allowed_media_domains")

def table(parser):
    arity = {0: "0", None: "1", "?": "?", "+": "+"}
    out = []
    for action in parser._actions:
        strings = [s for s, a in parser._option_string_actions.items() if a is action]
        if strings:
            out.append([arity[action.nargs], strings])
    return out

def _parses(parser, option, value):
    """Whether the parser takes ``option value`` (its type *and* its action: --lora-modules's
    action rejects a value its type accepts)."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(err):
            parser.parse_args([option, value])
        return True
    except (SystemExit, Exception):
        return False

def samples(parser):
    """A value vLLM's parser accepts, per action that takes one."""
    out = {}
    for action in parser._actions:
        if not action.option_strings or action.nargs == 0:
            continue
        choices = [c for c in (action.choices or []) if isinstance(c, str)]
        for value in choices[:1] or ["1", "8000", "0.5", "auto", "x", "{}", "a=b", '{"name": "a", "path": "b"}']:
            try:
                (action.type or str)(value)
            except Exception:
                continue
            if not _parses(parser, action.option_strings[0], value):
                continue
            out[action.option_strings[0]] = value
            break
    return out

def parse(argv):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(err):
            ns = top.parse_args(argv)
            model = ns.model_tag if ns.model_tag is not None else ns.model
            config = EngineArgs(model=MODEL, **{k: getattr(ns, k) for k in FIELDS}).create_model_config()
    except SystemExit as e:
        lines = err.getvalue().strip().splitlines()
        return {"error": f"exit {e.code}: {lines[-1] if lines else ''}"}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {' | '.join(str(e).splitlines()[:3])}"}
    mm = config.multimodal_config
    return {"ok": {
        "model": model,
        "max_model_len": config.original_max_model_len,
        "limit_mm_per_prompt": {k: v.count for k, v in mm.limit_per_prompt.items()},
        "limits": {m: mm.get_limit_per_prompt(m) for m in ["image", "video", "audio", *mm.limit_per_prompt]},
        "media_io_kwargs": mm.media_io_kwargs,
        "mm_processor_kwargs": mm.mm_processor_kwargs,
        "enable_mm_embeds": mm.enable_mm_embeds,
        "language_model_only": mm.language_model_only,
        "allowed_local_media_path": config.allowed_local_media_path,
        "allowed_media_domains": config.allowed_media_domains,
        "chat_template": ns.chat_template,
        "trust_request_mm_kwargs": getattr(ns, "trust_request_mm_kwargs", False),  # the flag is from 0.31
        "trust_request_chat_template": ns.trust_request_chat_template,
    }}

parse(["serve", "--max-model-len", "1"])  # warm the config caches
print(json.dumps({"table": table(serve), "render_table": table(render), "samples": samples(serve)}),
      file=real_stdout, flush=True)
for line in sys.stdin:
    print(json.dumps(parse(json.loads(line))), file=real_stdout, flush=True)
'''


class Worker:
    def __init__(self, model_dir: Path, release: str) -> None:
        env = {**vllm_env(release), "VLLM_LOGGING_LEVEL": "ERROR"}
        self.release = release
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([str(VLLM_PYTHON), "-c", _WORKER, str(model_dir)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        first = self.proc.stdout.readline()
        if not first:
            self.log.seek(0)
            raise RuntimeError("the vLLM worker did not start:\n" + self.log.read().decode()[-3000:])
        self.info = json.loads(first)
        self.calls = 0

    def parse(self, argv: list[str]) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the vLLM worker died on {argv}"
        self.calls += 1
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module", params=sorted(RELEASES))
def vllm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    require_release(request.param)
    worker = Worker(tmp_path_factory.mktemp("vllm-model"), request.param)
    yield worker
    worker.close()
    print(f"\nvLLM parses compared: {worker.calls}; generated cases: {GENERATED}")


# --- comparing ---------------------------------------------------------------------------------


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)  # NaN == NaN, tuples == lists


def ours(server: Server) -> dict[str, Any]:
    """`Server` in the worker's terms."""
    return {
        "model": server.model,
        "max_model_len": server.max_model_len,
        "limit_mm_per_prompt": server.limit_mm_per_prompt,
        "media_io_kwargs": server.media_io_kwargs,
        "mm_processor_kwargs": server.mm_processor_kwargs,
        "enable_mm_embeds": server.enable_mm_embeds,
        "language_model_only": server.language_model_only,
        "allowed_local_media_path": server.allowed_local_media_path,
        "allowed_media_domains": server.allowed_media_domains,
        "chat_template": server.chat_template,
        "trust_request_mm_kwargs": server.trust_request_mm_kwargs,
        "trust_request_chat_template": server.trust_request_chat_template,
    }


def theirs(real: dict[str, Any]) -> dict[str, Any]:
    """vLLM's answer in `Server`'s terms: -1 (auto) is None, ``mm_processor_kwargs`` None is {}."""
    out = {k: v for k, v in real.items() if k != "limits"}
    out["max_model_len"] = None if real["max_model_len"] == -1 else real["max_model_len"]
    out["mm_processor_kwargs"] = real["mm_processor_kwargs"] or {}
    return out


def compare(vllm: Worker, prefix: list[str], command: list[str], words: list[str]) -> str:
    """Assert qwenlint and vLLM agree on ``vllm <command> <words>``; "ok" or "error"."""
    real = vllm.parse([*command, *words])
    try:
        mine: Any = parse_server_args([*prefix, *words], vllm.release)
    except ValueError as e:
        mine = e
    case = shlex.join([*prefix, *words])
    if "error" in real:
        assert isinstance(mine, ValueError), f"vLLM rejects {case!r} ({real['error']}), qwenlint accepts: {mine}"
        assert "\n" not in str(mine)
        return "error"
    assert not isinstance(mine, ValueError), f"vLLM accepts {case!r}, qwenlint says: {mine}"
    want, got = theirs(real["ok"]), ours(mine)
    for name in want:
        assert _canon(got[name]) == _canon(want[name]), f"{case!r}: {name} is {got[name]!r}, vLLM {want[name]!r}"
    for modality, limit in real["ok"]["limits"].items():
        assert mine.limit(modality) == limit, (case, modality)
    return "ok"


# --- the flag table ----------------------------------------------------------------------------


def _format_table(table: list[list[Any]]) -> str:
    import textwrap

    lines = []
    for arity in ("0", "1", "?", "+"):
        entries = " ".join("/".join(s) for a, s in table if a == arity)
        lines.append(f'    "{arity}": """')
        lines.append(textwrap.fill(entries, 96, initial_indent=" " * 8, subsequent_indent=" " * 8,
                                   break_on_hyphens=False, break_long_words=False))
        lines.append('    """,')
    return "\n".join(lines)


def test_flag_table_is_vllms(vllm: Worker) -> None:
    real = [(a, tuple(s)) for a, s in vllm.info["table"]]
    takes_value = [strings for arity, strings in real if arity != "0"]
    # the generated cases can use every flag (but --config, which names a file, and is not generated)
    missing = [strings for strings in takes_value if strings[0] not in vllm.info["samples"]]
    assert missing == [("--config",)]
    if os.environ.get("QWENLINT_PRINT_FLAGS") == "1":
        print("\n" + _format_table(vllm.info["table"]))
    assert vllm.info["render_table"] == vllm.info["table"]  # `vllm launch render` takes the same flags
    by_arity = [entry for arity in "01?+" for entry in real if entry[0] == arity]
    if vllm.release == BASE_RELEASE:  # in vLLM's order
        assert srv.flag_table(vllm.release) == by_arity
    else:  # a later release's added actions come last
        assert sorted(srv.flag_table(vllm.release)) == sorted(by_arity)
    later = {n for release, names in srv._FLAGS_NEW_IN.items() if Version(vllm.release) < Version(release)
             for n in names.split()}
    for name in srv._MODELLED:  # every modelled flag is the release's, or one it does not have yet
        assert any(name in strings for _, strings in real) is (name not in later), name


# --- hand-written cases ------------------------------------------------------------------------

LIMIT = "--limit-mm-per-prompt"
MEDIA = "--media-io-kwargs"
CASES: list[list[str]] = [
    [],
    ["Qwen/Qwen2.5-VL-7B-Instruct"],
    *[["--max-model-len", v] for v in (
        "32k", "32K", "1m", "1M", "2g", "1G", "1t", "1T", "25.6k", "25.6K", "0.5k", "1.0005k", "-1", "auto", "AUTO",
        " auto ", "Auto", "0", "-2", "-01", "+5", "1_000", " 32k", "32k ", "32kb", "k", "1.5", "1e3", "", "None",
        "٣٢k", "٣٢", "32KK", "0x10", "9999999999999", "-1k", "1.k", ".5k", "32 k", "0k", "0.0001k")],
    ["--max_model_len", "4k"], ["--max-model-len=4k"], ["--max_model_len=4K"], ["--max-model", "4k"],
    ["--max-model-len"], ["--max-model-len", "1k", "--max-model-len", "2k"],
    *[[LIMIT, v] for v in (
        '{"image": 4}', '{"image": 4, "video": 0}', '{"image": -1}', '{"image": "4"}', '{"image": 4.0}',
        '{"image": 4.5}', '{"image": true}', '{"image": null}', '{"image": [1]}', '{}', "null", "[]", "4", '"x"',
        '{"video": {"count": 1, "num_frames": 32}}', '{"video": {"num_frames": 32}}', '{"video": {"fps": 2}}',
        '{"video": {"count": 1, "num_frames": 0}}', '{"image": {"count": 2, "width": 512, "height": 512}}',
        '{"image": {"num_frames": 8}}', '{"audio": {"count": 1, "length": 10}}', '{"audio": {"length": -1}}',
        '{"foo": {"count": 2, "bar": 3}}', '{"foo": {"bar": "x"}}', '{"image": {"count": "2"}}',
        '{"image": {"count": 2.0}}', '{"image": {"count": 2.5}}', '{"image": 1e2}', '{"image": NaN}',
        "{image: 4}", "{'image': 4}", "", "None", '{"image": 4', '{"image": 99999999999999999999}')],
    [LIMIT + ".image", "4"], [LIMIT + ".image", "1k"], [LIMIT + ".image", "x"], [LIMIT + ".image=4"],
    [LIMIT + ".video.count", "2", LIMIT + ".video.num_frames", "8"], [LIMIT, '{"image": 2}', LIMIT + ".video", "1"],
    [LIMIT + ".image", "2", LIMIT, '{"video": 3}'], ["--limit_mm_per_prompt.image", "3"],
    [LIMIT + ".image"], [LIMIT + ".image+", "1,2"],
    *[[MEDIA, v] for v in (
        '{"video": {"fps": 1}}', '{"video": {"num_frames": 16, "video_backend": "opencv"}}', '{"video": 5}',
        '{"video": null}', "null", "[]", '{"video": {"fps": NaN}}', '{"image": {}}', "{}", "", "None")],
    [MEDIA + ".video.fps", "1"], [MEDIA + ".video.fps=2.5"], [MEDIA + ".video.backend", "opencv"],
    [MEDIA + ".video.x+", "a,b", MEDIA + ".video.x+", "c"], [MEDIA + ".video", "{\"fps\": 2}"],
    *[["--mm-processor-kwargs", v] for v in ('{"max_pixels": 1000}', "", "None", "null", "[]", "{", "{}")],
    ["--mm-processor-kwargs.size.shortest_edge", "3136"],
    *[[flag] for flag in ("--trust-request-mm-kwargs", "--no-trust-request-mm-kwargs", "--trust_request_mm_kwargs",
                          "--trust-request-chat-template", "--no-trust-request-chat-template", "--enable-mm-embeds",
                          "--disable-mm-embeds", "--no-enable-mm-embeds", "--language-model-only",
                          "--no-language-model-only", "--trust-request", "--trust-request-mm", "--enable-mm",
                          "--no-trust-request-mm", "--trust-request-mm-kwargs=1")],
    ["--trust-request-mm-kwargs", "--no-trust-request-mm-kwargs"], ["--language-model-only", LIMIT, '{"image": 3}'],
    ["--allowed-media-domains", "a.com"], ["--allowed-media-domains", "a.com", "b.com"], ["--allowed-media-domains"],
    ["--allowed-media-domains", "a.com", "M"], ["M", "--allowed-media-domains", "a.com", "b.com"],
    ["--allowed-media-domains", ""], ["--allowed-media-domains", "None"], ["--allowed-media-domains=a.com", "b"],
    ["--allowed-local-media-path", "/data"], ["--allowed-local-media-path", ""], ["--allowed-local-media-path=None"],
    ["--chat-template", "t.jinja"], ["--chat-template", ""], ["--chat-template", "None"],
    ["--chat-template", "{{ messages }}"],
    ["--model", "M"], ["--model=M"], ["--model"], ["--model="], ["M", "--model", "N"], ["--model", "M", "--model", "N"],
    ["--served-model-name", "x"], ["M", "--served-model-name", "x"], ["--max-model-len", "1", "--served-model-name", "x"],
    ["--served_model_name=x", "--model", "M"],
    ["--config", "x.yaml"], ["--config=x.yaml"], ["--help"], ["-h"], ["--help=ModelConfig"], ["--version"], ["-v"],
    ["-O3"], ["-O", "3"], ["-O", "x"], ["-O=2"], ["-Ox"], ["-O"], ["-tp", "2"], ["-tp2"], ["-tp=2"],
    ["--tensor-parallel-size", "2"], ["--tensor_parallel_size", "2"], ["--foo"], ["--max-modl-len", "5"],
    ["-x"], ["M", "N"], ["--", "M"], ["M", "--"], ["--max-model-len", "-1.5"], ["--chat-template", "-x.y", "z"],
    ["--foo.bar", "1"], ["--max-model-len.x", "1"], ["--enforce-eager", "M"], ["--hf-token", "M"], ["--hf-token"],
    ["--served-model-name", "a", "b"], ["M", "--served-model-name", "a", "b", "--max-model-len", "2k"],
]


def test_hand_written_cases_agree(vllm: Worker) -> None:
    outcomes = {"ok": 0, "error": 0}
    for words in CASES:
        for prefix, command in ((["vllm", "serve"], ["serve"]), ([], ["serve"])):
            outcomes[compare(vllm, prefix, command, words)] += 1
        outcomes[compare(vllm, ["vllm", "launch", "render"], ["launch", "render"], words)] += 1
    print(f"\nhand-written: {outcomes}")
    assert outcomes["ok"] > 100 and outcomes["error"] > 100


# --- generated cases ---------------------------------------------------------------------------

_BOOLS = ("--trust-request-mm-kwargs", "--trust-request-chat-template", "--enable-mm-embeds", "--language-model-only")


def spellings(flag: str) -> st.SearchStrategy[str]:
    """The ways to write a long flag: as is, with underscores, a prefix (maybe ambiguous)."""
    name = flag[2:]
    return st.one_of(st.just(flag), st.just(flag), st.just("--" + name.replace("-", "_")),
                     st.integers(3, len(name)).map(lambda n: "--" + name[:n]))


def with_value(flag: st.SearchStrategy[str], value: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.tuples(flag, value, st.booleans()).map(lambda t: [f"{t[0]}={t[1]}"] if t[2] else [t[0], t[1]])


_number = st.one_of(st.integers(-3, 2 ** 40).map(str), st.integers(1, 2 ** 20).map(str),
                    st.decimals(0, 1000, places=3).map(str),
                    st.sampled_from(["0", "-1", "1_0", "+7", "1e3", "", " 8 ", "٣", "0x1", "1.", ".5"]))
lengths = st.one_of(st.tuples(_number, st.sampled_from(["", "k", "K", "m", "M", "g", "G", "t", "T", "kb", " k"]))
                    .map("".join), st.sampled_from(["auto", "AUTO", "Auto", "-1", "None", "x"]))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 2 ** 70), st.floats(allow_nan=True),
                         st.text(max_size=4))
modalities = st.sampled_from(["image", "video", "audio", "foo"])
option_names = st.sampled_from(["count", "num_frames", "width", "height", "length", "fps"])
#: the options each modality's limit takes (any for other modalities)
_OPTIONS = {"image": ["count", "width", "height"], "video": ["count", "num_frames", "width", "height"],
            "audio": ["count", "length"], "foo": ["count", "bar"]}
valid_limits = st.lists(modalities.flatmap(lambda m: st.tuples(st.just(m), st.one_of(
    st.integers(0, 16), st.dictionaries(st.sampled_from(_OPTIONS[m]), st.integers(1, 64), max_size=3)))),
    max_size=3).map(dict)
any_limits = st.one_of(
    st.dictionaries(modalities, st.one_of(st.integers(-2, 1000), json_scalars,
                                          st.dictionaries(option_names, st.one_of(st.integers(-2, 64), json_scalars),
                                                          max_size=3)), max_size=3),
    json_scalars, st.lists(st.integers(), max_size=2))
limits = st.one_of(valid_limits, valid_limits, any_limits)
valid_media_io = st.dictionaries(modalities, st.dictionaries(option_names, json_scalars, max_size=3), max_size=2)
media_io = st.one_of(valid_media_io, valid_media_io,
                     st.dictionaries(modalities, json_scalars, min_size=1, max_size=2), json_scalars)
kwargs_json = st.one_of(st.dictionaries(option_names, json_scalars, max_size=3),
                        st.dictionaries(option_names, json_scalars, max_size=3), json_scalars)


def json_text(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """JSON (Python's spelling: NaN, Infinity), sometimes broken, or the words vLLM takes as None."""
    good = values.map(json.dumps)
    return st.one_of(good, good, good, good.map(lambda s: s[:-1]), st.sampled_from(["", "None", "{image: 4}"]))


dotted_values = st.one_of(st.integers(-2, 100).map(str), st.sampled_from(["1k", "2K", "x", "true", "null", "1.5", "[1]"]))


def dotted(flag: str) -> st.SearchStrategy[list[str]]:
    """``--flag.modality[.option][+] value`` (and now and then ``--flag.option``)."""
    keys = st.one_of(st.tuples(modalities), st.tuples(modalities, option_names), st.tuples(modalities, option_names),
                     st.tuples(option_names))
    return st.tuples(spellings(flag), keys, st.sampled_from(["", "", "+"]),
                     dotted_values, st.booleans()).map(
        lambda t: [f"{t[0]}.{'.'.join(t[1])}{t[2]}={t[3]}"] if t[4] else [f"{t[0]}.{'.'.join(t[1])}{t[2]}", t[3]])


def modelled() -> st.SearchStrategy[list[str]]:
    paths = st.sampled_from(["/data", "", "None", "rel/dir", "/a b", "t.jinja", "{{ x }}"])
    bools = st.sampled_from(_BOOLS).flatmap(lambda f: st.one_of(
        spellings(f), st.just("--no-" + f[2:]), st.just(f.replace("--enable-", "--disable-"))).map(lambda s: [s]))
    return st.one_of(
        with_value(spellings("--max-model-len"), lengths),
        with_value(spellings(LIMIT), json_text(limits)),
        with_value(spellings(MEDIA), json_text(media_io)),
        with_value(spellings("--mm-processor-kwargs"), json_text(kwargs_json)),
        dotted(LIMIT), dotted(MEDIA),
        with_value(spellings("--allowed-local-media-path"), paths),
        with_value(spellings("--chat-template"), paths),
        st.tuples(spellings("--allowed-media-domains"),
                  st.one_of(st.lists(st.sampled_from(["a.com", "b.org", "localhost"]), min_size=1, max_size=3),
                            st.lists(st.sampled_from(["a.com", "", "None"]), max_size=2)))
        .map(lambda t: [t[0], *t[1]]),
        bools,
        with_value(st.just("--model"), st.sampled_from(["M", "org/model-7B", ""])),
    )


def ignored(samples: dict[str, str], release: str) -> st.SearchStrategy[list[str]]:
    table = srv.flag_table(release)
    modelled_names = set(srv._MODELLED)
    entries = [(arity, strings) for arity, strings in table if not modelled_names & set(strings)
               and "--config" not in strings and "--help" not in strings]

    def words(entry: tuple[str, tuple[str, ...]]) -> st.SearchStrategy[list[str]]:
        arity, strings = entry
        flag = st.sampled_from(strings)
        if arity == "0":
            return flag.map(lambda f: [f])
        value = samples.get(next(s for s in strings if s.startswith("--")))
        if value is None:
            return st.just([])
        if arity == "?":
            return st.one_of(flag.map(lambda f: [f]), flag.map(lambda f: [f, value]))
        return flag.map(lambda f: [f, value])

    return st.sampled_from(entries).flatmap(words)


junk = st.one_of(st.sampled_from([["--foo"], ["--max-modl-len", "5"], ["-x"], ["N"], ["--help"], ["-O3"], ["-O", "2"],
                                  ["--"], ["--model"], ["-tp2"], ["--served-model-name", "s"]]))


GENERATED = {"ok": 0, "error": 0}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
@given(data=st.data())
def test_generated_arguments_agree(vllm: Worker, data: st.DataObject) -> None:
    pieces = st.one_of(modelled(), modelled(), modelled(), ignored(vllm.info["samples"], vllm.release), ignored(vllm.info["samples"], vllm.release),
                       junk)
    words = [w for piece in data.draw(st.lists(pieces, max_size=5), label="pieces") for w in piece]
    if data.draw(st.booleans(), label="model first"):
        words = [data.draw(st.sampled_from(["M", "Qwen/Qwen2.5-VL-7B-Instruct"]), label="model"), *words]
    prefix, command = data.draw(st.sampled_from([(["vllm", "serve"], ["serve"]), ([], ["serve"]), (["serve"], ["serve"]),
                                                 (["vllm", "launch", "render"], ["launch", "render"])]), label="command")
    GENERATED[compare(vllm, prefix, command, words)] += 1


def test_string_and_words_agree() -> None:
    words = ["vllm", "serve", "M", "--limit-mm-per-prompt", '{"image": 2}', "--chat-template", "{{ a b }}"]
    assert parse_server_args(shlex.join(words)) == parse_server_args(words)
