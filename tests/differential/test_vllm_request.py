"""``qwenlint.consumers.vllm.request.parse_request`` against the REAL vLLM render server, 0.33 and 0.34.

For a few server set-ups (the default flags; a local media folder with trusted per-request
kwargs, ``--limit-mm-per-prompt`` and ``--allowed-media-domains``; ``--enable-mm-embeds``),
hypothesis generates chat-completions bodies over the whole surface a user writes: every content
part shape vLLM or a user knows (with and without ``type``, string or object values, wrong value
types, unknown and translated types, extra keys, text/refusal/thinking/input_text parts, image,
video, audio, embeds and PIL parts), URLs of every kind (data URLs base64 or not, without the
``,``; file URLs inside and outside the allowed folder, with ``..``, ``%``-escapes, a host, no
``//``; relative paths; other schemes; http(s) URLs only where the server refuses them before
fetching: a host outside ``--allowed-media-domains``, an unparsable port), every role, ``content``
null/string/list, and the request fields that matter (``mm_processor_kwargs``,
``media_io_kwargs``, ``chat_template``, ``chat_template_kwargs``, ``tools``/``tool_choice``,
``add_generation_prompt``/``continue_final_message``, unknown fields).  Several problems in one
body are common, so the order of vLLM's checks is exercised.

Each body goes to the server (tests/differential/_vllm.py) and through ``parse_request``:

* ``parse_request`` reports an error: the server answers with that HTTP status and the same
  message.  No normalisation is needed: ``parse_request`` applies vLLM's own ``sanitize_message``
  and composes FastAPI's validation-error list, pydantic's messages and
  ``VLLMValidationError``'s "(parameter=..., value=...)" suffix as vLLM does;
* it reports none and every item is a real media file (a file inside the allowed folder, or a
  base64 data URL of one): the server renders, with one placeholder per item, per modality, in
  the same order (each file has its own placeholder length, measured once per server);
* it reports none and some item is not (a missing file, a non-media payload, embeds): the server
  may fail while decoding, which is not modelled, but never with one of the errors modelled.

No request is ever sent that makes the server fetch from the network.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pytest
from packaging.version import Version
from _vllm import (  # noqa: E402
    BASE_RELEASE,
    RELEASES,
    REPO,
    SERVERS,
    assumed,
    pad_ids,
    qwenlint_verdict,
    readable_message,
    tiny_checkpoint,
    verdict,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwenlint.consumers.vllm.request import QWEN_VL_MODALITIES, parse_request
from qwenlint.consumers.vllm.server import (
    VALIDATION_SUMMARIZED,
    Server,
    parse_server_args,
    video_lookup_fails,
)
from qwenlint.vision.profiles import profile_from_model_dir
from qwenlint.engine import Engine
from qwenlint.options import Options

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "media"))
from mediasynth import make_image, make_png_header, make_video  # noqa: E402

pytestmark = pytest.mark.differential

#: every media file has its own size, so the placeholder lengths tell the items apart
IMAGES = {"a.png": (64, 48), "b.jpg": (96, 40), "c.png": (150, 60)}
VIDEOS = {"v.mp4": (64, 48, 4, 8), "w.mp4": (96, 64, 4, 4)}
MIME = {"png": "image/png", "jpg": "image/jpeg", "mp4": "video/mp4"}


# --- the session's media and servers ------------------------------------------------------------

@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vllm-request-media")
    for name, (w, h) in IMAGES.items():
        make_image(str(root / name), w, h)
    for name, (w, h, fps, frames) in VIDEOS.items():
        make_video(str(root / name), w, h, fps, frames)
    (root / "notes.txt").write_text("not a media file")
    make_png_header(str(root / "bomb.png"), 20000, 10000)  # over Pillow's decompression-bomb limit
    return root


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint("qwen2.5-vl", tmp_path_factory.mktemp("vllm-request-ckpt"))


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("vllm-request-logs")


def setups(media: Path, release: str) -> dict[str, tuple[tuple[str, ...], Server]]:
    """The flag sets, each with the ``Server`` qwenlint makes of the same flags at ``release``
    (before 0.31 there is no --trust-request-mm-kwargs: a request's kwargs are always taken)."""
    base = ("--max-model-len", "131072")
    trust = ("--trust-request-mm-kwargs",) if Version(release) >= Version("0.31.0") else ()
    flags = {
        "default": base,
        "local": base + ("--allowed-local-media-path", str(media), *trust,
                         "--limit-mm-per-prompt", json.dumps({"image": 2, "video": 1}),
                         "--allowed-media-domains", "example.com"),
        "embeds": base + ("--allowed-local-media-path", str(media), "--enable-mm-embeds",
                          "--limit-mm-per-prompt", json.dumps({"image": 1})),
    }
    return {name: (args, parse_server_args(args, release)) for name, args in flags.items()}


# --- URLs ---------------------------------------------------------------------------------------

def data_url(media: Path, name: str, mime: str | None = None) -> str:
    mime = mime or MIME[name.rsplit(".", 1)[1]]
    return f"data:{mime};base64,{base64.b64encode((media / name).read_bytes()).decode()}"


def urls(media: Path, kind: str, allow_http: bool) -> st.SearchStrategy[str]:
    """URLs a user writes for a ``kind`` ("image" | "video" | "audio") part."""
    names = list(IMAGES) if kind == "image" else list(VIDEOS) if kind == "video" else ["a.png"]
    other = list(VIDEOS) if kind == "image" else list(IMAGES)
    m = str(media)
    good = st.sampled_from(names).flatmap(lambda n: st.sampled_from([
        f"file://{m}/{n}", f"file:{m}/{n}", f"file://{m}/./{n}", f"FILE://{m}/{n}",
        f"file://{m}/../{media.name}/{n}", f"file://{m}//{n}",
        f"file://{m}/{n[0]}%2E{n.split('.', 1)[1]}", data_url(media, n)]))
    bad = st.sampled_from([
        # local files: missing, not media, another modality, outside the folder, relative
        f"file://{m}/missing.png", f"file://{m}/notes.txt", f"file://{m}/{other[0]}",
        f"file://{m}", f"file://{m}/", f"file://{m}/../x.png", "file:///etc/hostname",
        f"file://{m}/a%00.png", f"file://{m}/bomb.png", data_url(media, "bomb.png"),
        f"file://localhost{m}/a.png", "file://a.png", "file:a.png", "file://", "file:///",
        "a.png", "./a.png", f"{m}/a.png", "~/a.png", "C:\\media\\a.png", "", "   ",
        # data URLs
        "data:image/png,abc", "data:image/png;base64", "data:;base64,AAAA", "data:,",
        "data:image/png;charset=utf-8;base64,iVBORw0KGgo=", "data:image/png;base64;x,abc",
        "DATA:image/png;BASE64,AAAA", "data:video/mp4;base64,AAAA", "data:image/png;base64,%%%",
        data_url(media, other[0]),
        # other schemes and unparsable
        "ftp://example.com/a.png", "s3://bucket/a.png", "//example.com/a.png", "mailto:a@b",
    ])
    http = st.sampled_from([
        "http://evil.invalid/a.png", "https://sub.example.com.invalid/a.png",
        "http://127.0.0.1:9/a.png", "https://user@evil.invalid:8443/a.png?x=1#f",
        "httpx://evil.invalid/a.png", "http://[::1]:9/a.png", "HTTP://EVIL.INVALID/A.PNG",
        "http://evil.invalid:99999/a.png", "http://a b.invalid/a.png", "http://evil.invalid:x/",
    ])
    parts = [good, good, bad]
    if allow_http:
        parts.append(http)
    return st.one_of(*parts)


# --- content parts ------------------------------------------------------------------------------

TEXTS = st.sampled_from(["hi", "describe", "", "多模态"])
JUNK = st.sampled_from([None, 5, 1.5, True, [], {}, ["x"], {"url": 5}])
EXTRA = st.dictionaries(st.sampled_from(["detail", "uuid", "min_pixels", "foo", "max_pixels",
                                         "closed", "name"]),
                        st.sampled_from(["low", "abc", 1000, None, True]), max_size=2)


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """``one_of`` with weights."""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(pool) - 1).flatmap(lambda i: pool[i])


