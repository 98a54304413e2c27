"""回访: the citizen's rating of a resolved ticket (the citizen dialog holds the conversation).

1-5 stars: 4-5 满意, 3 基本满意, 1-2 不满意. A satisfied rating closes the ticket (回访 done);
不满意 reopens it (重办) and tells the centre's staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.services import Services
from handlers.staff import notify
from handlers.staff.config import load_config
from handlers.staff.errors import Conflict, Invalid
from handlers.staff.lifecycle import Outcome, system_event
from handlers.staff.notify import group_number
from storage.columns import utcnow
from storage.models import Ticket
from storage.repositories import tickets as ticket_repo

DISSATISFIED_MAX = 2


def level_of(score: int) -> str:
    if score >= 4:
        return "满意"
    if score == 3:
        return "基本满意"
    return "不满意"


@dataclass
class RatingResult:
    reopened: bool
    closed: bool
    notification_ids: list[int]


async def record_rating(
    session: AsyncSession,
    ticket: Ticket,
    score: int,
    comment: str = "",
    now: datetime | None = None,
) -> RatingResult:
    """Store the rating (event "rate", by the citizen) in the caller's transaction.

    Call notify.dispatch(services, result.notification_ids) after commit (or use `rate`).
    """
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise Invalid("评分应为 1 到 5 的整数")
    if ticket.status not in ("resolved", "closed"):
        raise Conflict("工单尚未办结，不能评价")
    comment = (comment or "").strip()[:500]
    now = now or utcnow()
    config = await load_config(session)
    level = level_of(score)
    await system_event(
        session,
        ticket,
        "rate",
        "citizen",
        now,
        config,
        data={"score": score, "level": level, "comment": comment},
    )
    ids: list[int] = []
    if score <= DISSATISFIED_MAX:
        outcome: Outcome = await system_event(
            session,
            ticket,
            "reopen",
            "citizen",
            now,
            config,
            status="in_progress",
            data={"reason": f"回访不满意（{score} 分）" + (f"：{comment}" if comment else "")},
            staff_notice=(
                "reopened",
                f"工单 {group_number(ticket.number)} 回访不满意（{score} 分），已重办"
                + (f"：{comment}" if comment else ""),
            ),
        )
        ids += outcome.notification_ids
        return RatingResult(reopened=True, closed=False, notification_ids=ids)
    if ticket.status == "resolved":
        await system_event(
            session,
            ticket,
            "close",
            "citizen",
            now,
            config,
            status="closed",
            data={"reason": f"回访{level}"},
        )
        return RatingResult(reopened=False, closed=True, notification_ids=ids)
    return RatingResult(reopened=False, closed=False, notification_ids=ids)


async def rate(
    services: Services, number: str, score: int, comment: str = "", now: datetime | None = None
) -> RatingResult:
    """record_rating in a transaction of its own, then the notifications."""
    async with services.db.transaction(lock_key=f"ticket:{number}") as session:
        ticket = await ticket_repo.by_number(session, number)
        if ticket is None:
            raise Invalid(f"没有工单号为 {number} 的工单")
        result = await record_rating(session, ticket, score, comment, now)
    await notify.dispatch(services, result.notification_ids)
    return result
