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
    valid UTF-8.

    Why: JSON is UTF-8; ``json.load`` on such a file raises ``UnicodeDecodeError`` or reads garbage.

    Example: ``qwenlint check photo.jpg`` (a JPEG, not a conversation file).

    Fix: Point qwenlint at the conversation or dataset file; re-save text files as UTF-8.
    """
    for p in _problems(ctx, "unreadable", "binary", "encoding"):
        yield Finding("", p.message, help="check the path, and save conversation files as UTF-8 JSON",
                      data={"line": p.line, "column": p.column})


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
    """What: A JSON document over the size limit (256 MiB), a JSONL record over 64 MiB, or nesting
    deeper than JSON parsers accept.

    Why: Loading a huge JSON array builds every record in memory at once (about ten times the file
    size); very deep nesting makes ``json.loads`` raise ``RecursionError``.  qwenlint refuses such
    input with a message instead of exhausting memory or crashing.

    Example: ``[[[[[[ ... 100 000 levels ... ]]]]]]``

    Fix: Write large datasets as JSONL (one record per line), which is streamed in constant memory.
    """
    for p in _problems(ctx, "too-large", "too-deep"):
        yield Finding("", p.message, help="write large datasets as JSONL, one record per line",
                      data={"line": p.line, "column": p.column})
