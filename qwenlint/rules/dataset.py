"""QL6xx — fine-tuning dataset records, judged the way the chosen framework reads them.

Each rule reads the framework's view of a record (:mod:`qwenlint.dialects.datasets`: turns as the
framework maps them, the media lists it loads, the columns it ignores, why it would drop the
record) and says what the framework does: crash, skip the record, or silently keep text / move
media.  The rules only run for the dataset targets (``llamafactory``, ``ms-swift``,
``qwen-finetune``) and only on dataset records (objects with ``conversations`` / ``messages`` /
``instruction``).
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from qwenlint.consumers import RecordView, Target, inferred_target, llamafactory
from qwenlint.consumers.llamafactory import LF_COLUMN_KEYS, LF_TAG_KEYS, data_stage
from qwenlint.consumers.records import (
    MEDIA_KINDS,
    PLURAL,
    VISION_SPECIAL_TOKENS,
    near_miss_tags,
)
from qwenlint.context import RecordContext
from qwenlint.diagnostics import Applicability, Fix, Severity
from qwenlint.dialects.keys import did_you_mean
from qwenlint.ir import Conversation, Kind
from qwenlint.pointer import join
from qwenlint.rules.base import Finding, Observation, Scope, needs, rule

_NOUN = {Kind.IMAGE: ("image", "images"), Kind.VIDEO: ("video", "videos"),
         Kind.AUDIO: ("audio", "audios")}


def _n(count: int, kind: Kind) -> str:
    one, many = _NOUN[kind]
    return f"{count} {one if count == 1 else many}"


def _short(value: Any, limit: int = 60) -> str:
    s = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _views(ctx: RecordContext) -> Iterator[tuple[Conversation, RecordView]]:
    """Every dataset record of the context with its framework view, in record order."""
    for conv in ctx.conversations:
        view = ctx.view(conv)
        if view is not None:
            yield conv, view


def _swift_assumed(ctx: RecordContext, v: RecordView) -> str | None:
    """``ms-swift R`` and the subcommand ``--swift-args`` names (``ms-swift 4.6.0, swift rlhf
    --rlhf_type kto``), for ms-swift's messages; None for the other frameworks."""
    if v.framework != Target.MS_SWIFT:
        return None
    return f"ms-swift {ctx.run.versions['ms-swift']}" + (f" ({v.command})" if v.command else "")


def _turn_list(indices: list[int]) -> str:
    idx = sorted(set(indices))
    if len(idx) == 1:
        return f"message {idx[0]}"
    return "messages " + ", ".join(map(str, idx[:-1])) + f" and {idx[-1]}"


# --- QL601 --------------------------------------------------------------------------------------

@rule("QL601", "media-tag-count-mismatch", Severity.ERROR,
      "A record's <image>/<video>/<audio> tags do not match its media list, as the framework counts them.")
@needs("dataset")
def media_tag_count_mismatch(ctx: RecordContext):
    """What: A dataset record whose number of media tags (``<image>``, ``<video>``, ``<audio>``)
    differs from the number of entries in its media column, counted the way the ``--target``
    framework counts: LLaMA-Factory over every message (not the system prompt; for a preference
    record, the prompt with the ``chosen`` answer and the prompt with the ``rejected`` one, each
    on its own, as its pairwise processor builds them); qwen-vl-finetune
    over ``human`` turns only; ms-swift over the system prompt and every message, for a
    preference record (``rejected_response`` / ``rejected_messages``) each of its two sequences
    against that sequence's media (``rejected_images``, else the chosen ones unless the record
    has ``rejected_messages``), unless ``--swift-args`` names ``swift sft`` or ``--rlhf_type kto``,
    which encode the chosen sequence alone (kto's KL sequence, another row's answer, is not
    counted).  The finding names the turns that hold the tags (and, for ms-swift, the release and
    the command assumed).

    Why: LLaMA-Factory stops the run (``mm_plugin._validate_messages``): ``ValueError: The number
    of images does not match the number of <image> tokens in [...]``.  qwen-vl-finetune raises
    ``ValueError: Number of <image> placeholders exceeds the number of provided images`` or
    ``ValueError: 1 image(s) remain unused (not consumed by placeholders)``, retries and silently
    trains on the next sample instead.  ms-swift never raises: surplus tags stay literal text that
    the model is trained on (``We will only replace the frontmost media_tags while keeping the
    subsequent media_tags.``; a record with ``<image>`` and no ``images`` at all trains on the text
    ``<image>`` with no image and logs nothing), and missing tags are prepended to the first
    message, which moves the media away from where the text refers to it (info).

    With LLaMA-Factory's ``use_audio_in_video: true`` (the training YAML, ``--framework-config``)
    and an Omni family, a record with videos and audios pairs the k-th video with the k-th audio:
    the counts must be equal and each ``<video>`` must have an ``<audio>`` tag after it in the same
    message, else the run stops (``ValueError: Number of videos (2) must match number of audios
    (1) when using audio in video.`` / ``ValueError: Each <video> must be followed by an <audio>
    when using audio in video.``).  A record with videos and no audios is a warning: LLaMA-Factory
    never reads a video's sound track, so the video is trained without sound.

    Example: ``{"messages": [{"role": "user", "content": "Describe the two photos."}, ...],
    "images": ["front.jpg", "back.jpg"]}`` with ``--target llamafactory``

    Fix: Write exactly one tag per media entry, in the turn that refers to it
    (``"<image><image>Describe the two photos."``), or remove surplus tags / add the missing media.
    With ``use_audio_in_video``: one ``audios`` entry per video (its sound track, e.g. an ``.mp3``
    taken from it) and ``"<video><audio>..."`` in the turn, or ``use_audio_in_video: false``.
    """
    for conv, v in _views(ctx):
        if v.inline_media or v.dropped or v.mapping_errors:
            continue
        mismatch = False
        for kind in MEDIA_KINDS:
            tag = v.tags.get(kind)
            if not tag:
                continue
            for branch in v.branches:  # a preference record: each answer's sequence on its own
                media = v.media_of(kind, branch)
                found = v.tag_positions(kind, branch=branch)
                if len(found) != len(media):
                    mismatch = True
                    yield from _count_finding(ctx, conv, v, kind, tag, found, media, branch)
                    if v.framework != Target.MS_SWIFT:  # ms-swift: each sequence keeps its own literal tags
                        break
        if not mismatch and v.framework == Target.LLAMAFACTORY:
            yield from _audio_in_video(ctx, conv, v)


