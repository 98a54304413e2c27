"""The case library as the bot uses it: the matcher over the published cases of the database.

Every worker keeps its own in-memory matcher. Before each search it asks the database what
changed since it last looked (one indexed query), so a case published or retired through any
worker is searchable, or gone, on every worker at once, without a restart or a rebuild.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.caselib.matcher import CaseDoc, CaseMatcher, MatchResult
from storage import core
from storage.db import Database
from storage.models import Case

# What changed since the last look: ids and times only (storage.core.Hot, on the driver of a
# turn's transaction); whole cases are read only for those that did change.
_cases = Case.__table__
_CHANGED_SINCE = core.Hot(
    select(_cases.c.id, _cases.c.updated_at).where(_cases.c.updated_at >= bindparam("since"))
)
_ALL = core.Hot(select(_cases.c.id, _cases.c.updated_at))

log = logging.getLogger(__name__)


def to_doc(case: Case) -> CaseDoc:
    return CaseDoc(
        id=case.id,
        title=case.title,
        problem=case.problem,
        solution=case.solution,
        keywords=tuple(case.keywords or ()),
        category=case.category,
        handling=case.handling,
        department=case.department,
    )


def _shown(doc: CaseDoc) -> dict[str, Any]:
    """What the dialog shows of a case (kept per published case: not its problem text)."""
    return {
        "id": doc.id,
        "title": doc.title,
        "solution": doc.solution,
        "department": doc.department,
    }


def _build(published: list[CaseDoc]) -> CaseMatcher:
    """The matcher, warmed up: the first citizen's search must not load its tables (on the event
    loop, ~0.2 s, while every other request waits)."""
    matcher = CaseMatcher(published)
    try:
        matcher.warm_up()
    except Exception:  # a cold first search is slow, not wrong: serve anyway
        log.exception("case matcher warm-up failed; the first search will be slow")
    return matcher


class CaseLibrary:
    def __init__(self, matcher: CaseMatcher) -> None:
        self.matcher = matcher
        self._seen: dict[str, datetime] = {}  # case id -> updated_at last applied
        self._shown: dict[str, dict[str, Any]] = {}  # what describe shows of each published case
        self._since: datetime | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def load(cls, db: Database) -> CaseLibrary:
        """Build the matcher from the published cases (off the event loop: it takes a while)."""
        async with db.sessions() as session:
            rows = list(await session.scalars(select(Case)))
        published = [to_doc(c) for c in rows if c.status == "published"]
        matcher = await asyncio.to_thread(_build, published)
        library = cls(matcher)
        library._shown = {doc.id: _shown(doc) for doc in published}
        for case in rows:
            library._note(case)
        log.info("case library loaded: %d published of %d", len(published), len(rows))
        return library

    def _note(self, case: Case) -> None:
        self._seen[case.id] = case.updated_at
        if self._since is None or case.updated_at > self._since:
            self._since = case.updated_at

    def apply(self, case: Case) -> None:
        """Make one case's current status take effect in this worker's matcher."""
        if self._seen.get(case.id) == case.updated_at:
            return
        if case.status == "published":
            doc = to_doc(case)
            self.matcher.upsert(doc)
            self._shown[case.id] = _shown(doc)
        else:
            self.matcher.remove(case.id)
            self._shown.pop(case.id, None)
        self._note(case)

    async def refresh(self, session: AsyncSession) -> None:
        """Apply what changed in the database since the last look."""
        async with self._lock:
            if self._since is None:
                rows = await _ALL.run(session, {})
            else:
                rows = await _CHANGED_SINCE.run(session, {"since": self._since})
            changed = [case_id for case_id, at in rows if self._seen.get(case_id) != at]
            if changed:
                for case in await session.scalars(select(Case).where(Case.id.in_(changed))):
                    self.apply(case)

    async def search(self, session: AsyncSession, text: str) -> MatchResult:
        await self.refresh(session)
        return self.matcher.search(text)

    async def describe(self, session: AsyncSession, ids: list[str]) -> list[dict[str, Any]]:
        """What the dialog shows of each published case, in the order given: as the matcher
        has it, i.e. as of the refresh before the search (no query of its own)."""
        return [dict(shown) for shown in map(self._shown.get, ids) if shown is not None]
