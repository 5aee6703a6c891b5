"""``--format html``: the page checked by parsing it (the JSON report and ``--statistics --format
json`` of the same run are the oracle) and by rendering it in headless Chromium.

Structure (html.parser): the histogram's bars carry exactly the statistics' bucket counts; the
per-rule table is the statistics' ``rules``; every diagnostic of the JSON report is in the page
(location, pointer, rule, severity, message, help); the per-file "Read as" rows are the JSON
report's ``files``; hostile strings (script tags, event handlers, controls, bidi marks, huge
strings) from the data stay text; the page's size is bounded by its cap.

Browser (playwright driving Debian's /usr/bin/chromium, one launch for the module; playwright
gives each launch a fresh temporary profile): a screenshot that is not blank, bars whose drawn
heights (bounding boxes, and bar-coloured pixels in the screenshot) are proportional to the counts,
no network request, no console error, no dialog from hostile data, readable with JavaScript off.
Skipped when playwright or Chromium is missing, unless ``QWENLINT_REQUIRE_DIFF=1`` (CI), where
that is a failure.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qwenlint.cli import main
from qwenlint.report import html as H
from qwenlint.report.sarif import INFORMATION_URI
from qwenlint.summary import EDGES
from qwenlint.terminal import printable, printable_text

ROOT = Path(__file__).resolve().parent.parent
BROKEN = "examples/broken"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REQUIRE = os.environ.get("QWENLINT_REQUIRE_DIFF") == "1"


def run(*args: str, cwd: Path = ROOT) -> str:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert r.exit_code in (0, 1), r.output
    return r.output


# --- a small DOM from html.parser -------------------------------------------------------------------

VOID = {"meta", "link", "br", "hr", "img", "input", "line", "col", "source", "wbr", "area", "base"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list[Node]:
        return [n for n in self.iter() if (tag is None or n.tag == tag)
                and (cls is None or cls in n.attrs.get("class", "").split())
                and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, *a, **k) -> Node:
        found = self.find_all(*a, **k)
        assert found, (a, k)
        return found[0]


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(page: str) -> Node:
    t = Tree()
    t.feed(page)
    t.close()
    return t.root


def rows(table: Node) -> list[list[str]]:
    return [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]


# --- the report of the bundled broken examples ------------------------------------------------------

@pytest.fixture(scope="module")
def broken():
    page = run("check", BROKEN, "--format", "html")
    return {"page": page, "dom": parse(page),
            "json": json.loads(run("check", BROKEN, "--format", "json")),
            "stats": json.loads(run("check", BROKEN, "--statistics", "--format", "json"))}


def test_histogram_bars_are_the_statistics(broken):
    bars = broken["dom"].find_all("rect", cls="bar")
    hist = broken["stats"]["tokens"]["histogram"]
    used = [i for i, b in enumerate(hist) if b["count"]]
    assert used, "the examples have conversations"
    want = hist[used[0]:used[-1] + 1]
    assert [(int(b.attrs["data-count"]), int(b.attrs["data-from"]), b.attrs["data-to"]) for b in bars] == \
        [(b["count"], b["from"], str(b["to"]) if b["to"] is not None else "") for b in want]
    assert sum(int(b.attrs["data-count"]) for b in bars) == broken["stats"]["conversations"] > 0
    # heights proportional to the counts (1 pixel at least for a count that is not 0)
    top = max(b["count"] for b in want)
    for bar in bars:
        c, h = int(bar.attrs["data-count"]), float(bar.attrs["height"])
        assert abs(h - max(H.PLOT_H * c / top, 1 if c else 0)) < 0.01
    # each bar is labelled with its range, as --statistics names the buckets
    labels = [t.text() for t in broken["dom"].find_all("text", cls="range")]
    assert labels == [f"{H._fmt_tokens(b['from'])}–{H._fmt_tokens(b['to']) if b['to'] else '∞'}"
                      for b in want]


def test_rule_counts_are_the_json_reports(broken):
    table = broken["dom"].find("table", cls="rules")
    got = [(r[0], r[1], r[2], int(r[3].replace(",", ""))) for r in rows(table)]
    assert got == [(r["rule"], r["name"], r["severity"], r["count"]) for r in broken["stats"]["rules"]]
    by_json = Counter((d["rule"], d["severity"]) for d in broken["json"]["diagnostics"])
    assert Counter({(c, s): n for c, _, s, n in got}) == by_json
    # each code links to its section of docs/rules.md, which exists
    doc = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for a in table.find_all("a"):
        assert "/docs/rules.md#" in a.attrs["href"]
        anchor = a.attrs["href"].split("#", 1)[1]
        code, name = anchor.split("-", 1)
        assert f"{code.upper()} {name}" in doc or f"{code.upper()} `{name}`" in doc, anchor


def test_every_diagnostic_of_the_json_report_is_in_the_page(broken):
    diags = broken["json"]["diagnostics"]
    assert len(diags) <= H.MAX_DIAGNOSTICS
    blocks = broken["dom"].find_all("div", cls="diag")

    def seen(b: Node):
        loc = b.find("div", cls="loc").text()
        help_ = [d.text() for d in b.find_all("div") if d.text().startswith("help: ")]
        return (loc.split(" ")[0], b.attrs["data-rule"], b.attrs["data-severity"],
                b.find("div", cls="msg").text(), b.find("code", cls="ptr").text(),
                help_[0][len("help: "):] if help_ else None)

    want = [(f"{d['file']}:{d['line'] or 1}:{d['column'] or 1}", d["rule"], d["severity"], d["message"],
             d["pointer"] or "/", d["help"]) for d in diags]
    assert [seen(b) for b in blocks] == want
    # each has the rendered prompt around it, or says why there is none
    for b in blocks:
        assert b.find("p", cls="note").text()
    prompts = broken["dom"].find_all("pre", cls="prompt")
    assert prompts and all(p.find_all("mark") for p in prompts)
    assert all("<|im_start|>" in p.text() for p in prompts)


def _resolve(doc, pointer: str):
    """The values from the document down to ``pointer`` (RFC 6901), outermost first."""
    out = [doc]
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        cur = out[-1]
        out.append(cur[int(token)] if isinstance(cur, list) else cur[token])
    return out


def test_the_highlighted_prompt_is_the_part_or_message_pointed_at(broken):
    """The oracle is the input file: the highlighted text is the text part the diagnostic points
    into, the vision group of its image or video part, or else its whole message."""
    checked = 0
    for b in broken["dom"].find_all("div", cls="diag"):
        pre = b.find_all("pre", cls="prompt")
        if not pre:
            continue
        file, line = b.find("div", cls="loc").text().split(" ")[0].split(":")[:2]
        path = ROOT / file
        if path.suffix == ".jsonl":
            doc = json.loads(path.read_text(encoding="utf-8").splitlines()[int(line) - 1])
        else:
            doc = json.loads(path.read_text(encoding="utf-8"))
        chain = _resolve(doc, b.find("code", cls="ptr").text().rstrip("/"))
        part = next((v for v in reversed(chain) if isinstance(v, dict) and "type" in v), None)
        message = next((v for v in reversed(chain) if isinstance(v, dict) and "role" in v), None)
        mark = pre[0].find("mark").text()
        if part is not None and part.get("type") == "text":
            assert mark == part["text"]
        elif part is not None and part.get("type") in ("image", "video"):
            assert mark == f"<|vision_start|><|{part['type']}_pad|><|vision_end|>"
        else:
            assert message is not None
            assert mark.startswith(f"<|im_start|>{message['role']}") and mark.endswith("<|im_end|>")
        # the context around it is the rendered conversation's own text
        whole = pre[0].text().strip("…")
        assert mark in whole and whole.startswith("<|im_start|>")
        checked += 1
    assert checked >= 5


def test_media_parts_are_found_by_their_own_group(tmp_path):
    """Omni: audio and image parts, each missing (QL401): each diagnostic highlights the k-th
    group of its own kind, with the family's delimiters."""
    from qwenlint.template import tokens_for_family

    t = tokens_for_family("qwen2.5-omni")
    parts = [{"type": "audio", "audio": "a.wav"}, {"type": "image", "image": "b.jpg"},
             {"type": "audio", "audio": "c.wav"}, {"type": "text", "text": "hi"}]
    (tmp_path / "o.json").write_text(json.dumps([{"role": "user", "content": parts}]), encoding="utf-8")
    page = run("check", "o.json", "--family", "qwen2.5-omni", "--target", "qwen-omni-utils",
               "--format", "html", cwd=tmp_path)
    got = {}
    for b in parse(page).find_all("div", cls="diag"):
        if b.attrs["data-rule"] == "QL401":
            pre = b.find("pre", cls="prompt")
            before = "".join(c if isinstance(c, str) else "" for c in pre.children[:pre.children.index(pre.find("mark"))])
            got[b.find("code", cls="ptr").text()] = (pre.find("mark").text(), before)
    audio = f"{t.audio_start}{t.audio_pad}{t.audio_end}"
    image = f"{t.vision_start}{t.image_pad}{t.vision_end}"
    assert {p: m for p, (m, _) in got.items()} == {
        "/0/content/0/audio": audio, "/0/content/1/image": image, "/0/content/2/audio": audio}
    # the second audio part is the second audio group: one audio group and the image before it
    assert got["/0/content/2/audio"][1].endswith(audio + image)


