#!/usr/bin/env python3
"""Snapshot qwenlint's whole output on a fixed corpus, to prove a refactoring changes nothing.

    python scripts/snapshot.py prepare WORK           # copy the corpus to WORK, synthesise media
    python scripts/snapshot.py run WORK OUT.json [--repo DIR]   # run every command, write outputs
    python scripts/snapshot.py compare A.json B.json  # exit 1 and show the first differences

The corpus: every acceptance case of ../shared/acceptance (with its argv and synthesised media),
examples/, and tests/fixtures/ (datasets per framework, pre-commit fixtures, chat templates).  For
each input ``run`` executes ``check`` (json, text, sarif, github), ``check --jobs 2``,
``check --statistics``, ``check --diff`` (safe and unsafe), ``tokens`` (json, text), ``template``
on every chat template, and the Python API (``qwenlint.check`` on every record), with the
qwenlint found in ``--repo`` (default: this checkout; put on PYTHONPATH, so two checkouts can be
compared with one virtual environment).  Paths in outputs are relative to WORK, so two runs
compare byte for byte.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("QWENLINT_SHARED", os.path.join(os.path.dirname(REPO), "shared"))

#: check's output variants: (name, extra arguments).
CHECK_VARIANTS = [
    ("json", ["--format", "json"]),
    ("json-jobs2", ["--format", "json", "--jobs", "2"]),
    ("text", ["--format", "text"]),
    ("stats", ["--statistics", "--format", "json"]),
    ("diff", ["--diff"]),
    ("diff-unsafe", ["--diff", "--unsafe-fixes"]),
]
#: Extra variants on the examples and fixture folders.
WIDE_VARIANTS = CHECK_VARIANTS + [("sarif", ["--format", "sarif"]), ("github", ["--format", "github"])]
OPTION_SETS = [[], ["--family", "qwen3-vl"], ["--target", "transformers"], ["--target", "vllm"],
               ["--max-model-len", "2048"], ["--family", "qwen2-vl", "--max-model-len", "600"],
               ["--family", "qwen3.5", "--target", "transformers", "--max-model-len", "4096"]]
DATASET_TARGETS = [[], ["--target", "llamafactory"], ["--target", "ms-swift"],
                   ["--target", "qwen-finetune"], ["--target", "llamafactory", "--max-model-len", "300"]]

_API = r"""
import json, os, sys
import qwenlint
from qwenlint.load import files
out = {}
for path in sys.argv[1:]:
    src = files.read(path, display=path)
    for k, rec in enumerate(src.records):
        for opts in ({}, {"target": "transformers"}, {"family": "qwen3-vl", "max_model_len": 1024}):
            r = qwenlint.check(rec.value, base_dir=os.path.dirname(os.path.abspath(path)), **opts)
            diags = r.diagnostics if hasattr(r, "diagnostics") else r
            out[f"{path}#{k}#{json.dumps(opts, sort_keys=True)}"] = [d.to_json() for d in diags]
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
"""


def prepare(work: str) -> None:
    sys.path.insert(0, os.path.join(SHARED, "acceptance"))
    import media  # the acceptance harness' synthesiser

    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    for group in ("seeds", "realworld"):
        root = os.path.join(SHARED, "acceptance", group)
        for name in sorted(os.listdir(root)):
            case = os.path.join(root, name)
            if not os.path.isfile(os.path.join(case, "case.json")):
                continue
            dest = os.path.join(work, "cases", group, name)
            shutil.copytree(case, dest)
            spec = json.load(open(os.path.join(case, "case.json"), encoding="utf-8"))
            if spec.get("media"):
                media.synth_all(spec["media"], dest)
    shutil.copytree(os.path.join(REPO, "examples"), os.path.join(work, "examples"))
    shutil.copytree(os.path.join(REPO, "tests", "fixtures"), os.path.join(work, "fixtures"),
                    ignore=shutil.ignore_patterns("sarif-*.json"))
    shutil.copytree(os.path.join(SHARED, "reference", "templates"), os.path.join(work, "templates"))
    shutil.copytree(os.path.join(REPO, "qwenlint", "templates") if os.path.isdir(
        os.path.join(REPO, "qwenlint", "templates")) else os.path.join(REPO, "templates"),
        os.path.join(work, "bundled"))


def _jobs(work: str) -> list[tuple[str, str, list[str]]]:
    """(key, cwd, argv) of every command."""
    jobs = []
    cases = os.path.join(work, "cases")
    for group in sorted(os.listdir(cases)):
        for name in sorted(os.listdir(os.path.join(cases, group))):
            d = os.path.join(cases, group, name)
            spec = json.load(open(os.path.join(d, "case.json"), encoding="utf-8"))
            argv = [str(a) for a in spec.get("argv", [])]
            target = spec.get("file", "messages.json")
            for v, extra in CHECK_VARIANTS:
                jobs.append((f"case {group}/{name} check {v}", d, ["check", *extra, *argv, target]))
            for v in ("json", "text"):
                jobs.append((f"case {group}/{name} tokens {v}", d, ["tokens", "--format", v, *argv, target]))
    for opts in OPTION_SETS:
        for folder in ("examples/good", "examples/broken"):
            for v, extra in WIDE_VARIANTS:
                jobs.append((f"{folder} {opts} check {v}", work, ["check", *extra, *opts, folder]))
            jobs.append((f"{folder} {opts} tokens", work, ["tokens", "--format", "json", *opts, folder]))
    ds = os.path.join(work, "fixtures", "datasets")
    for fw in sorted(os.listdir(ds)):
        for kind in ("good", "broken"):
            folder = os.path.relpath(os.path.join(ds, fw, kind), work)
            for opts in DATASET_TARGETS:
                for v, extra in CHECK_VARIANTS:
                    jobs.append((f"{folder} {opts} check {v}", work, ["check", *extra, *opts, folder]))
                jobs.append((f"{folder} {opts} tokens", work, ["tokens", "--format", "json", *opts, folder]))
    for folder in ("fixtures/precommit/good", "fixtures/precommit/bad"):
        for v, extra in WIDE_VARIANTS:
            jobs.append((f"{folder} check {v}", work, ["check", *extra, folder]))
    model = "fixtures/precommit/good/model"
    jobs.append(("precommit model check", work, ["check", "--format", "json", "--model", model,
                                                 "fixtures/precommit/good/data"]))
    templates = []
    for root, _dirs, names in os.walk(work):
        for n in names:
            if n.endswith((".jinja", "chat_template.json", "tokenizer_config.json")):
                templates.append(os.path.relpath(os.path.join(root, n), work))
    for t in sorted(templates):
        for fam in ([], ["--family", "qwen3-vl"], ["--family", "qwen2.5-omni"]):
            for v in ("json", "text"):
                jobs.append((f"template {t} {fam} {v}", work, ["template", "--format", v, *fam, t]))
        jobs.append((f"check with template {t}", work, ["check", "--format", "json", "--template", t,
                                                         "examples/good", "examples/broken"]))
    jobs.append(("template model dir", work, ["template", "--format", "json",
                                              "fixtures/precommit/templates/model"]))
    return jobs


def _run_one(repo: str, key: str, cwd: str, argv: list[str], work: str) -> tuple[str, dict]:
    env = dict(os.environ, PYTHONPATH=repo, NO_COLOR="1", COLUMNS="100")
    env.pop("FORCE_COLOR", None)
    p = subprocess.run([sys.executable, "-m", "qwenlint", *argv], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    norm = lambda s: s.replace(work, "<WORK>")  # noqa: E731
    return key, {"code": p.returncode, "stdout": norm(p.stdout), "stderr": norm(p.stderr)}


def run(work: str, out: str, repo: str) -> None:
    work = os.path.abspath(work)
    jobs = _jobs(work)
    results: dict[str, dict] = {}
    with cf.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futs = [pool.submit(_run_one, repo, k, c, a, work) for k, c, a in jobs]
        for n, f in enumerate(cf.as_completed(futs), 1):
            k, r = f.result()
            results[k] = r
            if n % 100 == 0:
                print(f"{n}/{len(jobs)}", file=sys.stderr)
    files = []
    for root, _dirs, names in os.walk(work):
        for n in sorted(names):
            if n.endswith((".json", ".jsonl")) and "template" not in n and n not in (
                    "case.json", "dataset_info.json", "config.json", "tokenizer_config.json"):
                files.append(os.path.relpath(os.path.join(root, n), work))
    env = dict(os.environ, PYTHONPATH=repo)
    p = subprocess.run([sys.executable, "-c", _API, *sorted(files)], cwd=work, env=env,
                       capture_output=True, text=True, timeout=1200)
    results["api"] = {"code": p.returncode, "stdout": p.stdout.replace(work, "<WORK>"),
                      "stderr": p.stderr.replace(work, "<WORK>")}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False, indent=0, sort_keys=True)
    print(f"{len(results)} outputs -> {out}", file=sys.stderr)


def compare(a_path: str, b_path: str, show: int = 5) -> int:
    a, b = (json.load(open(p, encoding="utf-8")) for p in (a_path, b_path))
    keys = sorted(set(a) | set(b))
    bad = [k for k in keys if a.get(k) != b.get(k)]
    print(f"{len(keys)} outputs, {len(bad)} differ")
    for k in bad[:show]:
        print("=" * 80, "\n" + k)
        for field in ("code", "stdout", "stderr"):
            x, y = (a.get(k) or {}).get(field), (b.get(k) or {}).get(field)
            if x != y:
                print(f"--- {field} before:\n{str(x)[:2000]}\n--- {field} after:\n{str(y)[:2000]}")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("work")
    r = sub.add_parser("run")
    r.add_argument("work")
    r.add_argument("out")
    r.add_argument("--repo", default=REPO)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--show", type=int, default=5)
    args = ap.parse_args()
    if args.cmd == "prepare":
        prepare(args.work)
        return 0
    if args.cmd == "run":
        run(args.work, args.out, os.path.abspath(args.repo))
        return 0
    return compare(args.a, args.b, args.show)


if __name__ == "__main__":
    sys.exit(main())
