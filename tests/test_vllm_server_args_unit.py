"""`parse_server_args`: ``vllm serve`` arguments read as vLLM 0.33 reads them (no vLLM needed here;
tests/differential/test_vllm_server_args.py compares with vLLM's own parser)."""

from __future__ import annotations

import pytest

from qwenlint.consumers.vllm.server import (
    Server,
    flag_table,
    human_readable_int_or_auto,
    parse_server_args,
)


def test_no_arguments_are_vllms_defaults() -> None:
    server = parse_server_args("")
    assert server == Server() == parse_server_args([])
    # vLLM 0.33: ModelConfig.allowed_local_media_path = "" (the connector reads "" as unset),
    # allowed_media_domains = None, max_model_len = None (the model's), BaseDummyOptions.count = 999.
    assert server.allowed_local_media_path == ""
    assert server.allowed_media_domains is None
    assert server.max_model_len is None
    assert server.limit("image") == server.limit("video") == server.limit("audio") == 999
    assert not (server.trust_request_mm_kwargs or server.trust_request_chat_template or server.enable_mm_embeds
                or server.language_model_only)
    assert server.media_io_kwargs == server.mm_processor_kwargs == {}
    assert server.model is None and server.chat_template is None


def test_the_usual_command_line() -> None:
    line = ("""vllm serve Qwen/Qwen2.5-VL-7B-Instruct --max-model-len 32k --limit-mm-per-prompt '{"image":4}' """
            """--trust-request-mm-kwargs --media-io-kwargs '{"video":{"fps":1}}' -tp 2 --port 8000""")
    server = parse_server_args(line)
    assert server.model == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert server.max_model_len == 32000
    assert server.limit_mm_per_prompt == {"image": 4} and server.limit("video") == 999
    assert server.trust_request_mm_kwargs
    assert server.video == {"fps": 1}
    assert server.ignored == ("--tensor-parallel-size", "--port")
    assert server.given[:3] == ("vllm", "serve", "Qwen/Qwen2.5-VL-7B-Instruct")
    assert parse_server_args(server.given) == server  # a list of words is the same command line


@pytest.mark.parametrize("value, expected", [
    ("32k", 32000), ("32K", 32768), ("1m", 10 ** 6), ("1M", 2 ** 20), ("2g", 2 * 10 ** 9), ("1T", 2 ** 40),
    ("25.6k", 25600), ("0.5k", 500), (" 4k ", 4000), ("1_000", 1000), ("+5", 5), ("4096", 4096),
    ("-1", -1), ("auto", -1), ("AUTO", -1),
])
def test_human_readable_lengths(value: str, expected: int) -> None:
    assert human_readable_int_or_auto(value) == expected


@pytest.mark.parametrize("value", ["25.6K", "1.5M", "32kb", "k", "1e3", "", "None", "32 k", "0x10"])
def test_lengths_vllm_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="--max-model-len"):
        parse_server_args(["--max-model-len", value])


def test_auto_and_the_bounds_of_max_model_len() -> None:
    assert parse_server_args("--max-model-len auto").max_model_len is None  # vLLM: -1, the model's (if it fits)
    assert parse_server_args("--max-model-len 1").max_model_len == 1
    for value in ("0", "-2"):
        with pytest.raises(ValueError, match="--max-model-len"):
            parse_server_args(["--max-model-len", value])


@pytest.mark.parametrize("words", [
    ["--max_model_len", "4k"], ["--max-model-len=4k"], ["--max_model_len=4k"], ["--max-model", "4k"],
    ["--max-model-len", "1k", "--max-model-len", "4k"],
])
def test_spellings_of_a_flag(words: list[str]) -> None:
    assert parse_server_args(words).max_model_len == 4000


def test_dotted_keys_build_json_that_wins() -> None:
    assert parse_server_args("--limit-mm-per-prompt.image 4").limit_mm_per_prompt == {"image": 4}
    assert parse_server_args("--limit-mm-per-prompt.image 1k").limit_mm_per_prompt == {"image": 1000}
    assert parse_server_args("--media-io-kwargs.video.fps 1 --media-io-kwargs.video.num_frames=8").video == {
        "fps": 1, "num_frames": 8}
    assert parse_server_args("--media-io-kwargs.video.backend opencv").video == {"backend": "opencv"}
    # the dotted value goes last: it replaces the whole flag given before or after it
    line = """--limit-mm-per-prompt.video 1 --limit-mm-per-prompt '{"image": 2}'"""
    assert parse_server_args(line).limit_mm_per_prompt == {"video": 1}


