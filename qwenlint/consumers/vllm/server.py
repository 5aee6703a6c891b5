"""The ``vllm serve`` settings that change what a chat-completions request gets.

qwenlint is told the user's server with ``--vllm-args '<vllm serve arguments>'`` (config key
``vllm-args``; :func:`parse_server_args`); without it, the defaults of the modelled vLLM version
(:data:`MODELLED_VERSION`) apply and the report says so.  Only the flags below change a
request's outcome or its token counts; the others are accepted and listed in ``Server.ignored``.

=================================== ========================================================
flag                                field
=================================== ========================================================
``--media-io-kwargs``               ``media_io_kwargs``: the media loaders' settings (video
                                    loader)
``--mm-processor-kwargs``           ``mm_processor_kwargs``: the HF processor's call kwargs
``--trust-request-mm-kwargs``       a request's own ``media_io_kwargs`` /
                                    ``mm_processor_kwargs`` are accepted (else HTTP 400,
                                    since vLLM 0.31)
``--trust-request-chat-template``   a request's own chat template is accepted (else 400)
``--limit-mm-per-prompt``           ``limit_mm_per_prompt``: at most N items per modality
``--language-model-only``           every modality's limit is 0
``--allowed-local-media-path``      ``file://`` URLs must be inside it (else 400; unset: 500)
``--allowed-media-domains``         http(s) URLs must be on one of these hosts
``--max-model-len``                 the context length a prompt must fit
``--chat-template``                 the template the server renders with
``--enable-mm-embeds``              ``*_embeds`` parts are accepted (else 400)
MODEL (``--model``)                 ``model``: the served model
=================================== ========================================================

How vLLM 0.33 reads its command line, and so :func:`parse_server_args` (0.31 and 0.32 the same way,
with fewer flags and without the ``--enable-X`` / ``--disable-X`` twins of :data:`ENABLE_DISABLE_ALIASES`;
0.34 with more flags: :func:`flag_table`):

* ``FlexibleArgumentParser.parse_args`` (vllm/utils/argparse_utils.py:313) first rewrites the
  arguments: ``vllm serve --model M`` becomes ``vllm serve M``; ``_`` becomes ``-`` in a flag's
  name (``--max_model_len``); ``-O3`` becomes ``--optimization-level 3``; dotted keys build JSON
  (``--limit-mm-per-prompt.image 4`` is ``--limit-mm-per-prompt '{"image": 4}'``, a value that is
  not JSON may be a human-readable int or stays a string, ``--x.key+ a,b`` appends to a list), and
  those JSON values go last, so they win over the same flag written whole.  :func:`_rewrite`.
* then the standard library's argparse (the running Python's; the differential test runs
  qwenlint and vLLM on the same Python), with vLLM's flags (:data:`_FLAGS`): unique prefixes of a
  flag are accepted (``--max-model 4k``), ``--flag=value`` too, a flag given twice keeps the last
  value, ``--no-X`` / ``--disable-X`` set a boolean false, ``--allowed-media-domains`` takes one
  or more values, the model is the one positional argument.
* the value types of vllm/engine/arg_utils.py:325 ``_compute_kwargs``: any JSON for the dict
  flags (``parse_type(json.loads)``; ``null`` is the default), ``""`` or ``None`` is None for
  ``--mm-processor-kwargs``, ``--chat-template`` and each ``--allowed-media-domains`` value
  (``optional_type``), ``human_readable_int_or_auto`` for ``--max-model-len``
  (``32k`` = 32000, ``32K`` = 32768, ``25.6k`` = 25600, ``-1`` / ``auto``; no decimals with a binary
  suffix).
* last the config classes' checks, model-independent ones only: ``ModelConfig`` (the types of its
  ``limit_mm_per_prompt`` / ``media_io_kwargs`` / ``mm_processor_kwargs`` init vars,
  ``max_model_len`` >= -1 and then positive) and ``MultiModalConfig._validate_limit_per_prompt``
  (an int is the count; a dict holds ``count``, default 999, >= 0, and the dummy-data options of
  ``image`` (``width``, ``height``), ``video`` (``num_frames``, ``width``, ``height``) and ``audio``
  (``length``), each > 0, no others).  vllm/config/model.py:249, :433, :1070;
  vllm/config/multimodal.py:212-240, :471.

Not mirrored (each would need the user's server machine, or changes nothing here): ``--config
FILE`` (a YAML file of flags: rejected, give the flags themselves); the values of the ignored
flags (vLLM checks their types and choices; qwenlint only knows whether they take a value);
whether ``--allowed-local-media-path`` and ``--chat-template`` exist on the server; checks that
need the model (``--max-model-len`` above the model's length, modalities the model lacks);
``--mm-processor-device``, which vLLM folds into ``mm_processor_kwargs["device"]``.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Union

from packaging.version import Version

from qwenlint.consumers.versions import MODELLED

#: The vLLM release whose behaviour (defaults, messages, status codes) is modelled by default.
MODELLED_VERSION = MODELLED["vllm"][1]

# Where vLLM 0.23 to 0.29 differ from 0.30 (found by running the 0.23, 0.25.1 and 0.30 render servers
# on the same generated requests; the release that changed each is read in the source of 0.24.0 to 0.29.0):
#: the fps-driven ``qwen2_vl`` / ``qwen3_vl`` video loaders, picked by the checkpoint's video processor
#: class (vllm/multimodal/video.py ``VIDEO_LOADER_REGISTRY``); before, no loader is registered for a
#: Qwen processor, so every video goes through the generic ``opencv`` loader (32 uniform frames) and a
#: ``video_backend`` of ``qwen2_vl`` / ``qwen3_vl`` fails ("Extension class qwen3_vl not found")
QWEN_VIDEO_LOADERS = "0.24.0"
#: images are EXIF-transposed when loaded (vllm/multimodal/media/image.py); before, a photo keeps the
#: orientation it is stored in, so a rotated one gets a transposed grid
EXIF_TRANSPOSED = "0.24.0"

#: the Qwen3-VL video processor (Qwen3-VL, Qwen3.5) gets a request's ``min_pixels`` / ``max_pixels``
#: folded into its ``size`` (the whole video's budget: vllm#49015, model_executor/models/qwen3_vl.py);
#: before, it has none of its own and drops them (a ``size`` reaches it as given)
QWEN3_VIDEO_PIXELS_FOLDED = "0.26.0"
#: the media of a request are all fetched and the first failure in the tracker's order is raised
#: (``asyncio.gather(..., return_exceptions=True)``, entrypoints/chat_utils.py ``resolve_items``);
#: before, each modality's fetches race and the first to fail wins: a URL check made before the
#: fetch's first ``await`` (scheme, host, the video loader) beats a file or data URL read in a thread
FETCH_ERRORS_IN_ORDER = "0.26.0"
#: ``image_embeds`` / ``audio_embeds`` payloads are decoded with the other media, after the messages
#: are parsed; before, while the part is parsed (before the limit check and every later part):
#: entrypoints/chat_utils.py ``parse_image_embeds``
EMBEDS_DECODED_LATER = "0.27.0"
#: a Qwen3-VL / Qwen3.5 video's placeholder is the bare video token when the HF processor expands only
#: that one (transformers 5.10), so the template's ``<|vision_start|>`` / ``<|vision_end|>`` stay around
#: its frames; before, vLLM replaced the three tokens and the prompt lost that pair
#: (model_executor/models/qwen3_vl.py ``_expands_only_video_token``)
QWEN3_VIDEO_TOKEN_TARGET = "0.26.0"
#: the Qwen loaders cap a requested ``fps`` at 30 and ``max_frames`` at 768 (multimodal/video.py
#: ``_MAX_FPS``, ``_MAX_FRAMES``); 0.24 to 0.29 take them as given: answered "unknown" there
QWEN_LOADER_CAPS = "0.30.0"
#: a content part may be ``video_embeds`` (before, an unsupported part type, and no member of the
#: request model's part union): entrypoints/chat_utils.py
VIDEO_EMBEDS = "0.29.0"
#: the audio path :func:`qwenlint.vision.audio.predict_vllm_audio` models: audio decoded at its own
#: rate with torchcodec and resampled with torchaudio (read in the 0.23, 0.25.1, 0.30 and 0.34
#: sources; 0.23 and 0.25 resample with PyAV); before, an audio part gets no prediction
AUDIO_MODELLED = "0.30.0"
#: a part without ``type`` is read as ``input_audio`` when it has that key (before, when its value
#: is not null): chat_utils.py ``_parse_chat_message_content_mm_part``
INPUT_AUDIO_KEY = "0.30.0"
#: a data URL is split at its last ``;`` and a missing ``,`` is "Invalid data URL ...: missing ','
#: separator." (multimodal/media/connector.py ``_load_data_url``); before, ``split(",", 1)`` and
#: ``split(";", 1)``: a missing separator is "not enough values to unpack (expected 2, got 1)", and
#: anything after the first ``;`` but ``base64`` is not base64
DATA_URL_PARTITIONED = "0.27.0"
#: a named ``tool_choice`` without --tool-call-parser is described as ``function "NAME"`` in the 400
#: (before, the request object's own ``str``); renderers/online_renderer.py
NAMED_TOOL_CHOICE_DESCRIBED = "0.26.0"
#: an error message names no file path of the server's: paths become ``<path>``
#: (exception_handling/utils.py ``sanitize_message``), and a request the request model rejects is
#: 400 "N validation errors:" and every error as pydantic gives it, one a line
#: (serve/utils/server_utils.py ``validation_exception_handler``); before, the message names the
#: paths (qwenlint writes ``<path>``), and a validation message is FastAPI's ``str(exc)``, which goes
#: on after the same lines with the server's file, line and route and the error list once more
#: (qwenlint leaves that tail out)
PATHS_REDACTED = "0.26.0"
#: the error lines of that message are summarized: at most 10, each ``loc`` dotted without pydantic's
#: internal segments, each ``input`` shortened (exception_handling/handlers/validation.py)
VALIDATION_SUMMARIZED = "0.30.0"
#: vLLM's ``VLLMValidationError`` is no ``ValueError`` (vllm/exceptions.py): raised in the request
#: model it is the server's own 400 "BadRequestError" with the message and its parameter; before,
#: pydantic takes it as one of its errors (400 "Bad Request", "1 validation error:", "Value error,
#: <message> (parameter=...)" with the whole body as its input).  In the same release
#: ``"tools": []`` and a ``*_embeds`` part without --enable-mm-embeds became VLLMValidationErrors
#: naming their parameter (before, plain ValueErrors, without it)
VALIDATION_ERROR_CLASS = "0.27.0"

# Where vLLM 0.30 differs from 0.31 (found by running both render servers on the same generated
# requests and command lines):
#: a request's own ``mm_processor_kwargs`` / ``media_io_kwargs`` need --trust-request-mm-kwargs
#: (HTTP 400 without it; the flag is new); before, they are always taken (GHSA-h3rc-6mm3-gc2m)
REQUEST_MM_KWARGS_GATED = "0.31.0"
#: vLLM 0.24 to 0.30 pick a video's loader by the checkpoint's video processor class: the
#: ``video_processor_type`` of its video_preprocessor_config.json / preprocessor_config.json, else
#: transformers' ``VIDEO_PROCESSOR_MAPPING_NAMES[model_type]``, whose values are dicts from
#: transformers 5.19.0 (0.24 to 0.30 pin only ``>=5.5.3`` / ``>=5.10.4``): the dict is looked up as a
#: key, and every video without a ``video_backend`` media_io_kwarg is HTTP 400 "unhashable type:
#: 'dict'" (vllm/multimodal/media/connector.py ``fetch_video_async``; found by running 0.30 with
#: 5.18.0, 5.19.0 and 5.20.2; the fallback is in 0.24.0's source, not in 0.23.0's).  0.31 pins
#: transformers below 5.18.
VIDEO_LOOKUP_PINNED = "0.31.0"
TF_VIDEO_MAPPING_DICTS = "5.19.0"


def video_lookup_fails(vllm: str, transformers: Any, named: bool | None) -> bool | None:
    """Whether vLLM ``vllm`` with ``transformers`` in its environment fails every video of a
    checkpoint whose config names its video processor (``named``; None: not known) unless a
    ``video_backend`` is given (:data:`VIDEO_LOOKUP_PINNED`); None: it depends on ``named``."""
    if not Version(QWEN_VIDEO_LOADERS) <= Version(vllm) < Version(VIDEO_LOOKUP_PINNED) or transformers is None \
            or Version(str(transformers)) < Version(TF_VIDEO_MAPPING_DICTS):
        return False  # 0.23 reads the class from the checkpoint's config only, without the mapping
    return None if named is None else not named

# Where vLLM 0.31 and 0.32 differ from 0.33 (found the same way):
#: a prompt may use the whole context: before, the tokenizer's limit was ``--max-model-len`` minus
#: the request's ``max_completion_tokens`` / ``max_tokens`` ("However, you requested N output tokens
#: and your prompt contains at least M input tokens, ..."): vllm/renderers/params.py
#: ``TokenizeParams.max_input_tokens``
WHOLE_CONTEXT_FOR_PROMPT = "0.32.0"
#: a video whose header gives OpenCV no frame count (``CAP_PROP_FRAME_COUNT`` 0: no count and no
#: duration) is counted by demuxing it; before, the loader got 0 frames, and one without a frame
#: rate failed with another message: both answered "unknown" before this release
#: (vllm/multimodal/video_decoders/opencv.py ``get_video_metadata``)
OPENCV_DEMUX_COUNT = "0.33.0"
#: a ``multi_modal_uuids`` error names its parameter (a VLLMValidationError; before, a ValueError):
#: vllm/renderers/base.py
UUID_ERROR_NAMES_PARAMETER = "0.33.0"
#: ``mm_processor_kwargs`` are merged recursively and their flat keys routed into each modality's
#: scope before the processor (before: a shallow merge, the flat keys handed on as they are; the
#: Omni processors then apply a flat ``max_pixels`` to no image: answered "unknown" for them):
#: vllm/config/multimodal.py ``_merge_mm_processor_kwargs``, multimodal/processing/context.py
SCOPED_MM_KWARGS = "0.33.0"
#: an ``image_pil`` part's image is charged to the request's decode budget while the message is
#: parsed (``image_pil.size``: anything but an image is 500 "'str' object has no attribute 'size'");
#: before, it was handed on unread (a payload, not modelled): vllm/renderers/chat_utils/content_parser.py
DECODE_BUDGET = "0.33.0"
#: a message's ``reasoning`` may be a ``prompt_embeds`` part (before: a string or null only):
#: vllm/renderers/chat_utils/types.py ``CustomChatCompletionMessageParam``
REASONING_EMBEDS = "0.33.0"

# Where vLLM 0.34 differs from 0.33 (found by running both render servers on the same generated
# requests, tests/differential/test_vllm_request.py; compared with ``Server.since``):
#: a file URL without --allowed-local-media-path is a VLLMValidationError (400), was a RuntimeError
#: (500): vllm/multimodal/media/connector.py ``_load_file_url``
LOCAL_FILES_REFUSED_AS_400 = "0.34.0"
#: ``"tools": []`` is read as no tools (was a 400), and a ``tool_choice`` naming no listed tool names
#: it in the message: vllm/entrypoints/openai/chat_completion/protocol.py ``check_tool_usage``
EMPTY_TOOLS_AS_NONE = "0.34.0"
#: an image over Pillow's decompression-bomb limit is 400 "Failed to load image" (was the uncaught
#: DecompressionBombError, 500): vllm/multimodal/media/image.py ``load_bytes``
BOMB_AS_LOAD_ERROR = "0.34.0"


@dataclass(frozen=True)
class Server:
    """A vLLM OpenAI-compatible server's settings (the defaults are vLLM's, the same in 0.30 to 0.34)."""

    media_io_kwargs: dict[str, Any] = field(default_factory=dict)
    #: vLLM's default is None, which it reads as ``{}``
    mm_processor_kwargs: dict[str, Any] = field(default_factory=dict)
    trust_request_mm_kwargs: bool = False
    trust_request_chat_template: bool = False
    #: modality -> at most that many items in one prompt (missing: 999, vLLM's default; never
    #: more than the model takes); see :meth:`limit`
    limit_mm_per_prompt: dict[str, int] = field(default_factory=dict)
    language_model_only: bool = False
    #: ``""`` (vLLM's default) is unset: the media connector then refuses every ``file://`` URL
    #: ("Cannot load local files without `--allowed-local-media-path`.": HTTP 500, 400 from 0.34)
    allowed_local_media_path: str = ""
    #: None (and vLLM's connector reads None as ``[]``): any host
    allowed_media_domains: tuple[str, ...] | None = None
    #: None: the model's length (``max_position_embeddings``); also for ``-1`` / ``auto``, where
    #: vLLM takes the model's length, or less when that does not fit the GPU's memory
    max_model_len: int | None = None
    chat_template: str | None = None
    enable_mm_embeds: bool = False
    #: the served model (``vllm serve MODEL`` or ``--model``); None: not given (vLLM's default
    #: is Qwen/Qwen3-0.6B)
    model: str | None = None
    #: the arguments as the user wrote them (for the report)
    given: tuple[str, ...] = ()
    #: the vLLM flags given that change nothing here, once each, in their long spelling (a prefix or
    #: ``_`` resolved, ``-tp`` as ``--tensor-parallel-size``); for a boolean, the form given last,
    #: so ``--no-X`` / ``--disable-X`` say it is off
    ignored: tuple[str, ...] = ()
    #: the vLLM release serving (a modelled one: consumers/versions.py resolves it)
    version: str = MODELLED_VERSION
    #: every video without a ``video_backend`` fails its loader lookup (:func:`video_lookup_fails`;
    #: None: not known, the checkpoint's files not read)
    video_lookup_fails: bool | None = False

    def since(self, release: str) -> bool:
        """Whether the serving release is ``release`` or later (a branch point of vLLM's behaviour)."""
        return Version(self.version) >= Version(release)

    @property
    def video(self) -> dict[str, Any]:
        """The video loader's settings (``media_io_kwargs["video"]``)."""
        return dict(self.media_io_kwargs.get("video") or {})

    def limit(self, modality: str) -> int:
        """At most this many items of ``modality`` in one prompt, as the server's config says
        (``MultiModalConfig.get_limit_per_prompt``, vllm/config/multimodal.py:696)."""
        if self.language_model_only:
            return 0
        return self.limit_mm_per_prompt.get(modality, _DEFAULT_COUNT)


def parse_server_args(args: str | Sequence[str], version: str = MODELLED_VERSION) -> Server:
    """The :class:`Server` that ``vllm serve <args>`` starts, read as vLLM ``version`` (a modelled
    release) reads its command line; raise ValueError (one line, naming the flag) where vLLM would
    refuse to start.

    ``args`` is a command line (split like a shell's) or its words; a leading ``vllm serve`` or
    ``vllm launch render`` (or just ``serve``) is skipped.
    """
    try:
        words = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
    except ValueError as e:  # an unclosed quote
        raise ValueError(f"vLLM arguments: {e}") from None
    if not words:
        return Server(version=version)
    command, rest = ["serve"], list(words)
    if rest[:1] == ["vllm"]:
        rest = rest[1:]
        if rest[:1] != ["serve"] and rest[:2] != ["launch", "render"]:
            raise ValueError(f"vllm {' '.join(rest[:1])}: qwenlint reads the arguments of "
                             "`vllm serve` (or `vllm launch render`)")
    if rest[:2] == ["launch", "render"]:
        command, rest = ["launch", "render"], rest[2:]
    elif rest[:1] == ["serve"]:
        rest = rest[1:]
    argv = _rewrite([*command, *rest])[len(command):]

    ns, extras = _parser(version).parse_known_args(argv, argparse.Namespace(ignored={}))
    if extras:
        raise ValueError(_unrecognized(extras, version))
    if "--help" in ns.ignored:
        raise ValueError("--help: vLLM prints its help and starts no server")
    return replace(_server(vars(ns), tuple(words)), version=version)


# --- vLLM's rewriting of the arguments (FlexibleArgumentParser.parse_args) ---------------------

_DEFAULT_COUNT = 999  # vllm/config/multimodal.py:215 BaseDummyOptions.count
_NAME = re.compile(r"(?<=--)[^\.]*")  # a flag's name: from the "--" to the first "."


def _rewrite(args: list[str]) -> list[str]:
    """vllm/utils/argparse_utils.py:313-502, for ``args`` = ``serve ...`` / ``launch render ...``."""
    if args[0] == "serve":
        i = next((i for i, a in enumerate(args) if re.match(r"^--model(=.+|$)", a)), None)
        if i is not None:  # vllm serve ... --model M ... -> vllm serve M ...
            if args[i] == "--model" and i + 1 == len(args):
                raise ValueError("--model: expected one argument")  # vLLM: an IndexError
            model, end = (args[i + 1], i + 2) if args[i] == "--model" else (args[i][8:], i + 1)
            args = ["serve", model, *args[1:i], *args[end:]]
        if (len(args) > 1 and args[1].startswith("-")
                and not any(re.match(r"^--config(=.+|$)", a) for a in args)
                and any(re.match(r"^--served[-_]model[-_]name(=.+|$)", a) for a in args)):
            raise ValueError("--served-model-name: vLLM wants the model as the first positional "
                             "argument (vllm serve <model> --<arg> <value>)")
    if "--config" in args:
        raise ValueError("--config: qwenlint does not read vLLM's YAML config file; give its "
                         "settings as flags")

    out: list[str] = []
    for i, arg in enumerate(args):
        if arg.startswith("--help="):
            out.append("--help")
        elif arg.startswith("--"):
            key, eq, value = arg.partition("=")
            out.append(_NAME.sub(lambda m: m.group(0).replace("_", "-"), key, count=1) + eq + value)
        elif arg.startswith("-O") and arg != "-O":
            out += ["--optimization-level", arg[3:] if arg[2] == "=" else arg[2:]]
        elif arg == "-O" and i + 1 < len(args) and args[i + 1] in {"0", "1", "2", "3"}:
            out.append("--optimization-level")
        else:
            out.append(arg)

    # --flag.key[.key...][+] value: gathered into one JSON object per flag, given last
    dicts: dict[str, dict[str, Any]] = {}
    drop: set[int] = set()
    for i, arg in enumerate(out):
        if i in drop or not arg.startswith("-") or "." not in arg:
            continue
        if "=" in arg:
            arg, text = arg.split("=", 1)
            if "." not in arg:
                continue  # the "." was in the value
        elif i + 1 == len(out):
            raise ValueError(f"{arg}: expected one argument")  # vLLM: an IndexError
        else:
            text = out[i + 1]
            drop.add(i + 1)
        if arg.endswith("+"):
            arg, text = arg[:-1], json.dumps(text.split(","))
        key, *keys = arg.split(".")
        try:
            value: Any = json.loads(text)
        except json.JSONDecodeError:
            try:
                value = human_readable_int(text)
            except (ValueError, argparse.ArgumentTypeError):
                value = text
        for k in reversed(keys):
            value = {k: value}
        _merge(dicts.setdefault(key, {}), value)
        drop.add(i)
    out = [a for i, a in enumerate(out) if i not in drop]
    for key, value in dicts.items():
        out += [key, json.dumps(value)]
    return out


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    """argparse_utils.py:421 ``recursive_dict_update``: dicts merge, lists extend, the rest replaces."""
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        elif isinstance(v, list) and isinstance(into.get(k), list):
            into[k] += v
        else:
            into[k] = v


# --- value types (vllm/utils/argparse_utils.py:30-94, vllm/engine/arg_utils.py:161-185) -------


def human_readable_int(value: str) -> int:
    """``1k`` = 1000, ``1K`` = 1024, ``25.6k`` = 25600, else ``int(value)``."""
    value = value.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgGtT])", value)
    if match:
        number, suffix = match.groups()
        if suffix.islower():
            return int(float(number) * 10 ** (3 * "kmgt".index(suffix) + 3))
        try:
            return int(number) * 2 ** (10 * "KMGT".index(suffix) + 10)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"Decimals are not allowed with binary suffixes like {suffix}. "
                f"Did you mean to use {number}{suffix.lower()} instead?") from None
    return int(value)


