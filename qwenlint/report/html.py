"""``--format html``: one self-contained HTML page a person opens in a browser.

The page holds what the other formats hold and what ``--statistics`` computes, laid out to be
looked at: the assumptions of every verdict (per file: family, dialect, consumer; the library
versions; the run's settings), the token-length histogram of the conversations as an inline SVG
(the buckets of :mod:`qwenlint.summary`, labelled), the counts per rule with a link to each rule's
section of docs/rules.md, the worst records, and each diagnostic with its location, message,
help, fix and the chat-template-rendered prompt around it (:func:`prompt_snippet`).

Self-contained and inert: inline CSS and SVG only, nothing loaded from anywhere (a Content
Security Policy forbids every load and every script but the page's own filter script, by its
hash); it reads fine with JavaScript off.  Every string from the user's files is shown escaped:
control and bidirectional characters as :mod:`qwenlint.terminal` writes them, then HTML-escaped,
and cut to a bounded length.

Bounded size: the first :data:`MAX_DIAGNOSTICS` diagnostics are embedded in full (with their
prompt snippets), the rest are counted per rule; the per-file table lists :data:`MAX_FILES`
files.  The page says so when it caps.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qwenlint.diagnostics import Diagnostic
from qwenlint.pointer import under
from qwenlint.report.sarif import help_uri
from qwenlint.result import Result
from qwenlint.summary import EDGES, rule_counts
from qwenlint.terminal import printable, printable_text
from qwenlint.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from qwenlint.context import RecordContext, Run

#: Diagnostics embedded in full (location, message, help, fix, prompt snippet); the rest counted.
MAX_DIAGNOSTICS = 200
#: Files listed in the "Read as" table.
MAX_FILES = 200
#: Characters of one user string shown (a message, a help text, a fix value).
MAX_STRING = 2000
#: Characters of rendered prompt shown before and after the offending message or part, and of it.
CONTEXT_CHARS, FOCUS_CHARS = 300, 1200


# --- escaping -------------------------------------------------------------------------------------

def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit:,} more characters]"


def esc(value: object, limit: int = MAX_STRING, block: bool = False) -> str:
    """A user string as HTML text: cut to ``limit``, controls and bidi marks shown escaped
    (:mod:`qwenlint.terminal`; ``block`` keeps newlines and tabs), lone surrogates escaped, then
    HTML-escaped (quotes included, so it is safe in an attribute too)."""
    s = _cut(str(value), limit)
    s = printable_text(s) if block else printable(s)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return html.escape(s, quote=True)


# --- the prompt around a diagnostic ---------------------------------------------------------------

@dataclass(frozen=True)
class PromptSnippet:
    """The rendered prompt around a diagnostic: ``before`` + ``focus`` (the offending message or
    part, highlighted) + ``after``; or only a ``note`` saying why there is none."""

    note: str
    before: str = ""
    focus: str = ""
    after: str = ""
    cut_before: bool = False
    cut_after: bool = False


def _message_spans(text: str, conv) -> dict[int, tuple[int, int]]:
    """Where each message of ``conv`` is in the rendered text: the Qwen templates open a message
    with ``<|im_start|>ROLE`` and close it with ``<|im_end|>``; messages are found in order (a
    system prompt the template adds is skipped because no message asks for it)."""
    spans: dict[int, tuple[int, int]] = {}
    cursor = 0
    for m in conv.messages:
        if not isinstance(m.role, str):
            continue
        start = text.find(f"<|im_start|>{m.role}", cursor)
        if start < 0:
            continue
        end = text.find("<|im_end|>", start)
        end = len(text) if end < 0 else end + len("<|im_end|>")
        spans[m.index] = (start, end)
        cursor = end
    return spans


def _kind(part) -> str:
    return getattr(part.kind, "value", str(part.kind))


def _part_span(text: str, span: tuple[int, int], message, part, tokens) -> tuple[int, int] | None:
    """The part inside its message's span: a text part by its text; an image or video part by its
    ``<|vision_start|>…<|vision_end|>`` group, an audio part by its audio group (the family's
    delimiters, ``tokens``), the k-th of the message for the k-th such part."""
    start, end = span
    if isinstance(part.text, str) and part.text:
        i = text.find(part.text, start, end)
        return (i, i + len(part.text)) if i >= 0 else None
    groups = {"image": "vision", "video": "vision", "audio": "audio"}
    group = groups.get(_kind(part))
    if group is None:
        return None
    if group == "vision":
        opener = getattr(tokens, "vision_start", None) or "<|vision_start|>"
        closer = getattr(tokens, "vision_end", None) or "<|vision_end|>"
    else:
        opener, closer = getattr(tokens, "audio_start", None), getattr(tokens, "audio_end", None)
        if not opener or not closer:
            return None
    k = sum(1 for p in message.parts if p.index < part.index and groups.get(_kind(p)) == group)
    i = start - 1
    for _ in range(k + 1):
        i = text.find(opener, i + 1, end)
        if i < 0:
            return None
    j = text.find(closer, i, end)
    return (i, j + len(closer)) if j >= 0 else None


def _deepest(items, pointer: str):
    best = None
    for it in items:
        if under(pointer, it.pointer) and (best is None or len(it.pointer) > len(best.pointer)):
            best = it
    return best


def prompt_snippet(ctx: RecordContext, d: Diagnostic) -> PromptSnippet:
    """The chat-template render of the conversation ``d`` points into, around the message (and
    part) it points at; a note when the record has no render (a dataset record: its framework
    renders with its own template; no template; the render failed)."""
    convs = ctx.conversations
    conv = _deepest([c for c in convs if c.pointer is not None], d.pointer) or \
        next((c for c in convs if under(d.pointer, c.record_pointer or "")), None)
    if conv is None:
        return PromptSnippet("no conversation at this pointer, so no rendered prompt")
    res = ctx.renders.get(conv.index)
    if res is None:
        env = ctx.template
        target = ctx.targets.get(conv.index)
        if conv.dialect.is_dataset or (target is not None and target.is_framework):
            who = target.value if target is not None else "framework"
            why = (f"a {who} dataset record: the framework renders it with its own template, "
                   "which qwenlint does not render")
        elif env is None or env.template is None:
            why = "no chat template to render with" + (f" ({env.problem})" if env and env.problem else "")
        else:
            why = "the conversation could not be rendered (its messages are not all objects)"
        return PromptSnippet(f"no rendered prompt: {why}")
    if not res.ok or res.text is None:
        return PromptSnippet(f"the chat template failed on this conversation: {res.error.message}")
    text = res.text
    origin = ctx.template.origin if ctx.template is not None else "the chat template"
    message = _deepest(conv.messages, d.pointer)
    spans = _message_spans(text, conv)
    span = spans.get(message.index) if message is not None else None
    where = f"rendered with {origin}"
    if message is None:
        span = (0, len(text))
        where += "; the diagnostic is on the whole conversation"
    elif span is None:
        span = (0, 0)
        where += "; the message is not located in the render: its start is shown"
    else:
        part = _deepest(message.parts, d.pointer)
        if part is not None:
            span = _part_span(text, span, message, part, getattr(ctx.template, "tokens", None)) or span
    start, end = span
    focus = text[start:end]
    if len(focus) > FOCUS_CHARS:
        half = FOCUS_CHARS // 2
        focus = focus[:half] + f" … [{len(focus) - FOCUS_CHARS:,} characters] … " + focus[-half:]
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    return PromptSnippet(where, before=text[lo:start], focus=focus, after=text[end:hi],
                         cut_before=lo > 0, cut_after=hi < len(text))


# --- the run's settings ---------------------------------------------------------------------------

def run_settings(run: Run) -> list[tuple[str, str]]:
    """The settings every verdict of ``run`` rests on, as (name, value) pairs."""
    o = run.options
    out = [("family", run.family),
           ("target", o.target.value if o.target is not None else "from each file's dialect")]
    if o.model:
        out.append(("model", o.model))
    env = run.template
    out.append(("chat template", env.origin if env is not None and env.template is not None
                else (env.problem or "none") if env is not None else "not needed (nothing rendered)"))
    out.append(("max-model-len", str(o.max_model_len) if o.max_model_len is not None else "none"))
    out.append(("add_generation_prompt", str(o.add_generation_prompt)))
    if o.enable_thinking is not None:
        out.append(("enable_thinking", str(o.enable_thinking)))
    for name, value in (("media-root", o.media_root), ("framework-config", o.framework_config),
                        ("vllm-args", " ".join(o.vllm_args)), ("swift-args", " ".join(o.swift_args)),
                        ("assume", ", ".join(o.assume)),
                        ("use-audio-in-video", o.use_audio_in_video)):
        if value:
            out.append((name, str(value)))
    return out


# --- the page -------------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 16px 40px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:18px 0 4px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d7dde3;padding-bottom:4px}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #d7dde3;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f1f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;border:1px solid #d7dde3;padding:6px 8px;margin:4px 0;max-height:340px;overflow:auto}
mark{background:#ffe08a;outline:1px solid #d9a400}
.sev-error{color:#b3261e;font-weight:600}.sev-warning{color:#8a5a00;font-weight:600}.sev-info{color:#175c96;font-weight:600}
.diag{border:1px solid #d7dde3;border-left:5px solid #8a96a3;border-radius:4px;margin:10px 0;padding:6px 10px}
.diag.error{border-left-color:#b3261e}.diag.warning{border-left-color:#d99a00}.diag.info{border-left-color:#2b7bc0}
.loc{font-family:ui-monospace,Menlo,Consolas,monospace;color:#444}.note{color:#555;font-style:italic}
.muted{color:#5b6670}.cap{background:#fff6d6;border:1px solid #e6cf7a;padding:4px 8px;border-radius:4px}
svg text{font:11px system-ui,sans-serif;fill:#333}.bar{fill:#3b7dd8}
#filters{margin:6px 0}#filters input,#filters select{margin-right:8px}
"""

