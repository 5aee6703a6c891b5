"""The record loop and the fold: the one module that runs the stages and the rules.

::

    file ─► load ─► normalise ─► stages ─► rules ─► locate ─► RecordOutcome ─► Fold ─► Result
                                 (targets, dataset views, media facts, predictions, render,
                                  token accounting: qwenlint.stages)

* :class:`Engine` holds one run: its resources (:func:`qwenlint.stages.open_run`, built before the
  first record) and the selected rules.  :meth:`Engine.check_source` is **the** record loop: it
  yields one :class:`RecordOutcome` per record of a file (records are processed one at a time, so
  memory stays flat for JSONL and streamed JSON arrays), then one for the file's load problems.
  Line and column are computed only for records that have diagnostics.
* :class:`Fold` turns outcomes, in file order, into a :class:`~qwenlint.result.Result`.  It applies
  the rules' scopes (:class:`~qwenlint.rules.base.Scope`): a run-scope rule's findings are kept the
  first time it fires, a file-scope finding with a key the first time the key occurs in the file,
  and a cross-record rule's observations are concluded into findings; and it collects the
  statistics.  It names no rule.  An engine's ``keep`` filter (the configuration's
  per-file-ignores) is applied here, before anything is counted: ``--statistics`` and the worst
  records count only what is reported.
* Runners feed the fold: :func:`run_serial` here, :func:`qwenlint.parallel.run_parallel` for
  ``--jobs`` (workers run the same loop and send outcomes back), and the fixer, ``qwenlint tokens``
  and ``qwenlint smoke`` use the same loop and read the outcomes (``keep=True`` keeps each record's
  context in its outcome).
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator

from qwenlint import remote
from qwenlint.consumers.versions import Versions
from qwenlint.context import RecordContext
from qwenlint.diagnostics import Diagnostic, Severity
from qwenlint.dialects.normalise import normalise, normalise_array_record
from qwenlint.ir import Batch, Record
from qwenlint.load import files as loader
from qwenlint.load import limits
from qwenlint.load.positions import locate
from qwenlint.load.source import LoadProblem
from qwenlint.options import Options
from qwenlint.pointer import under
from qwenlint.result import Result
from qwenlint.rules import Finding, Observation, Rule, Scope, features, select_rules
from qwenlint.stages import open_run, run_stages
from qwenlint.summary import RecordStat, Summary


class InternalError(Exception):
    """A bug in qwenlint itself (never the user's input): QL005 on the record, and the CLI exits 2."""


#: The rule that reports a record or file qwenlint failed on (qwenlint.rules.files).
INTERNAL_ERROR = "QL005"


@dataclass(frozen=True, slots=True)
class FileScope:
    """What the records of one file share: how the file is named, where its media resolve, and
    the ``dataset_info.json`` entry that declares it."""

    file: str
    base_dir: str
    dataset_entry: Any = None  # consumers.llamafactory.DatasetAttr
    registry: bool = False  # the file is a dataset_info.json: its entries are checked, not records


@dataclass(slots=True)
class RecordOutcome:
    """What checking one record gave (``record`` None: the load problems of ``file``)."""

    file: str
    record: Record | None
    #: Each diagnostic with its scope key (None: it belongs to the record, always kept).
    findings: list[tuple[Diagnostic, str | None]] = field(default_factory=list)
    #: What cross-record rules noted: (rule code, observation), for the fold to conclude.
    observations: list[tuple[str, Observation]] = field(default_factory=list)
    #: With statistics: (pointer, line, total tokens) per conversation.
    conversations: list[tuple[str, int | None, int]] = field(default_factory=list)
    n_conversations: int = 0
    targets: frozenset = frozenset()  # the consumers of the record's conversations
    #: How each conversation was read: (dialect, consumer) per conversation, in order.
    read_as: tuple[tuple[str, str], ...] = ()
    context: RecordContext | None = None  # with keep=True
    #: qwenlint failed on the record (or the file): (one line, traceback); see Engine.failure
    failure: tuple[str, str] | None = None

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for d, _ in self.findings]


