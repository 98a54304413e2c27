"""Inbound delivery records: WeChat re-delivers a message up to 3 times; each is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundDelivery

# WeChat re-delivers within ~15 s; an hour leaves ample room for slow turns and clock skew.
KEEP_FOR = timedelta(hours=1)


async def get(session: AsyncSession, key: str) -> InboundDelivery | None:
    return await session.get(InboundDelivery, key, populate_existing=True)


async def record(
    session: AsyncSession, key: str, now: datetime, reply_text: str | None, status: str = "done"
) -> None:
    session.add(
        InboundDelivery(
            key=key, status=status, reply_text=reply_text, created_at=now, expires_at=now + KEEP_FOR
        )
    )
    await session.flush()


async def mark_async(session: AsyncSession, key: str) -> None:
    """The reply went (or goes) out through the customer-service API, not in the HTTP answer."""
    await session.execute(
        update(InboundDelivery).where(InboundDelivery.key == key).values(status="async")
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(InboundDelivery).where(InboundDelivery.expires_at < now))
    return result.rowcount or 0


async def exists(session: AsyncSession, key: str) -> bool:
    found = await session.scalar(select(InboundDelivery.key).where(InboundDelivery.key == key))
    return found is not None
