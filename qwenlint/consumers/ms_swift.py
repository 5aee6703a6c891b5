"""ms-swift: how its preprocessors and template read a dataset record, and the media budgets it
takes from the environment.

Modelled from ms-swift 3.12.6 (the last 3.x) and 4.6.0 and proven against both:
tests/differential/test_ms_swift.py runs their own ``load_dataset`` and ``template.encode`` on
generated records (preference pairs too) and compares row deletion, image pads and literal tags
(of each sequence).  They differ in one
place the test reaches (:data:`STANDALONE_TOOLS_FOLDED`); the releases between them are modelled
with that branch, not run.

- ``dataset/preprocessor/core.py`` ``RowPreprocessor``: the columns ``image`` / ``video`` /
  ``audio`` are renamed to ``images`` / ``videos`` / ``audios`` (when both exist, the plural
  wins); ``conversation(s)`` become ``messages``; ``from`` / ``value`` and ``human`` / ``gpt`` /
  ``bot`` are accepted, ``observation`` is a tool result and ``function_call`` a tool call.
  Rows that fail the checks are deleted (``There are errors in the dataset, the data will be
  deleted``): an empty message list, a role outside system / user / assistant / tool, a message
  without content.  ``template/base.py`` deletes more while it encodes (:func:`_encode_roles`):
  tool results that follow no user turn or tool call (``ValueError``), a system turn that is not
  the first (``AssertionError``); consecutive user or assistant turns are merged, not deleted.
- ``template/base.py`` ``Template._add_default_tags``: tags are counted over the system prompt
  and every message; if there are *fewer* tags than media, the missing tags are prepended to the
  first (non-system) message; if there are *more*, it logs ``num_media: …, num_media_tags: ….
  We will only replace the frontmost media_tags while keeping the subsequent media_tags.``
  (older ms-swift versions raised ``AssertionError: Number of media: …, number of media_tags: …``).
  ``_pre_tokenize_images`` expands a tag only while ``image_idx < len(images)``: surplus tags,
  and all tags of a record without media, stay literal text and are trained on.
- Tags are expanded in any role (the multimodal pre-training and agent formats put ``<image>``
  in assistant and ``tool_response`` turns).  ``<ref-object>`` / ``<bbox>`` are filled from the
  ``objects`` column (``objects['ref'][i]``, ``objects['bbox'][i]``).
- Which sequences a record has depends on the command (``--swift-args``' subcommand and
  ``--rlhf_type``, :class:`Arguments`; read in 3.12.6 and 4.6.0, run for real by
  ``test_ms_swift_rlhf`` on both releases through ms-swift's own parser): ``swift sft`` encodes the
  chosen sequence alone (template mode ``train``); ``swift rlhf --rlhf_type`` dpo (the default),
  orpo, simpo, cpo and rm (``seq_cls``) encode the chosen and the rejected one (mode ``rlhf``,
  :func:`_pair`; a record with neither ``rejected_response`` nor ``rejected_messages`` raises
  ``inputs.rejected is None`` and is deleted); kto (mode ``kto``, :func:`_kto`) the chosen one and
  a KL one built from another row's answer, which is not predicted (a record whose last message is
  not an answer, or without a ``label``, stops the run).  grpo, gkd and ppo are not modelled (a
  usage error: they encode prompts with completions generated while training).  Without a
  subcommand the columns decide: a record with ``rejected_response`` or ``rejected_messages`` is
  read as ``swift rlhf``'s default dpo would, any other as ``swift sft``.  The load checks of the
  rejected columns (``_check_rejected_response``) run under every command.  Each sequence of a
  pair has its own turns (``Turn.branch`` 1 / 2), its own media (:meth:`RecordView.media_of`:
  ``rejected_images``, else the chosen ones unless the record has ``rejected_messages``) and its
  own tag count.
- The media budgets: qwen-vl-utils' defaults (videos: ``fetch_video``, then the video processor
  with ``do_resize=False``; run for real by ``test_ms_swift_video``), changed by the environment
  variables ms-swift reads when it loads the processor, once per process, and writes into
  qwen-vl-utils' module constants (``patch_qwen_vl_utils``): ``FPS``, ``FPS_MAX_FRAMES``,
  ``FPS_MIN_FRAMES`` (modelled as the per-item options with the same effect, :data:`ENV_OPTIONS`)
  and the pixel variables ``MAX_PIXELS``, ``MIN_PIXELS``, ``VIDEO_MAX_PIXELS``,
  ``VIDEO_MIN_PIXELS``, which ``compat_qwen_vl_utils`` first turns into ``*_TOKEN_NUM`` constants
  (``pixels // factor**2``, factor 28 or 32 by loader; :func:`qvu_constants`).  So an image bound is
  the variable rounded down to a multiple of ``factor**2``; a video's per-frame cap is
  ``VIDEO_MAX_TOKEN_NUM * factor**2`` (above the default 768 tokens it raises the cap), lowered to
  the total budget's share and never under 1.05 x the per-frame minimum (a ``VIDEO_MAX_PIXELS``
  below it is overridden, not an error).  Run for real with drawn values for images and videos in
  both releases (``test_ms_swift_image_environment``, ``test_ms_swift_video_environment``).  Not
  modelled: ``SPATIAL_MERGE_SIZE``, ``VIDEO_TOTAL_PIXELS``, a record's ``chat_template_kwargs``
  (4.3 and later pass them to ``fetch_image`` / ``fetch_video`` as per-item options).
"""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from packaging.version import Version

from qwenlint.consumers.base import Target, framework_reading
from qwenlint.consumers.records import (
    MEDIA_KINDS,
    Dropped,
    PLURAL,
    SINGULAR,
    RecordView,
    Turn,
    has_inline_media,
    media_refs,
)
from qwenlint.ir import Conversation, Kind

TARGET = Target.MS_SWIFT
#: ms-swift calls qwen-vl-utils, then the HF processor.
PIPELINE = "qwen-vl-utils"
reading = framework_reading
#: The environment variables ms-swift reads its frame sampling from, per kind: (variable, the
#: qwen-vl-utils option with the same effect as the module constant it writes).  The pixel
#: variables are module constants with no per-item equivalent: :func:`qvu_constants`.
ENV_OPTIONS = {Kind.VIDEO: (("FPS", "fps"), ("FPS_MAX_FRAMES", "max_frames"), ("FPS_MIN_FRAMES", "min_frames"))}


