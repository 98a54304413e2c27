"""The per-citizen flood limit: a one-minute window counted in the database (shared by
every worker). Callers hold the citizen's lock, so a plain read-modify-write is safe."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RateWindow


def window_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


async def hit(session: AsyncSession, openid: str, now: datetime) -> int:
    """Count one message in the current minute; returns how many this minute so far."""
    start = window_of(now)
    row = await session.get(RateWindow, openid, populate_existing=True)
    if row is None:
        row = RateWindow(openid=openid, window_start=start, count=0)
        session.add(row)
    elif row.window_start != start:
        row.window_start, row.count = start, 0
    row.count += 1
    await session.flush()
    return row.count