def parts(media: Path, allow_http: bool) -> st.SearchStrategy:
    img, vid, aud = (urls(media, k, allow_http) for k in ("image", "video", "audio"))
    u = st.one_of(img, vid)

    def typed(t: str, key: str, value: st.SearchStrategy) -> st.SearchStrategy:
        return st.builds(lambda v, e: {"type": t, key: v, **e}, value, EXTRA)

    def bare(key: str, value: st.SearchStrategy) -> st.SearchStrategy:
        return st.builds(lambda v, e: {key: v, **e}, value, EXTRA)

    obj = lambda s: st.builds(lambda url, d: {"url": url, **d}, s,  # noqa: E731
                              st.sampled_from([{}, {"detail": "low"}, {"detail": "auto"},
                                               {"detail": "huge"}, {"foo": 1}]))
    common = st.one_of(
        TEXTS, typed("text", "text", TEXTS),
        typed("image_url", "image_url", obj(img)), typed("video_url", "video_url", obj(vid)),
        bare("image_url", img), bare("video_url", vid),
        st.builds(lambda v: {"type": "input_image", "image_url": v, "detail": "auto"}, img),
    )
    rare = st.one_of(
        # text-like
        typed("text", "text", JUNK), bare("text", TEXTS),
        typed("input_text", "text", TEXTS), typed("output_text", "text", TEXTS),
        typed("refusal", "refusal", st.one_of(TEXTS, JUNK)), bare("refusal", TEXTS),
        st.builds(lambda t, c: {"type": "thinking", "thinking": t, "closed": c}, TEXTS,
                  st.sampled_from([True, False, "x"])),
        typed("tool_reference", "name", st.one_of(TEXTS, JUNK)),
        # images
        typed("image_url", "image_url", img), typed("image_url", "image_url", JUNK),
        bare("image_url", obj(img)),
        st.builds(lambda v, d: {"type": "input_image", "image_url": v, **d}, img,
                  st.sampled_from([{"detail": "high"}, {}, {"detail": "x"}])),
        st.just({"type": "image_url"}), st.just({"type": "image_url", "image_url": {}}),
        typed("image_pil", "image_pil", st.sampled_from([None, "x"])), bare("image_pil", JUNK),
        # videos
        typed("video_url", "video_url", vid), typed("video_url", "video_url", JUNK),
        bare("video_url", obj(vid)),
        # audio
        typed("audio_url", "audio_url", obj(aud)), typed("audio_url", "audio_url", aud),
        bare("audio_url", aud),
        st.builds(lambda d, f: {"type": "input_audio", "input_audio": {"data": d, "format": f}},
                  st.sampled_from(["AAAA", ""]), st.sampled_from(["wav", "mp3", "flac"])),
        bare("input_audio", st.sampled_from([{"data": "AAAA", "format": "wav"}, "x"])),
        # embeds
        typed("image_embeds", "image_embeds", st.sampled_from(["AAAA", None, {"x": "AAAA"}, 5])),
        typed("video_embeds", "video_embeds", st.sampled_from(["AAAA", None])),
        typed("audio_embeds", "audio_embeds", st.sampled_from(["AAAA", None])),
        bare("image_embeds", st.sampled_from(["AAAA", None])),
        st.builds(lambda d: {"type": "prompt_embeds", "data": d}, st.sampled_from(["", "AAAA"])),
        # other dialects, translations, unknown and broken types
        st.builds(lambda k, v: {"type": k, k: v}, st.sampled_from(["image", "video", "audio"]), u),
        st.builds(lambda v: {"image": v}, u), st.builds(lambda v: {"video": v}, u),
        st.builds(lambda t, v: {"type": t, "image_url": {"url": v}},
                  st.sampled_from(["图片", "imagen", "IMAGE_URL", "image-url", 5, None, ""]), img),
        st.just({"type": "file", "file": {"file_data": "x"}}), st.just({}), st.just({"type": 5}),
        st.builds(lambda v, t: {"type": t, "uuid": "u1", "image_url": v},
                  st.one_of(img, obj(img)), st.sampled_from(["image_url", "video_url", None])),
        JUNK,
    )
    return weighted((6, common), (1, rare))


