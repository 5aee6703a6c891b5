"""QL301 / QL309 through the check path: a --template that cannot be read, a syntax error located in the template file."""

from __future__ import annotations

from examples_ql3 import _text, _user


def test_missing_template_file_is_ql309_as_an_error(tmp_path):
    """A --template that cannot be read is QL309 raised to error (not QL301, not silence)."""
    import qwenlint

    found = qwenlint.check(_user(_text()), template=str(tmp_path / "missing.jinja")).diagnostics
    assert [(d.rule, d.severity.value) for d in found if d.rule.startswith("QL30")] == [("QL309", "error")]


def test_ql301_points_into_the_template_file(tmp_path):
    import qwenlint

    p = tmp_path / "chat_template.jinja"
    p.write_text("{% for m in messages %}\n{{ m.role }\n{% endfor %}", encoding="utf-8")
    [d] = [d for d in qwenlint.check(_user(_text()), template=str(p)).diagnostics if d.rule == "QL301"]
    assert d.file == str(p) and d.line == 2


def test_ql308_keeps_the_loaders_severity(tmp_path):
    """A tokenizer_config.json template that chat_template.jinja overrides is information (both
    apply_chat_template calls use the .jinja), not a warning."""
    import json

    import qwenlint
    from examples_ql3 import TEXT_ONLY, VL

    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "chat_template.jinja").write_text(VL, encoding="utf-8")
    (ckpt / "tokenizer_config.json").write_text(json.dumps({"chat_template": TEXT_ONLY}), encoding="utf-8")
    found = [d for d in qwenlint.check(_user(_text()), model=str(ckpt), family="qwen2-vl").diagnostics
             if d.rule == "QL308"]
    assert found and {d.severity.value for d in found} == {"info"}, found


def test_a_text_only_template_is_one_ql310_not_a_ql311_per_part_form(tmp_path, cli):
    import json

    from examples_ql3 import TEXT_ONLY

    p = tmp_path / "chat_template.jinja"
    p.write_text(TEXT_ONLY, encoding="utf-8")
    doc = json.loads(cli("template", "--format", "json", str(p)).output)
    rules = [d["rule"] for d in doc["diagnostics"]]
    assert rules.count("QL310") == 1 and "QL311" not in rules, rules
