"""Does a message report a stuck request, or ask a routine question? Learned from labelled data.

The library's cases are requests no ordinary window could settle (办不了, 不给办, 推来推去). A
message that names a case's subject but asks something routine (要什么材料, 多少钱, 能不能转让)
is not answered by that case, however well its words match. The case features cannot see the
difference; the way the message is put can. This is a naive Bayes model over the message's
character bigrams: log-odds of a bigram appearing in a message that has a case against one
that has none, learned by ``doudi cases calibrate`` from the labelled messages and stored in
the thresholds file. Its two features (mean and minimum log-odds over the message's bigrams)
join the answer model; they never rank cases.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping


def bigrams(canon: str) -> set[str]:
    return {canon[i : i + 2] for i in range(len(canon) - 1)}


def fit(texts: Iterable[str], has_case: Iterable[bool]) -> dict[str, float]:
    """Bigram -> log-odds (Laplace-smoothed) of "the message has a case"."""
    pos: Counter[str] = Counter()
    neg: Counter[str] = Counter()
    n_pos = n_neg = 0
    for text, label in zip(texts, has_case, strict=True):
        grams = bigrams(text)
        if label:
            pos.update(grams)
            n_pos += 1
        else:
            neg.update(grams)
            n_neg += 1
    # Bigrams seen once are kept: dropping them was measured to lose 4 points of answered-right
    # on a data set the table never saw (benchmarks/caselib/README.md).
    table = {}
    for g in sorted(pos.keys() | neg.keys()):
        lo = math.log((pos[g] + 1) / (n_pos + 2)) - math.log((neg[g] + 1) / (n_neg + 2))
        table[g] = round(lo, 3)
    return table


def features(table: Mapping[str, float], canon: str) -> dict[str, float]:
    values = [table.get(g, 0.0) for g in bigrams(canon)]
    if not values:
        return {"nb": 0.0, "nb_min": 0.0}
    return {"nb": sum(values) / len(values), "nb_min": min(values)}


FEATURES = ("nb", "nb_min")
