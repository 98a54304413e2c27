"""Cross-validated quality of the calibrated answer model (an honest estimate for unseen cases).

The shipped model is fitted on the demo data *and* the shared dev set, so dev numbers measured
with it are in-sample. This script estimates how it does on cases it has never seen: the dev
cases are split into 5 folds by case id (the 40 no-case messages are split 5 ways too); for each
fold the model and thresholds are fitted exactly as ``doudi cases calibrate`` does (demo data +
the 4/5 of dev, messages plus perturbed copies) and evaluated on the held-out fifth, as written
and in every perturbed variant. Counts are pooled over the folds.

Usage: PYTHONPATH=. python benchmarks/caselib/cv.py --library CASES --queries QUERIES
"""

from __future__ import annotations

import argparse
import random
import sys

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
from handlers.caselib.perturb import perturb_rows, variants

DEMO = "handlers/caselib/data/"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--library", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    demo_obs = observe_files(DEMO + "demo_cases.jsonl", DEMO + "demo_queries.jsonl")
    cases = load_cases(args.library)
    rows = read_queries(args.queries, with_expect=True)
    matcher = CaseMatcher(cases, thresholds=Thresholds())
    corpus = [c.title + c.problem for c in cases] + [r["query"] for r in rows]
    sets = {"original": rows}
    for name, fn in variants(corpus).items():
        sets[name] = perturb_rows(rows, fn, 7)
    obs: dict[str, list[Observation]] = {n: observe(matcher, rs, n) for n, rs in sets.items()}

    rng = random.Random(args.seed)
    ids = sorted({r["expect"] for r in rows if r["expect"]})
    rng.shuffle(ids)
    fold_of_case = {c: i % args.folds for i, c in enumerate(ids)}
    nulls = [i for i, r in enumerate(rows) if r["expect"] is None]
    rng.shuffle(nulls)
    fold_of_null = {j: i % args.folds for i, j in enumerate(nulls)}

    def fold(i: int) -> int:
        e = rows[i]["expect"]
        return fold_of_case[e] if e else fold_of_null[i]

    pooled = {n: Report() for n in obs}
    for k in range(args.folds):
        train = list(demo_obs)
        for n in TRAIN_VARIANTS:
            train.extend(o for i, o in enumerate(obs[n]) if fold(i) != k)
        th = calibrate_observations(train)
        print(
            f"fold {k}: answer P>={th.model['answer_prob'] if th.model else None} "
            f"suggest>={th.suggest_score}",
            file=sys.stderr,
        )
        for n, os_ in obs.items():
            rep = evaluate([o for i, o in enumerate(os_) if fold(i) == k], th)
            acc = pooled[n]
            for f in vars(rep):
                setattr(acc, f, getattr(acc, f) + getattr(rep, f))
    cols = [
        "answered_right",
        "right_answer_or_suggested",
        "answered_wrong",
        "no_case_answered",
        "no_case_suggested",
    ]
    print(f"{args.folds}-fold CV by case id; {len(ids)} cases, {len(rows)} messages")
    print("| variant | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for n, rep in pooled.items():
        r = rep.rates()
        print(f"| {n} | " + " | ".join(f"{r[c] * 100:.1f}%" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