def ignored_options(part: Any) -> list[str]:
    """Per-part options are not reported for ms-swift."""
    return []


def tags(environ: Mapping[str, str]) -> dict[Kind, str]:
    """The fixed tags ``<image>`` / ``<video>`` / ``<audio>``."""
    return {Kind.IMAGE: "<image>", Kind.VIDEO: "<video>", Kind.AUDIO: "<audio>"}


# --- the Omni templates (``Qwen2_5OmniTemplate``, ``Qwen3OmniTemplate``) ---------------------------
# Read in the source of every minor release from 3.12.6 to 4.6.0 (the first of each change below);
# tests/differential/test_ms_swift.py runs 3.12.6 and 4.6.0.

#: Qwen3-Omni's images: ``fetch_image(..., image_patch_size=16)`` (before: qwen-omni-utils' 14, so the
#: image is resized to multiples of 28 and the processor resizes it again to multiples of 32).
OMNI3_FETCH_PATCH_16 = Version("4.1.0")
#: Qwen3-Omni's audio: ``audio_kwargs["truncation"] = False`` (before: the processor's default,
#: which transformers 4.57 leaves on: audio cut at 30 s).
OMNI3_UNTRUNCATED = Version("4.2.0")
#: Qwen3-Omni's audio: ``trim_audio_to_hop_length`` cuts each audio to a multiple of 160 samples.
OMNI3_HOP_TRIM = Version("4.4.0")
#: ``processor(..., do_resize=False)`` for both Omni families (before: ``do_resize`` for Qwen3-Omni).
OMNI_NO_RESIZE = Version("4.5.0")


def omni_settings(family: str, release: Version) -> dict[str, Any]:
    """How ms-swift ``release``'s Omni template loads ``family``'s media: the ``image_patch_size`` its
    ``fetch_image`` gets, the processor's ``do_resize``, whether each audio is trimmed to a hop
    multiple, and the feature extractor's ``truncation`` (None: the processor's default)."""
    v3 = family == "qwen3-omni"
    return {"image_patch_size": 16 if v3 and release >= OMNI3_FETCH_PATCH_16 else 14,
            "do_resize": v3 and release < OMNI_NO_RESIZE,
            "trim": v3 and release >= OMNI3_HOP_TRIM,
            "truncation": False if v3 and release >= OMNI3_UNTRUNCATED else None}


def media_options(kind: Kind, environ: Mapping[str, str]) -> dict[str, Any]:
    """The per-item qwen-vl-utils options with the effect of the frame variables ms-swift writes
    into qwen-vl-utils (:data:`ENV_OPTIONS`; a value that is not a number is ignored)."""
    opts: dict[str, Any] = {}
    for var, key in ENV_OPTIONS.get(kind, ()):
        v = environ.get(var)
        if v is not None:
            try:
                opts[key] = float(v) if key == "fps" else int(v)
            except ValueError:
                pass
    return opts


# --- the pixel variables: qwen-vl-utils' module constants ----------------------------------------
# Read in ``model/models/qwen.py`` (3.12.6: ``llm/model/model/qwen.py``) of every minor release from
# 3.12.6 to 4.6.0, run for real in 3.12.6 and 4.6.0 with qwen-vl-utils 0.0.14
# (test_ms_swift_image_environment, test_ms_swift_video_environment).  When the processor is loaded
# (once per process: the first model's patch size wins, ``patch_qwen_vl_utils`` returns at once the
# second time), ``compat_qwen_vl_utils(image_patch_size)`` sets ``IMAGE_MAX_TOKEN_NUM`` etc. to
# ``int(MAX_PIXELS) // (image_patch_size * 2)**2`` unless the token variable is set itself, and
# ``patch_qwen_vl_utils`` writes every variable the module has a constant for over it (``get_env_args``).

#: The pixel variable and the module constant ``compat_qwen_vl_utils`` turns it into.
PIXEL_VARIABLES = {"MAX_PIXELS": "IMAGE_MAX_TOKEN_NUM", "MIN_PIXELS": "IMAGE_MIN_TOKEN_NUM",
                   "VIDEO_MAX_PIXELS": "VIDEO_MAX_TOKEN_NUM", "VIDEO_MIN_PIXELS": "VIDEO_MIN_TOKEN_NUM"}
#: ``Qwen2VLLoader._check_qwen_vl_utils`` (3.12.6: ``get_model_tokenizer_qwen2_vl``): from this
#: qwen-vl-utils release ``compat_qwen_vl_utils`` converts; below it ms-swift requires
#: qwen-vl-utils < 0.0.12, whose module constants are the pixel variables themselves (``MAX_PIXELS``,
#: ``VIDEO_MAX_PIXELS``, ...), written unconverted.
QVU_TOKEN_CONSTANTS = Version("0.0.14")
#: The ``image_patch_size`` each loader passes to ``compat_qwen_vl_utils``: 14 in ``Qwen2VLLoader``
#: (Qwen2-VL, Qwen2.5-VL) and ``Qwen2_5OmniLoader``, 16 in ``Qwen3VLLoader`` (Qwen3-VL and the
#: Qwen3.5 loaders built on it) and ``Qwen3OmniLoader``.
COMPAT_PATCH_SIZE = {"qwen2-vl": 14, "qwen2.5-vl": 14, "qwen2.5-omni": 14}
COMPAT_PATCH_SIZE_DEFAULT = 16
#: The Omni loaders call ``compat_qwen_vl_utils`` from 4.1.0 (read in 4.0.0 and 4.1.0; run: 3.12.6
#: and 4.6.0, test_ms_swift_image_environment): before, the pixel variables do not reach
#: qwen-omni-utils (only the ``*_TOKEN_NUM`` variables do).
OMNI_PIXEL_COMPAT = Version("4.1.0")


