"""Inbound delivery records: WeChat re-delivers a message up to 3 times; each is handled once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage import core
from storage.models import InboundDelivery

# WeChat re-delivers within ~15 s; an hour leaves ample room for slow turns and clock skew.
KEEP_FOR = timedelta(hours=1)

# Every turn reads and writes one record: Core statements on the table, built once, so
# SQLAlchemy's compiled cache serves them and no ORM unit of work is involved.
_table = InboundDelivery.__table__
_SELECT = select(_table.c.status, _table.c.reply_text).where(_table.c.key == bindparam("key"))
_SELECT_HOT = core.Hot(_SELECT)
_INSERT = core.Hot(insert(_table))


class Delivery(NamedTuple):
    status: str  # processing | done | async
    reply_text: str | None


async def get(db: AsyncSession | AsyncConnection, key: str) -> Delivery | None:
    """The record of `key`, read through a session or a bare (pooled) connection."""
    if isinstance(db, AsyncSession):
        rows = await _SELECT_HOT.run(db, {"key": key})
        return Delivery(*rows[0]) if rows else None
    row = (await core.execute(db, _SELECT, {"key": key})).first()
    return None if row is None else Delivery(row.status, row.reply_text)


async def record(
    session: AsyncSession, key: str, now: datetime, reply_text: str | None, status: str = "done"
) -> None:
    await _INSERT.run(
        session,
        {
            "key": key,
            "status": status,
            "reply_text": reply_text,
            "created_at": now,
            "expires_at": now + KEEP_FOR,
        },
    )


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
