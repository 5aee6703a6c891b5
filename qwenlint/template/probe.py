"""Lint a template without any messages: static AST checks and needle probing.

* **AST** (like vLLM's ``_detect_content_format``, vllm/renderers/hf.py): does the template loop
  over a message's ``content`` (``openai`` list-of-parts format) or only print it (``string``)?
  Unlike vLLM it follows ``content`` through ``{% set %}`` aliases, ``messages[i]`` and **macro
  arguments** (the Qwen3-VL ``render_content(content, ...)`` pattern, vllm#53820), and also
  reports what vLLM's walk alone would conclude.
* **Probes** (like minja's ``chat_template_caps``): render synthetic conversations holding needle
  strings and media parts of every form, and read back needles and per-part pads.
* **Undeclared variables**: ``jinja2.meta.find_undeclared_variables`` (transformers'
  ``_get_template_variables``) minus the variables callers pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jinja2.meta
import jinja2.nodes as nodes

from qwenlint.template.errors import TemplateSyntaxIssue
from qwenlint.template.load import LoadedTemplate, syntax_error, template_from_string
from qwenlint.template.render import RenderResult, render
from qwenlint.template.sandbox import parse_source
from qwenlint.template.tokens import QWEN_VL_TOKENS, FamilyTokens
from qwenlint.terminal import printable_text

__all__ = ["PartFormProbe", "Capabilities", "probe", "content_format", "format_capabilities", "KNOWN_VARIABLES"]

#: Variables that transformers, vLLM or the chat-template conventions pass (or that are safe to leave undefined).
KNOWN_VARIABLES = frozenset({
    "messages", "add_generation_prompt", "tools", "documents", "add_vision_id", "enable_thinking",
    "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
    "raise_exception", "strftime_now", "namespace", "range", "dict", "lipsum", "cycler", "joiner",
    "continue_final_message", "tools_in_user_message", "date_string", "custom_tools", "builtin_tools",
    "reasoning_effort", "thinking", "keep_cot", "chat_template_kwargs",
    # switches of the official Qwen templates, passed as apply_chat_template keyword arguments
    "add_audio_id", "preserve_thinking",
})

USER_NEEDLE = "QWENLINT_USER_NEEDLE"
SYSTEM_NEEDLE = "QWENLINT_SYSTEM_NEEDLE"
LATE_SYSTEM_NEEDLE = "QWENLINT_LATE_SYSTEM_NEEDLE"
TOOL_NEEDLE = "qwenlint_tool_needle"

#: Part forms probed, each with the pad kind it should produce.
PART_FORMS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("type:image", "image", {"type": "image", "image": "file:///probe.jpg"}),
    ("type:image+url", "image", {"type": "image", "url": "file:///probe.jpg"}),
    ("image key", "image", {"image": "file:///probe.jpg"}),
    ("image_url", "image", {"type": "image_url", "image_url": {"url": "file:///probe.jpg"}}),
    ("type:video", "video", {"type": "video", "video": "file:///probe.mp4"}),
    ("video key", "video", {"video": "file:///probe.mp4"}),
    ("video_url", "video", {"type": "video_url", "video_url": {"url": "file:///probe.mp4"}}),
    ("type:audio", "audio", {"type": "audio", "audio": "file:///probe.wav"}),
    ("audio key", "audio", {"audio": "file:///probe.wav"}),
)


@dataclass(frozen=True)
class PartFormProbe:
    """How the template renders one form of media part in a user message."""

    form: str
    kind: str  # the pad kind the form should produce
    pads: Mapping[str, int]  # pads emitted for the part, by kind
    error: str | None = None

    @property
    def rendered(self) -> bool:
        """Exactly one pad of the expected kind, and no other."""
        return self.error is None and self.pads.get(self.kind, 0) == 1 and sum(self.pads.values()) == 1


@dataclass(frozen=True)
class ContentFormat:
    """Static view of how the template reads ``message.content``."""

    format: Literal["string", "openai", "unknown"]
    via_macro: bool  # a content loop is reached only through a macro argument
    vllm_format: Literal["string", "openai", "unknown"]  # what vLLM's direct-loop walk concludes


@dataclass(frozen=True)
class Capabilities:
    """What a template supports, from its AST and from needle renders (None = could not tell)."""

    template_sha256: str
    syntax_error: TemplateSyntaxIssue | None
    content: ContentFormat | None = None
    string_content: bool | None = None
    list_content: bool | None = None
    system_role: bool | None = None
    default_system_prompt: str | None = None
    later_system_message: bool | None = None
    part_forms: tuple[PartFormProbe, ...] = ()
    multiple_images: bool | None = None
    add_vision_id: bool | None = None
    generation_prompt: str | None = None  # text added by add_generation_prompt=True ("" = nothing)
    thinking: bool | None = None  # enable_thinking changes the output
    tools: bool | None = None
    media_in_roles: Mapping[str, int] = field(default_factory=dict)  # role -> image pads for an image part there
    undeclared_variables: tuple[str, ...] = ()
    uses_generation_tag: bool = False
    errors: tuple[str, ...] = ()  # probes that raised, "probe: message (line N)"

    def part_form(self, form: str) -> PartFormProbe | None:
        return next((p for p in self.part_forms if p.form == form), None)


# ---------------------------------------------------------------------------------------------
# AST: content format, through aliases and macros.


def _strip(node: nodes.Node) -> nodes.Node:
    """Look through filters, tests and slices: ``messages|reverse``, ``messages[1:]`` are still messages."""
    while True:
        if isinstance(node, (nodes.Filter, nodes.Test)) and node.node is not None:
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
            node = node.node
        else:
            return node


def _attr(node: nodes.Node) -> tuple[nodes.Node, str] | None:
    """``x.name`` / ``x['name']`` -> (x, name)."""
    if isinstance(node, nodes.Getattr):
        return node.node, node.attr
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.node, node.arg.value
    return None


class _ContentWalk:
    def __init__(self, ast: nodes.Template) -> None:
        self.ast = ast
        self.messages = {"messages"}
        self.message_vars: set[str] = set()
        self.content_vars: set[str] = set()
        self.macro_content: set[str] = set()
        self.macro_params: dict[str, list[str]] = {
            m.name: [a.name for a in m.args] for m in ast.find_all(nodes.Macro)
        }

    def is_messages(self, node: nodes.Node) -> bool:
        node = _strip(node)
        return isinstance(node, nodes.Name) and node.name in self.messages

    def is_message(self, node: nodes.Node) -> bool:
        node = _strip(node)
        if isinstance(node, nodes.Name):
            return node.name in self.message_vars
        return isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Slice) and self.is_messages(node.node)

    def is_content(self, node: nodes.Node, direct_only: bool = False) -> bool:
        node = _strip(node)
        if not direct_only and isinstance(node, nodes.Name) and node.name in self.content_vars:
            return True
        attr = _attr(node)
        return attr is not None and attr[1] == "content" and self.is_message(attr[0])

    def run(self) -> ContentFormat:
        for _ in range(4):  # aliases of aliases: iterate to a fixed point (bounded)
            before = (len(self.messages), len(self.message_vars), len(self.content_vars))
            for a in self.ast.find_all(nodes.Assign):
                if isinstance(a.target, nodes.Name):
                    if self.is_messages(a.node):
                        self.messages.add(a.target.name)
                    elif self.is_message(a.node):
                        self.message_vars.add(a.target.name)
                    elif self.is_content(a.node):
                        self.content_vars.add(a.target.name)
            for f in self.ast.find_all(nodes.For):
                if self.is_messages(f.iter):
                    targets = [f.target] if isinstance(f.target, nodes.Name) else f.target.find_all(nodes.Name)
                    self.message_vars.update(n.name for n in targets)
            for call in self.ast.find_all(nodes.Call):
                if isinstance(call.node, nodes.Name) and call.node.name in self.macro_params:
                    params = self.macro_params[call.node.name]
                    for i, arg in enumerate(call.args):
                        if i < len(params) and self.is_content(arg):
                            self.macro_content.add(params[i])
                    for kw in call.kwargs:
                        if kw.key in params and self.is_content(kw.value):
                            self.macro_content.add(kw.key)
            self.content_vars |= self.macro_content
            if before == (len(self.messages), len(self.message_vars), len(self.content_vars)):
                break
        loops = [f for f in self.ast.find_all(nodes.For) if self.is_content(f.iter)]
        vllm = any(self.is_content(f.iter, direct_only=True) for f in loops)
        via_macro = bool(loops) and not vllm and all(
            isinstance(_strip(f.iter), nodes.Name) and _strip(f.iter).name in self.macro_content for f in loops  # type: ignore[attr-defined]
        )
        return ContentFormat("openai" if loops else "string", via_macro, "openai" if vllm else "string")


def content_format(source: str) -> ContentFormat:
    """Whether the template iterates message content (``openai``) or only prints it (``string``)."""
    try:
        return _ContentWalk(parse_source(source)).run()
    except TemplateSyntaxIssue:
        return ContentFormat("unknown", False, "unknown")


def undeclared_variables(source: str) -> tuple[str, ...]:
    """Variables the template reads that no caller passes: ``find_undeclared_variables`` minus the
    known ones and minus every name the template assigns itself (``{% set %}``, a ``for`` target):
    Jinja reports a name set inside a loop on every branch of an ``if`` (the official Qwen3
    templates' ``content`` and ``reasoning_content``), though it is never undefined when read."""
    tree = parse_source(source)
    assigned = {name.name for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.For))
                for name in (node.target, *node.target.find_all(nodes.Name)) if isinstance(name, nodes.Name)}
    return tuple(sorted(jinja2.meta.find_undeclared_variables(tree) - KNOWN_VARIABLES - assigned))