def messages(media: Path, allow_http: bool) -> st.SearchStrategy:
    part_lists = st.lists(parts(media, allow_http), min_size=1, max_size=3)
    content = weighted((8, part_lists), (1, st.just([])), (1, st.none()), (2, TEXTS), (1, st.just(5)))
    role = st.sampled_from(["user"] * 10 + ["assistant", "assistant", "system", "system",
                                            "developer", "tool", "function", "bogus", None, 5])
    extra = st.dictionaries(st.sampled_from(["name", "tool_call_id", "tool_calls", "reasoning",
                                             "reasoning_content", "foo"]),
                            st.sampled_from([
                                "x", None, 5,
                                [{"id": "c1", "type": "function",
                                  "function": {"name": "f", "arguments": "{}"}}],
                                [{"id": "c1", "type": "custom", "custom": {"name": "f", "input": "x"}}],
                                ["x"], []]), min_size=1, max_size=2)

    def build(r, c, e, has_content):
        msg = {} if r is None else {"role": r}
        if has_content:
            msg["content"] = c
        msg.update(e)
        return msg

    plain = st.builds(build, role, content, weighted((5, st.just({})), (1, extra)),
                      st.sampled_from([True] * 9 + [False]))
    harmony = st.builds(lambda r, c: {"author": {"role": r}, "content": c},
                        st.sampled_from(["user", "bogus"]), st.sampled_from([[], [{"text": "x"}]]))
    tool_calls = st.builds(lambda c, calls: {"role": "assistant", "content": c, "tool_calls": calls},
                           st.one_of(TEXTS, part_lists), st.sampled_from([
                               [{"id": "c1", "type": "function",
                                 "function": {"name": "f", "arguments": "{}"}}],
                               [{"id": "c1", "type": "custom", "custom": {"name": "f", "input": "x"}}],
                               [{"type": "function", "function": "f"}], ["x"], []]))
    mixed = st.builds(lambda url, first: {"role": "user", "content": [
        {"type": "image_embeds", "image_embeds": None}, {"type": "image_url", "image_url": {"url": url}}
    ][::1 if first else -1]}, urls(media, "image", allow_http), st.booleans())
    # image, video, image: vLLM loads (and reports) both images before the video
    pair = st.builds(lambda i, v, j: {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": i}}, {"type": "video_url", "video_url": {"url": v}},
        {"type": "image_url", "image_url": {"url": j}}]},
        urls(media, "image", allow_http), urls(media, "video", allow_http),
        urls(media, "image", allow_http))
    return weighted((12, plain), (1, harmony), (1, tool_calls), (1, mixed), (2, pair))


