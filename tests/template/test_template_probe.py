"""Template capabilities: AST content format (through macros) and needle probes."""

from __future__ import annotations

import hashlib
import json

import pytest

from qwenlint.template import bundled_template, content_format, format_capabilities, probe
from qwenlint.template.bundled import TEMPLATES_DIR, manifest

MACRO = (
    "{%- macro render_content(c, do_vision_count) %}{%- for item in c %}"
    "{%- if 'image' in item or item.type == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif 'text' in item %}{{ item.text }}{% endif %}{% endfor %}{% endmacro %}"
    "{%- for message in messages %}<|im_start|>{{ message.role }}\n"
    "{{ render_content(message.content, true) }}<|im_end|>\n{% endfor %}"
)
STRING_ONLY = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"


def test_content_format_direct_loop_and_alias():
    assert content_format(bundled_template("qwen2-vl").source).format == "openai"
    assert content_format(bundled_template("qwen3-vl").source).format == "openai"  # messages[0].content, message.content
    alias = "{% for m in messages %}{% set c = m['content'] %}{% for p in c %}{{ p.text }}{% endfor %}{% endfor %}"
    assert content_format(alias).format == "openai"
    assert content_format(STRING_ONLY).format == "string"


def test_content_format_through_a_macro_vllm_would_miss():
    fmt = content_format(MACRO)
    assert (fmt.format, fmt.via_macro, fmt.vllm_format) == ("openai", True, "string")


def test_probe_qwen2vl():
    caps = probe(bundled_template("qwen2-vl").template)
    assert caps.syntax_error is None and caps.errors == ()
    assert caps.string_content and caps.list_content and caps.system_role
    assert caps.default_system_prompt == "You are a helpful assistant."
    rendered = {f.form: f.rendered for f in caps.part_forms}
    assert rendered == {
        "type:image": True, "type:image+url": True, "image key": True, "image_url": True,
        "type:video": True, "video key": True, "video_url": False, "type:audio": False, "audio key": False,
    }
    assert caps.multiple_images and caps.add_vision_id
    assert caps.generation_prompt == "<|im_start|>assistant\n"
    assert caps.tools is False and caps.thinking is False
    assert caps.media_in_roles == {"system": 1, "assistant": 1, "tool": 1}
    assert caps.undeclared_variables == ()


def test_probe_qwen3vl():
    caps = probe(bundled_template("qwen3-vl").source)
    assert caps.default_system_prompt is None
    assert caps.later_system_message is False
    assert caps.tools is True
    assert caps.media_in_roles == {"system": 0, "assistant": 0, "tool": 1}
    assert caps.part_form("video_url").rendered is False and caps.part_form("image_url").rendered is True


def test_probe_string_only_template():
    caps = probe(STRING_ONLY)
    assert caps.content.format == "string"
    assert caps.string_content is True and caps.list_content is False
    assert not any(f.rendered for f in caps.part_forms)


def test_probe_undeclared_variables_and_syntax_error():
    caps = probe("{{ my_secret_flag }}{% for m in messages %}{{ m.content }}{% endfor %}")
    assert caps.undeclared_variables == ("my_secret_flag",)
    broken = probe("{% if x %}")
    assert broken.syntax_error is not None
    assert "syntax error" in format_capabilities(broken)


def test_format_capabilities_table():
    out = format_capabilities(probe(MACRO), title="macro")
    assert out.startswith("macro  sha256 ")
    assert "through a macro argument" in out and "vLLM's AST walk would detect 'string'" in out
    assert "part video_url" in out


