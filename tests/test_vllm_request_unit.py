"""``qwenlint.consumers.vllm.request``: vLLM 0.33's request path up to media loading (no server).

Every expectation here was also seen on the real render server (tests/differential/
test_vllm_request.py compares the two on generated bodies)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qwenlint.consumers.vllm.request import (
    LOAD_STAGE_CAUSES,
    QWEN_OMNI_MODALITIES,
    QWEN_VL_MODALITIES,
    RequestItem,
    allowed_limits,
    parse_request,
    sanitize_message,
    url_error,
)
from qwenlint.consumers.vllm.server import Server, parse_server_args

MEDIA = "/data/media"
LOCAL = Server(allowed_local_media_path=MEDIA)


def user(*parts, role: str = "user") -> dict:
    return {"messages": [{"role": role, "content": list(parts)}]}


def image(url: str = f"file://{MEDIA}/a.png") -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def video(url: str = f"file://{MEDIA}/v.mp4") -> dict:
    return {"type": "video_url", "video_url": {"url": url}}


def error(body: dict, server: Server = LOCAL, **kw):
    return parse_request(body, server, **kw).error


# --- what is loaded ---------------------------------------------------------------------------

def test_text_only_request_has_no_item_and_no_error() -> None:
    r = parse_request({"messages": [{"role": "user", "content": "hi"}]}, Server())
    assert r.error is None and r.items == [] and r.ignored_fields == ()


def test_items_in_prompt_order_with_the_url_the_connector_gets() -> None:
    body = user({"type": "text", "text": "look"}, image(), {"video_url": f"file://{MEDIA}/v.mp4"},
                {"type": "input_image", "image_url": f"file://{MEDIA}/b.png", "detail": "auto"},
                {"image_url": f"file://{MEDIA}/c.png"})
    r = parse_request(body, LOCAL)
    assert r.error is None
    assert r.items == [
        RequestItem("image", "/messages/0/content/1", "image_url", f"file://{MEDIA}/a.png"),
        RequestItem("video", "/messages/0/content/2", "video_url", f"file://{MEDIA}/v.mp4"),
        RequestItem("image", "/messages/0/content/3", "input_image", f"file://{MEDIA}/b.png"),
        RequestItem("image", "/messages/0/content/4", "image_url", f"file://{MEDIA}/c.png"),
    ]
    # the tracker loads by modality key, in the order each first appears
    assert [it.pointer for it in r.load_order] == ["/messages/0/content/1", "/messages/0/content/3",
                                                   "/messages/0/content/4", "/messages/0/content/2"]


def test_input_audio_becomes_a_data_url() -> None:
    body = user({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}})
    r = parse_request(body, LOCAL, QWEN_OMNI_MODALITIES)
    assert r.error is None
    assert r.items == [RequestItem("audio", "/messages/0/content/0", "input_audio",
                                   "data:audio/wav;base64,AAAA")]


def test_the_request_body_is_not_modified() -> None:
    body = {"messages": [{"role": "user", "content": "hi", "reasoning_content": "r"}],
            "tools": [{"type": "function", "function": {"name": "f"}}]}
    before = repr(body)
    parse_request(body, LOCAL)
    assert repr(body) == before


# --- the request model --------------------------------------------------------------------------

def test_schema_errors_are_fastapis_list() -> None:
    e = error({"messages": [{"role": "user", "content": "hi"}], "mm_processor_kwargs": 5})
    assert (e.status, e.type, e.cause, e.pointer) == (400, "Bad Request", "schema",
                                                      "/mm_processor_kwargs")
    assert e.message == ("1 validation error:\n  {'type': 'dict_type', 'loc': "
                         "'body.mm_processor_kwargs', 'msg': 'Input should be a valid dictionary', "
                         "'input': '5'}")


def test_a_message_without_role_fails_every_union_member() -> None:
    e = error({"messages": [{"content": "x"}]})
    assert e.message.startswith("11 validation errors:\n  {'type': 'missing', 'loc': "
                                "'body.messages.0.ChatCompletionDeveloperMessageParam.role'")
    assert e.message.endswith("  ...and 1 more errors")


def test_a_custom_role_is_accepted() -> None:
    r = parse_request(user(image(), role="narrator"), LOCAL)
    assert r.error is None and len(r.items) == 1


def test_typeless_text_part_of_a_user_message_fails_the_lazy_openai_iterable() -> None:
    e = error(user({"text": "hi"}))
    assert (e.status, e.type, e.cause, e.pointer) == (400, "BadRequestError", "part-schema",
                                                      "/messages/0/content/0")
    assert e.message.splitlines()[0] == "7 validation errors for ValidatorIterator"


def test_string_video_url_fails_the_parsers_type_adapter() -> None:
    e = error(user({"type": "video_url", "video_url": "x"}))
    assert e.cause == "part-validation"
    assert e.message.splitlines()[:2] == ["1 validation error for ChatCompletionContentPartVideoParam",
                                          "video_url"]


def test_part_types() -> None:
    e = error(user({"type": "image", "image": "x"}, role="bogus"))
    assert e.cause == "part-type" and e.message.startswith(
        "Unsupported chat content part type: 'image'. Supported types: audio_embeds, audio_url,")
    assert e.message.endswith("(parameter=type, value=image)")
    assert error(user({}, role="bogus")).message == \
        "Missing 'type' field in multimodal part. (parameter=type)"
    assert error(user({"type": 5, "image_url": {"url": "x"}}, role="bogus")).cause == "invalid-type"


def test_before_validators_run_before_field_validation_last_defined_first() -> None:
    # check_generation_prompt is defined after check_tool_usage: it runs first
    e = error({"messages": [{"role": "user", "content": "hi"}], "tools": [],
               "continue_final_message": True, "add_generation_prompt": True,
               "mm_processor_kwargs": 5})
    assert e.message == "Cannot set both `continue_final_message` and `add_generation_prompt` to True."
    e = error({"messages": [{"role": "user", "content": "hi"}], "tools": [], "mm_processor_kwargs": 5},
              replace(LOCAL, version="0.33.0"))
    assert e.message.endswith("(parameter=tools)") and e.pointer == "/tools"


def test_empty_tools_by_release() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "tools": []}
    # 0.33: refused; 0.34: read as no tools ("auto" falls back to "none")
    assert error(body, replace(LOCAL, version="0.33.0")).message.startswith("`tools` must not be an empty array")
    assert error(body, replace(LOCAL, version="0.34.0")) is None
    assert error({**body, "tool_choice": "auto"}, replace(LOCAL, version="0.34.0")) is None
    named = {**body, "tools": [{"type": "function", "function": {"name": "f"}}],
             "tool_choice": {"type": "function", "function": {"name": "g"}}}
    assert error(named, replace(LOCAL, version="0.33.0")).message.startswith("The tool specified")
    assert error(named, replace(LOCAL, version="0.34.0")).message.startswith("The tool `g` specified")


def test_a_harmony_message_is_not_subscriptable() -> None:
    e = error({"messages": [{"author": {"role": "user"}, "content": []}]})
    assert (e.status, e.message) == (400, "'Message' object is not subscriptable")


# --- the render path's checks, in vLLM's order ------------------------------------------------

def test_untrusted_chat_template_comes_before_untrusted_mm_kwargs() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "chat_template": "x",
            "mm_processor_kwargs": {"a": 1}}
    assert error(body, Server()).cause == "untrusted-chat-template"
    assert error(body, Server(trust_request_chat_template=True)).cause == "untrusted-mm-kwargs"
    assert error(body, Server(trust_request_chat_template=True,
                              trust_request_mm_kwargs=True)) is None


def test_mm_kwargs_messages() -> None:
    e = error({"messages": [{"role": "user", "content": "hi"}], "media_io_kwargs": {"video": {}}})
    assert e.message.startswith("Per-request media_io_kwargs are disabled by default")
    assert e.message.endswith("(parameter=media_io_kwargs)") and e.pointer == "/media_io_kwargs"
    # an empty mapping is not refused
    assert error({"messages": [{"role": "user", "content": "hi"}], "mm_processor_kwargs": {}}) is None


def test_tool_choice_needs_a_tool_parser() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}],
            "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert error(body).message == ('"auto" tool choice requires --enable-auto-tool-choice and '
                                   "--tool-call-parser to be set")
    assert error(body, parse_server_args(["--enable-auto-tool-choice", "--tool-call-parser=hermes"])) is None


def test_audio_on_a_vision_model_hits_the_zero_limit() -> None:
    e = error(user({"type": "audio_url", "audio_url": {"url": "data:audio/wav;base64,AAAA"}}))
    assert (e.status, e.cause) == (400, "limit")
    assert e.message == "At most 0 audio(s) may be provided in one prompt. (parameter=audio)"


def test_the_limit_is_checked_as_items_are_added_before_any_url_check() -> None:
    server = Server(allowed_local_media_path=MEDIA, limit_mm_per_prompt={"image": 2})
    e = error(user(image("ftp://x/a.png"), image(), image()), server)
    assert (e.cause, e.pointer) == ("limit", "/messages/0/content/2")
    assert e.message == "At most 2 image(s) may be provided in one prompt. (parameter=image)"


def test_allowed_limits() -> None:
    assert allowed_limits(Server(), QWEN_VL_MODALITIES) == {"image": 999, "video": 999}
    assert allowed_limits(Server(limit_mm_per_prompt={"video": 0}), {"image": 4, "video": None}) == \
        {"image": 4, "video": 0}


def test_the_limit_message_suggests_the_flag_only_under_the_models_own_maximum() -> None:
    e = error(user(image(), image()), Server(allowed_local_media_path=MEDIA,
                                             limit_mm_per_prompt={"image": 1}), limits={"image": 4})
    assert e.message == ("At most 1 image(s) may be provided in one prompt. Set "
                         "`--limit-mm-per-prompt` to increase this limit. (parameter=image)")


def test_embeds_need_the_flag_and_cannot_mix_with_raw_items() -> None:
    part = {"type": "image_embeds", "image_embeds": None}
    assert error(user(part)).message == \
        "You must set `--enable-mm-embeds` to input `image_embeds` (parameter=image_embeds)"
    e = error(user(part, image()), Server(allowed_local_media_path=MEDIA, enable_mm_embeds=True))
    assert (e.cause, e.message) == ("mixed-embeds", "Mixing raw image and embedding inputs is "
                                    "not allowed (parameter=image_embeds)")


def test_url_errors_are_reported_in_the_trackers_order() -> None:
    e = error(user(video("ftp://x/v.mp4"), image("ftp://x/a.png")), Server())
    assert (e.cause, e.pointer) == ("url-scheme", "/messages/0/content/0")
    r = parse_request(user(image(), video("ftp://x/v.mp4"), image("s3://b/a.png")), LOCAL)
    assert r.error.pointer == "/messages/0/content/2"  # images load (and fail) before the video
    assert r.error.cause in LOAD_STAGE_CAUSES
    assert [it.pointer for it in r.items_loaded_before_error()] == ["/messages/0/content/0"]


def test_a_tool_message_of_text_parts_is_joined() -> None:
    e = error({"messages": [{"role": "tool", "content": [{"type": "text", "text": {}}]}]})
    assert (e.status, e.message) == (400, "sequence item 0: expected str instance, dict found")


def test_assistant_tool_calls_must_be_function_calls() -> None:
    e = error({"messages": [{"role": "user", "content": "hi"}, {
        "role": "assistant", "content": "x",
        "tool_calls": [{"id": "c1", "type": "custom", "custom": {"name": "f", "input": "x"}}]}]})
    assert e.message == ("chat completions only support assistant tool_calls of type 'function'. "
                         "(parameter=tool_calls)")


def test_checks_after_the_media_load() -> None:
    assert error({"messages": []}).cause == "empty-conversation"
    e = error({"messages": [{"role": "user", "content": "hi"}], "continue_final_message": True})
    assert e.message.startswith("continue_final_message and add_generation_prompt are not compatible")
    e = error({"messages": [{"role": "user", "content": [image()]}], "continue_final_message": True,
               "add_generation_prompt": False})
    assert e.message == ("continue_final_message is set but we could not find any text to "
                         "continue in the final message!")


def test_a_developer_message_merges_system_messages_and_drops_their_media() -> None:
    body = {"messages": [{"role": "system", "content": [image(), "hi"]},
                         {"role": "developer", "content": "be brief"}]}
    r = parse_request(body, LOCAL)
    assert (r.error.status, r.error.type, r.error.cause) == (500, "InternalServerError",
                                                             "dropped-media")
    assert r.error.message == "Failed to apply prompt replacement for mm_items['image'][0]"
    assert parse_request(body, LOCAL, template="{# 'developer' #}").error is None
    # a lone developer message first stays where it is, with its media
    assert error({"messages": [{"role": "developer", "content": [image()]}]}) is None


# --- the media connector ------------------------------------------------------------------------

@pytest.mark.parametrize("url,status,cause,message", [
    ("data:image/png;base64", 400, "data-url",
     "Invalid data URL 'data:image/png;base64': missing ',' separator."),
    ("data:image/png,abc", 501, "data-url-encoding", "Only base64 data URLs are supported for now."),
    ("data:image/png;base64;x,abc", 501, "data-url-encoding",
     "Only base64 data URLs are supported for now."),
    ("ftp://example.com/a.png", 400, "url-scheme", "The URL must be either a HTTP, data or file URL."),
    ("a.png", 400, "url-scheme", "The URL must be either a HTTP, data or file URL."),
    ("http://x.invalid:99999/a.png", 400, "url-parse", "Failed to parse: http://x.invalid:99999/a.png"),
    ("http://a b/", 400, "url-parse", "Failed to parse: Host 'a b' contains invalid character ' '"),
])
def test_url_errors(url: str, status: int, cause: str, message: str) -> None:
    e = url_error(url, Server())
    assert (e.status, e.cause, e.message) == (status, cause, message)


def test_valid_urls_need_io() -> None:
    for url in ("data:image/png;base64,AAAA", "DATA:image/png;charset=x;base64,AAAA",
                "https://example.com/a.png", f"file://{MEDIA}/a.png", f"file:{MEDIA}/a.png",
                f"FILE://{MEDIA}/sub/../a%2Epng"):
        assert url_error(url, LOCAL) is None, url


def test_local_files() -> None:
    e = url_error(f"file://{MEDIA}/a.png", Server(version="0.33.0"))
    assert (e.status, e.type, e.cause) == (500, "InternalServerError", "local-files-disabled")
    e = url_error(f"file://{MEDIA}/a.png", Server(version="0.34.0"))  # a VLLMValidationError from 0.34
    assert (e.status, e.type, e.cause) == (400, "BadRequestError", "local-files-disabled")
    e = url_error("file:///tmp/x/a.png", LOCAL)
    assert (e.status, e.cause) == (400, "local-path")
    # sanitize_message hides /tmp/... and paths with an extension, not /data/media
    assert e.message == ("The file path <path> must be a subpath of "
                         "`--allowed-local-media-path /data/media`.")
    assert url_error(f"file://{MEDIA}/../etc/a.png", LOCAL).cause == "local-path"
    assert url_error(f"file://{MEDIA}", LOCAL).cause == "local-path"  # the folder itself
    assert url_error(f"file://{MEDIA}/a%00.png", LOCAL).message == "embedded null byte"
    # file://host/path is the relative path host/path, from the server's working directory
    assert url_error(f"file://media{MEDIA}/a.png", LOCAL).cause == "local-path"
    assert url_error("file://media/a.png", Server(allowed_local_media_path="/data"), cwd="/data") is None


def test_allowed_media_domains() -> None:
    server = Server(allowed_media_domains=("example.com",))
    assert url_error("https://EXAMPLE.com/a.png", server) is None
    e = url_error("https://evil.invalid/a.png", server)
    assert (e.status, e.cause, e.message) == (
        400, "domain", "The URL must be from one of the allowed domains: ['example.com']. "
        "Input URL domain: evil.invalid")


def test_sanitize_message_is_vllms() -> None:
    assert sanitize_message("x /tmp/a/b.png y") == "x <path> y"
    assert sanitize_message("see /data/x.png") == "see <path>"
    assert sanitize_message("<obj at 0x7f00>") == "<obj>"
    assert sanitize_message("https://errors.pydantic.dev/2.14/v/missing") == \
        "https://errors.pydantic.dev/2.14/v/missing"


# --- what vLLM does silently -------------------------------------------------------------------

def test_ignored_fields_and_notes() -> None:
    body = {"messages": [{"role": "system", "content": [image(), {"type": "text", "text": None}]},
                         {"role": "user", "content": [{"type": "image_url", "image_url": {
                             "url": f"file://{MEDIA}/a.png", "detail": "low"}}]}],
            "foo": 1, "guided_json": {}}
    r = parse_request(body, LOCAL)
    assert r.error is None
    assert r.ignored_fields == ("foo", "guided_json")
    notes = {n.pointer: n for n in r.notes}
    assert set(notes) == {"/messages/0/content/0", "/messages/0/content/1", "/messages/1/content/0/image_url/detail"}
    assert "a part of type 'image_url' in a system message" in notes["/messages/0/content/0"].message
    assert not notes["/messages/0/content/0"].warning  # only logged: the prompt is what was sent
    assert "skips this text part" in notes["/messages/0/content/1"].message
    assert "ignores image_url.detail 'low'" in notes["/messages/1/content/0/image_url/detail"].message
    assert all(n.help for n in r.notes)


def test_silent_drops_are_notes_with_pointers() -> None:
    img = {"type": "image_url", "image_url": {"url": f"file://{MEDIA}/a.png"}}
    dev = parse_request({"messages": [{"role": "user", "content": "hi"},
                                      {"role": "system", "content": [{"type": "text", "text": "s"}, img]},
                                      {"role": "developer", "content": "d"}]}, LOCAL)
    pointers = [n.pointer for n in dev.notes if n.warning]
    assert "/messages/2" in pointers  # the developer turn the template does not know
    assert "/messages/1" in pointers  # a later system message merged as text: its image dropped
    cont = parse_request({"messages": [{"role": "user", "content": "hi"},
                                       {"role": "assistant", "content": [{"type": "text", "text": "a"}, img]}],
                          "continue_final_message": True, "add_generation_prompt": False}, LOCAL)
    assert [(n.pointer, n.warning) for n in cont.notes] == [("/messages/1", True)]
    io = parse_request({"messages": [{"role": "user", "content": "hi"}],
                        "media_io_kwargs": {"video": {"max_width": 100, "fps": 1}}},
                       parse_server_args("--trust-request-mm-kwargs"))
    assert [n.pointer for n in io.notes] == ["/media_io_kwargs/video/max_width"]


def test_vllm_0_30_takes_a_requests_kwargs_without_a_flag() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "mm_processor_kwargs": {"max_pixels": 1}}
    assert error(body, Server(version="0.31.0")).cause == "untrusted-mm-kwargs"
    assert error(body, Server(version="0.30.0")) is None


def test_vllm_0_30_video_loader_lookup() -> None:
    from qwenlint.consumers.vllm.server import video_lookup_fails

    # 0.30 with transformers 5.19 or later, a checkpoint that does not name its video processor
    assert video_lookup_fails("0.30.0", "5.19.0", named=False) is True
    assert video_lookup_fails("0.30.0", "5.18.0", named=False) is False
    assert video_lookup_fails("0.30.0", "5.20.2", named=True) is False
    assert video_lookup_fails("0.30.0", "5.20.2", named=None) is None
    assert video_lookup_fails("0.31.0", "5.23.0", named=False) is False
    failing = replace(LOCAL, version="0.30.0", video_lookup_fails=True)
    # the lookup comes before the URL is read: a bad URL's own error is not reached
    e = error(user({"type": "text", "text": "hi"}, video("v.mp4")), failing)
    assert (e.status, e.message, e.cause, e.pointer) == (400, "unhashable type: 'dict'", "video-loader-lookup",
                                                         "/messages/0/content/1")
    assert e.cause in LOAD_STAGE_CAUSES
    # an image before it in the load order fails its own URL check first
    assert error(user(image("a.png"), video()), failing).cause == "url-scheme"
    # a video_backend (the server's or the request's) skips the lookup
    assert error(user(video()), replace(failing, media_io_kwargs={"video": {"video_backend": "opencv"}})) is None
    assert error({**user(video()), "media_io_kwargs": {"video": {"video_backend": "opencv"}}}, failing) is None


def test_vllm_0_23_has_no_qwen_video_loader() -> None:
    from qwenlint.consumers.vllm import request_settings
    from qwenlint.consumers.vllm.server import video_lookup_fails

    # no model_type fallback in 0.23's lookup: nothing to fail with any transformers
    assert video_lookup_fails("0.23.0", "5.20.2", named=False) is False
    assert video_lookup_fails("0.24.0", "5.20.2", named=False) is True
    old = replace(LOCAL, version="0.23.0")
    # every video goes through the generic loader, unless the server or the request names one
    assert request_settings(user(video()), old)[0] == {"video_backend": "opencv"}
    assert request_settings(user(video()), replace(LOCAL, version="0.24.0"))[0] == {}
    assert request_settings({**user(video()), "media_io_kwargs": {"video": {"num_frames": 8}}}, old)[0] == \
        {"video_backend": "opencv", "num_frames": 8}
    # a Qwen loader by name: 500 when the video is fetched, before its URL is read; 0.24 has it
    body = {**user(image("a.png"), video("v.mp4")), "media_io_kwargs": {"video": {"video_backend": "qwen3_vl"}}}
    assert error(body, replace(old, allowed_local_media_path="")).cause == "url-scheme"  # the image first
    e = error({**body, "messages": user(video("v.mp4"))["messages"]}, old)
    assert (e.status, e.type, e.message, e.cause) == (500, "InternalServerError", "Extension class qwen3_vl not found",
                                                      "video-backend")
    assert e.cause in LOAD_STAGE_CAUSES
    assert error({**body, "messages": user(video())["messages"]}, replace(LOCAL, version="0.24.0")) is None
    # a name no release registers, at any release; another model's loader is not an error here
    nope = {**user(video()), "media_io_kwargs": {"video": {"video_backend": "nope"}}}
    assert error(nope, replace(LOCAL, version="0.24.0")).message == "Extension class nope not found"
    assert error({**nope, "media_io_kwargs": {"video": {"video_backend": "molmo2"}}}, old) is None


def test_vllm_before_0_27_raises_value_errors_and_pydantic_reports_its_own() -> None:
    old, new = replace(LOCAL, version="0.23.0"), replace(LOCAL, version="0.27.0")
    typeless = user({"type": "text", "text": "hi", "uuid": "u"}, role="assistant")  # a uuid: the typeless path
    assert error(typeless, old).message == "Missing 'type' field in multimodal part."
    assert error(typeless, new).message == "Missing 'type' field in multimodal part. (parameter=type)"
    embeds = user({"type": "image_embeds", "image_embeds": "x"})
    assert error(embeds, old).message == "You must set `--enable-mm-embeds` to input `image_embeds`"
    # a VLLMValidationError of the request model: one of pydantic's errors before 0.27, the body its input
    body = {"model": "m", "messages": [], "tool_choice": "auto"}
    e = error(body, old)
    assert (e.status, e.type, e.cause) == (400, "Bad Request", "schema")
    assert e.message.startswith("1 validation error:\n  {'type': 'value_error', 'loc': ('body',), 'msg': 'Value error, "
                                "When using `tool_choice`, `tools` must be set. (parameter=tool_choice)', 'input': "
                                "{'model': 'm', 'messages': [], 'tool_choice': 'auto'}, 'ctx': {'error': "
                                "VLLMValidationError('When using `tool_choice`, `tools` must be set.')}}")
    assert (error(body, new).type, error(body, new).cause) == ("BadRequestError", "request")
    # "tools": [] was a plain ValueError: no parameter in the message
    assert "(parameter=tools)" not in error({"model": "m", "messages": [], "tools": []}, old).message


def test_validation_messages_by_release() -> None:
    body = {"messages": [{"role": "user", "content": None}]}
    v23, v26, v30 = (error(body, Server(version=v)).message for v in ("0.23.0", "0.26.0", "0.30.0"))
    first = v23.splitlines()[1]
    # the raw pydantic error before 0.30 (its loc a tuple, its input as given), summarized from 0.30
    assert first.startswith("  {'type': 'string_type', 'loc': ('body', 'messages', 0, ") and "'input': None}" in first
    assert v23 == v26 and len(v23.splitlines()) == int(v23.split()[0]) + 1
    assert "'loc': 'body.messages.0." in v30 and "'input': 'None'" in v30 and "more errors" in v30.splitlines()[-1]


def test_vllm_before_0_26_fetch_checks_race_within_a_modality() -> None:
    # no --allowed-local-media-path: the file URL fails in a worker thread, the plain path before any await
    body = user(image(), video(), image("a.png"))
    assert error(body, Server(version="0.23.0")).pointer == "/messages/0/content/2"
    assert error(body, Server(version="0.23.0")).cause == "url-scheme"
    assert error(body, Server(version="0.26.0")).cause == "local-files-disabled"
    # a modality fetched before: its thread's failure comes first
    first = user(image(), video("v.mp4"))
    assert error(first, Server(version="0.23.0")).cause == "local-files-disabled"
    assert parse_request(body, Server(version="0.23.0")).items_loaded_before_error() == []


def test_qwen3_video_pixel_budgets_are_folded_from_vllm_0_26() -> None:
    from qwenlint.consumers.vllm import request_settings

    body = {**user(video()), "mm_processor_kwargs": {"max_pixels": 50176}}
    folded = request_settings(body, replace(LOCAL, version="0.26.0"), (4096, 8192), qwen3_video=True)[1]
    assert folded["videos_kwargs"]["size"] == {"shortest_edge": 4096, "longest_edge": 50176}
    # before: Qwen3-VL's video processor has no min/max_pixels and drops them; the images still get them
    dropped = request_settings(body, replace(LOCAL, version="0.25.1"), (4096, 8192), qwen3_video=True)[1]
    assert "videos_kwargs" not in dropped and dropped["images_kwargs"]["size"] == {"longest_edge": 50176}
    # a size reaches it as given; Qwen2-VL's video processor reads the budgets itself, in every release
    sized = {**user(video()), "mm_processor_kwargs": {"size": {"shortest_edge": 1, "longest_edge": 2}}}
    assert request_settings(sized, replace(LOCAL, version="0.23.0"), (4096, 8192),
                            qwen3_video=True)[1]["videos_kwargs"]["size"] == {"shortest_edge": 1, "longest_edge": 2}
    assert request_settings(body, replace(LOCAL, version="0.23.0"), (4096, 8192))[1]["videos_kwargs"]["size"] == \
        {"shortest_edge": 4096, "longest_edge": 50176}