def qvu_constants(environ: Mapping[str, str], family: str, release: Version | None,
                  qvu_version: Version | None) -> dict[str, int] | None:
    """The qwen-vl-utils (for the Omni families qwen-omni-utils) module constants ms-swift
    ``release`` writes from ``environ`` when it loads ``family``'s processor, by name
    (:func:`qwenlint.vision.qvu.image_bounds`): the image bounds are then ``IMAGE_*_TOKEN_NUM *
    factor**2`` with the fetch factor (28 or 32), a pixel variable rounded down to a multiple of
    ``factor**2``; a video's per-frame cap is ``VIDEO_MAX_TOKEN_NUM * factor**2`` (it may be raised
    above the default 768 tokens), never under 1.05 x the per-frame minimum.  None: nothing set.
    A value that is not an integer makes ms-swift raise while loading (``int()``); it is ignored."""
    omni = family in ("qwen2.5-omni", "qwen3-omni")
    tokens = omni or qvu_version is None or qvu_version >= QVU_TOKEN_CONSTANTS
    convert = tokens and not (omni and release is not None and release < OMNI_PIXEL_COMPAT)
    factor = (COMPAT_PATCH_SIZE.get(family, COMPAT_PATCH_SIZE_DEFAULT) * 2) ** 2
    out: dict[str, int] = {}
    for pixels, token_num in PIXEL_VARIABLES.items():
        try:
            if environ.get(token_num) and tokens:
                out[token_num] = int(environ[token_num])
            elif environ.get(pixels) and convert:
                out[token_num] = int(environ[pixels]) // factor
            elif environ.get(pixels) and not tokens:
                out[pixels] = int(environ[pixels])
        except ValueError:
            continue
    return out or None


_SWIFT_MEDIA_COLUMNS = {k: (PLURAL[k], SINGULAR[k]) for k in MEDIA_KINDS}
_SWIFT_USER = ("user", "human")
_SWIFT_ASSISTANT = ("assistant", "gpt", "bot")
#: ``MessagesPreprocessor``: the role names it maps (the rest stay as written).
_SWIFT_TOOL_CALL = ("function_call",)
_SWIFT_TOOL_RESPONSE = ("function_response", "observation", "observations")
#: ``RowPreprocessor._check_messages``: the roles a row may keep.
_SWIFT_ROLES = frozenset({"system", "user", "tool_call", "tool_response", "tool", "assistant"})
_DELETED = "There are errors in the dataset, the data will be deleted"


def _std_role(role: Any) -> Any:
    """``MessagesPreprocessor.to_std_messages``: a role as the row keeps it."""
    if role in _SWIFT_USER:
        return "user"
    if role in _SWIFT_ASSISTANT:
        return "assistant"
    if isinstance(role, str) and role.replace("-", "_") in _SWIFT_TOOL_CALL:
        return "tool_call"
    if isinstance(role, str) and role.replace("-", "_") in _SWIFT_TOOL_RESPONSE:
        return "tool_response"
    return role


#: From 4.5.0 ``Template._preprocess_standalone_tools`` folds tool results that follow a user
#: turn into it and raises ``ValueError`` for any other tool result without a call before it
#: (read in 4.0.0-4.5.0's template/base.py); before, every tool result without a call before it
#: fails later (3.12.6, run for real: ``AssertionError`` after a user turn, else
#: ``AttributeError``), so a row with one is deleted.
STANDALONE_TOOLS_FOLDED = Version("4.5.0")


