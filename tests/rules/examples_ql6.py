"""QL6xx (fine-tuning dataset formats): one positive and one negative example per rule.

Records are checked with ``target="llamafactory" | "ms-swift" | "qwen-finetune"``; the rules about
a file (ids across JSONL lines, the ``dataset_info.json`` next to the data) check written files.
"""

from __future__ import annotations

import json

from _examples import Example, File

IMAGES = {"a.png": ("image", 64, 48), "b.png": ("image", 64, 48)}
LF = {"target": "llamafactory"}
SWIFT = {"target": "ms-swift"}
QFT = {"target": "qwen-finetune"}


def lf(user, images=None, assistant="A cat.", **extra):
    """A LLaMA-Factory / ms-swift record (role/content messages, an images column)."""
    rec = {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}
    if images is not None:
        rec["images"] = images
    rec.update(extra)
    return rec


def qft(human, image=None, gpt="A cat.", **extra):
    """A qwen-vl-finetune record (LLaVA style: from/value turns, an image column)."""
    rec = {"conversations": [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]}
    if image is not None:
        rec["image"] = image
    rec.update(extra)
    return rec


def jsonl(*records) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _info(tags: bool) -> dict:
    entry = {"file_name": "data.json", "formatting": "sharegpt",
             "columns": {"messages": "messages", "images": "images"}}
    if tags:
        entry["tags"] = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant"}
    return {"vqa": entry}


AUDIO_REC = {"messages": [{"role": "user", "content": "<audio>What is said?"},
                          {"role": "assistant", "content": "Hello."}], "audios": ["q.wav"]}
INLINE = [{"type": "image", "image": "a.png"}, {"type": "text", "text": "What is it?"}]

EXAMPLES: dict[str, Example] = {
    "QL601": Example([lf("Describe the two photos.", ["a.png", "b.png"])], "/0/images/0",
                     [lf("<image><image>Describe the two photos.", ["a.png", "b.png"])],
                     LF, media=IMAGES),
    "QL602": Example([qft("What is it?", "a.png", gpt="<image>A cat.")], "/0/conversations/1/value",
                     [qft("<image>What is it?", "a.png", gpt="A cat.")], QFT, media=IMAGES),
    "QL603": Example([{"conversations": [{"from": "human", "value": "Hi"},
                                         {"from": "human", "value": "Are you there?"},
                                         {"from": "gpt", "value": "Yes."}]}], "/0/conversations/1",
                     [{"conversations": [{"from": "human", "value": "Hi\nAre you there?"},
                                         {"from": "gpt", "value": "Yes."}]}], LF),
    "QL604": Example([{"image": "a.png", "conversations": [{"from": "user", "value": "<image>What is it?"},
                                                           {"from": "gpt", "value": "A cat."}]}],
                     "/0/conversations/0/from",
                     [{"image": "a.png", "conversations": [{"from": "human", "value": "<image>What is it?"},
                                                           {"from": "gpt", "value": "A cat."}]}],
                     QFT, media=IMAGES),
    # ids are compared across the lines of one JSONL file
    "QL606": Example(File(jsonl(qft("<image>Hi", "a.png", id="x1"), qft("<image>Ho", "b.png", id="x2"),
                                qft("<image>Hu", "a.png", id="x1")), "data.jsonl"), "/id",
                     File(jsonl(qft("<image>Hi", "a.png", id="x1"), qft("<image>Ho", "b.png", id="x2"),
                                qft("<image>Hu", "a.png", id="x3")), "data.jsonl"),
                     QFT, media=IMAGES, line=3),
    # qwen-vl-finetune reads "image", not "images"
    "QL607": Example([{"images": ["a.png"], **qft("<image>Hi")}], "/0/images",
                     [{"image": ["a.png"], **qft("<image>Hi")}], QFT, media=IMAGES),
    "QL608": Example([lf("<|vision_start|><|image_pad|><|vision_end|>What is it?", ["a.png"])],
                     "/0/messages/0/content", [lf("<image>What is it?", ["a.png"])], SWIFT,
                     media=IMAGES),
    # sharegpt formatting without "tags": LLaMA-Factory reads from/value and raises KeyError: 'from'
    "QL609": Example(File([lf("<image>What?", ["a.png"])], "data.json"), "/0/messages/0",
                     File([lf("<image>What?", ["a.png"])], "data.json"), media=IMAGES,
                     files={"dataset_info.json": _info(tags=False)},
                     negative_files={"dataset_info.json": _info(tags=True)}),
    "QL610": Example([lf("<image>Find the <ref-object>", ["a.png"], assistant="<bbox><bbox>",
                         objects={"ref": ["sheep"], "bbox": [[1, 2, 3, 4]]})], "/0/messages/1/content",
                     [lf("<image>Find the <ref-object>", ["a.png"], assistant="<bbox><bbox>",
                         objects={"ref": ["sheep"], "bbox": [[1, 2, 3, 4], [5, 6, 7, 8]]})],
                     SWIFT, media=IMAGES),
    "QL611": Example([AUDIO_REC], "/0/audios/0", [AUDIO_REC], {**LF, "family": "qwen2.5-vl"},
                     negative_options={"family": "qwen2.5-omni"}, files={"q.wav": b"RIFF"}),
    "QL612": Example([{"messages": [{"role": "user", "content": INLINE},
                                    {"role": "assistant", "content": "A cat."}], "images": ["a.png"]}],
                     "/0/images",
                     [{"messages": [{"role": "user", "content": INLINE},
                                    {"role": "assistant", "content": "A cat."}]}],
                     SWIFT, media=IMAGES),
    # dataset_info.json checked itself: the entry names a file that is not beside it
    "QL614": Example(File({"vqa": {"file_name": "vqa.json", "formatting": "sharegpt"}}, "dataset_info.json"),
                     "/vqa/file_name",
                     File({"vqa": {"file_name": "vqa.json", "formatting": "sharegpt"}}, "dataset_info.json"),
                     negative_files={"vqa.json": "[]"}),
    # the Example of QL613's docs: ms-swift refuses qwen-vl-utils 0.0.13 for Qwen2.5-VL; the fix
    # is the version it accepts
    "QL613": Example([{"messages": [{"role": "user", "content": "<image>What is it?"},
                                    {"role": "assistant", "content": "A cat."}], "images": ["a.png"]}],
                     "/0",
                     [{"messages": [{"role": "user", "content": "<image>What is it?"},
                                    {"role": "assistant", "content": "A cat."}], "images": ["a.png"]}],
                     {**SWIFT, "family": "qwen2.5-vl", "assume": ("qwen-vl-utils==0.0.13",)},
                     negative_options={"assume": ("qwen-vl-utils==0.0.14",)}, media=IMAGES),
    # no --target: the first record is qwen-vl-finetune's (image), the second LLaMA-Factory's
    # (images); the fix writes both as qwen-vl-finetune's (a text-only record is read alike)
    "QL615": Example(File(jsonl(qft("<image>Hi", "a.png"), {"images": ["b.png"], **qft("<image>Ho")}),
                          "data.jsonl"), "",
                     File(jsonl(qft("<image>Hi", "a.png"), qft("<image>Ho", "b.png"), qft("Hello")),
                          "data.jsonl"),
                     {}, media=IMAGES, line=2),
}
