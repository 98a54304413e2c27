"""The staff queue: tickets filtered and ordered (overdue first, then newest), counts per status,
and the rows statistics are computed from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from storage.models import Ticket, TicketEvent


@dataclass
class QueueFilter:
    centre: str | None = None  # Chinese name, as Ticket.centre holds it
    status: str | None = None
    category: str | None = None
    overdue: bool | None = None
    q: str | None = None


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Ticket.status == "new", Ticket.accept_due_at < now),
        and_(Ticket.status.in_(("accepted", "in_progress")), Ticket.resolve_due_at < now),
    )


def _conditions(f: QueueFilter, now: datetime, *, with_status: bool = True) -> list:
    conditions: list = []
    if f.centre is not None:
        conditions.append(Ticket.centre == f.centre)
    if with_status and f.status:
        conditions.append(Ticket.status == f.status)
    if f.category:
        conditions.append(Ticket.category == f.category)
    if f.overdue is True:
        conditions.append(overdue_condition(now))
    elif f.overdue is False:
        conditions.append(~overdue_condition(now))
    if f.q:
        # JSON columns hold text as json.dumps wrote it (non-ASCII as \uXXXX): match both forms.
        escaped = json.dumps(f.q)[1:-1]
        fields_text = cast(Ticket.fields, String)
        conditions.append(
            or_(
                Ticket.title.contains(f.q, autoescape=True),
                Ticket.number.contains(f.q, autoescape=True),
                fields_text.contains(f.q, autoescape=True),
                fields_text.contains(escaped, autoescape=True),
            )
        )
    return conditions


async def search(
    session: AsyncSession, f: QueueFilter, now: datetime, limit: int = 50, offset: int = 0
) -> tuple[list[Ticket], int]:
    conditions = _conditions(f, now)
    total = await session.scalar(select(func.count()).select_from(Ticket).where(*conditions))
    rows = await session.scalars(
        select(Ticket)
        .where(*conditions)
        .order_by(
            case((overdue_condition(now), 0), else_=1),
            Ticket.created_at.desc(),
            Ticket.id.desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def counts(session: AsyncSession, f: QueueFilter, now: datetime) -> dict[str, int]:
    """Tickets per status (and "overdue") under the filter, whatever its status."""
    conditions = _conditions(f, now, with_status=False)
    rows = await session.execute(
        select(Ticket.status, func.count()).where(*conditions).group_by(Ticket.status)
    )
    found = {status: int(n) for status, n in rows.all()}
    overdue = await session.scalar(
        select(func.count()).select_from(Ticket).where(*conditions, overdue_condition(now))
    )
    found["overdue"] = int(overdue or 0)
    return found


async def received(
    session: AsyncSession, centre: str | None, start: datetime, end: datetime
) -> list[Ticket]:
    query = select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
    if centre is not None:
        query = query.where(Ticket.centre == centre)
    return list(await session.scalars(query))


async def events_in(
    session: AsyncSession, centre: str | None, start: datetime, end: datetime, types: tuple
) -> list[tuple[TicketEvent, Ticket]]:
    query = (
        select(TicketEvent, Ticket)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.at >= start, TicketEvent.at < end, TicketEvent.type.in_(types))
    )
    if centre is not None:
        query = query.where(Ticket.centre == centre)
    rows = await session.execute(query.order_by(TicketEvent.id))
    return [(e, t) for e, t in rows.all()]


async def first_accepts(session: AsyncSession, ticket_ids: list[int]) -> dict[int, datetime]:
    if not ticket_ids:
        return {}
    rows = await session.execute(
        select(TicketEvent.ticket_id, func.min(TicketEvent.at))
        .where(TicketEvent.type == "accept", TicketEvent.ticket_id.in_(ticket_ids))
        .group_by(TicketEvent.ticket_id)
    )
    return {ticket_id: at for ticket_id, at in rows.all()}
