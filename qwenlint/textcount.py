"""Text-token counting for the budget rules and ``qwenlint tokens``.

Exact when ``--model`` holds a ``tokenizer.json`` and the ``tokenizers`` library is installed
(``pip install qwenlint[tokens]``); otherwise a stated estimate, marked ``≈`` in messages:

* each special token written as ``<|...|>`` counts 1;
* ASCII text counts one token per 4 characters (rounded up per text), the usual ratio of Qwen's
  byte-level BPE on English prose and code;
* every other character counts 1 (CJK text is about one token per character).

The estimate is meant for budgets: it is close for prose, and it undercounts rather than
overcounts dense ASCII such as JSON, so a conversation it calls over budget is over budget.
"""

from __future__ import annotations

import functools
import math
import os
import re
from typing import Any

_SPECIAL = re.compile(r"<\|[^|<>\s]{1,40}\|>")

#: Tokens a chat template adds around each message (``<|im_start|>role\n`` ... ``<|im_end|>\n``).
MESSAGE_OVERHEAD = 5
#: ``<|vision_start|>`` and ``<|vision_end|>`` around each image or video.
MEDIA_OVERHEAD = 2
#: The default system prompt the Qwen2/2.5-VL templates add ("You are a helpful assistant.").
DEFAULT_SYSTEM = 12


class TextCounter:
    """Counts the tokens of a text: exactly with a tokenizer, else by the estimate above."""

    def __init__(self, tokenizer: Any = None, source: str | None = None) -> None:
        self._tok = tokenizer
        self.source = source  # the tokenizer.json used, when exact

    @property
    def exact(self) -> bool:
        return self._tok is not None

    @functools.cached_property
    def max_chars_per_token(self) -> int | None:
        """The longest token of the vocabulary, added tokens included, in characters (vLLM's
        ``max_chars_per_token``, vllm/tokenizers/hf.py); None without a tokenizer."""
        if self._tok is None:
            return None
        return max((len(t) for t in self._tok.get_vocab(with_added_tokens=True)), default=0)

    def count(self, text: str) -> int:
        if not text:
            return 0
        if self._tok is not None:
            return len(self._tok.encode(text, add_special_tokens=False).ids)
        return estimate(text)


def estimate(text: str) -> int:
    """The estimate of the module docstring."""
    n = 0
    if "<|" in text:
        n, text = len(_SPECIAL.findall(text)), _SPECIAL.sub(" ", text)
    if text.isascii():
        return n + math.ceil(len(text) / 4)
    ascii_chars = sum(1 for c in text if c < "\x80")
    return n + math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


def load_tokenizer(model_dir: str | None) -> TextCounter:
    """A counter for ``model_dir``'s ``tokenizer.json``; the estimate when there is none."""
    if model_dir:
        path = os.path.join(model_dir, "tokenizer.json")
        if os.path.isfile(path):
            try:
                from tokenizers import Tokenizer  # optional: the `tokens` extra
            except ImportError:
                return TextCounter()
            try:
                return TextCounter(Tokenizer.from_file(path), path)
            except Exception:  # noqa: BLE001 - an unreadable tokenizer falls back to the estimate
                return TextCounter()
    return TextCounter()


def approx(exact: bool) -> str:
    """``""`` for an exact count, ``"≈"`` for an estimate (prefix a number in messages)."""
    return "" if exact else "≈"
