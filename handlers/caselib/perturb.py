"""Programmatic rewrites of citizen messages, to check and calibrate robustness.

They imitate what real messages look like beyond tidy typed text: ASR output without
punctuation, traditional characters, homophone typos (same toneless pinyin), very short
messages, and long ones padded with chit-chat. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from handlers.caselib.normalize import char_pinyin, is_han

_PUNCT = re.compile(r"[\s，。！？、；：,.!?;:\"'“”‘’（）()…—\-]+")
_OPENERS = [
    "喂你好，我想问一下，",
    "您好您好，打扰了，我是个老人家不太会打字，",
    "那个那个，就是说，",
    "同志你好，我家里的事情想咨询一下，",
]
_CLOSERS = [
    "，麻烦你们帮帮忙，谢谢了",
    "，我都跑了好几趟了，实在没办法才来问的，辛苦了",
    "，你们看看这个怎么弄，急死了",
    "，好的好的，等你们回复",
]
_s2t = None


def strip_punct(text: str, rng: random.Random) -> str:
    return _PUNCT.sub("", text)


def traditional(text: str, rng: random.Random) -> str:
    global _s2t
    if _s2t is None:
        import opencc

        _s2t = opencc.OpenCC("s2t")
    return _s2t.convert(text)


class Homophones:
    """Swaps some characters for others with the same toneless pinyin."""

    def __init__(self, corpus: Iterable[str], rate: float = 0.12) -> None:
        by_sound: dict[str, set[str]] = defaultdict(set)
        for text in corpus:
            for ch in text:
                if is_han(ch):
                    by_sound[char_pinyin(ch)].add(ch)
        self.by_sound = {k: sorted(v) for k, v in by_sound.items() if len(v) > 1}
        self.rate = rate

    def __call__(self, text: str, rng: random.Random) -> str:
        out = []
        for ch in text:
            alts = self.by_sound.get(char_pinyin(ch)) if is_han(ch) else None
            if alts and rng.random() < self.rate:
                out.append(rng.choice([a for a in alts if a != ch]))
            else:
                out.append(ch)
        return "".join(out)


def truncate(text: str, rng: random.Random) -> str:
    bare = _PUNCT.sub("", text)
    return bare[: max(6, min(len(bare), 10))]


def pad(text: str, rng: random.Random) -> str:
    return rng.choice(_OPENERS) + text + rng.choice(_CLOSERS)


def variants(corpus: Iterable[str]) -> dict[str, Callable[[str, random.Random], str]]:
    return {
        "no_punct": strip_punct,
        "traditional": traditional,
        "homophones": Homophones(corpus),
        "short": truncate,
        "padded": pad,
    }


def perturb_rows(
    rows: list[dict], fn: Callable[[str, random.Random], str], seed: int = 7
) -> list[dict]:
    rng = random.Random(seed)
    return [{**r, "query": fn(r["query"], rng)} for r in rows]
