"""Synonym groups (citizens' words for government terms) and the rewriter that applies them.

The groups live in ``data/synonyms.txt`` (one group per line, first term canonical) so staff can
extend them without touching code. Rewriting is a single regex pass, longest alias first, so
``住房公积金`` is matched as a whole before ``公积金``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from handlers.caselib.normalize import normalize

DEFAULT_SYNONYMS_PATH = Path(__file__).parent / "data" / "synonyms.txt"
_SPLIT = re.compile(r"[\s,，、]+")


class SynonymFileError(ValueError):
    """A synonym file line is malformed; the message names the line number."""


def parse_synonym_lines(lines: Iterable[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        terms = []
        for term in _SPLIT.split(line):
            norm = normalize(term)
            if norm and norm not in terms:
                terms.append(norm)
        if len(terms) < 2:
            raise SynonymFileError(f"line {lineno}: a group needs at least two distinct terms")
        for term in terms:
            if term in seen:
                raise SynonymFileError(
                    f"line {lineno}: term {term!r} already belongs to the group on line "
                    f"{seen[term]}"
                )
            seen[term] = lineno
        groups.append(terms)
    return groups


def load_synonyms(path: str | Path = DEFAULT_SYNONYMS_PATH) -> list[list[str]]:
    """Read a synonym file; raises SynonymFileError naming the bad line."""
    with open(path, encoding="utf-8") as fh:
        return parse_synonym_lines(fh)


@dataclass(frozen=True)
class SynonymRewriter:
    """Rewrites every alias in a normalised text to its group's canonical term."""

    groups: tuple[tuple[str, ...], ...] = ()
    _canon: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_groups(cls, groups: Iterable[Iterable[str]]) -> SynonymRewriter:
        tgroups = tuple(tuple(g) for g in groups)
        canon = {}
        for group in tgroups:
            for term in group:
                canon[term] = group[0]
        pattern = None
        if canon:
            alts = sorted(canon, key=len, reverse=True)
            pattern = re.compile("|".join(re.escape(a) for a in alts))
        return cls(tgroups, canon, pattern)

    @classmethod
    def default(cls) -> SynonymRewriter:
        return cls.from_groups(load_synonyms())

    def terms(self) -> list[str]:
        return list(self._canon)

    def rewrite(self, text: str) -> str:
        """Rewrite a text that is already normalised."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._canon[m.group(0)], text)
