"""Filing a citizen's request as a ticket (the FileTicket effect)."""

from __future__ import annotations

import logging
import re
from typing import Any

from dialogs.effects import FileTicket
from handlers.context import TurnContext
from handlers.effects import EffectRegistry
from handlers.tickets import number as numbers
from storage.repositories import cases, citizens, tickets

log = logging.getLogger(__name__)
effects = EffectRegistry()

TITLE_CHARS = 24


def make_title(request: str) -> str:
    """A short title for queues and lists: the start of the request, on one line."""
    text = re.sub(r"\s+", " ", request).strip()
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


@effects.register(FileTicket)
async def file_ticket(ctx: TurnContext, effect: FileTicket) -> dict[str, Any]:
    fields = {**effect.fields}
    if effect.retired:
        fields["_retired"] = dict(effect.retired)  # answers to fields a newer flow dropped
    suggestions = []
    for case_id in effect.case_suggestions:
        title = await cases.title_of(ctx.session, case_id)
        suggestions.append({"id": case_id, "title": title or "", "helped": False})
    key = ctx.services.ticket_key

    def number_for(day, counter):  # type: ignore[no-untyped-def]
        return numbers.make_number(day, counter, key)

    new = tickets.NewTicket(
        openid=ctx.citizen.openid,
        conversation_id=ctx.conversation_id,
        fields=fields,
        centre=str(fields.get("centre") or ""),
        title=make_title(str(fields.get("request") or "")),
        phone=str(fields.get("phone") or ""),
        attachments=list(effect.attachments),
        case_suggestions=suggestions,
        incomplete=effect.incomplete,
        consent_at=ctx.now if fields.get("consent") else None,
    )
    deadlines = ctx.services.deadlines
    if deadlines is not None:
        new.accept_due_at, new.resolve_due_at = await deadlines(ctx.session, ctx.now)
    ticket = await tickets.file(ctx.session, ctx.services.db.backend, new, number_for, ctx.now)
    # The transcript up to here belongs to this ticket; the next message starts afresh.
    await citizens.close_conversation(ctx.session, ctx.citizen, ctx.now)
    queue_filed = ctx.services.queue_ticket_filed
    if queue_filed is not None:
        after_commit = await queue_filed(ctx.services, ctx.session, ticket, ctx.now)
        if after_commit is not None:
            ctx.after_commit.append(after_commit)
    log.info("ticket filed (incomplete=%s, centre=%s)", effect.incomplete, new.centre or "-")
    return {"type": "ticket_filed", "number": ticket.number}
