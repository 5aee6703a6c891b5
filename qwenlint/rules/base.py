"""The rule registry: what a rule is, how it is declared, and what it is given.

A rule is one small function of a :class:`~qwenlint.context.RecordContext` (the normalised
conversations, the facts, the predictions, the renders: what the stages found) that yields
:class:`Finding` objects.  It only reads the context: no I/O, no state of its own.  Its docs live in
its docstring, in four sections — ``What``, ``Why``, ``Example``, ``Fix`` — from which
``qwenlint rule`` and docs/rules.md are made::

    @rule("QL102", "mixed-batch-nesting", Severity.ERROR, "A batch mixes conversations and messages.")
    @needs("shape")
    def mixed_batch_nesting(ctx):
        '''What: ...

        Why: ...
        '''
        for issue in ctx.shape_issues("mixed-nesting"):
            yield Finding(issue.pointer, "...", help="...")

``@needs`` names the record features without which the rule cannot fire, so the engine skips it
on records that lack them.  A rule also declares its **scope** (:class:`Scope`): what its findings
are about, which decides how the engine keeps them when they repeat across records —

* ``record`` (the default): the finding belongs to the record it was found in;
* ``file``: findings that carry a ``key`` are about the file (a ``dataset_info.json`` entry, a
  column every record has): the first record of the file that reports a key keeps it, the later
  ones are dropped.  A **cross-record** rule (QL606: duplicate ids) is a file-scope rule with a
  ``conclude`` step: its function yields :class:`Observation` objects instead of findings, and
  ``conclude(state, observation)`` turns them into findings, record by record in file order, with
  ``state`` a dict kept for the file;
* ``run``: the rule is about the run itself (the chat template, ``--model``'s configs): the first
  record, in file order, where it fires reports it, and it is not asked again.

The engine applies scopes the same way with and without ``--jobs`` and names no rule.  Codes are
stable: never renumber, alias instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from qwenlint.context import RecordContext
from qwenlint.diagnostics import Fix, Severity
from qwenlint.ir import StrEnum


class Scope(StrEnum):
    """What a rule's findings are about (see the module docstring)."""

    RECORD = "record"
    FILE = "file"
    RUN = "run"


@dataclass(frozen=True, slots=True)
class Finding:
    """What a rule reports; the engine adds the rule's code, name, file and position."""

    pointer: str
    message: str
    help: str | None = None
    fix: Fix | None = None
    severity: Severity | None = None  # overrides the rule's default (e.g. a softer case)
    data: dict[str, Any] | None = None  # "line"/"column" here are taken as the position
    file: str | None = None  # another file than the record's (e.g. the chat template)
    key: str | None = None  # file-scope rules: reported once per file and key


@dataclass(frozen=True, slots=True)
class Observation:
    """What a cross-record rule notes about one record; its ``conclude`` step reads them in file
    order.  ``key`` and ``value`` are plain data (they travel between processes with ``--jobs``)."""

    key: str
    value: Any


@dataclass(frozen=True)
class Span:
    """Releases of one package in which one case of a rule's failure happens: from ``since`` (the
    first release with it) up to, not including, ``until`` (the first without it); None is open.
    The bounds are the branch points the consumer models use (one home), and tests/
    test_rule_versions.py shows the rule firing on one side of each bound and not on the other."""

    package: str
    what: str
    since: str | None = None
    until: str | None = None

    def releases(self) -> str:
        """``qwen-vl-utils 0.0.13 and later``, ``transformers before 5.15.0``, ``x 1.0 to before 2.0``."""
        if self.since and self.until:
            return f"{self.package} {self.since} to before {self.until}"
        if self.since:
            return f"{self.package} {self.since} and later"
        return f"{self.package} before {self.until}"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    stage: str
    check: Callable[[RecordContext], Iterable[Finding | Observation]]
    docs: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    # The rule can only fire on a record that has one of these features (see FEATURES); empty:
    # it always runs.  Lets the engine skip, say, every media rule on a text-only record.
    needs: tuple[str, ...] = ()
    scope: Scope = Scope.RECORD
    # Cross-record rules: (state of the file, one observation) -> findings for the observing record.
    conclude: Callable[[dict, Observation], Iterable[Finding]] | None = None
    # The cases of the failure that happen only in some releases of a consumer (empty: every case
    # happens in every modelled release; consumers/versions.py MODELLED).
    versions: tuple[Span, ...] = ()

    @property
    def group(self) -> str:
        return self.code[:3]


_SECTIONS = ("What", "Why", "Example", "Fix")
_SECTION_RE = re.compile(r"^(What|Why|Example|Fix):\s*", re.M)


