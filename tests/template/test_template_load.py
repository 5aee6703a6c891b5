"""Loading templates: files, JSON fields with positions, model directories."""

from __future__ import annotations

import json

import pytest

from qwenlint.template import TemplateLoadError, load_model_dir, load_template, syntax_error
from qwenlint.template.load import _raw_offset, _string_offsets

BROKEN = 'line one\n{% for m in messages %}\n  {{ m["content"] + "é\\"" }}\n  {% endfro %}'


def test_jinja_file(tmp_path):
    p = tmp_path / "chat_template.jinja"
    p.write_text("{{ messages }}", encoding="utf-8")
    t = load_template(p)
    assert (t.source, t.origin_kind, t.json_string_start, t.name) == ("{{ messages }}", "jinja", None, "default")
    assert len(t.sha256) == 64


def test_syntax_error_position_in_jinja_file(tmp_path):
    p = tmp_path / "t.jinja"
    p.write_text(BROKEN, encoding="utf-8")
    err = syntax_error(load_template(p))
    assert err is not None and err.line == 4
    assert (err.file_line, err.file_column) == (4, 6)  # the 'endfro' tag name
    assert BROKEN.split("\n")[3][err.column - 1 :].startswith("endfro")


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("indent", [None, 2])
def test_syntax_error_mapped_into_chat_template_json(tmp_path, ensure_ascii, indent):
    p = tmp_path / "chat_template.json"
    text = json.dumps({"chat_template": BROKEN}, ensure_ascii=ensure_ascii, indent=indent)
    p.write_text(text, encoding="utf-8")
    t = load_template(p)
    assert t.source == BROKEN and t.origin_kind == "chat_template.json"
    err = syntax_error(t)
    assert (err.line, err.column) == (4, 6)
    file_lines = text.split("\n")
    assert file_lines[err.file_line - 1][err.file_column - 1 :].startswith("endfro")


def test_position_mapping_walks_every_escape():
    template = 'a\n"b\\é😀\tc{{'
    text = json.dumps({"x": 1, "chat_template": template}, ensure_ascii=True)
    start = _string_offsets(text)[("chat_template",)]
    for i, ch in enumerate(template):
        raw = _raw_offset(text, start, i)
        assert json.loads('"' + text[raw : _raw_offset(text, start, i + 1)] + '"') == ch


def test_tokenizer_config_list_of_named_templates(tmp_path):
    p = tmp_path / "tokenizer_config.json"
    p.write_text(json.dumps({
        "eos_token": "<|im_end|>",
        "chat_template": [{"name": "default", "template": "D{{ x }}"}, {"name": "tool_use", "template": "T\n{% if %}"}],
    }, indent=2), encoding="utf-8")
    assert load_template(p).source == "D{{ x }}"
    tool = load_template(p, tools=True)
    assert tool.name == "tool_use" and tool.origin_kind == "tokenizer_config.json"
    err = syntax_error(tool)
    assert err.line == 2
    line = p.read_text().split("\n")[err.file_line - 1]
    assert '"template": "T\\n{% if %}"' in line


def test_errors(tmp_path):
    with pytest.raises(TemplateLoadError):
        load_template(tmp_path / "missing.jinja")
    bad = tmp_path / "chat_template.json"
    bad.write_text('{"chat_template": "x",}', encoding="utf-8")
    with pytest.raises(TemplateLoadError) as info:
        load_template(bad)
    assert info.value.line == 1
    bad.write_text('{"other": 1}', encoding="utf-8")
    with pytest.raises(TemplateLoadError, match="no \"chat_template\""):
        load_template(bad)


def _write(d, name, value):
    path = d / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")


def test_model_dir_legacy_json_wins_for_processor_jinja_for_tokenizer(tmp_path):
    _write(tmp_path, "preprocessor_config.json", {})
    _write(tmp_path, "chat_template.json", {"chat_template": "FROM JSON"})
    _write(tmp_path, "chat_template.jinja", "FROM JINJA")
    _write(tmp_path, "tokenizer_config.json", {"chat_template": "FROM TOKENIZER CONFIG"})
    model = load_model_dir(tmp_path)
    assert model.select("processor").source == "FROM JSON"
    assert model.select("tokenizer").source == "FROM JINJA"
    codes = {(f.code, f.severity) for f in model.findings}
    assert ("template-sources-disagree", "error") in codes
    assert load_template(tmp_path).source == "FROM JSON"


