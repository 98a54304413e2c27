"""Ticket numbers: Damm check digit, keyed permutation, parsing and display."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.tickets import number as tn

KEY = "test-key"
digits12 = st.text(alphabet="0123456789", min_size=11, max_size=11)


@given(digits12, st.integers(0, 11), st.integers(1, 9))
def test_damm_catches_every_single_digit_error(body, pos, delta):
    number = body + tn.check_digit(body)
    assert tn.is_valid(number)
    wrong = str((int(number[pos]) + delta) % 10)
    typo = number[:pos] + wrong + number[pos + 1 :]
    assert not tn.is_valid(typo)


def test_damm_catches_every_adjacent_transposition_exhaustively():
    # Transposition of a, b at any position, after any interim state: check the quasigroup.
    for interim in range(10):
        for a in range(10):
            for b in range(10):
                if a == b:
                    continue
                ab = tn._DAMM[tn._DAMM[interim][a]][b]
                ba = tn._DAMM[tn._DAMM[interim][b]][a]
                assert ab != ba
    # And as whole numbers, including a swap with the check digit itself.
    for body in ("26112804173", "00000000000", "99123198765"):
        number = body + tn.check_digit(body)
        for i in range(11):
            if number[i] != number[i + 1]:
                swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
                assert not tn.is_valid(swapped)


@given(digits12, st.integers(0, 10))
def test_damm_catches_adjacent_transpositions(body, pos):
    number = body + tn.check_digit(body)
    if number[pos] != number[pos + 1]:
        swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]
        assert not tn.is_valid(swapped)


@pytest.mark.parametrize("key", ["test-key", b"\x00another key"])
def test_permutation_is_a_bijection_exhaustively(key):
    for day in ("261128", ""):
        image = [tn.permute(c, key, day) for c in range(tn.DOMAIN)]
        assert sorted(image) == list(range(tn.DOMAIN))
        assert all(tn.unpermute(v, key, day) == c for c, v in enumerate(image[:5000]))


def test_permutation_depends_on_key_and_day():
    a = [tn.permute(c, "k1", "261128") for c in range(1, 50)]
    b = [tn.permute(c, "k2", "261128") for c in range(1, 50)]
    c = [tn.permute(c, "k1", "261129") for c in range(1, 50)]
    assert a != b and a != c
    assert a != list(range(1, 50))


@given(st.integers(1, 3000))
def test_numbers_for_counters_are_distinct_and_invertible(n):
    day = date(2026, 11, 28)
    numbers = [tn.make_number(day, c, KEY) for c in range(1, n + 1, max(1, n // 200))]
    assert len(set(numbers)) == len(numbers)
    for num in numbers:
        assert len(num) == 12 and num.startswith("261128") and tn.is_valid(num)
    counters = list(range(1, n + 1, max(1, n // 200)))
    assert [tn.counter_of(num, KEY) for num in numbers] == counters


@given(st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.integers(0, 99_999))
def test_make_number_round_trip(day, counter):
    num = tn.make_number(day, counter, KEY)
    assert tn.is_valid(num)
    assert tn.day_of(num) == day
    assert tn.counter_of(num, KEY) == counter


def test_counter_out_of_range():
    with pytest.raises(ValueError):
        tn.make_number(date(2026, 11, 28), 100_000, KEY)
    with pytest.raises(ValueError):
        tn.make_number(date(2026, 11, 28), -1, KEY)


def test_normalise_display_find():
    num = tn.make_number(date(2026, 11, 28), 41, KEY)
    spaced = tn.display(num)
    assert spaced == f"{num[:4]} {num[4:8]} {num[8:]}"
    full_width = num.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for text in (
        num,
        spaced,
        f"{num[:4]}-{num[4:8]}-{num[8:]}",
        full_width,
        f"{num[:4]}　{num[4:8]}－{num[8:]}",
    ):
        assert tn.normalise(text) == num
        assert tn.find(f"查询{text}谢谢") == num
    assert tn.normalise("12345") is None
    assert tn.normalise("2611280417391") is None
    assert tn.normalise("abcd") is None
    assert tn.find("我的电话13912345678") is None
    assert tn.find("1234567890123") is None  # 13 digits is not a ticket number
    assert not tn.is_valid("26112804173")
    assert tn.check_digit("572") == "4"  # the textbook Damm example


@given(st.text(max_size=40))
def test_normalise_never_crashes(text):
    out = tn.normalise(text)
    assert out is None or (len(out) == 12 and out.isdigit())
    found = tn.find(text)
    assert found is None or len(found) == 12
