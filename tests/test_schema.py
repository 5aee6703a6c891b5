"""``qwenlint schema``: every file qwenlint reads validates; a typo an editor should catch does not.

The valid side is every clean input the project has: the bundled good examples, the good dataset
fixtures, the clean cases of the acceptance corpus (published files: a schema error there is an
editor's false alarm on day one) and hypothesis-drawn conversations, batches and OpenAI requests.
The invalid side: a misspelt or translated part key, an unknown role, a wrong type.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from qwenlint.dialects.schema import json_schema
from test_properties import native_conversation, openai_conversation

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
ACCEPTANCE = ROOT.parent / "shared" / "acceptance"
SCHEMA = json_schema()
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)


def _documents(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]


def _clean_inputs() -> list:
    files = sorted((ROOT / "examples" / "good").glob("*.json*"))
    files += sorted(p for p in (ROOT / "tests" / "fixtures" / "datasets").glob("*/good/*.json*")
                    if p.name != "dataset_info.json")
    for case in sorted(ACCEPTANCE.glob("*/*/case.json")):
        meta = json.loads(case.read_text(encoding="utf-8"))
        if meta.get("expect") == "clean":
            files.append(case.parent / meta.get("file", "messages.json"))
    return [pytest.param(p, id=str(p.relative_to(ROOT.parent))) for p in files]


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_clean_inputs_are_collected():
    assert len(_clean_inputs()) >= 30  # the examples, the fixtures and the acceptance corpus


@pytest.mark.parametrize("path", _clean_inputs())
def test_every_clean_input_validates(path: Path):
    for doc in _documents(path):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in VALIDATOR.iter_errors(doc)]
        assert not errors, errors


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(native_conversation)
def test_drawn_conversations_validate(conv):
    assert VALIDATOR.is_valid(conv)
    assert VALIDATOR.is_valid([conv, conv])  # a batch


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(openai_conversation)
def test_drawn_openai_requests_validate(conv):
    assert VALIDATOR.is_valid({"model": "Qwen/Qwen2.5-VL-7B-Instruct", "messages": conv, "max_tokens": 16})
    assert VALIDATOR.is_valid({"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions",
                               "body": {"model": "m", "messages": conv}})


def test_dataset_records_validate():
    assert VALIDATOR.is_valid([{"messages": [{"role": "user", "content": "<image>Hi"},
                                             {"role": "assistant", "content": "Hello"}],
                                "images": ["a.jpg"], "id": 3}])
    assert VALIDATOR.is_valid({"conversations": [{"from": "human", "value": "<image>Hi"},
                                                 {"from": "gpt", "value": "Hello"}], "images": ["a.jpg"]})
    assert VALIDATOR.is_valid({"instruction": "Describe", "input": "", "output": "x", "images": ["a.jpg"]})


_USER = {"role": "user", "content": None}


@pytest.mark.parametrize("part", [
    {"type": "image", "imgae": "a.jpg"},                       # misspelt source key
    {"type": "视频", "视频": "a.mp4"},                          # translated type and key
    {"type": "image", "image": "a.jpg", "max_pixel": 50176},   # misspelt option
    {"type": "video", "video": "a.mp4", "fps": "2"},           # a string where a number belongs
    {"type": "image_url", "image_url": {"uri": "http://x/a.png"}},  # url object without url
    {"type": "text"},                                          # no text
])
def test_a_typo_an_editor_should_catch_is_invalid(part):
    assert not VALIDATOR.is_valid([{**_USER, "content": [part]}])
    assert not VALIDATOR.is_valid({"model": "m", "messages": [{**_USER, "content": [part]}]})


def test_unknown_roles_and_message_keys_are_invalid():
    assert not VALIDATOR.is_valid({"role": "user", "content": "hi"})  # QL103: a message, not a list
    assert not VALIDATOR.is_valid([{"role": "usr", "content": "hi"}])
    assert not VALIDATOR.is_valid([{"role": "user", "contnet": "hi"}])
    assert not VALIDATOR.is_valid([{"role": "user", "content": 5}])
    assert VALIDATOR.is_valid([{"role": "developer", "content": "hi"}, {"role": "user", "content": "hi"}])
