"""QL6xx: one positive and one negative example per rule, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (120, 80, 40)).save(path)


@pytest.fixture
def write(tmp_path):
    """Write records (a list → .json, or JSONL when ``jsonl=True``) plus the images they name."""

    def _write(records, name: str = "data.json", jsonl: bool = False, images=("a.png", "b.png"),
               dataset_info: dict | None = None) -> Path:
        for img in images:
            _png(tmp_path / img)
        p = tmp_path / name
        if jsonl:
            p.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n",
                         encoding="utf-8")
        else:
            p.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
        if dataset_info is not None:
            (tmp_path / "dataset_info.json").write_text(json.dumps(dataset_info), encoding="utf-8")
        return p

    return _write


def run(cli, path: Path, target: str, *extra: str):
    r = cli("check", "--format", "json", "--select", "QL6,QL401", "--target", target, *extra, path)
    assert r.exit_code in (0, 1), r.output
    return r


def found(r, code: str) -> list[dict]:
    return [d for d in r.doc["diagnostics"] if d["rule"] == code]


def lf_msgs(user: str, images=None, assistant: str = "A cat.") -> dict:
    rec = {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}
    if images is not None:
        rec["images"] = images
    return rec


def qft(human: str, image=None, gpt: str = "A cat.", **extra) -> dict:
    rec = {"conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]}
    if image is not None:
        rec["image"] = image
    rec.update(extra)
    return rec


# --- QL601 media-tag-count-mismatch ---------------------------------------------------------

def test_ql601_llamafactory_positive(cli, write):
    p = write([lf_msgs("Describe the two photos.", ["a.png", "b.png"])])
    r = run(cli, p, "llamafactory")
    (d,) = found(r, "QL601")
    assert d["severity"] == "error" and r.exit_code == 1
    assert d["pointer"] == "/0/images/0"
    assert "The number of images does not match the number of <image> tokens" in d["message"]


def test_ql601_llamafactory_counts_all_turns_negative(cli, write):
    # mllm_demo's record 0: the second tag sits at the end of a later user turn.
    rec = {"messages": [{"role": "user", "content": "<image>Who?"}, {"role": "assistant", "content": "A."},
                        {"role": "user", "content": "Doing?<image>"}, {"role": "assistant", "content": "B."}],
           "images": ["a.png", "a.png"]}
    r = run(cli, write([rec]), "llamafactory")
    assert r.doc["diagnostics"] == [] and r.exit_code == 0


def test_ql601_llamafactory_env_placeholder(cli, write, monkeypatch):
    monkeypatch.setenv("IMAGE_PLACEHOLDER", "<img>")
    p = write([lf_msgs("<img>What is it?", ["a.png"])])
    assert found(run(cli, p, "llamafactory"), "QL601") == []
    monkeypatch.setenv("IMAGE_PLACEHOLDER", "<picture>")
    assert found(run(cli, p, "llamafactory"), "QL601")


def test_ql601_qwen_finetune_positive_names_error(cli, write):
    p = write([qft("<image>\nWhat is in the first image?", ["a.png", "b.png"])])
    (d,) = found(run(cli, p, "qwen-finetune"), "QL601")
    assert "1 image(s) remain unused (not consumed by placeholders)" in d["message"]
    assert d["pointer"] == "/0/image/1"
    p = write([qft("<image><image>Compare.", "a.png")])
    (d,) = found(run(cli, p, "qwen-finetune"), "QL601")
    assert "Number of <image> placeholders exceeds the number of provided images" in d["message"]
    assert d["pointer"] == "/0/conversations/0/value"


def test_ql601_qwen_finetune_negative(cli, write):
    p = write([qft("<image>\n<image>\nWhat differs?", ["a.png", "b.png"]), qft("Hi", None)])
    assert run(cli, p, "qwen-finetune").doc["diagnostics"] == []


def test_ql601_ms_swift_tag_without_images_is_a_warning(cli, write):
    # The acceptance case swift-doc-chat-template-kwargs-image-tag-without-images.
    recs = [{"messages": [{"role": "user", "content": "<image>What is this"},
                          {"role": "assistant", "content": "This is a rabbit", "loss": False}],
             "chat_template_kwargs": {"max_pixels": 1048576}},
            {"messages": [{"role": "user", "content": "who are you?"}]}]
    r = run(cli, write(recs, "data.jsonl", jsonl=True), "ms-swift")
    (d,) = found(r, "QL601")
    assert d["severity"] == "warning" and d["pointer"] == "/messages/0/content"
    assert r.exit_code == 0


def test_ql601_ms_swift_missing_tags_are_info_with_fix(cli, write):
    r = run(cli, write([lf_msgs("Describe.", ["a.png"])], "d.jsonl", jsonl=True), "ms-swift")
    (d,) = found(r, "QL601")
    assert d["severity"] == "info" and d["fix"]["edits"][0]["value"] == "<image>Describe."


def test_ql601_ms_swift_negative_tags_in_any_role(cli, write):
    recs = [{"messages": [{"role": "assistant", "content": "<image>is a puppy, <image>is a kitten"}],
             "images": ["a.png", "b.png"]}]
    assert run(cli, write(recs, "d.jsonl", jsonl=True), "ms-swift").doc["diagnostics"] == []


def test_ql601_near_miss_tag_is_named(cli, write):
    p = write([lf_msgs("<Image>What is it?", ["a.png"])])
    (d,) = found(run(cli, p, "llamafactory"), "QL601")
    assert "'<Image>' is not a tag" in d["message"]


# --- QL602 media-tag-outside-user-turn ------------------------------------------------------

def test_ql602_qwen_finetune_gpt_turn_positive(cli, write):
    p = write([qft("What is it?", "a.png", gpt="<image>A cat.")])
    (d,) = found(run(cli, p, "qwen-finetune"), "QL602")
    assert d["pointer"] == "/0/conversations/1/value" and "GPT response contains media token" in d["message"]


def test_ql602_llamafactory_assistant_turn_positive(cli, write):
    p = write([lf_msgs("Describe it.", ["a.png"], assistant="<image>It is a cat.")])
    (d,) = found(run(cli, p, "llamafactory"), "QL602")
    assert d["pointer"] == "/0/messages/1/content"


def test_ql602_negative(cli, write):
    p = write([qft("<image>What is it?", "a.png")])
    assert found(run(cli, p, "qwen-finetune"), "QL602") == []
    # ms-swift's agent format: a tag inside a tool_response turn is intended.
    rec = {"messages": [{"role": "user", "content": "<image>What time is it?"},
                        {"role": "tool_call", "content": "{}"},
                        {"role": "tool_response", "content": "{\"images\": \"<image>\"}"},
                        {"role": "assistant", "content": "11 o'clock."}],
           "images": ["a.png", "b.png"]}
    assert run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift").doc["diagnostics"] == []


# --- QL603 record-dropped-by-framework ------------------------------------------------------

def test_ql603_positive_not_alternating(cli, write):
    rec = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "human", "value": "There?"},
                             {"from": "gpt", "value": "Yes."}]}
    (d,) = found(run(cli, write([rec]), "llamafactory"), "QL603")
    assert d["pointer"] == "/0/conversations/1" and "Invalid role tag" in d["message"]


def test_ql603_positive_odd_count(cli, write):
    rec = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"},
                             {"from": "human", "value": "Bye"}]}
    (d,) = found(run(cli, write([rec]), "llamafactory"), "QL603")
    assert "Invalid message count" in d["message"]


def test_ql603_system_without_system_tag(cli, write):
    info = {"d": {"file_name": "data.json", "formatting": "sharegpt",
                  "columns": {"messages": "messages", "images": "images"},
                  "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant"}}}
    rec = {"messages": [{"role": "system", "content": "Be brief."},
                        {"role": "user", "content": "<image>Hi"}, {"role": "assistant", "content": "Hi"}],
           "images": ["a.png"]}
    (d,) = found(run(cli, write([rec], dataset_info=info), "llamafactory"), "QL603")
    assert "without system_tag" in d["message"]
    info["d"]["tags"]["system_tag"] = "system"
    assert run(cli, write([rec], dataset_info=info), "llamafactory").doc["diagnostics"] == []


def test_ql603_negative(cli, write):
    rec = {"conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi"},
                             {"from": "gpt", "value": "Hello"}]}
    assert found(run(cli, write([rec]), "llamafactory"), "QL603") == []


# --- QL604 turn-becomes-assistant -----------------------------------------------------------

def test_ql604_positive(cli, write):
    rec = {"image": "a.png", "conversations": [{"from": "user", "value": "<image>What is it?"},
                                                {"from": "gpt", "value": "A cat."}]}
    r = run(cli, write([rec]), "qwen-finetune")
    (d,) = found(r, "QL604")
    assert d["pointer"] == "/0/conversations/0/from" and "media tags are not expanded" in d["message"]
    assert d["fix"]["edits"][0]["value"] == "human"


def test_ql604_negative(cli, write):
    assert found(run(cli, write([qft("<image>Hi", "a.png")]), "qwen-finetune"), "QL604") == []


# --- missing media in a dataset column: QL401 (the media stage probes column entries too) ------

def test_missing_column_media_is_ql401(cli, write):
    p = write([lf_msgs("<image>What is it?", ["missing/a.png"])])
    (d,) = found(run(cli, p, "llamafactory"), "QL401")
    assert d["pointer"] == "/0/images/0" and "missing/a.png" in d["message"]


def test_column_media_found_and_media_root(cli, write, tmp_path):
    p = write([lf_msgs("<image>What is it?", ["a.png"])])
    assert found(run(cli, p, "llamafactory"), "QL401") == []
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert found(run(cli, p, "llamafactory", "--media-root", other), "QL401")
    # URLs are not probed.
    p = write([lf_msgs("<image>What is it?", ["https://example.com/a.png"])])
    assert found(run(cli, p, "llamafactory"), "QL401") == []


# --- QL606 duplicate-record-id --------------------------------------------------------------

def test_ql606_positive_jsonl(cli, write):
    recs = [qft("<image>Hi", "a.png", id="x1"), qft("<image>Ho", "a.png", id="x2"),
            qft("<image>Hu", "a.png", id="x1")]
    (d,) = found(run(cli, write(recs, "d.jsonl", jsonl=True), "qwen-finetune"), "QL606")
    assert d["line"] == 3 and d["pointer"] == "/id" and "line 1" in d["message"]


def test_ql606_negative_and_state_reset(cli, write):
    p = write([qft("<image>Hi", "a.png", id="x1"), qft("<image>Ho", "a.png", id="x2")],
              "d.jsonl", jsonl=True)
    assert found(run(cli, p, "qwen-finetune"), "QL606") == []
    assert found(run(cli, p, "qwen-finetune"), "QL606") == []  # a second run starts afresh


# --- QL607 media-column-not-read ------------------------------------------------------------

def test_ql607_qwen_finetune_plural_column(cli, write):
    rec = {"images": ["a.png"], "conversations": [{"from": "human", "value": "<image>Hi"},
                                                  {"from": "gpt", "value": "Hello"}]}
    r = run(cli, write([rec]), "qwen-finetune")
    (d,) = found(r, "QL607")
    assert d["pointer"] == "/0/images" and "reads \"image\"" in d["message"]
    assert found(r, "QL601")  # and the tag is then unmatched


def test_ql607_llamafactory_dataset_info_key(cli, write):
    info = {"d": {"file_name": "data.json", "formatting": "sharegpt",
                  "columns": {"messages": "messages", "image": "images"},
                  "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant"}}}
    r = run(cli, write([lf_msgs("<image>What?", ["a.png"])], dataset_info=info), "llamafactory")
    (d,) = found(r, "QL607")
    assert d["pointer"] == "/0/images" and "the key is \"images\"" in d["message"]


def test_ql607_negative(cli, write):
    info = {"d": {"file_name": "data.json", "formatting": "sharegpt",
                  "columns": {"messages": "messages", "images": "image"},
                  "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant"}}}
    rec = {"messages": [{"role": "user", "content": "<image>What?"},
                        {"role": "assistant", "content": "A cat."}], "image": ["a.png"]}
    assert run(cli, write([rec], dataset_info=info), "llamafactory").doc["diagnostics"] == []
    # ms-swift reads both spellings.
    assert run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift").doc["diagnostics"] == []


# --- QL608 vision-token-in-dataset-text -----------------------------------------------------

def test_ql608_positive(cli, write):
    p = write([lf_msgs("<|vision_start|><|image_pad|><|vision_end|>What is it?", ["a.png"])],
              "d.jsonl", jsonl=True)
    r = run(cli, p, "ms-swift")
    (d,) = found(r, "QL608")
    assert d["severity"] == "error" and d["pointer"] == "/messages/0/content"
    assert d["fix"]["edits"][0]["value"] == "<image>What is it?"


def test_ql608_negative_grounding_tokens(cli, write):
    rec = lf_msgs("<image>Find the <|object_ref_start|>dog<|object_ref_end|>", ["a.png"],
                  assistant="<|box_start|>(1,2),(3,4)<|box_end|>")
    assert run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift").doc["diagnostics"] == []


# --- QL609 dataset-info-mismatch ------------------------------------------------------------

def test_ql609_positive_tags_and_formatting(cli, write):
    info = {"d": {"file_name": "data.json", "formatting": "sharegpt",
                  "columns": {"messages": "messages", "images": "images"}}}
    recs = [lf_msgs("<image>What?", ["a.png"]), lf_msgs("<image>And?", ["a.png"])]
    r = run(cli, write(recs, dataset_info=info), "llamafactory")
    ds = found(r, "QL609")
    assert len(ds) == 1 and "KeyError: 'from'" in ds[0]["message"]  # once per file
    info = {"d": {"file_name": "data.json", "columns": {"messages": "messages", "images": "images"}}}
    # formatting missing (alpaca) on message lists: an empty user turn, no answer, the record is
    # dropped (LLaMA-Factory 0.9.4 and 0.9.5, tests/differential/test_llamafactory.py)
    (d,) = found(run(cli, write(recs[:1], dataset_info=info), "llamafactory"), "QL603")
    assert "'alpaca'" in d["message"] and "Dropped invalid example" in d["message"]


def test_ql609_a_column_no_record_has(cli, write):
    # no columns block: Alpaca reads "instruction", "input" and "output"; without an "input" in
    # any record, LLaMA-Factory stops with KeyError: 'input' (run for real in
    # tests/differential/test_llamafactory.py); one record with it is enough (the loader fills None)
    info = {"d": {"file_name": "data.json"}}
    rec = {"instruction": "<image>What?", "output": "A cat.", "images": ["a.png"]}
    info_cols = {"d": {"file_name": "data.json", "columns": {"prompt": "instruction", "query": "input",
                                                           "response": "output", "images": "images"}}}
    (d,) = found(run(cli, write([rec], dataset_info=info_cols), "llamafactory"), "QL609")
    assert "KeyError: 'input'" in d["message"] and "no record of the file has" in d["message"]
    assert found(run(cli, write([rec, dict(rec, input="")], dataset_info=info_cols), "llamafactory"),
                 "QL609") == []
    # without a columns block no media column is read at all (QL607), and "input" is still read
    r = run(cli, write([rec], dataset_info=info), "llamafactory")
    assert "KeyError: 'input'" in found(r, "QL609")[0]["message"]


def test_ql609_openai_role_the_tags_do_not_name(cli, write):
    info = {"d": {"file_name": "data.json", "formatting": "openai",
                  "columns": {"messages": "messages", "images": "images"},
                  "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant", "system_tag": "system"}}}
    rec = {"messages": [{"role": "user", "content": "<image>What?"}, {"role": "bot", "content": "A cat."}],
           "images": ["a.png"]}
    (d,) = found(run(cli, write([rec], dataset_info=info), "llamafactory"), "QL609")
    assert "KeyError: 'bot'" in d["message"] and d["pointer"] == "/0/messages/1"
    # ShareGPT formatting skips such a record instead
    info["d"]["formatting"] = "sharegpt"
    r = run(cli, write([rec], dataset_info=info), "llamafactory")
    assert found(r, "QL609") == [] and len(found(r, "QL603")) == 1


def test_ql609_tool_calls_in_another_turn_at_llamafactory_094(cli, write):
    # 0.9.4 takes len() of the null the loader gives an assistant turn without tool_calls when
    # another turn of the file has them; 0.9.5 reads it with get()
    info = {"d": {"file_name": "data.json", "formatting": "openai", "columns": {"messages": "messages"},
                  "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant", "observation_tag": "tool",
                           "function_tag": "function_call", "system_tag": "system"}}}
    call = [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]
    rec = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
                        {"role": "user", "content": "Call f"},
                        {"role": "assistant", "content": "", "tool_calls": call},
                        {"role": "tool", "content": "42"}, {"role": "assistant", "content": "42."}]}
    path = write([rec], dataset_info=info)
    (d,) = found(run(cli, path, "llamafactory", "--assume", "llamafactory==0.9.4"), "QL609")
    assert "TypeError: object of type 'NoneType' has no len()" in d["message"] and d["pointer"] == "/0/messages/1"
    assert run(cli, path, "llamafactory", "--assume", "llamafactory==0.9.5").doc["diagnostics"] == []


def test_ql603_a_record_without_turns(cli, write):
    info = {"d": {"file_name": "data.json", "formatting": "sharegpt",
                  "columns": {"messages": "conversations", "images": "images"}}}
    r = run(cli, write([{"conversations": [], "images": ["a.png"]}], dataset_info=info), "llamafactory")
    (d,) = found(r, "QL603")
    assert "Dropped invalid example" in d["message"]
    assert found(r, "QL601") == []  # a dropped record's tags are never counted


@pytest.mark.parametrize("messages, why", [
    ([], "the message list is empty"),
    ([{"role": "narrator", "content": "Once"}, {"role": "assistant", "content": "."}], "role 'narrator'"),
    ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": None}], "has no content"),
    ([{"role": "user", "content": "Hi"}, {"role": "system", "content": "Be brief."},
      {"role": "assistant", "content": "Hello."}], "is not (user or tool, assistant)"),
    ([{"role": "tool", "content": "42"}, {"role": "assistant", "content": "42."}], "a tool result follows no tool call"),
])
def test_ql603_ms_swift_deletes_the_row(cli, write, messages, why):
    # run for real in tests/differential/test_ms_swift.py (ms-swift 4.6.0: load_dataset, encode)
    (d,) = found(run(cli, write([{"messages": messages}], "d.jsonl", jsonl=True), "ms-swift"), "QL603")
    assert why in d["message"] and "the data will be deleted" in d["message"]


def test_ql603_ms_swift_tool_result_after_a_user_turn(cli, write):
    # 4.5.0 folds it into the user turn; 3.12.6 fails on it (both run in test_ms_swift.py)
    rec = {"messages": [{"role": "user", "content": "What is 6 * 7?"}, {"role": "tool", "content": "42"},
                        {"role": "assistant", "content": "42."}]}
    path = write([rec], "d.jsonl", jsonl=True)
    assert found(run(cli, path, "ms-swift", "--assume", "ms-swift==4.6.0"), "QL603") == []
    (d,) = found(run(cli, path, "ms-swift", "--assume", "ms-swift==3.12.6"), "QL603")
    assert "a tool result follows no tool call" in d["message"]


def test_ql603_ms_swift_merges_consecutive_turns(cli, write):
    rec = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi."},
                        {"from": "human", "value": "Still there?"}, {"role": "assistant", "content": "Yes."},
                        {"role": "assistant", "content": "Go on."}]}
    assert found(run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift"), "QL603") == []


def test_llamafactory_media_resolve_against_the_dataset_dir(cli, write, tmp_path):
    # data file in a sub-folder: media_dir defaults to dataset_dir (dataset_info.json's folder)
    info = {"d": {"file_name": "sub/data.json", "formatting": "sharegpt",
                  "columns": {"messages": "conversations", "images": "images"}}}
    (tmp_path / "sub").mkdir()
    rec = {"conversations": [{"from": "human", "value": "<image>What?"}, {"from": "gpt", "value": "A cat."}],
           "images": ["a.png"]}
    write([rec], dataset_info=info)
    (tmp_path / "sub" / "data.json").write_text(json.dumps([rec]), encoding="utf-8")
    r = run(cli, tmp_path / "sub" / "data.json", "llamafactory")
    assert r.doc["diagnostics"] == []
    _png(tmp_path / "sub" / "c.png")
    rec["images"] = ["c.png"]  # beside the data file only: LLaMA-Factory does not look there
    (tmp_path / "sub" / "data.json").write_text(json.dumps([rec]), encoding="utf-8")
    assert len(found(run(cli, tmp_path / "sub" / "data.json", "llamafactory"), "QL401")) == 1


def test_ql609_negative(cli, write):
    info = {"d": {"file_name": "data.json", "formatting": "sharegpt",
                  "columns": {"messages": "messages", "images": "images"},
                  "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                           "assistant_tag": "assistant"}}}
    r = run(cli, write([lf_msgs("<image>What?", ["a.png"])], dataset_info=info), "llamafactory")
    assert r.doc["diagnostics"] == []


# --- QL610 grounding-tag-count-mismatch -----------------------------------------------------

def test_ql610_positive(cli, write):
    rec = lf_msgs("<image>Find the <ref-object>", ["a.png"], assistant="<bbox><bbox>")
    rec["objects"] = {"ref": ["sheep"], "bbox": [[1, 2, 3, 4]]}
    (d,) = found(run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift"), "QL610")
    assert d["pointer"] == "/messages/1/content"


def test_ql610_negative(cli, write):
    rec = lf_msgs("<image>Find the <ref-object>", ["a.png"], assistant="<bbox><bbox>")
    rec["objects"] = {"ref": ["sheep"], "bbox": [[1, 2, 3, 4], [5, 6, 7, 8]]}
    assert run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift").doc["diagnostics"] == []


# --- scope ----------------------------------------------------------------------------------

def test_rules_only_run_for_dataset_targets(cli, write):
    p = write([lf_msgs("Describe the two photos.", ["a.png", "b.png"])])
    assert run(cli, p, "qwen-vl-utils").doc["diagnostics"] == []


def test_rule_docs_have_four_sections():
    from qwenlint.rules import REGISTRY

    codes = [c for c in REGISTRY if c.startswith("QL6")]
    assert len(codes) >= 10
    for c in codes:
        assert set(REGISTRY[c].docs) == {"What", "Why", "Example", "Fix"}, c


# --- hostile records never crash the rules --------------------------------------------------

HOSTILE = [
    {"messages": [1, None, "x", {"role": None, "content": None}], "images": {"a": 1}},
    {"messages": [{"role": "user", "content": [{"type": "image", "image": 3}]}], "images": 5},
    {"messages": [], "images": [None, 3, ["a.png", 7]], "videos": [[None]]},
    {"conversations": [{"from": ["human"], "value": {"x": 1}}, 7], "image": ["a.png", None]},
    {"conversations": [{"value": "<image>"}], "image": "", "video": [], "id": {"x": 1}},
    {"conversations": "not a list", "images": ["a.png"]},
    {"instruction": "<image>", "input": None, "output": 3, "history": [[1], ["a", "b"], "x"],
     "images": ["a.png"]},
    {"messages": [{"role": "user", "content": "<image><bbox><ref-object>"}], "objects": [1, 2],
     "images": ["a.png"]},
    {"messages": [{"role": "user", "content": "<image>"}], "objects": {"ref": "x", "bbox": None},
     "images": ["file://", "data:image/png;base64,AAAA", "s3://b/a.png", "\u0000"]},
]


@pytest.mark.parametrize("target", ["llamafactory", "ms-swift", "qwen-finetune"])
def test_hostile_records(cli, write, target):
    p = write(HOSTILE)
    r = cli("check", "--format", "json", "--target", target, p)
    assert r.exit_code in (0, 1), r.output
    p = write(HOSTILE, "d.jsonl", jsonl=True)
    r = cli("check", "--format", "json", "--target", target, p)
    assert r.exit_code in (0, 1), r.output


def test_hostile_dataset_info(cli, write):
    for info in ({"d": {"file_name": "data.json", "columns": ["x"], "tags": 3}},
                 {"d": {"file_name": "data.json", "formatting": "sharegpt",
                        "columns": {"messages": 3, "images": None}, "tags": {"role_tag": 1}}},
                 {"d": "x", "e": {"file_name": 7}}):
        p = write([lf_msgs("<image>Hi", ["a.png"])], dataset_info=info)
        r = cli("check", "--format", "json", "--target", "llamafactory", p)
        assert r.exit_code in (0, 1), r.output


# --- QL611 dataset-audio-without-audio-model ------------------------------------------------

def test_ql611_positive(cli, write, tmp_path):
    (tmp_path / "q.wav").write_bytes(b"RIFF")
    rec = {"messages": [{"role": "user", "content": "<audio>What is said?"},
                        {"role": "assistant", "content": "Hello."}], "audios": ["q.wav"]}
    p = write([rec])
    (d,) = found(run(cli, p, "llamafactory", "--family", "qwen2.5-vl"), "QL611")
    assert d["pointer"] == "/0/audios/0" and "does not support audio input" in d["message"]


def test_ql611_negative(cli, write, tmp_path):
    (tmp_path / "q.wav").write_bytes(b"RIFF")
    rec = {"messages": [{"role": "user", "content": "<audio>What is said?"},
                        {"role": "assistant", "content": "Hello."}], "audios": ["q.wav"]}
    p = write([rec])
    assert run(cli, p, "llamafactory", "--family", "qwen2.5-omni").doc["diagnostics"] == []


# --- QL612 media-inline-and-in-column -------------------------------------------------------

def test_ql612_positive(cli, write):
    rec = {"messages": [{"role": "user", "content": [{"type": "image", "image": "a.png"},
                                                     {"type": "text", "text": "What is it?"}]},
                        {"role": "assistant", "content": "A cat."}], "images": ["a.png"]}
    (d,) = found(run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift"), "QL612")
    assert d["pointer"] == "/images" and "AssertionError: self.images" in d["message"]


def test_ql612_negative(cli, write):
    rec = {"messages": [{"role": "user", "content": [{"type": "image", "image": "a.png"},
                                                     {"type": "text", "text": "What is it?"}]},
                        {"role": "assistant", "content": "A cat."}]}
    assert found(run(cli, write([rec], "d.jsonl", jsonl=True), "ms-swift"), "QL612") == []


# --- QL614 dataset-info-invalid -------------------------------------------------------------------

def test_ql614_dataset_info_checked_itself(cli, tmp_path):
    # LLaMA-Factory's own parser and loader, 0.9.4 and 0.9.5 (data/parser.py, data/loader.py)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text("{}\n")
    (tmp_path / "data" / "b.csv").write_text("x\n")
    (tmp_path / "ok.json").write_text("[]")
    (tmp_path / "notes.md").write_text("hi")
    info = {"gone": {"file_name": "gone.json"},
            "mixed": {"file_name": "data"},
            "md": {"file_name": "notes.md"},
            "nodata": {"formatting": "sharegpt"},
            "fmt": {"file_name": "ok.json", "formatting": "ShareGPT"},
            "typo": {"file_name": "ok.json", "colums": {"messages": "messages"},
                     "tags": {"role": "role"}},
            "hub": {"hf_hub_url": "org/name", "formatting": "sharegpt"},
            "fine": {"file_name": "ok.json", "file_sha1": "abc", "formatting": "openai"}}
    path = tmp_path / "dataset_info.json"
    path.write_text(json.dumps(info))
    r = cli("check", "--format", "json", path)
    got = {(d["pointer"], d["severity"]) for d in r.doc["diagnostics"] if d["rule"] == "QL614"}
    assert got == {("/gone/file_name", "error"), ("/mixed/file_name", "error"), ("/md/file_name", "error"),
                   ("/nodata", "error"), ("/fmt/formatting", "error"), ("/typo/colums", "warning"),
                   ("/typo/tags/role", "warning")}
    msgs = {d["pointer"]: d["message"] for d in r.doc["diagnostics"]}
    assert "File types should be identical" in msgs["/mixed/file_name"]
    assert "KeyError: 'file_name'" in msgs["/nodata"] and "did you mean 'columns'?" in msgs["/typo/colums"]
    assert all(d["rule"] == "QL614" for d in r.doc["diagnostics"])  # not read as a conversation (QL101)
    # a folder walk checks it too
    assert any(d["rule"] == "QL614" for d in cli("check", "--format", "json", tmp_path).doc["diagnostics"])


# --- --framework-config: LLaMA-Factory's training YAML ---------------------------------------------

def test_framework_config_budgets_media_dir_and_cutoff(cli, tmp_path):
    # the differential test (test_llamafactory.py) draws image_max_pixels / image_min_pixels and
    # media_dir in the YAML against LLaMA-Factory's own get_dataset
    (tmp_path / "media").mkdir()
    Image.new("RGB", (3000, 3000)).save(tmp_path / "media" / "big.png")
    rec = {"messages": [{"role": "user", "content": "<image>What?"}, {"role": "assistant", "content": "A."}],
           "images": ["big.png"]}
    data = tmp_path / "d.json"
    data.write_text(json.dumps([rec]))
    yaml = tmp_path / "train.yaml"
    yaml.write_text("model_name_or_path: Qwen/Qwen2.5-VL-7B-Instruct\nimage_max_pixels: 4194304\n"
                    "media_dir: media\ncutoff_len: 2048\n")
    base = ("tokens", "--format", "json", "--target", "llamafactory", "--family", "qwen2.5-vl", data)
    import os
    old = os.getcwd()
    os.chdir(tmp_path)  # media_dir is relative to the working directory, as for llamafactory-cli
    try:
        default = cli(*base).doc["parts"][0]
        tuned = cli(*base, "--framework-config", yaml).doc["parts"][0]
        r = cli("check", "--format", "json", "--target", "llamafactory", "--family", "qwen2.5-vl",
                "--framework-config", yaml, data)
    finally:
        os.chdir(old)
    assert default["error"] is not None  # big.png is not beside d.json: it is in media_dir
    assert tuned["grid_thw"] == [1, 146, 146] and tuned["tokens"] == 5329  # 2048x2048 pre-resize
    (d,) = [d for d in r.doc["diagnostics"] if d["rule"] == "QL501"]
    assert "over cutoff_len 2048" in d["message"] and "image_max_pixels: " in d["help"]


def _cutoff_check(cli, tmp_path, rec: dict, cutoff: int) -> list[dict]:
    Image.new("RGB", (280, 280)).save(tmp_path / "a.png")  # 100 pads for Qwen2.5-VL
    (tmp_path / "d.json").write_text(json.dumps([rec]))
    (tmp_path / "train.yaml").write_text(f"cutoff_len: {cutoff}\n")
    r = cli("check", "--format", "json", "--target", "llamafactory", "--family", "qwen2.5-vl",
            "--framework-config", tmp_path / "train.yaml", tmp_path / "d.json")
    return [d for d in r.doc["diagnostics"] if d["rule"] == "QL501"]


def test_llamafactory_cutoff_len_cuts_pads_or_text(cli, tmp_path):
    # LLaMA-Factory's infer_seqlen keeps the head of each (prompt, answer) pair and the record with
    # all its images (the differential test_llamafactory_cutoff runs it): a cut through the pads
    # stops training, a cut through text is silent, a record within cutoff_len is kept whole
    rec = {"messages": [{"role": "user", "content": "<image>What?"}, {"role": "assistant", "content": "A." * 40},
                        {"role": "user", "content": "more " * 30}, {"role": "assistant", "content": "B."}],
           "images": ["a.png"]}
    assert _cutoff_check(cli, tmp_path, rec, 4096) == []
    (d,) = _cutoff_check(cli, tmp_path, rec, 110)
    assert d["severity"] == "error" and d["pointer"] == "/0/images/0"
    assert "cuts through this image's pads" in d["message"] and "Image features and image tokens" in d["message"]
    assert "image_max_pixels: " in d["help"] and "raise cutoff_len to " in d["help"]
    (d,) = _cutoff_check(cli, tmp_path, rec, 160)  # the pads fit; the last turns are cut
    assert d["severity"] == "warning" and "every pad is kept" in d["message"]
    rec["messages"][0]["content"] = "What?"
    rec["messages"][2]["content"] = "<image>" + rec["messages"][2]["content"]
    (d,) = _cutoff_check(cli, tmp_path, rec, 40)  # the second pair is left out, image and all
    assert d["severity"] == "error" and "leaves out the turns holding this image" in d["message"]


def test_framework_config_refused_like_llamafactory(cli, tmp_path):
    yaml = tmp_path / "train.yaml"
    yaml.write_text("image_max_pixels: 1024\nimage_min_pixels: 4096\n")
    (tmp_path / "d.json").write_text("[]")
    r = cli("check", "--target", "llamafactory", "--framework-config", yaml, tmp_path / "d.json")
    assert r.exit_code == 2 and "cannot be smaller than `image_min_pixels`" in r.output
    yaml.write_text("image_max_pixels: [1]\n")
    assert cli("check", "--framework-config", yaml, tmp_path / "d.json").exit_code == 2


def test_ql603_without_dataset_info_an_unknown_role_is_a_skip(cli, write):
    # no dataset_info.json: the entry is inferred from the record, and an unknown role is reported
    # as the ShareGPT converter's skip, naming the OpenAI converter's KeyError
    rec = {"messages": [{"role": "user", "content": "<image>Hi"}, {"role": "bot", "content": "A."}],
           "images": ["a.png"]}
    (d,) = found(run(cli, write([rec], "d.jsonl", jsonl=True), "llamafactory"), "QL603")
    assert "KeyError: 'bot'" in d["message"] and "Skipping this abnormal example" in d["message"]


def test_ms_swift_max_length_deletes_the_row(cli, tmp_path):
    # ms-swift's default --truncation_strategy delete: a row over max_length is deleted when it is
    # encoded (MaxLengthError); the differential test_ms_swift_max_length runs it
    Image.new("RGB", (280, 280)).save(tmp_path / "a.png")
    rec = {"messages": [{"role": "user", "content": "<image>What?"}, {"role": "assistant", "content": "A."}],
           "images": ["a.png"]}
    (tmp_path / "d.jsonl").write_text(json.dumps(rec) + "\n")

    def check(budget: int) -> list[dict]:
        r = cli("check", "--format", "json", "--target", "ms-swift", "--family", "qwen2.5-vl", "--media-root",
                tmp_path, "--max-model-len", str(budget), tmp_path / "d.jsonl")
        return [d for d in r.doc["diagnostics"] if d["rule"] == "QL501"]

    assert check(4096) == []
    (d,) = check(110)
    assert d["severity"] == "error" and d["pointer"] == "/images/0"
    assert "deleted" in d["message"] and "MaxLengthError" in d["message"]
    assert "MAX_PIXELS=" in d["help"] and "--max_length" in d["help"] and "--truncation_strategy right" in d["help"]
    assert "on the part" not in d["help"]  # ms-swift reads no per-part option


def test_ms_swift_max_length_by_truncation_strategy(cli, tmp_path):
    # --swift-args gives ms-swift's own max_length and truncation_strategy: delete deletes the row
    # (an error), left / right keep it cut to max_length with every pad (a warning); the
    # differential test_ms_swift_max_length gives ms-swift the same arguments
    Image.new("RGB", (280, 280)).save(tmp_path / "a.png")
    rec = {"messages": [{"role": "user", "content": "<image>What?"}, {"role": "assistant", "content": "A."}],
           "images": ["a.png"]}
    (tmp_path / "d.jsonl").write_text(json.dumps(rec) + "\n")

    def check(*args: str) -> list[dict]:
        r = cli("check", "--format", "json", "--target", "ms-swift", "--family", "qwen2.5-vl", "--media-root",
                tmp_path, "--isolated", *args, tmp_path / "d.jsonl")
        return [d for d in r.doc["diagnostics"] if d["rule"] == "QL501"]

    assert check("--swift-args", "--max_length 4096 --truncation_strategy left") == []
    (d,) = check("--swift-args", "--max_length 110")
    assert d["severity"] == "error" and "its default --truncation_strategy delete" in d["message"]
    assert "max_length 110 (--swift-args)" in d["message"] and "deleted" in d["message"]
    (d,) = check("--swift-args", "--max-length=110 --truncation-strategy delete", "--max-model-len", "110")
    assert d["severity"] == "error" and "--truncation_strategy delete (--swift-args)" in d["message"]
    for side, kept in (("left", "last"), ("right", "first")):
        (d,) = check("--swift-args", f"swift sft --model m --max_length 110 --truncation_strategy {side}")
        assert d["severity"] == "warning" and d["pointer"] == "/images/0", d
        assert f"with --truncation_strategy {side} (--swift-args)" in d["message"]
        assert f"keeps every pad and the {kept}" in d["message"] and "(110 tokens kept" in d["message"]
        assert "deleted" not in d["message"]
        assert "--max_length" in d["help"] and "--truncation_strategy" not in d["help"]
    # the pads alone are more than max_length: only they are kept
    (d,) = check("--swift-args", "--max_length 20 --truncation_strategy right")
    assert d["severity"] == "warning" and "keeps only its 100 pads (100 tokens kept" in d["message"], d


# --- QL601 with LLaMA-Factory's use_audio_in_video ---------------------------------------------------

def _aiv(cli, write, tmp_path, records, setting: str = "true", family: str = "qwen2.5-omni"):
    (tmp_path / "train.yaml").write_text(f"use_audio_in_video: {setting}\n")
    p = write(records, images=())
    return found(run(cli, p, "llamafactory", "--family", family, "--framework-config", str(tmp_path / "train.yaml")),
                 "QL601")


def _av(user: str, videos: list, audios: list | None) -> dict:
    rec = lf_msgs(user)
    rec["videos"] = videos
    if audios is not None:
        rec["audios"] = audios
    return rec


def test_ql601_audio_in_video_pairs(cli, write, tmp_path):
    assert _aiv(cli, write, tmp_path, [_av("<video><audio>What?", ["v.mp4"], ["a.wav"]),
                                       _av("<video>x<audio><video>y<audio>", ["v.mp4", "v.mp4"], ["a.wav", "a.wav"]),
                                       _av("<audio><video><video><audio>", ["v.mp4", "v.mp4"], ["a.wav", "a.wav"])]) == []


def test_ql601_audio_in_video_order_stops(cli, write, tmp_path):
    (d,) = _aiv(cli, write, tmp_path, [_av("<audio><video>What?", ["v.mp4"], ["a.wav"])])
    assert d["severity"] == "error" and d["pointer"] == "/0/messages/0/content"
    assert "Each <video> must be followed by an <audio> when using audio in video." in d["message"]
    assert "LLaMA-Factory 0.9.5" in d["message"] and "use_audio_in_video: true" in d["message"]
    assert "use_audio_in_video: false" in d["help"]


def test_ql601_audio_in_video_counts_stop(cli, write, tmp_path):
    rec = _av("<video><video><audio>", ["v.mp4", "w.mp4"], ["a.wav"])
    (d,) = _aiv(cli, write, tmp_path, [rec])
    assert d["severity"] == "error" and d["pointer"] == "/0/videos/1"
    assert "Number of videos (2) must match number of audios (1) when using audio in video." in d["message"]
    # without the setting, or for a vision-only family, the same record is fine
    assert _aiv(cli, write, tmp_path, [rec], setting="false") == []


def test_ql601_audio_in_video_video_without_audio_warns(cli, write, tmp_path):
    (d,) = _aiv(cli, write, tmp_path, [_av("<video>What?", ["v.mp4"], None)])
    assert d["severity"] == "warning" and d["pointer"] == "/0/videos/0"
    assert "never reads a video's sound track" in d["message"]
    assert _aiv(cli, write, tmp_path, [_av("<video>What?", ["v.mp4"], None)], setting="false") == []
