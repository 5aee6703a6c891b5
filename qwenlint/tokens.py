"""``qwenlint tokens``: per-part grid_thw and pad counts, per-conversation totals.

Runs the same record loop as ``check`` (the stages, with token accounting) with only the file
rules, and reports what the predictor says for every image and video the consumer loads, read
from each record's context: a readable table, or the JSON document of design.md::

    {"version": 1,
     "parts": [{"file", "line", "pointer", "conversation", "kind", "pipeline", "grid_thw",
                "resized", "frames", "tokens", "error"}],
     "conversations": [{"file", "line", "pointer", "index", "vision_tokens", "text_tokens",
                        "text_exact", "total_tokens", "budget", "over_budget"}],

     "summary": {"files", "conversations", "parts", "errors"},
     "assumed": [...], "profile": {"family", "model", "derived_from", "error"}}

``line`` is the record's line in a JSON Lines file (null in a JSON file, whose pointers start at
the record).  ``profile`` is the processor profile the predictions use: with ``--model``, what
`qwenlint.vision.profile_from_model_dir` derived from the checkpoint's files (the text report's
``Profile:`` line).

Errors (the library raises, missing or unreadable media) are rows with ``error`` set and make
the exit code 1; so does a ``--model`` whose configuration cannot be used (check's QL412): its
predictions would be the family's defaults, not the checkpoint's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qwenlint.context import Bound, RecordContext
from qwenlint.diagnostics import Diagnostic
from qwenlint.engine import Engine
from qwenlint.load.files import found_files
from qwenlint.media import MediaError
from qwenlint.options import Options
from qwenlint.rules import select_rules
from qwenlint.terminal import printable_text
from qwenlint.vision import Prediction, VisionError, cause_of
from qwenlint.vision.audio import AudioPrediction


@dataclass
class Report:
    parts: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0
    load_errors: list[str] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)  # the consumer versions modelled, and why
    # the processor profile predicted with: family, where it was read, how it was derived
    profile: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(p["error"] is not None for p in self.parts) + len(self.load_errors)

    def document(self) -> dict[str, Any]:
        return {"version": 1, "parts": self.parts, "conversations": self.conversations,
                "summary": {"files": self.files, "conversations": len(self.conversations),
                            "parts": len(self.parts), "errors": self.errors},
                "assumed": list(self.assumed), "profile": dict(self.profile)}


def _error_text(value: Any) -> str | None:
    if isinstance(value, VisionError):
        cause = cause_of(value)
        return f"{value.library}: {value.quoted}" + (f" (real cause: {cause.quoted})" if cause else "")
    if isinstance(value, MediaError):
        return f"{value.message} [{value.code}]"
    return None


def _collect(ctx: RecordContext, conv, report: Report) -> None:
    ct = ctx.tokens[conv.index]
    budget = ctx.options.max_model_len
    for it in ct.items:
        item = it.item
        pred = ctx.predictions.get(item.pointer)
        facts = ctx.facts.get(item.pointer)
        row: dict[str, Any] = {"file": ctx.file, "line": conv.record_line, "pointer": item.pointer,
                               "conversation": conv.index,
                               "kind": item.kind.value, "pipeline": None, "grid_thw": None,
                               "resized": None, "frames": None, "tokens": None, "bound": False,
                               "error": None, "notes": []}
        if isinstance(pred, AudioPrediction):
            row.update(pipeline=pred.pipeline, tokens=pred.tokens, samples=pred.samples,
                       seconds=round(pred.seconds, 3), exact=pred.exact, notes=list(pred.notes))
            if pred.truncated_from is not None:
                row["notes"].append(f"cut from {pred.truncated_from / 16000:.2f} s to 30 s")
        elif isinstance(pred, Prediction):
            row.update(pipeline=pred.pipeline, grid_thw=list(pred.grid_thw), resized=list(pred.resized),
                       frames=pred.frames, tokens=pred.tokens, notes=list(pred.notes))
            if pred.audio is not None:  # --use-audio-in-video: the sound track interleaved with the frames
                row.update(tokens=pred.tokens + pred.audio.tokens, video_tokens=pred.tokens,
                           audio_tokens=pred.audio.tokens, audio_samples=pred.audio.samples,
                           seconds=round(pred.audio.seconds, 3))
                row["notes"].append(f"with its sound track: {pred.tokens} video + {pred.audio.tokens} "
                                    f"audio tokens ({pred.audio.seconds:.2f} s)")
        elif isinstance(pred, Bound):
            row.update(pipeline=pred.pipeline, tokens=pred.tokens, bound=True)
        elif isinstance(pred, VisionError):
            row.update(pipeline=pred.library, error=_error_text(pred))
        elif isinstance(facts, MediaError):
            row["error"] = _error_text(facts)
        elif isinstance(facts, list):
            bad = next((f for f in facts if isinstance(f, MediaError)), None)
            row["error"] = _error_text(bad) if bad else "frames could not be predicted"
        elif item.part is not None:
            row["error"] = None
            row["note"] = ctx.unpredicted.get(item.pointer, "not loaded by the consumer")
        report.parts.append(row)
    report.conversations.append({
        "file": ctx.file, "line": conv.record_line, "pointer": conv.record_pointer or conv.pointer,
        "index": conv.index,
        "vision_tokens": ct.vision, "text_tokens": ct.text, "text_exact": ct.exact,
        "total_tokens": ct.total, "unknown_parts": ct.unknown, "budget": budget,
        "over_budget": bool(budget is not None and ct.total > budget)})


def collect(paths, options: Options) -> Report:
    """The report of every file: each record through the engine's loop, its context read."""
    report = Report()
    # Only the file rules run: unreadable or invalid files become report errors.
    engine = Engine(options, rules=[r for r in select_rules() if r.stage == "file"], accounting=True)
    problems = []
    targets: set = set()
    for found in found_files(paths, options.access()):
        src = engine.read(found.path)
        if found.walked and engine.foreign(src):  # a directory walk's trainer_state.json, ...
            continue
        report.files += 1
        for outcome in engine.check_source(src, keep=True):
            targets |= outcome.targets
            if outcome.context is not None:
                for conv in outcome.context.conversations:
                    _collect(outcome.context, conv, report)
            problems.extend(outcome.diagnostics)
    problems.sort(key=Diagnostic.sort_key)
    report.load_errors.extend(f"{d.file}:{d.line or 1}:{d.column or 1}: {d.message}" for d in problems)
    report.assumed = engine.run.versions.describe(sorted(targets))
    run = engine.run
    report.profile = {"family": run.profile.family, "model": options.model,
                      "derived_from": list(run.profile.derived_from), "error": run.profile_error}
    if run.profile_error:  # QL412 in check: the predictions below are the family's defaults
        report.load_errors.append(f"--model {options.model}: {run.profile_error}; predictions use the "
                                  f"{run.profile.family} defaults")
    return report


