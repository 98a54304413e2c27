"""Statistics of the window for a period [start, end) and optionally one centre."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from handlers import centres
from handlers.services import Services
from handlers.staff.access import Actor, stats_scope
from handlers.staff.errors import Forbidden, Invalid
from storage.repositories import ticket_queue


async def statistics(
    services: Services, actor: Actor, start: datetime, end: datetime, centre: str | None = None
) -> dict[str, Any]:
    if end <= start:
        raise Invalid("统计区间的结束时间应晚于开始时间")
    scope = stats_scope(actor)
    centre_name = scope
    if centre:
        found = centres.lookup(centre)
        if found is None:
            raise Invalid(f"没有「{centre}」这个服务中心")
        if scope is not None and found.name != scope:
            raise Forbidden("您只能查看所在服务中心的统计")
        centre_name = found.name
    async with services.db.sessions() as session:
        received = await ticket_queue.received(session, centre_name, start, end)
        accepts = await ticket_queue.first_accepts(session, [t.id for t in received])
        events = await ticket_queue.events_in(
            session, centre_name, start, end, ("resolve", "reopen", "rate")
        )
    accepted = [t for t in received if t.id in accepts]
    accepted_in_time = [
        t for t in accepted if t.accept_due_at is None or accepts[t.id] <= t.accept_due_at
    ]
    resolves = [e for e, _ in events if e.type == "resolve"]
    ratings = [e for e, _ in events if e.type == "rate"]
    modes: Counter[str] = Counter()
    departments: Counter[str] = Counter()
    stuck: Counter[str] = Counter()
    for event in resolves:
        modes.update(event.data.get("handling_modes", []))
        departments.update(event.data.get("departments", []))
        stuck[event.data.get("stuck_reason_label") or event.data.get("stuck_reason", "")] += 1
    days = [int(e.data.get("working_days", 0)) for e in resolves]
    scores = [int(e.data.get("score", 0)) for e in ratings]
    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "centre": centre_name,
        "received": len(received),
        "accepted": len(accepted),
        "accepted_within_limit": len(accepted_in_time),
        "resolved": len(resolves),
        "resolved_within_limit": sum(1 for e in resolves if e.data.get("within_limit")),
        "average_working_days_to_resolve": round(sum(days) / len(days), 2) if days else None,
        "market_barrier": sum(1 for e in resolves if e.data.get("market_barrier")),
        "by_classification": dict(Counter(t.classification or "未分类" for t in received)),
        "by_handling_mode": dict(modes),
        "by_department": dict(departments),
        "by_stuck_reason": dict(stuck),
        "reopened": sum(1 for e, _ in events if e.type == "reopen"),
        "satisfaction": {
            "ratings": len(scores),
            "average_score": round(sum(scores) / len(scores), 2) if scores else None,
            "by_level": dict(Counter(e.data.get("level", "") for e in ratings)),
        },
    }