def human_readable_int_or_auto(value: str) -> int:
    """:func:`human_readable_int`, and ``-1`` or ``auto`` (any case) for -1."""
    value = value.strip()
    if value == "-1" or value.lower() == "auto":
        return -1
    return human_readable_int(value)


def _json(value: str) -> Any:
    """``parse_type(json.loads)``: any JSON value (the config checks its type later)."""
    try:
        return json.loads(value)
    except ValueError as e:
        hint = " (a shell removes unquoted double quotes: quote the JSON)" if re.match(r"\s*\{\w", value) else ""
        raise argparse.ArgumentTypeError(f"not valid JSON ({e}): {value!r}{hint}") from None


def _optional(convert: Any) -> Any:
    """``optional_type``: ``""`` and ``"None"`` are None."""
    def optional_value(value: str) -> Any:
        return None if value in ("", "None") else convert(value)
    optional_value.__name__ = f"optional {getattr(convert, '__name__', 'value')}"
    return optional_value


# --- the flags -------------------------------------------------------------------------------

# Every option string of vLLM 0.33.0's `vllm serve` parser (make_arg_parser,
# vllm/entrypoints/common/cli_args.py:431: FrontendArgs and AsyncEngineArgs.add_cli_args), one
# argparse action per entry (its option strings joined by "/", in vLLM's order), grouped by the
# values the action takes: "0" none (booleans; --no-X and --disable-X included), "1" one, "?" zero
# or one, "+" one or more.  Generated from the real parser by
# tests/differential/test_vllm_server_args.py (QWENLINT_PRINT_FLAGS=1 prints it), which fails when
# this table and the parser differ.
_FLAGS = {
    "0": """
        -h/--help --headless --grpc
        --trust-request-chat-template/--no-trust-request-chat-template
        --trust-request-mm-kwargs/--no-trust-request-mm-kwargs
        --return-tokens-as-token-ids/--no-return-tokens-as-token-ids
        --enable-auto-tool-choice/--no-enable-auto-tool-choice/--disable-auto-tool-choice
        --exclude-tools-when-tool-choice-none/--no-exclude-tools-when-tool-choice-none
        --enable-prompt-tokens-details/--no-enable-prompt-tokens-details/--disable-prompt-tokens-details
        --enable-per-request-metrics/--no-enable-per-request-metrics/--disable-per-request-metrics
        --enable-server-load-tracking/--no-enable-server-load-tracking/--disable-server-load-tracking
        --enable-force-include-usage/--no-enable-force-include-usage/--disable-force-include-usage
        --enable-tokenizer-info-endpoint/--no-enable-tokenizer-info-endpoint/--disable-tokenizer-info-endpoint
        --enable-log-outputs/--no-enable-log-outputs/--disable-log-outputs
        --enable-log-deltas/--no-enable-log-deltas/--disable-log-deltas
        --cohere-is-reasoning-model/--no-cohere-is-reasoning-model
        --log-error-stack/--no-log-error-stack --tokens-only/--no-tokens-only
        --enable-scale-out/--no-enable-scale-out/--disable-scale-out
        --disable-uvicorn-access-log/--no-disable-uvicorn-access-log/--enable-uvicorn-access-log
        --allow-credentials/--no-allow-credentials
        --enable-ssl-refresh/--no-enable-ssl-refresh/--disable-ssl-refresh
        --enable-request-id-headers/--no-enable-request-id-headers/--disable-request-id-headers
        --disable-fastapi-docs/--no-disable-fastapi-docs/--enable-fastapi-docs
        --enable-offline-docs/--no-enable-offline-docs/--disable-offline-docs
        --enable-flash-late-interaction/--no-enable-flash-late-interaction/--disable-flash-late-interaction
        --trust-remote-code/--no-trust-remote-code
        --allow-deprecated-quantization/--no-allow-deprecated-quantization
        --enforce-eager/--no-enforce-eager
        --enable-return-routed-experts/--no-enable-return-routed-experts/--disable-return-routed-experts
        --return-sampling-mask/--no-return-sampling-mask --use-fp64-gumbel/--no-use-fp64-gumbel
        --enable-trace-replay/--no-enable-trace-replay/--disable-trace-replay
        --disable-sliding-window/--no-disable-sliding-window/--enable-sliding-window
        --disable-cascade-attn/--no-disable-cascade-attn/--enable-cascade-attn
        --skip-tokenizer-init/--no-skip-tokenizer-init
        --enable-prompt-embeds/--no-enable-prompt-embeds/--disable-prompt-embeds
        --enable-sleep-mode/--no-enable-sleep-mode/--disable-sleep-mode
        --sleep-mode-offload-cudagraph/--no-sleep-mode-offload-cudagraph
        --enable-cumem-allocator/--no-enable-cumem-allocator/--disable-cumem-allocator
        --enable-nccl-comm-suspend/--no-enable-nccl-comm-suspend/--disable-nccl-comm-suspend
        --use-tqdm-on-load/--no-use-tqdm-on-load
        --enable-mamba-cache-stochastic-rounding/--no-enable-mamba-cache-stochastic-rounding/--disable-mamba-cache-stochastic-rounding
        --numa-bind/--no-numa-bind --dcp-q-replicate/--no-dcp-q-replicate
        --data-parallel-hybrid-lb/--no-data-parallel-hybrid-lb/-dph
        --data-parallel-external-lb/--no-data-parallel-external-lb/-dpe
        --data-parallel-multi-port-external-lb/-dpm
        --enable-hc-sp/--no-enable-hc-sp/--disable-hc-sp
        --enable-expert-parallel/--no-enable-expert-parallel/-ep/--disable-expert-parallel
        --enable-batch-sharded-sampling/--no-enable-batch-sharded-sampling/--disable-batch-sharded-sampling
        --enable-ep-weight-filter/--no-enable-ep-weight-filter/--disable-ep-weight-filter
        --enable-dbo/--no-enable-dbo/--disable-dbo
        --enable-shm-tensor-arena/--no-enable-shm-tensor-arena/--disable-shm-tensor-arena
        --enable-elastic-ep/--no-enable-elastic-ep/--disable-elastic-ep
        --disable-nccl-for-dp-synchronization/--no-disable-nccl-for-dp-synchronization/--enable-nccl-for-dp-synchronization
        --enable-eplb/--no-enable-eplb/--disable-eplb
        --ray-workers-use-nsight/--no-ray-workers-use-nsight
        --disable-custom-all-reduce/--no-disable-custom-all-reduce/--enable-custom-all-reduce
        --enable-fault-tolerance/--no-enable-fault-tolerance/--disable-fault-tolerance
        --enable-prefix-caching/--no-enable-prefix-caching/--disable-prefix-caching
        --kv-sharing-fast-prefill/--no-kv-sharing-fast-prefill
        --swa-bounded-replay/--no-swa-bounded-replay
        --enable-mamba-shared-prefix-checkpoint/--no-enable-mamba-shared-prefix-checkpoint/--disable-mamba-shared-prefix-checkpoint
        --use-replayssm/--no-use-replayssm --language-model-only/--no-language-model-only
        --enable-mm-embeds/--no-enable-mm-embeds/--disable-mm-embeds
        --mm-encoder-only/--no-mm-encoder-only
        --interleave-mm-strings/--no-interleave-mm-strings
        --skip-mm-profiling/--no-skip-mm-profiling
        --mm-device-do-normalize/--no-mm-device-do-normalize
        --enable-lora/--no-enable-lora/--disable-lora
        --enable-tower-connector-lora/--no-enable-tower-connector-lora/--disable-tower-connector-lora
        --fully-sharded-loras/--no-fully-sharded-loras
        --specialize-active-lora/--no-specialize-active-lora
        --enable-mixed-moe-lora-format/--no-enable-mixed-moe-lora-format/--disable-mixed-moe-lora-format
        --enable-moe-shared-loras/--no-enable-moe-shared-loras/--disable-moe-shared-loras
        --kv-cache-metrics/--no-kv-cache-metrics --cudagraph-metrics/--no-cudagraph-metrics
        --enable-layerwise-nvtx-tracing/--no-enable-layerwise-nvtx-tracing/--disable-layerwise-nvtx-tracing
        --enable-mfu-metrics/--no-enable-mfu-metrics/--disable-mfu-metrics
        --enable-logging-iteration-details/--no-enable-logging-iteration-details/--disable-logging-iteration-details
        --jit-monitor-verbose/--no-jit-monitor-verbose
        --long-prefill-token-threshold-adaptive/--no-long-prefill-token-threshold-adaptive
        --enable-chunked-prefill/--no-enable-chunked-prefill/--disable-chunked-prefill
        --disable-chunked-mm-input/--no-disable-chunked-mm-input/--enable-chunked-mm-input
        --scheduler-reserve-full-isl/--no-scheduler-reserve-full-isl
        --disable-hybrid-kv-cache-manager/--no-disable-hybrid-kv-cache-manager/--enable-hybrid-kv-cache-manager
        --async-scheduling/--no-async-scheduling
        --enable-flashinfer-autotune/--no-enable-flashinfer-autotune/--disable-flashinfer-autotune
        --monokernel/--no-monokernel --disable-log-stats --aggregate-engine-logging
        --fail-on-environ-validation/--no-fail-on-environ-validation
        --enable-log-requests/--no-enable-log-requests/--disable-log-requests
    """,
    "1": """
        --api-server-count/-asc --config --chat-template --chat-template-content-format
        --default-chat-template-kwargs --reasoning-effort-map --response-role --tool-call-parser
        --tool-parser-plugin --tool-strict-level --tool-server --max-log-len
        --sse-keep-alive-interval --cohere-format --anthropic-disabled-thinking-effort
        --fingerprint-mode --fingerprint-value --host --port --grpc-port
        --data-parallel-supervisor-port --dp-supervisor-probe-interval-s
        --dp-supervisor-probe-timeout-s --dp-supervisor-probe-failure-threshold --uds
        --uvicorn-log-level --disable-access-log-for-endpoints --allowed-origins
        --allowed-methods --allowed-headers --ssl-keyfile --ssl-certfile --ssl-ca-certs
        --ssl-cert-reqs --ssl-ciphers --root-path --middleware --h11-max-incomplete-event-size
        --h11-max-header-count --model --runner --convert --tokenizer --tokenizer-mode --dtype
        --seed --hf-config-path --allowed-local-media-path --revision --code-revision
        --tokenizer-revision --max-model-len --quantization/-q --quantization-config
        --max-logprobs --logprobs-mode --config-format --hf-overrides --model-class-overrides
        --pooler-config --generation-config --override-generation-config --sleep-mode-backend
        --model-impl --io-processor-plugin --renderer-num-workers --load-format --download-dir
        --safetensors-load-strategy --safetensors-prefetch-num-threads
        --safetensors-prefetch-block-size --model-loader-extra-config --pt-load-map-location
        --attention-backend --mamba-backend --mamba-ssu-algorithm --mamba-cache-philox-rounds
        --reasoning-parser --reasoning-parser-plugin --distributed-executor-backend
        --pipeline-parallel-size/-pp --master-addr --master-port --nnodes/-n --node-rank/-r
        --distributed-timeout-seconds --cpu-distributed-timeout-seconds --device-ids
        --tensor-parallel-size/-tp --decode-context-parallel-size/-dcp --dcp-comm-backend
        --dcp-kv-cache-interleave-size --cp-kv-cache-interleave-size
        --prefill-context-parallel-size/-pcp --data-parallel-size/-dp --data-parallel-rank/-dpn
        --data-parallel-start-rank/-dpr --data-parallel-size-local/-dpl
        --data-parallel-address/-dpa --data-parallel-rpc-port/-dpp --data-parallel-backend/-dpb
        --all2all-backend --ubatch-size --elastic-ep-max-dp-size --dbo-decode-token-threshold
        --dp-sync-interval --dbo-prefill-token-threshold --eplb-config
        --expert-placement-strategy --max-parallel-loading-workers --worker-cls
        --worker-extension-cls --fault-tolerance-config --block-size
        --gpu-memory-utilization/--device-memory-utilization --kv-cache-memory-bytes
        --kv-cache-dtype --num-gpu-blocks-override --prefix-caching-hash-algo
        --prefix-cache-retention-interval --mamba-cache-dtype --mamba-ssm-cache-dtype
        --mamba-block-size --prefix-match-unit --mamba-cache-mode --replayssm-buffer-len
        --kv-offloading-size --kv-offloading-backend --offload-backend --cpu-offload-gb
        --offload-group-size --offload-num-in-group --offload-prefetch-step
        --limit-mm-per-prompt --media-io-kwargs --mm-processor-kwargs --mm-processor-cache-gb
        --mm-processor-cache-type --mm-hasher-algorithm --mm-shm-cache-max-object-size-mb
        --mm-encoder-tp-mode --mm-encoder-attn-backend --mm-encoder-attn-dtype
        --mm-encoder-fp8-scale-path --mm-encoder-fp8-scale-save-path
        --mm-encoder-fp8-scale-save-margin --video-pruning-rate --video-pruning-method
        --mm-tensor-ipc --mm-processor-device --mm-ipc-gpu-memory-gb --max-loras --max-lora-rank
        --lora-dtype --max-cpu-loras --default-mm-loras --max-lora-cls-labels --logging-config
        --log-level --log-config-file --show-hidden-metrics-for-version --otlp-traces-endpoint
        --per-request-spec-decode-metrics --kv-cache-metrics-sample --custom-histogram-buckets
        --jit-monitor-mode --max-num-batched-tokens --max-num-scheduled-tokens --max-num-seqs
        --max-num-active-seqs --max-num-queued-reqs --max-num-queued-tokens
        --long-prefill-token-threshold --scheduling-policy --scheduler-cls --watermark
        --prefill-schedule-interval --stream-interval --max-cudagraph-capture-size
        --ir-op-priority --moe-backend --linear-backend --sparse-indexer-topk-backend
        --speculative-config/-sc --spec-method --spec-model --spec-tokens --watermark-config
        --diffusion-config/-dc --kv-transfer-config --kv-events-config --ec-transfer-config
        --ec-manager-config --compilation-config/-cc --attention-config/-ac --engram-config
        --reasoning-config --kernel-config --additional-config --structured-outputs-config
        --aux-output-config --profiler-config --watchdog-config --optimization-level
        --performance-mode --weight-transfer-config --shutdown-timeout --gdn-prefill-backend
        --kda-prefill-backend --kda-decode-backend
    """,
    "?": """
        --hf-token
    """,
    "+": """
        --lora-modules --api-key --allowed-media-domains --served-model-name
        --sleep-preserve-parameter-names --logits-processors --ignore-patterns --numa-bind-nodes
        --numa-bind-cpus --kv-cache-dtype-skip-layers --cpu-offload-params --offload-params
        --lora-target-modules --collect-detailed-traces --cudagraph-capture-sizes
    """,
}

