"""Media stage: facts about every image, video and audio a record names, read from headers only.

For each image / video part (and, for an Omni family, audio part) (a path, a ``file://`` URL, a data URI or a list of frames) and each
dataset media entry (the framework view's media lists, or the normalised ``conv.media``), the
source is classified relative to ``--media-root``, else the input file's folder, and probed through
the run's `FactsCache`, so a file named by ten thousand records is probed once.  Fills:

* ``ctx.media``: every item as a :class:`~qwenlint.context.MediaItem`, in reading order;
* ``ctx.facts[pointer]``: `ImageFacts` | `VideoFacts` | `AudioFacts` | `MediaError`, or for a list of frames a
  list with one `ImageFacts` | `MediaError` per frame; an http(s) URL is read by byte range
  only with ``--allow-network`` (else ``MediaError("remote")``), and a relative path of a remote
  data file (or under a ``--media-root`` URL) is the object beside it, read the same way
  (qwenlint.remote; facts kept per URL for the run);
* ``ctx.audio_tracks``: with ``--use-audio-in-video`` (an Omni family), each loaded video's sound
  track: `AudioFacts`, or ``MediaError("not-audio")`` for a silent video (not for
  ``--target llamafactory``, which never reads a video's sound track);
* ``ctx.sources``: one :class:`~qwenlint.context.SourceFacts` per file of every item the consumer
  loads (each frame of a frame list is one), with where its source string is written.

The stage never raises for bad input.
"""

from __future__ import annotations

import os
from typing import Any

from qwenlint.consumers import Target
from qwenlint.consumers.vllm import body_pointer
from qwenlint.context import MediaItem, RecordContext, SourceFacts
from qwenlint.ir import Conversation, Form, Kind, MediaRef
from qwenlint import remote
from qwenlint.media import (
    MediaError,
    classify_source,
    memory,
    probe_audio,
    probe_image,
    probe_opened,
    probe_source,
    probe_video,
)
from qwenlint.media.sources import MediaSource
from qwenlint.pointer import join


def _base_dir(ctx: RecordContext, conv: Conversation) -> str:
    """``--media-root``, else LLaMA-Factory's ``media_dir`` (``--framework-config``'s, else its
    default ``dataset_dir``: the folder of the ``dataset_info.json`` that declares the file), else
    the file's folder."""
    if ctx.options.media_root:
        return ctx.options.media_root
    if ctx.target(conv) is Target.LLAMAFACTORY:
        if ctx.options.llamafactory().media_dir:
            return ctx.options.llamafactory().media_dir
        entry = ctx.dataset_entry
        if entry is not None and entry.path:
            return os.path.dirname(os.path.abspath(entry.path))
    return ctx.base_dir


def _classify(ctx: RecordContext, value: Any, conv: Conversation, dataset: bool) -> tuple[MediaSource, bool]:
    """The source, and whether it resolved through the framework's working-directory fallback."""
    if ctx.target(conv) is Target.VLLM:
        from qwenlint.consumers.vllm.request import (
            file_url_path,  # vLLM runs only (import cost)
        )

        path = file_url_path(value)
        if path is not None:  # the file vLLM's media connector opens
            return MediaSource("file-url", value, path=path, resolved=path, scheme="file",
                               video_path=path, video_resolved=path), False
    base = _base_dir(ctx, conv)
    s = classify_source(value, base)
    if s.kind == "path" and s.path and not os.path.isabs(s.path) and remote.is_url(base):
        # a relative path in a remote data file (or under a --media-root URL): the object beside it
        url = remote.join(base, s.path)
        return MediaSource("path", value, path=s.path, resolved=url, video_path=s.path,
                           video_resolved=url), False
    if (dataset and s.is_local and s.resolved and s.path and not os.path.isabs(s.path)
            and ctx.target(conv) is not Target.QWEN_FINETUNE and not os.path.exists(s.resolved)
            and os.path.exists(s.path)):
        # LLaMA-Factory / ms-swift: "Media x does not exist in `media_dir`. Use original path."
        return classify_source(value, None), True
    return s, False


def _remote_url(ctx: RecordContext, s: MediaSource) -> str | None:
    """The URL a source is read from by byte range (qwenlint.remote), else None: a relative path
    of a remote data file (or under a --media-root URL), or with --allow-network an http(s) part
    (which qwen-vl-utils, transformers and vLLM fetch themselves)."""
    if s.kind == "path" and s.resolved and remote.is_url(s.resolved):
        return s.resolved
    if s.kind == "http" and s.url and ctx.options.allow_network:
        return s.url
    return None


def _opener(url: str, access: remote.Access):
    """A :data:`qwenlint.media.Opener` for ``url``: the media leaf reads through it and never
    imports fsspec."""
    codes = {"not-found": "not-found", "denied": "permission-denied", "refused": "remote",
             "invalid": "invalid-path"}

    def opener():
        try:
            return remote.open_binary(url, access)
        except remote.RemoteError as e:
            if e.kind == "not-found":  # as a local file's: the same diagnostic but for the path
                return MediaError("not-found", "no such file", path=url)
            return MediaError(codes.get(e.kind, "unreadable"), str(e), path=url)

    return opener


