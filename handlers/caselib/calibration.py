"""Decision model, thresholds, and the calibration that produces them from labelled messages.

The matcher ranks cases by a score in [0, 1] (see :mod:`handlers.caselib.matcher`) and computes
library-relative confidence features of the top case (``matcher.confidence_features``).

Answer: a logistic model over those features and their pairwise products (standardised, L2
regularised, fitted with Newton's method in numpy) estimates P(top case is the message's case).
The top case is answered when that probability reaches ``model["answer_prob"]``. Suggest:
otherwise the top 2-3 cases are suggested when the top score reaches ``suggest_score``.
A message that hits no case at all (chit-chat) has no candidates and always gets "none".

``calibrate_observations`` fits the model on labelled messages (``{"query", "expect"}``, case id
or null; positives are messages whose top-ranked case is their case, everything else is a
negative), then picks ``answer_prob`` as the lowest probability that keeps wrong answers and
answered no-case messages within the target rates times ``safety`` (both on the complete and
padded/ASR/typo copies; see ``ANSWER_VARIANTS``), and, on all copies including truncated ones,
the highest
``suggest_score`` that reaches the answered-or-suggested target (or, when the truncated copies
make that target unreachable, keeps in reach every case the ranking puts in the top 3).

Without a model (old threshold files, tests) the score/margin rule is used: answer when
score >= answer_score and top-1 minus top-2 >= answer_margin.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from handlers.caselib import intent

DEFAULT_THRESHOLDS_PATH = Path(__file__).parent / "data" / "thresholds.json"


@dataclass(frozen=True)
class Thresholds:
    answer_score: float = 0.6
    answer_margin: float = 0.1
    suggest_score: float = 0.35
    suggest_floor: float = 0.25
    meta: dict = field(default_factory=dict, compare=False)
    model: dict | None = field(default=None, compare=False)  # answer model, see above

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
            model=dict(data["model"]) if data.get("model") else None,
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
    feats: dict[str, float] | None = None  # confidence features of the top case
    variant: str = "original"  # message style (see ``perturb.variants``)
    text: str = ""  # the message as the matcher canonicalised it (for the intent model)
    # A case's messages, or one no-case message, with all their perturbed copies: kept in one
    # fold when the intent model is cross-fitted.
    group: str = ""

    @property
    def top(self) -> float:
        return self.ranked[0][1] if self.ranked else 0.0

    @property
    def margin(self) -> float:
        if not self.ranked:
            return 0.0
        second = self.ranked[1][1] if len(self.ranked) > 1 else 0.0
        return self.ranked[0][1] - second


def decide(
    ranked: Sequence[tuple[str, float]],
    th: Thresholds,
    feats: dict[str, float] | None = None,
    text: str = "",
) -> tuple[str, list[str], list[float]]:
    """Apply thresholds to a ranked candidate list -> (decision, ids, scores).

    ``text``: the canonical message, for a model with an intent table (see ``intent``)."""
    top = list(ranked[:3])
    ids = [c for c, _ in top]
    scores = [round(float(s), 4) for _, s in top]
    if not top:
        return "none", [], []
    s1 = top[0][1]
    s2 = top[1][1] if len(top) > 1 else 0.0
    if th.model is not None and feats is not None:
        if "intent" in th.model:
            feats = {**feats, **intent.features(th.model["intent"], text)}
        if answer_probability(th.model, feats) >= th.model["answer_prob"]:
            return "answer", ids, scores
    elif s1 >= th.answer_score and s1 - s2 >= th.answer_margin:
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
        decision, ids, _ = decide(ob.ranked, th, ob.feats, ob.text)
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


# Features of the answer model (names from ``matcher.confidence_features``). Chosen as the
# principled subset: score and margin, IDF/general-weight coverage of the message, unexplained
# in-library (key-term conflict) and out-of-library mass, share of the case's own title/keyword
# evidence mentioned, keyword evidence, evidence the runner-up lacks, BM25 runner-up ratio and
# the number of the case's title/keyword facets evidenced.
MODEL_FEATURES = (
    "s1",
    "margin",
    "cover",
    "miss_lib",
    "miss_oov",
    "case_frac",
    "kw",
    "excl_mass",
    "bm_ratio",
    "facets",
    "rest",
    "rest_mass",
)
MODEL_L2 = 5.0

# Message styles calibration sees: the labelled messages as written plus perturbed copies (see
# :mod:`handlers.caselib.perturb`). All of them set the suggest threshold, so the cases of
# truncated and padded messages stay in reach. The answer model and its threshold are fitted
# on ANSWER_VARIANTS: adding the truncated copies there (and message-length features) was
# measured to give no more right answers on short messages and more answered no-case messages
# in cross-validation (benchmarks/caselib/README.md).
TRAIN_VARIANTS = ("original", "no_punct", "traditional", "homophones", "padded", "short")
ANSWER_VARIANTS = ("original", "no_punct", "traditional", "homophones", "padded")


def _expand(x: np.ndarray) -> np.ndarray:
    """Features plus all pairwise products (including squares): rows x (k + k(k+1)/2)."""
    k = x.shape[1]
    prods = [x[:, i : i + 1] * x[:, j : j + 1] for i in range(k) for j in range(i, k)]
    return np.hstack([x, *prods])


def _matrix(feats: Sequence[dict[str, float]], names: Sequence[str]) -> np.ndarray:
    return _expand(np.array([[f[n] for n in names] for f in feats], dtype=float))


def fit_answer_model(
    feats: Sequence[dict[str, float]],
    labels: Sequence[int],
    *,
    names: Sequence[str] = MODEL_FEATURES,
    l2: float = MODEL_L2,
) -> dict:
    """L2-regularised logistic regression (Newton's method) on expanded, standardised features.
    Returns a JSON-serialisable model (``answer_prob`` still to be set)."""
    x = _matrix(feats, names)
    y = np.asarray(labels, dtype=float)
    mu, sd = x.mean(0), x.std(0)
    sd = np.where(sd > 1e-6, sd, 1.0)  # a constant column stays finite once rounded to JSON
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.r_[np.full(z.shape[1] - 1, l2), 0.0]
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + reg * w
        hess = (z.T * (p * (1.0 - p))) @ z + np.diag(reg)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return {
        "kind": "logistic-pairwise",
        "features": list(names),
        "l2": l2,
        "mean": [round(float(v), 8) for v in mu],
        "std": [round(float(v), 8) for v in sd],
        "coef": [round(float(v), 8) for v in w[:-1]],
        "intercept": round(float(w[-1]), 8),
        "answer_prob": 1.01,
    }


def answer_probability(model: dict, feats: dict[str, float]) -> float:
    """P(the top-ranked case is the message's case) under a fitted model."""
    names = model["features"]
    x = [feats[n] for n in names]
    k = len(x)
    full = x + [x[i] * x[j] for i in range(k) for j in range(i, k)]
    z = model["intercept"]
    for v, m, sd, c in zip(full, model["mean"], model["std"], model["coef"], strict=True):
        z += c * (v - m) / sd
    if z < -30:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def _is_right(ob: Observation) -> bool:
    return ob.expect is not None and bool(ob.ranked) and ob.ranked[0][0] == ob.expect


INTENT_FOLDS = 5


def _fit_intent(obs: Sequence[Observation]) -> dict[str, float]:
    """The intent table from the messages as written (perturbed copies add no new wording)."""
    originals = [o for o in obs if o.variant == "original"]
    return intent.fit([o.text for o in originals], [o.expect is not None for o in originals])


def _with_cross_fitted_intent(obs: Sequence[Observation]) -> list[Observation]:
    """Observations whose features include the intent features, each computed by a table
    fitted without the observation's group (cross-fitting): an in-sample table would know
    every training message's wording and the answer model would trust it too much."""
    groups = sorted({o.group for o in obs})
    order = np.random.default_rng(0).permutation(len(groups))
    fold_of = {groups[j]: k % INTENT_FOLDS for k, j in enumerate(order)}
    out = list(obs)
    for k in range(INTENT_FOLDS):
        table = _fit_intent([o for o in obs if fold_of[o.group] != k])
        for i, o in enumerate(obs):
            if fold_of[o.group] == k and o.feats is not None:
                feats = {**o.feats, **intent.features(table, o.text)}
                out[i] = replace(o, feats=feats)
    return out


def calibrate_observations(
    observations: Sequence[Observation],
    *,
    max_wrong: float = 0.01,
    max_neg_answered: float = 0.025,
    min_reach: float = 0.97,
    safety: float = 1.0,
    meta: dict | None = None,
    answer_variants: Sequence[str] | None = ANSWER_VARIANTS,
) -> Thresholds:
    """Fit the answer model and pick the decision thresholds on ranked observations.

    The answer model and ``answer_prob`` are fitted on the observations whose ``variant`` is in
    ``answer_variants`` (None: all); the suggest thresholds on all of them.

    ``safety`` scales the error budgets (1.0 = the target rates themselves, measured on the
    calibration messages *and* their perturbed copies, which already count every hard message
    several times). Observations without features fall back to a score/margin grid search.
    """
    obs = list(observations)
    pos = [o for o in obs if o.expect is not None]
    fit = [o for o in obs if answer_variants is None or o.variant in answer_variants] or obs
    n_pos_fit = sum(1 for o in fit if o.expect is not None)
    wrong_budget = max_wrong * safety * max(n_pos_fit, 1)
    neg_budget = max_neg_answered * safety * max(len(fit) - n_pos_fit, 1)

    model = None
    if fit and all(o.feats is not None for o in fit):
        # The intent model joins when every message has a group to fold by and its text (a
        # message normalised to nothing, ？？？ say, reaches no case and needs none).
        use_intent = all(o.group and (o.text or not o.ranked) for o in obs)
        names = MODEL_FEATURES + intent.FEATURES if use_intent else MODEL_FEATURES
        if use_intent:
            fit = _with_cross_fitted_intent(fit)
        usable = [o for o in fit if o.ranked]
        model = fit_answer_model(
            [o.feats for o in usable], [int(_is_right(o)) for o in usable], names=names
        )
        # The budgets must hold with the intent features as the model was fitted on them (out
        # of fold) and as the shipped table gives them for these messages (in sample): the
        # first is what new wording looks like, the second what the product does on these.
        prob_sets = [[answer_probability(model, o.feats) if o.ranked else 0.0 for o in fit]]
        if use_intent:
            model["intent"] = _fit_intent(obs)
            table = model["intent"]
            prob_sets.append(
                [
                    answer_probability(model, {**o.feats, **intent.features(table, o.text)})
                    if o.ranked
                    else 0.0
                    for o in fit
                ]
            )
        chosen = 1.01
        for t in _grid(0.30, 0.99, 0.01):
            safe = True
            for probs in prob_sets:
                answered = [o for p, o in zip(probs, fit, strict=True) if p >= t]
                wrong = sum(1 for o in answered if o.expect is not None and not _is_right(o))
                nega = sum(1 for o in answered if o.expect is None)
                safe = safe and wrong <= wrong_budget and nega <= neg_budget
            if safe:
                chosen = t  # lowest safe threshold answers the most
                break
        model["answer_prob"] = chosen
        a, m = 1.01, 1.0  # the score/margin rule is not used with a model
    else:
        best = None
        for a in _grid(0.2, 0.95, 0.01):
            for m in _grid(0.0, 0.4, 0.01):
                rep = evaluate(fit, Thresholds(a, m, a, a))
                if rep.answered_wrong > wrong_budget or rep.neg_answered > neg_budget:
                    continue
                key = (rep.answered_right, a + m)
                if best is None or key > best[0]:
                    best = (key, a, m)
        a, m = (1.01, 1.0) if best is None else best[1:]

    def with_suggest(sug: float, floor: float) -> Thresholds:
        return Thresholds(a, m, sug, floor, model=model)

    # Suggest threshold: the highest value that still reaches the recall target. When no value
    # reaches it (truncated fragments whose case is not even ranked in the top 3 count too), the
    # highest value that keeps every case the ranking can put in reach. The floor for the 3rd
    # suggestion is the same search on the 3rd slot.
    def reach_of(sg: float, floor: float) -> int:
        return evaluate(obs, with_suggest(sg, floor)).right_in_reach

    need = min(min_reach * len(pos), reach_of(0.0, 0.0))
    chosen_s = 0.0
    for sg in sorted(_grid(0.0, 0.95, 0.01), reverse=True):
        if reach_of(sg, sg) >= need:
            chosen_s = sg
            break
    chosen_f = chosen_s
    for f in sorted(_grid(0.0, chosen_s, 0.01), reverse=True):
        if reach_of(chosen_s, f) >= need:
            chosen_f = f
            break
    final = Thresholds(a, m, chosen_s, chosen_f, meta=dict(meta or {}), model=model)
    rep = evaluate(obs, final)
    final.meta["calibration_rates"] = {k: round(v, 4) for k, v in rep.rates().items()}
    final.meta["n_messages_with_case"] = rep.n_pos
    final.meta["n_messages_without_case"] = rep.n_neg
    final.meta["safety"] = safety
    return final


def observe(
    matcher, rows: Iterable[dict], variant: str = "original", source: str = ""
) -> list[Observation]:
    """Rank each labelled message with ``matcher`` (decision-free), with its features.

    Group: ``source`` + the case id, or + the line of a no-case message; perturbed copies of a
    file (the same rows in the same order) share their original's group."""
    out = []
    for i, r in enumerate(rows):
        ranked, feats, text = matcher.observe_message(r["query"], limit=5)
        group = f"{source}:{r['expect']}" if r["expect"] else f"{source}:#{i}"
        out.append(Observation(r["expect"], tuple(ranked), feats, variant, text, group))
    return out


def observe_files(
    library: str | Path, queries: str | Path, *, perturbed: bool = True, seed: int = 7
) -> list[Observation]:
    """Observations for a library + labelled message file, plus perturbed copies of the
    messages in every style of ``TRAIN_VARIANTS`` (no punctuation, traditional, homophones,
    padded with chit-chat, truncated to 6-10 characters)."""
    from handlers.caselib.jsonl import load_cases, read_queries
    from handlers.caselib.matcher import CaseMatcher
    from handlers.caselib.perturb import perturb_rows, variants

    cases = load_cases(library)
    rows = read_queries(queries, with_expect=True)
    matcher = CaseMatcher(cases, thresholds=Thresholds())
    source = str(queries)
    out = observe(matcher, rows, source=source)
    if perturbed:
        corpus = [c.title + c.problem for c in cases] + [r["query"] for r in rows]
        for name, fn in variants(corpus).items():
            if name in TRAIN_VARIANTS:
                out.extend(observe(matcher, perturb_rows(rows, fn, seed), name, source))
    return out


def calibrate_files(
    library: str | Path | Sequence[str | Path],
    queries: str | Path | Sequence[str | Path],
    *,
    perturbed: bool = True,
    seed: int = 7,
) -> Thresholds:
    """Calibrate on one or more (library, labelled messages) pairs, each message ranked against
    its own library; the features are library-relative, so the pairs can be pooled."""
    libs = [library] if isinstance(library, str | Path) else list(library)
    qfiles = [queries] if isinstance(queries, str | Path) else list(queries)
    if len(libs) != len(qfiles):
        raise ValueError("give one --queries file per --library")
    obs: list[Observation] = []
    for lib, qf in zip(libs, qfiles, strict=True):
        obs.extend(observe_files(lib, qf, perturbed=perturbed, seed=seed))
    used = list(TRAIN_VARIANTS) if perturbed else ["original"]
    meta = {
        "library": [Path(x).name for x in libs],
        "queries": [Path(x).name for x in qfiles],
        "variants": used,
    }
    return calibrate_observations(obs, meta=meta)
