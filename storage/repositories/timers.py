"""Persisted dialog timers: set (replacing), cancel, and claim due ones across workers."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.backends import Backend
from storage.models import Timer

CLAIM_FOR = timedelta(seconds=60)


async def set_timer(
    session: AsyncSession, backend: Backend, openid: str, name: str, due_at: datetime
) -> None:
    statement = (
        backend.insert(Timer)
        .values(openid=openid, name=name, due_at=due_at, claimed_until=None)
        .on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["openid", "name"], set_={"due_at": due_at, "claimed_until": None}
        )
    )
    await session.execute(statement)


async def cancel_all(session: AsyncSession, openid: str) -> None:
    await session.execute(delete(Timer).where(Timer.openid == openid))


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
