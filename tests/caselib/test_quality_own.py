"""Quality on our own labelled messages (demo library, every style a citizen writes in)."""

from __future__ import annotations

import pytest

from .conftest import DATA


@pytest.fixture(scope="module")
def rates():
    from benchmarks.caselib.quality import run

    return run(str(DATA / "demo_cases.jsonl"), str(DATA / "demo_queries.jsonl"))["results"]


def test_same_topic_questions_are_rarely_answered(rates):
    # Questions about a case's subject that the case does not answer (出生证明丢了怎么补
    # against the birth-registration case): the old model answered 40% of them.
    assert rates["style:nearmiss"]["no_case_answered"] <= 0.05
    assert rates["style:offtopic"]["no_case_answered"] <= 0.025


def test_no_wrong_answers_in_any_style(rates):
    for name, r in rates.items():
        assert r["answered_wrong"] <= 0.02, name


def test_well_described_messages_are_answered(rates):
    for style in ("long", "voice", "detail"):
        assert rates[f"style:{style}"]["answered_right"] >= 0.85, style
    assert rates["original"]["right_answer_or_suggested"] >= 0.95