class Engine:
    """Checks records with one run's resources and rules (see the module docstring)."""

    def __init__(self, options: Options | None = None, rules: list[Rule] | None = None, *,
                 statistics: bool = False, accounting: bool = False,
                 with_template: bool | None = None,
                 keep: Callable[[list[Diagnostic]], list[Diagnostic]] | None = None):
        self.options = options or Options()
        self.keep = keep  # drops what is not reported (per-file-ignores), in the fold
        self.rules = rules if rules is not None else select_rules(self.options.selection(),
                                                                  self.options.ignore)
        self.statistics = statistics
        self.run = open_run(self.options, with_template=with_template,
                            accounting=accounting or statistics or self.options.max_model_len is not None)
        self._rules_memo: dict[frozenset, list[Rule]] = {}

    # --- the record loop ----------------------------------------------------------------------

    def read(self, path: str, split: bool | None = None) -> loader.Source:
        """Read a file; ``split``: always read a top-level array of records element by element."""
        return loader.read(path, display=loader.display_path(path), stream=split,
                           access=self.options.access())

    def foreign(self, src: loader.Source, as_path: str | None = None) -> bool:
        """Whether a file a directory walk found is skipped: JSON in no dialect qwenlint reads
        (:func:`qwenlint.load.files.foreign`) or Hugging Face datasets' own ``dataset_info.json``,
        unless it is LLaMA-Factory's ``dataset_info.json`` or a file one declares (read as the entry says, whatever its keys; ``as_path``: see :meth:`file_scope`)."""
        path = as_path or src.path
        if os.path.basename(path) == "dataset_info.json":
            return loader.hf_dataset_info(src)  # Hugging Face's own, beside its .arrow files
        if not remote.is_url(path) and self.run.datasets.entry_for(path) is not None:
            return False
        return loader.foreign(src)

    def file_scope(self, src: loader.Source, as_path: str | None = None) -> FileScope:
        """The file-wide context of ``src``; ``as_path``: the path it stands for when its text was
        read from elsewhere (standard input): the dataset entry, media base and name are its."""
        path = as_path or src.path
        if remote.is_url(path):  # media resolve against the URL's folder; no dataset_info.json
            return FileScope(src.display, remote.parent(path))
        entry = self.run.datasets.entry_for(path)
        if entry is not None and entry.file_columns is None:
            # LLaMA-Factory's loader gives every record the columns of the whole file: read them
            # once (a second pass over a file a dataset_info.json entry declares).
            columns, keys = loader.columns(src.path, entry.messages)
            entry = replace(entry, file_columns=columns, message_keys=keys)
        return FileScope(src.display, os.path.dirname(os.path.abspath(path)), entry,
                         registry=os.path.basename(path) == "dataset_info.json")

    def check_source(self, src: loader.Source, *, shard: tuple[int, int] | None = None,
                     keep: bool = False, as_path: str | None = None) -> Iterator[RecordOutcome]:
        """The record loop: an outcome per record of ``src`` (only those of ``shard``, ``(i, n)``:
        the records whose ordinal is ``i`` modulo ``n``), then one for its load problems
        (``as_path``: see :meth:`file_scope`)."""
        scope = self.file_scope(src, as_path)
        for record in src.records:
            if in_shard(record, shard):
                yield self.check_record(record, scope, keep=keep)
        if src.problems and (shard is None or shard[0] == 0):
            yield self.check_problems(scope, src.problems)

    def check_record(self, record: Record, scope: FileScope, *, keep: bool = False) -> RecordOutcome:
        """One record through every stage and rule.  A record nested too deep or holding an
        integer too long for Python (:mod:`qwenlint.load.limits`) is QL004 at that value and not
        checked further; a record qwenlint fails on is QL005 (:meth:`failure`), never the end of
        the run."""
        try:
            refused = limits.violation(record.value) if limits.may_violate(record.text) else None
            if refused is not None:
                kind, pointer, message = refused
                problem = LoadProblem(kind, message, pointer=(record.pointer or "") + pointer)
                return self._problem_outcome(scope.file, record, [problem])
            return self._check_record(record, scope, keep)
        except Exception as e:  # noqa: BLE001 - one record must not end the run (QL005)
            return self.failure(scope.file, record, e)

    def failure(self, file: str, record: Record | None, exc: BaseException) -> RecordOutcome:
        """The outcome of a record (None: a file) qwenlint failed on: a QL005 diagnostic at it
        (when selected) and the failure, which the command line prints and exits 2 for."""
        what = str(exc) if isinstance(exc, InternalError) else f"{type(exc).__name__}: {exc}"
        where = file + (f":{record.line}" if record is not None and record.line else "")
        failure = (f"{what} (on {where})", traceback.format_exc())
        problem = LoadProblem("internal-error", f"qwenlint failed on this "
                              f"{'record' if record is not None else 'file'} and did not check it: "
                              f"{what}", pointer=record.pointer or "" if record is not None else "")
        try:
            out = self._problem_outcome(file, record, [problem],
                                        [r for r in self.rules if r.code == INTERNAL_ERROR])
        except Exception:  # noqa: BLE001 - even locating it failed: report it unlocated
            out = RecordOutcome(file, record)
        out.failure = failure
        return out

    def _problem_outcome(self, file: str, record: Record | None, problems: list[LoadProblem],
                         rules: list[Rule] | None = None) -> RecordOutcome:
        """A record reported by its problems alone (QL0xx), located in its text."""
        ctx = RecordContext(self.run, file, Batch(), problems=problems)
        out = RecordOutcome(file, record)
        self._apply_rules(ctx, out, record, rules=rules)
        return out

    def _check_record(self, record: Record, scope: FileScope, keep: bool) -> RecordOutcome:
        registry = None
        if scope.registry and record.pointer is None and isinstance(record.value, dict):
            batch, registry = Batch(), record.value  # LLaMA-Factory's dataset_info.json
        elif record.pointer is not None:
            batch = normalise_array_record(record.value, record.index or 0)
        else:
            batch = normalise(record.value)
            for conv in batch.conversations:
                conv.record_line = record.line
        ctx = RecordContext(self.run, scope.file, batch, scope.base_dir,
                            dataset_entry=scope.dataset_entry, registry=registry)
        run_stages(ctx)
        out = RecordOutcome(scope.file, record, n_conversations=len(batch.conversations),
                            targets=frozenset(ctx.targets.values()), context=ctx if keep else None,
                            read_as=tuple((str(c.dialect), str(ctx.targets[c.index]))
                                          for c in batch.conversations if c.index in ctx.targets))
        self._apply_rules(ctx, out, record)
        if self.statistics:
            out.conversations = _conversation_stats(ctx, record)
        return out

    def check_problems(self, scope: FileScope, problems: list) -> RecordOutcome:
        """The load problems of a file (QL0xx)."""
        try:
            return self._problem_outcome(scope.file, None, problems)
        except Exception as e:  # noqa: BLE001 - one file must not end the run (QL005)
            return self.failure(scope.file, None, e)

    def check_value(self, value: Any, file: str = "<memory>", base_dir: str = ".") -> Result:
        """Check one in-memory value (no line and column in the diagnostics, which come in the
        order the rules found them)."""
        fold = self.fold()
        fold.result.files = 1
        fold.add(self.check_record(Record(value=value), FileScope(file, base_dir)))
        return fold.result

    def fold(self) -> Fold:
        return Fold(self.rules, Summary(budget=self.options.max_model_len) if self.statistics else None,
                    versions=self.run.versions, keep=self.keep, family=self.run.profile.family)

    # --- rules --------------------------------------------------------------------------------

    def rules_for(self, have: set[str], stage: str | None = None) -> list[Rule]:
        """The rules (of ``stage``, or all) that can fire on a record with the features ``have``,
        in order: a rule whose ``needs`` are all missing is skipped (e.g. media rules on a
        text-only record).  Records share a handful of feature sets, so the filtered list is
        memoised per (stage, feature set)."""
        have = frozenset(have)
        key = have | {f"stage:{stage}"} if stage else have
        chosen = self._rules_memo.get(key)
        if chosen is None:
            chosen = self._rules_memo[key] = [
                r for r in self.rules if (stage is None or r.stage == stage)
                and not (r.needs and have.isdisjoint(r.needs))]
        return chosen

    def _apply_rules(self, ctx: RecordContext, out: RecordOutcome, record: Record | None,
                     stage: str | None = None, rules: list[Rule] | None = None) -> None:
        found: list[tuple[Diagnostic, str | None]] = []
        line = _record_line(record)
        for r in self.rules_for(features(ctx), stage) if rules is None else rules:
            try:
                results = list(r.check(ctx))
            except Exception as e:  # a bug in a rule must not look like a finding
                raise InternalError(f"rule {r.code} ({r.name}) failed on {ctx.file}: "
                                    f"{type(e).__name__}: {e}") from e
            if not results:
                continue
            if r.conclude is not None:
                out.observations.extend((r.code, o) for o in results)
                continue
            found.extend(zip(make_diagnostics(r, results, ctx.file, line),
                             (_scope_key(r, f) for f in results)))
        out.findings = locate_all(found, ctx.file, record)


