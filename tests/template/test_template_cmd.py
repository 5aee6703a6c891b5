"""`qwenlint template PATH ...`: the command itself, through the CLI.

It lints chat templates alone (files or model directories), prints a capability table per path
(text) or "templates" next to the diagnostics (json), and exits 1 on an error finding.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent

# A small VL template: string or list content; every image/video part form gets one pad.
VL = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for c in message['content'] %}"
    "{% if c['type'] == 'image' or 'image' in c or 'image_url' in c %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif c['type'] == 'video' or 'video' in c or 'video_url' in c %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in c %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
VL_NO_VIDEO = VL.replace(
    "{% elif c['type'] == 'video' or 'video' in c or 'video_url' in c %}"
    "<|vision_start|><|video_pad|><|vision_end|>", "")
# The same template with Qwen2.5-Omni's tokens (and an audio branch).
OMNI = (VL.replace("<|vision_start|><|image_pad|><|vision_end|>", "<|vision_bos|><|IMAGE|><|vision_eos|>")
        .replace("<|vision_start|><|video_pad|><|vision_end|>", "<|vision_bos|><|VIDEO|><|vision_eos|>")
        .replace("{% elif 'text' in c %}",
                 "{% elif c['type'] == 'audio' or 'audio' in c %}<|audio_bos|><|AUDIO|><|audio_eos|>"
                 "{% elif 'text' in c %}"))
TEXT_ONLY = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
             "message['content'] + '<|im_end|>\\n' }}{% endfor %}")
# A syntax error on line 3: "{{ m.role }" is not closed.
BROKEN = "line one\n{% for m in messages %}\n  {{ m.role }\n{% endfor %}\n"

assert VL_NO_VIDEO != VL and "<|IMAGE|>" in OMNI and "<|AUDIO|>" in OMNI


def _template(cli, *args):
    return cli("template", *args)


def _json(cli, *args):
    r = cli("template", "--format", "json", *args)
    assert r.exit_code in (0, 1), r.output
    return r, r.doc


def _found(doc, code=None):
    return [d for d in doc["diagnostics"] if code is None or d["rule"] == code]


def _tables(output: str) -> dict[str, list[str]]:
    """The capability tables of the text output: title path -> its rows."""
    tables: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        m = re.match(r"^(\S+)  sha256 [0-9a-f]+", line)
        if m:
            current = tables.setdefault(m.group(1), [])
        elif current is not None and line.startswith("  "):
            current.append(line.strip())
        else:
            current = None
    return tables


def _row(rows: list[str], name: str) -> str:
    [row] = [r for r in rows if re.match(re.escape(name) + r"\s{2,}", r)]
    return row[len(name):].strip()


# --- text output ---------------------------------------------------------------------------------

def test_text_output_prints_a_capability_table_per_path(cli, write):
    good = write("good.jinja", text=VL)
    no_video = write("no_video.jinja", text=VL_NO_VIDEO)
    r = _template(cli, good, no_video)
    tables = _tables(r.output)
    assert set(tables) == {str(good), str(no_video)}, r.output
    for rows in tables.values():
        assert _row(rows, "content format (AST)") == "openai"
        assert _row(rows, "list content (text parts)") == "yes"
        assert _row(rows, "part type:image").startswith("yes")
    assert _row(tables[str(good)], "part type:video").startswith("yes")
    assert _row(tables[str(no_video)], "part type:video").startswith("NO")
    # then the findings, with the rule code at the template file
    assert re.search(rf"^{re.escape(str(no_video))}:1:1: QL311 \[error\]", r.output, re.MULTILINE), r.output
    assert str(good) + ":" not in r.output
    assert r.exit_code == 1


def test_text_table_of_a_text_only_template(cli, write):
    p = write("text.jinja", text=TEXT_ONLY)
    r = _template(cli, p)
    rows = _tables(r.output)[str(p)]
    assert _row(rows, "content format (AST)") == "string"
    assert _row(rows, "string content") == "yes"
    assert "QL310 [error]" in r.output and r.exit_code == 1


# --- json output ---------------------------------------------------------------------------------

def test_json_output_has_diagnostics_and_templates(cli, write):
    good = write("good.jinja", text=VL)
    no_video = write("no_video.jinja", text=VL_NO_VIDEO)
    r, doc = _json(cli, good, no_video)
    assert {"diagnostics", "templates", "summary"} <= set(doc)
    assert [t["path"] for t in doc["templates"]] == [str(good), str(no_video)]
    caps = {t["path"]: t["capabilities"] for t in doc["templates"]}
    for c in caps.values():
        assert c["syntax_error"] is None
        assert c["content"]["format"] == "openai" and c["list_content"] is True
    pads = {p: {f["form"]: f["pads"] for f in c["part_forms"]} for p, c in caps.items()}
    assert pads[str(good)]["type:video"] == {"video": 1} and pads[str(good)]["type:image"] == {"image": 1}
    assert pads[str(no_video)]["type:video"] == {} and pads[str(no_video)]["type:image"] == {"image": 1}
    # findings name the file they are about; only the template without a video branch has any
    assert {d["file"] for d in doc["diagnostics"]} == {str(no_video)}
    assert {(d["rule"], d["severity"]) for d in doc["diagnostics"]} >= {("QL311", "error")}
    assert doc["summary"]["errors"] >= 1 and r.exit_code == 1


def test_json_reports_unknown_variables(cli, write):
    p = write("typo.jinja", text=VL.replace("add_generation_prompt", "add_generation_promt"))
    r, doc = _json(cli, p)
    [cap] = doc["templates"]
    assert cap["capabilities"]["undeclared_variables"] == ["add_generation_promt"]
    [d] = _found(doc)
    assert (d["rule"], d["severity"]) == ("QL312", "info") and "add_generation_promt" in d["message"]
    assert r.exit_code == 0  # info only


# --- syntax errors at the file's own position ----------------------------------------------------

def _char_at(path: Path, line: int, column: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line - 1][column - 1:]


def test_syntax_error_at_the_jinja_file_position(cli, write):
    p = write("broken.jinja", text=BROKEN)
    r, doc = _json(cli, p)
    [d] = _found(doc)
    assert (d["rule"], d["severity"], d["file"], d["line"]) == ("QL301", "error", str(p), 3)
    assert _char_at(p, d["line"], d["column"]).strip(), "the column is inside the line"
    assert doc["templates"][0]["capabilities"] is None  # nothing to probe
    assert r.exit_code == 1
    text = _template(cli, p)
    assert re.search(rf"^{re.escape(str(p))}:3:\d+: QL301 \[error\]", text.output, re.MULTILINE), text.output


@pytest.mark.parametrize("name, before", [
    ("chat_template.json", {}),
    ("tokenizer_config.json", {"bos_token": None, "clean_up_tokenization_spaces": False}),
])
def test_syntax_error_position_inside_a_json_string(cli, write, name, before):
    """Line and column are the file's: the template string's line, and the column of the same
    character as in the .jinja file (JSON escapes counted)."""
    jinja = write("broken.jinja", text=BROKEN)
    _, jdoc = _json(cli, jinja)
    [jd] = _found(jdoc, "QL301")
    p = write(name, {**before, "chat_template": BROKEN, "model_max_length": 32768})
    r, doc = _json(cli, p)
    [d] = _found(doc, "QL301")
    lines = p.read_text(encoding="utf-8").splitlines()
    string_line = next(i for i, s in enumerate(lines, 1) if s.lstrip().startswith('"chat_template"'))
    assert (d["file"], d["line"]) == (str(p), string_line)
    assert d["column"] > jd["column"]  # shifted by the key and the escaped text before it
    # the same character as in the .jinja file
    here, there = _char_at(p, d["line"], d["column"]), _char_at(jinja, jd["line"], jd["column"])
    n = len(there.split("\n")[0][:6])  # up to the line's end (escaped as \n in the JSON string)
    assert here[:n] == there[:n] and there[:n].strip(), (here, there)
    assert r.exit_code == 1


# --- model directories ---------------------------------------------------------------------------

def test_model_directory_with_one_template(cli, write, tmp_path):
    write("ckpt/chat_template.jinja", text=VL)
    write("ckpt/tokenizer_config.json", {"model_max_length": 32768})
    r, doc = _json(cli, tmp_path / "ckpt")
    assert [t["path"] for t in doc["templates"]] == [str(tmp_path / "ckpt")]
    assert doc["templates"][0]["capabilities"]["list_content"] is True
    assert doc["diagnostics"] == [] and r.exit_code == 0
    text = _template(cli, tmp_path / "ckpt")
    assert str(tmp_path / "ckpt") in _tables(text.output)


def test_model_directory_whose_templates_disagree_is_ql308(cli, write, tmp_path):
    """vllm#15125: the processor reads chat_template.json, the tokenizer tokenizer_config.json."""
    write("ckpt/chat_template.json", {"chat_template": VL})
    write("ckpt/tokenizer_config.json", {"chat_template": TEXT_ONLY})
    r, doc = _json(cli, tmp_path / "ckpt")
    [d] = _found(doc, "QL308")
    assert d["severity"] == "error" and Path(d["file"]).parent == tmp_path / "ckpt"
    assert r.exit_code == 1
    # the processor's template is the one probed: no QL310 for the tokenizer's text template
    assert not _found(doc, "QL310")
    # the fix: keep one template
    write("ckpt/tokenizer_config.json", {"model_max_length": 32768})
    r, doc = _json(cli, tmp_path / "ckpt")
    assert doc["diagnostics"] == [] and r.exit_code == 0


