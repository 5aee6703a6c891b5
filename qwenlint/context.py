"""The typed state of a check: the run's resources, and what the stages found about one record.

Two objects, both plain dataclasses:

* :class:`Run` — what every record of one run shares: the options, the family, the chat template,
  the vision profile of every target, the text-token counter, the media facts cache, the
  ``dataset_info.json`` reader and the environment the frameworks would run in.  It is built once,
  before the first record (:func:`qwenlint.stages.open_run`), so the run's I/O — reading
  ``--model``'s configs and tokenizer, loading the template — happens there and never behind a
  rule.  Its caches only ever hold what a pure function of their key would return.
* :class:`RecordContext` — one record (a JSON document, one JSONL line, or one element of a
  streamed array): its normalised conversations, and one field per stage product (the consumer of
  each conversation and what it does with each part, the framework views of dataset records, the
  media items and their header facts, the predictions, the renders, the token accounting, and what
  a vLLM server answers each request).  The
  stages fill it in order (:mod:`qwenlint.stages`); the rules only read it.

The small types the stages produce (:class:`MediaItem`, :class:`Plan`, :class:`Bound`,
:class:`ConvTokens`) live here too, so that stages, rules and reports share them without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping, NamedTuple

from qwenlint.consumers import Reading, RecordView, Target
from qwenlint.consumers.versions import Versions
from qwenlint.consumers.vllm.server import Server
from qwenlint.ir import (
    Batch,
    Conversation,
    Kind,
    MediaRef,
    Message,
    Part,
    SchemaIssue,
    ShapeIssue,
)
from qwenlint.options import Options

if TYPE_CHECKING:  # pragma: no cover - annotations only: the leaves load lazily
    from qwenlint.consumers.llamafactory import DatasetAttr, DatasetInfo
    from qwenlint.load.source import LoadProblem
    from qwenlint.media import FactsCache
    from qwenlint.template import (
        Capabilities,
        FamilyTokens,
        LoadedTemplate,
        RenderResult,
    )
    from qwenlint.textcount import TextCounter
    from qwenlint.vision import Profile


# --- the run --------------------------------------------------------------------------------------

@dataclass
class TemplateEnv:
    """The chat template of a run and what is known about where it came from."""

    template: LoadedTemplate | None = None  # None when there is none to render with
    origin: str = ""  # "--template FILE", "the chat template of DIR", "the bundled qwen2-vl template"
    problem: str | None = None  # why there is no template (load error, no bundled one)
    load_error: Any = None  # TemplateLoadError from --template / --model
    syntax: Any = None  # TemplateSyntaxIssue
    findings: tuple = ()  # TemplateFinding from a model directory
    tokens: FamilyTokens | None = None
    bundled_note: str | None = None  # fallback / unverified-text explanation


@dataclass
class Run:
    """What every record of one run shares (see the module docstring)."""

    options: Options
    family: str  # --family, else --model's, else the default family
    profile: Profile  # --model's configs, else the family's published defaults
    profile_error: str | None  # why --model's configs could not be used
    profiles: dict[Target, Profile]  # per consumer: the profile as that consumer configures it
    template: TemplateEnv | None  # None when no conversation of the run can be rendered
    text: TextCounter | None  # counts text tokens; None: the run does no token accounting
    media: FactsCache  # header facts per file (path, size, mtime)
    datasets: DatasetInfo  # the dataset_info.json reader
    environ: Mapping[str, str]  # the environment variables the frameworks read
    server: Server  # the vLLM server a request goes to (--vllm-args; vLLM's defaults)
    versions: Versions  # the consumer versions modelled (--assume, installed, framework pins)
    # the qwen-vl-utils (qwen-omni-utils) module constants ms-swift writes from ``environ`` when it
    # loads the processor (``consumers.ms_swift.qvu_constants``; None: it writes none)
    swift_qvu_module: dict[str, int] | None = None
    caps: Capabilities | None = None  # ``qwenlint template``: the probed template
    probes: dict = field(default_factory=dict)  # (source kind, path, media kind) -> facts
    #: templates a render limit stopped in this run (template.sandbox.render_compiled's memo)
    template_stops: dict = field(default_factory=dict)


# --- what the stages produce ----------------------------------------------------------------------

@dataclass(slots=True)
class MediaItem:
    """One image or video the consumer of ``conv`` loads, with where it was written."""

    conv: Conversation
    pointer: str  # the part's (or the media entry's) pointer: the key of facts and predictions
    source_pointer: str  # where the source string is (the value a finding points at)
    kind: Kind
    source: Any  # as written: a string, or a list of frame strings
    options: dict[str, Any] = field(default_factory=dict)  # the part's own options
    part: Part | None = None  # None for a dataset media entry
    ref: MediaRef | None = None
    framework_fallback: bool = False  # resolved against the working directory (LLaMA-Factory)
    loaded: bool = True  # the consumer loads it (False: it drops or crashes on the part)

    @property
    def is_frame_list(self) -> bool:
        return self.kind is Kind.VIDEO and isinstance(self.source, list)


class SourceFacts(NamedTuple):
    """One file a loaded media item names (the item itself, or one frame of a frame list)."""

    item: MediaItem
    pointer: str  # where the source string is written
    source: Any  # MediaSource (None when it could not be classified)
    facts: Any  # ImageFacts | VideoFacts | MediaError


@dataclass(frozen=True, slots=True)
class Bound:
    """A remote image or video: its size is unknown; ``tokens`` is an upper bound (None: none)."""

    kind: str
    pipeline: str
    tokens: int | None


@dataclass(frozen=True, slots=True)
class Plan:
    """How one media item is predicted: the consumer, the pipeline, its settings."""

    target: Target
    pipeline: str
    profile: Profile
    options: dict[str, Any]  # per-part options (with the framework's defaults)
    processor_kwargs: dict[str, Any]  # processor-call overrides
    facts: Any  # the predictor's input (vision.ImageFacts / VideoFacts / frame list), or None
    vllm_video: dict[str, Any] = field(default_factory=dict)  # vLLM's media_io_kwargs["video"]
    qvu_version: Any = None  # the qwen-vl-utils release (packaging Version; None: the newest)
    tf_version: Any = None  # the transformers release (None: the newest; vLLM runs its own)
    image_patch_size: int | None = None  # process_vision_info's argument (None: the family's README)
    do_resize: bool | None = None  # the processor call's do_resize (None: the family's README recipe)
    qvu_module: dict[str, Any] | None = None  # qwen-vl-utils module constants the consumer wrote (ms-swift)


@dataclass(frozen=True, slots=True)
class ServerResponse:
    """What a serving consumer (vLLM) answers one request: ``error`` is the error it answers
    (``consumers.vllm.request.ServerError``), or None when it renders the prompt with ``items``
    (``consumers.vllm.request.RequestItem``, in load order)."""

    error: Any
    items: tuple = ()
    ignored_fields: tuple[str, ...] = ()  # request fields the server ignores
    notes: tuple[str, ...] = ()  # what the server does silently
    unknown: str | None = None  # why the answer cannot be known here (a URL the server fetches)
    unknown_at: str = ""  # where, as a pointer into the request body ("": the whole request)


@dataclass(slots=True)
class ItemTokens:
    item: MediaItem
    tokens: int | None  # None: unknown (remote video, error, unprobed)
    bound: bool = False  # an upper bound (remote image)
    text_before: int = 0  # text tokens before the item (for the cut position)


@dataclass(slots=True)
class ConvTokens:
    """The token accounting of one conversation: vision pads plus text."""

    conv: Conversation
    text: int
    exact: bool
    items: list[ItemTokens] = field(default_factory=list)
    extra_text: int = 0  # Qwen3 video: each group's timestamp and start/end tokens (in `text`)
    chars: int | None = None  # the rendered prompt's length in characters (one pad per item), if rendered
    encoding: Any = None  # LLaMA-Factory: its own encoding of the record (llamafactory.Encoding), when modelled

    @property
    def vision(self) -> int:
        return sum(i.tokens or 0 for i in self.items if not i.bound)

    @property
    def vision_bound(self) -> int:
        return sum(i.tokens or 0 for i in self.items)

    @property
    def unknown(self) -> int:
        return sum(i.tokens is None for i in self.items)

    @property
    def total(self) -> int:
        return self.text + self.vision


# --- one record -----------------------------------------------------------------------------------

@dataclass(eq=False)
class RecordContext:
    """Everything rules may read about one record (see the module docstring)."""

    run: Run
    file: str  # the file as shown in diagnostics
    batch: Batch
    base_dir: str = "."  # where relative media paths resolve
    problems: list[LoadProblem] = field(default_factory=list)  # a file's load problems
    dataset_entry: DatasetAttr | None = None  # the dataset_info.json entry declaring the file
    # A dataset_info.json checked as such: its value, and what is wrong with its entries (filled
    # by the dataset stage: ``consumers.llamafactory.RegistryProblem``).
    registry: Any = None
    registry_problems: list = field(default_factory=list)
    # Filled by the stages, in this order (qwenlint.stages.STAGES):
    targets: dict[int, Target] = field(default_factory=dict)  # conversation index -> consumer
    readings: dict[str, Reading] = field(default_factory=dict)  # media part pointer -> reading
    views: dict[int, RecordView] = field(default_factory=dict)  # dataset records
    media: list[MediaItem] = field(default_factory=list)  # in reading order
    facts: dict[str, Any] = field(default_factory=dict)  # item pointer -> facts (a list for frames)
    # --use-audio-in-video: video item pointer -> its sound track's AudioFacts | MediaError
    audio_tracks: dict[str, Any] = field(default_factory=dict)
    sources: list[SourceFacts] = field(default_factory=list)  # the files of the loaded items
    plans: dict[str, Plan] = field(default_factory=dict)  # item pointer -> how it is predicted
    # Prediction | AudioPrediction | VisionError | Bound
    predictions: dict[str, Any] = field(default_factory=dict)
    # item pointer -> why it has no prediction although the consumer loads it (a path qwenlint does
    # not model at the consumer's version)
    unpredicted: dict[str, str] = field(default_factory=dict)
    renders: dict[int, RenderResult] = field(default_factory=dict)  # conversation index -> render
    needs_template: bool = False  # a conversation of this record is rendered with the template
    tokens: dict[int, ConvTokens] = field(default_factory=dict)  # when the run counts tokens
    # vLLM: each request as the server parses it (``consumers.vllm.request.ParsedRequest``), and
    # what it answers (filled by the serve stage, last).
    requests: dict[int, Any] = field(default_factory=dict)
    part_requests: dict[str, Any] = field(default_factory=dict)  # each media part on its own
    responses: dict[int, ServerResponse] = field(default_factory=dict)

    @property
    def options(self) -> Options:
        return self.run.options

    @property
    def family(self) -> str:
        return self.run.family

    @property
    def template(self) -> TemplateEnv | None:
        return self.run.template

    @property
    def conversations(self) -> list[Conversation]:
        return self.batch.conversations

    def target(self, conv: Conversation) -> Target:
        return self.targets[conv.index]

    def reading(self, part: Part) -> Reading:
        """What the consumer of the part's conversation does with a media part."""
        return self.readings[part.pointer]

    def view(self, conv: Conversation) -> RecordView | None:
        """The framework's view of a dataset record (None: not a dataset record for its target)."""
        return self.views.get(conv.index)

    def shape_issues(self, kind: str) -> Iterator[ShapeIssue]:
        return (i for i in self.batch.shape_issues if i.kind == kind)

    def schema_issues(self, *kinds: str) -> Iterator[SchemaIssue]:
        return (i for i in self.batch.schema_issues if i.kind in kinds)

    def messages(self) -> Iterator[tuple[Conversation, Message]]:
        for c in self.batch.conversations:
            for m in c.messages:
                yield c, m

    def parts(self) -> Iterator[tuple[Conversation, Message, Part]]:
        for c in self.batch.conversations:
            for m in c.messages:
                for p in m.parts:
                    yield c, m, p