def check_templates(paths: Iterable[str], options: Options) -> tuple[Result, list[tuple[str, Any]]]:
    """Lint chat templates alone (``qwenlint template``): probe each, run the template rules.

    A path is a template file (``.jinja``, ``chat_template.json``, ``tokenizer_config.json``) or a
    model directory; each is a run of its own.  Returns the result and, per path, its probed
    capabilities (None when the template could not be loaded or parsed)."""
    from qwenlint.template import probe

    result, table = Result(), []
    for path in paths:
        result.files += 1
        is_dir = os.path.isdir(path)
        opts = replace(options, template=None if is_dir else path, model=path if is_dir else None)
        engine = Engine(opts, with_template=True)
        env = engine.run.template
        caps = probe(env.template, env.tokens) if env.template is not None else None
        engine.run.caps = caps
        table.append((path, caps))
        ctx = RecordContext(engine.run, path, Batch(), needs_template=True)
        out = RecordOutcome(path, None)
        engine._apply_rules(ctx, out, None, stage="template")
        result.diagnostics.extend(out.diagnostics)
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result, table


def check_bytes(engine: Engine, data: bytes, name: str,
                shard: tuple[int, int] | None = None, *, walked: bool = False) -> Result:
    """The result of checking ``data`` as if it were the file ``name`` (standard input, an
    editor's unsaved text): its display path, format (from the suffix), per-file-ignores and media
    base directory are ``name``'s; nothing is read from or written to ``name`` itself.
    ``walked``: skipped as a walk skips it when it is JSON in no dialect qwenlint reads
    (:meth:`Engine.foreign`; ``Result.skipped`` is 1)."""
    import tempfile

    base = os.path.basename(name)
    with tempfile.TemporaryDirectory(prefix="qwenlint-stdin-") as tmp:
        path = os.path.join(tmp, base if base not in ("", "-", ".", "..") else "stdin.json")
        with open(path, "wb") as f:
            f.write(data)
        src = engine.read(path, split=True if shard is not None else None)
        src.display = loader.display_path(name) if name != "-" else "-"
        fold = engine.fold()
        if walked and engine.foreign(src, as_path=os.path.abspath(name)):
            fold.result.skipped = 1
            return fold.finish()
        fold.result.files = 1
        # as the file ``name``: where relative media paths resolve, which dataset_info.json declares it
        for outcome in engine.check_source(src, shard=shard, as_path=os.path.abspath(name)):
            fold.add(outcome)
        return fold.finish()


