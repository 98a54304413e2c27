"""Reading tickets as staff: the queue (filters, flags, badges) and one ticket's detail.

Reading a ticket's detail (its personal data) is itself recorded in staff_audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from handlers import centres
from handlers.services import Services
from handlers.staff import workdays
from handlers.staff.access import Actor, centre_scope, check_ticket
from handlers.staff.config import StaffConfig, load_config
from handlers.staff.errors import Forbidden, Invalid, NotFound
from handlers.staff.notify import STATUS_LABELS, group_number
from storage.columns import utcnow
from storage.models import Ticket, TicketNotification
from storage.repositories import messages, ticket_queue
from storage.repositories import staff as staff_repo
from storage.repositories import tickets as ticket_repo
from storage.repositories.ticket_queue import QueueFilter

MAX_PAGE = 200


def ticket_flag(ticket: Ticket, now: datetime, config: StaffConfig) -> str:
    if ticket.status == "new":
        return workdays.flag(ticket.accept_due_at, now, config)
    if ticket.status in ("accepted", "in_progress"):
        return workdays.flag(ticket.resolve_due_at, now, config)
    return ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def summary(ticket: Ticket, now: datetime, config: StaffConfig) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "number_display": group_number(ticket.number),
        "title": ticket.title,
        "status": ticket.status,
        "status_label": STATUS_LABELS.get(ticket.status, ticket.status),
        "centre": ticket.centre,
        "centre_code": centres.code_of(ticket.centre),
        "classification": ticket.classification,
        "category": ticket.category,
        "incomplete": ticket.incomplete,
        "created_at": ticket.created_at.isoformat(),
        "accept_due_at": _iso(ticket.accept_due_at),
        "resolve_due_at": _iso(ticket.resolve_due_at),
        "flag": ticket_flag(ticket, now, config),
    }


@dataclass
class QueueQuery:
    status: str | None = None
    centre: str | None = None  # code or Chinese name
    category: str | None = None
    overdue: bool | None = None
    q: str | None = None
    limit: int = 50
    offset: int = 0


async def list_tickets(services: Services, actor: Actor, query: QueueQuery) -> dict[str, Any]:
    """The queue as the actor may see it: {"tickets", "total", "counts"}."""
    scope = centre_scope(actor)
    centre_name = scope
    if query.centre:
        found = centres.lookup(query.centre)
        if found is None:
            raise Invalid(f"没有「{query.centre}」这个服务中心")
        if scope is not None and found.name != scope:
            raise Forbidden("您只能查看所在服务中心的工单")
        centre_name = found.name
    if query.status and query.status not in STATUS_LABELS:
        raise Invalid(f"状态应为以下之一：{'、'.join(STATUS_LABELS)}")
    if not 1 <= query.limit <= MAX_PAGE or query.offset < 0:
        raise Invalid(f"limit 应在 1 到 {MAX_PAGE} 之间，offset 不能为负")
    now = utcnow()
    f = QueueFilter(centre_name, query.status, query.category, query.overdue, query.q)
    async with services.db.sessions() as session:
        config = await load_config(session)
        rows, total = await ticket_queue.search(session, f, now, query.limit, query.offset)
        counts = await ticket_queue.counts(session, f, now)
    return {
        "tickets": [summary(t, now, config) for t in rows],
        "total": total,
        "counts": {status: counts.get(status, 0) for status in (*STATUS_LABELS, "overdue")},
    }


def _event_view(event: Any) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "actor": event.actor,
        "public": event.public,
        "data": event.data,
        "at": event.at.isoformat(),
    }


async def ticket_detail(
    services: Services, actor: Actor, number: str, address: str = ""
) -> dict[str, Any]:
    """Everything about one ticket; the reading is recorded (actor, time) in staff_audit."""
    now = utcnow()
    async with services.db.transaction() as session:
        config = await load_config(session)
        ticket = await ticket_repo.by_number(session, number)
        if ticket is None:
            raise NotFound(f"没有工单号为 {number} 的工单")
        check_ticket(actor, ticket)
        await staff_repo.audit(
            session, actor.username, "view_ticket", now, ticket.id, {"address": address}
        )
        events = await ticket_repo.events(session, ticket.id)
        transcript = (
            await messages.transcript(session, ticket.conversation_id)
            if ticket.conversation_id is not None
            else []
        )
        notifications = list(
            await session.scalars(
                select(TicketNotification)
                .where(TicketNotification.ticket_id == ticket.id)
                .order_by(TicketNotification.id)
            )
        )
    return {
        **summary(ticket, now, config),
        "fields": ticket.fields,
        "phone": ticket.phone,
        "attachments": ticket.attachments,
        "case_suggestions": ticket.case_suggestions,
        "classification_received": ticket.classification_received,
        "category_received": ticket.category_received,
        "updated_at": ticket.updated_at.isoformat(),
        "events": [_event_view(e) for e in events],
        "transcript": [
            {
                "direction": m.direction,
                "kind": m.kind,
                "text": m.text,
                "at": m.created_at.isoformat(),
            }
            for m in transcript
        ],
        "notifications": [
            {
                "audience": n.audience,
                "kind": n.kind,
                "text": n.text,
                "status": n.status,
                "channel": n.channel,
                "created_at": n.created_at.isoformat(),
            }
            for n in notifications
        ],
    }
