"""QL0xx — files that cannot be read as conversations at all."""

from __future__ import annotations

from qwenlint.context import RecordContext
from qwenlint.diagnostics import Severity
from qwenlint.rules.base import Finding, needs, rule


def _problems(ctx: RecordContext, *kinds: str):
    return (p for p in ctx.problems if p.kind in kinds)


@rule("QL001", "invalid-json", Severity.ERROR, "The file (or a JSONL line) is not valid JSON.")
@needs("problems")
def invalid_json(ctx: RecordContext):
    """What: A JSON document, or one line of a JSONL file, that the JSON parser rejects.

    Why: Every consumer starts with ``json.load``; the run dies before the first batch
    (``json.decoder.JSONDecodeError: Expecting ',' delimiter``).  The Qwen fine-tuning README's
    grounding example has unescaped quotes inside a string and fails exactly like this.

    Example: ``{"value": "the "red" car"}``

    Fix: Escape inner quotes (``\\"``), remove trailing commas, and write one record per line in
    JSONL files.
    """
    for p in _problems(ctx, "invalid-json"):
        yield Finding("", p.message, help="fix the JSON syntax at this position; inner quotes must "
                      "be escaped as \\\" and trailing commas are not allowed",
                      data={"line": p.line, "column": p.column})


@rule("QL002", "unreadable-file", Severity.ERROR,
      "The file cannot be read as UTF-8 text (missing, binary, bad encoding, not a file).")
@needs("problems")
def unreadable_file(ctx: RecordContext):
    """What: A path that does not exist or is not a regular file, a binary file, or text that is not
    valid UTF-8; a Parquet or Arrow file that pyarrow cannot read (damaged or truncated: the rows
    before the damage are checked), or any such file when pyarrow is not installed.

    Why: JSON is UTF-8; ``json.load`` on such a file raises ``UnicodeDecodeError`` or reads garbage.

    Example: ``qwenlint check photo.jpg`` (a JPEG, not a conversation file).

    Fix: Point qwenlint at the conversation or dataset file; re-save text files as UTF-8.
    """
    for p in _problems(ctx, "unreadable", "binary", "encoding", "damaged-table", "no-pyarrow"):
        yield Finding("", p.message, help=_UNREADABLE_HELP.get(p.kind, _UNREADABLE_HELP[None]),
                      data={"line": p.line, "column": p.column})


_UNREADABLE_HELP = {
    None: "check the path, and save conversation files as UTF-8 JSON",
    "damaged-table": "write the Parquet / Arrow file again (pyarrow cannot read it); the rows before "
                     "the damage were checked",
    "no-pyarrow": "pip install 'qwenlint[parquet]'",
}


@rule("QL003", "empty-input", Severity.ERROR, "The file or the top-level list is empty.")
@needs("problems", "shape")
def empty_input(ctx: RecordContext):
    """What: An empty file, a file of blank lines, or an empty top-level list.

    Why: ``apply_chat_template([])`` and ``process_vision_info([])`` fail with
    ``IndexError: list index out of range``; an empty dataset trains on nothing.

    Example: ``[]``

    Fix: Write at least one conversation: ``[{"role": "user", "content": "Hi"}]``.
    """
    for p in _problems(ctx, "empty"):
        yield Finding("", p.message, help="write at least one conversation",
                      data={"line": p.line, "column": p.column})
    for issue in ctx.shape_issues("empty"):
        yield Finding(issue.pointer, issue.message, help="write at least one conversation")


@rule("QL004", "input-too-large", Severity.ERROR,
      "The input is too large or too deeply nested to check safely.")
@needs("problems")
def input_too_large(ctx: RecordContext):
    """What: A JSON document over the size limit (256 MiB), a JSONL record over 64 MiB, nesting
    deeper than JSON parsers accept, a record with a value nested more than 200 levels deep, or an
    integer of more than 4 300 digits.  A record refused for its depth or an integer is not
    checked further; the diagnostic points at the value.

    Why: Loading a huge JSON array builds every record in memory at once (about ten times the file
    size); very deep nesting makes ``json.loads`` raise ``RecursionError``, and transformers'
    template conversion, Jinja's ``tojson`` and ``pickle`` fail the same way far sooner; Python's
    ``json.loads`` refuses long integers (``ValueError: Exceeds the limit (4300 digits) for
    integer string conversion``).  qwenlint refuses such input with a message instead of
    exhausting memory or crashing.

    Example: ``[[[[[[ ... 100 000 levels ... ]]]]]]``

    Fix: Write large datasets as JSONL (one record per line), which is streamed in constant memory;
    flatten or remove a deeply nested value; write a huge number as a string.
    """
    for p in _problems(ctx, "too-large", "too-deep", "too-deep-value", "long-integer"):
        yield Finding(p.pointer, p.message, help=_TOO_LARGE_HELP.get(p.kind, _TOO_LARGE_HELP[None]),
                      data={"line": p.line, "column": p.column})


_TOO_LARGE_HELP = {
    None: "write large datasets as JSONL, one record per line",
    "too-deep-value": "flatten this value or remove it: no consumer needs it nested this deep",
    "long-integer": "write this number as a string, or remove it",
}


@rule("QL005", "internal-error", Severity.ERROR,
      "qwenlint failed while checking this record or file; it was not checked (a bug to report).")
@needs("problems")
def internal_error(ctx: RecordContext):
    """What: A record (or a file) whose check raised an unexpected exception inside qwenlint: a bug
    in qwenlint, or a value from a Python caller that raises when it is read.  The record is not
    checked; every other record and file still is, and ``qwenlint check`` exits 2 after its report
    (the error is also printed on stderr; ``--debug`` prints the traceback).

    Why: One record that trips qwenlint must not cost every other file its report, nor pass as
    clean: the record's own failures are unknown.

    Example: a rule that raises ``ZeroDivisionError`` on one record of a dataset.

    Fix: Report the message (and the ``--debug`` traceback) at qwenlint's issue tracker with the
    record; meanwhile check the record by hand, or exclude it.
    """
    for p in _problems(ctx, "internal-error"):
        yield Finding(p.pointer, p.message, help="this is a bug in qwenlint: please report it with "
                      "this record (qwenlint --debug check ... prints the traceback)",
                      data={"line": p.line, "column": p.column})
