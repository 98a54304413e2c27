"""Failed ticket-lookup challenges, for the lock after too many wrong tries."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LookupFailure


async def recent_failures(
    session: AsyncSession, openid: str, now: datetime, window: timedelta
) -> int:
    found = await session.scalar(
        select(func.count()).where(LookupFailure.openid == openid, LookupFailure.at > now - window)
    )
    return int(found or 0)


async def add_failure(session: AsyncSession, openid: str, now: datetime) -> None:
    session.add(LookupFailure(openid=openid, at=now))
    await session.flush()


async def forget_before(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(LookupFailure).where(LookupFailure.at < before))