def _audio_in_video(ctx: RecordContext, conv: Conversation, v: RecordView):
    """LLaMA-Factory's ``use_audio_in_video`` on an Omni family (:mod:`qwenlint.consumers.llamafactory`,
    ``audio_in_video_texts``): the pairing's ``ValueError``, or a video trained without sound."""
    lf = ctx.options.llamafactory()
    if not (lf.use_audio_in_video and ctx.run.profile.is_omni):
        return
    release = ctx.run.versions["llamafactory"]
    setting = f"use_audio_in_video: true ({lf.source})" if lf.source else "use_audio_in_video: true"
    off = f"set use_audio_in_video: false in {lf.source or 'your training YAML'}"
    vtag, atag = v.tags.get(Kind.VIDEO) or "<video>", v.tags.get(Kind.AUDIO) or "<audio>"
    for branch in v.branches:
        videos, audios = v.media_of(Kind.VIDEO, branch), v.media_of(Kind.AUDIO, branch)
        if videos and not audios:
            yield Finding(videos[0].pointer, f"{_n(len(videos), Kind.VIDEO)} and no audio with {setting}: "
                          f"LLaMA-Factory {release} never reads a video's sound track (its Omni plugin pairs "
                          f"each video with the audio of the same index in \"{v.media_column.get(Kind.AUDIO) or 'audios'}\"), "
                          "so it trains on the video without sound",
                          severity=Severity.WARNING,
                          help=f"list each video's sound track in \"audios\" (e.g. an .mp3 taken from it) with "
                               f"{atag} after its {vtag}, or {off}")
            return
        messages = llamafactory.plugin_messages(v, branch)
        _, problem = llamafactory.audio_in_video_texts([t for _, t in messages], vtag, atag,
                                                       len(videos), len(audios))
        if problem is None:
            continue
        index, error = problem
        if index is None:
            ptr = (audios[len(videos)] if len(audios) > len(videos) else videos[len(audios)]).pointer
            why = f"{_n(len(videos), Kind.VIDEO)} and {_n(len(audios), Kind.AUDIO)}"
        else:
            turn = messages[index][0]
            ptr = turn.text_pointer or turn.pointer
            why = f"a {vtag} in message {turn.index} has no {atag} after it in that message"
        yield Finding(ptr, f"{why} with {setting}: LLaMA-Factory {release}'s Omni plugin pairs the k-th "
                      f"video with the k-th audio, and the run stops with \"ValueError: {error}\"",
                      help=f"give one audio per video (its sound track) and write {atag} after each {vtag} "
                           f"in the same message (\"{vtag}{atag}...\"), or {off}")
        return


def _count_finding(ctx, conv, v: RecordView, kind: Kind, tag: str, found, media, branch: int = 0):
    n_t, n_m = len(found), len(media)
    col = v.media_column.get(kind)
    shared = [t.index for t, _ in found if not t.branch]
    answers = list(dict.fromkeys(t.pointer.rsplit("/", 1)[-1] for t, _ in found if t.branch))
    parts = ([_turn_list(shared)] if shared else []) + [f"the {a!r} answer" for a in answers]
    if v.framework == Target.MS_SWIFT and branch:  # the sequence's own message numbers
        parts = [_turn_list([t.index for t, _ in found])] if found else []
    where = f" (in {' and '.join(parts)})" if parts else ""
    if branch and v.framework == Target.MS_SWIFT:
        where += f" in the {'chosen' if branch == 1 else 'rejected'} sequence"
        col = v.branch_column.get(branch, {}).get(kind, col)
    elif branch:  # a preference record: which of its two sequences
        answer = next((t.pointer.rsplit("/", 1)[-1] for t in v.turns if t.branch == branch), "")
        where += f" in the sequence with the {answer!r} answer"
    have = f"{n_t} {tag} tag{'s' if n_t != 1 else ''}{where}"
    media_s = (f"{_n(n_m, kind)} in \"{col}\"" if col and col in v.record else
               f"no \"{col or PLURAL[kind]}\" column")
    if n_t > n_m:
        turn, _ = found[n_m]
        ptr = turn.text_pointer or turn.pointer
    else:
        ptr = media[n_t].pointer
    hints = []
    unread = [u for u in v.unread if u.kind is kind]
    if unread:
        hints.append(f"the column \"{unread[0].column}\" holds {kind.value}s but {v.name} does not "
                     f"read it (see QL607)")
    near = sorted({s for t in v.turns if t.text for s in near_miss_tags(t.text, v.tags.values())})
    if near and n_t < n_m:
        hints.append(f"{', '.join(repr(s) for s in near)} {'is' if len(near) == 1 else 'are'} not "
                     f"a tag: {v.name} matches {tag!r} exactly")
    outside = [t for t in v.turns if t.text and tag in t.text and not t.counted]
    if outside and n_t < n_m:
        hints.append(f"{tag} in {_turn_list([t.index for t in outside])} is not counted "
                     f"({'not a human turn' if v.framework == Target.QWEN_FINETUNE else 'the system prompt'})")
    extra = ("; " + "; ".join(hints)) if hints else ""
    severity = None
    fix = None
    one, many = _NOUN[kind]
    if v.framework == Target.LLAMAFACTORY:
        msg = (f"{have} but {media_s}: LLaMA-Factory stops with \"ValueError: The number of "
               f"{many} does not match the number of {tag} tokens in [...]\"{extra}")
    elif v.framework == Target.QWEN_FINETUNE:
        err = (f"ValueError: Number of {tag} placeholders exceeds the number of provided {many}"
               if n_t > n_m else
               f"ValueError: {n_m - n_t} {one}(s) remain unused (not consumed by placeholders)")
        msg = (f"{have} in human turns but {media_s}: qwen-vl-finetune raises \"{err}\"; the "
               f"trainer retries the sample, then silently trains on the next one{extra}")
    else:  # ms-swift
        swift = _swift_assumed(ctx, v)
        if n_m == 0:
            severity = Severity.WARNING
            msg = (f"{have} but {media_s}: {swift} expands a tag only when "
                   f"{'an' if one[0] in 'aeiou' else 'a'} {one} exists, so the literal text {tag!r} "
                   f"is tokenised and trained on, with no {one}{extra}")
        elif n_t > n_m:
            msg = (f"{have} but {media_s}: {swift} logs \"num_media: {n_m}, num_media_tags: "
                   f"{n_t} ... We will only replace the frontmost media_tags while keeping the "
                   f"subsequent media_tags\" and trains on the surplus {tag!r} as literal text "
                   f"(older ms-swift versions: \"AssertionError: Number of media: {n_m}, number "
                   f"of media_tags: {n_t}\"){extra}")
        else:
            severity = Severity.INFO
            first = next((t for t in v.turns if t.as_role != "system" and t.branch in (0, branch)), None)
            msg = (f"{have} but {media_s}: {swift} prepends the {n_m - n_t} missing {tag} "
                   f"tag{'s' if n_m - n_t != 1 else ''} to the start of "
                   f"{'message ' + str(first.index) if first else 'the first message'}, "
                   f"which may not be where the text refers to the {one}{extra}")
            if first and first.text is not None and first.text_pointer:
                fix = Fix(f"prepend {tag * (n_m - n_t)} to message {first.index} (what ms-swift "
                          "does)", first.text_pointer, tag * (n_m - n_t) + first.text,
                          Applicability.UNSAFE)
    if n_t > n_m:
        help_ = (f"remove the surplus {tag} tag{'s' if n_t - n_m != 1 else ''}, or add the "
                 f"missing {many} to \"{col or PLURAL[kind]}\"")
        if n_m == 0:
            help_ = (f"add the {one} as \"{col or PLURAL[kind]}\": [\"...\"]; if the text means "
                     f"{tag} literally (e.g. when discussing HTML), reword it: {v.name} treats "
                     f"every {tag} as a media slot")
    else:
        help_ = (f"write one {tag} per {one}, in the turn that refers to it"
                 + (" (a human turn)" if v.framework == Target.QWEN_FINETUNE else ""))
    yield Finding(ptr, msg, help=help_, fix=fix, severity=severity,
                  data={"framework": v.framework, "kind": kind.value, "tags": n_t, "media": n_m,
                        "branch": branch})