# The one script: filters the diagnostics by severity, rule and text.  It reads no data of the
# page but the data- attributes and text it filters; the CSP admits it by its hash alone.
_JS = """(function(){
var f=document.getElementById('filters');if(!f)return;f.hidden=false;
var s=document.getElementById('f-sev'),r=document.getElementById('f-rule'),q=document.getElementById('f-text');
var items=document.querySelectorAll('.diag');
function apply(){var sv=s.value,rv=r.value,qv=q.value.toLowerCase(),shown=0;
for(var i=0;i<items.length;i++){var d=items[i];
var ok=(!sv||d.getAttribute('data-severity')===sv)&&(!rv||d.getAttribute('data-rule')===rv)&&(!qv||d.textContent.toLowerCase().indexOf(qv)>=0);
d.hidden=!ok;if(ok)shown++;}
document.getElementById('f-count').textContent=shown+' shown';}
s.addEventListener('change',apply);r.addEventListener('change',apply);q.addEventListener('input',apply);apply();
})();"""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
CSP = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; "
       "img-src 'none'; base-uri 'none'; form-action 'none'")

#: The SVG histogram's plot area (pixels).
PLOT_W, PLOT_H, BAR_GAP = 760, 220, 6


def _fmt_tokens(n: int) -> str:
    return f"{n // 1024}k" if n >= 1024 and n % 1024 == 0 else str(n)


