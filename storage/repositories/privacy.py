"""Deleting personal data: a citizen's drafts on request (删除我的信息), and the personal part
of closed tickets after the retention period (`doudi purge`).

What a purge keeps is anonymous: the ticket's number, status, centre, dates, classification
and its events' types, actors and times (for statistics and the audit trail). What it removes:
the contact (openid, name, phone, company), the request's words (title, fields), attachments,
events' data (replies, notes) and the transcript's text and media.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Message, Ticket, TicketEvent
from storage.repositories import outbox

# Intake fields that say nothing about who the citizen is; everything else goes.
ANONYMOUS_FIELDS = ("centre", "applicant_type")
OPEN_LIMIT = 10


async def forget_drafts(session: AsyncSession, openid: str) -> list[dict[str, Any]]:
    """Delete the citizen's transcript outside tickets (drafts, loose attachments) and their
    queued pushes; return their tickets still being handled."""
    ticket_conversations = select(Ticket.conversation_id).where(
        Ticket.openid == openid, Ticket.conversation_id.is_not(None)
    )
    await session.execute(
        delete(Message).where(
            Message.openid == openid,
            (Message.conversation_id.is_(None))
            | Message.conversation_id.not_in(ticket_conversations),
        )
    )
    await outbox.drop_pending(session, openid)
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.openid == openid, Ticket.status != "closed")
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(OPEN_LIMIT)
    )
    return [{"number": t.number, "title": t.title, "status": t.status} for t in rows]


def _closed_at():  # type: ignore[no-untyped-def]
    last_close = (
        select(func.max(TicketEvent.at))
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.type == "close")
        .scalar_subquery()
    )
    return func.coalesce(last_close, Ticket.updated_at)


async def purge_closed(session: AsyncSession, before: datetime) -> int:
    """Remove personal data of tickets closed before `before`; returns how many tickets."""
    due = list(
        await session.scalars(
            select(Ticket).where(
                Ticket.status == "closed", Ticket.openid != "", _closed_at() < before
            )
        )
    )
    for ticket in due:
        if ticket.conversation_id is not None:
            await session.execute(
                update(Message)
                .where(Message.conversation_id == ticket.conversation_id)
                .values(openid="", text="", media_id="", payload={}, wechat_msg_id="")
            )
        await session.execute(
            update(TicketEvent).where(TicketEvent.ticket_id == ticket.id).values(data={})
        )
        ticket.fields = {k: ticket.fields[k] for k in ANONYMOUS_FIELDS if k in ticket.fields}
        ticket.openid = ""
        ticket.title = ""
        ticket.phone = ""
        ticket.attachments = []
    await outbox.purge_finished(session, before)
    await session.flush()
    return len(due)
