#!/usr/bin/env python3
"""Regenerate docs/report.png and docs/report-diagnostics.png: screenshots of
``qwenlint check examples/broken --format html``.

    python scripts/report_screenshot.py [--out docs/report.png] [--html report.html] [--height 1800]

Runs qwenlint of this checkout on the bundled broken examples, writes the page, opens it in
Debian's headless Chromium through playwright (as tests/test_report_html.py does: no network,
a fresh profile) and saves the top of the page (``--height`` pixels; the full page with
``--height 0``), and the first diagnostics with their rendered prompts (``-diagnostics`` beside
``--out``).  Needs playwright (the ``dev`` extra) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "report.png"))
    ap.add_argument("--html", default=None, help="also keep the page here")
    ap.add_argument("--height", type=int, default=1800)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="qwenlint-report-") as tmp:
        page_path = Path(args.html).resolve() if args.html else Path(tmp) / "report.html"
        env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
        r = subprocess.run([sys.executable, "-m", "qwenlint", "check", "examples/broken", "--format",
                            "html", "--output-file", str(page_path)], cwd=REPO, env=env)
        if r.returncode not in (0, 1):
            return r.returncode
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            ctx = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
            ctx.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                      else route.abort())
            page = ctx.new_page()
            page.goto(page_path.as_uri())
            if args.height:
                page.set_viewport_size({"width": 1200, "height": args.height})
                page.screenshot(path=args.out)
            else:
                page.screenshot(path=args.out, full_page=True)
            second = str(Path(args.out).with_name(Path(args.out).stem + "-diagnostics.png"))
            page.set_viewport_size({"width": 1200, "height": 1000})
            page.evaluate("document.getElementById('diagnostics').scrollIntoView()")
            page.screenshot(path=second)
            browser.close()
    print(f"wrote {args.out} and {second}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
