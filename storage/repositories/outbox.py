"""The outbox: messages for WeChat's customer-service API, delivered by a background loop.

A message is enqueued in the same transaction as whatever produced it, so nothing said is
lost to a crash or a WeChat outage. It is retried with backoff until it is sent, WeChat
refuses it for good (45015/45047), or the citizen's 48-hour window closes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.models import OutboxItem

CLAIM_FOR = timedelta(seconds=90)
FIRST_RETRY = timedelta(seconds=10)
MAX_BACKOFF = timedelta(minutes=30)


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, ... capped at 30 minutes."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


# On the driver's connection (storage.core.Hot): a late reply is queued in its turn, and
# settled as sent (what nearly every delivery is) without loading it.
_table = OutboxItem.__table__
_INSERT = core.Hot(insert(_table).returning(_table.c.id))
_SENT = core.Hot(
    update(_table)
    .where(_table.c.id == bindparam("item_id"))
    .values(
        status="sent",
        sent_at=bindparam("sent_at"),
        claimed_until=None,
        attempts=_table.c.attempts + 1,
        last_error="",
        error_code=None,
    )
    .returning(_table.c.message_id)
)


async def enqueue(
    session: AsyncSession,
    *,
    openid: str,
    text: str,
    now: datetime,
    expires_at: datetime,
    kind: str = "reply",
    message_id: int | None = None,
    claimed: bool = False,
) -> OutboxItem:
    """Queue a message; `claimed`: held by this worker for CLAIM_FOR already, to be sent
    right after the commit (see handlers.outbox.send), without a transaction to claim it.

    The OutboxItem returned is not in the session (written with Core): read it only."""
    values: dict[str, Any] = {
        "openid": openid,
        "kind": kind,
        "text": text,
        "message_id": message_id,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "expires_at": expires_at,
        "claimed_until": now + CLAIM_FOR if claimed else None,
        "last_error": "",
        "error_code": None,
        "created_at": now,
        "sent_at": None,
    }
    [(item_id,)] = await _INSERT.run(session, values)
    return OutboxItem(id=item_id, **values)


async def claim(
    session: AsyncSession, now: datetime, ids: list[int] | None = None, limit: int = 50
) -> list[OutboxItem]:
    """Due pending items nobody holds, claimed for CLAIM_FOR (SKIP LOCKED keeps workers apart).
    With `ids`, only those (due or not: an item just enqueued is sent at once)."""
    query = select(OutboxItem.id).where(
        OutboxItem.status == "pending",
        or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now),
    )
    if ids is not None:
        query = query.where(OutboxItem.id.in_(ids))
    else:
        query = query.where(OutboxItem.next_attempt_at <= now)
    query = query.order_by(OutboxItem.id).limit(limit).with_for_update(skip_locked=True)
    claimed = list(await session.scalars(query))
    if not claimed:
        return []
    await session.execute(
        update(OutboxItem).where(OutboxItem.id.in_(claimed)).values(claimed_until=now + CLAIM_FOR)
    )
    rows = await session.scalars(
        select(OutboxItem).where(OutboxItem.id.in_(claimed)).order_by(OutboxItem.id)
    )
    return list(rows)


async def get(session: AsyncSession, item_id: int) -> OutboxItem | None:
    return await session.get(OutboxItem, item_id, populate_existing=True)


async def settle_sent(
    session: AsyncSession, item_id: int, now: datetime
) -> tuple[int | None] | None:
    """Item `item_id` was sent: status, time and attempts set and its claim and error cleared,
    without loading it. Its message id, in a tuple; None when the item is gone (deleted
    meanwhile)."""
    rows = await _SENT.run(session, {"item_id": item_id, "sent_at": now})
    return (rows[0][0],) if rows else None


async def mark_failed(
    session: AsyncSession, item: OutboxItem, reason: str, error_code: int | None, now: datetime
) -> None:
    """Given up for good: stays queryable for the console (see `undelivered`)."""
    item.status, item.claimed_until = "failed", None
    item.last_error, item.error_code = reason[:200], error_code
    item.next_attempt_at = now


async def mark_retry(
    session: AsyncSession, item: OutboxItem, reason: str, error_code: int | None, now: datetime
) -> None:
    item.attempts += 1
    item.claimed_until = None
    item.last_error, item.error_code = reason[:200], error_code
    item.next_attempt_at = now + backoff(item.attempts)


async def undelivered(
    session: AsyncSession, openid: str | None = None, limit: int = 100
) -> list[OutboxItem]:
    """For the staff console: what could not be delivered (given up, or still retrying),
    newest first. Staff can then reach the citizen another way (phone)."""
    query = select(OutboxItem).where(OutboxItem.status.in_(("failed", "pending")))
    query = query.where(or_(OutboxItem.status == "failed", OutboxItem.attempts > 0))
    if openid is not None:
        query = query.where(OutboxItem.openid == openid)
    rows = await session.scalars(query.order_by(OutboxItem.id.desc()).limit(limit))
    return list(rows)


async def pending_of(session: AsyncSession, openid: str) -> list[OutboxItem]:
    rows = await session.scalars(
        select(OutboxItem).where(OutboxItem.openid == openid, OutboxItem.status == "pending")
    )
    return list(rows)


async def drop_pending(session: AsyncSession, openid: str) -> int:
    result = await session.execute(
        delete(OutboxItem).where(OutboxItem.openid == openid, OutboxItem.status == "pending")
    )
    return result.rowcount or 0


async def purge_finished(session: AsyncSession, before: datetime) -> int:
    """Forget sent and failed items created before `before` (they hold message text)."""
    result = await session.execute(
        delete(OutboxItem).where(
            OutboxItem.status.in_(("sent", "failed")), OutboxItem.created_at < before
        )
    )
    return result.rowcount or 0


async def expire(session: AsyncSession, now: datetime) -> int:
    """Pending items whose 48-hour window has closed: WeChat would refuse them now."""
    result = await session.execute(
        update(OutboxItem)
        .where(OutboxItem.status == "pending", OutboxItem.expires_at <= now)
        .values(status="failed", last_error="outside the 48-hour window", claimed_until=None)
    )
    return result.rowcount or 0
