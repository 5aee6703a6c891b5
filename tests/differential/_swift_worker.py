"""A worker that runs ms-swift's own dataset code on one generated data file per case: JSON cases
on stdin, one answer per line on stdout.

It runs with an ms-swift release, the packages it imports and a transformers release it allows
first on ``PYTHONPATH`` (scripts/test.sh installs them into ``.versions/``), sharing this
environment's torch and qwen-vl-utils.  The model directory holds the family's real processor as
``_real.build_processor`` builds it (published configs, special tokens at their real ids), saved
by the release's own transformers, and its model config; ms-swift loads it with its own
``get_model_processor`` (4.x; ``get_model_tokenizer`` in 3.x) without weights.  Nothing of
ms-swift is stubbed.  What ``swift sft`` does with a dataset: ``load_dataset`` (the
``RowPreprocessor`` column aliases and checks; a row that raises is deleted, ``strict=False``),
then ``template.encode`` per row (``EncodePreprocessor``: a row that raises is deleted too).

A case: ``{"path": data_file, "family": f, "cwd": folder, "swift_args": [words], "env": {...}}``,
one record per file (``env``: the environment ms-swift's processor is loaded with, as in a new
process: :func:`fresh_process`; absent: the worker's own; ``swift_args``: ``swift sft`` command-line
words, parsed by ms-swift's own ``parse_args`` over its ``TemplateArguments`` dataclass (the
``HfArgumentParser`` ``swift sft`` runs over all of its arguments; the rest are returned as
remaining, here ignored) and set on the template as ``TemplateArguments.get_template_kwargs``
gives them: ``max_length`` and ``truncation_strategy``, ``delete`` as ``raise``; absent: no
``max_length`` in effect).  The answer: ``["ok", [row]]``: ``["deleted", stage, class]`` (stage ``load`` or
``encode``) or ``["kept", image_pads, literal_image_tags, video_pads, audio_pads, cut]``
(``<image>`` left as text in the tokens the model is trained on; ``cut``: ``{"length":
len(input_ids), "full": the length without max_length, "full_pads": image pads without it}``).
With ``"command": ["rlhf", "--rlhf_type", "kto", ...]`` (or ``["sft", ...]``): the words parsed by the
``HfArgumentParser`` ``swift rlhf`` (``swift sft``) runs, the template in the mode ``SwiftRLHF`` sets
for that rlhf type (its ``mode_mapping``, read from the release's source) and the task rm trains
(``seq_cls``), KTO's KL dataset built by the release's own ``prepare_kto_dataset``:
``["kept", chosen image pads, chosen literal tags, rejected (KL) image pads, its literal tags]``
(None for the rejected sequence ``swift sft`` does not encode), or ``["stopped", class]``
(:func:`_command`).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import logging
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
_SCRATCH = tempfile.mkdtemp(prefix="qwenlint-swift-worker-")
os.environ.setdefault("MODELSCOPE_CACHE", os.path.join(_SCRATCH, "modelscope"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _real as real  # noqa: E402
import swift  # noqa: E402
import transformers  # noqa: E402

SWIFT_4 = int(swift.__version__.split(".")[0]) >= 4
if SWIFT_4:
    from swift.dataset import load_dataset  # noqa: E402
    from swift.model import get_model_processor  # noqa: E402
    from swift.template import get_template  # noqa: E402
    from swift.arguments import RLHFArguments, SftArguments  # noqa: E402
    from swift.arguments.base_args.template_args import TemplateArguments  # noqa: E402
    _TRAIN = os.path.join(os.path.dirname(swift.__file__), "pipelines", "train")
else:  # 3.x: everything under swift.llm, and get_template takes the template type first
    from swift.llm import get_model_tokenizer, get_template, load_dataset  # noqa: E402
    from swift.llm.argument import RLHFArguments, TrainArguments as SftArguments  # noqa: E402  (swift sft's)
    from swift.llm.argument.base_args.template_args import TemplateArguments  # noqa: E402
    _TRAIN = os.path.join(os.path.dirname(swift.__file__), "llm", "train")
from swift.utils import parse_args  # noqa: E402
from swift.utils.utils import _patch_get_type_hints  # noqa: E402

logging.disable(logging.WARNING)
#: qwenlint family → ms-swift model_type (and template_type), and the model class
MODEL_TYPES = {"qwen2-vl": ("qwen2_vl", "Qwen2VLForConditionalGeneration"),
               "qwen2.5-vl": ("qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration"),
               "qwen3-vl": ("qwen3_vl", "Qwen3VLForConditionalGeneration"),
               # the Omni families (ms-swift 4.x): the transformers model type, and ms-swift's template
               "qwen2.5-omni": ("qwen2_5_omni", "Qwen2_5OmniForConditionalGeneration"),
               "qwen3-omni": ("qwen3_omni_moe", "Qwen3OmniMoeForConditionalGeneration")}
TEMPLATE_TYPES = {"qwen3_omni_moe": "qwen3_omni"}
#: ms-swift 3.x names Qwen3-Omni's model type after its template.
SWIFT3_MODEL_TYPES = {"qwen3_omni_moe": "qwen3_omni"}
#: The Omni thinker config's token ids, set to the tokenizer's (as the published config.json has them).
_THINKER_IDS = {"audio_token_id": "audio_token", "image_token_id": "image_token", "video_token_id": "video_token",
                "audio_token_index": "audio_token", "image_token_index": "image_token",
                "video_token_index": "video_token", "audio_start_token_id": "audio_bos_token",
                "vision_start_token_id": "vision_bos_token"}


#: The variables ms-swift reads when it loads a processor, which a case may set (``env``): the
#: pixel variables, the token variables ``compat_qwen_vl_utils`` writes them into, and the frame ones.
ENV_KEYS = ("MAX_PIXELS", "MIN_PIXELS", "VIDEO_MAX_PIXELS", "VIDEO_MIN_PIXELS", "IMAGE_MAX_TOKEN_NUM",
            "IMAGE_MIN_TOKEN_NUM", "VIDEO_MAX_TOKEN_NUM", "VIDEO_MIN_TOKEN_NUM", "VIDEO_TOTAL_PIXELS",
            "SPATIAL_MERGE_SIZE", "FPS", "FPS_MAX_FRAMES", "FPS_MIN_FRAMES")
_STARTED_WITH = {k: os.environ[k] for k in ENV_KEYS if k in os.environ}
_LOADED_WITH: tuple = (_STARTED_WITH, None)


def _vision_modules() -> list:
    """The vision_process modules ``patch_qwen_vl_utils`` writes into (qwen-omni-utils' when installed)."""
    from qwen_vl_utils import vision_process
    modules = [vision_process]
    with contextlib.suppress(ImportError):
        from qwen_omni_utils import vision_process as omni_vision_process
        modules.append(omni_vision_process)
    return modules


_PRISTINE = {id(m): {k: v for k, v in vars(m).items() if k.isupper() and isinstance(v, (int, float))}
             for m in _vision_modules()}


def fresh_process(env: dict, family: str | None) -> None:
    """Load the processors again as a new ``swift sft`` process started with ``env`` for
    ``family`` would (None: any family, as the worker was started): ms-swift converts and writes
    its environment variables into qwen-vl-utils' module constants once per process, with the first
    loaded model's patch size (``compat_qwen_vl_utils``; ``patch_qwen_vl_utils`` marks the module
    ``_patch``).  The constants and the marker are put back as qwen-vl-utils defines them, the
    variables set to ``env`` alone, and the templates loaded again by ms-swift's own loader."""
    global _LOADED_WITH
    if (env, family) == _LOADED_WITH:
        return
    for module in _vision_modules():
        for k, v in _PRISTINE[id(module)].items():
            setattr(module, k, v)
        if hasattr(module, "_patch"):
            del module._patch
    for k in ENV_KEYS:
        os.environ.pop(k, None)
    os.environ.update(env)
    template_for.cache_clear()
    _LOADED_WITH = (dict(env), family)


@functools.cache
def template_for(family: str):
    model_type, architecture = MODEL_TYPES[family]
    folder = os.path.join(_SCRATCH, family)
    processor = real.build_processor(family)
    processor.save_pretrained(folder)
    config = transformers.AutoConfig.for_model(model_type)
    config.architectures = [architecture]
    if family in real.OMNI_TOKENS:
        for key, name in _THINKER_IDS.items():
            if hasattr(config.thinker_config, key):
                setattr(config.thinker_config, key,
                        processor.tokenizer.convert_tokens_to_ids(real.OMNI_TOKENS[family][name]))
    config.save_pretrained(folder)
    if family in real.OMNI_TOKENS and int(transformers.__version__.split(".")[0]) < 5:
        # transformers 4.x saves only the feature extractor into preprocessor_config.json; the
        # published file holds the image processor's values too (and its type), as written here.
        path = os.path.join(folder, "preprocessor_config.json")
        with open(path) as f:
            merged = {**processor.image_processor.to_dict(), **json.load(f)}
        merged["image_processor_type"] = "Qwen2VLImageProcessor"
        with open(path, "w") as f:
            json.dump(merged, f)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        if SWIFT_4:
            _, processor = get_model_processor(folder, load_model=False, model_type=model_type)
            template = get_template(processor, template_type=TEMPLATE_TYPES.get(model_type, model_type),
                                    max_length=1 << 20)
        else:
            _, processor = get_model_tokenizer(folder, load_model=False,
                                               model_type=SWIFT3_MODEL_TYPES.get(model_type, model_type))
            template = get_template(TEMPLATE_TYPES.get(model_type, model_type), processor, max_length=1 << 20)
    template.set_mode("train")
    return template, processor.tokenizer


def _config(case: dict) -> list:
    """``max_length``, ``truncation_strategy`` and the environment variables set, for command-line
    words naming a config file, as the ``swift`` command expands them (the release's own
    ``swift.cli.main``: 4.x ``parse_yaml_args``, 3.x ``prepare_config_args``), then parses them."""
    import swift.cli.main as cli

    argv, before = list(case["words"]), dict(os.environ)
    os.chdir(case["cwd"])
    try:
        try:
            (getattr(cli, "parse_yaml_args", None) or cli.prepare_config_args)(argv)
            max_length, strategy = _template_settings(argv)
        except SystemExit as exc:  # argparse's error() for a value the parser refuses
            return ["error", f"SystemExit: {exc}"]
        env = {k: v for k, v in os.environ.items() if before.get(k) != v}
    finally:
        os.environ.clear()
        os.environ.update(before)
        os.chdir(_SCRATCH)
    return ["ok", max_length, strategy, env]


def answer(case: dict) -> list:
    if case.get("kind") == "version":
        return ["ok", swift.__version__, transformers.__version__]
    if case.get("kind") == "config":
        return _config(case)
    fresh_process(*((case["env"], case["family"]) if "env" in case else (_STARTED_WITH, None)))
    template, tok = template_for(case["family"])
    os.chdir(case["cwd"])  # where ms-swift resolves relative media paths
    try:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                dataset, _ = load_dataset([case["path"]], num_proc=1, load_from_cache_file=False, strict=False)
        except ZeroDivisionError:
            # One record per file: the row was deleted, and ms-swift's sample_dataset divides by
            # the length of the empty dataset left.
            return ["ok", [["deleted", "load", None]]]
        rows = list(dataset)
        if not rows:
            return ["ok", [["deleted", "load", None]]]
        if "command" in case:
            return ["ok", [_command(case, template, tok, dataset)]]
        settings = _template_settings(case.get("swift_args"))
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                template.max_length, template.truncation_strategy = 1 << 20, "raise"
                uncut = template.encode(copy.deepcopy(rows[0]))["input_ids"]
                template.max_length, template.truncation_strategy = settings
                enc = template.encode(rows[0])
        except Exception as exc:  # noqa: BLE001 - EncodePreprocessor deletes the row on any exception
            return ["ok", [["deleted", "encode", type(exc).__name__]]]
    finally:
        os.chdir(_SCRATCH)
    ids = enc["input_ids"]
    _, image, video, _ = real.placeholders(case["family"])
    image, video = tok.convert_tokens_to_ids(image), tok.convert_tokens_to_ids(video)
    audio = real.OMNI_TOKENS.get(case["family"], {}).get("audio_token")
    audio = tok.convert_tokens_to_ids(audio) if audio else None
    text = tok.decode([i for i in ids if i not in (image, video, audio)])
    cut = {"length": len(ids), "full": len(uncut), "full_pads": sum(1 for i in uncut if i == image)}
    return ["ok", [["kept", sum(1 for i in ids if i == image), text.count("<image>"),
                    sum(1 for i in ids if i == video), sum(1 for i in ids if i == audio), cut]]]


def _template_settings(argv: list | None) -> tuple[int, str]:
    """``max_length`` and ``truncation_strategy`` as ``swift sft`` gives them to the template for
    the command line ``argv``: ms-swift's own parser and ``get_template_kwargs`` (``delete`` is
    ``raise``); no ``max_length``: none in effect.  A value ms-swift refuses raises."""
    if not argv:
        return 1 << 20, "raise"
    args, _remaining = parse_args(TemplateArguments, list(argv))
    args.remove_unused_columns = True  # a DataArguments field get_template_kwargs reads
    kwargs = args.get_template_kwargs()
    return kwargs["max_length"] or 1 << 20, kwargs["truncation_strategy"]


@functools.cache
def _parser(subcommand: str):
    """The ``HfArgumentParser`` ``swift sft`` / ``swift rlhf`` parse their command line with
    (``swift.utils.parse_args`` over ``SftArguments`` / ``RLHFArguments``)."""
    from transformers import HfArgumentParser
    with _patch_get_type_hints():
        return HfArgumentParser([RLHFArguments if subcommand == "rlhf" else SftArguments])


@functools.cache
def _mode_mapping() -> dict:
    """``SwiftRLHF._prepare_template``'s ``mode_mapping`` (rlhf_type → template mode, else
    ``rlhf``), read from this release's train/rlhf.py (the module imports what this environment
    lacks, einops: it is read, not imported)."""
    import ast
    with open(os.path.join(_TRAIN, "rlhf.py")) as f:
        tree = ast.parse(f.read())
    (value,) = [n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "mode_mapping" for t in n.targets)]
    return ast.literal_eval(value)