def in_shard(record: Record, shard: tuple[int, int] | None) -> bool:
    """Whether ``record`` belongs to ``shard`` (``(i, n)``; None: every record does)."""
    return shard is None or (record.index or 0) % shard[1] == shard[0]


def read_files(engine: Engine, paths: Iterable[str | loader.Found], fold: "Fold", *,
               split: bool | None) -> Iterator[tuple[loader.Found, loader.Source | None, RecordOutcome | None]]:
    """The files a runner checks, in order, each read once: ``(found, source, None)``, or
    ``(found, None, failure)`` for a file qwenlint failed to read (QL005: the run goes on).  A
    file a walk found in no dialect qwenlint reads is skipped (``fold.result.skipped``); every
    other is counted in ``fold.result.files``.  ``split``: as :meth:`Engine.read`.  The one loop
    of :func:`run_serial`, :func:`qwenlint.parallel.run_parallel` and :func:`qwenlint.ray.run_ray`."""
    for found in loader.found_files(paths, engine.options.access()):
        try:
            src = engine.read(found.path, split=split)
            foreign = found.walked and engine.foreign(src)
        except Exception as e:  # noqa: BLE001 - reading the file failed: QL005, the run goes on
            fold.result.files += 1
            yield found, None, engine.failure(loader.display_path(found.path), None, e)
            continue
        if foreign:
            fold.result.skipped += 1
            continue
        fold.result.files += 1
        yield found, src, None


