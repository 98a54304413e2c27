"""The perturbed copies a quality run evaluates: the calibration's own, plus chit-chat padding
that nothing in the product was written from.

``perturb.pad`` pads with a handful of phrases that the calibration also fits on. The openers
and closers in ``paddings_holdout.json`` were written separately, by someone who saw neither the
product nor the shared data, so the ``padded_holdout`` copy measures long messages in wording
the matcher never met. They are evaluation data: never fit on them, never copy them into the
product.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path

from handlers.caselib.matcher import CaseDoc
from handlers.caselib.perturb import perturb_rows, variants

HOLDOUT_PATH = Path(__file__).parent / "paddings_holdout.json"


def held_out_padding(path: Path = HOLDOUT_PATH) -> Callable[[str, random.Random], str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    openers, closers = data["openers"], data["closers"]

    def pad(text: str, rng: random.Random) -> str:
        return rng.choice(openers) + text + rng.choice(closers)

    return pad


def evaluation_variants(corpus: Iterable[str]) -> dict[str, Callable[[str, random.Random], str]]:
    return {**variants(corpus), "padded_holdout": held_out_padding()}


def evaluation_sets(cases: list[CaseDoc], rows: list[dict], seed: int) -> dict[str, list[dict]]:
    """The labelled messages as written ("original") and in every evaluation copy."""
    corpus = [c.title + c.problem for c in cases] + [r["query"] for r in rows]
    sets = {"original": rows}
    for name, fn in evaluation_variants(corpus).items():
        sets[name] = perturb_rows(rows, fn, seed)
    return sets