def test_manifest_sha256_of_every_bundled_file():
    families = manifest()["families"]
    checked = 0
    for family, entry in families.items():
        for e in [entry, *entry.get("variants", {}).values()]:
            if e.get("file"):
                data = (TEMPLATES_DIR / e["file"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == e["sha256"], e["file"]
                checked += 1
            else:
                assert e["status"] == "unverified" and e["reason"]
    assert checked == 11  # 9 families' default files + qwen2-vl/generation-tag, qwen3.5/small, qwen3-omni/thinking


def test_manifest_provenance_of_every_entry():
    """Every bundled file keeps its provenance; every .jinja in the folder is in the manifest; the
    manifest names no path of a development machine."""
    data = manifest()
    text = json.dumps(data)
    assert "/work/" not in text and "shared/reference" not in text
    assert "docs/templates.md" in data["about"]
    listed = set()
    for family, entry in data["families"].items():
        for e in [entry, *entry.get("variants", {}).values()]:
            assert e["status"] in ("verified", "unverified-text", "unverified"), family
            if e.get("file"):
                for key in ("file", "sha256", "checkpoint_file", "source", "verified"):
                    assert isinstance(e.get(key), str) and e[key].strip(), (family, key)
                assert len(e["sha256"]) == 64 and int(e["sha256"], 16) >= 0
                # a file's folder is its family; an unverified text says so in its name and its check
                assert e["file"].split("/")[0] == family, e["file"]
                if e["status"] == "unverified-text":
                    assert ".unverified." in e["file"] and e["verified"].startswith("NOT verified"), e["file"]
                    assert "NOT confirmed" in e["checkpoint_file"], e["file"]
                listed.add(e["file"])
            else:
                assert e.get("sha256") is None and "fallback" in e and e["reason"].strip(), family
    on_disk = {p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.jinja")}
    assert on_disk == listed


@pytest.mark.parametrize(
    ("family", "status", "resolved"),
    [
        ("qwen2-vl", "verified", "qwen2-vl"),
        ("qwen2.5-vl", "verified", "qwen2.5-vl"),
        ("qwen3-vl", "verified", "qwen3-vl"),
        ("qwen3-vl-thinking", "verified", "qwen3-vl-thinking"),
        ("qwen3.5", "verified", "qwen3.5"),
        ("qwen3.6", "verified", "qwen3.6"),
        ("qwen2.5-omni", "verified", "qwen2.5-omni"),
        ("qwen3-omni", "unverified-text", "qwen3-omni"),
        ("qwen4-exp", "missing", None),
    ],
)
def test_bundled_template_lookup(family, status, resolved):
    b = bundled_template(family)
    assert (b.status, b.resolved_family) == (status, resolved)
    assert (b.template is None) == (status == "missing")
    assert (b.reason is None) == (status == "verified") == b.verified
    assert b.label.startswith(f"the bundled {resolved or family} template")
    assert ("unverified" in b.label) == (status == "unverified-text")


def test_every_family_of_the_manifest_is_looked_up():
    assert set(manifest()["families"]) == {
        "qwen2-vl", "qwen2.5-vl", "qwen3-vl", "qwen3-vl-thinking", "qwen3.5", "qwen3.6", "qwen2.5-omni",
        "qwen3-omni", "qwen4-exp"}


def test_bundled_variants_and_what_tells_them_apart():
    """qwen3.5's default is the 4B-and-larger text (thinking on), "small" the 2B-and-smaller one
    (thinking off unless enable_thinking is true); qwen3-omni's "thinking" variant is unverified too."""
    from qwenlint.template import render

    big, small = bundled_template("qwen3.5"), bundled_template("qwen3.5", "small")
    assert (big.status, small.status) == ("verified", "verified")
    assert big.template.origin_file.endswith("Qwen3.5-4B.jinja")
    assert small.template.origin_file.endswith("Qwen3.5-0.8B.jinja")
    chat = [{"role": "user", "content": "hi"}]
    assert render(big, chat).text.endswith("<|im_start|>assistant\n<think>\n")
    assert render(small, chat).text.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert render(small, chat, enable_thinking=True).text.endswith("<|im_start|>assistant\n<think>\n")
    assert "preserve_thinking" in bundled_template("qwen3.6").source
    thinking = bundled_template("qwen3-omni", "thinking")
    assert thinking.status == "unverified-text" and thinking.reason.startswith("NOT verified")
    assert bundled_template("qwen2.5-vl").source == bundled_template("qwen2-vl").source  # byte-identical files
    with pytest.raises(KeyError):
        bundled_template("qwen3.5", "tiny")


def test_a_family_without_a_template_says_why():
    b = bundled_template("qwen4-exp")
    assert b.template is None and "No official Qwen4-Exp chat template" in b.reason
    from qwenlint.template import TemplateLoadError

    with pytest.raises(TemplateLoadError, match="qwen4-exp"):
        _ = b.source


def test_bundled_variant_and_manifest_is_json():
    assert "{% generation %}" in bundled_template("qwen2-vl", "generation-tag").source
    json.loads((TEMPLATES_DIR / "manifest.json").read_text(encoding="utf-8"))


def test_public_api_does_not_drift():
    import qwenlint.template as t

    assert sorted(t.__all__) == sorted([
        "BundledTemplate", "Capabilities", "ContentFormat", "FamilyTokens", "Limits", "LiteralToken",
        "LoadedTemplate", "ModelTemplates", "PartFormProbe", "PartPads", "RenderError", "RenderResult",
        "StrayPad", "TemplateError", "TemplateFinding", "TemplateLimitError", "TemplateLoadError",
        "TemplateRenderError", "TemplateSecurityError", "TemplateSyntaxIssue", "bundled_template",
        "content_format", "format_capabilities", "load_model_dir", "load_template", "probe", "render",
        "render_text", "syntax_error", "template_from_string", "tokens_for_family",
    ])
    assert all(hasattr(t, name) for name in t.__all__)


def test_probe_positions_a_syntax_error_inside_json(tmp_path):
    from qwenlint.template import load_template

    p = tmp_path / "chat_template.json"
    p.write_text(json.dumps({"chat_template": "ok\n{% if x %}"}, indent=2), encoding="utf-8")
    caps = probe(load_template(p))
    assert caps.syntax_error.line == 2 and caps.syntax_error.file_line == 2
    assert caps.syntax_error.file == str(p)


@pytest.mark.parametrize(("family", "says"), [("qwen3-omni", "unverified text"), ("qwen3.5", None),
                                              ("qwen4-exp", None)])
def test_the_run_names_an_unverified_bundled_template_as_such(family, says):
    """The template stage's origin (appended to the template findings) says plainly when the
    bundled text is not verified; a verified one is named plainly; a missing one is a problem."""
    from qwenlint.options import Options
    from qwenlint.stages.template import resolve_template

    env = resolve_template(Options(family=family), family)
    if family == "qwen4-exp":
        assert env.template is None and env.problem.startswith("no bundled chat template for qwen4-exp")
        return
    assert env.origin.startswith(f"the bundled {family} template")
    assert (says in env.origin) if says else ("unverified" not in env.origin and env.bundled_note is None)
    if says:
        assert env.bundled_note.startswith("NOT verified")