def histogram_svg(counts: Sequence[int]) -> str:
    """The token-length histogram: one ``rect.bar`` per bucket from the first to the last used
    one, its height proportional to the count (at least 1 pixel when the count is not 0), each
    labelled with its token range and count.  ``data-count`` / ``data-from`` / ``data-to`` carry
    the numbers drawn."""
    used = [i for i, c in enumerate(counts) if c]
    if not used:
        return '<p class="note">No conversations were counted.</p>'
    lo, hi = used[0], used[-1]
    n = hi - lo + 1
    top = max(counts)
    left, bottom, head = 56, 40, 18
    width, height = left + PLOT_W + 10, head + PLOT_H + bottom
    slot = PLOT_W / n
    parts = [f'<svg id="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="token length histogram">',
             f'<line x1="{left}" y1="{head + PLOT_H}" x2="{left + PLOT_W}" y2="{head + PLOT_H}" stroke="#555"/>',
             f'<line x1="{left}" y1="{head}" x2="{left}" y2="{head + PLOT_H}" stroke="#555"/>',
             f'<text x="{left - 6}" y="{head + 4}" text-anchor="end">{top:,}</text>',
             f'<text x="{left - 6}" y="{head + PLOT_H}" text-anchor="end">0</text>']
    for k, i in enumerate(range(lo, hi + 1)):
        c = counts[i]
        h = PLOT_H * c / top
        if c and h < 1:
            h = 1.0
        x = left + k * slot + BAR_GAP / 2
        y = head + PLOT_H - h
        frm = EDGES[i]
        to = EDGES[i + 1] if i + 1 < len(EDGES) else None
        label = f"{_fmt_tokens(frm)}–{_fmt_tokens(to) if to is not None else '∞'}"
        parts.append(f'<rect class="bar" x="{x:.2f}" y="{y:.3f}" width="{slot - BAR_GAP:.2f}" '
                     f'height="{h:.3f}" data-count="{c}" data-from="{frm}" '
                     f'data-to="{to if to is not None else ""}"><title>{label} tokens: {c:,}</title></rect>')
        cx = x + (slot - BAR_GAP) / 2
        parts.append(f'<text class="count" x="{cx:.2f}" y="{y - 3:.3f}" text-anchor="middle">{c:,}</text>')
        parts.append(f'<text class="range" x="{cx:.2f}" y="{head + PLOT_H + 15}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{left + PLOT_W / 2:.0f}" y="{height - 4}" text-anchor="middle">'
                 'tokens per conversation (vision pads + text)</text></svg>')
    return "".join(parts)