FIELDS = {
    "mm_processor_kwargs": [{}, {"max_pixels": 200704}, {"min_pixels": 3136},
                            {"size": {"shortest_edge": 3136, "longest_edge": 200704}},
                            {"images_kwargs": {"max_pixels": 200704}}, {"videos_kwargs": {"fps": 1}},
                            {"use_audio_in_video": True}, {"foo": 1}, 5, None],
    "media_io_kwargs": [{}, {"video": {"num_frames": 4}}, {"image": {}}, {"video": {"fps": 1}},
                        {"video": 1}, None, {"video": {"video_backend": "opencv", "num_frames": 2}},
                        {"video": {"video_backend": "qwen3_vl"}}, {"video": {"video_backend": "nope"}}],
    "chat_template": ["{{ messages }}", None, 5],
    "chat_template_kwargs": [{}, {"chat_template": "x"}, {"enable_thinking": False}, None, 5],
    "tools": [[], [{"type": "function", "function": {"name": "f"}}], [{"type": "function"}], None],
    "tool_choice": ["none", "auto", "required", "bogus",
                    {"type": "function", "function": {"name": "f"}}],
    "add_generation_prompt": [True, False, "yes"],
    "continue_final_message": [True, False],
    "foo": [1], "guided_json": [{}], "max_tokens": [5, "x"], "temperature": [0.5, "hot"],
    "continue": [True],  # continue_final_message without add_generation_prompt
}
FIELD_VALUES = st.sampled_from([(k, v) for k, vs in FIELDS.items() for v in vs])