def _probe(ctx: RecordContext, s: MediaSource, kind: str):
    # One run probes each (file, kind) once: a per-run memo in front of the FactsCache, which
    # would otherwise realpath() and stat() the file again for every record naming it.  A URL's
    # facts are kept the same way (one read per URL and kind in a run).
    memo = ctx.run.probes
    url = _remote_url(ctx, s)
    key = (s.kind, s.resolved if kind == "image" else s.video_resolved, kind) if s.is_local else None
    if url is not None:
        key = ("url", url, kind)
    if key is not None and key in memo:
        return memo[key]
    try:
        if url is not None:
            result = probe_opened(_opener(url, ctx.options.access()), url, kind)  # type: ignore[arg-type]
        else:
            result = probe_source(s, kind, cache=ctx.run.media)  # type: ignore[arg-type]
        if key is not None:
            memo[key] = result
        return result
    except Exception as e:  # noqa: BLE001 - a probe bug must not stop the lint run
        return MediaError("unreadable", f"could not probe: {type(e).__name__}: {e}", path=s.raw[:200])


def _probeable(kind: Kind, src: Any, audio: bool = False) -> bool:
    """Whether ``src`` is read for facts: image / video paths, frame lists, and with ``audio``
    (an Omni family: the others have no audio encoder, QL210) audio paths."""
    if kind is Kind.AUDIO:
        return audio and (isinstance(src, str) or memory.is_in_memory(src) or memory.is_embedded(src))
    return kind in (Kind.IMAGE, Kind.VIDEO) and (
        isinstance(src, str) or memory.is_in_memory(src) or memory.is_embedded(src)
        or (kind is Kind.VIDEO and isinstance(src, list)))


def _in_memory(obj: Any, kind: str) -> tuple[MediaSource, Any]:
    """An object given through the Python API: its source and facts (:mod:`qwenlint.media.memory`)."""
    s = MediaSource("memory", memory.describe(obj))
    if kind == "image" and memory.is_array(obj):
        return s, memory.array_facts(obj)
    return s, memory.image_facts(obj) if kind == "image" else memory.unread(obj)


def _embedded(ctx: RecordContext, item: MediaItem) -> tuple[MediaSource, Any]:
    """A ``{"bytes", "path"}`` struct (a Parquet / Arrow media cell): its source and facts, from
    the bytes the consumer loads (:func:`qwenlint.media.memory.embedded_choice`), else from the
    path, which every consumer opens as it is (relative to the working directory: LLaMA-Factory's
    converter joins ``media_dir`` to string entries only, and ``datasets`` / ms-swift open the path)."""
    target = ctx.target(item.conv)
    kind = item.kind.value
    described = memory.describe(item.source)
    if item.kind is not Kind.IMAGE and target is Target.LLAMAFACTORY:
        # mm_plugin hands a video to av.open and an audio to torchaudio.load: neither takes a dict
        return MediaSource("memory", described), MediaError(
            "unsupported", f"LLaMA-Factory loads a {kind} with "
            f"{'av.open' if item.kind is Kind.VIDEO else 'torchaudio.load'}, which does not take a "
            "{\"bytes\", \"path\"} struct (only images are read from one)")
    how, value = memory.embedded_choice(item.source, truthy_bytes=target is Target.MS_SWIFT)
    if how == "bytes":
        s = MediaSource("memory", described)
        if not isinstance(value, (bytes, bytearray)):
            return s, MediaError("unreadable", f"the struct's bytes are {type(value).__name__}, not bytes")
        probe = probe_image if item.kind is Kind.IMAGE else probe_audio if item.kind is Kind.AUDIO else probe_video
        try:
            f = probe(bytes(value))
        except Exception as e:  # noqa: BLE001 - a probe bug must not stop the lint run
            return s, MediaError("unreadable", f"could not probe: {type(e).__name__}: {e}")
        if isinstance(f, MediaError) and item.kind is Kind.IMAGE and f.code in _OPEN_RAISES:
            f = MediaError(f.code, f"{f.message}: Image.open(BytesIO(bytes)) raises {_OPEN_RAISES[f.code]}")
        return s, f
    if how == "path" and isinstance(value, str):
        s = classify_source(value, None)
        return s, _probe(ctx, s, kind)
    return MediaSource("invalid", described, reason="bytes and path are both null"), MediaError(
        "invalid-path", "the struct has neither bytes nor a path (both null): there is nothing to load "
        f"({'Image.open(None) raises AttributeError; ' if target.is_framework else ''}Hugging Face datasets, "
        "decoding an Image feature, raises ValueError)")


#: What Pillow raises opening image bytes a header probe refuses (checked by
#: tests/differential/test_llamafactory_parquet.py): a truncated header raises either.
_OPEN_RAISES = {"not-an-image": "PIL.UnidentifiedImageError", "empty": "PIL.UnidentifiedImageError",
                "corrupt": "PIL.UnidentifiedImageError or OSError (a truncated header)"}


