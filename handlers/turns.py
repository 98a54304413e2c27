"""One incoming message, handled exactly once, in its citizen's serialised transaction.

Deduplication and the turn share that transaction: the delivery record is written in the
same commit as the turn's effects, so a crash mid-turn leaves no record and WeChat's
re-delivery runs the turn again, while a completed turn's re-delivery gets its reply back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers import outbox
from handlers.context import TurnContext
from handlers.dispatcher import Dispatcher
from handlers.incoming import Incoming
from handlers.services import Services
from storage.columns import utcnow
from storage.repositories import citizens, deliveries, messages
from storage.repositories import outbox as outbox_repo

log = logging.getLogger(__name__)
AfterCommit = Callable[[], Awaitable[None]]


def mask_openid(openid: str) -> str:
    return openid[:6] + "…" if len(openid) > 6 else openid


# Kinds that do not open WeChat's 48-hour customer-service window.
NOT_FROM_CITIZEN = frozenset({"unsubscribe", "location_report", "event", "timer"})

# A citizen sending more than this many messages in a minute gets one SLOW_DOWN reply;
# the rest of that minute is recorded as delivered but neither stored nor processed.
RATE_LIMIT_PER_MINUTE = 20
SLOW_DOWN = "您发得有点快，我跟不上了。请稍等一分钟再发，我会接着为您办理。"


@dataclass
class TurnOutcome:
    reply_text: str | None  # what to answer in the HTTP response; None means "success"
    duplicate: bool = False
    reply_message_ids: list[int] = field(default_factory=list)


def join_replies(replies: list[str]) -> str | None:
    # A passive reply carries one message; several dialog replies become paragraphs.
    text = "\n\n".join(reply.strip() for reply in replies if reply and reply.strip())
    return text or None


class TurnService:
    def __init__(self, services: Services, dispatcher: Dispatcher) -> None:
        self.services = services
        self.dispatcher = dispatcher

    async def earlier_reply(self, key: str) -> TurnOutcome | None:
        """A cheap look, without the citizen's lock, for a delivery already handled.

        A re-delivery of a finished turn is answered at once instead of queueing for the
        lock (on SQLite the one write lock). One SELECT on a pooled connection, no session.
        """
        async with self.services.db.engine.connect() as connection:
            record = await deliveries.get(connection, key)
        if record is None:
            return None
        reply = record.reply_text if record.status == "done" else None
        return TurnOutcome(reply, duplicate=True)

    async def handle(self, incoming: Incoming, late: bool = False) -> TurnOutcome:
        """Run the turn of `incoming`, once. `late`: its webhook request was answered already
        (queued under overload, or a timer): the reply is queued for the customer-service API
        in the turn's own transaction, claimed, and sent right after the commit."""
        db = self.services.db
        lock_key = f"citizen:{incoming.openid}"
        # Only worth a round trip when the lock may keep us waiting; otherwise the check
        # inside the lock answers a re-delivery just as soon.
        if db.backend.may_wait(lock_key):
            known = await self.earlier_reply(incoming.key)
            if known is not None:
                log.info("re-delivery of %s answered from the record", incoming.kind)
                return known
        after_commit: list[AfterCommit] = []
        async with db.transaction(lock_key=lock_key) as session:
            outcome = await self._run(session, incoming, late, after_commit)
        for action in after_commit:
            try:
                await action()
            except Exception:
                log.exception("after-commit action failed")
        return outcome

    async def _run(
        self, session: AsyncSession, incoming: Incoming, late: bool, after_commit: list[AfterCommit]
    ) -> TurnOutcome:
        """The turn inside its transaction; what must wait for the commit goes to after_commit."""
        now = utcnow()
        from_citizen = incoming.kind not in NOT_FROM_CITIZEN
        # The usual message: delivery check and citizen in one statement; the flood window is
        # counted on the row, written by `save` (on every path below).
        arrived = (
            await citizens.arrive(session, incoming.openid, incoming.key, now)
            if from_citizen
            else None
        )
        if arrived is None:
            record = await deliveries.get(session, incoming.key)
            if record is not None:  # the first delivery finished while we waited
                reply = record.reply_text if record.status == "done" else None
                return TurnOutcome(reply, duplicate=True)
            if from_citizen:  # under the lock, arrive found no row: a new citizen
                citizen = await citizens.create(session, incoming.openid, now, counted=True)
            else:
                citizen = await citizens.get_or_create(session, incoming.openid, now)
            sent = 1
        else:
            sent, citizen = arrived
        if from_citizen and sent > RATE_LIMIT_PER_MINUTE:
            reply = SLOW_DOWN if sent == RATE_LIMIT_PER_MINUTE + 1 else None
            await citizens.save(session, citizen)  # the message counted in the window
            await self._answered(session, incoming, now, reply, None, late, after_commit)
            log.info("rate limit: %s over %d/min", mask_openid(incoming.openid), sent - 1)
            return TurnOutcome(reply)
        if from_citizen:
            citizen.last_inbound_at = now
        conversation_id = await citizens.current_conversation(session, citizen, now)
        if incoming.kind != "timer":  # a timer is not something the citizen said
            await messages.add(
                session,
                openid=incoming.openid,
                conversation_id=conversation_id,
                direction="in",
                kind=incoming.kind,
                now=now,
                text=incoming.text,
                media_id=incoming.media_id,
                payload=incoming.payload,
                wechat_msg_id=incoming.wechat_msg_id,
            )
        ctx = TurnContext(
            session, citizen, incoming, conversation_id, now, self.services, after_commit
        )
        reply_text = join_replies(await self.dispatcher.dispatch(ctx))
        await citizens.save(session, citizen)
        outcome = TurnOutcome(reply_text)
        reply_id = None
        if reply_text:
            # The citizen may have moved to a new conversation during the turn (a ticket
            # was filed); the reply belongs with the message it answers.
            reply_id = await messages.add(
                session,
                openid=incoming.openid,
                conversation_id=conversation_id,
                direction="out",
                kind="text",
                now=utcnow(),
                text=reply_text,
                delivery="pending" if late else "passive",
            )
            outcome.reply_message_ids.append(reply_id)
        await self._answered(session, incoming, now, reply_text, reply_id, late, after_commit)
        log.info(
            "turn %s from %s: %d reply chars%s",
            incoming.kind,
            mask_openid(incoming.openid),
            len(reply_text or ""),
            " (late)" if late else "",
        )
        return outcome

    async def _answered(
        self,
        session: AsyncSession,
        incoming: Incoming,
        now: datetime,
        reply_text: str | None,
        message_id: int | None,
        late: bool,
        after_commit: list[AfterCommit],
    ) -> None:
        """The delivery record; when late, with the reply queued for the API, to be sent after
        the commit (claimed now: no transaction of its own to claim it)."""
        if not late or not reply_text:
            await deliveries.record(session, incoming.key, now, reply_text)
            return
        item = await outbox_repo.enqueue(
            session,
            openid=incoming.openid,
            text=reply_text,
            now=now,
            expires_at=now + outbox.SERVICE_WINDOW,
            message_id=message_id,
            claimed=True,
        )
        await deliveries.record(session, incoming.key, now, reply_text, status="async")
        after_commit.append(self._send_late(item.id, incoming.openid, reply_text))

    def _send_late(self, item_id: int, openid: str, text: str) -> AfterCommit:
        services = self.services

        async def send() -> None:
            sent = await outbox.send(services, [(item_id, openid, text)], utcnow())
            log.info("late reply to %s: %s", mask_openid(openid), "sent" if sent else "queued")

        return send

    async def deliver_late(self, incoming: Incoming, outcome: TurnOutcome) -> None:
        """The turn ran, but the webhook answered `success` at the deadline meanwhile: push
        its reply through the API."""
        if outcome.duplicate or not outcome.reply_text:
            return
        now = utcnow()
        async with self.services.db.transaction() as session:
            item = await outbox_repo.enqueue(
                session,
                openid=incoming.openid,
                text=outcome.reply_text,
                now=now,
                expires_at=now + outbox.SERVICE_WINDOW,
                message_id=outcome.reply_message_ids[0] if outcome.reply_message_ids else None,
                claimed=True,
            )
            await messages.set_delivery(session, outcome.reply_message_ids, "pending")
            await deliveries.mark_async(session, incoming.key)
        await self._send_late(item.id, incoming.openid, outcome.reply_text)()
