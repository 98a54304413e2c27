"""Notifications about tickets, through an outbox (ticket_notifications).

An action queues its notifications in its own transaction (queue_citizen / queue_staff); after
commit the caller runs dispatch(services, ids). A crash in between leaves the rows "queued";
flush_queued (periodic) sends them later.

To a citizen: the customer-service message when they wrote within the last 48 hours
(Citizen.last_inbound_at); otherwise the account's template message (DOUDI_WECHAT_TEMPLATE_ID);
when neither goes through, the row stays "pending" for the console to show.
To staff: a WeChat Work application message to the centre's accounts that have a WeChat Work
user id; "skipped" when WeChat Work is not configured or nobody is reachable.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import centres
from handlers.services import Delivery, Services
from handlers.staff.runtime import runtime_of
from handlers.tickets.statuses import STATUS_LABELS
from storage import core
from storage.columns import utcnow
from storage.models import Citizen, Ticket, TicketNotification
from storage.repositories import staff as staff_repo

log = logging.getLogger(__name__)

CUSTOMER_SERVICE_WINDOW = timedelta(hours=48)
# On the driver's connection (storage.core.Hot); no autoflush: a notification needs its
# ticket's row, which exists (tickets are inserted with Core), not its pending changes.
_INSERT = core.Hot(
    insert(TicketNotification.__table__).returning(TicketNotification.__table__.c.id)
)
AfterCommit = Callable[[], Awaitable[None]]


def group_number(number: str) -> str:
    """A ticket number as people read it aloud: groups of 4 ("2611 2804 1739")."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


async def queue_citizen(
    session: AsyncSession, ticket: Ticket, kind: str, text: str, now: datetime
) -> int:
    return await _queue(session, ticket, "citizen", ticket.openid, kind, text, now)


async def queue_staff(
    session: AsyncSession, ticket: Ticket, kind: str, text: str, now: datetime
) -> int:
    """To the staff of the ticket's (current) centre."""
    return await _queue(session, ticket, "staff", centres.code_of(ticket.centre), kind, text, now)


async def _queue(
    session: AsyncSession,
    ticket: Ticket,
    audience: str,
    recipient: str,
    kind: str,
    text: str,
    now: datetime,
    status: str = "queued",
) -> int:
    [(notification_id,)] = await _INSERT.run(
        session,
        {
            "ticket_id": ticket.id,
            "audience": audience,
            "recipient": recipient,
            "kind": kind,
            "text": text,
            "status": status,
            "channel": "",
            "created_at": now,
        },
    )
    return int(notification_id)


async def dispatch(services: Services, ids: Iterable[int]) -> None:
    """Send queued notifications. Call after the queuing transaction committed."""
    for notification_id in ids:
        try:
            await _send_one(services, notification_id)
        except Exception:  # one failed notification must not fail the staff action
            log.exception("notification %s could not be sent; stays queued", notification_id)


