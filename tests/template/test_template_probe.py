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
    assert checked == 4


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
            assert e["status"] in ("verified", "assumed-identical", "unverified"), family
            if e.get("file"):
                for key in ("file", "sha256", "checkpoint_file", "source", "verified"):
                    assert isinstance(e.get(key), str) and e[key].strip(), (family, key)
                assert len(e["sha256"]) == 64 and int(e["sha256"], 16) >= 0
                listed.add(e["file"])
            else:
                assert e.get("sha256") is None and "fallback" in e and e["reason"].strip(), family
    on_disk = {p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.jinja")}
    assert on_disk == listed


@pytest.mark.parametrize(
    ("family", "status", "resolved"),
    [
        ("qwen2-vl", "verified", "qwen2-vl"),
        ("qwen2.5-vl", "assumed-identical", "qwen2.5-vl"),
        ("qwen3-vl", "verified", "qwen3-vl"),
        ("qwen3-vl-thinking", "fallback", "qwen3-vl"),
        ("qwen3.5", "fallback", "qwen3-vl"),
        ("qwen2.5-omni", "missing", None),
        ("qwen3-omni", "missing", None),
    ],
)
def test_bundled_template_lookup(family, status, resolved):
    b = bundled_template(family)
    assert (b.status, b.resolved_family) == (status, resolved)
    assert (b.template is None) == (status == "missing")
    assert (b.reason is None) == (status == "verified")


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
