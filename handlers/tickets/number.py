"""Ticket numbers: 12 digits = YYMMDD + 5 permuted counter digits + 1 Damm check digit.

The day's counter (0..99999) is passed through a keyed permutation so that numbers do not
reveal how many requests a window gets a day, nor let anyone guess a neighbour's number.
The permutation is a 6-round balanced Feistel network over 18 bits (HMAC-SHA256 round
function, tweaked by the day), restricted to 00000..99999 by cycle-walking. The last digit is
a Damm check digit, which catches every single-digit error and every adjacent transposition,
so a mistyped number is refused before anything is looked up.

Pure: no clock, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date
from functools import lru_cache

DOMAIN = 100_000  # five digits
_HALF_BITS = 9  # 2 * 9 = 18 bits = 262144 >= DOMAIN
_HALF_MASK = (1 << _HALF_BITS) - 1
_ROUNDS = 6

# The Damm quasigroup of order 10 (weakly totally anti-symmetric).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

# Separators people put inside a number: spaces, hyphens and dashes of every width, dots.
_SEPARATORS = " \t\u3000-‐‑‒–—―－_.·"
# Finds a 12-digit number, possibly split by separators, not glued to other digits.
# Apply it to NFKC-normalised text (see `find`), so full-width digits are ASCII by then.
NUMBER_RE = re.compile(r"(?<!\d)\d(?:[ \t\-‐‑‒–—―_.·]*\d){11}(?![ \t\-‐‑‒–—―_.·]*\d)")


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def _damm_interim(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def check_digit(digits: str) -> str:
    """The Damm check digit of a string of ASCII digits."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("digits only")
    return str(_damm_interim(digits))


@lru_cache(maxsize=64)
def _round_tables(key: bytes, day: str) -> tuple[tuple[int, ...], ...]:
    """One lookup table per round: F_i(r) for every 9-bit half r. 6 * 512 HMACs per key+day."""
    tables = []
    for i in range(_ROUNDS):
        row = []
        for r in range(1 << _HALF_BITS):
            msg = f"{day}|{i}|{r}".encode()
            mac = hmac.new(key, msg, hashlib.sha256).digest()
            row.append(int.from_bytes(mac[:4], "big") & _HALF_MASK)
        tables.append(tuple(row))
    return tuple(tables)


def _feistel(x: int, tables: tuple[tuple[int, ...], ...]) -> int:
    left, right = x >> _HALF_BITS, x & _HALF_MASK
    for table in tables:
        left, right = right, left ^ table[right]
    return (left << _HALF_BITS) | right


def _feistel_inverse(y: int, tables: tuple[tuple[int, ...], ...]) -> int:
    left, right = y >> _HALF_BITS, y & _HALF_MASK
    for table in reversed(tables):
        left, right = right ^ table[left], left
    return (left << _HALF_BITS) | right


def _tables(key: str | bytes, day: str) -> tuple[tuple[int, ...], ...]:
    return _round_tables(_key_bytes(key), day)


def permute(counter: int, key: str | bytes, day: str = "") -> int:
    """A keyed bijection on 0..99999 (cycle-walking keeps the 18-bit Feistel in range)."""
    if not 0 <= counter < DOMAIN:
        raise ValueError(f"counter must be in 0..{DOMAIN - 1}")
    tables = _tables(key, day)
    x = _feistel(counter, tables)
    while x >= DOMAIN:
        x = _feistel(x, tables)
    return x


def unpermute(value: int, key: str | bytes, day: str = "") -> int:
    if not 0 <= value < DOMAIN:
        raise ValueError(f"value must be in 0..{DOMAIN - 1}")
    tables = _tables(key, day)
    x = _feistel_inverse(value, tables)
    while x >= DOMAIN:
        x = _feistel_inverse(x, tables)
    return x


def make_number(day: date, counter: int, key: str | bytes) -> str:
    """The ticket number for the `counter`-th ticket of `day` (counter in 0..99999)."""
    prefix = day.strftime("%y%m%d")
    body = prefix + f"{permute(counter, key, prefix):05d}"
    return body + check_digit(body)


def is_valid(number: str) -> bool:
    """12 ASCII digits whose Damm check passes (says nothing about whether the ticket exists)."""
    return (
        isinstance(number, str)
        and len(number) == 12
        and number.isascii()
        and number.isdigit()
        and _damm_interim(number) == 0
    )


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def normalise(text: str) -> str | None:
    """12 ASCII digits from what a person typed (spaces, hyphens, full-width digits), or None.

    Does not check the check digit: use `is_valid` for that, so the caller can tell a typo
    ("号码可能输错了") from something that is not a number at all.
    """
    if not isinstance(text, str):
        return None
    cleaned = _nfkc(text).strip()
    for sep in _SEPARATORS:
        cleaned = cleaned.replace(_nfkc(sep), "")
    if len(cleaned) == 12 and cleaned.isascii() and cleaned.isdigit():
        return cleaned
    return None


def find(text: str) -> str | None:
    """The first 12-digit number in free text ("查询 2611 2804 1739"), normalised, or None."""
    match = NUMBER_RE.search(_nfkc(text or ""))
    return normalise(match.group(0)) if match else None


def display(number: str) -> str:
    """'261128041739' -> '2611 2804 1739' (groups of four are easy to read out and copy)."""
    n = normalise(number) or number
    return " ".join(n[i : i + 4] for i in range(0, len(n), 4))


def counter_of(number: str, key: str | bytes) -> int:
    """The day's counter a valid number was made from (the inverse of `make_number`)."""
    n = normalise(number)
    if n is None or not is_valid(n):
        raise ValueError("not a valid ticket number")
    return unpermute(int(n[6:11]), key, n[:6])


def day_of(number: str) -> date:
    n = normalise(number)
    if n is None:
        raise ValueError("not a ticket number")
    return date(2000 + int(n[0:2]), int(n[2:4]), int(n[4:6]))
