"""``--fix`` / ``--diff``: apply the machine-applicable fixes of diagnostics to the files.

A :class:`~qwenlint.diagnostics.Fix` replaces the JSON value at an RFC 6901 pointer (for JSONL:
within the record on ``Diagnostic.record_line``).  To keep the file as the user wrote it, only the
text span of that value is replaced; everything else stays byte-identical.  The new value is
written in the surrounding style: on one line with the document's separators when the old value
was on one line (always, in JSONL), else indented with the document's indent unit from the column
of the line it starts on.  Non-ASCII text stays as it is (``ensure_ascii=False``), and so do the
BOM and the line endings.

Which fixes apply: ``safe`` ones with ``--fix``; ``unsafe`` ones only with ``--unsafe-fixes`` too;
``display`` ones never.  When fixes overlap, the outermost (then the first) wins and the file is
checked again, up to :data:`MAX_PASSES` times, so a nested fix is reconsidered on the new text.
Files are written in place, as an editor saves them (:func:`write`): the same file, so its mode,
owner and hard links stay, and no temporary file is ever left; a read-only file, a symlink whose
target lies outside the working tree, or anything but a regular file is refused
(:class:`WriteRefused`).  Applying N fixes to a file is linear in N.  Nothing here prints; the CLI
reports.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from qwenlint.diagnostics import Applicability, Diagnostic, Fix
from qwenlint.load.files import JSONL_SUFFIXES
from qwenlint.load.parquet import is_table
from qwenlint.load.positions import TOKEN, value_spans
from qwenlint.pointer import split

#: How often a file is fixed and checked again before the loop gives up (as ruff's limit).
MAX_PASSES = 10
_BOM = "\ufeff"

Recheck = Callable[[str, str], list[Diagnostic]]


class FixError(Exception):
    """A fix produced text that does not hold the intended value: a bug, never applied."""


def applicable(fix: Fix | None, unsafe: bool = False) -> bool:
    """Whether ``--fix`` applies this fix (``unsafe``: ``--unsafe-fixes`` was given)."""
    if fix is None:
        return False
    if fix.applicability is Applicability.SAFE:
        return True
    return unsafe and fix.applicability is Applicability.UNSAFE


def is_jsonl(path: str) -> bool:
    return path.lower().endswith(JSONL_SUFFIXES)


# --- locating values -------------------------------------------------------------------------

def resolve(value: Any, pointer: str) -> Any:
    """The value at ``pointer`` (RFC 6901); raises KeyError/IndexError/TypeError when absent."""
    for token in split(pointer):
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


# --- style -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How a JSON text is laid out, so new values can be written the same way."""

    indent: str = "  "
    item_sep: str = ", "
    key_sep: str = ": "
    newline: str = "\n"

    @classmethod
    def of(cls, text: str) -> "Style":
        newline = "\r\n" if "\r\n" in text else "\n"
        m = re.search(r"\n([ \t]+)\S", text)
        indent = m.group(1) if m else "  "
        key_sep: str | None = None
        item_sep: str | None = None
        for t in TOKEN.finditer(text):
            ch, nxt = t.group(), text[t.end():t.end() + 1]
            if ch == ":" and key_sep is None:
                key_sep = ": " if nxt == " " else ":"
            elif ch == "," and item_sep is None and nxt not in ("\n", "\r"):
                item_sep = ", " if nxt == " " else ","
            if key_sep is not None and item_sep is not None:
                break
        key_sep = key_sep or ": "
        item_sep = item_sep or (", " if key_sep == ": " else ",")
        return cls(indent=indent, item_sep=item_sep, key_sep=key_sep, newline=newline)


_LEAD = re.compile(r"[ \t]*")


def serialise(value: Any, text: str, start: int, end: int, style: Style) -> str:
    """``value`` written to replace ``text[start:end]`` in the style around it."""
    if "\n" not in text[start:end]:
        return json.dumps(value, ensure_ascii=False, separators=(style.item_sep, style.key_sep))
    line_start = text.rfind("\n", 0, start) + 1
    lead = _LEAD.match(text, line_start).group()  # not text[line_start:]: a copy per fix
    out = json.dumps(value, ensure_ascii=False, indent=style.indent,
                     separators=(",", style.key_sep))
    return out.replace("\n", style.newline + lead)


# --- one pass over one text ------------------------------------------------------------------


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    replacement: str
    diagnostic: Diagnostic


def _edits_for(text: str, offset: int, diags: list[Diagnostic], style: Style) -> list[_Edit]:
    spans = value_spans(text, {d.fix.pointer for d in diags if d.fix})
    edits = []
    for d in diags:
        assert d.fix is not None
        span = spans.get(d.fix.pointer)
        if span is None:
            continue
        s, e = span
        edits.append(_Edit(offset + s, offset + e, serialise(d.fix.value, text, s, e, style), d))
    return edits


