"""qwen-vl-finetune (``QwenLM/Qwen3-VL``'s training code): how its data processor reads a record, and
the pixel settings it writes into the processor.

Modelled from ``qwen-vl-finetune`` at ``96588727`` and run by tests/differential/test_qwen_finetune.py
(its data code vendored, unchanged, in tests/differential/vendor):

- ``qwenvl/data/data_processor.py`` ``_build_messages``: media from ``image`` / ``video`` (a
  string or a list; ``images`` / ``videos`` are never read); ``role = "user" if turn["from"] ==
  "human" else "assistant"``; ``<image>`` / ``<video>`` are split out of user turns only
  (assistant text is kept literally); ``ValueError: Number of <image> placeholders exceeds the
  number of provided images`` and ``ValueError: {n} image(s) remain unused (not consumed by
  placeholders)``.  ``LazySupervisedDataset.__getitem__`` retries a failing sample, then
  silently substitutes the next one.  Paths are joined to the dataset's ``data_path``.
- ``tools/check_image.py``: ``GPT response contains media token (<image> or <video>)``.
- ``qwenvl/train/argument.py`` ``DataArguments`` (max_pixels=28*28*576, min_pixels=28*28*16,
  video 256*28*28 to 1024*28*28 per frame, fps 2, 4 to 8 frames), written into the processor by
  ``update_processor_pixels`` — which never sets ``do_sample_frames``, so the HF video processor
  keeps every decoded frame, and from transformers 5.4.0 writes no pixel bound at all
  (:data:`PIXELS_IGNORED`).  Then ``processor.apply_chat_template(tokenize=True)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from packaging.version import Version

from qwenlint.consumers.base import Target, framework_reading
from qwenlint.consumers.records import (
    SINGULAR,
    RecordView,
    Turn,
    media_refs,
    unread_columns,
)
from qwenlint.ir import Conversation, Kind

TARGET = Target.QWEN_FINETUNE
#: The transformers pipeline, with the processor's pixel settings replaced (:func:`processor_profile`).
PIPELINE = "transformers"
reading = framework_reading

#: ``DataArguments`` defaults, as per-item options in qwen-vl-utils terms.
IMAGE_OPTIONS = {"max_pixels": 28 * 28 * 576, "min_pixels": 28 * 28 * 16}
VIDEO_OPTIONS = {"max_pixels": 1024 * 28 * 28, "min_pixels": 256 * 28 * 28, "fps": 2.0,
                 "min_frames": 4, "max_frames": 8}


def ignored_options(part: Any) -> list[str]:
    """Per-part options are not reported for qwen-vl-finetune."""
    return []


#: From transformers 5.4.0 the processors keep their bounds in a ``SizeDict`` ``size`` and have no
#: ``min_pixels`` / ``max_pixels`` attributes: ``update_processor_pixels`` tests ``isinstance(ip.size,
#: dict)`` and ``hasattr(ip, "min_pixels")``, both False, and writes no pixel bound at all (run on
#: 5.2.0 to 5.5.0 and 5.6.0 / 5.17.0 / 5.23.0: tests/differential/test_qwen_finetune.py).
PIXELS_IGNORED = Version("5.4.0")


def processor_profile(profile: Any, tf_version: Version | None = None) -> Any:
    """``update_processor_pixels``: the ``DataArguments`` pixel and frame settings written into the
    processor of ``profile`` (a :class:`qwenlint.vision.Profile`) at transformers ``tf_version``
    (None: the newest modelled); from :data:`PIXELS_IGNORED` on, only the frame settings, which
    change nothing while ``do_sample_frames`` stays False."""
    if tf_version is None or tf_version >= PIXELS_IGNORED:
        return profile
    video = replace(profile.video, min_pixels=VIDEO_OPTIONS["min_pixels"],
                    max_pixels=VIDEO_OPTIONS["max_pixels"], fps=VIDEO_OPTIONS["fps"],
                    min_frames=VIDEO_OPTIONS["min_frames"], max_frames=VIDEO_OPTIONS["max_frames"])
    return profile.replace(image_min_pixels=IMAGE_OPTIONS["min_pixels"],
                           image_max_pixels=IMAGE_OPTIONS["max_pixels"], video=video)


def view(conv: Conversation) -> RecordView:
    """qwen-vl-finetune's ``_build_messages``."""
    rec = conv.record if isinstance(conv.record, dict) else {}
    view = RecordView(TARGET, conv, tags={Kind.IMAGE: "<image>", Kind.VIDEO: "<video>"})
    rp = conv.record_pointer
    for kind in (Kind.IMAGE, Kind.VIDEO):
        col = SINGULAR[kind]
        view.media_column[kind] = col
        # ``item.get("image") or []``: a falsy value (``""``, ``[]``, null) is no media.
        view.media[kind] = media_refs(conv, rp, col, kind) if rec.get(col) else []
    view.media_column[Kind.AUDIO] = None
    view.media[Kind.AUDIO] = []
    unread_columns(view, view.media_column,
                   {Kind.IMAGE: ("images",), Kind.VIDEO: ("videos",),
                    Kind.AUDIO: ("audio", "audios")})
    msgs = rec.get("conversations")
    if not isinstance(msgs, list):
        return view
    base = f"{rp}/conversations"
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            view.turns.append(Turn(i, f"{base}/{i}", None, None, None, None))
            continue
        role = m.get("from")
        as_role = "user" if role == "human" else "assistant"
        v = m.get("value")
        view.turns.append(Turn(i, f"{base}/{i}", role, as_role, v if isinstance(v, str) else None,
                               f"{base}/{i}/value" if "value" in m else None,
                               expands_tags=as_role == "user", counted=as_role == "user"))
    return view