def run_serial(engine: Engine, paths: Iterable[str | loader.Found], *,
               shard: tuple[int, int] | None = None, progress: Any = None) -> Result:
    """Check files in this process: the record loop of every file, into one fold.  ``paths``:
    files, directories (walked), or :class:`~qwenlint.load.files.Found` files."""
    fold = engine.fold()
    # With --shard an array of records is always split into its elements (the output is the same
    # as the whole-document path's); else only large ones are.
    for found, src, failed in read_files(engine, paths, fold, split=True if shard is not None else None):
        if failed is not None:
            fold.add(failed)
            continue
        try:
            for outcome in engine.check_source(src, shard=shard):
                fold.add(outcome)
                if progress is not None and outcome.record is not None:
                    progress.update(1, len(outcome.record.text or ""))
        except Exception as e:  # noqa: BLE001 - reading the file failed: QL005, the run goes on
            fold.add(engine.failure(loader.display_path(found.path), None, e))
    return fold.finish()


def recheck(engine: Engine, path: str, wanted: list[tuple[int, Diagnostic]]
            ) -> Iterator[tuple[RecordContext, list[tuple[int, Diagnostic]]]]:
    """The records of the file ``path`` that hold the ``wanted`` diagnostics (numbered by the
    caller), checked again with their context kept (``--format html`` shows the rendered prompt
    around each): ``(context, [(n, diagnostic), ...])`` per record, in file order.  Only those
    records are checked; reading stops after the last one.  A diagnostic belongs to the record
    its pointer is under (an array element, a table row), else to the one at its record line (a
    JSONL line, a whole document); a diagnostic of the file itself (no pointer, no record line) is
    in none."""
    left = [(n, d) for n, d in wanted if d.record_line is not None or d.pointer]
    if not left:
        return
    src = engine.read(path)
    scope = engine.file_scope(src)
    for record in src.records:
        line = _record_line(record)
        mine = [(n, d) for n, d in left
                if (under(d.pointer, record.pointer) if record.pointer is not None
                    else d.record_line is not None and d.record_line == line)]
        if not mine:
            continue
        outcome = engine.check_record(record, scope, keep=True)
        if outcome.context is not None:
            yield outcome.context, mine
        left = [x for x in left if x not in mine]
        if not left:
            return


# --- the fold -------------------------------------------------------------------------------------

class Fold:
    """Turns record outcomes, in file order, into a :class:`~qwenlint.result.Result` (see the
    module docstring)."""

    def __init__(self, rules: list[Rule], summary: Summary | None = None, versions: Versions | None = None,
                 keep: Callable[[list[Diagnostic]], list[Diagnostic]] | None = None,
                 family: str | None = None):
        self.result = Result(summary=summary)
        self._family = family
        self._keep = keep
        self._versions = versions
        self._targets: set = set()
        self._concluders = {r.code: r for r in rules if r.conclude is not None}
        self._run_keys: set[str] = set()
        self._file: str | None = None
        self._file_keys: set[str] = set()
        self._states: dict[str, dict] = {}

    def add(self, outcome: RecordOutcome) -> list[Diagnostic]:
        """Fold one outcome in; returns the diagnostics it kept for it."""
        if outcome.file != self._file:
            self._file, self._file_keys, self._states = outcome.file, set(), {}
        diags = []
        for d, key in outcome.findings:
            if key is not None:
                seen = self._run_keys if key.startswith("run:") else self._file_keys
                if key in seen:
                    continue
                seen.add(key)
            diags.append(d)
        for code, obs in outcome.observations:
            rule = self._concluders.get(code)
            if rule is None:
                continue
            findings = list(rule.conclude(self._states.setdefault(code, {}), obs))
            if findings:
                made = make_diagnostics(rule, findings, outcome.file, _record_line(outcome.record))
                diags.extend(d for d, _ in locate_all([(d, None) for d in made], outcome.file,
                                                      outcome.record))
        if self._keep is not None and diags:
            diags = self._keep(diags)
        self._targets |= outcome.targets
        if outcome.read_as:
            self.result.note_reading(outcome.file, self._family, outcome.read_as)
        if outcome.failure is not None:
            self.result.failures.append(outcome.failure)
        if outcome.record is None:
            self.result.diagnostics.extend(diags)
        else:
            self._collect(outcome, diags)
        return diags

    def finish(self) -> Result:
        self.result.diagnostics.sort(key=Diagnostic.sort_key)
        if self._versions is not None:
            self.result.assumed = self._versions.describe(sorted(self._targets))
        return self.result

    def _collect(self, outcome: RecordOutcome, diags: list[Diagnostic]) -> None:
        """Add one record's diagnostics (and statistics) to the result."""
        result, file, record = self.result, outcome.file, outcome.record
        result.records += 1
        result.conversations += outcome.n_conversations
        result.diagnostics.extend(diags)
        s = result.summary
        if s is None:
            return
        convs = outcome.conversations
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
                    if under(d.pointer, ptr) and len(ptr) > blen:
                        best, blen = k, len(ptr)
                if best is not None:
                    groups[best].append(d)
        for (ptr, line, tokens), g in zip(convs, groups):
            s.add(RecordStat(sum(d.severity is Severity.ERROR for d in g),
                             sum(d.severity is Severity.WARNING for d in g), tokens, file, line, ptr))


