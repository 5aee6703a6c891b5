"""Untrusted text made safe to print: the one home of escaping for every text output.

Roles, keys, paths, message excerpts and template text come from the user's files, and may hold
control characters: an escape sequence (``\\x1b[2J`` clears the screen, OSC 52 ``\\x1b]52;c;...\\x07``
writes the clipboard of terminals that allow it), a carriage return that overwrites the line, or
a bidirectional override that reorders what is shown (Trojan Source).  Every text renderer passes
such strings through :func:`printable` (one field, one line) or :func:`printable_text` (a block of
lines) before they reach a terminal, so they are shown escaped, as Python's ``repr`` writes them
(``\\x1b``, ``\\r``, ``\\u202e``), never sent.  JSON and SARIF need nothing: ``json`` escapes every
control character itself.
"""

from __future__ import annotations

#: C0 and C1 controls, DEL, and the Unicode bidirectional controls.
_CONTROLS = [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F,
             *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(cp: int) -> str:
    return _NAMED.get(cp) or (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}")


_FIELD = str.maketrans({cp: _escape(cp) for cp in _CONTROLS})
_BLOCK = str.maketrans({cp: _escape(cp) for cp in _CONTROLS if cp not in (0x09, 0x0A)})


def printable(text: object) -> str:
    """One field (a message, a path, a pointer) as one printable line: every control character
    escaped, newlines and tabs included."""
    s = str(text)
    return s if s.isprintable() else s.translate(_FIELD)


def printable_text(text: str) -> str:
    """A block of lines: as :func:`printable`, but its newlines and tabs kept."""
    return text if text.isprintable() else text.translate(_BLOCK)
