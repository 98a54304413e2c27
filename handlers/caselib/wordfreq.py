"""How informative a word is in general Chinese, from jieba's dictionary word frequencies.

Library IDF says how rare a term is among the cases; it cannot say whether a word the library
has never seen is an everyday word (辛苦, 打扰, 老人家) or a specific one (护照, 个税). Citizens pad
messages with everyday words, so a message word the library does not know should only count
against a match as much as it is informative in general.

``general_weight(word)`` maps jieba's corpus frequency to [0, 1]: 0 for the most common words,
1 for words rarer than about one in 600,000 (or absent from the dictionary). Only the frequency
column of jieba's ``dict.txt`` is read (the tokenizer is not imported); words rarer than
``MIN_FREQ`` are not kept, they weigh 1 anyway. Without jieba installed every word weighs 1.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from pathlib import Path

MIN_FREQ = 20
COMMON = 100_000  # frequency at (and above) which a word weighs 0
RARE = 100  # frequency at (and below) which a word weighs 1

_lock = threading.Lock()
_table: dict[str, float] | None = None


def _dict_path() -> Path | None:
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "dict.txt"
    return path if path.exists() else None


def _load() -> dict[str, float]:
    path = _dict_path()
    table: dict[str, float] = {}
    if path is None:
        return table
    lo, hi = math.log(COMMON), math.log(RARE)
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split(" ", 2)
            if len(parts) < 2:
                continue
            f = int(parts[1])
            if f < MIN_FREQ:
                continue
            w = (lo - math.log(max(f, 1))) / (lo - hi)
            table[parts[0]] = min(max(w, 0.0), 1.0)
    return table


def table() -> dict[str, float]:
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = _load()
    return _table


def general_weight(word: str) -> float:
    """Informativeness of ``word`` in general Chinese, in [0, 1] (1 = rare / unknown)."""
    return table().get(word, 1.0)
