"""Good and broken fixture datasets per framework, through the CLI (tests/fixtures/datasets)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "datasets"

GOOD = [
    ("llamafactory/good/messages.json", None),  # declared by dataset_info.json → llamafactory
    ("llamafactory/good/sharegpt.json", None),
    ("llamafactory/good/alpaca.json", None),
    ("ms-swift/good/data.jsonl", None),  # messages + images → ms-swift
    ("qwen-finetune/good/data.json", None),  # conversations + image → qwen-finetune
    ("qwen-finetune/good/data.json", "qwen-finetune"),
    ("ms-swift/good/data.jsonl", "ms-swift"),
    # every record as LLaMA-Factory's, the text-only ones too (a media column absent from a
    # record is None in HF datasets, not a KeyError)
    ("llamafactory/good/messages.json", "llamafactory"),
    ("llamafactory/good/sharegpt.json", "llamafactory"),
    ("llamafactory/good/alpaca.json", "llamafactory"),
]


@pytest.mark.parametrize("rel,target", GOOD)
def test_good_fixture_is_clean(cli, rel, target):
    args = ["check", "--format", "json", "--select", "QL6"]
    if target:
        args += ["--target", target]
    r = cli(*args, FIXTURES / rel)
    assert r.exit_code == 0, r.output
    assert r.doc["diagnostics"] == []


def _found(r) -> set[tuple[str, str]]:
    return {(d["rule"], d["pointer"]) for d in r.doc["diagnostics"]}


def test_llamafactory_broken(cli):
    r = cli("check", "--format", "json", "--select", "QL6,QL401", FIXTURES / "llamafactory/broken/tag_count.json")
    assert r.exit_code == 1
    assert _found(r) == {
        ("QL601", "/0/images/0"),  # 2 images, no <image>
        ("QL401", "/0/images/0"), ("QL401", "/0/images/1"),  # front.png / back.png missing
        ("QL603", "/1/messages/0"),  # system turn, tags block without system_tag
        ("QL602", "/2/messages/1/content"),  # <image> in the assistant turn
        ("QL608", "/3/messages/0/content"),  # <|image_pad|> typed into the text
        ("QL601", "/3/images/0"),
        ("QL603", "/4/messages/1"),  # user, user, assistant
    }


def test_llamafactory_broken_dataset_info(cli):
    r = cli("check", "--format", "json", "--select", "QL6", FIXTURES / "llamafactory/broken/image_column.json")
    assert _found(r) == {("QL609", "/0"), ("QL601", "/0/messages/0/content"), ("QL607", "/0/images")}
    r = cli("check", "--format", "json", "--select", "QL6", FIXTURES / "llamafactory/broken/role_keys.json")
    assert _found(r) == {("QL609", "/0/messages/0")}


def test_ms_swift_broken(cli):
    r = cli("check", "--format", "json", "--select", "QL6,QL401", FIXTURES / "ms-swift/broken/data.jsonl")
    got = {(d["rule"], d["line"], d["pointer"], d["severity"]) for d in r.doc["diagnostics"]}
    assert got == {
        ("QL601", 1, "/messages/0/content", "warning"),  # <image>, no images column
        ("QL601", 2, "/messages/0/content", "error"),  # 2 tags, 1 image
        ("QL601", 3, "/images/0", "info"),  # no tag: ms-swift prepends one
        ("QL610", 4, "/messages/1/content", "error"),  # 2 <bbox>, 1 box
        ("QL401", 5, "/images/0", "error"),  # missing.png
    }


def test_qwen_finetune_broken(cli):
    r = cli("check", "--format", "json", "--select", "QL6", "--target", "qwen-finetune",
            FIXTURES / "qwen-finetune/broken/data.jsonl")
    got = {(d["rule"], d["line"], d["pointer"]) for d in r.doc["diagnostics"]}
    assert got == {
        ("QL601", 1, "/image/1"),  # 2 images, 1 tag: "1 image(s) remain unused"
        ("QL601", 2, "/conversations/0/value"),  # tag, no image: "exceeds"
        ("QL601", 3, "/image"),  # the tag is in the gpt turn ...
        ("QL602", 3, "/conversations/1/value"),  # ... where it stays literal
        ("QL604", 4, "/conversations/0/from"),  # "system" becomes an assistant turn
        ("QL606", 5, "/id"),  # id a1 again
        ("QL607", 5, "/images"),  # "images" is never read
        ("QL601", 5, "/conversations/0/value"),
    }
