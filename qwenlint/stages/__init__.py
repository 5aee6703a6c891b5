"""The stages: they build a run's resources, and fill a record's context before the rules run.

:func:`open_run` builds the :class:`~qwenlint.context.Run` once, before the first record: the
family and the vision profiles (``--model``'s configs are read here), the chat template, the
text-token counter, the media facts cache, the ``dataset_info.json`` reader, the environment, the
vLLM server's settings.

Each stage is ``run(ctx) -> None``; it reads what the stages before it produced and fills its own
fields of the :class:`~qwenlint.context.RecordContext`:

============  ================================================================================
targets       ``targets`` (the consumer of each conversation), ``readings`` (what it does with
              each media part), ``requests`` (a vLLM request as the server parses it)
dataset       ``views``: the framework's view of each dataset record
media         ``media``, ``facts``, ``sources``: every image and video, from headers only
vision        ``plans``, ``predictions``: grid_thw and pad counts per consumer
template      ``renders``, ``needs_template``: the chat template's output, pads per part
accounting    ``tokens``: vision + text tokens per conversation (when the run counts them)
serve         ``responses``: what a vLLM server answers each request
============  ================================================================================

Stages never raise for bad input: what cannot be computed is recorded as an error value for the
rules to report.  Stages never import the rules.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace

from qwenlint.consumers import Target, ms_swift
from qwenlint.consumers.llamafactory import DatasetInfo
from qwenlint.consumers.vllm.server import Server, video_lookup_fails
from qwenlint.context import RecordContext, Run
from qwenlint.media import FactsCache
from qwenlint.options import Options
from qwenlint.stages import accounting, dataset, media, targets, template, vision
from qwenlint.vision.profiles import Profile


def _serve(ctx: RecordContext) -> None:
    """The serve stage, imported on the first vLLM request (vLLM's request models take ~50 ms to
    import, a fifth of a one-file check)."""
    if ctx.requests:
        from qwenlint.stages import serve

        serve.run(ctx)


#: In order: each stage may read what the ones before it produced.
STAGES: tuple[Callable[[RecordContext], None], ...] = (
    targets.run, dataset.run, media.run, vision.run, template.run, accounting.run, _serve)

__all__ = ["STAGES", "open_run", "run_stages"]


def open_run(options: Options, *, accounting: bool = False, environ: Mapping[str, str] | None = None,
             with_template: bool | None = None) -> Run:
    """Build the run's resources (see the module docstring).

    ``accounting``: count every conversation's tokens (needs the text counter: ``--model``'s
    tokenizer is loaded).  ``with_template``: resolve the chat template (default: unless ``--target``
    is a fine-tuning framework, whose records are never rendered with it).  ``environ``: the
    environment the frameworks read (default: this process's).
    """
    from qwenlint import textcount

    profile, error = vision.resolve_profile(options)
    family = options.family or profile.family
    if with_template is None:
        with_template = options.target is None or not options.target.is_framework
    versions = options.versions()
    environ = dict(os.environ if environ is None else environ)
    for name, value in options.ms_swift().env:  # an ms-swift config file's ENV: the run's wins
        environ.setdefault(name, value)
    profiles = vision.target_profiles(profile, versions["transformers"])
    return Run(options=options, family=family, profile=profile, profile_error=error, profiles=profiles,
               template=template.resolve_template(options, family) if with_template else None,
               text=textcount.load_tokenizer(options.model) if accounting else None,
               media=FactsCache(), datasets=DatasetInfo(),
               environ=environ, server=_server(options, profile), versions=versions,
               swift_qvu_module=ms_swift.qvu_constants(environ, profiles[Target.MS_SWIFT].family,
                                                       versions["ms-swift"], versions["qwen-vl-utils"]))


def _server(options: Options, profile: Profile) -> Server:
    """``options.server()`` with what the checkpoint and the server's transformers decide."""
    server = options.server()
    transformers = options.versions().packages.get("transformers")
    fails = video_lookup_fails(server.version, transformers and transformers.version,
                               profile.video_processor_named)
    return replace(server, video_lookup_fails=fails) if fails is not False else server


def run_stages(ctx: RecordContext) -> None:
    """Every stage, in order, on one record."""
    for stage in STAGES:
        stage(ctx)