# ---------------------------------------------------------------------------------------------
# Probes.


def _user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


class _Prober:
    def __init__(self, source: str, tokens: FamilyTokens) -> None:
        self.source = source
        self.tokens = tokens
        self.errors: list[str] = []
        self.stops: dict = {}  # a template a limit stopped is not rendered again by this prober

    def run(self, name: str, messages: list[dict[str, Any]], **kwargs: Any) -> RenderResult | None:
        kwargs.setdefault("add_generation_prompt", False)
        result = render(self.source, messages, tokens=self.tokens, consumer="template", stops=self.stops,
                        **kwargs)
        if result.error is not None:
            where = f" (line {result.error.line})" if result.error.line else ""
            self.errors.append(f"{name}: {result.error.exception_type}: {result.error.message}{where}")
            return None
        return result

    def has(self, name: str, messages: list[dict[str, Any]], needle: str, **kwargs: Any) -> bool | None:
        r = self.run(name, messages, **kwargs)
        return None if r is None else needle in (r.text or "")

    def part(self, name: str, messages: list[dict[str, Any]], m: int, p: int, **kwargs: Any) -> Mapping[str, int] | None:
        r = self.run(name, messages, **kwargs)
        if r is None:
            return None
        pp = r.part(m, p)
        return {} if pp is None else {k: v for k, v in (("image", pp.image), ("video", pp.video), ("audio", pp.audio)) if v}


