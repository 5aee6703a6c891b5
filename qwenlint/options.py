"""The settings one check runs with (from the command line, a config file, or the Python API)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace

from typing import TYPE_CHECKING

from qwenlint.consumers.base import Target
from qwenlint.consumers.versions import Versions, parse_assume, resolve
from qwenlint.remote import Access
from qwenlint.vision.profiles import PROFILES

# The consumers' own argument parsers are imported where a value needs them: a check that gives
# no framework or server argument never imports them (a one-file check starts faster).
if TYPE_CHECKING:
    from qwenlint.consumers.llamafactory import Settings as LFSettings
    from qwenlint.consumers.ms_swift import Arguments as SwiftArguments
    from qwenlint.consumers.vllm.server import Server

#: The ``--family`` names.
FAMILIES = tuple(PROFILES)
FORMATS = ("text", "json", "sarif", "github", "html")
#: Where ``check`` runs the record loop: this machine (``--jobs``), or a Ray cluster (qwenlint.ray).
ENGINES = ("local", "ray")


@dataclass(slots=True)
class Options:
    family: str | None = None  # None: from --model, else DEFAULT_FAMILY
    target: Target | None = None  # None: inferred per conversation from its dialect
    model: str | None = None
    template: str | None = None
    max_model_len: int | None = None
    media_root: str | None = None
    # The vLLM server's ``vllm serve`` arguments, for --target vllm (a string is split like a
    # shell command line); ``media_io_kwargs`` is its ``--media-io-kwargs`` alone (it wins over
    # the same flag in ``vllm_args``).
    vllm_args: tuple[str, ...] = ()
    media_io_kwargs: dict | None = None
    # ms-swift's ``swift sft`` / ``swift rlhf`` arguments, for --target ms-swift (a string is split
    # like a shell command line): the subcommand, ``--rlhf_type``, ``max_length`` and
    # ``truncation_strategy`` are read (ms_swift.parse_args).
    # ``max_length`` is ``max_model_len`` when that is not given; when both are, they must agree.
    swift_args: tuple[str, ...] = ()
    # The consumer versions to model: ``NAME==VERSION`` each (``--assume``), and another Python
    # environment to read the installed ones from (``--python``); see consumers/versions.py.
    assume: tuple[str, ...] = ()
    python: str | None = None
    select: tuple[str, ...] = ()  # empty: every rule
    # ``--extend-select``: added to ``select`` instead of replacing it (with no ``select``, every
    # rule already is); see :meth:`selection`.
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    # Render-time switches passed to the chat template.
    add_generation_prompt: bool = True
    add_vision_id: bool = False
    enable_thinking: bool | None = None
    # A fine-tuning framework's own configuration: a LLaMA-Factory training YAML, whose media
    # settings (image_max_pixels, video_fps, ..., media_dir) the check uses (``--framework-config``).
    framework_config: str | None = None
    # An Omni processor loads each video's sound track and interleaves it with the frames
    # (transformers: ``apply_chat_template(..., load_audio_from_video=True)``).  None: not given (off).
    use_audio_in_video: bool | None = None
    # Inputs by URL (qwenlint.remote): whether the network may be used (``--allow-network``; off:
    # a URL that needs it is refused, an http(s) media part is not fetched), and the fsspec storage
    # options (``--storage-option KEY=VALUE``, e.g. ``endpoint_url=http://127.0.0.1:9000``).
    allow_network: bool | None = None  # None: not given (off)
    storage_options: tuple[str, ...] | dict = ()
    extra: dict = field(default_factory=dict)
    _versions: Versions | None = field(default=None, repr=False, compare=False)
    _lf: LFSettings | None = field(default=None, repr=False, compare=False)
    _swift: SwiftArguments | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # every value is checked now: a bad one is a ValueError before any work (the Python API's
        # options have no click in front of them)
        if self.target is not None:  # a --target name is accepted
            names = ", ".join(t.value for t in Target)
            try:
                self.target = Target(self.target)
            except ValueError:
                raise ValueError(f"target {self.target!r} is not one qwenlint models ({names})") from None
        if self.family is not None and self.family not in PROFILES:
            raise ValueError(f"family {self.family!r} is not one qwenlint knows ({', '.join(PROFILES)})")
        if self.max_model_len is not None and (
                isinstance(self.max_model_len, bool) or not isinstance(self.max_model_len, int) or self.max_model_len < 1):
            raise ValueError(f"max_model_len must be a positive integer (tokens), got {self.max_model_len!r}")
        if self.media_io_kwargs is not None:  # a JSON string is accepted, as on the command line
            from qwenlint.consumers.vllm import parse_media_io_kwargs

            self.media_io_kwargs = parse_media_io_kwargs(self.media_io_kwargs)
        if isinstance(self.vllm_args, str):
            self.vllm_args = tuple(shlex.split(self.vllm_args))
        self.vllm_args = tuple(self.vllm_args)
        if isinstance(self.swift_args, str):
            self.swift_args = tuple(shlex.split(self.swift_args))
        self.swift_args = tuple(self.swift_args)
        if not isinstance(self.storage_options, dict):
            self.storage_options = ((self.storage_options,) if isinstance(self.storage_options, str)
                                    else tuple(self.storage_options))
        self.access()  # a bad KEY=VALUE is a ValueError now
        self.assume = (self.assume,) if isinstance(self.assume, str) else tuple(self.assume)
        parse_assume(self.assume)  # a bad entry is a usage error now
        self._versions = None  # resolved on first use (a copy made by dataclasses.replace too)
        # read now: a bad file is a usage error, not a failure in the middle of a run
        if self.framework_config:
            from qwenlint.consumers.llamafactory import Settings

            self._lf = Settings.from_file(self.framework_config)
        else:
            self._lf = None
        if self.max_model_len is None and self._lf is not None and self._lf.cutoff_len is not None:
            self.max_model_len = self._lf.cutoff_len  # the training YAML's own budget
        # a bad value is a usage error now, not in the middle of a run (a flag only some releases
        # have is checked again at the assumed release: server())
        self._swift = None
        if self.swift_args:
            from qwenlint.consumers.ms_swift import parse_args

            self._swift = parse_args(self.swift_args)  # a bad value is a usage error now
            if self._swift.unmodelled():  # arguments ms-swift takes but qwenlint gives no verdict for
                raise ValueError(self._swift.unmodelled())
        swift_len = self._swift.max_length if self._swift is not None else None
        if swift_len is not None and self.max_model_len is not None and swift_len != self.max_model_len:
            raise ValueError(f"max_model_len {self.max_model_len} and ms-swift's --max_length {swift_len} "
                             "(--swift-args) disagree: give the budget once, or the same in both")
        if self.max_model_len is None and swift_len is not None:
            self.max_model_len = swift_len  # ms-swift's own budget
        if self.vllm_args:
            from qwenlint.consumers.vllm.server import parse_server_args

            server = parse_server_args(self.vllm_args)
            if self.max_model_len is None and server.max_model_len is not None:
                self.max_model_len = server.max_model_len  # the server's own budget

    def access(self) -> Access:
        """What the run may do with URLs (qwenlint.remote): the network, the storage options."""
        return Access.of(self.allow_network, self.storage_options)

    def selection(self) -> tuple[str, ...]:
        """The rule selectors in effect: ``select`` and ``extend_select``; empty (every rule) when no
        ``select`` narrows it."""
        return tuple(self.select) + tuple(self.extend_select) if self.select else ()

    def versions(self) -> Versions:
        """The consumer versions this check models (resolved once: ``--python`` runs that
        interpreter).  Raises ValueError for a ``--python`` that does not answer."""
        if self._versions is None:
            self._versions = resolve(self.assume, self.python, self.target)
        return self._versions

    def llamafactory(self) -> LFSettings:
        """LLaMA-Factory's media settings: ``framework_config``'s, else its defaults."""
        from qwenlint.consumers.llamafactory import DEFAULTS

        return self._lf or DEFAULTS

    def ms_swift(self) -> SwiftArguments:
        """ms-swift's ``max_length``, ``truncation_strategy``, subcommand and ``--rlhf_type`` from
        ``swift_args`` (its defaults when not given; no subcommand: each record's columns decide)."""
        from qwenlint.consumers.ms_swift import parse_args

        if self._swift is None:  # the defaults, parsed once (an argparse parser per record was 30% of a check)
            self._swift = parse_args(())
        return self._swift

    def server(self) -> Server:
        """The vLLM server these options describe (``vllm_args``, then ``media_io_kwargs``);
        vLLM's defaults when neither is given.  Raises ValueError for a bad argument."""
        from qwenlint.consumers.vllm.server import parse_server_args

        server = parse_server_args(self.vllm_args, str(self.versions()["vllm"]))
        if self.media_io_kwargs is not None:
            server = replace(server, media_io_kwargs=self.media_io_kwargs)
        return server