def _dataset_refs(ctx: RecordContext, conv: Conversation) -> list[MediaRef]:
    """The media entries the framework reads (its view), else the normalised ``conv.media``."""
    view = ctx.view(conv)
    if view is not None:
        if view.dropped:
            return []
        kinds = (Kind.IMAGE, Kind.VIDEO, Kind.AUDIO) if ctx.run.profile.is_omni else (Kind.IMAGE, Kind.VIDEO)
        return [r for kind in kinds for r in view.media.get(kind, [])]
    return list(conv.media)


def _input_audio(p) -> str | None:
    """An OpenAI ``input_audio`` part (``{"data": base64, "format": "wav"}``) as the data URL vLLM
    makes of it (``data:audio/{format};base64,{data}``); None when it has no string data."""
    d = p.raw.get("input_audio") if isinstance(p.raw, dict) else None
    if not isinstance(d, dict) or not isinstance(d.get("data"), str):
        return None
    fmt = d.get("format") if isinstance(d.get("format"), str) else "wav"
    return f"data:audio/{fmt};base64,{d['data']}"


def _items(ctx: RecordContext) -> list[MediaItem]:
    items: list[MediaItem] = []
    seen: set[str] = set()

    def add(item: MediaItem) -> None:
        if item.pointer not in seen:
            seen.add(item.pointer)
            items.append(item)

    audio = ctx.run.profile.is_omni
    for conv in ctx.conversations:
        request = ctx.requests.get(conv.index)
        # vLLM loads what the whole request holds (a part it rejects on its own may pass in
        # context); a request refused before its messages are read is predicted part by part.
        requested = None
        if request is not None and (request.items or request.error is None):
            requested = {body_pointer(conv, it.pointer) for it in request.items}
        for _m, p in conv.media_parts():
            source = _input_audio(p) if p.form is Form.OPENAI_AUDIO else p.source
            if p.form in (Form.TRANSLATED, Form.UNKNOWN, Form.NO_SOURCE) or source is None \
                    or not _probeable(p.kind, source, audio):
                continue
            r = ctx.reading(p)
            loaded = r.loaded and not r.crash if requested is None else p.pointer in requested
            add(MediaItem(conv, p.pointer, p.source_pointer or p.pointer, p.kind, source,
                          dict(p.options), part=p, loaded=loaded))
        if ctx.target(conv).is_framework or conv.media:
            for ref in _dataset_refs(ctx, conv):
                if _probeable(ref.kind, ref.source, audio):
                    add(MediaItem(conv, ref.pointer, ref.pointer, ref.kind, ref.source, {}, ref=ref))
    return items


def run(ctx: RecordContext) -> None:
    """Fill ``ctx.media``, ``ctx.facts`` and ``ctx.sources`` (see the module docstring)."""
    items = _items(ctx)
    if not items:
        return
    ctx.media = items
    for item in items:
        dataset = item.ref is not None
        if isinstance(item.source, list):
            srcs, facts = [], []
            for frame in item.source:
                if memory.is_pil_image(frame):  # the Python API: frames as PIL images
                    s, f = _in_memory(frame, "image")
                    srcs.append(s)
                    facts.append(f)
                    continue
                s, _ = _classify(ctx, frame, item.conv, dataset)
                srcs.append(s)
                facts.append(_probe(ctx, s, "image") if isinstance(frame, str) else
                             MediaError("invalid-path", f"a frame must be a string, got "
                                        f"{type(frame).__name__}"))
            ctx.facts[item.pointer] = facts
            if item.loaded:
                ctx.sources.extend(SourceFacts(item, join(item.source_pointer, j), s, f)
                                   for j, (f, s) in enumerate(zip(facts, srcs)))
        elif memory.is_embedded(item.source):
            s, f = _embedded(ctx, item)
            ctx.facts[item.pointer] = f
            if item.loaded:
                ctx.sources.append(SourceFacts(item, item.source_pointer, s, f))
        elif memory.is_in_memory(item.source):
            s, f = _in_memory(item.source, item.kind.value)
            ctx.facts[item.pointer] = f
            if item.loaded:
                ctx.sources.append(SourceFacts(item, item.source_pointer, s, f))
        else:
            s, fallback = _classify(ctx, item.source, item.conv, dataset)
            item.framework_fallback = fallback
            f = ctx.facts[item.pointer] = _probe(ctx, s, item.kind.value)
            if item.loaded:
                ctx.sources.append(SourceFacts(item, item.source_pointer, s, f))
            if (item.kind is Kind.VIDEO and item.loaded and ctx.options.use_audio_in_video
                    and ctx.run.profile.is_omni and not isinstance(f, MediaError)
                    and ctx.target(item.conv) is not Target.LLAMAFACTORY):
                # the processor decodes the video's sound track too (a silent video has none);
                # LLaMA-Factory never does (its use_audio_in_video pairs the video with an audios
                # entry: qwenlint.consumers.llamafactory)
                ctx.audio_tracks[item.pointer] = _probe(ctx, s, "audio")
