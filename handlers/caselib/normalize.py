"""Text normalisation shared by indexing and querying.

Order matters: NFKC first (full-width letters/digits/punctuation become ASCII), then lower-case,
then traditional -> simplified (OpenCC ``t2s``), then every character that is not a letter,
digit or CJK ideograph is dropped (punctuation and spaces carry no meaning for matching, and ASR
text has none anyway).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u9fff]")
_lock = threading.Lock()
_converter = None


def _t2s():
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter


def normalize(text: str) -> str:
    """Return the canonical matching form of ``text`` (may be empty)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _t2s().convert(text)
    return _NON_WORD.sub("", text)


def is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """Toneless pinyin of one character ('' when it is not a Han character)."""
    if not is_han(ch):
        return ""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0]