# --- QL602 --------------------------------------------------------------------------------------

@rule("QL602", "media-tag-outside-user-turn", Severity.WARNING,
      "A media tag in a turn where the framework keeps it as text or trains the model to emit it.")
@needs("dataset")
def media_tag_outside_user_turn(ctx: RecordContext):
    """What: A ``<image>`` / ``<video>`` / ``<audio>`` tag in a turn the framework does not treat as
    a media slot: a ``gpt`` (or any non-``human``) turn for qwen-vl-finetune, the system prompt for
    LLaMA-Factory, or an assistant turn for LLaMA-Factory (where it *is* expanded, inside the
    response).  ms-swift expands tags in every role (its pre-training and agent formats rely on
    it), so nothing is reported for it.

    Why: qwen-vl-finetune splits tags out of ``human`` turns only (``_build_messages``); in a
    ``gpt`` turn the text ``<image>`` is trained as part of the answer and the image is not placed
    there (its own checker says ``GPT response contains media token (<image> or <video>)``).
    LLaMA-Factory leaves the system prompt alone (literal ``<image>``), and expands a tag in an
    assistant turn into ``<|vision_start|><|image_pad|>…`` inside the labels, so the model is
    trained to *generate* vision pad tokens — the ones that later crash RL rollouts with ``Image
    features and image tokens do not match``.

    Example: ``{"image": "a.png", "conversations": [{"from": "human", "value": "What is it?"},
    {"from": "gpt", "value": "<image>A cat."}]}`` with ``--target qwen-finetune``

    Fix: Move the tag into the user (``human``) turn that asks about the media.
    """
    for conv, v in _views(ctx):
        if v.inline_media or v.framework == Target.MS_SWIFT or v.dropped or v.mapping_errors:
            continue
        for t in v.turns:
            if t.text is None:
                continue
            tags = [tag for tag in v.tags.values() if tag and tag in t.text]
            if not tags:
                continue
            ptr = t.text_pointer or t.pointer
            shown = " and ".join(repr(x) for x in tags)
            if v.framework == Target.QWEN_FINETUNE and t.as_role != "user":
                yield Finding(ptr, f"{shown} in a {t.role!r} turn: qwen-vl-finetune splits media "
                              "tags out of human turns only, so here it is literal text the model "
                              "is trained to write, and no media is placed here (its checker: "
                              "\"GPT response contains media token (<image> or <video>)\")",
                              help="move the tag into the human turn that asks about the media")
            elif v.framework == Target.LLAMAFACTORY and t.as_role == "system":
                yield Finding(ptr, f"{shown} in the system prompt: LLaMA-Factory neither counts "
                              "nor expands tags there, so it stays literal text",
                              help="move the tag into the user turn that asks about the media")
            elif v.framework == Target.LLAMAFACTORY and t.as_role in ("assistant", "function"):
                yield Finding(ptr, f"{shown} in an assistant turn: LLaMA-Factory expands it inside "
                              "the response, so the labels hold the media's vision pad tokens and "
                              "the model is trained to generate <|image_pad|>/<|video_pad|>",
                              help="move the tag into the user turn that asks about the media")


# --- QL603 --------------------------------------------------------------------------------------

@rule("QL603", "record-dropped-by-framework", Severity.ERROR,
      "The framework skips this record: its turns are not in the order or count it accepts.")
