"""The framework views and defaults of qwenlint.consumers' framework modules (no CLI)."""

from __future__ import annotations

import json

from qwenlint.consumers import Target, llamafactory, ms_swift, qwen_finetune, record_view
from qwenlint.consumers.llamafactory import DatasetInfo
from qwenlint.consumers.records import near_miss_tags
from qwenlint.dialects.normalise import normalise
from qwenlint.ir import Kind
from qwenlint.vision import get_profile


def conv_of(record):
    (conv,) = normalise(record).conversations
    return conv


def test_placeholders_read_the_environment():
    assert llamafactory.tags({})[Kind.IMAGE] == "<image>"
    assert llamafactory.tags({"VIDEO_PLACEHOLDER": "<vid>"})[Kind.VIDEO] == "<vid>"
    rec = {"conversations": [{"from": "human", "value": "<vid>"}, {"from": "gpt", "value": "ok"}],
           "videos": ["v.mp4"]}
    v = record_view(conv_of(rec), Target.LLAMAFACTORY, environ={"VIDEO_PLACEHOLDER": "<vid>"})
    assert len(v.tag_positions(Kind.VIDEO)) == 1
    assert Kind.AUDIO not in qwen_finetune.view(conv_of({"conversations": []})).tags


def test_dataset_info_unlisted_columns_and_tags_become_none(tmp_path):
    (tmp_path / "d.json").write_text("[]")
    (tmp_path / "dataset_info.json").write_text(json.dumps({
        "other": {"file_name": "x.json"},
        "mine": {"file_name": "d.json", "formatting": "sharegpt",
                 "columns": {"messages": "messages", "image": "images"},
                 "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                          "assistant_tag": "assistant"}}}))
    attr = DatasetInfo().entry_for(str(tmp_path / "d.json"))
    assert attr.name == "mine" and attr.messages == "messages"
    assert attr.images is None and attr.unknown_columns == ["image"]
    assert attr.system_tag is None and attr.observation_tag is None
    assert DatasetInfo().entry_for(str(tmp_path / "nothing.json")) is None


def test_dataset_info_in_parent_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.json").write_text("[]")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"x": {"file_name": "sub/d.json"}}))
    attr = DatasetInfo().entry_for(str(tmp_path / "sub" / "d.json"))
    assert attr is not None and attr.formatting == "alpaca"


def test_llamafactory_view_roles_and_counting():
    rec = {"conversations": [{"from": "system", "value": "<image> sys"},
                             {"from": "human", "value": "<image>Hi"}, {"from": "gpt", "value": "Yo"}],
           "images": ["a.png"]}
    v = llamafactory.view(conv_of(rec), None, {})
    assert [t.as_role for t in v.turns] == ["system", "user", "assistant"]
    assert len(v.tag_positions(Kind.IMAGE)) == 1  # the system prompt is not counted
    assert not v.dropped


def test_qwen_finetune_view_only_human_turns_count():
    rec = {"image": ["a.png", "b.png"],
           "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": "<image>"}]}
    v = qwen_finetune.view(conv_of(rec))
    assert [t.as_role for t in v.turns] == ["user", "assistant"]
    assert len(v.tag_positions(Kind.IMAGE)) == 1
    assert [m.pointer for m in v.media[Kind.IMAGE]] == ["/image/0", "/image/1"]


def test_ms_swift_view_singular_columns_are_aliases():
    rec = {"messages": [{"role": "user", "content": "<video>"}], "video": "v.mp4"}
    v = ms_swift.view(conv_of(rec), {})
    assert v.media_column[Kind.VIDEO] == "video" and len(v.media[Kind.VIDEO]) == 1


def test_ms_swift_preference_records_are_two_sequences():
    """The rejected sequence (test_ms_swift_rlhf runs ms-swift's own code on such records)."""
    msgs = [{"role": "system", "content": "s"}, {"role": "user", "content": "<image>q"},
            {"role": "assistant", "content": "a"}]
    v = ms_swift.view(conv_of({"messages": msgs, "rejected_response": "b<image>", "images": ["x.png"]}), {})
    assert v.branches == [1, 2] and not v.dropped
    assert [t.branch for t in v.turns] == [0, 0, 1, 2]
    assert len(v.tag_positions(Kind.IMAGE, branch=1)) == 1 and len(v.tag_positions(Kind.IMAGE, branch=2)) == 2
    assert [m.source for m in v.media_of(Kind.IMAGE, 2)] == ["x.png"]  # the chosen images, supplemented
    # rejected_messages: its own turns, and no media of the chosen sequence
    v = ms_swift.view(conv_of({"messages": msgs, "images": ["x.png"], "rejected_messages": msgs}), {})
    assert v.branches == [1, 2] and v.media_of(Kind.IMAGE, 2) == [] and len(v.media_of(Kind.IMAGE, 1)) == 1
    v = ms_swift.view(conv_of({"messages": msgs, "images": ["x.png"], "rejected_response": "b",
                               "rejected_images": ["y.png", "z.png"]}), {})
    assert [m.source for m in v.media_of(Kind.IMAGE, 2)] == ["y.png", "z.png"]
    for bad in (None, "a", 3):  # null, the chosen answer (both at load), not a string (at encode)
        v = ms_swift.view(conv_of({"messages": msgs, "rejected_response": bad}), {})
        assert v.dropped and v.dropped[0].pointer.endswith("/rejected_response"), bad


def test_ms_swift_views_follow_the_command():
    """``--swift-args``' subcommand and ``--rlhf_type`` decide which sequences a record has
    (test_ms_swift_rlhf runs the same commands through ms-swift's own parser and code)."""
    msgs = [{"role": "user", "content": "<image>q"}, {"role": "assistant", "content": "a"}]
    pair = {"messages": msgs, "rejected_response": "b<image>", "images": ["x.png"]}
    plain = {"messages": msgs, "images": ["x.png"]}

    def view(rec, line):
        return ms_swift.view(conv_of(rec), {}, None, ms_swift.parse_args(line))

    for line in ("", "--max_length 100", "swift rlhf", "rlhf --rlhf_type orpo", "--rlhf_type simpo",
                 "--rlhf_type cpo", "--rlhf_type rm"):
        v = view(pair, line)
        assert v.branches == [1, 2] and not v.dropped, line
    assert view(pair, "").command is None and view(pair, "--rlhf_type rm").command == "swift rlhf --rlhf_type rm"
    # swift sft: the chosen sequence alone; a rejected_response of the wrong type still fails in from_dict
    v = view(pair, "swift sft")
    assert v.branches == [0] and not v.dropped and v.command == "swift sft"
    assert len(v.tag_positions(Kind.IMAGE)) == 1
    bad = view({**pair, "rejected_response": 3}, "swift sft").dropped
    assert bad and "from_dict" in bad[0].reason
    assert view({**pair, "rejected_response": None}, "swift sft").dropped  # at load, in every mode
    # dpo & co. on a record without a rejected sequence: the template raises
    (d,) = view(plain, "swift rlhf").dropped
    assert "inputs.rejected is None" in d.reason and "--rlhf_type dpo" in d.reason and not d.stops
    assert not view(plain, "swift sft").dropped and not view(plain, "").dropped
    # kto: the chosen sequence; no label, or a last message that is not an answer, stops the run
    assert view({**plain, "label": True}, "--rlhf_type kto").branches == [0]
    assert not view({**pair, "rejected_response": 3, "label": False}, "--rlhf_type kto").dropped  # overwritten
    (d,) = view(plain, "--rlhf_type kto").dropped
    assert d.stops and "label" in d.reason
    (d,) = view({"messages": msgs + [{"role": "user", "content": "more"}], "label": 1}, "--rlhf_type kto").dropped
    assert d.stops and d.pointer.endswith("/messages/2") and d.logged == "AssertionError"
    # a row the template would delete still reaches prepare_kto_dataset, which stops first
    both = view({"messages": [msgs[0], msgs[0], {"role": "system", "content": "s"}], "label": 1}, "--rlhf_type kto")
    assert [d.stops for d in both.dropped] == [False, True]
    assert not view({"messages": [{"role": "user"}], "label": 1}, "--rlhf_type kto").dropped[-1].stops  # at load


def test_framework_media_defaults():
    # LLaMA-Factory's ProcessorArguments: images to 768*768 pixels, video frames to 256*256,
    # 2 fps up to 128 frames.
    assert llamafactory.DEFAULTS.image_size(2000, 1000) == (1086, 543)
    assert llamafactory.DEFAULTS.frame_size(640, 480) == (295, 221)
    # the Qwen plugins: each side at least 28, an aspect ratio above 200 cut to 180
    assert llamafactory.DEFAULTS.image_size(20, 96) == (28, 96)
    assert llamafactory.DEFAULTS.image_size(9000, 30) == (5400, 30)
    assert llamafactory.DEFAULTS.image_size(30, 9000) == (30, 5400)
    assert llamafactory.DEFAULTS.video_frames(300, 10.0, 300) == 20 and llamafactory.DEFAULTS.video_frames(9000, 300.0, 9000) == 128
    # qwen-vl-finetune's DataArguments written into the processor: 4..8 frames, 28*28*576 pixels,
    # up to transformers 5.3; from 5.4 update_processor_pixels writes no pixel bound.
    from packaging.version import Version

    prof = qwen_finetune.processor_profile(get_profile("qwen2.5-vl"), Version("5.3.0"))
    assert prof.image_max_pixels == 28 * 28 * 576 and prof.video.max_frames == 8
    assert (prof.video.min_pixels, prof.video.max_pixels) == (256 * 28 * 28, 1024 * 28 * 28)
    for release in (None, Version("5.4.0"), Version("5.23.0")):
        assert qwen_finetune.processor_profile(get_profile("qwen2.5-vl"), release) == get_profile("qwen2.5-vl")


def test_ms_swift_budgets_come_from_the_environment():
    from packaging.version import Version

    assert ms_swift.media_options(Kind.IMAGE, {"MAX_PIXELS": "1003520"}) == {}
    assert ms_swift.media_options(Kind.VIDEO, {"FPS": "1", "FPS_MAX_FRAMES": "x"}) == {"fps": 1.0}
    assert ms_swift.media_options(Kind.IMAGE, {}) == {}
    new, qvu = Version("4.6.0"), Version("0.0.14")
    # the pixel variables become token counts with the loader's factor (28 or 32), rounded down
    env = {"MAX_PIXELS": "1003519", "VIDEO_MAX_PIXELS": "50000", "MIN_PIXELS": "x"}
    assert ms_swift.qvu_constants(env, "qwen2-vl", new, qvu) == {"IMAGE_MAX_TOKEN_NUM": 1279, "VIDEO_MAX_TOKEN_NUM": 63}
    assert ms_swift.qvu_constants(env, "qwen3-vl", new, qvu) == {"IMAGE_MAX_TOKEN_NUM": 979, "VIDEO_MAX_TOKEN_NUM": 48}
    # a token variable set itself wins; before qwen-vl-utils 0.0.14 the pixels are written as they are
    assert ms_swift.qvu_constants({**env, "IMAGE_MAX_TOKEN_NUM": "7"}, "qwen2-vl", new, qvu)["IMAGE_MAX_TOKEN_NUM"] == 7
    assert ms_swift.qvu_constants(env, "qwen2-vl", new, Version("0.0.11")) == {"MAX_PIXELS": 1003519,
                                                                             "VIDEO_MAX_PIXELS": 50000}
    # the Omni loaders convert them from 4.1.0 only
    assert ms_swift.qvu_constants(env, "qwen3-omni", Version("3.12.6"), qvu) is None
    assert ms_swift.qvu_constants(env, "qwen2.5-omni", Version("4.1.0"), qvu)["VIDEO_MAX_TOKEN_NUM"] == 63
    assert ms_swift.qvu_constants({}, "qwen2-vl", new, qvu) is None
    # qwen-vl-utils with those constants: VIDEO_MAX_PIXELS=50000 is under the floor 1.05 x 128 x 784
    # (a frame of 105369 pixels at most, not a failed assertion); a large one raises the 768-token cap
    from qwenlint.vision import qvu as qv

    assert qv.video_tail(4, 360, 640, {}, 28, module={"VIDEO_MAX_TOKEN_NUM": 63}) == (224, 420)
    assert qv.video_tail(4, 720, 1280, {}, 28) == (560, 1008)
    assert qv.video_tail(4, 720, 1280, {}, 28, module={"VIDEO_MAX_TOKEN_NUM": 1500}) == (728, 1288)


def test_dropped_records_load_no_media(tmp_path):
    from _stages import run_stages

    rec = {"conversations": [{"from": "human", "value": "<image>"}, {"from": "human", "value": "x"}],
           "images": ["a.png"]}
    ctx = run_stages(tmp_path, rec, target="llamafactory")
    assert ctx.views[0].dropped and ctx.media == []


def test_near_miss_tags():
    assert near_miss_tags("<Image> and <img> and <image_1> and <image>", ["<image>"]) == \
        ["<Image>", "<img>", "<image_1>"]


def test_dataset_info_file_name_may_name_a_folder(tmp_path):
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "part-0.jsonl").write_text("")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"s": {"file_name": "shards",
                                                                  "formatting": "sharegpt"}}))
    attr = DatasetInfo().entry_for(str(tmp_path / "shards" / "part-0.jsonl"))
    assert attr is not None and attr.name == "s"