def test_limits_in_vllms_two_formats() -> None:
    line = """--limit-mm-per-prompt '{"image": 16, "video": {"count": 1, "num_frames": 32}, "audio": {"length": 5}}'"""
    assert parse_server_args(line).limit_mm_per_prompt == {"image": 16, "video": 1, "audio": 999}
    assert parse_server_args("""--limit-mm-per-prompt '{"image": "4"}'""").limit("image") == 4  # pydantic's int
    for bad in ('{"image": -1}', '{"video": {"fps": 2}}', '{"image": 4.5}', '{"video": {"num_frames": 0}}', "[1]",
                '{"image": 4'):
        with pytest.raises(ValueError, match="--limit-mm-per-prompt"):
            parse_server_args(["--limit-mm-per-prompt", bad])


def test_language_model_only_zeroes_every_limit() -> None:
    server = parse_server_args("""--language-model-only --limit-mm-per-prompt '{"image": 3}'""")
    assert server.limit("image") == server.limit("video") == 0


@pytest.mark.parametrize("flag, value", [
    ("--trust-request-mm-kwargs", True), ("--no-trust-request-mm-kwargs", False),
    ("--trust_request_mm_kwargs", True), ("--trust-request-mm", True),
])
def test_boolean_flags(flag: str, value: bool) -> None:
    assert parse_server_args([flag]).trust_request_mm_kwargs is value


def test_enable_disable_pairs() -> None:
    assert parse_server_args("--enable-mm-embeds").enable_mm_embeds
    assert not parse_server_args("--enable-mm-embeds --disable-mm-embeds").enable_mm_embeds
    assert not parse_server_args("--enable-mm-embeds --no-enable-mm-embeds").enable_mm_embeds
    with pytest.raises(ValueError, match="trust-request"):  # a prefix of two flags
        parse_server_args("--trust-request")


def test_media_domains_take_one_or_more_values() -> None:
    assert parse_server_args("--allowed-media-domains a.com b.com").allowed_media_domains == ("a.com", "b.com")
    # nargs="+" takes the model too, which then is not the model: as in vLLM
    server = parse_server_args("--allowed-media-domains a.com M")
    assert server.allowed_media_domains == ("a.com", "M") and server.model is None
    for bad in ("--allowed-media-domains", "--allowed-media-domains None"):
        with pytest.raises(ValueError, match="allowed-media-domains"):
            parse_server_args(bad)


def test_optional_values_and_paths() -> None:
    assert parse_server_args("--mm-processor-kwargs None").mm_processor_kwargs == {}
    assert parse_server_args("""--mm-processor-kwargs '{"max_pixels": 1000}'""").mm_processor_kwargs == {
        "max_pixels": 1000}
    assert parse_server_args("--chat-template ''").chat_template is None
    assert parse_server_args("--allowed-local-media-path /data").allowed_local_media_path == "/data"
    assert parse_server_args("--media-io-kwargs null").media_io_kwargs == {}


@pytest.mark.parametrize("line, model", [
    ("vllm serve M", "M"), ("serve M", "M"), ("M", "M"), ("vllm launch render M --port 8100", "M"),
    ("--model M", "M"), ("--model=M --max-model-len 1k", "M"), ("--max-model-len 1k M", "M"),
])
def test_the_model(line: str, model: str) -> None:
    assert parse_server_args(line).model == model


