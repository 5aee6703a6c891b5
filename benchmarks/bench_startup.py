"""A one-file check, process start included: what a pre-commit hook on one file waits for.

    python benchmarks/bench_startup.py                 # this tree (working copy) vs HEAD
    python benchmarks/bench_startup.py --base 19007ff --rounds 20

Runs ``python -m qwenlint check FILE`` as a new process for each file, side by side in one run:
``python -c pass`` (the interpreter's own start), the tree at ``--base`` (checked out into a
temporary git worktree) and this tree, interleaved round by round so that both see the same load.
Both trees are byte-compiled first and run with bytecode (as an installed package is); the
environment is the interpreter running this script.  Prints the minimum and the median wall time
per file and side, and how many modules each side imported (``-X importtime`` lines); the
diagnostics of both sides are compared too (they must be identical).  It measures, it does not
assert.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ["examples/good/conversation.json", "examples/good/video.json",
         "examples/good/openai_request.json", "examples/good/train.jsonl",
         "examples/broken/literal_pad.json"]


def _env(tree: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if tree is not None:
        env["PYTHONPATH"] = tree
    return env


def _run(tree: str | None, path: str, cwd: str) -> tuple[float, str]:
    """One process, from ``cwd`` (an empty folder: ``-m`` puts the working directory first on the
    path, so running from a tree would import that tree's package)."""
    cmd = [sys.executable, "-c", "pass"] if tree is None else \
        [sys.executable, "-m", "qwenlint", "check", "--isolated", os.path.join(tree, path)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=_env(tree), capture_output=True, text=True)
    return time.perf_counter() - t0, out.stdout.replace(tree or "", "<tree>")


def _modules(tree: str, path: str, cwd: str) -> int:
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "qwenlint", "check", "--isolated",
                          os.path.join(tree, path)], cwd=cwd, env=_env(tree), capture_output=True, text=True)
    return sum(line.startswith("import time:") for line in out.stderr.splitlines()) - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="HEAD", help="the git ref to compare with (default: HEAD)")
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qwenlint-startup-") as tmp:
        base, cwd = os.path.join(tmp, "base"), os.path.join(tmp, "cwd")
        os.mkdir(cwd)
        subprocess.run(["git", "worktree", "add", "-q", "--detach", base, args.base], cwd=ROOT, check=True)
        try:
            for tree in (base, ROOT):
                subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(tree, "qwenlint")],
                               env=_env(None), check=True, capture_output=True)
            sides = {"python -c pass": None, f"base {args.base}": base, "this tree": ROOT}
            print(f"{'file':<36} {'side':<16} {'min ms':>7} {'median':>7} {'modules':>8}")
            for path in FILES:
                times: dict[str, list[float]] = {name: [] for name in sides}
                outputs: dict[str, str] = {}
                for _ in range(args.rounds):
                    for name, tree in sides.items():
                        dt, out = _run(tree, path, cwd)
                        times[name].append(dt)
                        outputs[name] = out
                for name, tree in sides.items():
                    mods = "" if tree is None else str(_modules(tree, path, cwd))
                    print(f"{path:<36} {name:<16} {1e3 * min(times[name]):7.0f} "
                          f"{1e3 * statistics.median(times[name]):7.0f} {mods:>8}")
                if outputs[f"base {args.base}"] != outputs["this tree"]:
                    print(f"  !! the diagnostics of {path} differ between the two trees")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", base], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