@needs("dataset")
def record_dropped_by_framework(ctx: RecordContext):
    """What: A record the framework skips.  LLaMA-Factory's converter: after an optional leading
    system turn, turns must alternate user (or observation) / assistant (or function call) and
    come in pairs; a role that the dataset's tags do not name (e.g. ``system`` when the ``tags``
    block of ``dataset_info.json`` has no ``system_tag``, or ``tool`` with the default tags)
    breaks the alternation too; a record with no turns, or an Alpaca record without a string
    ``output``, has nothing to train on.  ms-swift: an empty message list, a role it does not know,
    a message without content, a system turn that is not the first, a tool result that follows no
    user turn or tool call; for a preference record, a ``rejected_response`` that is null or the
    same as the last message (under every command), or not a string (``swift sft`` and ``swift
    rlhf`` but kto), and a rejected sequence whose turns do not pair (``swift rlhf`` dpo, orpo,
    simpo, cpo, rm, or no command); under those rlhf types, a record without a rejected sequence.
    ms-swift ``swift rlhf --rlhf_type kto`` (``--swift-args``): a record whose last message is not
    the assistant's, or without a boolean ``label``, stops the whole run.

    Why: ``SharegptDatasetConverter`` logs ``Invalid role tag in [...]`` or ``Invalid message count
    in [...]`` and ``Skipping this abnormal example.``, blanks the record, and the supervised
    processor drops it (``Dropped invalid example``); ms-swift's preprocessor or template raises
    and the row is deleted (``There are errors in the dataset, the data will be deleted``; dpo & co.
    without a rejected sequence: ``ValueError: inputs.rejected is None``): the run goes on with
    less data and only a warning buried in the log says so.  KTO's ``prepare_kto_dataset`` gives
    each row's last message to another row as its KL answer (``AssertionError`` unless it is an
    answer) and sums the labels (``TypeError``): the run stops before training.

    Example: ``{"conversations": [{"from": "human", "value": "Hi"}, {"from": "human", "value":
    "Are you there?"}, {"from": "gpt", "value": "Yes."}]}``

    Fix: Merge consecutive turns of the same side, end with the assistant's answer, and declare
    every role you use in ``dataset_info.json`` ``tags`` (``system_tag``, ``observation_tag``,
    ``function_tag``).
    """
    for conv, v in _views(ctx):
        kto = v.framework == Target.LLAMAFACTORY and v.attr is not None and (
            data_stage(ctx.options.llamafactory().stage, v.attr) == "kto")
        assumed = _swift_assumed(ctx, v)
        for d in v.dropped:
            if d.stops:  # ms-swift's KTO dataset preparation: the whole run, not this record
                yield Finding(d.pointer, f"{d.reason}: {assumed} stops before training ({d.logged})",
                              help=("end the record with the assistant's answer" if "label" not in d.reason
                                    else "give every record a boolean \"label\" (desirable or not)"),
                              data={"framework": v.framework, "stops": True})
                continue
            yield Finding(d.pointer, f"{d.reason}: {assumed or v.name} logs \"{d.logged}\" and drops the "
                          "record from training" + (
                              "; in stage kto the next record's KL pair then reads this record's "
                              "missing answers and the run stops (IndexError: list index out of range)"
                              if kto else ""),
                          help=("give the record a rejected answer that is a string and differs from "
                                "the chosen one" if "rejected_response" in d.pointer else
                                "make turns alternate user → assistant (after one optional system "
                                "turn) and end with an assistant turn"),
                          data={"framework": v.framework})


# --- QL604 --------------------------------------------------------------------------------------

@rule("QL604", "turn-becomes-assistant", Severity.ERROR,
      "qwen-vl-finetune turns every \"from\" other than \"human\" into an assistant turn.")
@needs("dataset")
def turn_becomes_assistant(ctx: RecordContext):
    """What: A qwen-vl-finetune record with a ``from`` value other than ``human``, ``gpt`` (and
    ``assistant``, which means the same): ``user``, ``system``, ``Human``, ``tool``, ...

    Why: ``_build_messages`` maps ``role = "user" if turn["from"] == "human" else "assistant"``:
    a system prompt or a ``user`` turn becomes an assistant answer that the model is trained to
    produce, and its ``<image>`` tags are not split out, so the images stay unused
    (``ValueError: 1 image(s) remain unused``).  Nothing else warns.

    Example: ``{"conversations": [{"from": "system", "value": "Be brief."}, {"from": "human",
    "value": "<image>What is it?"}, {"from": "gpt", "value": "A cat."}]}``

    Fix: Use ``"from": "human"`` for user turns and ``"gpt"`` for answers; put a system prompt in
    the training script, not in the record.
    """
    for conv, v in _views(ctx):
        if v.framework != Target.QWEN_FINETUNE:
            continue
        for t in v.turns:
            if t.role in ("human", "gpt", "assistant") or t.pointer is None:
                continue
            role_ptr = join(t.pointer, "from")
            guess = "human" if isinstance(t.role, str) and t.role.strip().lower() in (
                "human", "user", "usr") else None
            yield Finding(role_ptr if isinstance(t.role, str) else t.pointer,
                          f"\"from\": {json.dumps(t.role, ensure_ascii=False)} becomes an "
                          "assistant turn in qwen-vl-finetune (only \"human\" is a user turn): "
                          "the model is trained to produce this text"
                          + (", and its media tags are not expanded" if t.text and any(
                              tag in t.text for tag in v.tags.values()) else ""),
                          help="use \"human\" for user turns and \"gpt\" for answers",
                          fix=Fix("replace with \"human\"", role_ptr, "human", Applicability.UNSAFE)
                          if guess and isinstance(t.role, str) else None)


# --- QL606 --------------------------------------------------------------------------------------

