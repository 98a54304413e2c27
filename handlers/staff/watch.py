"""A cheap fingerprint of the queue, so an open queue page knows when to refresh itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from handlers import centres
from handlers.services import Services
from handlers.staff.access import Actor, centre_scope
from handlers.staff.errors import Forbidden, Invalid
from storage.columns import utcnow
from storage.models import Ticket
from storage.repositories import ticket_queue
from storage.repositories.ticket_queue import QueueFilter


async def queue_stamp(
    services: Services, actor: Actor, centre: str | None = None
) -> dict[str, Any]:
    """{"stamp", "latest", "counts"}: the stamp changes when a ticket arrives, changes status,
    or becomes overdue in the actor's scope."""
    scope = centre_scope(actor)
    if centre:
        found = centres.lookup(centre)
        if found is None:
            raise Invalid(f"没有「{centre}」这个服务中心")
        if scope is not None and found.name != scope:
            raise Forbidden("您只能查看所在服务中心的工单")
        scope = found.name
    now = utcnow()
    conditions = [Ticket.centre == scope] if scope is not None else []
    async with services.db.sessions() as session:
        latest, changed = (
            await session.execute(
                select(func.max(Ticket.id), func.max(Ticket.updated_at)).where(*conditions)
            )
        ).one()
        counts = await ticket_queue.counts(session, QueueFilter(centre=scope), now)
    changed_at = changed.isoformat() if changed else ""
    summary = ",".join(f"{k}={counts[k]}" for k in sorted(counts))
    return {
        "stamp": f"{latest or 0}|{changed_at}|{summary}",
        "latest": latest or 0,
        "counts": counts,
    }