def render_text(report: Report) -> str:
    """The readable table: one row per part, then one per conversation."""
    head = ("file", "pointer", "kind", "resized hxw", "frames", "grid_thw", "tokens")
    rows = []
    for p in report.parts:
        if p["error"]:
            rows.append((p["file"], p["pointer"], p["kind"], "-", "-", "-", "ERROR"))
            continue
        if p["kind"] == "audio" and "seconds" in p:  # no grid: its length stands in the frames column
            rows.append((p["file"], p["pointer"], p["kind"], "-", f"{p['seconds']:g} s", "-",
                         str(p["tokens"]) if p["exact"] else f"≈{p['tokens']}"))
            continue
        rows.append((p["file"], p["pointer"], p["kind"],
                     f"{p['resized'][0]}x{p['resized'][1]}" if p["resized"] else "?",
                     str(p["frames"]) if p["frames"] is not None else "",
                     "[" + ", ".join(map(str, p["grid_thw"])) + "]" if p["grid_thw"] else "?",
                     (f"<={p['tokens']}" if p["bound"] else str(p["tokens"])) if p["tokens"] is not None
                     else "?"))
    out = []
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        fmt = "  ".join(f"{{:<{w}}}" if i < 6 else f"{{:>{w}}}" for i, w in enumerate(widths))
        out.append(fmt.format(*head))
        out.extend(fmt.format(*r) for r in rows)
        for p in report.parts:
            if p["error"]:
                out.append(f"error: {p['file']}:{p['pointer']}: {p['error']}")
            out.extend(f"note: {p['file']}:{p['pointer']}: {n}" for n in p["notes"])
        out.append("")
    for c in report.conversations:
        a = "" if c["text_exact"] else "≈"
        budget = f" / budget {c['budget']}" + (" — OVER BUDGET" if c["over_budget"] else "") \
            if c["budget"] is not None else ""
        unknown = f" (+{c['unknown_parts']} part(s) of unknown size)" if c["unknown_parts"] else ""
        out.append(f"{c['file']}:{c['pointer'] or '/'}  conversation {c['index']}: {c['vision_tokens']} vision "
                   f"+ {a}{c['text_tokens']} text = {a}{c['total_tokens']} tokens{unknown}{budget}")
    for e in report.load_errors:
        out.append(f"error: {e}")
    if not report.conversations and not report.load_errors:
        out.append("no conversations found")
    if report.assumed:
        out.append("Assumed: " + "; ".join(report.assumed) + ".")
    prof = report.profile
    if prof.get("model") and not prof.get("error"):
        out.append(f"Profile: {prof['family']} from {prof['model']} (" + "; ".join(prof["derived_from"]) + ").")
    return printable_text("\n".join(out))  # file names, pointers, notes: the user's text escaped
