"""Quality of the case matcher on a library + labelled message file, plus perturbed variants.

Usage (from the repo root):
  PYTHONPATH=. python benchmarks/caselib/quality.py \
      --library ../shared/caselib/cases.jsonl --queries ../shared/caselib/queries-dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict

from benchmarks.caselib.paddings import evaluation_sets
from handlers.caselib.calibration import Thresholds, evaluate, observe
from handlers.caselib.jsonl import load_cases, read_queries
from handlers.caselib.matcher import CaseMatcher

TARGETS = {
    "answered_right": (">=", 0.85),
    "right_answer_or_suggested": (">=", 0.97),
    "answered_wrong": ("<=", 0.01),
    "no_case_answered": ("<=", 0.025),
}


def run(library: str, queries: str, thresholds: str | None = None, seed: int = 7) -> dict:
    cases = load_cases(library)
    rows = read_queries(queries, with_expect=True)
    th = Thresholds.load(thresholds) if thresholds else Thresholds.load()
    t0 = time.perf_counter()
    matcher = CaseMatcher(cases, thresholds=th)
    build = time.perf_counter() - t0
    sets = evaluation_sets(cases, rows, seed)
    out = {}
    for name, rs in sets.items():
        out[name] = evaluate(observe(matcher, rs), th).rates()
    # Files of our own writing label each message's style (short, voice, plain, ...): show the
    # messages as written per style too. A style's no-case messages count with its cases.
    by_style: dict[str, list[dict]] = defaultdict(list)
    with open(queries, encoding="utf-8") as fh:
        styles = [json.loads(line).get("style") for line in fh if line.strip()]
    for row, style in zip(rows, styles, strict=True):
        if style:
            by_style[f"style:{style}"].append(row)
    for name, rs in sorted(by_style.items()):
        out[name] = evaluate(observe(matcher, rs), th).rates()
    return {
        "build_s": build,
        "n_cases": len(cases),
        "n_queries": len(rows),
        "results": out,
        "thresholds": th,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--library", default="handlers/caselib/data/demo_cases.jsonl")
    ap.add_argument("--queries", default="handlers/caselib/data/demo_queries.jsonl")
    ap.add_argument("--thresholds", default=None)
    args = ap.parse_args(argv)
    res = run(args.library, args.queries, args.thresholds)
    th = res["thresholds"]
    print(
        f"library={args.library} ({res['n_cases']} cases), queries={args.queries} "
        f"({res['n_queries']}), build {res['build_s']:.2f}s"
    )
    rule = (
        f"answer P>={th.model['answer_prob']}"
        if th.model
        else f"answer>={th.answer_score} margin>={th.answer_margin}"
    )
    print(
        f"thresholds: {rule} suggest>={th.suggest_score} (calibrated on "
        f"{th.meta.get('library')} + {th.meta.get('queries')})"
    )
    cols = [*TARGETS, "no_case_suggested"]
    print(f"{'variant':<16}" + "".join(f"{c:>28}" for c in cols))
    for name, rates in res["results"].items():
        cells = []
        for c in cols:
            v = rates[c]
            mark = ""
            if c in TARGETS:
                op, target = TARGETS[c]
                ok = v >= target if op == ">=" else v <= target
                mark = " ok" if ok else " MISS"
            cells.append(f"{v * 100:>24.1f}%{mark:<3}")
        print(f"{name:<16}" + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
