"""Delivering the outbox (storage/repositories/outbox.py) through WeChat's API.

Every message outside a passive HTTP reply goes this way: late replies (handlers/turns.py),
dialog pushes and timer replies (handlers/timers.py). Enqueued in the producing transaction,
tried at once after it commits, then retried by `run_forever` with backoff (10 s doubling to
30 min) within the citizen's 48-hour window. WeChat has no idempotency key: a worker that dies
between WeChat's answer and our commit may send a message twice, never zero times.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.services import Services
from storage.columns import utcnow
from storage.models import OutboxItem
from storage.repositories import messages
from storage.repositories import outbox as repo

log = logging.getLogger(__name__)

# WeChat's refusals that retrying cannot change (see bot/outbound.py).
FINAL_ERRORS = frozenset({45015, 45047})
SERVICE_WINDOW = timedelta(hours=48)
PARALLEL_SENDS = 8


async def deliver(
    services: Services, ids: list[int] | None = None, now: datetime | None = None
) -> int:
    """Send what is due (or just `ids`); returns how many were sent."""
    now = now or utcnow()
    async with services.db.transaction() as session:
        await repo.expire(session, now)
        claimed = [
            (item.id, item.openid, item.text) for item in await repo.claim(session, now, ids)
        ]
    return await send(services, claimed, now)


async def send(services: Services, claimed: list[tuple[int, str, str]], now: datetime) -> int:
    """Send items this worker holds the claim of, `(id, openid, text)`, and record how each
    went; returns how many were sent."""
    if not claimed:
        return 0
    db = services.db
    limit = asyncio.Semaphore(PARALLEL_SENDS)

    async def one(item_id: int, openid: str, text: str) -> bool:
        async with limit:
            delivery = await services.outbound.send_text(openid, text)
        async with db.transaction() as session:
            if delivery.status == "sent":  # two UPDATEs, nothing loaded
                sent = await repo.settle_sent(session, item_id, utcnow())
                if sent is None:  # deleted meanwhile (the citizen asked to forget them)
                    return False
                (message_id,) = sent
                if message_id is not None:
                    await messages.set_delivery(session, [message_id], "sent")
                return True
            item = await repo.get(session, item_id)
            if item is None:
                return False
            return await _settle(session, item, delivery.status, delivery.error_code, now)

    results = await asyncio.gather(*(one(*c) for c in claimed), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            log.error("outbox delivery failed: %s", type(result).__name__)
    return sum(1 for r in results if r is True)


async def _settle(
    session: AsyncSession, item: OutboxItem, status: str, error_code: int | None, now: datetime
) -> bool:
    """An item WeChat did not take (a sent one is settled in `send`, without loading it):
    given up for good or retried later. Returns False (not sent)."""
    ids = [item.message_id] if item.message_id is not None else []
    if error_code in FINAL_ERRORS:
        await repo.mark_failed(session, item, "refused by WeChat", error_code, now)
        await messages.set_delivery(session, ids, "failed", error_code)
        log.info("outbox item %d refused by WeChat (%s); given up", item.id, error_code)
        return False
    reason = "not configured" if status == "pending" else f"WeChat error {error_code}"
    await repo.mark_retry(session, item, reason, error_code, now)
    if item.next_attempt_at >= item.expires_at:
        await repo.mark_failed(session, item, f"{reason}; 48-hour window closed", error_code, now)
        await messages.set_delivery(session, ids, "failed", error_code)
        return False
    await messages.set_delivery(session, ids, "pending", error_code)
    log.warning(
        "outbox item %d not delivered (%s, attempt %d); retry in %d s",
        item.id,
        reason,
        item.attempts,
        (item.next_attempt_at - now).total_seconds(),
    )
    return False


async def run_forever(services: Services, every_s: float = 5.0) -> None:
    while True:
        try:
            await deliver(services)
        except Exception:
            log.exception("outbox loop failed; will try again")
        await asyncio.sleep(every_s)