@functools.cache
def _prepare_kto_dataset():
    """This release's ``prepare_kto_dataset``, loaded from train/kto.py itself (its package's
    ``__init__`` imports einops, missing here; the file's own imports are met)."""
    import importlib.util
    name = ("swift.pipelines.train.kto" if SWIFT_4 else "swift.llm.train.kto")
    spec = importlib.util.spec_from_file_location(name, os.path.join(_TRAIN, "kto.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.prepare_kto_dataset


def _settings(command: list) -> tuple:
    """(template mode, task_type, the parsed arguments) for ``swift sft`` / ``swift rlhf`` command
    words: ms-swift's own parser (without ``__post_init__``, which loads the model), then the
    ``RLHFArguments`` steps that change the rlhf type or the task (``_init_simpo``: simpo is cpo;
    ``_init_rm``: rm is ``seq_cls``) and ``mode_mapping``.  ``swift sft``: the mode ``train``."""
    subcommand, words = command[0], command[1:]
    ns, _remaining = _parser(subcommand).parse_known_args(words)
    if subcommand == "sft":
        return "train", "causal_lm", ns
    RLHFArguments._init_simpo(ns)
    RLHFArguments._init_rm(ns)
    return _mode_mapping().get(ns.rlhf_type, "rlhf"), ns.task_type or "causal_lm", ns


def _command(case: dict, template, tok, dataset) -> list:
    """A record under the ``swift`` command words ``case["command"]``: ``["kept", chosen image pads,
    chosen literal <image>, rejected (kto: KL) image pads or None, its literal <image> or None]``,
    ``["deleted", "encode", class]``, or ``["stopped", class]``: the run stops before training
    (kto's ``prepare_kto_dataset``).  The case's record is the file's first; for kto the file
    holds a second one, whose answer the KL dataset gives the first as its rejected answer
    (``prepare_kto_dataset`` with 2 rows a batch: each row gets the other's last message)."""
    mode, task_type, ns = _settings(case["command"])
    if mode == "kto":
        ns.per_device_train_batch_size, ns.gradient_accumulation_steps = 2, 1
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                dataset, _ = _prepare_kto_dataset()(ns, dataset, None)
        except Exception as exc:  # noqa: BLE001 - the whole run stops
            return ["stopped", type(exc).__name__]
    rows = [r for r in dataset if "partner question" not in json.dumps(r["messages"])]
    if not rows:
        return ["deleted", "load", None]
    template.set_mode(mode)
    template.task_type, task_was = task_type, template.task_type
    template.max_length, template.truncation_strategy = 1 << 20, "raise"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            enc = template.encode(rows[0])
    except Exception as exc:  # noqa: BLE001 - EncodePreprocessor deletes the row on any exception
        return ["deleted", "encode", type(exc).__name__]
    finally:
        template.set_mode("train")
        template.task_type = task_was
    _, image, _, _ = real.placeholders(case["family"])
    image = tok.convert_tokens_to_ids(image)
    out = ["kept"]
    for prefix in ("chosen", "rejected"):
        ids = enc.get(f"{prefix}_input_ids") if mode != "train" else (enc["input_ids"] if prefix == "chosen" else None)
        out += [None, None] if ids is None else [
            sum(1 for i in ids if i == image), tok.decode([i for i in ids if i != image]).count("<image>")]
    return out


def main() -> None:
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    for line in sys.stdin:
        try:
            result = answer(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - a worker failure is an answer, not a hang
            result = ["error", f"{type(exc).__name__}: {exc}"]
        out.write(json.dumps(result) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