#: The actions of that parser first in a release after the oldest modelled one; before it, vLLM
#: refuses to start with them.  Found the same way, by building each release's parser: the releases
#: CI runs (tests/differential/_vllm.py ``RELEASES``: 0.23.0, 0.25.1, 0.30.0 to 0.34.0) and, once,
#: 0.24.0, 0.25.0, 0.26.0, 0.27.0, 0.27.1, 0.28.0 and 0.29.0, each installed the same way beside
#: .venv-vllm.
_FLAGS_NEW_IN = {
    "0.24.0": "--device-ids --diffusion-config --jit-monitor-verbose --prefill-schedule-interval --watermark",
    "0.25.0": "--enable-per-request-metrics --jit-monitor-mode --mm-ipc-gpu-memory-gb --model-class-overrides",
    "0.26.0": "--enable-bf16x3-router-gemm --enable-moe-shared-loras --max-num-scheduled-tokens --prefix-match-unit",
    "0.27.0": "--cohere-format --cohere-is-reasoning-model --enable-fault-tolerance --fault-tolerance-config "
              "--kda-prefill-backend --mamba-ssu-algorithm --mm-hasher-algorithm --replayssm-buffer-len "
              "--use-replayssm --video-pruning-method",
    "0.28.0": "--ec-manager-config --mm-device-do-normalize --mm-processor-device --return-sampling-mask",
    "0.29.0": "--dcp-q-replicate --enable-batch-sharded-sampling --enable-trace-replay --max-num-queued-reqs "
              "--max-num-queued-tokens --per-request-spec-decode-metrics --prefix-cache-retention-interval "
              "--sse-keep-alive-interval",
    "0.30.0": "--dp-sync-interval --elastic-ep-max-dp-size --enable-mamba-fine-grained-prefix-cache "
              "--enable-nccl-comm-suspend --enable-scale-out --engram-config --kda-decode-backend "
              "--sparse-indexer-topk-backend --watermark-config",
    "0.31.0": "--anthropic-disabled-thinking-effort --aux-output-config --enable-mamba-shared-prefix-checkpoint "
              "--log-level --logging-config --long-prefill-token-threshold-adaptive --max-lora-cls-labels "
              "--max-num-active-seqs --sleep-preserve-parameter-names --swa-bounded-replay --tool-strict-level "
              "--trust-request-mm-kwargs",
    "0.32.0": "--enable-hc-sp --enable-shm-tensor-arena --sleep-mode-offload-cudagraph --custom-histogram-buckets "
              "--grpc-port",
    "0.33.0": "--monokernel --reasoning-effort-map --sleep-mode-backend --watchdog-config",
}
#: The actions a release removed (by the release without them, by arity): before it they are accepted.
_FLAGS_GONE_IN = {
    "0.27.0": {"1": "--max-long-partial-prefills --max-num-partial-prefills"},
    "0.28.0": {"0": "--calculate-kv-scales/--no-calculate-kv-scales", "1": "--override-attention-dtype"},
    "0.30.0": {"0": "--enable-bf16x3-router-gemm/--no-enable-bf16x3-router-gemm"},
    "0.31.0": {"0": "--enable-mamba-fine-grained-prefix-cache/--no-enable-mamba-fine-grained-prefix-cache"},
}
#: Second spellings of an action first in a release (before it, vLLM refuses to start with them).
_ALIASES_NEW_IN = {"0.31.0": "--device-memory-utilization"}

