"""Decision thresholds and the calibration that produces them from labelled messages.

The matcher ranks cases by a score in [0, 1] (see :mod:`handlers.caselib.matcher`). Whether the
top case is *answered*, a few are *suggested*, or nothing is returned is decided by the
thresholds below. ``calibrate`` picks them from labelled messages (``{"query", "expect"}`` with
a case id or null) by grid search: the answer threshold/margin pair that answers the most
messages correctly while keeping wrong answers and answered no-case messages under the target
rates (with a safety margin), then the lowest suggest threshold that keeps the no-case
messages mostly quiet while reaching the recall target.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_THRESHOLDS_PATH = Path(__file__).parent / "data" / "thresholds.json"


@dataclass(frozen=True)
class Thresholds:
    answer_score: float = 0.6
    answer_margin: float = 0.1
    suggest_score: float = 0.35
    suggest_floor: float = 0.25
    meta: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> Thresholds:
        return cls(
            answer_score=float(data["answer_score"]),
            answer_margin=float(data["answer_margin"]),
            suggest_score=float(data["suggest_score"]),
            suggest_floor=float(data.get("suggest_floor", data["suggest_score"])),
            meta=dict(data.get("meta", {})),
        )

    @classmethod
    def load(cls, path: str | Path = DEFAULT_THRESHOLDS_PATH) -> Thresholds:
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


@dataclass(frozen=True)
class Observation:
    """One labelled message as the ranker saw it (before any decision)."""

    expect: str | None
    ranked: tuple[tuple[str, float], ...]  # best first

    @property
    def top(self) -> float:
        return self.ranked[0][1] if self.ranked else 0.0

    @property
    def margin(self) -> float:
        if not self.ranked:
            return 0.0
        second = self.ranked[1][1] if len(self.ranked) > 1 else 0.0
        return self.ranked[0][1] - second


def decide(ranked: Sequence[tuple[str, float]], th: Thresholds) -> tuple[str, list[str],
                                                                         list[float]]:
    """Apply thresholds to a ranked candidate list -> (decision, ids, scores)."""
    top = list(ranked[:3])
    ids = [c for c, _ in top]
    scores = [round(float(s), 4) for _, s in top]
    if not top:
        return "none", [], []
    s1 = top[0][1]
    s2 = top[1][1] if len(top) > 1 else 0.0
    if s1 >= th.answer_score and s1 - s2 >= th.answer_margin:
        return "answer", ids, scores
    if s1 >= th.suggest_score:
        keep = [i for i, (_, s) in enumerate(top) if i < 2 or s >= th.suggest_floor]
        return "suggest", [ids[i] for i in keep], [scores[i] for i in keep]
    return "none", ids, scores


@dataclass
class Report:
    n_pos: int = 0
    n_neg: int = 0
    answered_right: int = 0
    answered_wrong: int = 0
    right_in_reach: int = 0  # answered right or among suggestions
    neg_answered: int = 0
    neg_suggested: int = 0

    def rates(self) -> dict[str, float]:
        p = max(self.n_pos, 1)
        n = max(self.n_neg, 1)
        return {
            "answered_right": self.answered_right / p,
            "right_answer_or_suggested": self.right_in_reach / p,
            "answered_wrong": self.answered_wrong / p,
            "no_case_answered": self.neg_answered / n,
            "no_case_suggested": self.neg_suggested / n,
        }


def evaluate(observations: Iterable[Observation], th: Thresholds) -> Report:
    rep = Report()
    for ob in observations:
        decision, ids, _ = decide(ob.ranked, th)
        if ob.expect is None:
            rep.n_neg += 1
            rep.neg_answered += decision == "answer"
            rep.neg_suggested += decision == "suggest"
            continue
        rep.n_pos += 1
        if decision == "answer":
            if ids[0] == ob.expect:
                rep.answered_right += 1
                rep.right_in_reach += 1
            else:
                rep.answered_wrong += 1
        elif decision == "suggest" and ob.expect in ids:
            rep.right_in_reach += 1
    return rep


def _grid(lo: float, hi: float, step: float) -> list[float]:
    n = round((hi - lo) / step)
    return [round(lo + i * step, 4) for i in range(n + 1)]


def calibrate_observations(observations: Sequence[Observation], *,
                           max_wrong: float = 0.01, max_neg_answered: float = 0.025,
                           min_reach: float = 0.97, safety: float = 0.5,
                           meta: dict | None = None) -> Thresholds:
    """Grid-search thresholds on ranked observations.

    ``safety`` scales the error budgets (0.5 = aim at half the allowed rate on the calibration
    data) so that the shipped thresholds keep some room on unseen wording.
    """
    obs = list(observations)
    pos = [o for o in obs if o.expect is not None]
    neg = [o for o in obs if o.expect is None]
    wrong_budget = max_wrong * safety * max(len(pos), 1)
    neg_budget = max_neg_answered * safety * max(len(neg), 1)

    best = None
    for a in _grid(0.2, 0.95, 0.01):
        for m in _grid(0.0, 0.4, 0.01):
            th = Thresholds(a, m, a, a)
            rep = evaluate(obs, th)
            if rep.answered_wrong > wrong_budget or rep.neg_answered > neg_budget:
                continue
            # Prefer more right answers, then the most conservative (highest) thresholds.
            key = (rep.answered_right, a + m)
            if best is None or key > best[0]:
                best = (key, a, m)
    if best is None:
        a, m = 1.01, 1.0  # nothing is safe to answer automatically
    else:
        _, a, m = best
    # Suggest threshold: the highest value that still reaches the recall target; the floor for
    # the 3rd suggestion is the same search on the 3rd slot.
    chosen_s = 0.0
    for s in sorted(_grid(0.0, min(a, 0.95), 0.01), reverse=True):
        rep = evaluate(obs, Thresholds(a, m, s, s))
        if rep.right_in_reach >= min_reach * len(pos):
            chosen_s = s
            break
    chosen_f = chosen_s
    for f in sorted(_grid(0.0, chosen_s, 0.01), reverse=True):
        rep = evaluate(obs, Thresholds(a, m, chosen_s, f))
        if rep.right_in_reach >= min_reach * len(pos):
            chosen_f = f
            break
    final = Thresholds(a, m, chosen_s, chosen_f, meta=dict(meta or {}))
    rep = evaluate(obs, final)
    final.meta["calibration_rates"] = {k: round(v, 4) for k, v in rep.rates().items()}
    final.meta["n_messages_with_case"] = rep.n_pos
    final.meta["n_messages_without_case"] = rep.n_neg
    return final


def observe(matcher, rows: Iterable[dict]) -> list[Observation]:
    """Rank each labelled message with ``matcher`` (decision-free)."""
    return [Observation(r["expect"], tuple(matcher.rank(r["query"], limit=5))) for r in rows]


def calibrate_files(library: str | Path, queries: str | Path, *, perturbed: bool = True,
                    seed: int = 7) -> Thresholds:
    """Calibrate on a library + labelled message file, plus perturbed copies of the messages
    (no punctuation, traditional, homophones, padded with chit-chat; truncated messages are
    left out because a truncated message often no longer names its case)."""
    from handlers.caselib.jsonl import load_cases, read_queries
    from handlers.caselib.matcher import CaseMatcher
    from handlers.caselib.perturb import perturb_rows, variants

    cases = load_cases(library)
    rows = read_queries(queries, with_expect=True)
    matcher = CaseMatcher(cases, thresholds=Thresholds())
    all_rows = list(rows)
    used = ["original"]
    if perturbed:
        corpus = [c.title + c.problem for c in cases] + [r["query"] for r in rows]
        for name, fn in variants(corpus).items():
            if name == "short":
                continue
            all_rows.extend(perturb_rows(rows, fn, seed))
            used.append(name)
    meta = {"library": Path(library).name, "queries": Path(queries).name,
            "variants": used, "n_cases": len(cases)}
    return calibrate_observations(observe(matcher, all_rows), meta=meta)
