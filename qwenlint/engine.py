"""Runs the stages in order for each input: the one module that knows them all.

    files ─► load ─► normalise ─► (media facts ─► predictions ─► render) ─► rules ─► locate

Every stage is a plain function of the previous stage's output.  Records are processed one at a
time, so memory stays flat for JSONL datasets and for large JSON arrays of records (streamed
element by element, :mod:`qwenlint.load.stream`); positions (line, column) are computed only for
records that have diagnostics.

Scale options: ``jobs`` checks chunks of records in worker processes (:mod:`qwenlint.parallel`,
output identical to one process); ``shard=(i, n)`` checks only the records whose ordinal in
their file is ``i`` modulo ``n``; ``statistics`` collects a :class:`qwenlint.summary.Summary`
(token-length histogram, worst records); ``progress`` is told how far the run is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from qwenlint import consumers
from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.dialects.normalise import normalise, normalise_array_record
from qwenlint.ir import Batch, Record
from qwenlint.load import files as loader
from qwenlint.load.positions import locate
from qwenlint.options import Options
from qwenlint.rules import Context, Rule, select_rules
from qwenlint.rules.base import features
from qwenlint.rules.dataset import FILE_STATE_KEY
from qwenlint.stages import STAGES
from qwenlint.summary import RecordStat, Summary

#: Rules that report once per run (the template, the --model configs), whatever the record.
#: A --jobs worker reports them once per chunk; the parent keeps the first, in file order.
RUN_ONCE_RULES = frozenset({"QL301", "QL308", "QL309", "QL412"})
#: The ``env`` flags those rules keep (reset by a worker for every chunk).
RUN_ONCE_ENV = ("_once", "vision:profile-reported")

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
    records: int = 0
    summary: Summary | None = None  # with Checker(statistics=True)

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


class _IdRecorder(dict):
    """A --jobs worker's stand-in for QL606's id table: records every id, reports none (the
    parent replays the ids in file order and reports the duplicates)."""

    def __init__(self):
        super().__init__()
        self.entries: list[tuple[str, Any]] = []

    def get(self, key, default=None):  # noqa: D102 - never "seen": the parent decides
        return None

    def __setitem__(self, key, value):
        self.entries.append((key, value))


def _display(path: str) -> str:
    return os.path.relpath(path) if not os.path.isabs(path) else path


def resolve_jobs(jobs: int) -> int:
    """``--jobs``: 0 means every core this process may use."""
    if jobs and jobs > 0:
        return jobs
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class Checker:
    """Checks files or in-memory values with one set of options and rules."""

    def __init__(self, options: Options | None = None, rules: list[Rule] | None = None, *,
                 jobs: int = 1, shard: tuple[int, int] | None = None, statistics: bool = False,
                 progress: Any = None):
        self.options = options or Options()
        self.rules = rules if rules is not None else select_rules(self.options.select,
                                                                  self.options.ignore)
        self._lf_cache: dict[str, set[str]] = {}
        self._rules_memo: dict[tuple[str | None, frozenset], list[Rule]] = {}
        self.env: dict[str, Any] = {}  # per-run resources the stages build once
        self.jobs = resolve_jobs(jobs)
        if shard is not None and not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
            raise ValueError(f"shard {shard[0]}/{shard[1]}: expected 0 <= i < n")
        self.shard = shard if shard is not None and shard[1] > 1 else None
        self.statistics = statistics
        self.progress = progress  # an object with update(records, nbytes), or None

    # --- entry points ---------------------------------------------------------------------

    def check_paths(self, paths: Iterable[str]) -> Result:
        result = Result(summary=Summary(budget=self.options.max_model_len)
                        if self.statistics else None)
        if self.jobs > 1:
            from qwenlint import parallel

            parallel.check_paths(self, list(expand_paths(paths)), result)
        else:
            for path in expand_paths(paths):
                result.files += 1
                self._check_source(self.read(path), result)
        result.diagnostics.sort(key=Diagnostic.sort_key)
        return result

    def read(self, path: str) -> loader.Source:
        # With --jobs or --shard an array of records is always split into its elements (the
        # output is the same as the whole-document path's); else only large ones are.
        split = True if (self.jobs > 1 or self.shard is not None) else None
        return loader.read(path, display=_display(path), stream=split)

    def in_shard(self, record: Record) -> bool:
        if self.shard is None:
            return True
        i, n = self.shard
        return (record.index or 0) % n == i

    @property
    def reports_file_problems(self) -> bool:
        """File-level load problems are reported by shard 0 only."""
        return self.shard is None or self.shard[0] == 0

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
            result.diagnostics.extend(self._run_rules(ctx, text=None, first_line=1,
                                                      stage="template"))
        result.diagnostics.sort(key=Diagnostic.sort_key)
        return result, table

    def check_value(self, value: Any, file: str = "<memory>", base_dir: str = ".") -> Result:
        result = Result(files=1)
        self._check_record(Record(value=value), file, base_dir, result, locate_text=False)
        return result

    # --- internals ------------------------------------------------------------------------

    def base_dir(self, src: loader.Source) -> str:
        return self.options.media_root or os.path.dirname(os.path.abspath(src.path))

    def begin_file(self, file: str, ids: dict | None = None) -> None:
        """Fresh per-file state for the checks that span records (QL606, QL607, QL609)."""
        self.env[FILE_STATE_KEY] = {"file": file, "ids": {} if ids is None else ids,
                                    "said": set()}

    def _check_source(self, src: loader.Source, result: Result) -> None:
        base_dir = self.base_dir(src)
        self.begin_file(src.display)
        for record in src.records:
            if not self.in_shard(record):
                continue
            tagged, convs, n = self.check_record(record, src.display, base_dir)
            diags = [d for d, _ in tagged]
            self.collect(result, src.display, record, diags, convs, n)
            if self.progress is not None:
                self.progress.update(1, len(record.text or ""))
        self.file_problems(src, result)

    def file_problems(self, src: loader.Source, result: Result) -> None:
        if src.problems and self.reports_file_problems:
            ctx = Context(file=src.display, batch=Batch(), options=self.options,
                          problems=src.problems)
            result.diagnostics.extend(self._run_rules(ctx, text=None, first_line=1))

    def collect(self, result: Result, file: str, record: Record, diags: list[Diagnostic],
                convs: list[tuple[str, int | None, int]], n_convs: int) -> None:
        """Add one record's diagnostics (and statistics) to the result."""
        result.records += 1
        result.conversations += n_convs
        result.diagnostics.extend(diags)
        s = result.summary
        if s is None:
            return
        for _, _, tokens in convs:
            s.add_tokens(tokens)
        mine = [d for d in diags if d.file == file]
        if not convs:
            if mine:
                s.add(RecordStat(sum(d.severity is Severity.ERROR for d in mine),
                                 sum(d.severity is Severity.WARNING for d in mine), 0, file,
                                 record.line if record.line is not None else mine[0].line,
                                 record.pointer or ""))
            return
        groups: list[list[Diagnostic]] = [[] for _ in convs]
        if len(convs) == 1:
            groups[0] = mine
        else:
            for d in mine:
                best, blen = None, -1
                for k, (ptr, _, _) in enumerate(convs):
                    if (d.pointer == ptr or d.pointer.startswith(ptr + "/")) and len(ptr) > blen:
                        best, blen = k, len(ptr)
                if best is not None:
                    groups[best].append(d)
        for (ptr, line, tokens), g in zip(convs, groups):
            s.add(RecordStat(sum(d.severity is Severity.ERROR for d in g),
                             sum(d.severity is Severity.WARNING for d in g), tokens, file, line, ptr))

    def _default_target(self, conv, file: str) -> str:
        directory = os.path.dirname(os.path.abspath(file))
        if conv.dialect in ("sharegpt", "messages-record", "alpaca"):
            if directory not in self._lf_cache:
                self._lf_cache[directory] = _llamafactory_files(directory)
            if os.path.basename(file) in self._lf_cache[directory]:
                return "llamafactory"
        return consumers.infer_target(conv)

    def after_stages(self, ctx: Context) -> None:
        """Called for every record once the stages ran, before the rules: an extension point for
        reports built from facts and predictions (``qwenlint tokens``).  Does nothing here."""

    def _check_record(self, record: Record, file: str, base_dir: str, result: Result,
                      locate_text: bool) -> None:
        tagged, convs, n = self.check_record(record, file, base_dir, locate_text)
        self.collect(result, file, record, [d for d, _ in tagged], convs, n)

    def check_record(self, record: Record, file: str, base_dir: str, locate_text: bool = True
                     ) -> tuple[list[tuple[Diagnostic, str | None]], list, int]:
        """One record through every stage and rule.

        Returns the diagnostics, each with its once-per-file tag (or None), the statistics of
        its conversations (pointer, line, tokens; only with ``statistics``) and the number of
        conversations."""
        if record.pointer is not None:
            batch = normalise_array_record(record.value, record.index or 0)
        else:
            batch = normalise(record.value)
            for conv in batch.conversations:
                conv.record_line = record.line
        ctx = Context(file=file, batch=batch, options=self.options, base_dir=base_dir, env=self.env)
        for conv in batch.conversations:
            ctx.targets[conv.index] = self.options.target or self._default_target(conv, file)
        for stage in STAGES:
            stage(ctx)
        self.after_stages(ctx)
        text = record.text if locate_text else None
        tagged = self._run_rules_tagged(ctx, text, record.line or 1, prefix=record.pointer,
                                        column=record.column)
        convs = self._conversation_stats(ctx, record) if self.statistics else []
        return tagged, convs, len(batch.conversations)

    def _conversation_stats(self, ctx: Context, record: Record) -> list[tuple[str, int | None, int]]:
        """(pointer, line, total tokens) per conversation: the budget rule's accounting."""
        from qwenlint.rules.budget import conversation_tokens

        out = []
        for conv in ctx.conversations:
            try:
                tokens = conversation_tokens(ctx, conv).total
            except Exception:  # noqa: BLE001 - statistics never fail a run
                tokens = 0
            out.append([conv.record_pointer if conv.record is not None else conv.pointer,
                        record.line, tokens])
        if record.pointer is None and record.line is None and record.text is not None and out:
            pos = locate(record.text, {p for p, _, _ in out})
            for o in out:
                o[1] = pos.get(o[0], (1, 1))[0]
        return [tuple(o) for o in out]

    def make_diagnostics(self, r: Rule, findings, file: str, record_line: int | None
                         ) -> list[tuple[Diagnostic, str | None]]:
        out = []
        for f in findings:
            data = f.data or {}
            out.append((Diagnostic(
                rule=r.code, name=r.name, severity=f.severity or r.severity, message=f.message,
                file=f.file or file, pointer=f.pointer, help=f.help, fix=f.fix,
                line=data.get("line"), column=data.get("column"), record_line=record_line,
                extra={k: v for k, v in data.items()
                       if k not in ("line", "column") and not k.startswith("_")}),
                data.get("_once")))
        return out

    def locate_all(self, tagged: list[tuple[Diagnostic, str | None]], file: str, text: str | None,
                   first_line: int, prefix: str | None = None, column: int = 1
                   ) -> list[tuple[Diagnostic, str | None]]:
        """Fill in line/column of the diagnostics that point into ``text`` (a record, or the
        element at ``prefix`` of a streamed array, starting at ``first_line``:``column``)."""
        if not tagged or text is None:
            return tagged
        want = {d.pointer for d, _ in tagged if d.line is None and d.file == file}
        if not want:
            return tagged
        if prefix is None:
            positions = locate(text, want, first_line)
            fallback = (first_line, 1)
        else:
            rel = {p: p[len(prefix):] for p in want if p == prefix or p.startswith(prefix + "/")}
            found = locate(text, set(rel.values()), first_line)
            positions = {}
            for p in want:
                if p not in rel:
                    positions[p] = (1, 1)  # outside the element: the file's start
                    continue
                line, col = found.get(rel[p], (first_line, 1))
                positions[p] = (line, col + column - 1 if line == first_line else col)
            fallback = (first_line, column)
        return [(d if d.line is not None or d.file != file else
                 d.located(line=positions.get(d.pointer, fallback)[0],
                           column=positions.get(d.pointer, fallback)[1]), tag)
                for d, tag in tagged]

    def _run_rules(self, ctx: Context, text: str | None, first_line: int,
                   stage: str | None = None) -> list[Diagnostic]:
        return [d for d, _ in self._run_rules_tagged(ctx, text, first_line, stage=stage)]

    def _rules_for(self, have: set[str], stage: str | None = None) -> list[Rule]:
        """The rules (of ``stage``, or all) that can fire on a record with the features ``have``,
        in order: a rule whose ``needs`` are all missing is skipped (e.g. media rules on a
        text-only record).  Records share a handful of feature sets, so the filtered list is
        memoised per (stage, feature set)."""
        key = (stage, frozenset(have))
        chosen = self._rules_memo.get(key)
        if chosen is None:
            chosen = self._rules_memo[key] = [
                r for r in self.rules if (stage is None or r.stage == stage)
                and not (r.needs and key[1].isdisjoint(r.needs))]
        return chosen

    def _run_rules_tagged(self, ctx: Context, text: str | None, first_line: int,
                          prefix: str | None = None, column: int = 1, stage: str | None = None
                          ) -> list[tuple[Diagnostic, str | None]]:
        out: list[tuple[Diagnostic, str | None]] = []
        record_line = (first_line if prefix is None else 1) if text is not None else None
        for r in self._rules_for(features(ctx), stage):
            try:
                findings = list(r.check(ctx))
            except Exception as e:  # a bug in a rule must not look like a finding
                raise InternalError(f"rule {r.code} ({r.name}) failed on {ctx.file}: "
                                    f"{type(e).__name__}: {e}") from e
            if findings:
                out.extend(self.make_diagnostics(r, findings, ctx.file, record_line))
        return self.locate_all(out, ctx.file, text, first_line, prefix, column)
