"""The decision model's pieces: confidence features, the logistic fit, the decision, calibration."""

from __future__ import annotations

import random

import pytest

from handlers.caselib.calibration import (
    MODEL_FEATURES,
    Observation,
    Thresholds,
    answer_probability,
    calibrate_observations,
    decide,
    fit_answer_model,
)
from handlers.caselib.matcher import FEATURES, CaseDoc, CaseMatcher

TINY = [
    CaseDoc(
        "A",
        "燃气表换表收费太高",
        "燃气公司上门更换燃气表，收取的换表费用过高。",
        "引导市民向市场监管部门反映收费问题。",
        ("燃气表", "换表收费"),
    ),
    CaseDoc(
        "B",
        "楼上漏水物业不管",
        "楼上卫生间漏水渗到楼下天花板，物业不处理。",
        "协调社区和物业上门查看漏水点。",
        ("楼上漏水", "天花板渗水"),
    ),
    CaseDoc(
        "C",
        "健身房关门预付卡退不了",
        "健身房突然关门，会员办的预付卡余额退不了。",
        "引导会员向市场监管部门投诉并登记债权。",
        ("预付卡", "健身房关门"),
    ),
]


@pytest.fixture(scope="module")
def tiny():
    return CaseMatcher(TINY, thresholds=Thresholds())


def test_features_of_a_message_that_names_its_case(tiny):
    ranked, f = tiny.observe("燃气表换表收费太高了")
    assert ranked[0][0] == "A"
    assert set(f) == set(FEATURES)
    assert f["cover"] > 0.8  # the case explains nearly all of the message
    assert f["miss_lib"] < 0.1 and f["miss_oov"] < 0.1
    assert f["kw"] == 1.0  # both keywords occur verbatim
    assert f["facets"] >= 2
    assert f["margin"] > 0.3 and f["bm_ratio"] < 0.5


def test_features_drop_when_the_message_is_about_something_the_case_does_not_say(tiny):
    _, on_topic = tiny.observe("燃气表换表收费太高")
    _, off_topic = tiny.observe("燃气表坏了以后煤气罐在哪里买比较便宜")
    assert off_topic["cover"] < on_topic["cover"]
    assert (
        off_topic["miss_lib"] + off_topic["miss_oov"] > on_topic["miss_lib"] + on_topic["miss_oov"]
    )


def test_features_are_zero_for_chit_chat(tiny):
    ranked, f = tiny.observe("今天天气怎么样")
    assert ranked == []
    assert all(v == 0.0 for v in f.values())


def test_padding_keeps_the_case_and_counts_less_than_a_different_subject(tiny):
    ranked, padded = tiny.observe("您好您好，打扰了，楼上漏水物业不管，麻烦你们帮帮忙，谢谢了")
    _, other = tiny.observe("楼上漏水物业不管，另外小区停车位被别人占了，垃圾分类没人管")
    assert ranked[0][0] == "B"
    assert padded["cover"] > other["cover"]


def _separable(n: int = 200, seed: int = 3):
    rng = random.Random(seed)
    feats, labels = [], []
    for _ in range(n):
        y = rng.random() < 0.5
        f = {name: rng.random() * 0.2 for name in MODEL_FEATURES}
        f["cover"] = (0.6 if y else 0.1) + rng.random() * 0.3  # the only signal
        feats.append(f)
        labels.append(int(y))
    return feats, labels


def test_logistic_fit_recovers_an_obvious_separation():
    feats, labels = _separable()
    model = fit_answer_model(feats, labels)
    probs = [answer_probability(model, f) for f in feats]
    assert all((p > 0.5) == bool(y) for p, y in zip(probs, labels, strict=True))
    hi = dict(feats[0], cover=0.85)
    lo = dict(feats[0], cover=0.15)
    assert answer_probability(model, hi) > 0.9 > 0.1 > answer_probability(model, lo)
    # The coefficient of the linear "cover" term points the right way.
    assert model["coef"][MODEL_FEATURES.index("cover")] > 0