def _first_use(seen: dict, obs: Observation):
    """QL606's conclude step: the first record with an id keeps it; a later one is a duplicate."""
    rid, line, record_pointer = obs.value
    first = seen.get(obs.key)
    if first is None:
        seen[obs.key] = (line, record_pointer)
        return
    where = f"line {first[0]}" if first[0] is not None else (first[1] or "the first record")
    yield Finding(join(record_pointer, "id"), f"id {_short(rid)!s} is already used by "
                  f"the record at {where}: the framework trains on both",
                  help="give every record a unique id, or remove the duplicate")


@rule("QL606", "duplicate-record-id", Severity.WARNING, "Two records of a dataset share an \"id\".",
      scope=Scope.FILE, conclude=_first_use)
@needs("dataset")
def duplicate_record_id(ctx: RecordContext):
    """What: A record whose ``id`` (LLaVA / ShareGPT style) repeats the ``id`` of an earlier
    record of the same file.

    Why: No framework checks ids: the duplicate is trained on again (over-weighting it, or leaking
    an evaluation sample into training when splits were made by id), and tools that join
    predictions back by id silently overwrite one of the two.

    Example: two lines ``{"id": "000001", "image": "a.png", "conversations": [...]}``

    Fix: Give every record a unique id, or drop the duplicate record.
    """
    for conv, v in _views(ctx):
        rid = v.record.get("id")
        if rid is None or isinstance(rid, (dict, list)):
            continue
        yield Observation(json.dumps(rid), (rid, conv.record_line, conv.record_pointer))


# --- QL607 --------------------------------------------------------------------------------------

@rule("QL607", "media-column-not-read", Severity.ERROR,
      "A record's media sit in a column the framework never reads.", scope=Scope.FILE)
@needs("dataset")
def media_column_not_read(ctx: RecordContext):
    """What: Media in a column the ``--target`` framework does not load: for LLaMA-Factory, any
    column other than the one ``dataset_info.json`` maps under ``columns.images`` /
    ``videos`` / ``audios`` (a common slip is ``"image"`` for ``"images"``, in the file or as the
    ``columns`` key); for qwen-vl-finetune, ``images`` / ``videos`` (it reads only ``image`` /
    ``video``).  ms-swift reads both spellings.

    Why: The media are silently not loaded.  With tags in the text the run then fails on the tag
    count (LLaMA-Factory: ``ValueError: The number of images does not match the number of <image>
    tokens``; the issue threads' answer is "the key must be images, not image"); without tags the
    model trains on the text alone.

    Example: ``{"messages": [...], "image": ["a.jpg"]}`` with ``dataset_info.json`` mapping
    ``"images": "images"``

    Fix: Rename the column to the one the framework reads (or, for LLaMA-Factory, map it in
    ``dataset_info.json``: ``"columns": {"images": "image"}``).
    """
    for conv, v in _views(ctx):
        for u in v.unread:
            one, many = _NOUN[u.kind]
            if v.framework == Target.LLAMAFACTORY:
                attr = v.attr
                if attr is not None and attr.inferred:
                    continue
                src = (f"dataset_info.json entry {attr.name!r} maps {many} to "
                       + (f"\"{u.reads}\"" if u.reads else "no column") if attr else "")
                bad_key = [k for k in (attr.unknown_columns if attr else []) if k in (one, u.column)]
                why = (f"; its \"columns\" has the key {bad_key[0]!r}, which LLaMA-Factory does "
                       f"not read (the key is \"{many}\")" if bad_key else "")
                msg = (f"column \"{u.column}\" holds {many}, but {src}{why}: LLaMA-Factory never "
                       f"loads them")
                help_ = (f"map it in dataset_info.json: \"columns\": {{\"{many}\": \"{u.column}\"}}"
                         if not u.reads else f"rename the column to \"{u.reads}\"")
                fix = None
            else:
                msg = (f"column \"{u.column}\" is never read by qwen-vl-finetune (it reads "
                       f"\"{u.reads}\")" if u.reads else
                       f"column \"{u.column}\" is never read by qwen-vl-finetune (no {one} support)")
                msg += f": the {many} are silently not loaded"
                help_ = f"rename the column to \"{u.reads}\"" if u.reads else "remove the column"
                fix = None
            yield Finding(u.pointer, msg, help=help_, fix=fix, data={"framework": v.framework})
        if v.framework == Target.LLAMAFACTORY and v.attr is not None and v.attr.inferred:
            for kind in MEDIA_KINDS:
                col = v.media_column.get(kind)
                one, many = _NOUN[kind]
                if col == one and col in v.record:
                    yield Finding(join(conv.record_pointer, col), f"column \"{col}\": "
                                  f"LLaMA-Factory reads {many} only from the column "
                                  f"dataset_info.json maps as \"{many}\", and no dataset_info.json "
                                  f"next to this file declares it; with the documented "
                                  f"\"{many}\": \"{many}\" this column is never read",
                                  severity=Severity.WARNING, key=col,
                                  help=f"rename the column to \"{many}\", or map "
                                  f"\"{many}\": \"{col}\" in dataset_info.json")


# --- QL608 --------------------------------------------------------------------------------------

_PADS = ("<|image_pad|>", "<|video_pad|>", "<|IMAGE|>", "<|VIDEO|>", "<|AUDIO|>")


@rule("QL608", "vision-token-in-dataset-text", Severity.ERROR,
      "A dataset record's text contains Qwen's own vision tokens instead of a media tag.")
