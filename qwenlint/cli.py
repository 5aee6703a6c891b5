"""The command line: ``qwenlint check | tokens | template | smoke | rule | rules | schema | server``.

The contract (commands, options, output formats, exit codes) is in docs/design.md.

Exit codes: 0 no error finding; 1 at least one error finding; 2 usage error, unreadable
configuration or an internal failure.  A traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from dataclasses import replace

import click

from qwenlint.consumers import TARGETS
from qwenlint.consumers.versions import parse_assume
from qwenlint.options import ENGINES, FAMILIES, FORMATS, Options
from qwenlint.terminal import printable
from qwenlint.version import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for chunk in values for v in chunk.split(",") if v.strip())


def input_options(f):
    """The options shared by check, tokens and smoke (design.md)."""
    decorators = [
        click.option("--family", type=click.Choice(FAMILIES), default=None,
                     help="Model family (default: from --model, else qwen2.5-vl)."),
        click.option("--model", "model", type=click.Path(exists=True, file_okay=False), default=None,
                     help="Local checkpoint directory (configs, chat template, tokenizer)."),
        click.option("--template", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Chat template: .jinja, chat_template.json or tokenizer_config.json."),
        click.option("--target", type=click.Choice(TARGETS), default=None,
                     help="The consumer whose behaviour is checked (default: from the dialect)."),
        click.option("--max-model-len", type=click.IntRange(min=1), default=None,
                     help="Token budget of one conversation (context, cutoff_len, max_length)."),
        click.option("--media-root", type=click.Path(file_okay=False), default=None,
                     help="Where relative media paths resolve: LLaMA-Factory's media_dir, ms-swift's "
                     "working directory (default: the folder of the dataset_info.json that declares "
                     "the file, else the file's directory)."),
        click.option("--framework-config", type=click.Path(exists=True, dir_okay=False), default=None,
                     callback=_framework_config,
                     help="For --target llamafactory: your training YAML; its image_max_pixels, "
                          "video_fps, video_maxlen, ..., use_audio_in_video, cutoff_len and media_dir "
                          "are used (default: LLaMA-Factory's defaults)."),
        click.option("--use-audio-in-video/--no-use-audio-in-video", default=None,
                     help="Omni models: the processor loads each video's sound track and interleaves "
                          "it with the frames (transformers' load_audio_from_video=True; default: off). "
                          "Not for --target llamafactory: its training YAML's use_audio_in_video."),
        click.option("--vllm-args", default=None, metavar="ARGS", callback=_command_args,
                     help="For --target vllm: your server's `vllm serve` arguments, parsed as vLLM "
                          "parses them, e.g. '--max-model-len 32k --trust-request-mm-kwargs' "
                          "(default: vLLM's defaults)."),
        click.option("--swift-args", default=None, metavar="ARGS", callback=_command_args,
                     help="For --target ms-swift: your `swift sft` / `swift rlhf` arguments, parsed as "
                          "ms-swift parses them; the subcommand, --rlhf_type (which sequences of a record "
                          "are encoded), --max_length (the budget, as --max-model-len: give one, or the "
                          "same) and --truncation_strategy are read, e.g. 'swift rlhf --rlhf_type dpo "
                          "--max_length 4096' (default: ms-swift's defaults; without a subcommand a "
                          "record with rejected_response / rejected_messages is read as a DPO pair)."),
        click.option("--media-io-kwargs", default=None, metavar="JSON", callback=_media_io_kwargs,
                     help="vLLM's --media-io-kwargs, for --target vllm: which video loader runs and "
                          "how it samples, e.g. '{\"video\": {\"fps\": 1, \"max_frames\": 64}}'."),
        click.option("--assume", multiple=True, metavar="NAME==VERSION", callback=_assume,
                     help="Model this version of a consumer, e.g. transformers==5.6.0 (repeatable; "
                          "default: the version installed, else the newest modelled)."),
        click.option("--python", "python", default=None, metavar="PATH",
                     help="Read the installed consumer versions from this Python environment."),
        click.option("--select", multiple=True, help="Only these rule codes, prefixes or names."),
        click.option("--ignore", multiple=True, help="Skip these rule codes, prefixes or names."),
        click.option("--allow-network/--no-allow-network", default=None,
                     help="Read URLs that need the network: s3://, gs://, hf://, http(s):// data "
                          "files, and media by byte range (default: off; config key allow-network)."),
        click.option("--storage-option", "storage_option", multiple=True, metavar="KEY=VALUE",
                     callback=_storage_options,
                     help="An fsspec storage option for URLs, e.g. endpoint_url=http://127.0.0.1:9000 "
                          "or anon=true (repeatable; config key storage-options)."),
    ]
    for d in reversed(decorators):
        f = d(f)
    return f


def _storage_options(ctx, param, value):
    from qwenlint.remote import parse_storage_options

    try:
        parse_storage_options(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return tuple(value)


def _network_or_usage_error(paths, opts: Options) -> None:
    """A URL that needs the network, named without --allow-network, is a usage error naming the
    flag (qwenlint reads nothing over the network unless asked)."""
    from qwenlint.remote import is_url

    access = opts.access()
    named = [(p, "PATHS") for p in paths] + [(opts.media_root, "--media-root")]
    for value, hint in named:
        why = value and is_url(value) and access.refusal(value)
        if why:
            raise click.BadParameter(printable(why), param_hint=hint)


def _media_io_kwargs(ctx, param, value):
    if value is None:
        return None
    from qwenlint.consumers.vllm import parse_media_io_kwargs  # pydantic: only when given

    try:
        return parse_media_io_kwargs(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _framework_config(ctx, param, value):
    if value is None:
        return None
    try:
        Options(framework_config=value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return value


def config_options(f):
    """``--config`` / ``--isolated``: the commands that read the configuration (check, tokens)."""
    f = click.option("--isolated", is_flag=True, help="Ignore every configuration file.")(f)
    return click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                        help="Configuration file for every file (default: the nearest qwenlint.toml or "
                             "pyproject.toml with [tool.qwenlint], upward from each checked file; "
                             "tokens: from the working directory).")(f)


def discovery_options(f):
    """``--exclude`` / ``--extend-exclude`` / ``--force-exclude`` / ``--respect-gitignore`` (check):
    kept in the context (``_DISCOVERY``) for :func:`_groups`, not passed to the command."""
    def keep(ctx, param, value):
        if param.multiple:
            value = _globs(value) if value or param.name == "extend_exclude" else None
        ctx.meta.setdefault(_DISCOVERY, {})[param.name] = value

    decorators = [
        click.option("--exclude", multiple=True, metavar="GLOB", expose_value=False, callback=keep,
                     help="Leave these files and directories out of directory walks (replaces the "
                          "configuration's exclude and the default list: .git, .venv and every "
                          "hidden entry, node_modules, __pycache__, build, dist, venv, ...)."),
        click.option("--extend-exclude", multiple=True, metavar="GLOB", expose_value=False,
                     callback=keep, help="Leave these out too, besides exclude."),
        click.option("--force-exclude/--no-force-exclude", default=None, expose_value=False,
                     callback=keep, help="Treat paths named on the command line as a directory walk "
                                         "treats what it finds: the excludes apply, and JSON in no "
                                         "format qwenlint reads is skipped (for pre-commit)."),
        click.option("--respect-gitignore/--no-respect-gitignore", default=None, expose_value=False,
                     callback=keep, help="Leave out what .gitignore files ignore (default: on)."),
    ]
    for d in reversed(decorators):
        f = d(f)
    return f


_DISCOVERY = "qwenlint.discovery"


def _globs(values):
    from qwenlint.discovery import split_globs

    return split_globs(values)


def _command_args(ctx, param, value):
    """``--vllm-args`` / ``--swift-args``: a consumer's command line, parsed as Options does."""
    if value is None:
        return ()
    try:
        return getattr(Options(**{param.name: value}), param.name)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _assume(ctx, param, value):
    try:
        parse_assume(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    return tuple(value)


def _options(family, model, template, target, max_model_len, media_root, framework_config, use_audio_in_video,
             vllm_args, swift_args, media_io_kwargs, assume, python, select, ignore,
             allow_network=None, storage_option=()) -> Options:
    """`Options` from the `input_options` values (click passes them by name); a budget that
    --max-model-len and --swift-args' --max_length give differently is a usage error."""
    try:
        return Options(family=family, model=model, template=template, target=target,
                       max_model_len=max_model_len, media_root=media_root,
                       framework_config=framework_config, use_audio_in_video=use_audio_in_video,
                       vllm_args=vllm_args, swift_args=swift_args,
                       media_io_kwargs=media_io_kwargs, assume=assume, python=python,
                       select=_split_codes(select), ignore=_split_codes(ignore),
                       allow_network=allow_network, storage_options=storage_option)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--swift-args") from None


def versions_or_usage_error(opts: Options) -> None:
    """Resolve the consumer versions now: a ``--python`` that does not answer is a usage error,
    and so is a ``--vllm-args`` flag the assumed vLLM release does not have."""
    _regular_option_files(opts)
    try:
        opts.versions()
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--python") from None
    try:
        opts.server()
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--vllm-args") from None


def _regular_option_files(opts: Options) -> None:
    """A FIFO, socket or device given as --template or --framework-config, or in --model's
    folder, is a usage error naming it: reading it would block or never end (qwenlint.fsio)."""
    from qwenlint.fsio import not_regular

    named = [("--template", opts.template), ("--framework-config", opts.framework_config)]
    if opts.model and os.path.isdir(opts.model):
        named += [("--model", os.path.join(opts.model, n)) for n in sorted(os.listdir(opts.model))]
    for hint, path in named:
        why = path and not_regular(path)
        if why:
            raise click.BadParameter(printable(why), param_hint=hint)


class _Group(click.Group):
    """Turns every unexpected exception into exit 2 with one line, unless --debug."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("qwenlint: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            # The reader went away (`qwenlint rules | head`): not an internal error.  Point stdout
            # at devnull so the interpreter's final flush does not raise again.
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            sys.exit(EXIT_FINDINGS)
        except Exception as e:  # noqa: BLE001 - the contract: never a traceback by default
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            else:
                click.echo(f"qwenlint: internal error: {printable(f'{type(e).__name__}: {e}')}\n"
                           "(run with --debug for the traceback, and please report it)", err=True)
            sys.exit(EXIT_USAGE)
        except BaseException as e:  # SystemExit passes; SIGTERM during --jobs ends here
            from qwenlint.parallel import Terminated

            if not isinstance(e, Terminated):
                raise
            click.echo("qwenlint: terminated", err=True)
            sys.exit(143)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qwenlint")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Catch broken Qwen vision-language inputs before a GPU ever sees them."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    # Input may hold lone surrogates ("\ud800" is valid JSON); print them as escapes instead of
    # failing with UnicodeEncodeError (in JSON output the escape is the JSON escape itself).
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def debug_option(f):
    """``--debug`` after the subcommand too (``qwenlint check x.json --debug``), as before it."""
    def set_debug(ctx, param, value):
        if value:
            ctx.ensure_object(dict)["debug"] = True
        return value

    return click.option("--debug", is_flag=True, expose_value=False, callback=set_debug,
                        is_eager=True, help="Show tracebacks of internal errors.")(f)


def format_option(choices, help_extra: str = ""):
    """``--output-format`` (ruff's name) and ``--format`` (its alias): the output format."""
    return click.option("--output-format", "--format", "fmt", type=click.Choice(choices), default=None,
                        help="Output format (default: text" + help_extra + ").")


def _stdin_paths(paths: tuple[str, ...], stdin_filename: str | None) -> bool:
    """Whether the check reads standard input: ``-`` alone, or ``--stdin-filename`` with no path."""
    if "-" in paths and len(paths) > 1:
        raise click.BadParameter("'-' (standard input) cannot be combined with other paths",
                                 param_hint="PATHS")
    if stdin_filename is not None and paths and paths != ("-",):
        raise click.BadParameter("names standard input: give '-' or no path, not files",
                                 param_hint="--stdin-filename")
    return paths == ("-",) or (stdin_filename is not None and not paths)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@input_options
@click.option("--extend-select", multiple=True,
              help="Rule codes, prefixes or names added to the selection (--select, or the "
                   "configuration's select) instead of replacing it.")
@format_option(FORMATS, "; config key output-format")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when errors are found.")
@click.option("--statistics", is_flag=True,
              help="Print a summary instead of diagnostics: counts per rule, the token-length "
                   "histogram of the conversations, the worst records.")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
              help="Worker processes checking records in parallel (0: every core).")
@click.option("--shard", default=None, metavar="I/N",
              help="Check only the records whose ordinal in their file is I modulo N (0-based).")
@click.option("--no-progress", is_flag=True, help="No progress line on a terminal's stderr.")
@click.option("--engine", "engine_name", type=click.Choice(ENGINES), default=None,
              help="Where the records are checked: this machine (default; --jobs), or a Ray "
                   "cluster (needs qwenlint[ray]; output identical; config key engine).")
@click.option("--ray-address", default=None, metavar="ADDRESS",
              help="With --engine ray: the cluster to join (default: RAY_ADDRESS, else a local "
                   "cluster started for the run).")
@click.option("--fix", "apply_fixes", is_flag=True,
              help="Apply safe fixes to the files, then report what remains (standard input: "
                   "the fixed text goes to stdout, the diagnostics to stderr).")
@click.option("--diff", "show_diff", is_flag=True,
              help="Print the fixes as a unified diff and write nothing (exit 1 if any).")
@click.option("--unsafe-fixes", is_flag=True,
              help="With --fix/--diff, also apply fixes that may change meaning.")
@click.option("--show-fixes", is_flag=True,
              help="Text output: after the diagnostics, list the fixes applied (with --fix, per "
                   "file and rule), or each fixable diagnostic's fix (without --fix).")
@click.option("--stdin-filename", default=None, metavar="PATH",
              help="The name of the file read from standard input ('-'): the diagnostics' path, "
                   "its format (.jsonl: JSON Lines), per-file-ignores, and the base of its "
                   "relative media paths.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print the diagnostics only: no summary, Assumed: or fixed lines.")
@click.option("-s", "--silent", is_flag=True,
              help="Print nothing (the exit status still says whether errors were found).")
@click.option("--output-file", "-o", default=None, metavar="PATH", type=click.Path(dir_okay=False),
              help="Write the report to PATH instead of standard output (e.g. --format html).")
@config_options
@discovery_options
@debug_option
def check(paths, extend_select, fmt, exit_zero, statistics, jobs, shard, no_progress, engine_name,
          ray_address, apply_fixes, show_diff, unsafe_fixes, show_fixes, stdin_filename, quiet, silent,
          output_file, config_path, isolated, **inputs):
    """Lint conversation and dataset files (JSON, JSONL); PATHS default to '.', and '-' reads
    standard input."""
    from qwenlint.engine import Engine, run_serial
    from qwenlint.parallel import resolve_jobs, run_parallel
    from qwenlint.result import merge as merge_results

    stdin = _stdin_paths(paths, stdin_filename)
    paths = paths or (".",)
    cfg, opts = _configured(config_path, isolated, inputs, extend_select=_split_codes(extend_select))
    fmt = fmt or cfg.output_format or "text"
    versions_or_usage_error(opts)
    _network_or_usage_error(paths, opts)
    if apply_fixes or show_diff:
        from qwenlint.remote import is_url

        if any(is_url(p) for p in paths):
            raise click.BadParameter("a URL is not written in place: copy the file here to fix it",
                                     param_hint="--fix / --diff")
    _check_selectors(opts)
    shard_spec = _parse_shard(shard)
    if shard_spec is not None and (apply_fixes or show_diff):
        raise click.BadParameter("cannot be combined with --fix / --diff", param_hint="--shard")
    quiet = quiet or silent
    engine_name = engine_name or cfg.engine or "local"
    if engine_name == "ray" and (stdin or jobs != 1):
        raise click.BadParameter("checks files on a Ray cluster: not with standard input or --jobs",
                                 param_hint="--engine ray")
    counting = statistics or fmt == "html"  # the HTML page shows the statistics too
    if stdin:
        _check_stdin(Engine(opts, statistics=counting, keep=cfg.filter), cfg, stdin_filename, fmt=fmt,
                     statistics=statistics, shard=shard_spec, fix=apply_fixes, diff=show_diff,
                     unsafe=unsafe_fixes, show_fixes=show_fixes, quiet=quiet, silent=silent,
                     exit_zero=exit_zero, output_file=output_file)
    groups = _groups(paths, cfg, opts, config_path, isolated, inputs, opts.extend_select)
    progress = None
    if not no_progress and not quiet and sys.stderr.isatty():
        from qwenlint.summary import Progress

        progress = Progress(sum(os.path.getsize(f.path) for _, _, files in groups for f in files
                                if os.path.isfile(f.path)))
    jobs = resolve_jobs(jobs)
    checked = []  # (engine, configuration, files, result) per group
    try:
        for g_cfg, g_opts, files in groups:
            engine = Engine(g_opts, statistics=counting, keep=g_cfg.filter)
            if engine_name == "ray":
                result = _run_ray(engine, files, ray_address, shard_spec, progress)
            elif jobs > 1:
                result = run_parallel(engine, files, jobs=jobs, shard=shard_spec, progress=progress)
            else:
                result = run_serial(engine, files, shard=shard_spec, progress=progress)
            checked.append((engine, g_cfg, files, result))
    finally:
        if progress is not None:
            progress.close()
    applied = None
    if apply_fixes or show_diff:
        checked, applied = _fix(checked, unsafe_fixes, diff_only=show_diff, quiet=quiet, silent=silent)
    result = merge_results([r for *_, r in checked])
    if not silent:
        _report(result, fmt, statistics=statistics, quiet=quiet, show_fixes=show_fixes,
                applied=applied, unsafe=unsafe_fixes, output_file=output_file, checked=checked)
    _exit_on_failures(result.failures)
    sys.exit(EXIT_OK if exit_zero or result.errors == 0 else EXIT_FINDINGS)


def _run_ray(engine, files, address, shard, progress):
    """``--engine ray``: the record loop on a Ray cluster (qwenlint.ray); Ray missing or failing
    is a usage error (exit 2) with one line."""
    from qwenlint.ray import RayFailed, RayUnavailable, run_ray

    try:
        return run_ray(engine, files, address=address, shard=shard, progress=progress)
    except (RayUnavailable, RayFailed) as e:
        click.echo(f"qwenlint: --engine ray: {printable(str(e))}", err=True)
        sys.exit(EXIT_USAGE)


def _exit_on_failures(failures) -> None:
    """Records or files qwenlint failed on (QL005; the rest was checked and reported): each on
    stderr as an internal error (the traceback with --debug), then exit 2."""
    if not failures:
        return
    debug = (click.get_current_context().find_root().obj or {}).get("debug")
    for message, trace in failures:
        click.echo(trace if debug else f"qwenlint: internal error: {printable(message)}", err=True)
    click.echo("(run with --debug for the traceback, and please report it)", err=True)
    sys.exit(EXIT_USAGE)


def _check_selectors(opts: Options) -> None:
    from qwenlint.rules import select_rules

    for sel in opts.select + opts.extend_select + opts.ignore:
        if not select_rules((sel,)) and sel.upper() != "ALL":
            raise click.BadParameter(f"no rule matches {sel!r}",
                                     param_hint="--select/--extend-select/--ignore")


def _report(result, fmt: str, *, statistics: bool, quiet: bool, show_fixes: bool, applied,
            unsafe: bool, err: bool = False, output_file: str | None = None, checked=None) -> None:
    """Print the report of ``result`` (to stderr with ``err``: standard input's ``--fix``; to
    ``output_file`` when given).  ``checked``: the groups checked, ``(engine, config, files,
    result)``, from which --format html re-renders the records of the diagnostics it shows."""
    from qwenlint.report import FORMATS as RENDERERS
    from qwenlint.report.text import render_fixable, render_fixed, use_color

    if output_file is not None:
        _write_report(output_file, lambda: _report(result, fmt, statistics=statistics, quiet=quiet,
                                                   show_fixes=show_fixes, applied=applied,
                                                   unsafe=unsafe, checked=checked))
        if not quiet:
            click.echo(f"qwenlint: wrote the report to {printable(output_file)}", err=True)
        return
    if fmt == "html":
        click.echo(_html_report(result, checked), err=err)
        return
    if statistics:
        _print_statistics(result, fmt, err=err)
        return
    color = fmt == "text" and use_color(sys.stderr if err else sys.stdout)
    out = RENDERERS[fmt](result, color=color, quiet=quiet)
    if out or not quiet:
        click.echo(out, err=err, color=color)  # click would strip the colour of FORCE_COLOR
    if show_fixes and fmt == "text":
        if out:
            click.echo("", err=err)
        if applied is not None:
            click.echo(render_fixed(applied), err=err)
        else:
            click.echo(render_fixable(result.diagnostics, unsafe), err=err)


def _check_stdin(engine, cfg, stdin_filename, *, fmt, statistics, shard, fix, diff, unsafe,
                 show_fixes, quiet, silent, exit_zero, output_file=None):
    """``qwenlint check -``: check standard input as the file ``--stdin-filename`` (default
    ``-``, read as JSON).  ``--fix`` writes the fixed text (the input itself when nothing is
    fixed) to stdout and the report to stderr, as ruff does; ``--diff`` prints the diff."""
    from qwenlint import fix as fixer

    data = sys.stdin.buffer.read()
    name = stdin_filename or "-"
    result = _check_bytes(engine, data, name, shard)
    applied = None
    if fix or diff:
        def read(_path):
            text = data.decode("utf-8")
            return (text[1:], True) if text.startswith("\ufeff") else (text, False)

        fixed = None

        def rerun():
            return _check_bytes(engine, fixed, name, None)

        files = fixer.fix_files(result.diagnostics, fixer.engine_recheck(engine, cfg.filter),
                                unsafe=unsafe, read=read)
        if files and not diff:
            fixed = (("\ufeff" if files[0].bom else "") + files[0].fixed).encode("utf-8")
        if not diff:
            stdout = sys.stdout.buffer
            stdout.write(fixed if fixed is not None else data)
            stdout.flush()
        checked, applied = _fix([(engine, cfg, [], result)], unsafe, diff, quiet=quiet, silent=silent,
                                made=files, rerun=rerun)
        result = checked[0][3]
    if not silent:
        _report(result, fmt, statistics=statistics, quiet=quiet, show_fixes=show_fixes,
                applied=applied, unsafe=unsafe, err=fix, output_file=output_file)
    _exit_on_failures(result.failures)
    sys.exit(EXIT_OK if exit_zero or result.errors == 0 else EXIT_FINDINGS)


def _write_report(path: str, report) -> None:
    """``--output-file``: what ``report()`` prints, written to ``path`` (UTF-8) instead."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        report()
    try:
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(buf.getvalue())
    except OSError as e:
        click.echo(f"qwenlint: cannot write {printable(path)}: {printable(e.strerror or e)}", err=True)
        sys.exit(EXIT_USAGE)


def _html_report(result, checked) -> str:
    """``--format html``: the page (qwenlint.report.html), with the rendered prompt around each
    diagnostic it embeds: the records holding them are checked again with their context kept
    (:func:`qwenlint.engine.recheck`), only those, one at a time."""
    from qwenlint.engine import recheck
    from qwenlint.load.files import display_path
    from qwenlint.report import html

    if not checked:  # standard input: its text is gone
        return html.render(result)
    shown = list(enumerate(result.diagnostics[:html.MAX_DIAGNOSTICS]))
    snippets = {}
    for engine, _cfg, files, _result in checked:
        for found in files:
            shown_here = [(n, d) for n, d in shown if d.file == display_path(found.path)]
            try:
                for ctx, mine in recheck(engine, found.path, shown_here):
                    for n, d in mine:
                        snippets[n] = html.prompt_snippet(ctx, d)
            except Exception as e:  # noqa: BLE001 - a snippet must not cost the report
                for n, _ in shown_here:
                    snippets.setdefault(n, html.PromptSnippet(f"no rendered prompt: {type(e).__name__}"))
    for n, _ in shown:  # in no record: a problem of the file itself (invalid JSON, ...)
        snippets.setdefault(n, html.PromptSnippet("no rendered prompt: a diagnostic of the file, "
                                                  "not of one record"))
    return html.render(result, snippets=snippets,
                       settings=[html.run_settings(engine.run) for engine, *_ in checked])


def _check_bytes(engine, data: bytes, name: str, shard):
    """The result of checking ``data`` as if it were the file ``name`` (engine.check_bytes)."""
    from qwenlint.engine import check_bytes

    return check_bytes(engine, data, name, shard)


def _configured(config_path, isolated, inputs, extend_select: tuple[str, ...] = (), cfg=None):
    """The configuration (``cfg``, else the working directory's) and the options it gives with the
    command line's ``inputs`` over it."""
    cfg = _load_config(config_path, isolated) if cfg is None else cfg
    try:
        return cfg, cfg.apply(replace(_options(**inputs), extend_select=extend_select))
    except ValueError as e:  # the file's max-model-len / swift-args and the command line's disagree
        raise click.BadParameter(f"{e} ({cfg.path})", param_hint="--swift-args") from None


def _groups(paths, cfg, opts, config_path, isolated, inputs, extend_select=()):
    """The files to check (qwenlint.discovery: walks, excludes, .gitignore), grouped by their
    configuration, each group with its options: ``[(config, options, files)]`` (at least one)."""
    from qwenlint.config import ConfigError
    from qwenlint.discovery import Discovery, Settings, group

    settings = Settings(**click.get_current_context().meta.get(_DISCOVERY, {}))
    try:
        found = group(Discovery(cfg, settings, fixed=bool(config_path or isolated),
                                access=opts.access()).files(paths))
    except ConfigError as e:
        click.echo(f"qwenlint: {e}", err=True)
        sys.exit(EXIT_USAGE)
    groups = []
    for g_cfg, files in found:
        g_opts = opts if g_cfg is cfg else _configured(None, False, inputs, extend_select, cfg=g_cfg)[1]
        if g_opts is not opts:
            versions_or_usage_error(g_opts)
        groups.append((g_cfg, g_opts, files))
    return groups or [(cfg, opts, [])]


def _load_config(config_path, isolated):
    """The configuration (qwenlint.config); an unusable one is exit 2 with one line."""
    from qwenlint.config import ConfigError, discover

    try:
        return discover(config_path, isolated)
    except ConfigError as e:
        click.echo(f"qwenlint: {printable(e)}", err=True)
        sys.exit(EXIT_USAGE)


def _fix(checked, unsafe: bool, diff_only: bool, *, quiet: bool = False, silent: bool = False,
         made=None, rerun=None):
    """--fix / --diff (qwenlint.fix) for each group of files ``(engine, config, files, result)``:
    returns the groups with the results to report, and the diagnostics fixed per file
    (``--show-fixes``); --diff exits here.  ``made``: the fixes already made (standard input, one
    group), checked again with ``rerun()`` instead of written."""
    from qwenlint import fix as fixer
    from qwenlint.engine import run_serial

    out, every, count, hidden = [], [], 0, 0
    for engine, cfg, files, result in checked:
        for table, n in fixer.not_written(result.diagnostics, unsafe).items():
            if not quiet:  # a Parquet / Arrow file is never rewritten; its findings stay
                click.echo(f"qwenlint: {printable(table)}: {n} fix{'es' * (n != 1)} not written: fixes "
                           "are not written to Parquet / Arrow files (fix the data that produced it)",
                           err=True)
        fixed = made if made is not None else fixer.fix_files(
            result.diagnostics, fixer.engine_recheck(engine, engine.keep), unsafe=unsafe)
        count += sum(f.fixed_diagnostics for f in fixed)
        hidden += 0 if unsafe else sum(fixer.applicable(d.fix, True) and not fixer.applicable(d.fix)
                                       for d in result.diagnostics)
        if fixed and not diff_only:
            if made is None:
                written = []
                for f in fixed:
                    try:
                        fixer.write(f)
                        written.append(f)
                    except fixer.WriteRefused as e:  # its findings stay; the re-check reports them
                        click.echo(f"qwenlint: {printable(e)}", err=True)
                kept = {id(f) for f in written}
                count -= sum(f.fixed_diagnostics for f in fixed if id(f) not in kept)
                fixed = written
                result = run_serial(engine, files)
            else:
                result = rerun()
        every.extend(fixed)
        out.append((engine, cfg, files, result))
    hint = f" ({hidden} more with --unsafe-fixes)" if hidden else ""
    if diff_only:
        if not silent:
            for f in every:
                click.echo(fixer.unified_diff(f), nl=False)
        if not quiet:
            click.echo(f"qwenlint: would fix {count} issue{'s' * (count != 1)} in {len(every)} "
                       f"file{'s' * (len(every) != 1)}{hint}", err=True)
        _exit_on_failures([f for *_, r in out for f in r.failures])
        sys.exit(EXIT_FINDINGS if every else EXIT_OK)
    if not quiet:
        click.echo(f"qwenlint: fixed {count} issue{'s' * (count != 1)} in {len(every)} "
                   f"file{'s' * (len(every) != 1)}{hint}", err=True)
    return out, {f.path: f.applied for f in every}


def _parse_shard(spec: str | None) -> tuple[int, int] | None:
    if spec is None:
        return None
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise click.BadParameter(f"{spec!r}: expected I/N, e.g. 0/4", param_hint="--shard") from None
    if not (n >= 1 and 0 <= i < n):
        raise click.BadParameter(f"{spec!r}: expected 0 <= I < N", param_hint="--shard")
    return i, n


def _print_statistics(result, fmt: str, err: bool = False) -> None:
    from qwenlint.summary import render_text, rule_counts

    rows = rule_counts(result.diagnostics)
    if fmt == "json":
        doc = {"rules": rows, "files": result.files, "records": result.records,
               "conversations": result.conversations, "errors": result.errors,
               "warnings": result.warnings}
        if result.summary is not None:
            doc.update(result.summary.to_json())
            doc["conversations"] = result.conversations
        click.echo(json.dumps(doc, indent=1, ensure_ascii=False), err=err)
    else:
        click.echo(render_text(rows, result.summary), err=err)


@main.command("tokens")
@click.argument("paths", nargs=-1, type=click.Path())
@input_options
@format_option(["text", "json"])
@config_options
@debug_option
def tokens_cmd(paths, fmt, config_path, isolated, **inputs):
    """Per-part grid_thw and token counts, and per-conversation totals (PATHS default to '.')."""
    from qwenlint.tokens import collect, render_text

    paths = paths or (".",)

    _cfg, opts = _configured(config_path, isolated, inputs)  # the family, budget, ... check uses
    versions_or_usage_error(opts)
    _network_or_usage_error(paths, opts)
    report = collect(paths, opts)
    if fmt == "json":
        click.echo(json.dumps(report.document(), indent=1, ensure_ascii=False))
    else:
        click.echo(render_text(report))
    sys.exit(EXIT_FINDINGS if report.errors else EXIT_OK)


@main.command("smoke")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@input_options
@click.option("--device", type=click.Choice(["auto", "cuda", "cpu"]), default="auto",
              help="Where the model runs (auto: CUDA when available).")
@click.option("--max-new-tokens", type=click.IntRange(min=0), default=1,
              help="Tokens to generate per conversation (0: one forward pass).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Conversations per model call (default: 1 on CPU, 4 on CUDA).")
@format_option(["text", "json"])
@debug_option
def smoke_cmd(paths, device, max_new_tokens, batch_size, fmt, **inputs):
    """Run the real processor and model (from --model DIR, offline) and compare with the predictions."""
    from qwenlint.smoke import SmokeError, format_json, format_text, run_smoke

    model = inputs["model"]
    if model is None:
        raise click.UsageError("smoke needs --model DIR (a local checkpoint directory)")
    opts = _options(**inputs)
    versions_or_usage_error(opts)
    progress = None
    if sys.stderr.isatty():
        def progress(done: int, total: int) -> None:
            if total > 1:
                click.echo(f"\rqwenlint smoke: {done}/{total} conversations", err=True,
                           nl=done == total)
    try:
        report = run_smoke(paths, model, opts, device=device, max_new_tokens=max_new_tokens,
                           batch_size=batch_size, progress=progress)
    except SmokeError as e:
        click.echo(f"qwenlint: {e}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(format_json(report) if fmt == "json" else format_text(report))
    sys.exit(EXIT_FINDINGS if report.error_findings else EXIT_OK)


@main.command("template")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--family", type=click.Choice(FAMILIES), default=None,
              help="Family whose pad tokens to probe with (default: qwen2.5-vl).")
@format_option(["text", "json"])
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when errors are found.")
@debug_option
def template_cmd(paths, family, fmt, exit_zero):
    """Lint chat templates alone and print what each supports.

    PATHS are template files (.jinja, chat_template.json, tokenizer_config.json) or model
    directories.
    """
    import dataclasses

    from qwenlint.engine import check_templates
    from qwenlint.report import FORMATS
    from qwenlint.report.text import use_color
    from qwenlint.template import format_capabilities

    result, table = check_templates(paths, Options(family=family))
    if fmt == "json":
        def plain(x):
            if dataclasses.is_dataclass(x) and not isinstance(x, type):
                return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
            if isinstance(x, (list, tuple)):
                return [plain(v) for v in x]
            if isinstance(x, dict):
                return {str(k): plain(v) for k, v in x.items()}
            if isinstance(x, (str, int, float, bool)) or x is None:
                return x
            return str(x)

        doc = json.loads(FORMATS["json"](result))
        doc["templates"] = [{"path": p, "capabilities": plain(c)} for p, c in table]
        click.echo(json.dumps(doc, indent=1, ensure_ascii=False))
    else:
        for path, caps in table:
            if caps is not None:
                click.echo(format_capabilities(caps, title=path))
        color = use_color()
        click.echo(FORMATS["text"](result, color=color), color=color)
    sys.exit(EXIT_OK if exit_zero or result.errors == 0 else EXIT_FINDINGS)


@main.command("rule")
@click.argument("code")
@format_option(["text", "json"])
@debug_option
def rule_cmd(code: str, fmt: str):
    """Explain one rule (by code or name)."""
    from qwenlint.rules import find_rule

    r = find_rule(code)
    if r is None:
        raise click.BadParameter(f"no rule {code!r}; see `qwenlint rules`", param_hint="CODE")
    if fmt == "json":
        click.echo(json.dumps({"code": r.code, "name": r.name, "severity": r.severity.value,
                               "summary": r.summary, "stage": r.stage, "scope": r.scope.value,
                               "docs": r.docs,
                               "versions": [{"package": v.package, "since": v.since, "until": v.until,
                                             "what": v.what} for v in r.versions]},
                               indent=1, ensure_ascii=False))
        return
    click.echo(f"{r.code} {r.name} [{r.severity.value}]\n\n{r.summary}\n")
    if r.scope.value != "record":
        click.echo(f"Reported once per {r.scope.value}.\n")
    for section in ("What", "Why", "Example", "Fix"):
        if section in r.docs:
            click.echo(f"{section}\n{'-' * len(section)}\n{r.docs[section]}\n")
    click.echo("Versions\n--------")
    for v in r.versions:
        click.echo(f"* {v.releases()}: {v.what}")
    click.echo("* every other case: every modelled release\n" if r.versions else "Every modelled release.\n")


@main.command("rules")
@format_option(["text", "json"])
@debug_option
def rules_cmd(fmt: str):
    """List every rule."""
    from qwenlint.rules import REGISTRY

    rows = [REGISTRY[c] for c in sorted(REGISTRY)]
    if fmt == "json":
        click.echo(json.dumps([{"code": r.code, "name": r.name, "severity": r.severity.value,
                                "summary": r.summary, "stage": r.stage,
                                "versions": [v.releases() for v in r.versions]} for r in rows], indent=1))
        return
    for r in rows:
        click.echo(f"{r.code}  {r.name:<32} {r.severity.value:<8} {r.summary}")


@main.command("schema")
@debug_option
def schema_cmd():
    """Print the JSON Schema of the accepted message formats (for editors)."""
    from qwenlint.dialects.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=1))


@main.command("server")
@click.option("--stdio", is_flag=True,
              help="Talk over standard input and output (the default and only transport; "
                   "accepted because editors pass it).")
@debug_option
def server_cmd(stdio):
    """Run the language server (LSP over stdio) for editors: diagnostics as you type, quick
    fixes, rule docs on hover.  Needs the lsp extra: pip install 'qwenlint[lsp]'."""
    try:
        from qwenlint.lsp import serve
    except ImportError as e:
        if (getattr(e, "name", None) or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        raise click.UsageError("the language server needs pygls: pip install 'qwenlint[lsp]'") from None
    serve()


if __name__ == "__main__":  # pragma: no cover
    main()
