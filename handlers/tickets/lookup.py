"""Status by chat: the citizen's own tickets, and a lookup by number (ListTickets, LookupTicket).

A number that is not the asker's needs the last 4 digits of the ticket's contact phone.
Unknown numbers and wrong digits read the same, and 5 wrong tries in an hour lock the
asker's lookups for an hour, so nothing tells an asker whether a number exists.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from dialogs.effects import ListTickets, LookupTicket
from handlers.context import TurnContext
from handlers.effects import EffectRegistry
from storage.models import Ticket
from storage.repositories import lookups, tickets

effects = EffectRegistry()

MAX_FAILURES = 5
WINDOW = timedelta(hours=1)
LOCK_FOR = timedelta(hours=1)

# What the citizen may read of each event: handling steps, never internal notes.
PROGRESS_TEXT = {
    "filed": "已登记",
    "accept": "窗口已受理",
    "transfer": "已转交相关部门办理",
    "coordinate": "窗口正在协调相关部门",
    "guide": "窗口已给出办理指引",
    "assist": "已请相关单位协助办理",
    "extend": "办理期限已延长",
    "resolve": "已办结",
    "close": "已关闭",
    "reopen": "已重新办理",
}


def locked_until(failures: list[datetime]) -> datetime | None:
    """When the lock ends, if MAX_FAILURES failures fell within WINDOW of each other."""
    failures = sorted(failures)
    for i in range(MAX_FAILURES - 1, len(failures)):
        if failures[i] - failures[i - MAX_FAILURES + 1] <= WINDOW:
            return failures[i] + LOCK_FOR
    return None


async def _is_locked(ctx: TurnContext) -> bool:
    recent = await lookups.failures_since(
        ctx.session, ctx.citizen.openid, ctx.now - WINDOW - LOCK_FOR
    )
    until = locked_until(recent)
    return until is not None and ctx.now < until


def _phone_digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


async def _shown(ctx: TurnContext, ticket: Ticket) -> dict[str, Any]:
    progress, replies = [], []
    for event in await tickets.events(ctx.session, ticket.id):
        at = event.at.isoformat()
        if event.type == "reply" and event.public:
            replies.append({"at": at, "text": str(event.data.get("text", ""))})
        elif event.type in PROGRESS_TEXT:
            progress.append({"at": at, "text": PROGRESS_TEXT[event.type]})
    return {
        "type": "ticket_status",
        "outcome": "shown",
        "ticket": {
            "number": ticket.number,
            "status": ticket.status,
            "centre": ticket.centre,
            "updated": ticket.updated_at.isoformat(),
            "progress": progress,
            "replies": replies,
        },
    }


@effects.register(LookupTicket)
async def lookup_ticket(ctx: TurnContext, effect: LookupTicket) -> dict[str, Any]:
    if await _is_locked(ctx):
        return {"type": "ticket_status", "outcome": "locked", "ticket": None}
    ticket = await tickets.by_number(ctx.session, effect.number)
    if ticket is not None and ticket.openid == ctx.citizen.openid:
        return await _shown(ctx, ticket)
    if effect.phone_last4 is None:
        return {"type": "ticket_status", "outcome": "need_phone", "ticket": None}
    digits = _phone_digits(ticket.phone) if ticket is not None else ""
    if len(digits) >= 4 and digits[-4:] == effect.phone_last4:
        return await _shown(ctx, ticket)  # type: ignore[arg-type]
    await lookups.add_failure(ctx.session, ctx.citizen.openid, ctx.now)
    outcome = "locked" if await _is_locked(ctx) else "denied"
    return {"type": "ticket_status", "outcome": outcome, "ticket": None}


@effects.register(ListTickets)
async def list_tickets(ctx: TurnContext, effect: ListTickets) -> dict[str, Any]:
    own = await tickets.of_citizen(ctx.session, ctx.citizen.openid)
    items = [
        {
            "number": t.number,
            "title": t.title,
            "status": t.status,
            "updated": t.updated_at.isoformat(),
        }
        for t in own
    ]
    return {"type": "tickets", "items": items}