@needs("dataset")
def vision_token_in_dataset_text(ctx: RecordContext):
    """What: ``<|image_pad|>``, ``<|video_pad|>`` (or the Omni ``<|IMAGE|>`` / ``<|VIDEO|>`` /
    ``<|AUDIO|>``), or ``<|vision_start|>`` / ``<|vision_end|>``, typed into a dataset record's
    text.

    Why: The frameworks insert these tokens themselves when they expand ``<image>`` /
    ``<video>``; typed by hand they are tokenised as the real special tokens, so the prompt has
    more pads than the vision encoder produces features: ``ValueError: Image features and image
    tokens do not match: tokens: 1297, features 1296``.  A stray ``<|vision_start|>`` does not
    crash but adds a token the model only ever saw before an image (warning).  Users ask which to
    write; the LLaMA-Factory maintainer's answer (QwenLM/Qwen3-VL#60): write ``<image>``, "llamafactory
    will replace <image> with <|vision_start|><|image_pad|><|vision_end|> automatically".

    Example: ``{"messages": [{"role": "user", "content":
    "<|vision_start|><|image_pad|><|vision_end|>What is it?"}, ...], "images": ["a.jpg"]}``

    Fix: Write the framework's tag (``<image>``, ``<video>``) and let it expand.
    """
    for conv, v in _views(ctx):
        for t in v.turns:
            if not t.text or "<|" not in t.text:
                continue
            toks = [x for x in VISION_SPECIAL_TOKENS if x in t.text]
            if not toks:
                continue
            pads = [x for x in toks if x in _PADS]
            fixed = t.text
            for a, b in (("<|vision_start|><|image_pad|><|vision_end|>", "<image>"),
                         ("<|vision_start|><|video_pad|><|vision_end|>", "<video>")):
                fixed = fixed.replace(a, b)
            fix = (Fix("replace the token sequence with the framework's tag", t.text_pointer, fixed,
                       Applicability.UNSAFE)
                   if fixed != t.text and t.text_pointer and not any(x in fixed for x in toks) else None)
            shown = ", ".join(toks)
            if pads:
                msg = (f"{shown} typed into the text: {v.name} tokenises it as the real pad token, "
                       "so the prompt holds more vision pads than the encoder yields features "
                       "(\"ValueError: Image features and image tokens do not match\")")
                sev = None
            else:
                msg = (f"{shown} typed into the text: tokenised as the special token, which the "
                       "model only ever saw around an image")
                sev = Severity.WARNING
            yield Finding(t.text_pointer or t.pointer, msg, severity=sev, fix=fix,
                          help="write <image> / <video> and let the framework expand it")


# --- QL609 --------------------------------------------------------------------------------------

def _meant_key(key: str, known: tuple[str, ...]) -> str | None:
    """The ``dataset_info.json`` key a misspelt one probably meant (QL609, QL614): a close
    spelling, or the singular of a media column / ``conversations`` for ``messages``."""
    return did_you_mean(key, known) or {"image": "images", "video": "videos", "audio": "audios",
                                        "conversations": "messages"}.get(key)


@rule("QL609", "dataset-info-mismatch", Severity.ERROR,
      "LLaMA-Factory's dataset_info.json entry does not match the records of its file.",
      scope=Scope.FILE)
@needs("dataset")
def dataset_info_mismatch(ctx: RecordContext):
    """What: The ``dataset_info.json`` entry that declares this file (found next to it, or in the
    parent folder) reads columns or keys the records do not have: a ``columns.messages``, media,
    ``input`` or ``system`` column that no record of the file has, ``tags.role_tag`` /
    ``content_tag`` that no message uses (``from``/``value`` vs ``role``/``content``), a ``tags``
    block without ``role_tag``, an OpenAI-format role the tags do not name, and keys under
    ``columns`` / ``tags`` that LLaMA-Factory does not read.  Reported once per file and problem.

    Why: Unlisted columns and tags become ``None`` (``DatasetAttr.join``), and the HF ``datasets``
    loader gives every record only the columns some record of the file has.  Reading one that no
    record has stops the conversion (``KeyError: 'from'``, or ``KeyError: 'input'`` for Alpaca
    records without an ``input`` anywhere and no ``columns`` block); unknown keys are silently
    ignored.  (``formatting`` missing, so ``alpaca``, on message lists with a ``columns`` block
    builds an empty user turn and no answer: the record is dropped, QL603.)

    Example: ``"my_vqa": {"file_name": "vqa.json", "formatting": "sharegpt", "columns":
    {"messages": "messages", "image": "images"}}`` for records with ``role``/``content`` messages

    Fix: Make the entry match the file: ``"formatting": "sharegpt"``, ``"columns": {"messages":
    "messages", "images": "images"}``, ``"tags": {"role_tag": "role", "content_tag": "content",
    "user_tag": "user", "assistant_tag": "assistant", "system_tag": "system"}``.
    """
    for conv, v in _views(ctx):
        if v.framework != Target.LLAMAFACTORY or v.attr is None or v.attr.inferred:
            continue
        attr = v.attr
        for d in v.mapping_errors:
            yield Finding(d.pointer, f"{d.reason}: LLaMA-Factory fails with \"{d.logged}\"",
                          help=f"fix the entry {attr.name!r} in {attr.path or 'dataset_info.json'}",
                          key=f"mapping: {d.reason}")
        unknown = [("columns", k) for k in attr.unknown_columns] + \
                  [("tags", k) for k in attr.unknown_tags]
        for where, k in unknown:
            known = LF_COLUMN_KEYS if where == "columns" else LF_TAG_KEYS
            guess = _meant_key(k, known)
            yield Finding(conv.record_pointer, f"dataset_info.json entry {attr.name!r} has "
                          f"{where} key {k!r}, which LLaMA-Factory does not read (it is ignored)"
                          + (f"; did you mean {guess!r}?" if guess else ""),
                          severity=Severity.WARNING, key=f"{where}: {k}",
                          help=f"use one of: {', '.join(known)}")


# --- QL610 --------------------------------------------------------------------------------------

@rule("QL610", "grounding-tag-count-mismatch", Severity.ERROR,
      "ms-swift <ref-object>/<bbox> tags outnumber the record's objects.")