def parse_docs(doc: str | None) -> dict[str, str]:
    """Split a rule docstring into its What / Why / Example / Fix sections."""
    import inspect

    text = inspect.cleandoc(doc or "")
    out: dict[str, str] = {}
    matches = list(_SECTION_RE.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out[m.group(1)] = text[m.end():end].strip()
    return out


REGISTRY: dict[str, Rule] = {}
_STAGES = {"QL0": "file", "QL1": "structure", "QL2": "parts", "QL3": "template",
           "QL4": "media", "QL5": "budget", "QL6": "dataset"}


#: Record features a rule may need (``@needs``), computed once per record by :func:`features`.
FEATURES = {
    "problems": "the file could not be read (load problems)",
    "shape": "shape issues (batch nesting, not a conversation, ...)",
    "schema": "values of the wrong type",
    "parts": "list content (parts other than plain string content)",
    "media": "image / video / audio parts or dataset media columns",
    "dataset": "dataset records (a conversation inside a record object)",
    "registry": "LLaMA-Factory's dataset_info.json, checked as itself",
    "render": "conversations rendered with a chat template",
    "template": "a conversation of the record is rendered with the run's chat template",
    "caps": "a probed template (qwenlint template)",
    "budget": "a token budget (--max-model-len)",
    "model": "a model directory (--model)",
    "request": "a request to a vLLM server (--target vllm)",
}


def needs(*names: str) -> Callable:
    """Declare the record features without which a rule cannot fire (any one suffices)."""
    unknown = set(names) - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown features {sorted(unknown)}")

    def mark(fn: Callable) -> Callable:
        fn.needs = tuple(names)  # type: ignore[attr-defined]
        return fn

    return mark


def features(ctx: RecordContext) -> set[str]:
    """The features of one record (one cheap pass over the IR)."""
    out: set[str] = set()
    if ctx.problems:
        out.add("problems")
    if ctx.registry is not None:
        out.add("registry")
    if ctx.batch.shape_issues:
        out.add("shape")
    if ctx.batch.schema_issues:
        out.add("schema")
    for conv in ctx.batch.conversations:
        if conv.media:
            out.add("media")
        if conv.record is not None:
            out.add("dataset")
        for m in conv.messages:
            for p in m.parts:
                if p.form.value != "string":
                    out.add("parts")
                if p.kind.is_media:
                    out.add("media")
    if ctx.renders:
        out.add("render")
    if ctx.needs_template:
        out.add("template")
    if ctx.run.caps is not None:
        out.add("caps")
    if ctx.options.max_model_len:
        out.add("budget")
    if ctx.options.model:
        out.add("model")
    if ctx.requests:
        out.add("request")
    return out


def rule(code: str, name: str, severity: Severity, summary: str, aliases: tuple[str, ...] = (), *,
         scope: Scope = Scope.RECORD,
         conclude: Callable[[dict, Observation], Iterable[Finding]] | None = None,
         versions: tuple[Span, ...] = ()) -> Callable:
    """Register a rule function under a stable code and kebab-case name (see the module
    docstring for ``scope`` and ``conclude``)."""
    if not re.fullmatch(r"QL\d{3}", code):
        raise ValueError(f"bad rule code {code!r}")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
        raise ValueError(f"rule name must be kebab-case: {name!r}")

    if conclude is not None and scope is not Scope.FILE:
        raise ValueError(f"{code}: a rule with a conclude step has file scope")

    def register(fn: Callable[[RecordContext], Iterable[Finding | Observation]]) -> Callable:
        if code in REGISTRY:
            raise ValueError(f"duplicate rule code {code}")
        REGISTRY[code] = Rule(code, name, severity, summary, _STAGES.get(code[:3], "other"), fn,
                              parse_docs(fn.__doc__), aliases, getattr(fn, "needs", ()), scope,
                              conclude, versions)
        return fn

    return register


def select_rules(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
    """Rules enabled by ``--select`` / ``--ignore`` (codes, code prefixes or names), in code order."""
    select, ignore = list(select), list(ignore)

    def matches(r: Rule, sel: str) -> bool:
        sel = sel.strip()
        return bool(sel) and (r.code.startswith(sel.upper()) or r.name == sel or sel.upper() == "ALL"
                              or any(a.startswith(sel.upper()) for a in r.aliases))

    out = []
    for code in sorted(REGISTRY):
        r = REGISTRY[code]
        if select and not any(matches(r, s) for s in select):
            continue
        if any(matches(r, s) for s in ignore):
            continue
        out.append(r)
    return out


def find_rule(code_or_name: str) -> Rule | None:
    key = code_or_name.strip()
    if key.upper() in REGISTRY:
        return REGISTRY[key.upper()]
    for r in REGISTRY.values():
        if r.name == key or key.upper() in r.aliases:
            return r
    return None
