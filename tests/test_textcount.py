"""Text-token counting: the stated estimate, and the exact count through a model's tokenizer.json."""

from __future__ import annotations

import json
import os

import pytest

from qwenlint import textcount

REQUIRE = os.environ.get("QWENLINT_REQUIRE_DIFF") == "1"


def test_estimate_counts_specials_ascii_and_other_characters():
    assert textcount.estimate("") == 0
    assert textcount.estimate("abcd") == 1 and textcount.estimate("abcde") == 2
    assert textcount.estimate("<|im_start|>user") == 1 + 2  # one special + " user": 5 chars / 4, up
    assert textcount.estimate("你好") == 2
    assert textcount.load_tokenizer(None).exact is False


def _tokenizer_json(path) -> object:
    tokenizers = pytest.importorskip("tokenizers") if not REQUIRE else __import__("tokenizers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"<|im_start|>": 0, "<|im_end|>": 1, "[UNK]": 2}
    for word in ("hello", "world", "user", "assistant", "a", "b"):
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    tok.save(str(path))
    del tokenizers
    return tok


def test_exact_count_with_a_model_tokenizer(tmp_path):
    tok = _tokenizer_json(tmp_path / "tokenizer.json")
    counter = textcount.load_tokenizer(str(tmp_path))
    assert counter.exact and counter.source == str(tmp_path / "tokenizer.json")
    text = "<|im_start|>user hello world hello<|im_end|>"
    assert counter.count(text) == len(tok.encode(text, add_special_tokens=False).ids) == 6
    # The estimate would say something else: the exact path is really used.
    assert textcount.estimate(text) != 6


def test_unreadable_tokenizer_falls_back_to_the_estimate(tmp_path):
    (tmp_path / "tokenizer.json").write_text(json.dumps({"not": "a tokenizer"}))
    assert textcount.load_tokenizer(str(tmp_path)).exact is False
