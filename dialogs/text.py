"""Small text helpers shared by the flows: normalising what people type or say."""

from __future__ import annotations

import re
import unicodedata

# What voice Recognition and quick typing add around a short answer.
_EDGE = " \t\r\n\u3000。.，,！!？?~～、;；:：\"'“”‘’()（）[]【】<>《》…"


# The last text normalised, and its form: a dialog step normalises the message it is given
# five to eight times (command, clean, squash, the sniffers, the parser). A text with
# full-width punctuation ("，") is normalised in full, ~5 us for 40 characters, each time.
# One (text, form) tuple, replaced whole: safe to read from any thread.
_last: tuple[str, str] = ("", "")


def nfkc(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms."""
    global _last
    last = _last
    if text == last[0]:
        return last[1]
    form = unicodedata.normalize("NFKC", text or "")
    if text:
        _last = (text, form)
    return form


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
