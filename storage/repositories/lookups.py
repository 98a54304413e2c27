"""Failed ticket-lookup challenges, for the lock after too many wrong tries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LookupFailure


async def failures_since(session: AsyncSession, openid: str, since: datetime) -> list[datetime]:
    rows = await session.scalars(
        select(LookupFailure.at).where(LookupFailure.openid == openid, LookupFailure.at > since)
    )
    return list(rows)


async def add_failure(session: AsyncSession, openid: str, now: datetime) -> None:
    session.add(LookupFailure(openid=openid, at=now))
    await session.flush()


async def forget_before(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(LookupFailure).where(LookupFailure.at < before))