def test_model_is_plain_json_and_survives_a_constant_feature():
    import json

    feats, labels = _separable(60)
    for f in feats:
        f["facets"] = 0.0  # constant in training: its std must not become 0 in the JSON
    model = json.loads(json.dumps(fit_answer_model(feats, labels)))
    for f in feats:
        assert 0.0 <= answer_probability(model, f) <= 1.0


def _model_with(prob_of_cover: float) -> dict:
    """A hand-made model: P = sigmoid(k * (cover - 0.5)), nothing else matters."""
    names = list(MODEL_FEATURES)
    k = len(names)
    width = k + k * (k + 1) // 2
    coef = [0.0] * width
    coef[names.index("cover")] = prob_of_cover
    return {
        "features": names,
        "mean": [0.5 if n == "cover" else 0.0 for n in names] + [0.0] * (width - k),
        "std": [1.0] * width,
        "coef": coef,
        "intercept": 0.0,
        "answer_prob": 0.85,
    }


def test_decision_uses_the_probability_not_the_score():
    th = Thresholds(suggest_score=0.2, suggest_floor=0.1, model=_model_with(20.0))
    ranked = [("A", 0.3), ("B", 0.25), ("C", 0.05)]
    sure = dict.fromkeys(MODEL_FEATURES, 0.0) | {"cover": 0.9}  # P ~ 1
    unsure = dict.fromkeys(MODEL_FEATURES, 0.0) | {"cover": 0.5}  # P = 0.5
    assert decide(ranked, th, sure) == ("answer", ["A", "B", "C"], [0.3, 0.25, 0.05])
    # Same ranking, lower P: suggestions (the 3rd is under the floor), not an answer.
    assert decide(ranked, th, unsure) == ("suggest", ["A", "B"], [0.3, 0.25])
    # A high P never answers an empty ranking; a low score with low P is "none".
    assert decide([], th, sure)[0] == "none"
    assert decide([("A", 0.1)], th, unsure)[0] == "none"


def test_calibration_answers_the_separable_positives_and_keeps_negatives_out():
    rng = random.Random(5)
    obs = []
    for i in range(300):
        f = {name: rng.random() * 0.2 for name in MODEL_FEATURES}
        kind = i % 3
        if kind == 0:  # clear message of its case, ranked first
            f["cover"] = 0.7 + rng.random() * 0.3
            obs.append(Observation(f"X{i}", ((f"X{i}", 0.6), ("Y", 0.2)), f))
        elif kind == 1:  # vague message: its case is only second
            f["cover"] = rng.random() * 0.3
            obs.append(Observation(f"X{i}", (("Y", 0.3), (f"X{i}", 0.25)), f))
        else:  # no case
            f["cover"] = rng.random() * 0.3
            obs.append(Observation(None, (("Y", 0.2),), f))
    th = calibrate_observations(obs)
    rates = th.meta["calibration_rates"]
    assert rates["answered_wrong"] == 0.0
    assert rates["no_case_answered"] == 0.0
    assert rates["answered_right"] == pytest.approx(0.5)  # every clear message, nothing else
    assert rates["right_answer_or_suggested"] == 1.0  # the vague ones are suggested
    assert th.suggest_score == pytest.approx(0.3)  # the highest score that keeps them


def test_suggest_threshold_falls_back_to_what_the_ranking_can_reach():
    f = dict.fromkeys(MODEL_FEATURES, 0.0)
    obs = [Observation("A", (("A", 0.5), ("B", 0.1)), f) for _ in range(8)]
    obs += [Observation("A", (("B", 0.2), ("C", 0.1), ("D", 0.05)), f, "short")] * 2
    th = calibrate_observations(obs, answer_variants=None)
    # 80% is all the ranking can reach: the threshold keeps it without going to zero.
    assert th.meta["calibration_rates"]["right_answer_or_suggested"] == pytest.approx(0.8)
    assert th.suggest_score == pytest.approx(0.5)