def test_read_as_rows_are_the_json_reports_files(broken):
    got = rows(broken["dom"].find("table", cls="readings"))
    want = [[f["path"], f["family"] or "-", r["dialect"], r["target"], str(r["conversations"])]
            for f in broken["json"]["files"] for r in f["read_as"]]
    assert got == want
    assumed = [li.text() for li in broken["dom"].find("ul", id="assumed").find_all("li")]
    assert assumed == broken["json"]["assumed"]


def test_the_page_loads_nothing_and_runs_only_its_own_script(broken):
    dom = broken["dom"]
    scripts = dom.find_all("script")
    assert len(scripts) == 1 and scripts[0].text() == H._JS
    for n in dom.iter():
        assert not any(k.startswith("on") for k in n.attrs), n.tag
        assert "src" not in n.attrs and n.tag not in ("img", "link", "iframe", "object", "embed")
        # the only addresses are the rule links (followed only when clicked)
        if "href" in n.attrs:
            assert n.tag == "a" and n.attrs["href"].startswith(INFORMATION_URI + "/blob/main/docs/rules.md#")
    csp = dom.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp


# --- hostile input ----------------------------------------------------------------------------------

HOSTILE = ["</script><script>alert(1)</script>", "<img src=x onerror=alert(2)>",
           "\x1b[2J\rbell\x07", "\u202eevil\u202c", "\ud800"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    text = " ".join(HOSTILE) + " <|image_pad|> " + "A" * 50_000
    convs = [{"role": "user", "content": [
        {"type": "text", "text": text},
        {"type": "image", "image": "<svg onload=alert(3)>.png", "<b onmouseover=alert(4)>": 1}]}]
    # a file name with markup in it too
    name = "x<img src=y onerror=alert(5)>.json"
    (d / name).write_text(json.dumps(convs), encoding="utf-8")
    page = run("check", name, "--format", "html", cwd=d)
    return page, d, name


def test_hostile_strings_stay_text(hostile):
    page, _, name = hostile
    dom = parse(page)
    assert len(dom.find_all("script")) == 1
    assert not dom.find_all("img") and not [n for n in dom.iter() if n.tag in ("svg",) and "onload" in n.attrs]
    for n in dom.iter():
        assert not any(k.startswith("on") for k in n.attrs), (n.tag, n.attrs)
    text = dom.text()
    for s in ("</script><script>alert(1)</script>", "<img src=x onerror=alert(2)>", name):
        assert s in text  # shown as text (html.parser unescaped it), never parsed as markup
    # controls and bidi marks never reach the page raw; they are shown escaped
    for raw, shown in (("\x1b", "\\x1b"), ("\u202e", "\\u202e"), ("\x07", "\\x07"), ("\ud800", "\\ud800")):
        assert raw not in page and shown in text
    # the 50 000-character string is cut
    assert "A" * 50_000 not in page and "48,898 characters]" in page
    assert len(page) < 200_000


def _shape(dom: Node) -> list[tuple[str, tuple]]:
    """The page's elements and their attribute names, in order: its structure without the text."""
    return [(n.tag, tuple(sorted(n.attrs))) for n in dom.iter()]


def _page_of(s: str) -> str:
    from qwenlint.diagnostics import Applicability, Diagnostic, Fix, Severity
    from qwenlint.result import Result

    d = Diagnostic(rule="QL306", name="literal-special-token", severity=Severity.ERROR, message=s,
                   file=s, pointer="/" + s, line=1, column=1, help=s,
                   fix=Fix(s, "/" + s, s, Applicability.SAFE))
    return H.render(Result(diagnostics=[d], files=1),
                    snippets={0: H.PromptSnippet(s, before=s, focus=s, after=s)},
                    settings=[[(s, s)]])


_PLAIN_SHAPE = None


@settings(deadline=None)  # the first example imports the rule registry
@given(st.text(min_size=1, max_size=300) | st.sampled_from(HOSTILE + ["<!--", "]]>", "&amp;", "<p>x</p>", "\0x"]))
def test_any_string_stays_text(s):
    """Whatever a message, path, pointer, help, fix or rendered prompt holds, the page has the
    structure of a page made with a plain word, and shows the string as text."""
    global _PLAIN_SHAPE
    if _PLAIN_SHAPE is None:
        _PLAIN_SHAPE = _shape(parse(_page_of("word")))
    page = _page_of(s)
    dom = parse(page)
    assert _shape(dom) == _PLAIN_SHAPE
    def utf8(text: str) -> str:  # a lone surrogate cannot be written: shown as its escape
        return text.encode("utf-8", "backslashreplace").decode("utf-8")

    shown = utf8(printable_text(s))
    assert dom.find("div", cls="msg").text() == shown
    assert dom.find("code", cls="ptr").text() == utf8(printable("/" + s))
    assert dom.find("pre", cls="prompt").find("mark").text() == shown
    assert "\0" not in page  # the raw NUL of a user string never reaches the page


def test_page_size_is_bounded_by_the_cap(tmp_path):
    from qwenlint.engine import Engine, run_serial
    from qwenlint.options import Options

    def page_for(n: int) -> str:
        f = tmp_path / f"many{n}.jsonl"
        f.write_text("".join(json.dumps([{"role": "user", "content": [
            {"type": "text", "text": f"row {i} <|image_pad|>"}]}]) + "\n" for i in range(n)),
            encoding="utf-8")
        result = run_serial(Engine(Options(), statistics=True), [str(f)])
        assert len(result.diagnostics) >= n
        return H.render(result, max_diagnostics=20)

    small, large = page_for(60), page_for(600)
    assert len(parse(large).find_all("div", cls="diag")) == 20
    assert "first 20 of" in large
    assert len(large) < len(small) * 1.1  # 10× the records, not 10× the page


# --- the browser ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if REQUIRE:
            pytest.fail("playwright is not installed (QWENLINT_REQUIRE_DIFF=1)")
        pytest.skip("playwright is not installed")
    if not shutil.which(CHROMIUM):
        if REQUIRE:
            pytest.fail(f"{CHROMIUM} is missing (QWENLINT_REQUIRE_DIFF=1)")
        pytest.skip(f"{CHROMIUM} is missing")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, path: Path, js: bool = True):
    """The page at ``path`` in a new context, with what it asked of the network, wrote to the
    console and opened as dialogs."""
    ctx = browser.new_context(java_script_enabled=js, viewport={"width": 1200, "height": 900},
                              device_scale_factor=1)
    seen = {"requests": [], "console": [], "dialogs": [], "errors": []}

    def route(r):
        seen["requests"].append(r.request.url)
        (r.continue_() if r.request.url == path.as_uri() else r.abort())

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("console", lambda m: seen["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def dialog(d):
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return ctx, page, seen


def _image(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


def test_browser_renders_the_report(broken, browser, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(broken["page"], encoding="utf-8")
    ctx, page, seen = open_page(browser, path)
    try:
        shot = _image(page.screenshot(full_page=True))
        # not blank: a good share of the pixels are ink, in more than a few colours
        raw = shot.tobytes()
        pixels = [raw[i:i + 3] for i in range(0, len(raw), 3)]
        ink = sum(1 for p in pixels if sum(p) < 600) / len(pixels)
        assert ink > 0.01, ink
        assert len(set(pixels[::7])) > 20
        # the bars: drawn heights proportional to the counts
        bars = page.locator("rect.bar")
        counts = [int(bars.nth(i).get_attribute("data-count")) for i in range(bars.count())]
        boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
        assert counts == [int(r.attrs["data-count"]) for r in broken["dom"].find_all("rect", cls="bar")]
        top, tallest = max(counts), max(b["height"] for b in boxes)
        assert tallest == pytest.approx(H.PLOT_H, abs=1)
        for c, b in zip(counts, boxes):
            assert b["height"] == pytest.approx(max(tallest * c / top, 1 if c else 0), abs=1)
        # ... and in the pixels: the bar colour's run down the middle of each bar
        svg = page.locator("#histogram")
        origin = svg.bounding_box()
        img = _image(svg.screenshot())
        for c, b in zip(counts, boxes):
            x = round(b["x"] - origin["x"] + b["width"] / 2)
            column = [img.getpixel((x, y)) for y in range(img.height)]
            painted = sum(1 for p in column if abs(p[0] - 0x3b) < 30 and abs(p[1] - 0x7d) < 30
                          and abs(p[2] - 0xd8) < 30)
            assert painted == pytest.approx(b["height"], abs=2), (c, painted, b)
        # the filter script runs: one rule shows only its diagnostics
        rule = broken["json"]["diagnostics"][0]["rule"]
        page.select_option("#f-rule", rule)
        visible = page.locator(".diag:visible").count()
        assert visible == sum(d["rule"] == rule for d in broken["json"]["diagnostics"]) < \
            len(broken["json"]["diagnostics"])
        assert seen["requests"] == [path.as_uri()]
        assert not [m for m in seen["console"] if m[0] == "error"] and not seen["errors"]
    finally:
        ctx.close()


def test_browser_without_javascript(broken, browser, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(broken["page"], encoding="utf-8")
    ctx, page, seen = open_page(browser, path, js=False)
    try:
        assert page.locator(".diag:visible").count() == len(broken["json"]["diagnostics"])
        assert not page.locator("#filters").is_visible()
        assert page.locator("rect.bar").first.bounding_box()["height"] > 0
        assert seen["requests"] == [path.as_uri()]
    finally:
        ctx.close()


def test_browser_runs_no_script_from_the_data(hostile, browser):
    page_text, d, _ = hostile
    path = d / "report.html"
    path.write_text(page_text, encoding="utf-8")
    ctx, page, seen = open_page(browser, path)
    try:
        page.mouse.move(10, 10)
        for el in page.locator(".diag").all():
            el.hover()
        assert seen["dialogs"] == []
        assert not seen["errors"]
        assert not [m for m in seen["console"] if m[0] == "error"], seen["console"]  # no CSP block either
        assert seen["requests"] == [path.as_uri()]
        text = page.locator("body").inner_text()
        assert "</script><script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    finally:
        ctx.close()


# --- the command line ------------------------------------------------------------------------------

def test_output_file_and_other_ways_to_the_page(broken, tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["check", str(ROOT / BROKEN), "--format", "html", "-o", str(out)])
    assert r.exit_code == 1 and str(out) in r.stderr and "<html" not in r.stdout
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("class=\"diag ") == len(broken["json"]["diagnostics"])
    # --statistics with --format html is the same page; so is the configuration's output-format
    assert run("check", BROKEN, "--format", "html", "--statistics") == broken["page"]
    (tmp_path / "qwenlint.toml").write_text('output-format = "html"\n', encoding="utf-8")
    assert run("check", str(ROOT / BROKEN / "literal_pad.json"), "--config",
               str(tmp_path / "qwenlint.toml")).startswith("<!DOCTYPE html>")
    # a file that cannot be written: a usage error, no traceback
    r = CliRunner().invoke(main, ["check", str(ROOT / BROKEN), "--format", "html", "-o",
                                  str(tmp_path / "missing" / "r.html")])
    assert r.exit_code == 2 and "cannot write" in r.stderr
    assert "Traceback" not in r.stderr


def test_jobs_and_shards_give_the_same_page(broken):
    """Worker processes, and records read one array element at a time (--shard), find the same
    records again for their prompts."""
    assert run("check", BROKEN, "--format", "html", "--jobs", "2") == broken["page"]
    assert run("check", BROKEN, "--format", "html", "--shard", "0/1") == broken["page"]


# --- the longest records (summary.Summary.longest, shown by the page) ---------------------------------

@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=40, unique_by=lambda t: t),
       st.integers(0, 40), st.integers(1, 5))
def test_longest_are_the_records_with_most_tokens_however_merged(rows, cut, n):
    """Records with distinct token counts, added to one summary, or split in two summaries
    merged: ``longest`` is the ``n`` with most tokens, most first, as sorting them all gives."""
    from qwenlint.summary import RecordStat, Summary

    stats = [RecordStat(e, w, 10 * i + 1, "f.jsonl", i + 1, "") for i, (e, w) in enumerate(rows)]
    want = sorted(stats, key=lambda s: s.tokens, reverse=True)[:n]
    one = Summary(worst=n)
    for s in stats:
        one.add(s)
    a, b = Summary(worst=n), Summary(worst=n)
    for s in stats[:cut]:
        a.add(s)
    for s in stats[cut:]:
        b.add(s)
    a.merge(b)
    assert [s.tokens for s in one.longest] == [s.tokens for s in want]
    assert [s.tokens for s in a.longest] == [s.tokens for s in want]
    assert [(s.errors, s.warnings, s.tokens) for s in a.worst] == [(s.errors, s.warnings, s.tokens) for s in one.worst]
