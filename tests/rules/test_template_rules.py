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