def test_inferred_openai_messages_merge_parallel_tool_results():
    rec = {"messages": [{"role": "user", "content": "Weather?"},
                        {"role": "assistant", "content": "calling"},
                        {"role": "tool", "content": "sunny"}, {"role": "tool", "content": "warm"},
                        {"role": "assistant", "content": "Sunny and warm."}]}
    v = llamafactory.view(conv_of(rec), None, {})
    assert v.attr.formatting == "openai" and not v.dropped


def _entry(**kw) -> llamafactory.DatasetAttr:
    attr = llamafactory.DatasetAttr(name="d", formatting="sharegpt", images="images")
    for k, v in kw.items():
        setattr(attr, k, v)
    return attr


def test_llamafactory_preference_record_without_dataset_info_is_a_pair():
    """LLaMA-Factory's DPO demo records (a prompt, ``chosen`` and ``rejected`` objects): kept,
    each answer a sequence of its own (the tag count holds in both)."""
    rec = {"conversations": [{"from": "human", "value": "<image>What?"}],
           "chosen": {"from": "gpt", "value": "A cat."}, "rejected": {"from": "gpt", "value": "A dog."},
           "images": ["a.png"]}
    v = llamafactory.view(conv_of(rec), None, {})
    assert not v.dropped and not v.mapping_errors
    assert v.branches == [1, 2]
    assert [len(v.tag_positions(Kind.IMAGE, branch=b)) for b in v.branches] == [1, 1]
    rec["chosen"]["value"] = "<image>A cat."  # one more image tag in the chosen sequence only
    v = llamafactory.view(conv_of(rec), None, {})
    assert [len(v.tag_positions(Kind.IMAGE, branch=b)) for b in v.branches] == [2, 1]


