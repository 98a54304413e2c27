"""Persisted dialog timers: set (replacing), cancel, and claim due ones across workers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.backends import Backend
from storage.models import Timer

CLAIM_FOR = timedelta(seconds=60)


# One upsert per dialect, built on first use with bind parameters and run on the driver's
# connection (storage.core.Hot): the dialog re-arms two timers on every message.
_timers = Timer.__table__
_set_statements: dict[str, core.Hot] = {}


def _set_statement(backend: Backend) -> core.Hot:
    statement = _set_statements.get(backend.name)
    if statement is None:
        upsert: Any = backend.insert(_timers).values(
            openid=bindparam("openid"),
            name=bindparam("name"),
            due_at=bindparam("due_at"),
            claimed_until=None,
        )
        statement = core.Hot(
            upsert.on_conflict_do_update(
                index_elements=["openid", "name"],
                set_={"due_at": upsert.excluded.due_at, "claimed_until": None},
            )
        )
        _set_statements[backend.name] = statement
    return statement


async def set_timers(
    session: AsyncSession, backend: Backend, openid: str, due: Sequence[tuple[str, datetime]]
) -> None:
    """Arm (or re-arm) the citizen's timers `(name, due_at)` in one statement."""
    if due:
        await _set_statement(backend).run_many(
            session, [{"openid": openid, "name": name, "due_at": due_at} for name, due_at in due]
        )


async def set_timer(
    session: AsyncSession, backend: Backend, openid: str, name: str, due_at: datetime
) -> None:
    await set_timers(session, backend, openid, [(name, due_at)])


_CANCEL_ALL = core.Hot(delete(_timers).where(_timers.c.openid == bindparam("openid")))


async def cancel_all(session: AsyncSession, openid: str) -> None:
    await _CANCEL_ALL.run(session, {"openid": openid})


async def claim_due(session: AsyncSession, now: datetime, limit: int = 50) -> list[Timer]:
    """Due timers nobody holds, claimed for CLAIM_FOR. SKIP LOCKED keeps workers apart."""
    due = (
        select(Timer.id)
        .where(Timer.due_at <= now, or_(Timer.claimed_until.is_(None), Timer.claimed_until < now))
        .order_by(Timer.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(await session.scalars(due))
    if not ids:
        return []
    await session.execute(
        update(Timer).where(Timer.id.in_(ids)).values(claimed_until=now + CLAIM_FOR)
    )
    return list(await session.scalars(select(Timer).where(Timer.id.in_(ids))))


async def remove(session: AsyncSession, timer_id: int, due_at: datetime) -> bool:
    """Delete a fired timer unless it was re-armed meanwhile (then its due_at changed)."""
    result = await session.execute(
        delete(Timer).where(Timer.id == timer_id, Timer.due_at == due_at)
    )
    return bool(result.rowcount)


async def still_armed(session: AsyncSession, timer_id: int, due_at: datetime) -> bool:
    found = await session.scalar(
        select(Timer.id).where(Timer.id == timer_id, Timer.due_at == due_at)
    )
    return found is not None