def _text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def probe(template: Any, tokens: FamilyTokens = QWEN_VL_TOKENS) -> Capabilities:
    """Capabilities of a template (a source string or a ``LoadedTemplate``), without any user messages."""
    source: str = getattr(template, "source", template)
    from qwenlint.template.render import source_sha256

    sha = source_sha256(source)
    loaded = template if isinstance(template, LoadedTemplate) else template_from_string(source)
    issue = syntax_error(loaded)  # positioned in the origin file too (JSON-embedded templates)
    if issue is not None:
        return Capabilities(sha, issue)
    pr = _Prober(source, tokens)
    image = PART_FORMS[0][2]

    string_content = pr.has("string content", [_user(USER_NEEDLE)], USER_NEEDLE)
    listed = pr.run("list content", [_user([_text(USER_NEEDLE)])])
    # the needle must come out as text, not inside the printed repr of the part list
    list_content = None if listed is None else USER_NEEDLE in (listed.text or "") and "'type'" not in (listed.text or "")
    content = list_content and not string_content
    sample = (lambda t: [_text(t)]) if content else (lambda t: t)

    system_role = pr.has(
        "system role", [{"role": "system", "content": sample(SYSTEM_NEEDLE)}, _user(sample("hi"))], SYSTEM_NEEDLE
    )
    default_system = None
    plain = pr.run("default system prompt", [_user(sample(USER_NEEDLE))])
    if plain is not None and plain.text:
        before = plain.text.split(USER_NEEDLE)[0]
        m = re.search(re.escape("<|im_start|>") + r"system\n(.*?)" + re.escape("<|im_end|>"), before, re.S)
        default_system = m.group(1) if m else None
    later_system = pr.has(
        "later system message",
        [_user(sample("hi")), {"role": "assistant", "content": sample("ok")},
         {"role": "system", "content": sample(LATE_SYSTEM_NEEDLE)}, _user(sample("q"))],
        LATE_SYSTEM_NEEDLE,
    )

    forms = []
    for form, kind, part in PART_FORMS:
        pads = pr.part(f"part {form}", [_user([dict(part), _text("x")])], 0, 0)
        forms.append(PartFormProbe(form, kind, pads or {}, None if pads is not None else pr.errors[-1]))

    two = pr.run("multiple images", [_user([dict(image), dict(image), _text("x")])])
    multiple = None if two is None else all(two.part(0, i) is not None and two.part(0, i).image == 1 for i in (0, 1))  # type: ignore[union-attr]
    vid_on = pr.run("add_vision_id", [_user([dict(image), _text("x")])], add_vision_id=True)
    vid_off = pr.run("add_vision_id off", [_user([dict(image), _text("x")])], add_vision_id=False)
    add_vision_id = None if vid_on is None or vid_off is None else vid_on.text != vid_off.text

    gen_on = pr.run("generation prompt", [_user(sample("hi"))], add_generation_prompt=True)
    gen_off = pr.run("no generation prompt", [_user(sample("hi"))], add_generation_prompt=False)
    generation_prompt = None
    if gen_on is not None and gen_off is not None and gen_on.text is not None and gen_off.text is not None:
        generation_prompt = gen_on.text[len(gen_off.text):] if gen_on.text.startswith(gen_off.text) else gen_on.text

    think = [pr.run(f"enable_thinking={v}", [_user(sample("hi"))], add_generation_prompt=True, enable_thinking=v) for v in (True, False)]
    thinking = None if None in think else think[0].text != think[1].text  # type: ignore[union-attr]

    tool = {"type": "function", "function": {"name": TOOL_NEEDLE, "description": "probe", "parameters": {"type": "object", "properties": {}}}}
    tools = pr.has("tools", [_user(sample("hi"))], TOOL_NEEDLE, tools=[tool])

    media_in_roles: dict[str, int] = {}
    role_cases = {
        "system": ([{"role": "system", "content": [dict(image), _text("s")]}, _user(sample("hi"))], 0),
        "assistant": ([_user(sample("hi")), {"role": "assistant", "content": [dict(image), _text("a")]}], 1),
        "tool": ([_user(sample("hi")), {"role": "assistant", "content": sample("calling")},
                  {"role": "tool", "content": [dict(image), _text("t")]}], 2),
    }
    for role, (messages, index) in role_cases.items():
        pads = pr.part(f"image in {role}", messages, index, 0)
        if pads is not None:
            media_in_roles[role] = pads.get("image", 0)

    return Capabilities(
        template_sha256=sha,
        syntax_error=None,
        content=content_format(source),
        string_content=string_content,
        list_content=list_content,
        system_role=system_role,
        default_system_prompt=default_system,
        later_system_message=later_system,
        part_forms=tuple(forms),
        multiple_images=multiple,
        add_vision_id=add_vision_id,
        generation_prompt=generation_prompt,
        thinking=thinking,
        tools=tools,
        media_in_roles=media_in_roles,
        undeclared_variables=undeclared_variables(source),
        uses_generation_tag=bool(re.search(r"\{%-?\s*generation\s*-?%\}", source)),
        errors=tuple(pr.errors),
    )