def bodies(media: Path, allow_http: bool) -> st.SearchStrategy:
    """Half the bodies have no request field but ``messages``; the others one to three."""
    fields = weighted((3, st.just([])), (2, st.lists(FIELD_VALUES, min_size=1, max_size=3)))
    msgs = weighted((12, st.lists(messages(media, allow_http), min_size=1, max_size=3)),
                    (1, st.just([])), (1, st.sampled_from(["hi", None, 5])))

    def build(m, f, drop):
        body = {"messages": m, **dict(f)}
        if body.pop("continue", None):
            body.update(continue_final_message=True, add_generation_prompt=False)
        if drop:
            body.pop("messages")
        return body

    return st.builds(build, msgs, fields, st.sampled_from([False] * 30 + [True]))


# --- comparing ----------------------------------------------------------------------------------

#: what a modelled error's message looks like (a server error matching none is a loading error)
MODELLED = re.compile(
    r"^(\d+ validation errors?|Chat template is passed|Per-request |Missing 'type'|Invalid 'type'|"
    r"Unsupported chat content|You must set|prompt_embeds content part|At most \d+|"
    r"assistant tool_calls|chat completions only support|Invalid data URL|Only base64 data|"
    r"Failed to parse|The URL must be|Cannot load local files|The file path|Mixing raw|"
    r"Cannot apply chat template to an empty|continue_final_message |"
    r"Cannot set both|`tools` must not|When using `tool_choice`|Invalid value for|"
    r'"auto" tool choice|tool_choice=|unhashable type)')


def media_file(url: str, media: Path) -> str | None:
    """The media file a good URL names (None: not one of ours, or not a media file)."""
    for name in list(IMAGES) + list(VIDEOS):
        if url == data_url(media, name):
            return name
        path = url.split(":", 1)[1] if url.lower().startswith("file:") else None
        if path is not None:
            path = path[2:] if path.startswith("//") else path
            full = os.path.normpath(unquote(path))
            if full == str(media / name):
                return name
    return None


class PadLengths:
    """Each media file alone, rendered once per set of the body's ``media_io_kwargs`` and
    ``mm_processor_kwargs`` (the video loader's and the processor's settings): its placeholder length.
    The plain lengths are checked to tell the files apart (no video where the server's video loader
    lookup fails: vLLM 0.24-0.30 with transformers 5.19 or later renders none)."""

    def __init__(self, server, media: Path) -> None:
        self.server, self.media, self.cache = server, media, {}
        plain = {name: self.get(name, {}) for name in list(IMAGES) + list(VIDEOS)}
        videos = {plain[n] for n in VIDEOS if plain[n] is not None}
        assert len({plain[n] for n in IMAGES}) == len(IMAGES) and len(videos) in (0, len(VIDEOS)), plain

    def get(self, name: str, body: dict) -> int | None:
        settings = {k: body[k] for k in ("media_io_kwargs", "mm_processor_kwargs") if k in body}
        key = (name, json.dumps(settings, sort_keys=True))
        if key not in self.cache:
            kind = "image_url" if name in IMAGES else "video_url"
            status, doc = self.server.render({"messages": [{"role": "user", "content": [
                {"type": kind, kind: {"url": data_url(self.media, name)}}]}], **settings})
            if kind == "video_url" and status == 400 and doc["error"]["message"] == "unhashable type: 'dict'":
                self.cache[key] = None
            else:
                assert status == 200, (name, settings, doc)
                (modality, ph), = doc["features"]["mm_placeholders"].items()
                self.cache[key] = ph[0]["length"]
        return self.cache[key]