@needs("dataset")
def grounding_tag_count_mismatch(ctx: RecordContext):
    """What: An ms-swift grounding record with more ``<ref-object>`` tags than ``objects.ref``
    entries, or more ``<bbox>`` tags than ``objects.bbox`` entries (or such tags and no
    ``objects`` column at all).

    Why: ``Template._pre_tokenize`` fills the n-th ``<ref-object>`` / ``<bbox>`` from
    ``objects['ref'][n]`` / ``objects['bbox'][n]``; one tag too many raises ``IndexError: list
    index out of range`` while encoding, and the row is deleted (``There are errors in the
    dataset, the data will be deleted``) or the run stops with ``--strict``.

    Example: ``{"messages": [..., {"role": "assistant", "content": "<bbox><bbox>"}], "images":
    ["x.jpg"], "objects": {"ref": ["sheep"], "bbox": [[90.9, 160.8, 135, 212.8]]}}``

    Fix: Give ``objects`` one ``ref`` per ``<ref-object>`` and one box per ``<bbox>``.
    """
    for conv, v in _views(ctx):
        if v.framework != Target.MS_SWIFT:
            continue
        objects = v.record.get("objects")
        for tag, key in (("<ref-object>", "ref"), ("<bbox>", "bbox")):
            found = [(t, 1) for t in v.turns if t.text for _ in range(t.text.count(tag))]
            if not found:
                continue
            have = objects.get(key) if isinstance(objects, dict) else None
            n = len(have) if isinstance(have, list) else 0
            if len(found) <= n:
                continue
            t = found[n][0]
            yield Finding(t.text_pointer or t.pointer,
                          f"{len(found)} {tag} tag{'s' if len(found) != 1 else ''} but "
                          + (f"{n} objects.{key} entr{'y' if n == 1 else 'ies'}" if objects is not None
                             else "no \"objects\" column")
                          + f": ms-swift fills tag {n} from objects['{key}'][{n}] and raises "
                          "\"IndexError: list index out of range\" (the row is deleted)",
                          help=f"add one objects.{key} entry per {tag}, or remove the surplus tag")


# --- QL611 --------------------------------------------------------------------------------------

@rule("QL611", "dataset-audio-without-audio-model", Severity.ERROR,
      "A record's audios column, for a model family without an audio encoder.")
@needs("dataset")
def dataset_audio_without_audio_model(ctx: RecordContext):
    """What: A dataset record with entries in its ``audios`` (or ``audio``) column while the family
    (``--family``) is a vision-only model (Qwen2-VL, Qwen2.5-VL, Qwen3-VL, Qwen3.5).  The column
    counterpart of QL210; qwen-vl-finetune, which reads no audio at all, is QL607's business.

    Why: Only the Omni models have an audio encoder.  LLaMA-Factory's Qwen-VL plugin stops with
    ``ValueError: This model does not support audio input. Please check whether the correct
    `template` is used.``; ms-swift's Qwen-VL templates have no audio input, so the clip never
    reaches the model.

    Example: ``{"messages": [{"role": "user", "content": "<audio>What is said?"}, ...],
    "audios": ["q.wav"]}`` with ``--family qwen2.5-vl``

    Fix: Train an Omni model (``--family qwen2.5-omni``), or transcribe the audio into the text.
    """
    if "omni" in ctx.family:
        return
    for conv, v in _views(ctx):
        refs = v.media.get(Kind.AUDIO, [])
        if not refs or v.framework == Target.QWEN_FINETUNE:
            continue
        effect = ("LLaMA-Factory stops with \"ValueError: This model does not support audio input. "
                  "Please check whether the correct `template` is used.\"")
        if v.framework == Target.MS_SWIFT:
            effect = "ms-swift's Qwen-VL templates have no audio input: the audio is never heard"
        yield Finding(refs[0].pointer, f"{_n(len(refs), Kind.AUDIO)} for {ctx.family}, which has "
                      f"no audio encoder: {effect}",
                      help="use an Omni family (qwen2.5-omni, qwen3-omni) or transcribe the audio")


# --- QL612 --------------------------------------------------------------------------------------

@rule("QL612", "media-inline-and-in-column", Severity.ERROR,
      "ms-swift: a record gives the same kind of media both as content parts and in its column.")
@needs("dataset")
def media_inline_and_in_column(ctx: RecordContext):
    """What: An ms-swift record whose messages carry media as content parts (``{"type": "image",
    "image": ...}``, ``image_url``, ...) while its ``images`` (``videos``, ``audios``) column is
    not empty as well.

    Why: ``StdTemplateInputs.from_dict`` turns inline parts into ``<image>`` tags and their media
    list, then asserts the column is empty: ``AssertionError: self.images: ['a.jpg']`` when the
    record is encoded.

    Example: ``{"messages": [{"role": "user", "content": [{"type": "image", "image": "a.jpg"},
    {"type": "text", "text": "What is it?"}]}, ...], "images": ["a.jpg"]}``

    Fix: Give the media one way: either inline parts, or ``<image>`` tags in string content with
    the ``images`` column.
    """
    for conv, v in _views(ctx):
        if v.framework != Target.MS_SWIFT or not v.inline_media:
            continue
        inline = {p.kind for _, p in conv.media_parts()}
        for kind in MEDIA_KINDS:
            refs = v.media.get(kind, [])
            if kind not in inline or not refs:
                continue
            col = v.media_column.get(kind)
            yield Finding(join(conv.record_pointer, col) if col else refs[0].pointer,
                          f"{kind.value}s given as content parts and in \"{col}\": ms-swift raises "
                          f"\"AssertionError: self.{_NOUN[kind][1]}: [...]\" when it encodes the "
                          "record", help=f"remove the \"{col}\" column (the parts already carry "
                          f"the {_NOUN[kind][1]}), or write string content with tags")


# --- QL613 --------------------------------------------------------------------------------------

@rule("QL613", "framework-refuses-version", Severity.ERROR,
      "The fine-tuning framework refuses to run with a library version you said you use.",
      scope=Scope.RUN)
