"""Text analysis and the immutable inverted index behind :class:`CaseMatcher`.

Features of a text are its character bigrams (robust to segmentation errors, ASR text and
unknown words) plus the words of three or more characters found by ``rjieba`` (a Rust port of
jieba: fast to import, no global dictionary state to load). Stop words are dropped first.

``InvertedIndex`` is built once and never mutated; the matcher swaps whole indexes in and out
(copy-on-write), so readers never need a lock.  Per posting it stores the BM25 weight; a query
is scored against every document with one numpy bincount over the postings of its terms (the
matcher then measures coverage on the few BM25 candidates only).
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handlers.caselib.normalize import char_pinyin, normalize
from handlers.caselib.synonyms import SynonymRewriter
from handlers.caselib.wordfreq import general_weight

STOPWORDS_PATH = Path(__file__).parent / "data" / "stopwords.txt"
BM25_K1 = 1.2
BM25_B = 0.75


def load_stopwords(path: str | Path = STOPWORDS_PATH) -> frozenset[str]:
    words: set[str] = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.lstrip().startswith("#"):
                continue
            words.update(normalize(w) for w in line.split())
    words.discard("")
    return frozenset(words)


class Analyzer:
    """Turns raw text into the canonical string and the feature list used for matching."""

    def __init__(
        self, rewriter: SynonymRewriter | None = None, stopwords: frozenset[str] | None = None
    ) -> None:
        import rjieba  # imported lazily: only the matcher needs it

        self._cut = rjieba.cut
        self.rewriter = rewriter if rewriter is not None else SynonymRewriter.default()
        self.stopwords = stopwords if stopwords is not None else load_stopwords()

    def canon(self, text: str) -> str:
        return self.rewriter.rewrite(normalize(text))

    def content(self, canon_text: str) -> list[str]:
        """Words of the canonical text with stop words removed (segmentation from rjieba)."""
        return [w for w in self._cut(canon_text) if w not in self.stopwords]

    def features(self, canon_text: str) -> list[str]:
        words = self.content(canon_text)
        feats: list[str] = []
        # Bigrams over the stop-word-free stream plus the long words themselves.
        stream = "".join(words)
        feats.extend(stream[i : i + 2] for i in range(len(stream) - 1))
        feats.extend(w for w in words if len(w) >= 3)
        if len(stream) == 1:
            feats.append(stream)
        return feats

    def weighted_features(
        self, canon_text: str, words: list[str] | None = None
    ) -> dict[str, float]:
        """Distinct features of the text, each with its general-Chinese informativeness in
        [0, 1] (see :mod:`handlers.caselib.wordfreq`): a bigram gets the mean weight of the
        words its two characters belong to, a long word its own weight. ``words``: the text's
        ``content`` when the caller has it already."""
        if words is None:
            words = self.content(canon_text)
        cw: list[float] = []
        for w in words:
            cw.extend([general_weight(w)] * len(w))
        stream = "".join(words)
        out: dict[str, float] = {}
        for i in range(len(stream) - 1):
            t = stream[i : i + 2]
            g = 0.5 * (cw[i] + cw[i + 1])
            if g > out.get(t, -1.0):
                out[t] = g
        for w in words:
            if len(w) >= 3:
                out[w] = max(out.get(w, 0.0), general_weight(w))
        if len(stream) == 1:
            out[stream] = cw[0]
        return out


def fold_bigram(bigram: str) -> str | None:
    """Pinyin key of a two-character string, or None when it is not two Han characters."""
    a = char_pinyin(bigram[0])
    b = char_pinyin(bigram[1]) if len(bigram) > 1 else ""
    if not a or not b:
        return None
    return a + " " + b


@dataclass(frozen=True)
class IndexedDoc:
    """What the index keeps per case: the display-free fields the rescorer needs.

    Term counts are two parallel tuples of interned strings and ints rather than a dict (a
    100,000-case library holds ten million of them); ``tf`` and ``tk_terms`` rebuild the
    mappings for the few documents a search looks at closely.
    """

    id: str
    terms: tuple[str, ...]
    counts: tuple[int, ...]
    head: tuple[str, ...]  # terms that occur in the title or keywords
    title: str
    keywords: tuple[str, ...]
    # Per keyword: its character bigrams (lets the matcher skip hopeless fuzzy comparisons).
    keyword_grams: tuple[frozenset[str], ...] = ()

    @property
    def tf(self) -> dict[str, int]:
        return dict(zip(self.terms, self.counts, strict=True))

    @property
    def tk_terms(self) -> frozenset[str]:
        return frozenset(self.head)


class InvertedIndex:
    """Immutable BM25 inverted index over a list of IndexedDoc (CSR postings in numpy)."""

    def __init__(
        self, docs: Sequence[IndexedDoc], df_prior: dict[str, int] | None = None, n_prior: int = 0
    ) -> None:
        self.docs = list(docs)
        self.ids = [d.id for d in self.docs]
        n = len(self.docs)
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.terms)
        vocab = {t: i for i, t in enumerate(df)}
        self.vocab = vocab
        self.df = dict(df)
        total_n = n + n_prior
        prior = df_prior or {}
        idf = np.zeros(len(vocab), dtype=np.float32)
        for t, i in vocab.items():
            f = df[t] + prior.get(t, 0)
            idf[i] = math.log(1.0 + (total_n - f + 0.5) / (f + 0.5))
        self.idf = idf
        self.n_total = total_n
        lengths = np.fromiter((sum(d.counts) for d in self.docs), dtype=np.float32, count=n)
        avgdl = float(lengths.mean()) if n else 1.0
        # Gather postings grouped by term.
        counts = np.zeros(len(vocab) + 1, dtype=np.int64)
        for t, f in df.items():
            counts[vocab[t] + 1] = f
        off = np.cumsum(counts)
        fill = off[:-1].copy()
        total = int(off[-1])
        pdoc = np.empty(total, dtype=np.int32)
        ptf = np.empty(total, dtype=np.float32)
        for di, d in enumerate(self.docs):
            for t, f in zip(d.terms, d.counts, strict=True):
                ti = vocab[t]
                p = fill[ti]
                fill[ti] = p + 1
                pdoc[p] = di
                ptf[p] = f
        norm = BM25_K1 * (1.0 - BM25_B + BM25_B * lengths / max(avgdl, 1e-6))
        term_of_posting = np.repeat(np.arange(len(vocab), dtype=np.int32), counts[1:])
        self.pw = (idf[term_of_posting] * ptf * (BM25_K1 + 1.0) / (ptf + norm[pdoc])).astype(
            np.float32
        )
        self.off = off
        self.pdoc = pdoc

    def __len__(self) -> int:
        return len(self.docs)

    def term_idf(self, term: str) -> float | None:
        i = self.vocab.get(term)
        return None if i is None else float(self.idf[i])

    def bm25(self, terms: Iterable[str]) -> np.ndarray:
        """BM25 of every document for the distinct query ``terms`` (float64, one per doc)."""
        n = len(self.docs)
        off, pdoc, pw = self.off, self.pdoc, self.pw
        spans: list[tuple[int, int]] = []
        for term in terms:
            i = self.vocab.get(term)
            if i is not None:
                spans.append((int(off[i]), int(off[i + 1])))
        if not spans:
            return np.zeros(n, dtype=np.float64)
        # A term's postings are contiguous: concatenate the slices (plain copies) and accumulate
        # with one bincount instead of a scatter-add per query term.
        d = np.concatenate([pdoc[a:b] for a, b in spans])
        w = np.concatenate([pw[a:b] for a, b in spans])
        return np.bincount(d, weights=w, minlength=n)


def build_doc(
    analyzer: Analyzer,
    case_id: str,
    title: str,
    keywords: Sequence[str],
    problem: str,
    solution: str,
) -> IndexedDoc:
    """Analyse one case. Title and keywords count twice; the solution is not indexed
    (it says what staff did, which citizens do not describe)."""
    ctitle = analyzer.canon(title)
    ckws = tuple(k for k in (analyzer.canon(k) for k in keywords) if k)
    head = analyzer.features(ctitle)
    for k in ckws:
        head.extend(analyzer.features(k))
    body = analyzer.features(analyzer.canon(problem))
    # Interned: the same bigram in 100,000 cases is one string object, not 100,000 copies.
    head = [sys.intern(t) for t in head]
    tf = Counter(head)
    for t in head:
        tf[t] += 1
    tf.update(sys.intern(t) for t in body)
    grams = tuple(frozenset(k[i : i + 2] for i in range(len(k) - 1)) for k in ckws)
    return IndexedDoc(case_id, tuple(tf), tuple(tf.values()), tuple(set(head)), ctitle, ckws, grams)