def part_at(body: dict, pointer: str) -> object:
    node: object = body
    for key in pointer.strip("/").split("/"):
        node = node[int(key)] if isinstance(node, list) else node[key]  # type: ignore[index]
    return node


def good_media(item, media: Path) -> str | None:
    """The file of an item whose media is one of ours, of the item's modality."""
    f = media_file(item.url, media) if item.url else None
    if f is not None and (f in IMAGES) == (item.modality == "image") \
            and item.modality in ("image", "video"):
        return f
    return None


def loads_fine(item, media: Path) -> bool:
    """Whether loading the item cannot fail: good media, or nothing to fetch (no URL, no
    embeddings)."""
    if item.url is None:
        return not item.part_type.endswith("_embeds")
    return good_media(item, media) is not None


def loc_labels(message: str | None, srv: Server) -> str | None:
    """Before vLLM 0.30 (``VALIDATION_SUMMARIZED``) a validation error's ``loc`` keeps pydantic's
    labels of the types it tried (``'generator[...]'``), which depend on how each schema defines
    them: not compared (docs/token-math.md).  From 0.30 the server leaves them out, as qwenlint does."""
    if message is None or srv.since(VALIDATION_SUMMARIZED):
        return message
    return re.sub(r"'[\w-]+\[[^']*\]'", "'<type>'", message)


def compare(body: dict, answer: tuple[int, object], model: Path, srv: Server, media: Path,
            lengths: PadLengths, tally: Counter) -> None:
    """``parse_request`` on ``body`` against the server's ``answer`` to it (status, JSON)."""
    full = {"model": str(model), "mm_payload": "none", **body}
    ours = parse_request(full, srv, QWEN_VL_MODALITIES, cwd=str(REPO))
    status, doc = answer
    err = (doc or {}).get("error") or {} if status != 200 else {}
    if "message" in err:
        err = {**err, "message": readable_message(err["message"], srv.version)}
    shown = json.dumps(body, ensure_ascii=False)[:3000]
    if ours.error is not None:
        same = (status, loc_labels(err.get("message"), srv), err.get("type")) == \
            (ours.error.status, loc_labels(ours.error.message, srv), ours.error.type)
        if not same and not all(loads_fine(it, media) for it in [*ours.items_loaded_before_error(), *ours.racing]):
            # an item vLLM loads first failed to decode (not modelled): its error wins; before 0.26 also
            # one read in a worker thread beside the failing fetch (a race: ``racing``, QL214 in the engine)
            tally["undecodable-first"] += 1
            assert status != 200 and not MODELLED.match(err.get("message", "")), \
                f"\nbody: {shown}\nserver: {status} {err}\nours:   {ours.error}"
            return
        tally["error:" + ours.error.cause] += 1
        assert same, f"\nbody: {shown}\nserver: {status} {err}\nours:   {ours.error}"
        return
    files = [good_media(it, media) for it in ours.items]
    # a uuid names the media in the server's cache, across requests: not this request's file
    uuid = any(isinstance(p := part_at(full, it.pointer), dict) and p.get("uuid") is not None
               for it in ours.items)
    if all(files) and not uuid:
        tally["rendered"] += 1
        assert status == 200, f"\nbody: {shown}\nserver: {status} {err}\nours: no error, {ours.items}"
        got = {k: [p["length"] for p in v]
               for k, v in (((doc or {}).get("features") or {}).get("mm_placeholders") or {}).items()
               if v}
        want: dict[str, list[int]] = {}
        for f, it in zip(files, ours.items):
            want.setdefault(it.modality, []).append(lengths.get(f, body))
        assert got == want, f"\nbody: {shown}\nserver: {got}\nours: {want} {ours.items}"
    else:
        tally["loading"] += 1
        if status != 200:
            assert not MODELLED.match(err.get("message", "")), \
                f"\nbody: {shown}\nserver: {status} {err}\nours: no error, {ours.items}"