#: From 0.33 a boolean flag ``--enable-X`` also has ``--disable-X`` and ``--disable-X`` has
#: ``--enable-X`` (vLLM's ``EnableDisableAction``); before, argparse's ``BooleanOptionalAction``
#: gave ``--X`` and ``--no-X`` only, so ``--disable-mm-embeds`` is an unrecognized argument.
ENABLE_DISABLE_ALIASES = "0.33.0"

#: The actions each later release adds to that parser (nothing was removed or renamed), by arity.
#: Generated and checked the same way, against each release the tests run (tests/differential/_vllm.py).
_FLAGS_ADDED = {
    "0.34.0": {
        "0": """
            --checkpoint-prepare-on-startup/--no-checkpoint-prepare-on-startup
            --enable-extensible-kv-cache/--no-enable-extensible-kv-cache/--disable-extensible-kv-cache
            --shuffle-safetensors-files/--no-shuffle-safetensors-files
        """,
        "1": """
            --cache-aware-admission-threshold --cache-aware-admission-window
            --headless-client-handshake-address --max-num-inflight-kv-loads
        """,
    },
}

#: The modelled flags: argparse keyword arguments on top of the table's arity (vLLM's types).
_MODELLED: dict[str, dict[str, Any]] = {
    "--media-io-kwargs": {"type": _json},
    "--mm-processor-kwargs": {"type": _optional(_json)},
    "--limit-mm-per-prompt": {"type": _json},
    "--allowed-local-media-path": {"type": str},
    "--allowed-media-domains": {"type": _optional(str)},
    "--max-model-len": {"type": human_readable_int_or_auto},
    "--chat-template": {"type": _optional(str)},
    "--model": {"type": str},
    "--trust-request-mm-kwargs": {},
    "--trust-request-chat-template": {},
    "--enable-mm-embeds": {},
    "--language-model-only": {},
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's usage errors: one line, no exit
        raise ValueError(message) from None


class _Ignored(argparse.Action):
    """A flag that changes nothing here: recorded in ``ignored`` (see :class:`Server`)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        # argparse hands over the whole option string (a prefix resolved, "_" already "-")
        namespace.ignored[self.dest] = option_string if option_string.startswith("--") else self.dest


class _Switch(argparse.Action):
    """vLLM's ``EnableDisableAction`` (argparse_utils.py:120): ``--X`` is true, ``--no-X`` and the
    ``--enable-`` / ``--disable-`` inverse of X are false."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        flag = self.option_strings[0]
        inverse = {"--enable-": "--disable-", "--disable-": "--enable-"}
        negative = option_string.startswith("--no-") or any(
            flag.startswith(a) and option_string == b + flag[len(a):] for a, b in inverse.items())
        setattr(namespace, self.dest, not negative)


def flag_table(version: str = MODELLED_VERSION) -> list[tuple[str, tuple[str, ...]]]:
    """``(arity, option strings)`` per action of vLLM ``version``'s parser: :data:`_FLAGS`, in
    vLLM's order, then :data:`_FLAGS_ADDED` by the releases up to ``version``."""
    v = Version(version)
    tables = [_FLAGS, *(added for release, added in _FLAGS_ADDED.items() if v >= Version(release)),
              *(gone for release, gone in _FLAGS_GONE_IN.items() if v < Version(release))]
    later = {name for release, names in _FLAGS_NEW_IN.items() if v < Version(release) for name in names.split()}
    later_aliases = {name for release, names in _ALIASES_NEW_IN.items() if v < Version(release)
                     for name in names.split()}
    twins = v >= Version(ENABLE_DISABLE_ALIASES)
    out = []
    for table in tables:
        for arity, text in table.items():
            for entry in text.split():
                strings = tuple(entry.split("/"))
                if strings[0] in later:
                    continue
                if not twins and arity == "0":
                    strings = tuple(x for x in strings if not _enable_disable_alias(strings[0], x))
                out.append((arity, tuple(x for x in strings if x not in later_aliases)))
    return out


def _enable_disable_alias(first: str, option: str) -> bool:
    """Whether ``option`` is the ``--disable-X`` of ``--enable-X`` (or the reverse)."""
    for a, b in (("--enable-", "--disable-"), ("--disable-", "--enable-")):
        if first.startswith(a) and option == b + first[len(a):]:
            return True
    return False


@functools.cache
def _parser(version: str) -> _Parser:
    parser = _Parser(prog="vllm serve", add_help=False)
    parser.add_argument("model_tag", nargs="?")
    nargs = {"1": None, "?": "?", "+": "+"}
    for arity, strings in flag_table(version):
        name = next((s for s in strings if s.startswith("--")), strings[0])
        if name in _MODELLED:
            dest = name[2:].replace("-", "_")
            if arity == "0":
                parser.add_argument(*strings, dest=dest, nargs=0, action=_Switch, default=argparse.SUPPRESS)
            else:
                parser.add_argument(*strings, dest=dest, nargs=nargs[arity], default=argparse.SUPPRESS,
                                    **_MODELLED[name])
        else:
            parser.add_argument(*strings, dest=name, nargs=0 if arity == "0" else nargs[arity],
                                action=_Ignored, default=argparse.SUPPRESS)
    return parser


def _unrecognized(extras: list[str], version: str) -> str:
    known = [s for _, strings in flag_table(version) for s in strings]
    message = f"unrecognized arguments: {' '.join(extras)}"
    flag = next((e.split("=", 1)[0] for e in extras if e.startswith("-")), None)
    if flag is None:
        return message + " (vllm serve takes one positional argument, the model)"
    close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    return message + (f"; did you mean {close[0]}?" if close else f"; {flag} is not a vLLM {version} flag")


# --- the config classes' checks (vllm/config/model.py, vllm/config/multimodal.py) -------------

#: The types of the JSON-valued flags (built on first use: a check without --vllm-args never needs them).
_LIMITS = Union[dict[str, Union[int, dict[str, int]]], None]
_MEDIA_IO = Union[dict[str, dict[str, Any]], None]
_KWARGS = Union[dict[str, Any], None]
_DOMAINS = Union[list[str], None]


@functools.cache
def _adapter(kind: Any) -> Any:
    from pydantic import TypeAdapter  # here: a check without --vllm-args never imports pydantic for it

    return TypeAdapter(kind)
#: The dummy-data options each modality's limit may carry (ImageDummyOptions, ...); other
#: modalities take any (BaseDummyOptions ignores the rest).
_OPTIONS = {"image": ("width", "height"), "video": ("num_frames", "width", "height"), "audio": ("length",)}


def _check(flag: str, kind: Any, value: Any) -> Any:
    from pydantic import ValidationError

    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"{flag}: {where + ': ' if where else ''}{err['msg']} (got {json.dumps(value)})") from None


