"""Cross-validated quality of the calibrated answer model (an honest estimate for unseen cases).

The shipped model is fitted on every labelled file we have, so quality measured on those files
with it is in-sample. This script estimates how it does on cases it has never seen: each
``--folded`` data set (a library and its labelled messages) is split into k folds by case id
(its no-case messages are split k ways too); for each fold the model and thresholds are fitted
exactly as ``doudi cases calibrate`` does (the ``--fixed`` sets + the other folds of every
folded set, messages plus perturbed copies) and evaluated on the held-out fold, as written, in
every perturbed variant and by the ``style`` labels of the file. Counts are pooled over folds.

Usage (from the repo root):
  PYTHONPATH=. python benchmarks/caselib/cv.py \
      --folded handlers/caselib/data/demo_cases.jsonl handlers/caselib/data/demo_queries.jsonl \
      --folded ../shared/caselib/cases.jsonl ../shared/caselib/queries-dev.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from dataclasses import dataclass

from benchmarks.caselib.paddings import evaluation_sets
from handlers.caselib.calibration import (
    TRAIN_VARIANTS,
    Observation,
    Report,
    Thresholds,
    calibrate_observations,
    evaluate,
    observe,
    observe_files,
)
from handlers.caselib.jsonl import load_cases, read_queries
from handlers.caselib.matcher import CaseMatcher

COLS = (
    "answered_right",
    "right_answer_or_suggested",
    "answered_wrong",
    "no_case_answered",
    "no_case_suggested",
)


@dataclass
class Folded:
    name: str
    obs: dict[str, list[Observation]]  # variant -> one observation per message
    styles: list[str | None]
    fold: list[int]  # fold of each message


def load_folded(library: str, queries: str, folds: int, seed: int) -> Folded:
    cases = load_cases(library)
    rows = read_queries(queries, with_expect=True)
    with open(queries, encoding="utf-8") as fh:
        styles = [json.loads(line).get("style") for line in fh if line.strip()]
    matcher = CaseMatcher(cases, thresholds=Thresholds())
    sets = evaluation_sets(cases, rows, 7)
    obs = {n: observe(matcher, rs, n, queries) for n, rs in sets.items()}
    rng = random.Random(seed)
    ids = sorted({r["expect"] for r in rows if r["expect"]})
    rng.shuffle(ids)
    fold_of_case = {c: i % folds for i, c in enumerate(ids)}
    nulls = [i for i, r in enumerate(rows) if r["expect"] is None]
    rng.shuffle(nulls)
    fold_of_null = {j: i % folds for i, j in enumerate(nulls)}
    fold = [
        fold_of_case[r["expect"]] if r["expect"] else fold_of_null[i] for i, r in enumerate(rows)
    ]
    return Folded(queries, obs, styles, fold)


def add(acc: Report, rep: Report) -> None:
    for f in vars(rep):
        setattr(acc, f, getattr(acc, f) + getattr(rep, f))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folded", nargs=2, action="append", metavar=("LIBRARY", "QUERIES"))
    ap.add_argument("--fixed", nargs=2, action="append", default=[], metavar=("LIB", "Q"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not args.folded:
        ap.error("give at least one --folded LIBRARY QUERIES")

    fixed: list[Observation] = []
    for lib, qf in args.fixed:
        fixed.extend(observe_files(lib, qf))
    sets = [load_folded(lib, qf, args.folds, args.seed) for lib, qf in args.folded]

    pooled = [defaultdict(Report) for _ in sets]
    for k in range(args.folds):
        train = list(fixed)
        for s in sets:
            for n in TRAIN_VARIANTS:
                train.extend(o for o, f in zip(s.obs[n], s.fold, strict=True) if f != k)
        th = calibrate_observations(train)
        print(
            f"fold {k}: answer P>={th.model['answer_prob'] if th.model else None} "
            f"suggest>={th.suggest_score}",
            file=sys.stderr,
        )
        for s, acc in zip(sets, pooled, strict=True):
            held = [i for i, f in enumerate(s.fold) if f == k]
            for n, os_ in s.obs.items():
                add(acc[n], evaluate([os_[i] for i in held], th))
            by_style = defaultdict(list)
            for i in held:
                if s.styles[i]:
                    by_style[f"style:{s.styles[i]}"].append(s.obs["original"][i])
            for st, os_ in by_style.items():
                add(acc[st], evaluate(os_, th))

    for s, acc in zip(sets, pooled, strict=True):
        n_cases = len({o.expect for o in s.obs["original"] if o.expect})
        print(f"\n{s.name}: {args.folds}-fold CV by case id, seed {args.seed}; {n_cases} cases")
        print("| variant | " + " | ".join(COLS) + " |")
        print("|---" * (len(COLS) + 1) + "|")
        for n in sorted(acc, key=lambda x: (x.startswith("style:"), x != "original", x)):
            r = acc[n].rates()
            print(f"| {n} | " + " | ".join(f"{r[c] * 100:.1f}%" for c in COLS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