@pytest.mark.parametrize("line, message", [
    ("--max-modl-len 5", "did you mean --max-model-len?"),
    ("--limit-mm-per-promt.image 4", "did you mean --limit-mm-per-prompt?"),
    ("--frobnicate", "--frobnicate is not a vLLM 0.34.0 flag"),
    ("M N", "one positional argument"),
    ("--media-io-kwargs '{'", "--media-io-kwargs: not valid JSON"),
    ("""--limit-mm-per-prompt {"image":4}""", "quote the JSON"),  # the shell ate the quotes
    ("--limit-mm-per-prompt.image x", "--limit-mm-per-prompt"),
    ("--max-model-len", "--max-model-len: expected one argument"),
    ("--config serve.yaml", "--config"),
    ("--served-model-name x M", "first positional argument"),
    ("--help", "--help"),
    ("vllm chat", "vllm serve"),
    ("--model 'unclosed", "No closing quotation"),
])
def test_errors_are_one_line_and_name_the_flag(line: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_server_args(line)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_ignored_flags_take_their_values() -> None:
    server = parse_server_args("M -tp 2 --served-model-name a b --hf-token --enforce-eager -O3 --config=x.yaml")
    assert server.model == "M"
    assert server.ignored == ("--tensor-parallel-size", "--served-model-name", "--hf-token", "--enforce-eager",
                              "--optimization-level", "--config")
    # a boolean's last form, whatever the spelling
    assert parse_server_args("--enable_prompt_embeds -ep").ignored == ("--enable-prompt-embeds",
                                                                       "--enable-expert-parallel")
    assert parse_server_args("--enable-prompt-emb --no-enable-prompt-embeds --disable-log-req").ignored == (
        "--no-enable-prompt-embeds", "--disable-log-requests")


def test_the_flag_table() -> None:
    strings = [s for _, entry in flag_table() for s in entry]
    assert len(strings) == len(set(strings)) > 400
    assert {arity for arity, _ in flag_table()} == {"0", "1", "?", "+"}
    assert ("+", ("--allowed-media-domains",)) in flag_table()
    assert ("0", ("--enable-mm-embeds", "--no-enable-mm-embeds", "--disable-mm-embeds")) in flag_table()


def test_flags_by_release() -> None:
    # --max-num-inflight-kv-loads is new in 0.34: 0.33 refuses to start, 0.34 ignores it here
    with pytest.raises(ValueError, match="is not a vLLM 0.33.0 flag"):
        parse_server_args(["--max-num-inflight-kv-loads", "2"], "0.33.0")
    assert parse_server_args(["--max-num-inflight-kv-loads", "2"], "0.34.0").ignored == ("--max-num-inflight-kv-loads",)
    # a prefix only a later release's flag completes
    assert parse_server_args(["--headless-client", "x"], "0.34.0").ignored == ("--headless-client-handshake-address",)
    with pytest.raises(ValueError):
        parse_server_args(["--headless-client", "x"], "0.33.0")
    assert len(flag_table("0.34.0")) == len(flag_table("0.33.0")) + 7
    assert parse_server_args([], "0.33.0").version == "0.33.0"


def test_flags_before_0_33() -> None:
    # the --enable-X / --disable-X twins are from 0.33; before, --X and --no-X only
    assert ("0", ("--enable-mm-embeds", "--no-enable-mm-embeds")) in flag_table("0.32.0")
    assert parse_server_args(["--disable-mm-embeds"], "0.33.0").enable_mm_embeds is False
    with pytest.raises(ValueError, match="unrecognized arguments: --disable-mm-embeds"):
        parse_server_args(["--disable-mm-embeds"], "0.32.0")
    assert parse_server_args(["--no-enable-mm-embeds"], "0.31.0").enable_mm_embeds is False
    # --grpc-port is new in 0.32, --watchdog-config in 0.33; --trust-request-mm-kwargs is in all
    with pytest.raises(ValueError):
        parse_server_args(["--grpc-port", "1"], "0.31.0")
    assert parse_server_args(["--grpc-port", "1"], "0.32.0").ignored == ("--grpc-port",)
    with pytest.raises(ValueError):
        parse_server_args(["--watchdog-config", "{}"], "0.32.0")
    assert parse_server_args(["--trust-request-mm-kwargs"], "0.31.0").trust_request_mm_kwargs


def test_flags_before_0_31() -> None:
    # --trust-request-mm-kwargs is new in 0.31 (0.30 takes a request's kwargs anyway): 0.30 refuses it
    with pytest.raises(ValueError, match="unrecognized arguments: --trust-request-mm-kwargs"):
        parse_server_args(["--trust-request-mm-kwargs"], "0.30.0")
    # a flag 0.31 removed, and a spelling it added
    assert parse_server_args(["--enable-mamba-fine-grained-prefix-cache"], "0.30.0").ignored
    with pytest.raises(ValueError):
        parse_server_args(["--enable-mamba-fine-grained-prefix-cache"], "0.31.0")
    with pytest.raises(ValueError):
        parse_server_args(["--device-memory-utilization", "0.5"], "0.30.0")
    assert parse_server_args(["--device-memory-utilization", "0.5"], "0.31.0").ignored == ("--device-memory-utilization",)