def _counts(value: Any) -> dict[str, int]:
    """The item count per modality of a ``--limit-mm-per-prompt`` value."""
    counts = {}
    for modality, v in (_check("--limit-mm-per-prompt", _LIMITS, value) or {}).items():
        options = {"count": v} if isinstance(v, int) else v
        count = options.get("count", _DEFAULT_COUNT)
        known = _OPTIONS.get(modality)  # None: BaseDummyOptions, which ignores the others
        if known is not None:
            bad = [k for k in options if k != "count" and k not in known]
            if bad:
                raise ValueError(f"--limit-mm-per-prompt: {modality} takes count, {', '.join(known)}, "
                                 f"not {', '.join(bad)}")
        if count < 0 or any(options.get(k, 1) <= 0 for k in known or ()):
            raise ValueError(f"--limit-mm-per-prompt: {modality}'s count must be >= 0 and its options > 0, "
                             f"not {json.dumps(v)}")
        counts[modality] = count
    return counts


def _server(given: dict[str, Any], words: tuple[str, ...]) -> Server:
    max_len = given.get("max_model_len")
    if max_len is not None and max_len < 1 and max_len != -1:
        raise ValueError(f"--max-model-len: must be a positive integer, or -1 / auto, not {max_len}")
    domains = _check("--allowed-media-domains", _DOMAINS, given.get("allowed_media_domains"))
    model = given.get("model_tag")
    return Server(
        media_io_kwargs=_check("--media-io-kwargs", _MEDIA_IO, given.get("media_io_kwargs")) or {},
        mm_processor_kwargs=_check("--mm-processor-kwargs", _KWARGS, given.get("mm_processor_kwargs")) or {},
        trust_request_mm_kwargs=given.get("trust_request_mm_kwargs", False),
        trust_request_chat_template=given.get("trust_request_chat_template", False),
        limit_mm_per_prompt=_counts(given.get("limit_mm_per_prompt")),
        language_model_only=given.get("language_model_only", False),
        allowed_local_media_path=given.get("allowed_local_media_path", ""),
        allowed_media_domains=None if domains is None else tuple(domains),
        max_model_len=None if max_len == -1 else max_len,
        chat_template=given.get("chat_template"),
        enable_mm_embeds=given.get("enable_mm_embeds", False),
        model=model if model is not None else given.get("model"),
        given=words,
        ignored=tuple(given["ignored"].values()),
    )