def test_llamafactory_stage_decides_what_is_dropped():
    pair = {"conversations": [{"from": "human", "value": "q"}],
            "chosen": {"from": "gpt", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}}
    ranking = _entry(ranking=True, chosen="chosen", rejected="rejected", images=None)
    assert not llamafactory.view(conv_of(pair), ranking, {}, stage="dpo").mapping_errors
    (stop,) = llamafactory.view(conv_of(pair), ranking, {}, stage="sft").mapping_errors
    assert "not applicable in the current training stage" in stop.logged
    sft = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    (stop,) = llamafactory.view(conv_of(sft), _entry(images=None), {}, stage="rm").mapping_errors
    assert "not applicable" in stop.logged
    kto = dict(sft, kto_tag=True)
    attr = _entry(kto_tag="kto_tag", images=None)
    assert not llamafactory.view(conv_of(kto), attr, {}, stage="kto").dropped
    (drop,) = llamafactory.view(conv_of(kto), attr, {}, stage="sft").dropped  # two answers in sft
    assert "KTO example" in drop.reason
    (drop,) = llamafactory.view(conv_of(dict(sft, kto_tag=None)), attr, {}, stage="kto").dropped
    assert "not a boolean" in drop.reason


def test_llamafactory_answer_roles_and_function_calls():
    pair = {"conversations": [{"from": "human", "value": "q"}],
            "chosen": {"from": "assistant", "value": "a"}, "rejected": {"from": "gpt", "value": "b"}}
    ranking = _entry(ranking=True, chosen="chosen", rejected="rejected", images=None)
    (stop,) = llamafactory.view(conv_of(pair), ranking, {}).mapping_errors
    assert stop.logged == "KeyError: 'assistant'" and stop.pointer == "/chosen"
    call = {"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": "get_weather"}]}
    (stop,) = llamafactory.view(conv_of(call), _entry(images=None), {}).mapping_errors
    assert stop.logged.startswith("RuntimeError: Invalid JSON format in function message")
    call["conversations"][1]["value"] = json.dumps({"name": "get_weather", "arguments": {}})
    assert not llamafactory.view(conv_of(call), _entry(images=None), {}).mapping_errors


