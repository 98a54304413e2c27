"""Tickets: filing with a collision-free number, and the citizen's own lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.backends import Backend
from storage.models import Ticket, TicketDayCounter, TicketEvent

NumberFor = Callable[[date, int], str]


@dataclass
class NewTicket:
    openid: str
    conversation_id: int | None
    fields: dict[str, Any]
    centre: str = ""
    title: str = ""
    phone: str = ""
    attachments: list[Any] = field(default_factory=list)
    case_suggestions: list[Any] = field(default_factory=list)
    incomplete: bool = False
    consent_at: datetime | None = None
    classification: str = ""
    category: str = ""
    accept_due_at: datetime | None = None
    resolve_due_at: datetime | None = None


# Built once per backend (the day is SQL of its own) and run on the driver's connection
# (storage.core.Hot): a filing is one turn in nine, and through the ORM its statements (two
# flushes with their unit of work) cost that turn more than the rest of it.
_counters: dict[str, core.Hot] = {}
_counter_table = TicketDayCounter.__table__
_INSERT_TICKET = core.Hot(insert(Ticket.__table__).returning(Ticket.__table__.c.id))
_INSERT_EVENT = core.Hot(insert(TicketEvent.__table__))


def _counter_statement(backend: Backend) -> core.Hot:
    statement = _counters.get(backend.name)
    if statement is None:
        upsert: Any = backend.insert(_counter_table).values(day=backend.today(), last=1)
        statement = _counters[backend.name] = core.Hot(
            upsert.on_conflict_do_update(
                index_elements=["day"], set_={"last": _counter_table.c.last + 1}
            ).returning(_counter_table.c.day, _counter_table.c.last)
        )
    return statement


async def next_counter(session: AsyncSession, backend: Backend) -> tuple[date, int]:
    """Today's date (database clock, Asia/Shanghai) and the next counter, atomically."""
    [(day, counter)] = await _counter_statement(backend).run(session, {})
    return day, int(counter)


async def file(
    session: AsyncSession, backend: Backend, new: NewTicket, number_for: NumberFor, now: datetime
) -> Ticket:
    """Create the ticket and its 'filed' event in the caller's transaction.

    The Ticket returned is not in the session (written with Core): read it, do not change it.
    """
    day, counter = await next_counter(session, backend)
    values: dict[str, Any] = {
        "number": number_for(day, counter),
        "openid": new.openid,
        "conversation_id": new.conversation_id,
        "status": "new",
        "centre": new.centre,
        "title": new.title,
        "fields": new.fields,
        "phone": new.phone,
        "attachments": new.attachments,
        "case_suggestions": new.case_suggestions,
        "incomplete": new.incomplete,
        "consent_at": new.consent_at,
        "classification_received": new.classification,
        "classification": new.classification,
        "category_received": new.category,
        "category": new.category,
        "accept_due_at": new.accept_due_at,
        "resolve_due_at": new.resolve_due_at,
        "created_at": now,
        "updated_at": now,
    }
    [(ticket_id,)] = await _INSERT_TICKET.run(session, values)
    await _INSERT_EVENT.run(
        session,
        {
            "ticket_id": ticket_id,
            "type": "filed",
            "actor": "citizen",
            "public": False,
            "data": {"incomplete": new.incomplete, "centre": new.centre},
            "at": now,
        },
    )
    return Ticket(id=ticket_id, **values)


async def by_number(session: AsyncSession, number: str) -> Ticket | None:
    return await session.scalar(select(Ticket).where(Ticket.number == number))


async def of_citizen(session: AsyncSession, openid: str, limit: int = 10) -> list[Ticket]:
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.openid == openid)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(rows)


async def events(
    session: AsyncSession, ticket_id: int, public_only: bool = False
) -> list[TicketEvent]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if public_only:
        query = query.where(TicketEvent.public.is_(True))
    return list(await session.scalars(query.order_by(TicketEvent.id)))


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)
