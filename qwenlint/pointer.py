"""RFC 6901 JSON pointers: how every node of the IR, every diagnostic and every fix says where it is.

A pointer is a string of reference tokens, each prefixed with ``/`` (``""`` is the whole document,
``/0/content/1`` the second part of the first message).  Within a token ``~`` is written ``~0`` and
``/`` is written ``~1``.
"""

from __future__ import annotations


def escape_token(token: str) -> str:
    """Escape one reference token for a JSON pointer (RFC 6901: ``~`` → ``~0``, ``/`` → ``~1``)."""
    return token.replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: object) -> str:
    """Append reference tokens (keys or indices) to a pointer."""
    return pointer + "".join("/" + escape_token(str(t)) for t in tokens)


def split(pointer: str) -> list[str]:
    """The reference tokens of a pointer, unescaped (``""`` has none)."""
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def under(pointer: str, prefix: str) -> bool:
    """Whether ``pointer`` is ``prefix`` or inside it (every pointer is under ``""``)."""
    return prefix == "" or pointer == prefix or pointer.startswith(prefix + "/")