#: Bodies per set-up: the environment's own release gets ``EXAMPLES``, each other release a quarter
#: (they differ from it in a few named branches, each reached well within that many bodies; a
#: body costs the server about 0.1 s, and 48 set-ups of 600 were most of CI's time).
EXAMPLES = int(os.environ.get("QWENLINT_VLLM_REQUEST_EXAMPLES", "600"))
OTHER_RELEASE_EXAMPLES = EXAMPLES // 4


@pytest.mark.parametrize("release", sorted(RELEASES))
@pytest.mark.parametrize("name", ["default", "local", "embeds"])
def test_requests_agree_with_the_server(name: str, release: str, media: Path, checkpoint: Path,
                                        logs: Path) -> None:
    """Every generated body is compared twice with the server's one answer to it: through
    ``parse_request`` alone (`compare`: the error, or the placeholder lengths of the items), and
    through qwenlint's whole engine (``--target vllm --vllm-args ...``): the server's status and the
    error's first line, or the pad count of every item, must be what qwenlint predicts, loading
    errors included (a missing file, bytes that do not decode, a bad base64 payload).  Where qwenlint
    cannot know the answer (a URL the server would fetch) it says so: such bodies are counted, never
    compared.  A body qwenlint does not read as a request at all must be one the server rejects,
    with an error finding."""
    args, srv = setups(media, release)[name]
    # what the engine adds from the checkpoint and the server's transformers (stages.open_run)
    named = profile_from_model_dir(checkpoint).video_processor_named
    srv = replace(srv, video_lookup_fails=video_lookup_fails(srv.version, assumed(release)[1].split("==")[1], named))
    server = SERVERS.get(checkpoint, args, logs, release)
    lengths = PadLengths(server, media)
    pads = pad_ids(checkpoint)
    engine = Engine(Options(target="vllm", family="qwen2.5-vl", model=str(checkpoint), vllm_args=args,
                            assume=assumed(release)))
    tally: Counter = Counter()
    engine_tally: Counter = Counter()
    disagreements: list[dict] = []
    examples = EXAMPLES if release == BASE_RELEASE else OTHER_RELEASE_EXAMPLES

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(body=bodies(media, allow_http=bool(srv.allowed_media_domains)))
    def run(body: dict) -> None:
        answer = server.render(body)
        compare(body, answer, checkpoint, srv, media, lengths, tally)
        ours = qwenlint_verdict(engine, body, REPO)
        real = verdict(*answer, pads, release)
        if ours["status"] is None and "unknown" in ours:
            engine_tally["unknown (" + ours["unknown"][:40] + ")"] += 1
            return
        if ours["status"] is None:
            engine_tally["not a request"] += 1
            ok = real["status"] != 200 and ours["findings"]
        elif real["status"] == 200:
            engine_tally["rendered"] += 1
            ok = ours == {"status": 200, "pads": real["pads"]}
        else:
            engine_tally[f"error {real['status']}"] += 1
            ok = ours == {k: real[k] for k in ("status", "type", "first_line")}
        if not ok:
            disagreements.append({"body": json.dumps(body, ensure_ascii=False)[:600], "server": real,
                                  "qwenlint": ours})

    run()
    print(f"\n[vLLM {release} {name}] {sum(tally.values())} cases: parse_request {dict(sorted(tally.items()))}; "
          f"engine {dict(sorted(engine_tally.items()))}")
    assert not disagreements, "\n".join(json.dumps(d, ensure_ascii=False) for d in disagreements[:8])[:12000]
    assert tally["rendered"] > 0 and engine_tally["rendered"] > 0

