from __future__ import annotations

from pathlib import Path

import pytest

from handlers.caselib.calibration import Thresholds
from handlers.caselib.jsonl import load_cases
from handlers.caselib.matcher import CaseMatcher

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "handlers" / "caselib" / "data"
SHARED = ROOT.parent / "shared" / "caselib"


@pytest.fixture(scope="session")
def demo_cases():
    return load_cases(DATA / "demo_cases.jsonl")


@pytest.fixture(scope="session")
def demo_matcher(demo_cases):
    return CaseMatcher(demo_cases)


@pytest.fixture
def fixed_thresholds():
    """Thresholds independent of the shipped calibration, for decision-logic tests."""
    return Thresholds(answer_score=0.45, answer_margin=0.15, suggest_score=0.2, suggest_floor=0.15)