async def flush_queued(services: Services, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Send notifications left queued (a crash between commit and dispatch). Periodic."""
    async with services.db.sessions() as session:
        ids = list(
            await session.scalars(
                select(TicketNotification.id)
                .where(
                    TicketNotification.status == "queued",
                    TicketNotification.created_at < utcnow() - older_than,
                )
                .order_by(TicketNotification.id)
                .limit(100)
            )
        )
    await dispatch(services, ids)
    return len(ids)


async def _send_one(services: Services, notification_id: int) -> None:
    async with services.db.transaction() as session:
        row = await session.get(TicketNotification, notification_id, populate_existing=True)
        if row is None or row.status != "queued":
            return
        row.status = "sending"  # claimed: a concurrent flush leaves it alone
        ticket = await session.get(Ticket, row.ticket_id)
        assert ticket is not None
        if row.audience == "citizen":
            citizen = await session.get(Citizen, row.recipient)
            last_inbound = citizen.last_inbound_at if citizen else None
            recipients: list[str] = []
        else:
            last_inbound = None
            accounts = await staff_repo.accounts_of_centre(session, row.recipient)
            recipients = [a.wework_userid for a in accounts if a.wework_userid]
    # No transaction is open while calling out (SQLite's write lock is process-wide).
    if row.audience == "citizen":
        status, channel, code = await _to_citizen(services, row, ticket, last_inbound)
    else:
        status, channel, code = await _to_staff(services, row, recipients)
    async with services.db.transaction() as session:
        stored = await session.get(TicketNotification, notification_id)
        if stored is not None and stored.status == "sending":
            stored.status, stored.channel, stored.error_code = status, channel, code
            stored.sent_at = utcnow() if status == "sent" else None


async def _to_citizen(
    services: Services, row: TicketNotification, ticket: Ticket, last_inbound: datetime | None
) -> tuple[str, str, int | None]:
    error_code: int | None = None
    if last_inbound is not None and utcnow() - last_inbound < CUSTOMER_SERVICE_WINDOW:
        delivery = await services.outbound.send_text(row.recipient, row.text)
        if delivery.status == "sent":
            return "sent", "custom", None
        error_code = delivery.error_code
    runtime = runtime_of(services)
    send_template = getattr(services.outbound, "send_template", None)
    if runtime.template_id and send_template is not None:
        data = {
            "first": {"value": row.text},
            "keyword1": {"value": group_number(ticket.number)},
            "keyword2": {"value": STATUS_LABELS.get(ticket.status, ticket.status)},
            "remark": {"value": "如有疑问，请在公众号内回复消息。"},
        }
        delivery = await send_template(row.recipient, runtime.template_id, data)
        if delivery.status == "sent":
            return "sent", "template", None
        error_code = delivery.error_code or error_code
    return "pending", "", error_code


async def _to_staff(
    services: Services, row: TicketNotification, recipients: list[str]
) -> tuple[str, str, int | None]:
    wework = runtime_of(services).wework
    if wework is None or not wework.configured or not recipients:
        return "skipped", "", None
    delivery: Delivery = await wework.send_text(recipients, row.text)
    if delivery.status == "sent":
        return "sent", "wework", None
    return "pending", "wework", delivery.error_code


async def queue_ticket_filed(
    services: Services, session: AsyncSession, ticket: Ticket, now: datetime
) -> AfterCommit | None:
    """In the filing transaction: the staff's notification of a new ticket, committed with it
    (a crash after the commit leaves it queued for flush_queued, not lost). Returns what to
    run after the commit, or None: without WeChat Work the notification is recorded as
    skipped at once, as dispatching it would, without two more transactions."""
    runtime = runtime_of(services)
    link = runtime.console_link(ticket.number)
    text = (
        f"新工单 {group_number(ticket.number)}（{ticket.centre or '未指定中心'}）\n"
        f"{ticket.title or '（无标题）'}\n请及时受理：{link}"
    )
    centre = centres.code_of(ticket.centre)
    if runtime.wework is None or not runtime.wework.configured:
        await _queue(session, ticket, "staff", centre, "filed", text, now, status="skipped")
        return None
    notification_id = await _queue(session, ticket, "staff", centre, "filed", text, now)
    return lambda: dispatch(services, [notification_id])


async def on_ticket_filed(services: Services, ticket: Ticket) -> None:
    """Tell the centre's staff about a ticket filed earlier, in a transaction of its own."""
    async with services.db.transaction() as session:
        stored = await session.get(Ticket, ticket.id)
        if stored is None:
            return
        after_commit = await queue_ticket_filed(services, session, stored, utcnow())
    if after_commit is not None:
        await after_commit()


async def pending(
    session: AsyncSession, centre_name: str | None = None, limit: int = 100
) -> list[tuple[TicketNotification, Ticket]]:
    """Citizen notifications that could not be delivered, newest first (for the console)."""
    query = (
        select(TicketNotification, Ticket)
        .join(Ticket, Ticket.id == TicketNotification.ticket_id)
        .where(TicketNotification.status == "pending", TicketNotification.audience == "citizen")
    )
    if centre_name is not None:
        query = query.where(Ticket.centre == centre_name)
    rows = await session.execute(query.order_by(TicketNotification.id.desc()).limit(limit))
    return [(n, t) for n, t in rows.all()]
