"""Small text helpers shared by the flows: normalising what people type or say."""

from __future__ import annotations

import re
import unicodedata

# What voice Recognition and quick typing add around a short answer.
_EDGE = " \t\r\n\u3000。.，,！!？?~～、;；:：\"'“”‘’()（）[]【】<>《》…"


def nfkc(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms."""
    return unicodedata.normalize("NFKC", text or "")


def clean(text: str) -> str:
    """NFKC, trimmed of spaces and punctuation at both ends; for matching short answers."""
    return nfkc(text).strip(_EDGE).strip()


def squash(text: str) -> str:
    """`clean` and without inner spaces: '查 询' -> '查询'."""
    return re.sub(r"\s+", "", clean(text))


def content_len(text: str) -> int:
    """Characters that carry content: letters (incl. Chinese), digits."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def digits_only(text: str) -> str:
    return "".join(ch for ch in nfkc(text) if ch.isascii() and ch.isdigit())


def short(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def join_answer(previous: str, more: str) -> str:
    """Append a continuation message to a free-text answer."""
    previous, more = previous.rstrip(), more.strip()
    if not previous:
        return more
    if previous[-1] in "。.，,！!？?；;、":
        return previous + more
    return previous + "，" + more