def _snippet_html(snip: PromptSnippet | None) -> str:
    if snip is None:
        return ('<p class="note">No rendered prompt: this report was made without re-rendering the '
                'records (the Python API, or standard input).</p>')
    out = f'<p class="note">{esc(snip.note)}</p>'
    if snip.focus or snip.before or snip.after:
        body = ("…" if snip.cut_before else "") + esc(snip.before, 10 * CONTEXT_CHARS, True) + \
            "<mark>" + esc(snip.focus, 10 * FOCUS_CHARS, True) + "</mark>" + \
            esc(snip.after, 10 * CONTEXT_CHARS, True) + ("…" if snip.cut_after else "")
        out += f'<pre class="prompt">{body}</pre>'
    return out


def _diagnostic_html(n: int, d: Diagnostic, snip: PromptSnippet | None, with_snippet: bool) -> str:
    sev = d.severity.value
    loc = f"{esc(d.file or '-')}:{d.line or 1}:{d.column or 1}"
    rows = [f'<div class="loc" id="d{n}">{loc} <span class="sev-{sev}">{esc(d.rule)} [{sev}]</span> '
            f'<span class="muted">({esc(d.name)})</span></div>',
            f'<div class="msg">{esc(d.message, block=True)}</div>']
    rows.append(f'<div class="muted">at <code class="ptr">{esc(d.pointer or "/")}</code></div>')
    if d.help:
        rows.append(f'<div><b>help:</b> {esc(d.help, block=True)}</div>')
    if d.fix is not None:
        f = d.fix
        value = json.dumps(f.value, ensure_ascii=False, default=str)
        rows.append(f'<div><b>fix ({esc(f.applicability.value)}):</b> {esc(f.message)}: '
                    f'<code>{esc(f.pointer or "/")}</code> = <code>{esc(value, 400)}</code></div>')
    if with_snippet:
        rows.append('<details open><summary>rendered prompt around it</summary>'
                    f'{_snippet_html(snip)}</details>')
    return (f'<div class="diag {sev}" data-rule="{esc(d.rule)}" data-severity="{sev}">'
            + "".join(rows) + "</div>")


def _num(n: int) -> str:
    return f"\0{n:,}"


