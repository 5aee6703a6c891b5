"""The framework views of qwenlint.dialects.datasets (no CLI)."""

from __future__ import annotations

import json

from qwenlint.dialects import datasets as D
from qwenlint.dialects.normalise import normalise
from qwenlint.ir import Kind


def conv_of(record):
    (conv,) = normalise(record).conversations
    return conv


def test_placeholders_read_the_environment():
    assert D.placeholders(D.LLAMAFACTORY, {})[Kind.IMAGE] == "<image>"
    assert D.placeholders(D.LLAMAFACTORY, {"VIDEO_PLACEHOLDER": "<vid>"})[Kind.VIDEO] == "<vid>"
    assert Kind.AUDIO not in D.placeholders(D.QWEN_FINETUNE, {})


def test_dataset_info_unlisted_columns_and_tags_become_none(tmp_path):
    (tmp_path / "d.json").write_text("[]")
    (tmp_path / "dataset_info.json").write_text(json.dumps({
        "other": {"file_name": "x.json"},
        "mine": {"file_name": "d.json", "formatting": "sharegpt",
                 "columns": {"messages": "messages", "image": "images"},
                 "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                          "assistant_tag": "assistant"}}}))
    attr = D.find_dataset_info(str(tmp_path / "d.json"))
    assert attr.name == "mine" and attr.messages == "messages"
    assert attr.images is None and attr.unknown_columns == ["image"]
    assert attr.system_tag is None and attr.observation_tag is None
    assert D.find_dataset_info(str(tmp_path / "nothing.json")) is None


def test_dataset_info_in_parent_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.json").write_text("[]")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"x": {"file_name": "sub/d.json"}}))
    attr = D.find_dataset_info(str(tmp_path / "sub" / "d.json"))
    assert attr is not None and attr.formatting == "alpaca"


def test_llamafactory_view_roles_and_counting():
    rec = {"conversations": [{"from": "system", "value": "<image> sys"},
                             {"from": "human", "value": "<image>Hi"}, {"from": "gpt", "value": "Yo"}],
           "images": ["a.png"]}
    v = D.llamafactory_view(conv_of(rec), None)
    assert [t.as_role for t in v.turns] == ["system", "user", "assistant"]
    assert len(v.tag_positions(Kind.IMAGE)) == 1  # the system prompt is not counted
    assert not v.dropped


def test_qwen_finetune_view_only_human_turns_count():
    rec = {"image": ["a.png", "b.png"],
           "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": "<image>"}]}
    v = D.qwen_finetune_view(conv_of(rec))
    assert [t.as_role for t in v.turns] == ["user", "assistant"]
    assert len(v.tag_positions(Kind.IMAGE)) == 1
    assert [m.pointer for m in v.media[Kind.IMAGE]] == ["/image/0", "/image/1"]


def test_ms_swift_view_singular_columns_are_aliases():
    rec = {"messages": [{"role": "user", "content": "<video>"}], "video": "v.mp4"}
    v = D.ms_swift_view(conv_of(rec))
    assert v.media_column[Kind.VIDEO] == "video" and len(v.media[Kind.VIDEO]) == 1


def test_media_for_prediction_uses_framework_defaults():
    rec = {"messages": [{"role": "user", "content": "<image><video>Hi"},
                        {"role": "assistant", "content": "Yo"}],
           "images": ["a.png"], "videos": ["v.mp4"]}
    out = D.media_for_prediction(conv_of(rec), D.LLAMAFACTORY)
    assert [(r.kind, r.pointer) for r, _ in out] == [(Kind.IMAGE, "/images/0"), (Kind.VIDEO, "/videos/0")]
    assert out[0][1]["max_pixels"] == 768 * 768
    assert out[1][1] == {"max_pixels": 256 * 256, "min_pixels": 16 * 16, "fps": 2.0, "max_frames": 128}
    qft = {"video": "v.mp4", "conversations": [{"from": "human", "value": "<video>"},
                                               {"from": "gpt", "value": "ok"}]}
    (ref, opts), = D.media_for_prediction(conv_of(qft), D.QWEN_FINETUNE)
    assert opts["do_sample_frames"] is False and opts["max_frames"] == 8


def test_media_for_prediction_swift_env(monkeypatch):
    monkeypatch.setenv("MAX_PIXELS", "1003520")
    assert D.media_options(D.MS_SWIFT, Kind.IMAGE) == {"max_pixels": 1003520}


def test_media_for_prediction_skips_dropped_records():
    rec = {"conversations": [{"from": "human", "value": "<image>"}, {"from": "human", "value": "x"}],
           "images": ["a.png"]}
    assert D.media_for_prediction(conv_of(rec), D.LLAMAFACTORY) == []


def test_near_miss_tags():
    assert D.near_miss_tags("<Image> and <img> and <image_1> and <image>", ["<image>"]) == \
        ["<Image>", "<img>", "<image_1>"]


def test_dataset_info_file_name_may_name_a_folder(tmp_path):
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "part-0.jsonl").write_text("")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"s": {"file_name": "shards",
                                                                  "formatting": "sharegpt"}}))
    attr = D.find_dataset_info(str(tmp_path / "shards" / "part-0.jsonl"))
    assert attr is not None and attr.name == "s"


def test_inferred_openai_messages_merge_parallel_tool_results():
    rec = {"messages": [{"role": "user", "content": "Weather?"},
                        {"role": "assistant", "content": "calling"},
                        {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "warm"},
                        {"role": "assistant", "content": "Sunny and warm."}]}
    v = D.llamafactory_view(conv_of(rec), None)
    assert v.attr.formatting == "openai" and not v.dropped