# --- diagnostics: made from findings, located in the record's text ---------------------------------

def _scope_key(r: Rule, f: Finding) -> str | None:
    if r.scope is Scope.RUN:
        return f"run:{r.code}"
    if r.scope is Scope.FILE and f.key is not None:
        return f"file:{r.code}:{f.key}"
    return None


def _record_line(record: Record | None) -> int | None:
    """The line a JSONL diagnostic's pointer is relative to (None: a whole document, or not from
    text)."""
    if record is None or record.text is None:
        return None
    return (record.line or 1) if record.pointer is None else 1


def make_diagnostics(r: Rule, findings: list[Finding], file: str, record_line: int | None
                     ) -> list[Diagnostic]:
    out = []
    for f in findings:
        data = f.data or {}
        out.append(Diagnostic(
            rule=r.code, name=r.name, severity=f.severity or r.severity, message=f.message,
            file=f.file or file, pointer=f.pointer, help=f.help, fix=f.fix,
            line=data.get("line"), column=data.get("column"), record_line=record_line,
            extra={k: v for k, v in data.items() if k not in ("line", "column")}))
    return out


def locate_all(found: list[tuple[Diagnostic, str | None]], file: str, record: Record | None
               ) -> list[tuple[Diagnostic, str | None]]:
    """Fill in line/column of the diagnostics that point into the record's text (a record, or the
    element at ``record.pointer`` of a streamed array, starting at ``record.line``:``column``)."""
    if not found or record is None or record.text is None:
        return found
    want = {d.pointer for d, _ in found if d.line is None and d.file == file}
    if not want:
        return found
    text, first_line, prefix, column = record.text, record.line or 1, record.pointer, record.column
    if prefix is None:
        positions = locate(text, want, first_line)
        fallback = (first_line, 1)
    else:
        rel = {p: p[len(prefix):] for p in want if p == prefix or p.startswith(prefix + "/")}
        got = locate(text, set(rel.values()), first_line)
        positions = {}
        for p in want:
            if p not in rel:
                positions[p] = (1, 1)  # outside the element: the file's start
                continue
            line, col = got.get(rel[p], (first_line, 1))
            positions[p] = (line, col + column - 1 if line == first_line else col)
        fallback = (first_line, column)
    return [(d if d.line is not None or d.file != file else
             d.located(line=positions.get(d.pointer, fallback)[0],
                       column=positions.get(d.pointer, fallback)[1]), key)
            for d, key in found]


def _conversation_stats(ctx: RecordContext, record: Record) -> list[tuple[str, int | None, int]]:
    """(pointer, line, total tokens) per conversation: the accounting stage's totals."""
    out = []
    for conv in ctx.conversations:
        ct = ctx.tokens.get(conv.index)
        out.append([conv.record_pointer if conv.record is not None else conv.pointer,
                    record.line, ct.total if ct is not None else 0])
    if record.pointer is None and record.line is None and record.text is not None and out:
        pos = locate(record.text, {p for p, _, _ in out})
        for o in out:
            o[1] = pos.get(o[0], (1, 1))[0]
    return [tuple(o) for o in out]
