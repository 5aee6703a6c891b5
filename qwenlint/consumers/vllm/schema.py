"""A pydantic mirror of vLLM 0.33's chat-completions HTTP request model (0.34: ``check_tool_usage``
differs, by the release in the validation context).

vLLM validates the JSON body of ``POST /v1/chat/completions`` (and of the render route) with
``ChatCompletionRequest`` (``vllm/entrypoints/openai/chat_completion/protocol.py``), whose
``messages`` field is ``list[ChatCompletionMessageParam]`` — a union
(``vllm/renderers/chat_utils/types.py``) of the OpenAI SDK's TypedDicts (openai 3.63.0,
``openai/types/chat/*_param.py``), vLLM's own ``CustomChatCompletionMessageParam`` and
``openai_harmony.Message``.  Which member pydantic's smart union picks decides what vLLM sees
afterwards: the OpenAI messages keep their ``content`` as a lazy ``Iterable`` (validated only when
vLLM iterates it: the errors then read "N validation errors for ValidatorIterator"), the custom
one validates an eager ``list`` of a wider part union, and a TypedDict drops the keys it does not
declare (``{"text": "hi"}`` validates as ``{}`` against ``CustomChatCompletionContentPILImageParam``).

So the types below are the same TypedDicts — same names (they appear in error locations), same
keys in the same order, same ``Required`` keys, ``Literal`` values and union orders — and
pydantic runs the same algorithm on them.  Nothing here imports vLLM or openai.

Field types of ``ChatCompletionRequest`` that change nothing about media or the prompt
(``response_format``, ``structured_outputs``, ``stream_options``, ``top_logprobs``,
``thinking_token_budget``, ``repetition_detection``, ``stop``) are ``Any`` here: their own type
errors are not modelled.  Every other field has vLLM's type, default and bounds.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Any, Literal, Optional, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from typing_extensions import Required, TypedDict

from qwenlint.consumers.vllm.server import EMPTY_TOOLS_AS_NONE, VALIDATION_ERROR_CLASS, Server

# --------------------------------------------------------------------------------------------
# openai 3.63.0 openai/types/chat/*_param.py (TypedDicts, total=False; names kept)
# --------------------------------------------------------------------------------------------


class PromptCacheBreakpoint(TypedDict, total=False):
    mode: Required[Literal["explicit"]]
    ttl: Literal["30m", "12h"]


class ChatCompletionContentPartTextParam(TypedDict, total=False):
    text: Required[str]
    type: Required[Literal["text"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


class ChatCompletionDeveloperMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartTextParam]]]
    role: Required[Literal["developer"]]
    name: str


class ChatCompletionSystemMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartTextParam]]]
    role: Required[Literal["system"]]
    name: str


class ImageURL(TypedDict, total=False):
    url: Required[str]
    detail: Literal["auto", "low", "high", "original"]


class ChatCompletionContentPartImageParam(TypedDict, total=False):
    image_url: Required[ImageURL]
    type: Required[Literal["image_url"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


class InputAudio(TypedDict, total=False):
    data: Required[str]
    format: Required[Literal["wav", "mp3"]]


class ChatCompletionContentPartInputAudioParam(TypedDict, total=False):
    input_audio: Required[InputAudio]
    type: Required[Literal["input_audio"]]
    prompt_cache_breakpoint: PromptCacheBreakpoint


class FileFile(TypedDict, total=False):
    file_data: str
    file_id: str
    filename: str


class FilePromptCacheBreakpoint(TypedDict, total=False):
    mode: Required[Literal["explicit"]]
    ttl: Literal["30m", "12h"]


class File(TypedDict, total=False):
    file: Required[FileFile]
    type: Required[Literal["file"]]
    prompt_cache_breakpoint: FilePromptCacheBreakpoint


#: openai ``ChatCompletionContentPartParam``
OpenAIChatCompletionContentPartParam = Union[
    ChatCompletionContentPartTextParam,
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartInputAudioParam,
    File,
]


class ChatCompletionUserMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[OpenAIChatCompletionContentPartParam]]]
    role: Required[Literal["user"]]
    name: str


class Audio(TypedDict, total=False):
    id: Required[str]


class ChatCompletionContentPartRefusalParam(TypedDict, total=False):
    refusal: Required[str]
    type: Required[Literal["refusal"]]


class FunctionCall(TypedDict, total=False):
    arguments: Required[str]
    name: Required[str]


class Function(TypedDict, total=False):
    arguments: Required[str]
    name: Required[str]


class ChatCompletionMessageFunctionToolCallParam(TypedDict, total=False):
    id: Required[str]
    function: Required[Function]
    type: Required[Literal["function"]]


class Custom(TypedDict, total=False):
    input: Required[str]
    name: Required[str]


class ChatCompletionMessageCustomToolCallParam(TypedDict, total=False):
    id: Required[str]
    custom: Required[Custom]
    type: Required[Literal["custom"]]


class ChatCompletionAssistantMessageParam(TypedDict, total=False):
    role: Required[Literal["assistant"]]
    audio: Optional[Audio]
    content: Union[str, Iterable[Union[ChatCompletionContentPartTextParam,
                                       ChatCompletionContentPartRefusalParam]], None]
    function_call: Optional[FunctionCall]
    name: str
    refusal: Optional[str]
    tool_calls: Iterable[Union[ChatCompletionMessageFunctionToolCallParam,
                               ChatCompletionMessageCustomToolCallParam]]


class ChatCompletionToolMessageParam(TypedDict, total=False):
    content: Required[Union[str, Iterable[ChatCompletionContentPartTextParam]]]
    role: Required[Literal["tool"]]
    tool_call_id: Required[str]


class ChatCompletionFunctionMessageParam(TypedDict, total=False):
    content: Required[Optional[str]]
    name: Required[str]
    role: Required[Literal["function"]]


#: openai/types/shared_params/function_definition.py ``FunctionDefinition`` (a TypedDict; vLLM has
#: a pydantic model of the same name, below, for the request's ``tools``)
OpenAIFunctionDefinition = TypedDict("FunctionDefinition", {  # type: ignore[misc]
    "name": Required[str],
    "description": str,
    "parameters": dict[str, object],
    "strict": Optional[bool],
}, total=False)


class ChatCompletionFunctionToolParam(TypedDict, total=False):
    function: Required[OpenAIFunctionDefinition]
    type: Required[Literal["function"]]


# openai/types/responses/response_input_image_param.py (MM_PARSER_MAP["input_image"])
class ResponseInputImageParam(TypedDict, total=False):
    detail: Required[Literal["low", "high", "auto", "original"]]
    type: Required[Literal["input_image"]]
    file_id: Optional[str]
    image_url: Optional[str]
    prompt_cache_breakpoint: PromptCacheBreakpoint


# --------------------------------------------------------------------------------------------
# vllm/renderers/chat_utils/types.py
# --------------------------------------------------------------------------------------------


class AudioURL(TypedDict, total=False):
    url: Required[str]


class ChatCompletionContentPartAudioParam(TypedDict, total=False):
    audio_url: Required[AudioURL]
    type: Required[Literal["audio_url"]]


MultiModalEmbedsPayload = Union[str, dict[str, Union[str, list[Union[int, float]]]]]


class ChatCompletionContentPartImageEmbedsParam(TypedDict, total=False):
    image_embeds: Optional[MultiModalEmbedsPayload]
    type: Required[Literal["image_embeds"]]
    uuid: Optional[str]


class ChatCompletionContentPartAudioEmbedsParam(TypedDict, total=False):
    audio_embeds: Optional[MultiModalEmbedsPayload]
    type: Required[Literal["audio_embeds"]]
    uuid: Optional[str]


class ChatCompletionContentPartVideoEmbedsParam(TypedDict, total=False):
    video_embeds: Optional[MultiModalEmbedsPayload]
    audio_embeds: Optional[MultiModalEmbedsPayload]
    type: Required[Literal["video_embeds"]]
    uuid: Optional[str]


class ChatCompletionContentPartPromptEmbedsParam(TypedDict, total=False):
    data: Required[str]
    type: Required[Literal["prompt_embeds"]]


class VideoURL(TypedDict, total=False):
    url: Required[str]


class ChatCompletionContentPartVideoParam(TypedDict, total=False):
    video_url: Required[VideoURL]
    type: Required[Literal["video_url"]]


class Image:
    """Stands for ``PIL.Image.Image``: a JSON body never holds one (pydantic's is-instance check
    fails with "Input should be an instance of Image", as in vLLM)."""


class PILImage(BaseModel):
    image_pil: Image
    model_config = ConfigDict(arbitrary_types_allowed=True)


class CustomChatCompletionContentPILImageParam(TypedDict, total=False):
    image_pil: Optional[PILImage]
    uuid: Optional[str]


class CustomChatCompletionContentSimpleImageParam(TypedDict, total=False):
    image_url: Optional[str]
    uuid: Optional[str]


class CustomChatCompletionContentSimpleAudioParam(TypedDict, total=False):
    audio_url: Optional[str]


class CustomChatCompletionContentSimpleVideoParam(TypedDict, total=False):
    video_url: Optional[str]
    uuid: Optional[str]


class CustomThinkCompletionContentParam(TypedDict, total=False):
    thinking: Required[str]
    closed: bool
    type: Required[Literal["thinking"]]


class CustomChatCompletionContentToolReferenceParam(TypedDict, total=False):
    name: str
    type: Literal["tool_reference"]


#: vLLM ``ChatCompletionContentPartParam`` (the OpenAI part union first; Python's ``Union`` drops
#: the repeated ``ChatCompletionContentPartInputAudioParam``)
ChatCompletionContentPartParam = Union[
    OpenAIChatCompletionContentPartParam,
    ChatCompletionContentPartAudioParam,
    ChatCompletionContentPartInputAudioParam,
    ChatCompletionContentPartVideoParam,
    ChatCompletionContentPartRefusalParam,
    CustomChatCompletionContentPILImageParam,
    CustomChatCompletionContentSimpleImageParam,
    ChatCompletionContentPartImageEmbedsParam,
    ChatCompletionContentPartAudioEmbedsParam,
    ChatCompletionContentPartVideoEmbedsParam,
    ChatCompletionContentPartPromptEmbedsParam,
    CustomChatCompletionContentSimpleAudioParam,
    CustomChatCompletionContentSimpleVideoParam,
    CustomChatCompletionContentToolReferenceParam,
    str,
    CustomThinkCompletionContentParam,
]


class CustomChatCompletionMessageParam(TypedDict, total=False):
    role: Required[str]
    content: Union[str, list[ChatCompletionContentPartParam]]
    name: str
    tool_call_id: Optional[str]
    tool_calls: Optional[list[ChatCompletionMessageFunctionToolCallParam]]
    reasoning: Union[str, ChatCompletionContentPartPromptEmbedsParam, None]
    tools: Optional[list[ChatCompletionFunctionToolParam]]
    task: Optional[str]


# --------------------------------------------------------------------------------------------
# openai_harmony (``Message`` is the last member of vLLM's message union)
# --------------------------------------------------------------------------------------------


class Role(str, Enum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    DEVELOPER = "developer"
    TOOL = "tool"

    @classmethod
    def _missing_(cls, value: object) -> Role:  # type: ignore[override]
        raise ValueError(f"Unknown role: {value!r}")


class Author(BaseModel):
    role: Role
    name: Optional[str] = None


class Content(BaseModel):
    pass


class Message(BaseModel):
    author: Author
    content: list[Content] = Field(default_factory=list)
    channel: Optional[str] = None
    recipient: Optional[str] = None
    content_type: Optional[str] = None


#: vLLM ``ChatCompletionMessageParam``
ChatCompletionMessageParam = Union[
    ChatCompletionDeveloperMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
    ChatCompletionAssistantMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionFunctionMessageParam,
    CustomChatCompletionMessageParam,
    Message,
]

#: Before vLLM 0.33 (:data:`~qwenlint.consumers.vllm.server.REASONING_EMBEDS`) a message's
#: ``reasoning`` is a string or null; the same name, so errors are located the same way.
_CustomMessageBefore033 = TypedDict("CustomChatCompletionMessageParam", {  # type: ignore[misc]
    **{k: v for k, v in CustomChatCompletionMessageParam.__annotations__.items() if k != "reasoning"},
    "reasoning": Optional[str],
}, total=False)
ChatCompletionMessageParamBefore033 = Union[tuple(  # type: ignore[valid-type]
    _CustomMessageBefore033 if member is CustomChatCompletionMessageParam else member
    for member in get_args(ChatCompletionMessageParam))]

#: Before vLLM 0.29 (:data:`~qwenlint.consumers.vllm.server.VIDEO_EMBEDS`) a content part cannot be
#: ``video_embeds`` either.
_CustomMessageBefore029 = TypedDict("CustomChatCompletionMessageParam", {  # type: ignore[misc]
    **_CustomMessageBefore033.__annotations__,
    "content": Union[str, list[Union[tuple(  # type: ignore[misc]
        m for m in get_args(ChatCompletionContentPartParam) if m is not ChatCompletionContentPartVideoEmbedsParam)]]],
}, total=False)
ChatCompletionMessageParamBefore029 = Union[tuple(  # type: ignore[valid-type]
    _CustomMessageBefore029 if member is CustomChatCompletionMessageParam else member
    for member in get_args(ChatCompletionMessageParam))]

# --------------------------------------------------------------------------------------------
# vllm/entrypoints/openai/chat_completion/protocol.py ChatCompletionRequest
# --------------------------------------------------------------------------------------------

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def _server(info: ValidationInfo) -> Server:
    """The server a validation models: ``context={"server": server}`` (else vLLM's defaults at the
    newest modelled release)."""
    context = info.context if isinstance(info.context, dict) else {}
    return context.get("server") or Server()


class VLLMValidationError(Exception):
    """vllm/exceptions.py ``VLLMValidationError``: not a ``ValueError``, so pydantic does not
    catch it in a validator; ``str()`` appends ``(parameter=..., value=...)``."""

    def __init__(self, message: str, *, parameter: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.parameter = parameter
        self.value = value

    def __str__(self) -> str:
        base = super().__str__()
        extras = []
        if self.parameter is not None:
            extras.append(f"parameter={self.parameter}")
        if self.value is not None:
            extras.append(f"value={self.value}")
        return f"{base} ({', '.join(extras)})" if extras else base


class OpenAIBaseModel(BaseModel):
    """vllm/entrypoints/serve/engine/protocol.py: extra fields allowed (and logged, not used)."""

    model_config = ConfigDict(extra="allow")


class FunctionDefinition(OpenAIBaseModel):  # vllm/entrypoints/generate/base/protocol.py
    name: str
    description: Optional[str] = None
    parameters: Optional[dict[str, Any]] = None
    strict: Optional[bool] = None
    defer_loading: Optional[bool] = None


class ChatCompletionToolsParam(OpenAIBaseModel):
    type: Literal["function"] = "function"
    function: FunctionDefinition
    defer_loading: Optional[bool] = None


class ChatCompletionNamedFunction(OpenAIBaseModel):
    name: str


class ChatCompletionNamedToolChoiceParam(OpenAIBaseModel):
    function: ChatCompletionNamedFunction
    type: Literal["function"] = "function"


_TEXT_CONTENT_PART_TYPES = frozenset({"text", "input_text", "output_text", "refusal", "thinking",
                                      "tool_reference"})
# vllm/renderers/chat_utils/chat_message.py _MEDIA_CONTENT_PART_KEYS (MM_PARSER_MAP minus text)
_MEDIA_CONTENT_PART_KEYS = frozenset({"input_image", "image_url", "image_embeds", "audio_embeds",
                                      "video_embeds", "prompt_embeds", "image_pil", "audio_url",
                                      "input_audio", "video_url"})


def has_non_text_content(messages: Any) -> bool:
    """chat_message.py ``has_non_text_content`` (only list contents are looked at)."""
    if not isinstance(messages, list):
        return False
    for msg in messages:
        if isinstance(msg, dict):
            for key in ("reasoning", "reasoning_content"):
                reasoning = msg.get(key)
                if isinstance(reasoning, dict) and reasoning.get("type") == "prompt_embeds":
                    return True
        content = msg.get("content") if isinstance(msg, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, dict) and (
                any(key in part for key in _MEDIA_CONTENT_PART_KEYS)
                or not isinstance(part_type := part.get("type", "text"), str)
                or part_type not in _TEXT_CONTENT_PART_TYPES
            ):
                return True
    return False


class ChatCompletionRequest(OpenAIBaseModel):
    """The request model.  The ``mode="before"`` validators below are vLLM's, defined in vLLM's
    order: pydantic runs them last-defined first (``check_system_message_content_type`` first,
    ``apply_return_mm_kwargs_alias`` last), then validates the fields.  They raise
    :class:`VLLMValidationError` (or a ``TypeError`` on a non-iterable ``messages``), which pydantic
    does not catch: the server answers with that error, not a list of validation errors.  The
    warnings they log are recomputed by the caller (:func:`system_media_part_types`)."""

    messages: list[ChatCompletionMessageParam]
    model: Optional[str] = None
    frequency_penalty: Optional[float] = None
    logit_bias: Optional[dict[str, float]] = None
    logprobs: Optional[bool] = False
    top_logprobs: Any = 0
    max_tokens: Optional[int] = None
    max_completion_tokens: Optional[int] = None
    n: Optional[int] = 1
    presence_penalty: Optional[float] = None
    response_format: Any = None
    seed: Optional[Annotated[int, Field(ge=_INT64_MIN, le=_INT64_MAX)]] = None
    stop: Any = []
    stream: Optional[bool] = False
    stream_options: Any = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    tools: Optional[list[ChatCompletionToolsParam]] = None
    tool_choice: Union[Literal["none"], Literal["auto"], Literal["required"],
                       ChatCompletionNamedToolChoiceParam, None] = "none"
    reasoning_effort: Optional[Literal["none", "minimal", "low", "medium", "high", "xhigh",
                                       "max"]] = None
    thinking_token_budget: Any = None
    include_reasoning: bool = True
    parallel_tool_calls: Optional[bool] = True
    user: Optional[str] = None
    use_beam_search: bool = False
    top_k: Optional[int] = None
    min_p: Optional[float] = None
    repetition_penalty: Optional[float] = None
    watermarking: Optional[bool] = None
    length_penalty: float = 1.0
    stop_token_ids: Optional[list[int]] = []
    include_stop_str_in_output: bool = False
    ignore_eos: bool = False
    min_tokens: int = 0
    skip_special_tokens: Optional[bool] = None
    spaces_between_special_tokens: bool = True
    truncate_prompt_tokens: Optional[Annotated[int, Field(ge=-1, le=_INT64_MAX)]] = None
    truncation_side: Optional[Literal["left", "right"]] = None
    prompt_logprobs: Optional[int] = None
    logprob_token_ids: Optional[list[int]] = None
    allowed_token_ids: Optional[list[int]] = None
    bad_words: list[str] = Field(default_factory=list)
    echo: bool = False
    add_generation_prompt: bool = True
    continue_final_message: bool = False
    add_special_tokens: bool = False
    documents: Optional[list[dict[str, str]]] = None
    chat_template: Optional[str] = None
    chat_template_kwargs: Optional[dict[str, Any]] = None
    media_io_kwargs: Optional[dict[str, dict[str, Any]]] = None
    mm_processor_kwargs: Optional[dict[str, Any]] = None
    structured_outputs: Any = None
    priority: Annotated[int, Field(ge=_INT64_MIN, le=_INT64_MAX)] = 0
    request_id: str = ""
    session_id: Optional[str] = None
    return_tokens_as_token_ids: Optional[bool] = None
    return_token_ids: Optional[bool] = None
    return_weight_versions: bool = False
    routed_experts_prompt_start: Annotated[int, Field(ge=0)] = 0
    return_token_offsets: Optional[bool] = False
    return_prompt_text: Optional[bool] = None
    mm_payload: Literal["tensors", "none"] = "tensors"
    return_mm_kwargs: Optional[bool] = None
    cache_salt: Optional[Annotated[str, Field(min_length=1, max_length=1024)]] = None
    kv_transfer_params: Optional[dict[str, Any]] = None
    ec_transfer_params: Optional[dict[str, Any]] = None
    vllm_xargs: Optional[dict[str, Union[str, int, float, list[Union[str, int, float]]]]] = None
    repetition_detection: Any = None
    stream_interval: Optional[Annotated[int, Field(ge=1)]] = None

    # --- the before validators, in vLLM's order of definition ---

    @model_validator(mode="before")
    @classmethod
    def apply_return_mm_kwargs_alias(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("return_mm_kwargs") is False \
                and "mm_payload" not in data:
            data = {**data, "mm_payload": "none"}
        return data

    @model_validator(mode="before")
    @classmethod
    def check_cache_salt_support(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        salt = data.get("cache_salt")
        if salt is None:
            return data
        if not isinstance(salt, str) or not salt:
            raise VLLMValidationError("Parameter 'cache_salt' must be a non-empty string if "
                                      "provided.", parameter="cache_salt")
        if len(salt) > 128 or any(c in "@/\\\x00" for c in salt):
            raise VLLMValidationError("Parameter 'cache_salt' must be at most 128 characters and "
                                      "must not contain '@', '/', '\\\\', or NUL.",
                                      parameter="cache_salt")
        return data

    @model_validator(mode="before")
    @classmethod
    def _normalize_messages_before(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        messages = data.get("messages")
        if not isinstance(messages, list):
            return data
        for msg in messages:
            if not isinstance(msg, dict):
                continue
            tool_calls = msg.get("tool_calls")
            if tool_calls is not None and not isinstance(tool_calls, list):
                msg["tool_calls"] = list(tool_calls)
            reasoning_content = msg.pop("reasoning_content", None)
            if reasoning_content is not None and msg.get("reasoning") is None:
                msg["reasoning"] = reasoning_content
        return data

    @model_validator(mode="after")
    def _materialize_tool_calls_after(self) -> ChatCompletionRequest:
        for msg in self.messages:
            if not isinstance(msg, dict):
                continue
            tool_calls = msg.get("tool_calls")
            if tool_calls is not None and not isinstance(tool_calls, list):
                msg["tool_calls"] = list(tool_calls)
        return self

    @model_validator(mode="before")
    @classmethod
    def validate_response_format(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        response_format = data.get("response_format")
        if response_format is None:
            return data
        rf_type = (response_format.get("type") if isinstance(response_format, dict)
                   else getattr(response_format, "type", None))
        if rf_type == "json_schema":
            json_schema = (response_format.get("json_schema") if isinstance(response_format, dict)
                           else getattr(response_format, "json_schema", None))
            if json_schema is None:
                raise VLLMValidationError("When response_format type is 'json_schema', the "
                                          "'json_schema' field must be provided.",
                                          parameter="response_format")
        return data

    @model_validator(mode="before")
    @classmethod
    def validate_stream_options(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("stream_options") and not data.get("stream"):
            raise VLLMValidationError("Stream options can only be defined when `stream=True`.",
                                      parameter="stream_options")
        return data

    @model_validator(mode="before")
    @classmethod
    def check_logprobs(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("logprob_token_ids") and data.get("use_beam_search"):
            raise VLLMValidationError("`logprob_token_ids` is not supported with beam search.",
                                      parameter="logprob_token_ids")
        if data.get("logprob_token_ids") and not data.get("logprobs"):
            raise VLLMValidationError("when using `logprob_token_ids`, `logprobs` must be set to "
                                      "true.", parameter="logprob_token_ids")
        for field_name in ("prompt_logprobs", "top_logprobs"):
            field_value = data.get(field_name)
            if field_value is not None and not isinstance(field_value, (int, float)):
                raise VLLMValidationError(f"`{field_name}` must be an integer.",
                                          parameter=field_name, value=field_value)
        if (prompt_logprobs := data.get("prompt_logprobs")) is not None:
            if data.get("stream") and (prompt_logprobs > 0 or prompt_logprobs == -1):
                raise VLLMValidationError("`prompt_logprobs` are not available when "
                                          "`stream=True`.", parameter="prompt_logprobs")
            if prompt_logprobs < 0 and prompt_logprobs != -1:
                raise VLLMValidationError("`prompt_logprobs` must be a positive value or -1.",
                                          parameter="prompt_logprobs", value=prompt_logprobs)
        if (top_logprobs := data.get("top_logprobs")) is not None:
            if top_logprobs < 0 and top_logprobs != -1:
                raise VLLMValidationError("`top_logprobs` must be a positive value or -1.",
                                          parameter="top_logprobs", value=top_logprobs)
            if (top_logprobs == -1 or top_logprobs > 0) and not data.get("logprobs"):
                raise VLLMValidationError("when using `top_logprobs`, `logprobs` must be set to "
                                          "true.", parameter="top_logprobs")
        return data

    @model_validator(mode="before")
    @classmethod
    def check_structured_outputs_count(cls, data: Any) -> Any:
        if isinstance(data, ValueError):
            raise data
        if not isinstance(data, dict):
            return data
        if data.get("structured_outputs", None) is None:
            return data
        kwargs = data["structured_outputs"]
        if isinstance(kwargs, dict):
            count = sum(kwargs.get(k) is not None for k in ("json", "regex", "choice"))
            if count > 1:
                raise VLLMValidationError("You can only use one kind of constraints for "
                                          "structured outputs ('json', 'regex' or 'choice').")
            if count > 0 and data.get("tool_choice", "none") not in ("none", "auto", "required"):
                raise VLLMValidationError("You can only either use constraints for structured "
                                          "outputs or tools, not both.")
        return data

    @model_validator(mode="before")
    @classmethod
    def check_tool_usage(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, ValueError):
            raise data
        if not isinstance(data, dict):
            return data
        since_034 = _server(info).since(EMPTY_TOOLS_AS_NONE)
        if data.get("tools") == [] and not since_034:
            message = "`tools` must not be an empty array. Either provide at least one tool or omit the field entirely."
            if not _server(info).since(VALIDATION_ERROR_CLASS):
                raise ValueError(message)  # pydantic's "1 validation error", the whole body as its input
            raise VLLMValidationError(message, parameter="tools")
        if data.get("tools") == [] and not isinstance(data.get("tool_choice"), dict):
            # 0.34: an empty list is an omitted one; "auto"/"required" fall back to "none"
            data["tools"] = None
            if data.get("tool_choice") in ("auto", "required"):
                data["tool_choice"] = "none"
        if "tool_choice" not in data and data.get("tools"):
            data["tool_choice"] = "auto"
        if "tool_choice" in data and data["tool_choice"] == "none":
            return data
        if "tool_choice" in data and data["tool_choice"] is not None:
            if "tools" not in data or data["tools"] is None:
                raise VLLMValidationError("When using `tool_choice`, `tools` must be set.",
                                          parameter="tool_choice")
            if data["tool_choice"] not in ["auto", "required"] and \
                    not isinstance(data["tool_choice"], dict):
                raise VLLMValidationError(
                    f"Invalid value for `tool_choice`: {data['tool_choice']}! "
                    'Only named tools, "none", "auto" or "required" are supported.',
                    parameter="tool_choice")
            usage = 'Correct usage: `{"type": "function", "function": {"name": "my_function"}}`'
            if isinstance(data["tool_choice"], dict):
                valid_tool = False
                function = data["tool_choice"].get("function")
                if not isinstance(function, dict):
                    raise VLLMValidationError(f"Invalid value for `function`: `{function}` in "
                                              f"`tool_choice`! {usage}",
                                              parameter="tool_choice.function")
                if "name" not in function:
                    raise VLLMValidationError(f"Expected field `name` in `function` in "
                                              f"`tool_choice`! {usage}",
                                              parameter="tool_choice.function.name")
                function_name = function["name"]
                if not isinstance(function_name, str) or len(function_name) == 0:
                    raise VLLMValidationError(f"Invalid `name` in `function`: `{function_name}` "
                                              f"in `tool_choice`! {usage}",
                                              parameter="tool_choice.function.name")
                for tool in data["tools"]:
                    if tool["function"]["name"] == function_name:
                        valid_tool = True
                        break
                if not valid_tool:
                    named = f" `{function_name}`" if since_034 else ""
                    raise VLLMValidationError(f"The tool{named} specified in `tool_choice` does not "
                                              "match any of the specified `tools`",
                                              parameter="tool_choice")
        return data

    @model_validator(mode="before")
    @classmethod
    def check_generation_prompt(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("continue_final_message") and data.get("add_generation_prompt"):
            raise VLLMValidationError("Cannot set both `continue_final_message` and "
                                      "`add_generation_prompt` to True.")
        return data

    @model_validator(mode="before")
    @classmethod
    def drop_prompt_token_ids_with_media(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        kv = data.get("kv_transfer_params")
        if isinstance(kv, dict) and kv.get("prompt_token_ids") is not None \
                and has_non_text_content(data.get("messages")):
            kv.pop("prompt_token_ids")
        return data

    @model_validator(mode="before")
    @classmethod
    def check_system_message_content_type(cls, data: Any) -> Any:
        # vLLM only warns here; a non-iterable ``messages`` raises TypeError (HTTP 400)
        if isinstance(data, dict):
            system_media_part_types(data.get("messages", []))
        return data


def system_media_part_types(messages: Any) -> list[tuple[str, Any]]:
    """The non-text parts of system messages that vLLM's ``check_system_message_content_type``
    warns about ("System messages should only contain text content according to the OpenAI API
    spec. Found content type: '...'"), as (pointer, part type), typeless parts named by the key
    they hold.  Iterates ``messages`` as vLLM does (a ``TypeError`` when it is not iterable)."""
    found: list[tuple[str, Any]] = []
    for i, msg in enumerate(messages):
        if isinstance(msg, dict) and msg.get("role") == "system":
            content = msg.get("content")
            if isinstance(content, list):
                for j, part in enumerate(content):
                    if isinstance(part, dict):
                        part_type = part.get("type")
                        if part_type is None:
                            if "image_url" in part or "image_pil" in part:
                                part_type = "image_url"
                            elif "image_embeds" in part:
                                part_type = "image_embeds"
                            elif "audio_url" in part:
                                part_type = "audio_url"
                            elif "input_audio" in part:
                                part_type = "input_audio"
                            elif "audio_embeds" in part:
                                part_type = "audio_embeds"
                            elif "video_url" in part:
                                part_type = "video_url"
                        if part_type and part_type != "text":
                            found.append((f"/messages/{i}/content/{j}", part_type))
    return found


class ChatCompletionRequestBefore033(ChatCompletionRequest):
    """The request model of vLLM 0.31 and 0.32: only the message union differs."""

    messages: list[ChatCompletionMessageParamBefore033]


class ChatCompletionRequestBefore029(ChatCompletionRequest):
    """The request model of vLLM 0.23 to 0.28: only the message union differs."""

    messages: list[ChatCompletionMessageParamBefore029]


#: The request's top-level fields (``ChatCompletionRequest.model_fields``): any other key of the
#: body is logged as "present in the request but ignored" (``__log_extra_fields__``).
REQUEST_FIELDS = frozenset(ChatCompletionRequest.model_fields)