# ---------------------------------------------------------------------------------------------
# The capability table (qwenlint template PATH).


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "?"}[value]


def format_capabilities(caps: Capabilities, *, title: str | None = None) -> str:
    """A plain-text capability table, one row per capability."""
    rows: list[tuple[str, str]] = []
    if caps.syntax_error is not None:
        e = caps.syntax_error
        return printable_text(f"{title or 'template'}: syntax error at line {e.file_line}, column "
                              f"{e.file_column}: {e.message}\n")
    c = caps.content
    if c is not None:
        fmt = c.format + (" (through a macro argument)" if c.via_macro else "")
        if c.vllm_format != c.format:
            fmt += f"; vLLM's AST walk would detect '{c.vllm_format}'"
        rows.append(("content format (AST)", fmt))
    rows += [
        ("string content", _mark(caps.string_content)),
        ("list content (text parts)", _mark(caps.list_content)),
        ("system role", _mark(caps.system_role)),
        ("default system prompt", repr(caps.default_system_prompt) if caps.default_system_prompt is not None else "none"),
        ("system message after the first", _mark(caps.later_system_message) + ("" if caps.later_system_message else " (dropped)")),
    ]
    for f in caps.part_forms:
        got = ", ".join(f"{n} {k}" for k, n in f.pads.items()) or "no pad"
        rows.append((f"part {f.form}", ("yes" if f.rendered else "NO") + f" ({got})" + (f" error: {f.error}" if f.error else "")))
    rows += [
        ("multiple images", _mark(caps.multiple_images)),
        ("add_vision_id", _mark(caps.add_vision_id)),
        ("generation prompt", repr(caps.generation_prompt) if caps.generation_prompt is not None else "?"),
        ("enable_thinking changes output", _mark(caps.thinking)),
        ("tools", _mark(caps.tools)),
    ]
    for role in ("system", "assistant", "tool"):
        if role in caps.media_in_roles:
            n = caps.media_in_roles[role]
            rows.append((f"image part in {'an' if role[0] in 'aeiou' else 'a'} {role} turn", f"{n} pad" + ("" if n == 1 else "s") + ("" if n else " (dropped)")))
        else:
            rows.append((f"image part in {'an' if role[0] in 'aeiou' else 'a'} {role} turn", "? (render failed)"))
    rows.append(("{% generation %} tag", _mark(caps.uses_generation_tag)))
    rows.append(("variables no caller passes", ", ".join(caps.undeclared_variables) or "none"))
    width = max(len(name) for name, _ in rows)
    lines = [f"{title or 'template'}  sha256 {caps.template_sha256[:12]}"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in rows]
    lines += [f"  probe error: {e}" for e in caps.errors]
    return printable_text("\n".join(lines) + "\n")  # the template's own text, escaped