def test_llamafactory_yaml_stage(tmp_path):
    (tmp_path / "t.yaml").write_text("stage: dpo\n")
    assert llamafactory.Settings.from_file(str(tmp_path / "t.yaml")).stage == "dpo"
    (tmp_path / "t.yaml").write_text("stage: grpo\n")
    try:
        llamafactory.Settings.from_file(str(tmp_path / "t.yaml"))
    except ValueError as e:
        assert "stage must be one of" in str(e)
    else:
        raise AssertionError("an unknown stage was accepted")


def test_llamafactory_yaml_use_audio_in_video(tmp_path):
    (tmp_path / "t.yaml").write_text("use_audio_in_video: true\n")
    assert llamafactory.Settings.from_file(str(tmp_path / "t.yaml")).use_audio_in_video is True
    assert llamafactory.DEFAULTS.use_audio_in_video is False
    (tmp_path / "t.yaml").write_text("use_audio_in_video: 1\n")
    try:
        llamafactory.Settings.from_file(str(tmp_path / "t.yaml"))
    except ValueError as e:
        assert "use_audio_in_video must be true or false" in str(e)
    else:
        raise AssertionError("a non-boolean use_audio_in_video was accepted")


def test_llamafactory_audio_in_video_texts():
    texts = ["<audio>a<video>b<video>c<audio>", "q"]
    # the first <audio> of the message goes with each <video>, wherever it is
    assert llamafactory.audio_in_video_texts(texts, "<video>", "<audio>", 2, 2) == (["a<video>b<video>c", "q"], None)
    assert llamafactory.audio_in_video_texts(["<audio><video>"], "<video>", "<audio>", 1, 1)[1] == (
        0, "Each <video> must be followed by an <audio> when using audio in video.")
    assert llamafactory.audio_in_video_texts(["<video>", "<audio>"], "<video>", "<audio>", 1, 1)[1][0] == 0
    assert llamafactory.audio_in_video_texts(["<video>"], "<video>", "<audio>", 1, 2)[1] == (
        None, "Number of videos (1) must match number of audios (2) when using audio in video.")
    assert llamafactory.audio_in_video_texts(["<video>"], "<video>", "<audio>", 1, 0) == (["<video>"], None)


def test_llamafactory_interleaved_runs():
    # get_chunked_index: one boundary per value at most, an empty chunk for no audio
    assert llamafactory.chunked_index([0, 0, 50, 50, 150]) == [(0, 2), (2, 4), (4, 5)]
    assert llamafactory.chunked_index([]) == [(0, 0)]
    # 4 temporal patches of 2 pads at 1 s a patch (2 fps sampled, 2 frames a patch): ids 0, 25, 50, 75
    positions = llamafactory.video_positions(llamafactory.Settings(), 4, 2, 8, 4.0)
    assert positions == [0, 0, 25, 25, 50, 50, 75, 75]
    video, audio = llamafactory.interleaved_runs(positions, 60)
    assert video == ((0, 4), (54, 4)) and audio == ((4, 50), (58, 10))
    block = llamafactory.Block("v", Kind.VIDEO, 0, 0, 10, 8, video)
    assert block.end == 10 + 58 and block.kept(10 + 56) == 6 and block.kept(100) == 8
