"""Runs the stages in order for each input: the one module that knows them all.

    files ─► load ─► normalise ─► (media facts ─► predictions ─► render) ─► rules ─► locate

Every stage is a plain function of the previous stage's output.  Records are processed one at a
time, so memory stays flat for JSONL datasets; positions (line, column) are computed only for
records that have diagnostics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from qwenlint import consumers
from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.dialects.normalise import normalise
from qwenlint.ir import Batch, Record
from qwenlint.load import files as loader
from qwenlint.load.positions import locate
from qwenlint.options import Options
from qwenlint.rules import Context, Rule, select_rules
from qwenlint.rules.base import features
from qwenlint.stages import STAGES

#: File names that are configuration, not conversations, when a directory is walked.
_NOT_CONVERSATIONS = {
    "config.json", "generation_config.json", "preprocessor_config.json",
    "video_preprocessor_config.json", "processor_config.json", "tokenizer.json",
    "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "chat_template.json", "dataset_info.json", "package.json", "package-lock.json",
    "tsconfig.json", "manifest.json", "case.json",
}
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".hypothesis", ".tox"}


class InternalError(Exception):
    """A bug in qwenlint itself (never the user's input): the CLI exits 2."""


@dataclass
class Result:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0
    conversations: int = 0

    @property
    def errors(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)


def expand_paths(paths: Iterable[str]) -> Iterator[str]:
    """Files named explicitly, and conversation-like files found under directories."""
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
                for n in sorted(names):
                    if n.lower().endswith((".json",) + loader.JSONL_SUFFIXES) and \
                            n not in _NOT_CONVERSATIONS:
                        yield os.path.join(root, n)
        else:
            yield p


def _llamafactory_files(directory: str) -> set[str]:
    """Data files that a LLaMA-Factory ``dataset_info.json`` next to them declares."""
    path = os.path.join(directory, "dataset_info.json")
    try:
        import json

        with open(path, encoding="utf-8") as f:
            info = json.load(f)
        return {v.get("file_name") for v in info.values() if isinstance(v, dict)} - {None}
    except (OSError, ValueError, AttributeError):
        return set()


class Checker:
    """Checks files or in-memory values with one set of options and rules."""

    def __init__(self, options: Options | None = None, rules: list[Rule] | None = None):
        self.options = options or Options()
        self.rules = rules if rules is not None else select_rules(self.options.select,
                                                                  self.options.ignore)
        self._lf_cache: dict[str, set[str]] = {}
        self.env: dict[str, Any] = {}  # per-run resources the stages build once

    # --- entry points ---------------------------------------------------------------------

    def check_paths(self, paths: Iterable[str]) -> Result:
        result = Result()
        for path in expand_paths(paths):
            result.files += 1
            self._check_source(loader.read(path, display=os.path.relpath(path)
                                           if not os.path.isabs(path) else path), result)
        result.diagnostics.sort(key=Diagnostic.sort_key)
        return result

    def check_templates(self, paths: Iterable[str]) -> tuple[Result, list[tuple[str, Any]]]:
        """Lint chat templates alone (``qwenlint template``): probe each, run the template rules.

        A path is a template file (``.jinja``, ``chat_template.json``, ``tokenizer_config.json``)
        or a model directory.  Returns the result and, per path, its probed capabilities (None
        when the template could not be loaded or parsed).
        """
        from dataclasses import replace

        from qwenlint.stages.template import template_env
        from qwenlint.template import probe

        result, table = Result(), []
        rules = [r for r in self.rules if r.stage == "template"]
        for path in paths:
            result.files += 1
            is_dir = os.path.isdir(path)
            opts = replace(self.options, template=None if is_dir else path,
                           model=path if is_dir else None)
            ctx = Context(file=path, batch=Batch(), options=opts, env={})
            env = template_env(ctx)
            caps = probe(env.template, env.tokens) if env.template is not None else None
            ctx.env["template_caps"] = caps
            table.append((path, caps))
            saved, self.rules = self.rules, rules
            try:
                result.diagnostics.extend(self._run_rules(ctx, text=None, first_line=1))
            finally:
                self.rules = saved
        result.diagnostics.sort(key=Diagnostic.sort_key)
        return result, table

    def check_value(self, value: Any, file: str = "<memory>", base_dir: str = ".") -> Result:
        result = Result(files=1)
        self._check_record(Record(value=value), file, base_dir, result, locate_text=False)
        return result

    # --- internals ------------------------------------------------------------------------

    def _check_source(self, src: loader.Source, result: Result) -> None:
        base_dir = self.options.media_root or os.path.dirname(os.path.abspath(src.path))
        for record in src.records:
            self._check_record(record, src.display, base_dir, result, locate_text=True)
        if src.problems:
            ctx = Context(file=src.display, batch=Batch(), options=self.options,
                          problems=src.problems)
            result.diagnostics.extend(self._run_rules(ctx, text=None, first_line=1))

    def _default_target(self, conv, file: str) -> str:
        directory = os.path.dirname(os.path.abspath(file))
        if conv.dialect in ("sharegpt", "messages-record", "alpaca"):
            if directory not in self._lf_cache:
                self._lf_cache[directory] = _llamafactory_files(directory)
            if os.path.basename(file) in self._lf_cache[directory]:
                return "llamafactory"
        return consumers.infer_target(conv)

    def _check_record(self, record: Record, file: str, base_dir: str, result: Result,
                      locate_text: bool) -> None:
        batch = normalise(record.value)
        for conv in batch.conversations:
            conv.record_line = record.line
        ctx = Context(file=file, batch=batch, options=self.options, base_dir=base_dir, env=self.env)
        for conv in batch.conversations:
            ctx.targets[conv.index] = self.options.target or self._default_target(conv, file)
        result.conversations += len(batch.conversations)
        for stage in STAGES:
            stage(ctx)
        diags = self._run_rules(ctx, record.text if locate_text else None, record.line or 1)
        result.diagnostics.extend(diags)

    def _run_rules(self, ctx: Context, text: str | None, first_line: int) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        have = features(ctx)
        for r in self.rules:
            if r.needs and have.isdisjoint(r.needs):
                continue  # the record lacks what this rule looks at (e.g. media, a budget)
            try:
                findings = list(r.check(ctx))
            except Exception as e:  # a bug in a rule must not look like a finding
                raise InternalError(f"rule {r.code} ({r.name}) failed on {ctx.file}: "
                                    f"{type(e).__name__}: {e}") from e
            for f in findings:
                data = f.data or {}
                out.append(Diagnostic(
                    rule=r.code, name=r.name, severity=f.severity or r.severity, message=f.message,
                    file=f.file or ctx.file, pointer=f.pointer, help=f.help, fix=f.fix,
                    line=data.get("line"), column=data.get("column"),
                    record_line=first_line if text is not None else None,
                    extra={k: v for k, v in data.items() if k not in ("line", "column")}))
        if out and text is not None:
            positions = locate(text, {d.pointer for d in out if d.line is None and d.file == ctx.file},
                               first_line)
            out = [d if d.line is not None or d.file != ctx.file else
                   d.located(line=positions.get(d.pointer, (first_line, 1))[0],
                             column=positions.get(d.pointer, (first_line, 1))[1])
                   for d in out]
        return out
