"""The centre sniffer's names, made once per list of centres, stay right and stay bounded."""

from __future__ import annotations

from dialogs import validators
from dialogs.config import DEFAULT_CENTRES, DialogConfig


def test_many_configurations_one_after_another_keep_the_cache_small_and_right() -> None:
    for i in range(200):
        centres = tuple(DEFAULT_CENTRES[i % len(DEFAULT_CENTRES) :]) or DEFAULT_CENTRES
        config = DialogConfig(centres=centres)
        first = centres[0]
        assert validators.centre_candidates(first.name, config)[0] == first
    assert len(validators._NAMED) <= validators._NAMED_MAX