def test_model_dir_tokenizer_config_only(tmp_path):
    _write(tmp_path, "tokenizer_config.json", {"chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})
    model = load_model_dir(tmp_path)
    assert model.processor == {}
    assert model.select("tokenizer").source == "D" and model.select("tokenizer", tools=True).source == "T"
    assert model.findings == ()


def test_model_dir_processor_vs_tokenizer_disagree(tmp_path):
    # vllm#15125: the processor reads chat_template.json, vLLM/the tokenizer reads tokenizer_config.json
    _write(tmp_path, "preprocessor_config.json", {})
    _write(tmp_path, "chat_template.json", {"chat_template": "VISION TEMPLATE"})
    _write(tmp_path, "tokenizer_config.json", {"chat_template": "TEXT TEMPLATE"})
    model = load_model_dir(tmp_path)
    assert model.select("processor").source == "VISION TEMPLATE"
    assert model.select("tokenizer").source == "TEXT TEMPLATE"
    [finding] = [f for f in model.findings if f.code == "template-sources-disagree"]
    assert finding.severity == "error" and len(finding.files) == 2


def test_model_dir_legacy_json_with_additional_templates_is_an_error(tmp_path):
    _write(tmp_path, "chat_template.json", {"chat_template": "X"})
    _write(tmp_path, "additional_chat_templates/tool_use.jinja", "T")
    model = load_model_dir(tmp_path)
    assert "legacy-json-with-template-files" in {f.code for f in model.findings}
    assert model.tokenizer == {"tool_use": model.tokenizer["tool_use"]}
    assert "no-default-template" in {f.code for f in model.findings}


def test_model_dir_jinja_and_additional(tmp_path):
    _write(tmp_path, "chat_template.jinja", "D")
    _write(tmp_path, "additional_chat_templates/tool_use.jinja", "T")
    _write(tmp_path, "tokenizer_config.json", {"chat_template": "OLD"})
    model = load_model_dir(tmp_path)
    assert set(model.processor) == {"default", "tool_use"} == set(model.tokenizer)
    assert model.select("tokenizer", tools=True).source == "T"
    assert all(f.severity == "info" for f in model.findings)  # the ignored tokenizer_config field


def test_model_dir_processor_config_field_wins(tmp_path):
    _write(tmp_path, "processor_config.json", {"chat_template": "PC"})
    _write(tmp_path, "chat_template.jinja", "J")
    model = load_model_dir(tmp_path)
    assert model.select("processor").source == "PC"
    assert "template-in-processor-config" in {f.code for f in model.findings}


class TestTheServersChatTemplate:
    """``--vllm-args '--chat-template X'``: the template vLLM renders with when no --template is given
    (vLLM's ``load_chat_template``: a file, else a literal template with its escapes decoded)."""

    @staticmethod
    def _resolve(**kw):
        from qwenlint.options import Options
        from qwenlint.stages.template import resolve_template

        return resolve_template(Options(**kw), "qwen2-vl")

    def test_a_file(self, tmp_path):
        p = tmp_path / "served.jinja"
        p.write_text("served {{ messages | length }}", encoding="utf-8")
        env = self._resolve(vllm_args=("--chat-template", str(p)))
        assert env.template.source == "served {{ messages | length }}"
        assert "--chat-template" in env.origin and env.problem is None

    def test_a_literal_template_has_its_escapes_decoded(self):
        env = self._resolve(vllm_args=("--chat-template", r"{{ 'a' }}\n{{ 'b' }}"))
        assert env.template.source == "{{ 'a' }}\n{{ 'b' }}"

    def test_a_path_that_does_not_exist_is_a_load_error(self, tmp_path):
        env = self._resolve(vllm_args=("--chat-template", str(tmp_path / "missing.jinja")))
        assert env.template is None and isinstance(env.load_error, TemplateLoadError)
        assert "missing.jinja" in env.problem

    def test_template_wins_over_the_server(self, tmp_path):
        mine = tmp_path / "mine.jinja"
        mine.write_text("mine", encoding="utf-8")
        served = tmp_path / "served.jinja"
        served.write_text("served", encoding="utf-8")
        env = self._resolve(template=str(mine), vllm_args=("--chat-template", str(served)))
        assert env.template.source == "mine" and env.origin.startswith("--template")


@pytest.mark.parametrize(("source", "at"), [
    ("{% for m in messages %}\n{{ m.role }\n{% endfor %}", (2, 11)),  # the lexer's lone '}' (one token ahead)
    ("abc {{ x + }} def", (1, 12)),  # the parser's current token
    ("{{ a ) }}", (1, 6)),
])
def test_syntax_error_column_is_the_offending_character(tmp_path, source, at):
    p = tmp_path / "t.jinja"
    p.write_text(source, encoding="utf-8")
    err = syntax_error(load_template(p))
    assert (err.line, err.column) == at, err.message
