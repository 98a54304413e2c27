"""The case matcher: which solved case answers a citizen's message?

Pipeline for a message
  1. ``normalize``: NFKC, lower case, traditional -> simplified, punctuation/space stripped.
  2. Homophone repair: a character bigram that occurs in no case and in no synonym term but
     sounds (toneless pinyin) exactly like one that does is replaced by it (ASR and pinyin-IME
     typos: 设保 -> 社保).
  3. Synonyms from ``data/synonyms.txt`` are rewritten to their canonical term.
  4. Features (bigrams + long words, stop words removed) are looked up in the inverted index:
     BM25 (one bincount over the terms' postings) gives the 30 candidates; for each of them
     we measure how much of the message (IDF-weighted) it explains, overall and by its
     title/keywords alone.
  5. The top candidates are rescored into a value in [0, 1]:
       0.46 * coverage of the message by the case
     + 0.21 * coverage of the message by the case's title and keywords
     + 0.33 * keyword evidence (share of the case's keywords found, fuzzily, in the message)
     Coverage is what separates 社保断缴 from 医保断缴: the differing word is a message term the
     wrong case does not explain. Words that appear in no case at all (天气, 作文) count
     against every case, so chit-chat scores low.
  6. ``confidence_features`` describes how well the top case explains the message, relative to
     the library (IDF x general-Chinese informativeness coverage, key-term conflict, facets of
     the case evidenced, margin over the runner-up). ``calibration.decide`` answers when the
     logistic model in ``data/thresholds.json`` gives P(top case is right) >= its answer_prob,
     suggests 2-3 cases when the top score reaches suggest_score, else none. Model and
     thresholds come from ``doudi cases calibrate`` (rerunnable on labelled data).

Concurrency (copy-on-write)
  All searchable state is one immutable ``_Snapshot`` (base index, small delta index, set of
  retired base slots). ``search`` reads ``self._snap`` once and never locks. ``upsert`` and
  ``remove`` take a writer lock, analyse the case, rebuild only the small delta index (cases
  changed since the last merge) and publish a new snapshot with one attribute assignment (atomic
  in CPython). When the delta grows past ``merge_at`` cases a background thread rebuilds the base
  from all live cases and swaps it in; edits made while it runs stay in the new delta. Readers
  therefore always see a consistent library and an edit is visible as soon as ``upsert`` or
  ``remove`` returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from handlers.caselib import wordfreq
from handlers.caselib.calibration import Thresholds, decide
from handlers.caselib.index import (
    Analyzer,
    IndexedDoc,
    InvertedIndex,
    build_doc,
    fold_bigram,
)
from handlers.caselib.normalize import is_han

W_COVER = 0.46
W_HEAD = 0.21
W_KEYWORD = 0.33
CANDIDATES = 30
IDF_POWER = 1.0  # coverage weight of a term is idf**power (1.0 measured best)
OOV_WEIGHT = 1.0  # weight of a message term found in no case, as a share of the maximal IDF
# What ``warm_up`` searches for: Han and Latin characters, a homophone typo (设保), a synonym.
WARM_UP_QUERY = "我爸的设保养老金资格认证办不了，窗口说要本人到场 ABC 123"


@dataclass(frozen=True)
class CaseDoc:
    id: str
    title: str
    problem: str
    solution: str
    keywords: tuple[str, ...]
    category: str = ""
    handling: str = ""
    department: str = ""


@dataclass(frozen=True)
class MatchResult:
    decision: str  # "answer" | "suggest" | "none"
    ids: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


class _Query:
    """One analysed message and its ranked candidates (internal)."""

    __slots__ = ("canon", "gw", "idf", "max_idf", "n", "scored", "snap", "stream")

    def __init__(self, canon: str, gw: dict[str, float], stream: str = "") -> None:
        self.canon = canon
        self.gw = gw  # feature -> general informativeness in [0, 1]
        self.stream = stream  # the message's content words, joined (its bigrams are features)
        self.idf: dict[str, float | None] = {}  # feature -> library IDF (None: in no case)
        self.max_idf = 1.0
        self.n = 1  # cases in the library (IDF base)
        self.snap: _Snapshot | None = None
        # (score, doc, keyword evidence, bm25), best first
        self.scored: list[tuple[float, IndexedDoc, float, float]] = []

    def term_idf(self, term: str) -> float | None:
        if term in self.idf:
            return self.idf[term]
        snap = self.snap
        if snap is None:
            return None
        w = snap.base.term_idf(term)
        return w if w is not None else snap.delta.term_idf(term)


def confidence_features(q: _Query) -> dict[str, float]:
    """Library-relative evidence that the top case is *the* case of the message.

    Every message term gets an informativeness ``info``: its library IDF (the maximal IDF when
    no case has it) times its general-Chinese weight, so padding words weigh little whether or
    not the library knows them. All features are shares of the message's total ``info``, score
    differences, or masses divided by the maximal IDF, so they mean the same thing in a library
    of 30 or 100,000 cases.
    """
    f = dict.fromkeys(FEATURES, 0.0)
    if not q.scored:
        return f
    s1, d1, kw1, bm1 = q.scored[0]
    s2, d2, _, bm2 = q.scored[1] if len(q.scored) > 1 else (0.0, None, 0.0, 0.0)
    t1, h1 = d1.tf, d1.tk_terms
    t2 = d2.tf if d2 is not None else {}
    mx = q.max_idf
    # IDF of a term found in two cases: anything above it is unique to one case.
    idf2 = float(np.log(1.0 + (q.n - 1.5) / 2.5)) + 1e-6
    total = hit = head = miss_lib = miss_oov = excl = other = uniq = 0.0
    for t, g in q.gw.items():
        idf = q.idf.get(t)
        info = (mx if idf is None else idf) * g
        total += info
        if t in t1:
            hit += info
            if idf is not None and idf > idf2:
                uniq += info
            if t in h1:
                head += info
            if t not in t2:
                excl += info
        elif idf is None:
            miss_oov += info
        else:
            miss_lib += info
            if t in t2:
                other += info
    tot = total or 1.0
    # How much of the top case's own title/keyword evidence the message mentions.
    case_head = case_hit = 0.0
    for t in h1:
        idf = q.term_idf(t) or 0.0
        if t in q.gw:
            case_hit += idf
        case_head += idf
    # Facets: the title and each keyword are separate descriptions of the case; a message that
    # is about this case usually evidences several of them, a same-topic near-miss one.
    facets = 0.0
    for text in (d1.title, *d1.keywords):
        grams = {text[i : i + 2] for i in range(len(text) - 1)}
        if grams:
            frac = sum(1 for g in grams if g in q.gw) / len(grams)
            if frac >= 0.5:
                facets += 1.0
    # Passages: runs of consecutive message bigrams the top case contains. A message about the
    # case usually touches several of its aspects (the object and what went wrong with it); a
    # same-topic question matches one phrase, the object. ``rest`` is what the case explains
    # outside the message's best-matching passage.
    passages: list[float] = []
    run: set[str] = set()
    stream = q.stream
    for i in range(len(stream) - 1):
        t = stream[i : i + 2]
        if t in t1:
            run.add(t)
        elif run:
            passages.append(_mass(q, run))
            run = set()
    if run:
        passages.append(_mass(q, run))
    rest = sum(passages) - max(passages, default=0.0)
    f.update(
        rest=rest / tot,
        rest_mass=rest / mx,
        facets=facets,
        s1=s1,
        margin=s1 - s2,
        kw=kw1,
        cover=hit / tot,
        head=head / tot,
        miss_lib=miss_lib / tot,
        miss_oov=miss_oov / tot,
        excl=excl / tot,
        other=other / tot,
        hit_mass=hit / mx,
        excl_mass=excl / mx,
        case_hit=case_hit / mx,
        bm_ratio=(bm2 / bm1) if bm1 > 0 else 1.0,
        case_frac=case_hit / case_head if case_head > 0 else 0.0,
        miss_mass=(miss_lib + miss_oov) / mx,
        uniq_mass=uniq / mx,
    )
    return f


def _mass(q: _Query, terms: Iterable[str]) -> float:
    """Informativeness of message features (as in ``confidence_features``)."""
    mx = q.max_idf
    total = 0.0
    for t in terms:
        idf = q.idf.get(t)
        total += (mx if idf is None else idf) * q.gw.get(t, 0.0)
    return total


FEATURES = (
    "s1",
    "margin",
    "kw",
    "cover",
    "head",
    "miss_lib",
    "miss_oov",
    "excl",
    "other",
    "hit_mass",
    "excl_mass",
    "case_hit",
    "bm_ratio",
    "case_frac",
    "miss_mass",
    "uniq_mass",
    "facets",
    "rest",
    "rest_mass",
)


def _build_foldmap(indexes: Iterable[InvertedIndex], extra: Iterable[str] = ()):
    best: dict[str, tuple[int, str]] = {}

    def add(bigram: str, df: int) -> None:
        if len(bigram) != 2:
            return
        key = fold_bigram(bigram)
        if key is None:
            return
        cur = best.get(key)
        if cur is None or df > cur[0]:
            best[key] = (df, bigram)

    for idx in indexes:
        for term, df in idx.df.items():
            add(term, df)
    for term in extra:
        for i in range(len(term) - 1):
            add(term[i : i + 2], 1)
    return {k: v[1] for k, v in best.items()}


class _Snapshot:
    """Immutable view of the library: base + delta index, retired base slots."""

    __slots__ = ("base", "dead", "delta", "delta_fold", "fold", "live_ids")

    def __init__(
        self,
        base: InvertedIndex,
        delta: InvertedIndex,
        dead: frozenset[int],
        fold: dict[str, str],
        delta_fold: dict[str, str],
        live_ids: frozenset[str],
    ) -> None:
        self.base = base
        self.delta = delta
        self.dead = dead
        self.fold = fold
        self.delta_fold = delta_fold
        self.live_ids = live_ids

    def known(self, bigram: str) -> bool:
        return bigram in self.base.vocab or bigram in self.delta.vocab

    def fold_lookup(self, key: str) -> str | None:
        return self.fold.get(key) or self.delta_fold.get(key)


class CaseMatcher:
    """Search engine over the solved-case library. See the module docstring."""

    def __init__(
        self,
        cases: Iterable[CaseDoc] = (),
        thresholds: Thresholds | None = None,
        *,
        analyzer: Analyzer | None = None,
        merge_at: int = 256,
        background_merge: bool = True,
    ) -> None:
        self.thresholds = thresholds if thresholds is not None else Thresholds.load()
        self.analyzer = analyzer if analyzer is not None else Analyzer()
        self._merge_at = merge_at
        self._background = background_merge
        self._wlock = threading.Lock()
        self._live: dict[str, IndexedDoc] = {}
        self._changed_since_merge: set[str] = set()
        self._merging = False
        self._merge_thread: threading.Thread | None = None
        for case in cases:
            self._live[case.id] = self._analyse(case)
        base = InvertedIndex(list(self._live.values()))
        self._base_slot = {d.id: i for i, d in enumerate(base.docs)}
        self._syn_terms = self.analyzer.rewriter.terms()
        self._syn_grams = frozenset(
            t[i : i + 2] for t in self._syn_terms for i in range(len(t) - 1)
        )
        empty = InvertedIndex([])
        self._snap = _Snapshot(
            base,
            empty,
            frozenset(),
            _build_foldmap([base], self._syn_terms),
            {},
            frozenset(self._live),
        )

    # ----------------------------------------------------------------- library edits
    def _analyse(self, case: CaseDoc) -> IndexedDoc:
        if not case.id:
            raise ValueError("case id must not be empty")
        return build_doc(
            self.analyzer, case.id, case.title, case.keywords, case.problem, case.solution
        )

    def upsert(self, case: CaseDoc) -> None:
        """Add or replace a case; it is searchable when this returns."""
        doc = self._analyse(case)  # the slow part, outside the lock
        with self._wlock:
            self._live[case.id] = doc
            self._changed_since_merge.add(case.id)
            self._publish_locked()

    def remove(self, case_id: str) -> None:
        """Retire a case; it is never returned again once this returns."""
        with self._wlock:
            if self._live.pop(case_id, None) is None:
                return
            self._changed_since_merge.add(case_id)
            self._publish_locked()

    def _publish_locked(self) -> None:
        snap = self._snap
        base = snap.base
        changed = self._changed_since_merge
        dead = frozenset(self._base_slot[c] for c in changed if c in self._base_slot)
        delta_docs = [self._live[c] for c in sorted(changed) if c in self._live]
        delta = InvertedIndex(delta_docs, df_prior=base.df, n_prior=len(base))
        self._snap = _Snapshot(
            base, delta, dead, snap.fold, _build_foldmap([delta]), frozenset(self._live)
        )
        if len(delta_docs) + len(dead) >= self._merge_at and not self._merging:
            self._merging = True
            if self._background:
                # Started before it is published: wait_for_merge in another thread must never
                # see (and join) a thread that has not started yet.
                merger = threading.Thread(target=self._merge, daemon=True)
                merger.start()
                self._merge_thread = merger
            else:
                self._wlock.release()
                try:
                    self._merge()
                finally:
                    self._wlock.acquire()

    def _merge(self) -> None:
        with self._wlock:
            docs = list(self._live.values())
            started = set(self._changed_since_merge)
        base = InvertedIndex(docs)
        fold = _build_foldmap([base], self._syn_terms)
        with self._wlock:
            self._base_slot = {d.id: i for i, d in enumerate(base.docs)}
            # Edits made while we were building stay in the delta.
            self._changed_since_merge -= started
            self._changed_since_merge |= {
                c
                for c in started
                if self._live.get(c) is not None
                and c in self._base_slot
                and base.docs[self._base_slot[c]] is not self._live[c]
            }
            self._changed_since_merge |= {
                c for c in started if c not in self._live and c in self._base_slot
            }
            self._snap = _Snapshot(
                base, self._snap.delta, frozenset(), fold, {}, frozenset(self._live)
            )
            self._merging = False
            self._publish_locked()

    def wait_for_merge(self, timeout: float | None = None) -> None:
        """Block until a running background merge finishes (tests and benchmarks)."""
        t = self._merge_thread
        if t is not None:
            t.join(timeout)

    def __len__(self) -> int:
        return len(self._snap.live_ids)

    def ids(self) -> list[str]:
        return sorted(self._snap.live_ids)

    # ----------------------------------------------------------------------- search
    def _known(self, snap: _Snapshot, bigram: str) -> bool:
        # A piece of a synonym term is no typo either: the repair runs before the rewrite, and
        # treating 驾照 as unknown turned it into the library's 加招 before it could become 驾驶证.
        return snap.known(bigram) or bigram in self._syn_grams

    def _repair(self, snap: _Snapshot, text: str) -> str:
        chars = list(text)
        for i in range(len(chars) - 1):
            bigram = chars[i] + chars[i + 1]
            if not (is_han(chars[i]) and is_han(chars[i + 1])) or self._known(snap, bigram):
                continue
            key = fold_bigram(bigram)
            fix = snap.fold_lookup(key) if key else None
            if not fix:
                continue
            # Never break a neighbouring bigram the library knows: 断缴了 must not become
            # 断交了 just because 交了 is a known bigram and 缴了 is not.
            if fix[0] != chars[i] and i > 0 and self._known(snap, chars[i - 1] + chars[i]):
                continue
            if (
                fix[1] != chars[i + 1]
                and i + 2 < len(chars)
                and self._known(snap, chars[i + 1] + chars[i + 2])
            ):
                continue
            chars[i], chars[i + 1] = fix[0], fix[1]
        return "".join(chars)

    def prepare(self, query: str) -> tuple[str, list[str]]:
        """Canonical message text and its distinct features (exposed for diagnostics)."""
        canon, gw, _ = self._prepare(self._snap, query)
        return canon, list(gw)

    def _prepare(self, snap: _Snapshot, query: str) -> tuple[str, dict[str, float], str]:
        from handlers.caselib.normalize import normalize

        text = self._repair(snap, normalize(query))
        canon = self.analyzer.rewriter.rewrite(text)
        words = self.analyzer.content(canon)
        return canon, self.analyzer.weighted_features(canon, words), "".join(words)

    def _candidates(self, query: str) -> _Query:
        """Rank the library for ``query``; keeps what the confidence features need."""
        snap = self._snap
        canon, gw, stream = self._prepare(snap, query)
        q = _Query(canon, gw, stream)
        if not gw:
            return q
        base, delta = snap.base, snap.delta
        n_all = max(base.n_total, delta.n_total, 1)
        q.n = n_all
        q.snap = snap
        q.max_idf = max_idf = float(np.log(1.0 + (n_all + 0.5) / 1.5))
        weighted: list[tuple[str, float]] = []
        for t in gw:
            w = base.term_idf(t)
            if w is None:
                w = delta.term_idf(t)
            q.idf[t] = w
            if w is None:
                w = OOV_WEIGHT * max_idf
            weighted.append((t, w**IDF_POWER))
        total = sum(w for _, w in weighted) or 1.0

        # BM25 picks the candidates; only they get the (Python) coverage accumulation.
        pool: list[tuple[float, IndexedDoc]] = []
        for idx, dead in ((base, snap.dead), (delta, frozenset())):
            if not len(idx):
                continue
            bm = idx.bm25(gw)
            if dead:
                bm[list(dead)] = -1.0
            k = min(CANDIDATES, len(idx))
            top = np.argpartition(-bm, k - 1)[:k] if k < len(idx) else np.arange(len(idx))
            for i in top:
                if bm[i] > 0:
                    pool.append((float(bm[i]), idx.docs[i]))
        pool.sort(key=lambda p: -p[0])
        scored: list[tuple[float, IndexedDoc, float, float]] = []
        grams = frozenset(canon[i : i + 2] for i in range(len(canon) - 1))
        wmap = dict(weighted)
        qset = frozenset(wmap)
        for bm25, doc in pool[:CANDIDATES]:
            hits = qset.intersection(doc.terms)
            cover = sum(wmap[t] for t in hits) / total
            head = sum(wmap[t] for t in hits.intersection(doc.head)) / total
            kw = self._keyword_evidence(canon, doc, grams)
            s = W_COVER * min(cover, 1.0) + W_HEAD * min(head, 1.0) + W_KEYWORD * kw
            scored.append((s, doc, kw, bm25))
        scored.sort(key=lambda x: -x[0])
        q.scored = scored
        return q

    def rank(self, query: str, limit: int = 10) -> list[tuple[str, float]]:
        """Cases ranked by score in [0, 1], best first (no decision applied)."""
        return [(doc.id, s) for s, doc, _, _ in self._candidates(query).scored[:limit]]

    def observe(
        self, query: str, limit: int = 5
    ) -> tuple[list[tuple[str, float]], dict[str, float]]:
        """Ranked cases and the confidence features of the top case (calibration input)."""
        ranked, feats, _ = self.observe_message(query, limit)
        return ranked, feats

    def observe_message(
        self, query: str, limit: int = 5
    ) -> tuple[list[tuple[str, float]], dict[str, float], str]:
        """``observe`` plus the canonical message text (the intent model's input), from the
        one analysis of the message."""
        q = self._candidates(query)
        ranked = [(doc.id, s) for s, doc, _, _ in q.scored[:limit]]
        return ranked, confidence_features(q), q.canon

    @staticmethod
    def _keyword_evidence(
        canon: str, doc: IndexedDoc, grams: frozenset[str] = frozenset()
    ) -> float:
        """Share of the case's keywords found in the message: exactly (1) or fuzzily (<= 0.7).

        ``grams`` are the message's character bigrams: a keyword sharing none of its bigrams
        with the message cannot reach the fuzzy cut-off in practice, so rapidfuzz is skipped.
        """
        if not doc.keywords:
            return 0.0
        hits = 0.0
        kgrams = doc.keyword_grams or (None,) * len(doc.keywords)
        for k, kg in zip(doc.keywords, kgrams, strict=True):
            if len(k) < 2:
                continue
            if k in canon:
                hits += 1.0
            elif len(k) >= 3:
                if grams and kg is not None and kg.isdisjoint(grams):
                    continue
                r = fuzz.partial_ratio(k, canon, score_cutoff=75)
                if r:
                    hits += r / 100.0 * 0.7
        return min(hits / 2.0, 1.0)

    def warm_up(self) -> None:
        """Load now what the first search would load lazily, so that it is not a citizen's
        request that waits for it: jieba's word frequencies (``wordfreq.table``, ~0.2 s) and
        whatever else a search touches for the first time. Searches change nothing."""
        wordfreq.table()
        self.search(WARM_UP_QUERY)

    def search(self, query: str) -> MatchResult:
        q = self._candidates(query)
        ranked = [(doc.id, s) for s, doc, _, _ in q.scored[:3]]
        feats = confidence_features(q) if self.thresholds.model is not None and ranked else None
        decision, ids, scores = decide(ranked, self.thresholds, feats, q.canon)
        return MatchResult(decision, ids, scores)
