"""What ``qwenlint smoke`` reports: per conversation, the predicted and the real grids, pads and
errors, and the agreement; as a text table or a JSON document."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from qwenlint.terminal import printable_text

#: The consumers smoke runs for real.
SUPPORTED_TARGETS = ("qwen-vl-utils", "transformers")


class SmokeError(Exception):
    """A usage problem (bad model directory, unsupported target): exit 2 with one line."""


class SmokeUnavailable(SmokeError):
    """torch / transformers / qwen-vl-utils are not installed: names the extra to install."""


@dataclass
class RealError:
    stage: str  # "qwen-vl-utils" | "processor" | "model" | "load"
    type: str
    message: str
    kind: str  # "image-features" | "video-features" | "truncation" | "placeholder-count" | "other"

    @property
    def line(self) -> str:
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        return f"{self.type}: {first}"


@dataclass
class PartResult:
    pointer: str
    kind: str  # "image" | "video"
    loaded: bool  # predicted: the consumer loads this part
    rendered: int | None  # predicted placeholders the template writes for it (None: unknown)
    predicted_grid: list[int] | None = None
    actual_grid: list[int] | None = None
    predicted_pads: int | None = None
    actual_pads: int | None = None
    predicted_error: str | None = None  # the exception qwenlint predicts for this part
    note: str | None = None

    @property
    def compared(self) -> bool:
        return self.predicted_grid is not None and self.actual_grid is not None

    @property
    def agrees(self) -> bool | None:
        if not self.compared:
            return None
        return self.predicted_grid == self.actual_grid and self.predicted_pads == self.actual_pads


@dataclass
class ConversationResult:
    file: str
    pointer: str
    index: int
    target: str
    parts: list[PartResult] = field(default_factory=list)
    predicted_pad_ids: dict[str, int] | None = None
    actual_pad_ids: dict[str, int] | None = None
    predicted_outcome: str = "ok"
    error: RealError | None = None
    predicted_by: list[str] = field(default_factory=list)  # "QL123 name (how)"
    check_errors: list[str] = field(default_factory=list)  # error diagnostics of `qwenlint check`
    seconds: float = 0.0
    peak_memory_mb: float | None = None
    input_tokens: int | None = None
    truncated_to: int | None = None
    generated_tokens: int | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def disagreements(self) -> list[str]:
        out = [f"{p.pointer}: predicted {p.predicted_grid}/{p.predicted_pads} pads, actual "
               f"{p.actual_grid}/{p.actual_pads}" for p in self.parts if p.agrees is False]
        if self.predicted_pad_ids is not None and self.actual_pad_ids is not None and \
                self.predicted_pad_ids != self.actual_pad_ids:
            out.append(f"pad ids: predicted {self.predicted_pad_ids}, actual {self.actual_pad_ids}")
        return out

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        if self.error is not None:
            return "error-predicted" if self.predicted_by else "error-missed"
        return "disagree" if self.disagreements else "agree"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status
        d["disagreements"] = self.disagreements
        d["error"] = None if self.error is None else {**asdict(self.error), "line": self.error.line}
        for p, pd in zip(self.parts, d["parts"]):
            pd["agrees"] = p.agrees
        return d


@dataclass
class SmokeReport:
    model: str
    family: str
    model_class: str
    processor_class: str
    device: str
    dtype: str
    attention: str
    conversations: list[ConversationResult] = field(default_factory=list)
    load_seconds: float = 0.0
    files: int = 0

    @property
    def summary(self) -> dict[str, Any]:
        rows = self.conversations
        compared = [p for r in rows for p in r.parts if p.compared]
        agree = [p for p in compared if p.agrees]
        return {
            "files": self.files, "conversations": len(rows),
            "agree": sum(r.status == "agree" for r in rows),
            "disagree": sum(r.status == "disagree" for r in rows),
            "errors": sum(r.error is not None for r in rows),
            "errors_predicted": sum(r.status == "error-predicted" for r in rows),
            "errors_missed": sum(r.status == "error-missed" for r in rows),
            "skipped": sum(r.status == "skipped" for r in rows),
            "parts_compared": len(compared), "parts_agree": len(agree),
            "agreement": (len(agree) / len(compared)) if compared else None,
            "seconds": round(sum(r.seconds for r in rows) + self.load_seconds, 3),
        }

    @property
    def error_findings(self) -> int:
        return sum(r.status in ("disagree", "error-predicted", "error-missed") for r in self.conversations)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "model": self.model, "family": self.family, "model_class": self.model_class,
                "processor_class": self.processor_class, "device": self.device, "dtype": self.dtype,
                "attention": self.attention, "load_seconds": round(self.load_seconds, 3),
                "conversations": [r.to_json() for r in self.conversations], "summary": self.summary}


def _g(grid: list[int] | None) -> str:
    return "-" if grid is None else "[" + ",".join(map(str, grid)) + "]"


def format_text(report: SmokeReport) -> str:
    """A plain-text agreement table (no colour, no rich)."""
    lines = [f"qwenlint smoke: {report.model} ({report.family}, {report.model_class}, {report.processor_class}) "
             f"on {report.device} {report.dtype}, attention {report.attention}; loaded in {report.load_seconds:.2f}s",
             ""]
    head = f"  {'part':<28} {'kind':<5} {'predicted grid':<15} {'actual grid':<15} {'pred pads':>9} " \
           f"{'real pads':>9}  {'':<5}"
    for r in report.conversations:
        where = f"{r.file}:{r.pointer or '/'}"
        lines.append(f"{where}  [target {r.target}]")
        if r.skipped:
            lines += [f"  SKIPPED: {r.skipped}", ""]
            continue
        if r.parts:
            lines.append(head)
        for p in r.parts:
            verdict = {True: "ok", False: "DIFF", None: "-"}[p.agrees]
            lines.append(f"  {p.pointer[-28:]:<28} {p.kind:<5} {_g(p.predicted_grid):<15} {_g(p.actual_grid):<15} "
                         f"{'-' if p.predicted_pads is None else p.predicted_pads:>9} "
                         f"{'-' if p.actual_pads is None else p.actual_pads:>9}  {verdict:<5}")
            for extra in (p.predicted_error and f"predicted: {p.predicted_error}", p.note):
                if extra:
                    lines.append(f"      {extra}")
        if r.predicted_pad_ids is not None or r.actual_pad_ids is not None:
            lines.append(f"  pad ids in input_ids: predicted {r.predicted_pad_ids or '-'}, real {r.actual_pad_ids or '-'}")
        if r.predicted_outcome != "ok":
            lines.append(f"  qwenlint predicts: {r.predicted_outcome}")
        compared = [p for p in r.parts if p.compared]
        pct = f"{100 * sum(bool(p.agrees) for p in compared) / len(compared):.0f}% ({sum(bool(p.agrees) for p in compared)}/{len(compared)} parts)" \
            if compared else "no parts compared"
        cost = f"{r.seconds:.2f}s, peak {r.peak_memory_mb if r.peak_memory_mb is not None else '-'} MiB"
        if r.input_tokens is not None:
            cost += f", {r.input_tokens} input tokens"
        if r.truncated_to is not None:
            cost += f", cut to {r.truncated_to}"
        if r.error is not None:
            lines.append(f"  REAL ERROR ({r.error.stage}): {r.error.line}")
            if r.predicted_by:
                lines.append("  predicted by: " + "; ".join(r.predicted_by))
            else:
                lines.append("  qwenlint MISS: no rule of `qwenlint check` predicted this error")
                for c in r.check_errors[:5]:
                    lines.append(f"    (other check error: {c})")
            lines.append(f"  => ERROR  {pct}; {cost}")
        elif r.disagreements:
            for d in r.disagreements:
                lines.append(f"  DISAGREE: {d}")
            lines.append(f"  => DISAGREE  {pct}; {cost}")
        else:
            lines.append(f"  => PASS  {pct}; {cost}")
            for c in r.check_errors[:5]:
                lines.append(f"    (check error, not contradicted by the run: {c})")
        for n in r.notes:
            lines.append(f"  note: {n}")
        lines.append("")
    s = report.summary
    agreement = "-" if s["agreement"] is None else f"{100 * s['agreement']:.1f}%"
    lines.append(f"{s['conversations']} conversation(s) in {s['files']} file(s): {s['agree']} agree, "
                 f"{s['disagree']} disagree, {s['errors']} real error(s) ({s['errors_predicted']} predicted, "
                 f"{s['errors_missed']} missed), {s['skipped']} skipped; parts agreement {agreement} "
                 f"({s['parts_agree']}/{s['parts_compared']}); {s['seconds']:.2f}s")
    return printable_text("\n".join(lines))  # paths and messages: the user's text


def format_json(report: SmokeReport) -> str:
    return json.dumps(report.to_json(), indent=1, ensure_ascii=False)
