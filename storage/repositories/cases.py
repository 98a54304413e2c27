"""The case library: import (idempotent by id), status changes and usage counters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.models import Case

CASE_FIELDS = ("title", "category", "handling", "department", "problem", "solution", "keywords")
COUNTERS = {
    "shown": Case.shown_count,
    "helpful": Case.helpful_count,
    "rejected": Case.rejected_count,
}


async def upsert_many(
    session: AsyncSession, rows: Iterable[dict[str, Any]], now: datetime, status: str = "published"
) -> tuple[int, int]:
    """Insert new cases and update existing ones by id. Returns (added, updated)."""
    added = updated = 0
    for row in rows:
        case = await session.get(Case, row["id"])
        values = {name: row[name] for name in CASE_FIELDS if name in row}
        if case is None:
            session.add(Case(id=row["id"], status=status, created_at=now, updated_at=now, **values))
            added += 1
        else:
            for name, value in values.items():
                setattr(case, name, value)
            case.updated_at = now
            updated += 1
    await session.flush()
    return added, updated


async def get(session: AsyncSession, case_id: str) -> Case | None:
    return await session.get(Case, case_id)


_TITLE = core.Hot(select(Case.__table__.c.title).where(Case.__table__.c.id == bindparam("id")))


async def title_of(session: AsyncSession, case_id: str) -> str | None:
    """A case's title (a filing lists the cases it was shown), without loading the case."""
    rows = await _TITLE.run(session, {"id": case_id})
    return rows[0][0] if rows else None


async def with_status(session: AsyncSession, *statuses: str) -> list[Case]:
    rows = await session.scalars(select(Case).where(Case.status.in_(statuses)).order_by(Case.id))
    return list(rows)


async def set_status(session: AsyncSession, case_id: str, status: str, now: datetime) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise LookupError(case_id)
    case.status = status
    case.updated_at = now
    await session.flush()
    return case


# One UPDATE per counter, run for each case on the driver (storage.core.Hot): a case search
# shows up to three cases, on a citizen's first message.
_table = Case.__table__
_COUNT_USE = {
    name: core.Hot(
        update(_table)
        .where(_table.c.id == bindparam("case_id"))
        .values({column.key: _table.c[column.key] + 1})
    )
    for name, column in COUNTERS.items()
}


async def count_use(session: AsyncSession, case_ids: Iterable[str], counter: str) -> None:
    """Add one to a usage counter ("shown", "helpful", "rejected") of each case."""
    ids = [{"case_id": case_id} for case_id in case_ids]
    if ids:
        await _COUNT_USE[counter].run_many(session, ids)


def as_record(case: Case) -> dict[str, Any]:
    """The JSON Lines shape of ../shared/caselib/cases.jsonl (and of export)."""
    return {"id": case.id, **{name: getattr(case, name) for name in CASE_FIELDS}}
