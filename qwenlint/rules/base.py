"""The rule registry: what a rule is, how it is declared, and what it is given.

A rule is one small function of a :class:`Context` (the normalised conversations, the facts and
the predictions) that yields :class:`Finding` objects.  It does no I/O.  Its docs live in its
docstring, in four sections — ``What``, ``Why``, ``Example``, ``Fix`` — from which ``qwenlint rule``
and docs/rules.md are made::

    @rule("QL102", "mixed-batch-nesting", Severity.ERROR, "A batch mixes conversations and messages.")
    def mixed_batch_nesting(ctx):
        '''What: ...

        Why: ...
        '''
        for issue in ctx.shape_issues("mixed-nesting"):
            yield Finding(issue.pointer, "...", help="...")

Codes are stable: never renumber, alias instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from qwenlint import consumers
from qwenlint.diagnostics import Fix, Severity
from qwenlint.ir import Batch, Conversation, Message, Part, SchemaIssue, ShapeIssue
from qwenlint.options import Options


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


@dataclass(frozen=True, slots=True)
class Example:
    """A docs example: input, and whether the rule fires on it."""

    title: str
    body: str
    fires: bool


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    stage: str
    check: Callable[["Context"], Iterable[Finding]]
    docs: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    # The rule can only fire on a record that has one of these features (see FEATURES); empty:
    # it always runs.  Lets the engine skip, say, every media rule on a text-only record.
    needs: tuple[str, ...] = ()

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
    "render": "conversations rendered with a chat template",
    "template": "a chat template was resolved for this run",
    "caps": "a probed template (qwenlint template)",
    "budget": "a token budget (--max-model-len)",
    "model": "a model directory (--model)",
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


def features(ctx: "Context") -> set[str]:
    """The features of one record (one cheap pass over the IR)."""
    out: set[str] = set()
    if ctx.problems:
        out.add("problems")
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
    if ctx.env.get("template") is not None:
        out.add("template")
    if ctx.env.get("template_caps") is not None:
        out.add("caps")
    if ctx.options.max_model_len:
        out.add("budget")
    if ctx.options.model:
        out.add("model")
    return out


def rule(code: str, name: str, severity: Severity, summary: str,
         aliases: tuple[str, ...] = ()) -> Callable:
    """Register a rule function under a stable code and kebab-case name."""
    if not re.fullmatch(r"QL\d{3}", code):
        raise ValueError(f"bad rule code {code!r}")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
        raise ValueError(f"rule name must be kebab-case: {name!r}")

    def register(fn: Callable[["Context"], Iterable[Finding]]) -> Callable:
        if code in REGISTRY:
            raise ValueError(f"duplicate rule code {code}")
        REGISTRY[code] = Rule(code, name, severity, summary, _STAGES.get(code[:3], "other"), fn,
                              parse_docs(fn.__doc__), aliases, getattr(fn, "needs", ()))
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


@dataclass
class Context:
    """Everything rules may read about one record (a JSON document or one JSONL line)."""

    file: str
    batch: Batch
    options: Options
    base_dir: str = "."
    problems: list = field(default_factory=list)  # load problems (qwenlint.load.files.LoadProblem)
    # Filled by later stages, keyed by part pointer / conversation index.
    facts: dict[str, Any] = field(default_factory=dict)
    predictions: dict[str, Any] = field(default_factory=dict)
    renders: dict[int, Any] = field(default_factory=dict)
    targets: dict[int, str] = field(default_factory=dict)
    # Per-run resources shared by every record (loaded template, profile, tokenizer, caches).
    env: dict[str, Any] = field(default_factory=dict)
    # Per-record memo of consumers.reading (see reading()); never shared between records.
    _readings: dict[tuple[str, int], Any] = field(default_factory=dict, init=False, repr=False,
                                                  compare=False)

    @property
    def conversations(self) -> list[Conversation]:
        return self.batch.conversations

    @property
    def family(self) -> str:
        return self.options.resolved_family

    def target(self, conv: Conversation) -> str:
        return self.targets.get(conv.index, self.options.target or "qwen-vl-utils")

    def reading(self, target: str, part: Part):
        """``consumers.reading(target, part)``, computed once per record: several rules and the
        vision stage ask it for the same part.  Keyed by the part's identity, which is stable while
        this record's batch (held by the context) is alive; a reading depends only on the part."""
        key = (target, id(part))
        r = self._readings.get(key)
        if r is None:
            r = self._readings[key] = consumers.reading(target, part)
        return r

    def once(self, key: str) -> bool:
        """True the first time ``key`` is asked for in this run (for run-level findings)."""
        seen = self.env.setdefault("_once", set())
        if key in seen:
            return False
        seen.add(key)
        return True

    def shape_issues(self, kind: str) -> Iterator[ShapeIssue]:
        return (i for i in self.batch.shape_issues if i.kind == kind)

    def schema_issues(self, *kinds: str) -> Iterator[SchemaIssue]:
        return (i for i in self.batch.schema_issues if i.kind in kinds)

    def messages(self) -> Iterator[tuple[Conversation, Message]]:
        for c in self.batch.conversations:
            for m in c.messages:
                yield c, m

    def parts(self) -> Iterator[tuple[Conversation, Message, Part]]:
        for c in self.batch.conversations:
            for m in c.messages:
                for p in m.parts:
                    yield c, m, p
