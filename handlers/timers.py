"""Dialog timers and pushes: SetTimer, CancelTimers, Push, and the loop that fires timers.

A due timer is claimed by one worker (SKIP LOCKED), then runs as a turn of its own with
the delivery key timer:<id>:<due>, so it fires exactly once even if a worker dies after
claiming it (the claim lapses and another worker's attempt is deduplicated).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from dialogs.effects import CancelTimers, Push, SetTimer
from dialogs.types import Inbound
from handlers import outbox
from handlers.context import TurnContext
from handlers.conversation import converse
from handlers.dispatcher import Router
from handlers.effects import EffectRegistry
from handlers.incoming import Incoming
from handlers.turns import TurnService, mask_openid
from storage.columns import utcnow
from storage.repositories import messages, timers
from storage.repositories import outbox as outbox_repo

log = logging.getLogger(__name__)
effects = EffectRegistry()
router = Router("timers")

# The customer-service API reaches a citizen only this long after their last message.
SERVICE_WINDOW = timedelta(hours=48)


@effects.register(SetTimer)
async def set_timer(ctx: TurnContext, effect: SetTimer) -> None:
    await timers.set_timer(
        ctx.session, ctx.services.db.backend, ctx.citizen.openid, effect.timer, effect.at
    )


@effects.register_batch(SetTimer)
async def set_timers(ctx: TurnContext, batch: list[SetTimer]) -> None:
    await timers.set_timers(
        ctx.session,
        ctx.services.db.backend,
        ctx.citizen.openid,
        [(effect.timer, effect.at) for effect in batch],
    )


@effects.register(CancelTimers)
async def cancel_timers(ctx: TurnContext, effect: CancelTimers) -> None:
    await timers.cancel_all(ctx.session, ctx.citizen.openid)


@effects.register(Push)
async def push(ctx: TurnContext, effect: Push) -> None:
    last = ctx.citizen.last_inbound_at
    if last is None or ctx.now - last > SERVICE_WINDOW:
        log.info("push to %s skipped: outside the 48-hour window", mask_openid(ctx.citizen.openid))
        return
    # Recorded and queued in the turn's own transaction; sent once it commits (and retried
    # by the outbox loop if WeChat does not take it).
    message_id = await messages.add(
        ctx.session,
        openid=ctx.citizen.openid,
        conversation_id=ctx.conversation_id,
        direction="out",
        kind="text",
        now=ctx.now,
        text=effect.text,
        delivery="pending",
    )
    item = await outbox_repo.enqueue(
        ctx.session,
        openid=ctx.citizen.openid,
        text=effect.text,
        now=ctx.now,
        expires_at=last + SERVICE_WINDOW,
        kind="push",
        message_id=message_id,
        claimed=True,  # sent right after the commit, without a transaction to claim it
    )
    services, item_id, openid = ctx.services, item.id, ctx.citizen.openid

    async def send() -> None:
        await outbox.send(services, [(item_id, openid, effect.text)], utcnow())

    ctx.after_commit.append(send)


@router.on("timer")
async def fired(ctx: TurnContext) -> list[str]:
    timer_id = int(ctx.incoming.payload["timer_id"])
    due_at = datetime.fromisoformat(str(ctx.incoming.payload["due_at"]))
    # Re-armed or cancelled since it was claimed: this firing is stale.
    if not await timers.remove(ctx.session, timer_id, due_at):
        return []
    return await converse(ctx)


async def fire_due(turns: TurnService, now: datetime | None = None) -> int:
    """Fire every timer due by `now`; returns how many turns ran."""
    now = now or utcnow()
    db = turns.services.db
    async with db.transaction() as session:
        claimed = [(t.id, t.openid, t.name, t.due_at) for t in await timers.claim_due(session, now)]
    for timer_id, openid, name, due_at in claimed:
        incoming = Incoming(
            openid=openid,
            key=f"timer:{timer_id}:{due_at.isoformat()}",
            kind="timer",
            inbound=Inbound(kind="timer", at=now, text=name),
            payload={"timer_id": timer_id, "due_at": due_at.isoformat(), "timer": name},
        )
        try:
            await turns.handle(incoming, late=True)  # a timer's replies go out by API
        except Exception:
            log.exception("timer %s failed; its claim lapses and it is retried", name)
    return len(claimed)


async def run_forever(turns: TurnService, every_s: float = 5.0) -> None:
    while True:
        try:
            await fire_due(turns)
        except Exception:
            log.exception("timer loop failed; will try again")
        await asyncio.sleep(every_s)
