"""Every Effect the dialogs can ask of the handler, and the result each one expects back.

An effect with a result is answered in the same turn by calling `step` again with
`Inbound(kind="result", at=<same time>, result={...})`. Effects without a result need no answer.
If an effect with a result fails, feed back `{"type": "error", "effect": "<EffectName>"}`: the
dialog apologises and keeps the conversation where it was (e.g. still at the read-back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from dialogs.types import Effect


@dataclass(frozen=True)
class SearchCases(Effect):
    """Search the case library.

    mode "intake": right after 诉求内容 is filled; "faq": from menu item 3.
    Result: {"type": "cases", "decision": "answer" | "suggest" | "none",
             "cases": [{"id", "title", "solution", "department"}, ...]}
    "answer" shows cases[0]; "suggest" lists up to 5 titles; "none" goes on.
    """

    query: str
    mode: Literal["intake", "faq"]


@dataclass(frozen=True)
class CaseFeedback(Effect):
    """The citizen said whether a shown case solved their problem. No result."""

    case_id: str
    helpful: bool


@dataclass(frozen=True)
class FileTicket(Effect):
    """File the request with the window.

    fields: {field name: value} of the current intake flow (values are str, or True for
    consent); attachments: [{"kind", "media_id", "url", "title", "at"}]; incomplete: True when
    the citizen asked for 人工 before finishing; case_suggestions: ids of cases shown during
    the intake that did not solve it; flow_version: the version the fields belong to;
    retired: answers to fields removed from the flow while this intake was in flight.
    Result: {"type": "ticket_filed", "number": "261128041739"}
    """

    fields: dict[str, Any]
    attachments: list[dict[str, Any]]
    incomplete: bool = False
    case_suggestions: list[str] = field(default_factory=list)
    flow_version: int = 0
    # Values of fields a newer flow no longer asks (kept so nothing the citizen said is lost).
    retired: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ListTickets(Effect):
    """The asker's own tickets, newest first.

    Result: {"type": "tickets", "items": [{"number", "title", "status", "updated"}, ...]}
    `updated` is an ISO 8601 string; `status` a code (see dialogs.status.STATUS_LABELS) or text.
    """


@dataclass(frozen=True)
class LookupTicket(Effect):
    """Look a ticket up by number. The handler decides ownership and counts failed tries.

    phone_last4 is None on the first try; "need_phone" asks the dialog to collect it.
    Result: {"type": "ticket_status", "outcome": "shown" | "need_phone" | "denied" | "locked",
             "ticket": {"number", "status", "centre", "updated",
                        "progress": [{"at", "text"}], "replies": [{"at", "text"}]} | None}
    The dialog renders "denied" and an unknown number ("not_found") with the same words; the
    handler should answer "need_phone" for an unknown number too, so nothing tells an asker
    whether a number exists. The dialog never shows contact details or the description.
    """

    number: str
    phone_last4: str | None = None


@dataclass(frozen=True)
class SetTimer(Effect):
    """Persist a timer that comes back as Inbound(kind="timer", text=timer) at `at`.

    Setting a timer replaces the pending one with the same `timer` name for this citizen.
    No result. Timers: "intake_reminder" (30 min), "intake_draft" (24 h).
    The field is `timer`, not `name`: `Effect.name` is the effect's class name (for logs).
    Construct positionally as SetTimer("intake_reminder", at).
    """

    timer: str
    at: datetime


@dataclass(frozen=True)
class CancelTimers(Effect):
    """Cancel all pending timers of this citizen. No result."""


@dataclass(frozen=True)
class Push(Effect):
    """Send `text` now through the customer-service API (outside a passive reply). No result."""

    text: str


@dataclass(frozen=True)
class ForgetMe(Effect):
    """The citizen said 删除我的信息: delete what is not yet a ticket, at once.

    The handler deletes the citizen's drafts: the transcript of conversations that did not
    become a ticket (with their loose attachments) and their queued pushes. The dialog has
    already reset its own state. Tickets are not touched: they are listed so the citizen
    knows how to withdraw them; closed tickets lose personal data after the retention period.
    Result: {"type": "forgotten", "open_tickets": [{"number", "title", "status"}, ...]}
    """


ALL_EFFECTS: tuple[type[Effect], ...] = (
    SearchCases,
    CaseFeedback,
    FileTicket,
    ListTickets,
    LookupTicket,
    SetTimer,
    CancelTimers,
    Push,
    ForgetMe,
)