def _choose(edits: list[_Edit]) -> list[_Edit]:
    """Non-overlapping edits: the outermost first, then the first reported."""
    chosen: list[_Edit] = []
    last_end = -1
    for ed in sorted(edits, key=lambda x: (x.start, -x.end)):
        if ed.start < last_end:
            continue
        chosen.append(ed)
        last_end = ed.end
    return chosen


def _line_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each line without its line ending (split on LF only, as the loader)."""
    out, pos = [], 0
    for m in re.finditer("\n", text):
        end = m.start() - (1 if m.start() > pos and text[m.start() - 1] == "\r" else 0)
        out.append((pos, end))
        pos = m.end()
    out.append((pos, len(text)))
    return out


def fix_text(text: str, diagnostics: Iterable[Diagnostic], *, jsonl: bool,
             unsafe: bool = False) -> tuple[str, list[Diagnostic]]:
    """Apply one round of fixes to ``text`` (a file's contents, without BOM).

    Returns the new text and the diagnostics whose fixes were applied.  Fixes whose pointer is not
    in the text, or that overlap an applied one, are left for the next round.
    """
    todo = [d for d in diagnostics if applicable(d.fix, unsafe)]
    if not todo:
        return text, []
    edits: list[_Edit] = []
    if jsonl:
        lines = _line_spans(text)
        by_line: dict[int, list[Diagnostic]] = {}
        for d in todo:
            if d.record_line and 1 <= d.record_line <= len(lines):
                by_line.setdefault(d.record_line, []).append(d)
        for n, diags in by_line.items():
            s, e = lines[n - 1]
            record = text[s:e]
            edits += _edits_for(record, s, diags, Style.of(record))
    else:
        edits = _edits_for(text, 0, todo, Style.of(text))
    chosen = _choose(edits)
    pieces, pos = [], 0  # one pass over the text: linear in the number of fixes
    for ed in chosen:  # in order of start, not overlapping
        pieces += [text[pos:ed.start], ed.replacement]
        pos = ed.end
    out = "".join(pieces) + text[pos:]
    _verify(out, chosen, jsonl)
    return out, [ed.diagnostic for ed in chosen]


def _verify(text: str, applied: list[_Edit], jsonl: bool) -> None:
    """Every applied fix put its value where it belongs, and the text is still valid JSON."""
    if not applied:
        return
    if jsonl:
        lines = _line_spans(text)
        records = {d.diagnostic.record_line for d in applied}
        docs = {n: json.loads(text[slice(*lines[n - 1])]) for n in records}
    else:
        docs = {None: json.loads(text)}
    for ed in applied:
        d = ed.diagnostic
        doc = docs[d.record_line if jsonl else None]
        try:
            got = resolve(doc, d.fix.pointer)
        except (KeyError, IndexError, TypeError, ValueError):
            got = object()
        if got != d.fix.value:
            raise FixError(f"fix of {d.rule} at {d.fix.pointer} in {d.file} did not take effect")


# --- files -----------------------------------------------------------------------------------


@dataclass
class FileFix:
    """The fixing of one file: its text before and after, and the diagnostics fixed."""

    path: str
    original: str
    fixed: str
    bom: bool = False
    fixed_diagnostics: int = 0
    #: the diagnostics whose fixes were applied, in the order they were (``--show-fixes``)
    applied: list[Diagnostic] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.original != self.fixed


def read_text(path: str) -> tuple[str, bool]:
    """A file's text (UTF-8, without BOM) and whether it had a BOM."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    if text.startswith(_BOM):
        return text[1:], True
    return text, False


def fix_files(diagnostics: Iterable[Diagnostic], recheck: Recheck, *, unsafe: bool = False,
              max_passes: int = MAX_PASSES,
              read: Callable[[str], tuple[str, bool]] = read_text) -> list[FileFix]:
    """Fix every file with applicable fixes, in memory; check again after each round.

    ``recheck(path, text)`` returns the diagnostics of ``text`` as if it were the file ``path``;
    ``read(path)`` gives a file's text and whether it had a BOM (:func:`read_text`; the CLI reads
    standard input for ``-``).  Nothing is written: see :func:`write`.
    """
    pending: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        if d.file and applicable(d.fix, unsafe) and not is_table(d.file):  # see not_written
            pending.setdefault(d.file, []).append(d)
    states: dict[str, FileFix] = {}
    for _ in range(max_passes):
        if not pending:
            break
        following: dict[str, list[Diagnostic]] = {}
        for path, diags in pending.items():
            state = states.get(path)
            if state is None:
                text, bom = read(path)
                state = states[path] = FileFix(path, text, text, bom)
            new, done = fix_text(state.fixed, diags, jsonl=is_jsonl(path), unsafe=unsafe)
            if not done:
                continue
            state.fixed = new
            state.fixed_diagnostics += len(done)
            state.applied += done
            again = [d for d in recheck(path, new) if applicable(d.fix, unsafe)]
            if again:
                following[path] = again
        pending = following
    return [s for s in states.values() if s.changed]


def not_written(diagnostics: Iterable[Diagnostic], unsafe: bool = False) -> dict[str, int]:
    """The fixes ``--fix`` leaves unwritten because their file is a Parquet / Arrow table (it is
    never rewritten: the fix is a JSON edit): file -> how many; the findings stay reported."""
    out: dict[str, int] = {}
    for d in diagnostics:
        if d.file and applicable(d.fix, unsafe) and is_table(d.file):
            out[d.file] = out.get(d.file, 0) + 1
    return out


class WriteRefused(Exception):
    """A file ``--fix`` does not write: read-only, a symlink out of the working tree, or not a
    regular file.  Its findings stay reported."""


def write(ff: FileFix, root: str | None = None) -> None:
    """Write the fixed text in place, as an editor saving the file: the same inode, so its mode,
    owner and hard links stay, and no temporary file exists at any time.  A symlink's target is
    written when it lies inside ``root`` (default: the working directory) or the link's own folder,
    else refused; a file
    without a write permission bit, or one this process may not write, is refused rather than
    replaced through a writable folder."""
    data = ((_BOM if ff.bom else "") + ff.fixed).encode("utf-8")
    target = os.path.realpath(ff.path)
    if os.path.islink(ff.path):
        trees = {os.path.realpath(root or os.getcwd()),
                 os.path.realpath(os.path.dirname(os.path.abspath(ff.path)))}
        if not any(os.path.commonpath([target, t]) == t for t in trees):
            raise WriteRefused(f"{ff.path} links to {target}, outside the working tree: not written")
    try:
        fd = os.open(target, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise WriteRefused(f"{ff.path}: cannot be written ({e.strerror}): not written") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise WriteRefused(f"{ff.path} is not a regular file: not written")
        if not st.st_mode & 0o222:
            raise WriteRefused(f"{ff.path} is read-only: not written (make it writable to fix it)")
        with _signals_held():
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.ftruncate(fd, len(data))
            os.fsync(fd)
    finally:
        os.close(fd)


#: The signals that end a run from outside (Ctrl-C, kill, a closed terminal): held while a file is
#: being written, so the file is whole when the run ends (SIGKILL and a power cut cannot be held).
_HELD = ("SIGINT", "SIGTERM", "SIGHUP")


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then let them through: a write in
    place that stops half-way leaves a file that is neither the old text nor the new.  Only the
    main thread's mask is changed (other threads never write fixes)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {getattr(signal, name) for name in _HELD if hasattr(signal, name)}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _lines(text: str) -> list[str]:
    lines = re.findall(r"[^\n]*\n|[^\n]+\Z", text)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def unified_diff(ff: FileFix) -> str:
    """The change as a unified diff (``a/PATH`` → ``b/PATH``)."""
    name = ff.path.replace(os.sep, "/")
    return "".join(difflib.unified_diff(_lines(ff.original), _lines(ff.fixed),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))


# --- checking text that is not on disk -------------------------------------------------------


def engine_recheck(engine: Any, keep: Callable[[list[Diagnostic]], list[Diagnostic]] | None = None
                   ) -> Recheck:
    """A :data:`Recheck` that runs ``engine`` (a :class:`qwenlint.engine.Engine`) on in-memory text:
    the same record loop and fold as a check of the file on disk.

    ``keep`` filters the diagnostics (per-file-ignores), so an ignored rule's fix is not applied.
    """
    from qwenlint.ir import Record
    from qwenlint.load import limits
    from qwenlint.load.source import Source

    def recheck(path: str, text: str) -> list[Diagnostic]:
        if is_jsonl(path):
            records = []
            for n, (s, e) in enumerate(_line_spans(text), start=1):
                line = text[s:e]
                try:
                    value = limits.loads(line) if line.strip() else None
                except ValueError:
                    continue  # a broken line has no fixes; the final check reports it
                if line.strip():
                    records.append(Record(value=value, line=n, text=line))
            src = Source(path=path, display=path, format="jsonl", records=records)
        else:
            src = Source(path=path, display=path, format="json",
                         records=[Record(value=limits.loads(text), text=text)])
        fold = engine.fold()
        for outcome in engine.check_source(src):
            fold.add(outcome)
        diags = fold.finish().diagnostics
        return keep(diags) if keep else diags

    return recheck