def _table(head: Sequence[str], rows: list[list[str]], cls: str = "") -> str:
    """A table; a cell made by :func:`_num` is a number (right-aligned).  (Escaped user text
    never holds a NUL: :func:`esc` shows it as ``\\x00``.)"""
    def cell(c: str) -> str:
        return f'<td class="n">{c[1:]}</td>' if c.startswith("\0") else f"<td>{c}</td>"

    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(cell(c) for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def render(result: Result, *, snippets: Mapping[int, PromptSnippet] | None = None,
           settings: Sequence[Sequence[tuple[str, str]]] = (), max_diagnostics: int = MAX_DIAGNOSTICS,
           **_: object) -> str:
    """The page for ``result``.  ``snippets``: the prompt around each diagnostic, by its index in
    ``result.diagnostics`` (None: the records were not re-rendered, and the page says so);
    ``settings``: the settings of each group of files (:func:`run_settings`)."""
    from qwenlint.rules import REGISTRY

    diags = result.diagnostics
    e, w = result.errors, result.warnings
    title = "qwenlint report"
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<meta name="referrer" content="no-referrer">',
           f"<title>{title}</title><style>{_CSS}</style></head><body>",
           f"<h1>{title}</h1>",
           f'<p id="summary"><span class="sev-error">{e} error{"s" * (e != 1)}</span>, '
           f'<span class="sev-warning">{w} warning{"s" * (w != 1)}</span>, '
           f"{len(diags) - e - w} info, in {result.files} file{'s' * (result.files != 1)} "
           f"({result.conversations} conversation{'s' * (result.conversations != 1)}, "
           f"{result.records} record{'s' * (result.records != 1)}). "
           f'<span class="muted">qwenlint {esc(__version__)}</span></p>']

    # What the verdicts assume.
    out.append('<h2 id="assumptions">What the verdicts assume</h2>')
    rows = []
    for path, reading in list(result.readings.items())[:MAX_FILES]:
        for (dialect, target), n in reading.read_as.items():
            rows.append([esc(path), esc(reading.family or "-"), esc(dialect), esc(target), _num(n)])
    if rows:
        out.append("<p>Read as (per file: the family, the dialect and the consumer its "
                   "conversations were read for):</p>")
        out.append(_table(["file", "family", "dialect", "consumer", "conversations"], rows, "readings"))
        if len(result.readings) > MAX_FILES:
            out.append(f'<p class="cap">The first {MAX_FILES} of {len(result.readings):,} files are '
                       "listed.</p>")
    else:
        out.append('<p class="note">No conversation was read.</p>')
    if result.assumed:
        out.append("<p>Assumed library versions:</p><ul id=\"assumed\">"
                   + "".join(f"<li>{esc(a)}</li>" for a in result.assumed) + "</ul>")
    for k, group in enumerate(settings):
        label = "Settings" if len(settings) == 1 else f"Settings (configuration {k + 1})"
        out.append(f"<p>{label}:</p>" + _table(["setting", "value"],
                                                [[esc(a), esc(b)] for a, b in group], "settings"))

    # Token lengths.
    out.append('<h2 id="tokens">Token length per conversation</h2>')
    s = result.summary
    if s is None:
        out.append('<p class="note">Not computed (the report was made without statistics).</p>')
    elif not s.n:
        out.append('<p class="note">No conversations were counted.</p>')
    else:
        line = (f"{s.n:,} conversations: mean {s.total / s.n:,.0f}, min {s.min:,}, max {s.max:,}, "
                f"p50 ≤ {s.percentile(0.5):,}, p90 ≤ {s.percentile(0.9):,}, p99 ≤ {s.percentile(0.99):,}")
        if s.budget:
            line += f"; {s.over_budget:,} over --max-model-len {s.budget:,}"
        out.append(f'<p id="token-stats">{line} (buckets in tokens, as <code>--statistics</code>).</p>')
        out.append(histogram_svg(s.counts))

    # Rules.
    out.append('<h2 id="rules">Diagnostics per rule</h2>')
    counts = rule_counts(diags)
    if counts:
        rows = []
        for row in counts:
            rule = REGISTRY.get(row["rule"])
            code = esc(row["rule"])
            link = f'<a href="{esc(help_uri(rule))}" rel="noreferrer">{code}</a>' if rule else code
            rows.append([link, esc(row["name"]), f'<span class="sev-{row["severity"]}">{row["severity"]}</span>',
                         _num(row['count']), esc(rule.summary) if rule else ""])
        out.append(_table(["code", "name", "severity", "count", "summary"], rows, "rules"))
        out.append('<p class="muted">Each code links to its section of docs/rules.md.</p>')
    else:
        out.append('<p class="note">No diagnostics: all checks passed.</p>')

    # Worst records.
    if s is not None and s.worst:
        out.append('<h2 id="worst">Worst records</h2><p>Most errors, then most warnings, then most '
                   "tokens:</p>")
        rows = [[esc(f"{r.file}:{r.line}" if r.line is not None else r.file),
                 f"<code>{esc(r.pointer or '/')}</code>", _num(r.errors), _num(r.warnings),
                 _num(r.tokens)] for r in s.worst]
        out.append(_table(["record", "pointer", "errors", "warnings", "tokens"], rows, "worst"))
        longest = s.longest
        if longest:
            out.append("<p>Most tokens:</p>")
            rows = [[esc(f"{r.file}:{r.line}" if r.line is not None else r.file),
                     f"<code>{esc(r.pointer or '/')}</code>", _num(r.tokens), _num(r.errors),
                     _num(r.warnings)] for r in longest]
            out.append(_table(["record", "pointer", "tokens", "errors", "warnings"], rows, "longest"))

    # Diagnostics.
    out.append('<h2 id="diagnostics">Diagnostics</h2>')
    shown = diags[:max_diagnostics]
    if len(diags) > len(shown):
        out.append(f'<p class="cap" id="cap">This page embeds the first {len(shown):,} of '
                   f"{len(diags):,} diagnostics (with their prompt snippets); the other "
                   f"{len(diags) - len(shown):,} are counted in the table above. Use "
                   "<code>--format json</code> for all of them.</p>")
    if shown:
        sevs = sorted({d.severity.value for d in shown})
        codes = sorted({d.rule for d in shown})
        out.append('<div id="filters" hidden>Filter: '
                   '<select id="f-sev"><option value="">every severity</option>'
                   + "".join(f'<option value="{v}">{v}</option>' for v in sevs) + "</select>"
                   '<select id="f-rule"><option value="">every rule</option>'
                   + "".join(f'<option value="{esc(c)}">{esc(c)}</option>' for c in codes) + "</select>"
                   '<input id="f-text" type="search" placeholder="text"> <span id="f-count"></span></div>')
        for n, d in enumerate(shown):
            snip = snippets.get(n) if snippets is not None else None
            out.append(_diagnostic_html(n, d, snip, True))
    out.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(out)