def framework_refuses_version(ctx: RecordContext):
    """What: A transformers or qwen-vl-utils version, named with ``--assume`` or read from
    ``--python``'s environment, that the record's framework does not accept: LLaMA-Factory 0.9.5
    requires transformers 4.55.0 to 5.6.0 (0.9.4: 4.51.0 to 4.57.1); ms-swift 4.6.0 requires
    transformers below 5.20 (3.12.6: below 4.58), and qwen-vl-utils other than 0.0.13 for
    Qwen2-VL / Qwen2.5-VL, 0.0.14 or later for Qwen3-VL.

    Why: The run stops before the first step, e.g. ``ImportError: transformers>=4.55.0,<=5.6.0,
    !=4.57.0 is required for a normal functioning of this module, but found transformers==5.23.0``.
    Predictions made for a version the framework refuses are about a run that cannot happen.

    Example: ``qwenlint check train.json --target ms-swift --family qwen2.5-vl --assume
    qwen-vl-utils==0.0.13``

    Versions found installed where qwenlint itself runs are not checked: that environment is often
    not the training one (name the training one with ``--python``).

    Fix: Install a version the framework accepts (the message names the requirement), or, for
    LLaMA-Factory, set ``DISABLE_VERSION_CHECK=1`` if you know the version works.
    """
    for conv in ctx.conversations:
        target = ctx.target(conv)
        if not target.is_framework:
            continue
        for assumed, requirement in ctx.run.versions.refused(target, ctx.family):
            if assumed.why in ("--assume", f"installed in {ctx.options.python}"):  # named by the user
                shown = assumed.given or str(assumed.version)
                yield Finding(conv.record_pointer, f"{assumed.name} {shown} ({assumed.why}): {target} {requirement}",
                              help=f"install a {assumed.name} version that satisfies the requirement, or "
                              "check with the version you run: --assume NAME==VERSION")
        return


# --- QL614 --------------------------------------------------------------------------------------

@rule("QL614", "dataset-info-invalid", Severity.ERROR,
      "An entry of LLaMA-Factory's dataset_info.json that training with it cannot read.",
      scope=Scope.FILE)
@needs("registry")
def dataset_info_invalid(ctx: RecordContext):
    """What: ``dataset_info.json`` itself (checked when named, or found in a folder): an entry
    whose ``file_name`` names nothing next to it (LLaMA-Factory's ``dataset_dir`` is the file's
    folder), a folder of mixed or unsupported file types, an entry with no ``file_name`` (nor a
    hub, script or cloud URL), a ``formatting`` other than ``alpaca`` / ``sharegpt`` / ``openai``,
    and, as warnings, keys of an entry, its ``columns`` or its ``tags`` that LLaMA-Factory does not
    read (with the key you probably meant).  The data files themselves are checked when you name
    them (QL609 compares an entry with its records).

    Why: LLaMA-Factory reads an entry only when a run names it in ``dataset:``, minutes into the
    start-up: ``ValueError: File data/vqa.json not found.``, ``KeyError: 'file_name'``,
    ``ValueError: Dataset converter ShareGPT not found.``; a misspelt key (``"colums"``,
    ``"formating"``) is silently ignored, so the defaults apply (``alpaca``, no media columns).

    Example: ``{"vqa": {"file_name": "vqa.json", "formating": "sharegpt", "columns": {"messages":
    "messages", "image": "images"}}}`` with no ``vqa.json`` beside it

    Fix: Name the data file relative to ``dataset_info.json``'s folder, spell the keys as
    LLaMA-Factory reads them (``formatting``, ``columns.images``), and use one of the three
    formattings.
    """
    for p in ctx.registry_problems:
        guess = _meant_key(p.key, p.known) if p.key else None
        yield Finding(p.pointer, p.message + (f"; did you mean {guess!r}?" if guess else ""),
                      severity=None if p.error else Severity.WARNING, help=p.help,
                      key=f"registry: {p.pointer}")


# --- QL615 --------------------------------------------------------------------------------------

def _one_format(seen: dict, obs: Observation):
    """QL615's conclude step: the file's first dataset record sets the format the others are
    compared with."""
    target, why, line, pointer = obs.value
    first = seen.get(obs.key)
    if first is None:
        seen[obs.key] = obs.value
        return
    if target == first[0]:
        return
    where = f"line {first[2]}" if first[2] is not None else (first[3] or "the first record")
    yield Finding(pointer, f"this record is read as {target}'s format ({why}), the file's first "
                  f"record, at {where}, as {first[0]}'s ({first[1]}): one framework reads the whole "
                  "file, so the records of the other format are misread",
                  help=f"write every record in one format, and pass --target {first[0]} (or the "
                       "framework you train with) so that the file is checked as it reads it")


@rule("QL615", "mixed-record-formats", Severity.WARNING,
      "The records of one dataset file are in the formats of different frameworks.",
      scope=Scope.FILE, conclude=_one_format)
@needs("dataset")
def mixed_record_formats(ctx: RecordContext):
    """What: Without ``--target`` (and without a ``dataset_info.json`` declaring the file), each
    dataset record is checked as the framework its format belongs to: ShareGPT turns with media
    under ``image`` / ``video`` as qwen-vl-finetune's, other ShareGPT and Alpaca records as
    LLaMA-Factory's, message records as ms-swift's.  This warns when a record's format names
    another framework than the file's first record's (ShareGPT records without media, which both
    LLaMA-Factory and qwen-vl-finetune read, are not compared).

    Why: A framework reads a whole file in one format.  A qwen-vl-finetune file with one record
    spelt ``images`` (LLaMA-Factory's column) trains that record without its image — qwen-vl-finetune
    reads ``image`` only — while the record, checked as LLaMA-Factory's, passes.  The verdict is
    only as good as the consumer it assumes.

    Example: a JSONL file whose first line is ``{"image": "a.png", "conversations": [...]}`` and
    whose second is ``{"images": ["b.png"], "conversations": [...]}``

    Fix: Write every record in the format of the framework you train with, and pass ``--target``
    (``qwen-finetune``, ``llamafactory``, ``ms-swift``) so that every record is checked as it reads
    them.
    """
    if ctx.options.target is not None or ctx.dataset_entry is not None:
        return
    seen = set()
    for conv, _v in _views(ctx):
        if conv.record_pointer in seen:
            continue  # a record's conversations (chosen, rejected) share its format
        seen.add(conv.record_pointer)  # a JSON array read whole holds many records
        target, why, decisive = inferred_target(conv)
        if decisive:  # ShareGPT turns without media are read alike by both ShareGPT frameworks
            yield Observation("format", (str(target), why, conv.record_line, conv.record_pointer))