def view(conv: Conversation, environ: Mapping[str, str], release: Version | None = None,
         args: Arguments | None = None) -> RecordView:
    """ms-swift's ``RowPreprocessor`` column aliases and row checks, the template's rounds, and
    ``Template._add_default_tags``; ``release``: the ms-swift release (None: the newest modelled);
    ``args``: the ``--swift-args`` (their :attr:`Arguments.mode`: which sequences are encoded; None
    or no subcommand: the record's columns decide)."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    view = RecordView(TARGET, conv, tags=tags(environ))
    mode = args.mode if args is not None else "columns"
    view.command = args.assumed if args is not None else None
    rp = conv.record_pointer
    for kind, cols in _SWIFT_MEDIA_COLUMNS.items():
        col = next((c for c in cols if c in rec), None)
        view.media_column[kind] = col
        view.media[kind] = media_refs(conv, rp, col, kind)
    col = next((c for c in ("messages", "conversation", "conversations") if c in rec), None)
    if col is None:
        return view
    base = f"{rp}/{col}"  # one of the fixed names above: nothing to escape
    msgs = rec[col]
    if not isinstance(msgs, list):
        return view
    view.inline_media = has_inline_media(msgs, "content") or has_inline_media(msgs, "value")
    view.turns = _turns(msgs, base)
    fold = release is None or release >= STANDALONE_TOOLS_FOLDED
    if not view.inline_media:
        when = _swift_rows(view, msgs, base, fold)
        # kto prepares its KL dataset between loading and encoding: a row deleted at encode reaches it
        if when == "load" or (when == "encode" and mode != "kto"):
            return view
        loaded = len(view.dropped)
        if any(c in rec for c in PAIR_COLUMNS):
            _pair(view, rec, msgs, fold, release, "rlhf" if mode == "columns" else mode)
        elif mode == "rlhf" and not any(k.startswith("rejected_") for k in rec):
            # (a record with rejected media columns alone, whose rejected sequence is the chosen
            # messages with those media, is not modelled: read as one sequence)
            view.dropped.append(Dropped(rp or "", NO_REJECTED.format(command=args.assumed), _DELETED))
        if mode == "kto" and len(view.dropped) == loaded:  # not deleted while loading
            _kto(view, rec)
    return view


def _turns(msgs: list, base: str, branch: int = 0) -> list[Turn]:
    """The messages as ``MessagesPreprocessor`` standardises them (roles, content keys)."""
    turns = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            turns.append(Turn(i, f"{base}/{i}", None, None, None, None, branch=branch))
            continue
        # ``_to_std_key``: "from" replaces "role" and "value" replaces "content" when both exist
        rk = "from" if "from" in m else ("role" if "role" in m else None)
        ck = "value" if "value" in m else ("content" if "content" in m else None)
        role = m.get(rk) if rk else None
        content = m.get(ck) if ck else None
        as_role = _std_role(role)
        turns.append(Turn(i, f"{base}/{i}", role, as_role if isinstance(as_role, str) else None,
                          content if isinstance(content, str) else None,
                          f"{base}/{i}/{ck}" if ck else None, branch=branch))
    return turns


# --- RLHF: preference pairs (``swift rlhf``) ------------------------------------------------------
# Read in 3.12.6 and 4.6.0 (dataset/preprocessor/core.py, template/template_inputs.py,
# template/base.py, train/rlhf.py) and run for real by test_ms_swift_rlhf.

#: The columns that make a record a preference pair: ``swift rlhf --rlhf_type`` dpo / orpo / simpo
#: / cpo / rm encode it in the template mode ``rlhf`` (``_rlhf_encode``: the chosen sequence, then
#: the rejected one; a row whose either sequence raises is deleted); without a subcommand in
#: ``--swift-args`` such a record is read so (:attr:`Arguments.mode`).
PAIR_COLUMNS = ("rejected_response", "rejected_messages")
#: Why dpo & co. delete a record without a rejected sequence (``_rlhf_encode``), and what other rows
#: of its file change (``datasets`` gives every row every column, null where absent; a null
#: ``rejected_messages`` is an empty one, :data:`EMPTY_REJECTED_IGNORED`; run on both releases by
#: test_ms_swift_rlhf_mixed_file).
NO_REJECTED = ("the record has no rejected sequence (no \"rejected_response\" or \"rejected_messages\"), which "
               "{command} encodes beside the chosen one: the template raises \"ValueError: inputs.rejected is "
               "None\" (where another row of the file has \"rejected_images\", or \"rejected_messages\" from "
               "ms-swift 4.0, this row's are null and its rejected sequence is a copy of the chosen one, kept with "
               "nothing to prefer; where another has \"rejected_response\", or \"rejected_messages\" before 4.0, "
               "this row's null one deletes it while loading)")
#: ``MessagesPreprocessor.preprocess`` sets an empty ``rejected_messages`` to None (4.6.0's
#: dataset/preprocessor/core.py), and the row keeps the key, so ``TemplateInputs.from_dict`` fills
#: the rejected sequence with the chosen one's messages and media (the row is kept, both sequences
#: alike); 3.12.6 indexes the None it gets back (``TypeError``: the row is deleted).  Read in those
#: two, run by test_ms_swift_rlhf; the releases between are not read.
EMPTY_REJECTED_IGNORED = Version("4.0.0")


def _pair(view: RecordView, rec: dict, msgs: list, fold_tools: bool, release: Version | None,
          mode: str = "rlhf") -> None:
    """The rejected sequence of a preference record, and why ms-swift deletes the row, in the
    template ``mode`` (:attr:`Arguments.mode`): ``rlhf`` encodes both sequences; ``train`` (``swift
    sft``) the chosen one alone, but ``TemplateInputs.from_dict`` still reads ``rejected_response``
    (a type it refuses deletes the row); ``kto`` the chosen one and a KL sequence whose answer is
    another row's (``KTOPreprocessor`` overwrites ``rejected_response``: not modelled, :func:`_kto`).
    The load checks below apply in every mode.

    - Load (``RowPreprocessor._check_rejected_response``, every mode, ``swift sft`` too): a
      ``rejected_response`` that is null, or equal to the last message's content, deletes the row.
    - ``TemplateInputs._compat_rejected_response``: a string ``rejected_response`` replaces every
      message after the last user turn (``get_last_user_round``; with none, every message, the
      system prompt too); any other type raises ``ValueError``.  It wins over ``rejected_messages``.
    - ``rejected_messages`` (standardised like ``messages``, but never checked at load): the
      rejected sequence on its own; an empty one deletes the row in 3.12.6 (at load); in 4.6.0 it
      becomes None while the row keeps the key, so the rejected sequence is the chosen one.
    - Media: the rejected sequence loads ``rejected_images`` / ``rejected_videos`` /
      ``rejected_audios``; where one is absent or null it takes the chosen one's, but only when the
      record has no ``rejected_messages`` (``from_dict``'s "Supplement": with them, no media).
    - Each sequence is encoded on its own: its roles are paired (:func:`_encode_roles`) and its
      tags counted and expanded against its own media (``_add_default_tags``)."""
    def drop(pointer: str, reason: str) -> None:
        view.dropped.append(Dropped(pointer, reason, _DELETED))

    rp = view.conv.record_pointer
    has_response = "rejected_response" in rec
    if has_response:
        rejected = rec["rejected_response"]
        last = msgs[-1]
        ck = "value" if "value" in last else "content"
        if rejected is None:
            return drop(f"{rp}/rejected_response", "\"rejected_response\" is null: ms-swift deletes the "
                        "row while loading (RowPreprocessor._check_rejected_response)")
        if isinstance(rejected, str) and rejected == last.get(ck):
            return drop(f"{rp}/rejected_response", "\"rejected_response\" is the same as the last "
                        "message: ms-swift deletes the row while loading (_check_rejected_response)")
    own = rec.get("rejected_messages")
    if isinstance(own, list) and not own and release is not None and release < EMPTY_REJECTED_IGNORED:
        return drop(f"{rp}/rejected_messages", "\"rejected_messages\" is empty: MessagesPreprocessor "
                    "raises (TypeError) while loading")
    if mode == "kto":
        return  # KTOPreprocessor replaces rejected_response with another row's answer before encoding
    if has_response:
        if isinstance(rejected, list):
            return  # a list of messages after the last user turn: not modelled (not generated)
        if not isinstance(rejected, str):
            return drop(f"{rp}/rejected_response", "\"rejected_response\" is neither a string nor a "
                        "list: the template raises \"ValueError: rejected_response must be a str or list\""
                        + (" (TemplateInputs.from_dict, before swift sft encodes the chosen sequence alone)"
                           if mode == "train" else ""))
    if mode == "train":
        return  # swift sft: the rejected sequence is read but never encoded (no turns, no media of its own)
    if isinstance(own, list) and not own:
        if not has_response:
            # it becomes None, but the row keeps the key: from_dict's "Supplement" gives the
            # rejected sequence the chosen one's messages (and its media where rejected_* are null)
            view.pair = True
            _rejected_media(view, rec, own_messages=False)
            return
    own_messages = isinstance(own, list) and bool(own)
    if not has_response and not own_messages:
        return  # not modelled: a malformed rejected_messages, or an empty one beside rejected media
    for t in view.turns:
        t.branch = 1
    if has_response:
        last_user = max((t.index for t in view.turns if t.as_role == "user"), default=-1)
        for t in view.turns[:last_user + 1]:
            t.branch = 0
        ptr = f"{rp}/rejected_response"
        view.turns.append(Turn(last_user + 1, ptr, "assistant", "assistant", rejected, ptr, branch=2))
        roles = [t.as_role for t in view.turns if t.branch in (0, 2)]
    else:
        rturns = _turns(own, f"{rp}/rejected_messages", branch=2)
        if any(t.as_role not in ("system", "user", "assistant") or t.text is None for t in rturns):
            return  # not modelled: other roles or contents in rejected_messages (not generated)
        view.turns += rturns
        roles = [t.as_role for t in rturns]
    view.pair = True
    if roles and roles[0] == "system":
        roles = roles[1:]
    problem = _encode_roles(roles, fold_tools)
    if problem:
        drop(f"{rp}/{'rejected_response' if has_response else 'rejected_messages'}",
             f"in the rejected sequence: {problem}: the encoder raises")
    _rejected_media(view, rec, own_messages)


def _kto(view: RecordView, rec: dict) -> None:
    """``swift rlhf --rlhf_type kto`` (template mode ``kto``): ``prepare_kto_dataset`` builds the KL
    dataset (``KTOPreprocessor``: after a shuffle, each row's ``rejected_response`` is another row's
    last message, asserted to be an answer) and reads every row's ``label`` (``sum``); then
    ``_kto_encode`` encodes the chosen sequence and the KL one (the prompt, through the last user
    turn, with that other answer).  Per record: a last message that is not the assistant's, or no
    ``label`` (absent, null, neither a bool nor a number), stops the run for the whole dataset.  Not
    modelled (they depend on another row): the KL sequence's pads, tags and length, and a KL answer
    equal to this row's (``AssertionError`` while encoding: the row is deleted)."""
    rp = view.conv.record_pointer
    last = view.turns[-1]
    if last.as_role != "assistant":
        view.dropped.append(Dropped(last.pointer, f"the last message is {last.role!r}, not the assistant's: "
                                    "KTO's KL dataset (KTOPreprocessor) gives this message to another row as its "
                                    "rejected answer, and asserts it is an answer", "AssertionError", stops=True))
    label = rec.get("label")
    if not isinstance(label, (bool, int, float)):
        what = "no \"label\"" if label is None else f"\"label\": {label!r}, neither a bool nor a number"
        view.dropped.append(Dropped(f"{rp}/label" if "label" in rec else (rp or ""),
                                    f"the record has {what}: prepare_kto_dataset sums every row's label "
                                    "(desirable or not)", "TypeError" if "label" in rec else
                                    "TypeError, or KeyError: 'label' when no row has one", stops=True))


def _rejected_media(view: RecordView, rec: dict, own_messages: bool) -> None:
    """The rejected sequence's media: ``rejected_images`` / ``rejected_videos`` / ``rejected_audios``,
    or, where one is absent or null and the record has no ``rejected_messages`` of its own, the
    chosen sequence's (``TemplateInputs.from_dict``'s "Supplement")."""
    rp = view.conv.record_pointer
    media: dict[Kind, list] = {}
    columns: dict[Kind, str | None] = {}
    for kind in MEDIA_KINDS:
        col = f"rejected_{PLURAL[kind]}"
        if rec.get(col) is not None or own_messages:
            media[kind], columns[kind] = media_refs(view.conv, rp, col, kind), col
        else:
            media[kind], columns[kind] = view.media.get(kind, []), view.media_column.get(kind)
    view.branch_media[2], view.branch_column[2] = media, columns


def _swift_rows(view: RecordView, msgs: list, base: str, fold_tools: bool) -> str | None:
    """Why ms-swift deletes the row: ``MessagesPreprocessor`` / ``_check_messages`` while the
    dataset loads, or the template while it encodes (:func:`_encode_roles`).  Returns when:
    ``load``, ``encode``, or None (kept)."""
    def drop(pointer: str, reason: str, when: str = "load") -> str:
        view.dropped.append(Dropped(pointer, reason, _DELETED))
        return when

    if not msgs:
        return drop(base, "the message list is empty")
    turns = view.turns
    for t, m in zip(turns, msgs):
        if not isinstance(m, dict) or not any(k in m for k in ("role", "from", "content", "value")):
            return drop(t.pointer, f"message {t.index} has no role and no content")
        if not any(k in m for k in ("role", "from")):
            return drop(t.pointer, f"message {t.index} has no \"role\" (or \"from\")")
        if not isinstance(t.role, str):
            return drop(t.pointer, f"message {t.index} has a role that is not a string")
        if t.as_role not in _SWIFT_ROLES:
            return drop(t.pointer, f"message {t.index} has role {t.role!r}, which ms-swift does not "
                        "know (user/human, assistant/gpt/bot, system, tool, observation, function_call)")
        ck = "value" if "value" in m else ("content" if "content" in m else None)
        if ck is None or m.get(ck) is None:
            return drop(t.pointer, f"message {t.index} has no content")
    roles = [t.as_role for t in turns]
    if roles[0] == "system":
        roles = roles[1:]
    problem = _encode_roles(roles, fold_tools)
    if problem:
        return drop(base, f"{problem}, as the template pairs the turns "
                    f"({', '.join(repr(t.role) for t in turns)}): the encoder raises", "encode")
    return None


def _encode_roles(roles: list[str], fold_tools: bool) -> str | None:
    """``Template._swift_prepare_inputs`` and ``_swift_encode`` on the roles after the leading
    system turn: tool calls become one assistant turn, tool results after a user turn are folded
    into it (``fold_tools``, from 4.5.0; any other tool result without a call before it is
    ``ValueError``), consecutive user
    or assistant turns are merged, a leading assistant turn gets an empty user turn, a last user
    turn an empty answer; then every (query, response) pair must be (user or tool, assistant)
    (``AssertionError``).  The reason the row is deleted, or None."""
    calls: list[str] = []
    for r in roles:
        r = "tool" if r == "tool_response" else r
        if r == "tool_call" and calls and calls[-1] == "tool_call":
            continue
        calls.append(r)
    roles = ["assistant" if r == "tool_call" else r for r in calls]
    i = 0
    while i < len(roles):  # _preprocess_standalone_tools (4.5.0); before, such a turn fails later
        if roles[i] != "tool" or (i > 0 and roles[i - 1] in ("assistant", "tool")):
            i += 1
            continue
        j = i
        while j + 1 < len(roles) and roles[j + 1] == "tool":
            j += 1
        if not fold_tools or i == 0 or roles[i - 1] != "user":
            return ("a tool result follows no tool call" + (" or user turn" if fold_tools else ""))
        del roles[i:j + 1]
    i = 1
    while i < len(roles):  # the merge loop of _swift_prepare_inputs
        pre, cur = roles[i - 1], roles[i]
        if pre == "assistant" and cur == "tool":
            while i + 1 < len(roles) and roles[i + 1] == "tool":
                del roles[i + 1]
            i += 1
        elif (pre, cur) in (("assistant", "assistant"), ("user", "user")):
            del roles[i]
        else:
            i += 1
    if roles and roles[0] == "assistant":
        roles.insert(0, "user")
    if len(roles) % 2 == 1:
        roles.append("assistant")
    if not roles:
        return "no message is left after the system turn"
    for n in range(0, len(roles), 2):
        if roles[n] not in ("user", "tool") or roles[n + 1] != "assistant":
            return f"the pair ({roles[n]!r}, {roles[n + 1]!r}) is not (user or tool, assistant)"
    return None


# --- max_length: the template's truncation ---------------------------------------------------------
# ``Template._encode_truncated`` (template/base.py, 3.12.6 and 4.6.0 alike): a row longer than
# ``max_length`` is handled by ``truncation_strategy``.  ``swift sft``'s default ``delete`` reaches
# the template as ``raise``: ``MaxLengthError``, and ``EncodePreprocessor`` / ``LazyLLMDataset``
# delete the row without a message (``ignore_max_length_error``).  ``left`` / ``right``
# (``_truncate``) keep every pad (``placeholder_tokens`` are protected) and cut the other tokens
# from that side.  ``split`` (pre-training only; ``swift sft`` refuses it with a chat template)
# cuts the row into max_length pieces.  The user's ``max_length`` and ``truncation_strategy`` come
# from ``--swift-args`` (:func:`parse_args`).  Run for real by test_ms_swift_max_length, with the
# same arguments given to ms-swift's own parser.

#: The truncation_strategy ``swift sft`` uses when none is given (TemplateArguments).
DEFAULT_TRUNCATION = "delete"
#: ``TemplateArguments.truncation_strategy``'s choices on the command line (3.12.6 and 4.6.0 alike;
#: ``None`` is a choice too: the default).  ``delete`` reaches the template as ``raise``
#: (``get_template_kwargs``); ``raise`` itself is not a choice.
TRUNCATION_STRATEGIES = ("delete", "left", "right", "split")

# --- the subcommand and ``--rlhf_type`` ------------------------------------------------------------
# Read in 3.12.6 and 4.6.0 (arguments/rlhf_args.py, train/rlhf.py, train/kto.py, template/base.py
# ``encode``) and run for real by test_ms_swift_rlhf (dpo, orpo, simpo, cpo, rm, kto; swift sft).

#: ``RLHFArguments.rlhf_type``'s choices (a Literal without None) and its default (3.12.6 = 4.6.0).
RLHF_TYPES = ("dpo", "orpo", "simpo", "kto", "cpo", "rm", "ppo", "grpo", "gkd")
DEFAULT_RLHF_TYPE = "dpo"
#: The template mode ``SwiftRLHF._prepare_template`` sets (``mode_mapping``, else ``rlhf``); ``swift
#: sft`` sets ``train``.  ``rlhf`` encodes the chosen and the rejected sequence (``_rlhf_encode``; rm
#: too, as ``seq_cls``), ``kto`` the chosen one and the KL one (``_kto_encode``), ``train`` the chosen
#: one alone.  (ppo: ``transformers``, 3.12.6 ``pt``.)
RLHF_MODES = {"kto": "kto", "gkd": "train", "ppo": "transformers", "grpo": "train"}
#: Not modelled: grpo and gkd encode no row before training (``_prepare_dataset``: ``pre_process``
#: is off), then the prompt with completions generated at training time (``remove_response``);
#: ppo encodes prompts for generation.  qwenlint refuses them rather than give a verdict.
UNMODELLED_RLHF_TYPES = ("ppo", "grpo", "gkd")
#: ``RLHFArguments._init_grpo``: GRPO's truncation_strategy when none is given, and the ones it accepts
#: (else ``ValueError``; 3.12.6 ``AssertionError``: "GRPO requires `truncation_strategy 'left' or 'delete'`").
GRPO_TRUNCATION = "left"
GRPO_TRUNCATIONS = ("left", "delete")


@dataclass(frozen=True)
class Arguments:
    """The ``swift sft`` / ``swift rlhf`` arguments that change qwenlint's verdicts (:func:`parse_args`):
    ``max_length`` (None: not given; ms-swift then takes the model's ``max_model_len``, which
    qwenlint does not read), ``truncation_strategy``, the subcommand and ``--rlhf_type``."""

    max_length: int | None = None
    truncation_strategy: str = DEFAULT_TRUNCATION
    #: Whether ``truncation_strategy`` was given (else it is ms-swift's default).
    strategy_given: bool = False
    #: ``sft`` or ``rlhf`` (a leading ``swift sft`` / ``swift rlhf``, or ``rlhf`` for a bare
    #: ``--rlhf_type``); None: not given, the record's columns decide (:attr:`mode`).
    subcommand: str | None = None
    #: ``swift rlhf``'s ``--rlhf_type`` (its default ``dpo`` when not given); None for ``swift sft``.
    rlhf_type: str | None = None
    #: ``--loss_type`` as given (read for kto only: ``apo_zero_unpaired`` builds no KL dataset).
    loss_type: tuple[str, ...] = ()
    #: A config file's ``ENV`` section (ms-swift 4.x): variables it sets where the environment has
    #: none (``MAX_PIXELS``, ``FPS_MAX_FRAMES``, ...); the run's environment wins.
    env: tuple[tuple[str, str], ...] = ()

    def unmodelled(self) -> str | None:
        """Why qwenlint gives no verdict for these arguments (a usage error: :class:`~qwenlint.options.Options`),
        or None: the rlhf types of :data:`UNMODELLED_RLHF_TYPES`, and kto with ``--loss_type
        apo_zero_unpaired`` (no KL dataset: the record's own rejected columns, if any, would be encoded)."""
        if self.rlhf_type in UNMODELLED_RLHF_TYPES:
            return (f"--rlhf_type {self.rlhf_type}: qwenlint does not model how swift rlhf encodes its rows "
                    "(grpo and gkd encode each prompt with completions generated while training, ppo "
                    "prompts for generation); check the dataset without --rlhf_type, or as swift sft")
        if self.rlhf_type == "kto" and "apo_zero_unpaired" in self.loss_type:
            return ("--loss_type apo_zero_unpaired: qwenlint models KTO with its KL dataset, which this "
                    "loss does without; not modelled")
        return None

    @property
    def mode(self) -> str:
        """The template mode a record is encoded in: ``train`` (``swift sft``: the chosen sequence
        alone), ``rlhf`` (the chosen and the rejected one), ``kto``, or ``columns``: no subcommand
        given, a record with ``rejected_response`` / ``rejected_messages`` is read in ``rlhf``, any
        other in ``train``."""
        if self.subcommand is None:
            return "columns"
        if self.subcommand == "sft":
            return "train"
        return RLHF_MODES.get(self.rlhf_type, "rlhf")

    @property
    def assumed(self) -> str | None:
        """How ms-swift is assumed to run, for messages: ``swift sft``, ``swift rlhf --rlhf_type
        kto``; None: not given."""
        if self.subcommand is None:
            return None
        return "swift sft" if self.subcommand == "sft" else f"swift rlhf --rlhf_type {self.rlhf_type}"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print and exit; ours is a usage error
        raise ValueError(message)


def _choice(value: str) -> str | None:
    """``transformers.hf_argparser.make_choice_type_function``: a choice by its ``str()``
    (``"None"`` is the choice None)."""
    return None if value == "None" else value


def _parser() -> argparse.ArgumentParser:
    # HfArgumentParser over the dataclasses: ``--max_length`` and ``--max-length`` alike
    # (``_parse_dataclass_field`` adds the hyphenated spelling), type ``int``; a Literal's
    # choices; ``loss_type`` (``Optional[List[str]]``) takes one or more words.  No abbreviations:
    # ms-swift's (argparse's default) resolve against all of its arguments, which qwenlint does
    # not know, so an abbreviated flag is ignored here.
    p = _Parser(prog="swift sft", add_help=False, allow_abbrev=False)
    p.add_argument("--max_length", "--max-length", type=int, default=None)
    p.add_argument("--truncation_strategy", "--truncation-strategy", type=_choice,
                   choices=(*TRUNCATION_STRATEGIES, None), default=None)
    p.add_argument("--rlhf_type", "--rlhf-type", type=_choice, choices=RLHF_TYPES, default=None)
    p.add_argument("--loss_type", "--loss-type", nargs="+", default=None)
    return p


def parse_args(args: str | Sequence[str]) -> Arguments:
    """``swift sft`` (or ``swift rlhf``) arguments, read as ms-swift reads its command line
    (``swift.utils.parse_args``: ``HfArgumentParser(...).parse_args_into_dataclasses``); only
    ``max_length``, ``truncation_strategy``, the subcommand and ``--rlhf_type`` are kept, every
    other argument is ignored.  A leading ``swift sft`` / ``swift rlhf`` (or ``sft`` / ``rlhf``)
    names the subcommand; without one, ``--rlhf_type`` means ``swift rlhf`` and no subcommand
    leaves it to each record's columns (:attr:`Arguments.mode`).  ``truncation_strategy``'s default
    is ``delete``, ``left`` for ``--rlhf_type grpo`` (``_init_grpo``).  Raises ValueError (one line)
    for a value ms-swift's parser refuses, a ``max_length`` under 1, a config file qwenlint cannot
    read as ms-swift would (:func:`_expand_config`), ``--truncation_strategy split``, which ``swift sft`` refuses for a chat
    template (3.12.6: "only supported for plain text model pretraining", 4.6.0: "only supported for
    pre-training", both a ValueError before the first step), what else ms-swift refuses before
    training (``swift sft --rlhf_type``: ``remaining_argv``; grpo with ``right``), and the
    rlhf types qwenlint does not model (:data:`UNMODELLED_RLHF_TYPES`; kto with ``--loss_type
    apo_zero_unpaired``)."""
    try:
        words = shlex.split(args) if isinstance(args, str) else [str(a) for a in args]
    except ValueError as e:  # an unclosed quote
        raise ValueError(f"ms-swift arguments: {e}") from None
    if words[:1] == ["swift"]:
        words = words[1:]
        if words[:1] not in (["sft"], ["rlhf"]):
            raise ValueError(f"swift {' '.join(words[:1])}: qwenlint reads the arguments of `swift sft` "
                             "(or `swift rlhf`)")
    subcommand = None
    if words[:1] in (["sft"], ["rlhf"]):
        subcommand, words = words[0], words[1:]
    words, env = _expand_config(words)
    ns, _unknown = _parser().parse_known_args(words)
    if ns.max_length is not None and ns.max_length < 1:
        raise ValueError(f"--max_length {ns.max_length}: qwenlint needs a positive max_length")
    if ns.rlhf_type is not None and subcommand == "sft":
        raise ValueError(f"--rlhf_type {ns.rlhf_type}: swift sft does not take it (it stops with "
                         "\"ValueError: remaining_argv: [...]\"); use swift rlhf")
    rlhf_type = None
    if subcommand == "rlhf" or ns.rlhf_type is not None:
        subcommand, rlhf_type = "rlhf", ns.rlhf_type or DEFAULT_RLHF_TYPE
    strategy = ns.truncation_strategy
    if rlhf_type == "grpo" and strategy not in (None, *GRPO_TRUNCATIONS):
        raise ValueError(f"--truncation_strategy {strategy}: swift rlhf --rlhf_type grpo refuses it "
                         "(\"GRPO requires `truncation_strategy 'left' or 'delete'`\")")
    if strategy == "split":
        raise ValueError("--truncation_strategy split: swift sft refuses it for a chat template "
                         "(\"`--truncation_strategy split` is currently only supported for pre-training\"); "
                         "qwenlint models swift sft")
    default = GRPO_TRUNCATION if rlhf_type == "grpo" else DEFAULT_TRUNCATION
    return Arguments(ns.max_length, strategy or default, strategy is not None, subcommand, rlhf_type,
                     tuple(ns.loss_type or ()), env)


def _expand_config(words: list[str]) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """The command line with a config file's settings in it, as ms-swift's ``swift`` command
    expands it before parsing (``swift/cli/main.py``), and the file's ``ENV`` section:

    * 4.x (``parse_yaml_args``): a first word ending in ``.json`` / ``.yaml`` / ``.yml`` is the
      file (``json.load`` / ``yaml.safe_load``); its ``ENV`` is popped, then each key becomes
      ``--key`` with its value (a list's items, a mapping as JSON, else ``str()``) **in place of
      the file**, so a flag after it wins;
    * 3.x (``prepare_config_args``): ``--config FILE`` anywhere (OmegaConf, read here as the YAML
      it is), its settings **appended** to the command line, so they win over every flag; an
      ``ENV`` key is no setting there (ms-swift stops on it as an unknown argument).

    Which form a release takes is not checked against the assumed ms-swift version.  Relative
    paths are opened from the working directory, as ms-swift opens them."""
    if words and words[0].endswith((".json", ".yaml", ".yml")) and not words[0].startswith("-"):
        config = _load_config(words[0])
        env = config.pop("ENV", None) or {}
        if not isinstance(env, dict):
            raise ValueError(f"{words[0]}: ENV must be a mapping of variables")
        return _config_words(config) + words[1:], tuple((str(k), str(v)) for k, v in env.items())
    for i, w in enumerate(words):
        if w.startswith("--config="):
            raise ValueError(f"{w}: ms-swift reads a config file as `--config FILE` (3.x) or as the "
                             "first argument (4.x), not --config=FILE")
        if w == "--config":
            if i + 1 >= len(words):
                raise ValueError("The `--config` argument requires a yaml file path.")
            config = _load_config(words[i + 1])
            if "ENV" in config:
                raise ValueError(f"{words[i + 1]}: an ENV section in a `--config` file is no setting "
                                 "ms-swift 3.x knows (it stops on it); 4.x reads ENV from a config file "
                                 "given as the first argument")
            if "${" in json.dumps(config, default=str):
                raise ValueError(f"{words[i + 1]}: OmegaConf interpolations (${{...}}) are not read by "
                                 "qwenlint; give the values")
            return words[:i] + words[i + 2:] + _config_words(config), ()
    return words, ()


def _load_config(path: str) -> dict:
    from qwenlint.fsio import open_regular

    try:
        with open_regular(path, "r", encoding="utf-8") as f:
            if path.endswith(".json"):
                config = json.load(f)
            else:
                import yaml

                config = yaml.safe_load(f)
    except OSError as e:
        raise ValueError(f"ms-swift config file {path}: {e.strerror or e}") from None
    except ValueError as e:  # JSON
        raise ValueError(f"ms-swift config file {path}: {e}") from None
    except Exception as e:  # noqa: BLE001 - yaml.YAMLError and the like
        raise ValueError(f"ms-swift config file {path}: {type(e).__name__}: {e}") from None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ValueError(f"ms-swift config file {path}: expected a mapping of settings")
    return config


def _config_words(config: dict) -> list[str]:
    out: list[str] = []
    for key, value in config.items():
        out.append(f"--{key}")
        if isinstance(value, list):
            out.extend(str(v) for v in value)
        elif isinstance(value, dict):
            out.append(json.dumps(value, ensure_ascii=False))
        else:
            out.append(str(value))
    return out
#: ms-swift's Qwen VL templates encode a row with the same tokens as LLaMA-Factory's template of
#: this name (chatml; ``qwen2_vl``'s default system prompt "You are a helpful assistant.", none for
#: ``qwen3_vl``, whose answers get no think block in training): measured on 3.12.6 and 4.6.0.
SAME_TOKENS_AS = {"qwen2-vl": "qwen2_vl", "qwen2.5-vl": "qwen2_vl", "qwen3-vl": "qwen3_vl_nothink"}


def encode(view: RecordView, family: str, count: Any, media: Mapping[Kind, list[tuple[Any, int | None]]]):
    """The row's tokens as the template encodes them (``llamafactory.Encoding``), for the rows
    whose form is plain: an optional system turn without tags, then user / assistant pairs, one tag
    per media entry.  None otherwise (merged turns, tool turns, tags added or left literal)."""
    from qwenlint.consumers import llamafactory

    template = SAME_TOKENS_AS.get(family)
    if template is None or view.dropped or view.inline_media or view.pair:
        return None
    roles = [t.as_role for t in view.turns]
    if roles and roles[0] == "system":
        if any(tag in (view.turns[0].text or "") for tag in view.tags.values()):
            return None
        roles = roles[1:]
    if not roles or roles != ["user", "assistant"] * (len(roles) // 2):
        return None
    for kind, tag in view.tags.items():
        if sum((t.text or "").count(tag) for t in view.turns) != len(view.media.get(kind, [])):
            return None
    return llamafactory.encode(view, template, count, media)