def test_model_directory_with_a_broken_template_names_the_file(cli, write, tmp_path):
    write("ckpt/chat_template.jinja", text=BROKEN)
    r, doc = _json(cli, tmp_path / "ckpt")
    [d] = _found(doc, "QL301")
    assert (d["file"], d["line"]) == (str(tmp_path / "ckpt" / "chat_template.jinja"), 3)
    assert r.exit_code == 1


# --- exit codes ----------------------------------------------------------------------------------

def test_exit_codes(cli, write):
    good = write("good.jinja", text=VL)
    bad = write("text.jinja", text=TEXT_ONLY)
    assert _template(cli, good).exit_code == 0
    assert _template(cli, bad).exit_code == 1
    assert _template(cli, good, bad).exit_code == 1  # any error among the paths
    r = _template(cli, "--exit-zero", bad)
    assert r.exit_code == 0 and "QL310 [error]" in r.output  # still reported
    assert cli("template", "--exit-zero", "--format", "json", bad).exit_code == 0


def test_usage_errors_exit_2(cli, tmp_path):
    assert _template(cli, tmp_path / "missing.jinja").exit_code == 2
    assert _template(cli).exit_code == 2  # PATH is required
    p = tmp_path / "t.jinja"
    p.write_text(VL, encoding="utf-8")
    assert _template(cli, "--family", "qwen9-vl", p).exit_code == 2


# --- --family changes the pads probed ------------------------------------------------------------

def test_family_selects_the_pads_probed(cli, write):
    p = write("omni.jinja", text=OMNI)
    r, doc = _json(cli, "--family", "qwen2.5-omni", p)
    pads = {f["form"]: f["pads"] for f in doc["templates"][0]["capabilities"]["part_forms"]}
    assert pads["type:image"] == {"image": 1} and pads["type:audio"] == {"audio": 1}
    assert doc["diagnostics"] == [] and r.exit_code == 0
    # probed with Qwen-VL's pads (the default family), the Omni tokens are no pads at all
    r, doc = _json(cli, p)
    pads = {f["form"]: f["pads"] for f in doc["templates"][0]["capabilities"]["part_forms"]}
    assert pads["type:image"] == {} and pads["type:video"] == {}
    assert ("QL311", "error") in {(d["rule"], d["severity"]) for d in doc["diagnostics"]}
    assert r.exit_code == 1


def test_audio_forms_only_matter_for_omni_families(cli, write):
    p = write("vl.jinja", text=VL)  # no audio branch
    _, doc = _json(cli, p)
    assert doc["diagnostics"] == []
    _, doc = _json(cli, "--family", "qwen3-omni", p)
    assert any(d["rule"] == "QL311" and "audio" in d["message"] for d in doc["diagnostics"])


# --- the bundled templates lint clean ------------------------------------------------------------

def _bundled() -> list[tuple[str, Path]]:
    """(family, file) for every family with a bundled template (its own or its fallback's) and
    every variant, read from the bundle's manifest."""
    root = next((d for d in (REPO / "templates", REPO / "qwenlint" / "templates")
                 if (d / "manifest.json").is_file()), None)
    if root is None:
        return []
    families = json.loads((root / "manifest.json").read_text(encoding="utf-8"))["families"]
    out = []
    for family, entry in families.items():
        file = entry.get("file") or (families.get(entry.get("fallback") or "", {}).get("file"))
        if file:
            out.append((family, root / file))
        for name, variant in (entry.get("variants") or {}).items():
            if variant.get("file"):
                out.append((f"{family}:{name}", root / variant["file"]))
    return out


def test_the_bundle_is_found():
    families = {f.split(":")[0] for f, _ in _bundled()}
    assert {"qwen2-vl", "qwen2.5-vl", "qwen3-vl"} <= families


@pytest.mark.parametrize("family, path", _bundled(), ids=[f for f, _ in _bundled()])
def test_bundled_templates_lint_clean(cli, family, path):
    from qwenlint.cli import main

    choices = next(p.type.choices for p in main.commands["template"].params if p.name == "family")
    fam = family.split(":")[0]
    args = ("--family", fam) if fam in choices else ()
    r, doc = _json(cli, *args, path)
    assert r.exit_code == 0, doc["diagnostics"]
    assert not [d for d in doc["diagnostics"] if d["severity"] in ("error", "warning")], doc["diagnostics"]
    caps = doc["templates"][0]["capabilities"]
    forms = {f["form"]: f["pads"] for f in caps["part_forms"]}
    assert forms["type:image"] == {"image": 1} and forms["type:video"] == {"video": 1}
