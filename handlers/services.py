"""The long-lived services a turn can use, built once by the composition root (bot/app.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from handlers.effects import EffectRegistry
from storage.db import Database


@dataclass(frozen=True)
class Delivery:
    status: str  # "sent" | "failed" | "pending"
    error_code: int | None = None


class Outbound(Protocol):
    async def send_text(self, openid: str, text: str) -> Delivery: ...


@dataclass
class Services:
    db: Database
    outbound: Outbound
    effects: EffectRegistry
    dialog_config: Any  # dialogs.config.DialogConfig
    ticket_key: str = ""
    # (session, filed at) -> (accept due, resolve due); None leaves tickets without deadlines.
    deadlines: Callable[[Any, datetime], Awaitable[tuple[datetime, datetime]]] | None = None
    # (services, session, ticket, now), in the filing transaction: queues the staff's
    # notification and returns what to run after the commit, or None.
    queue_ticket_filed: (
        Callable[[Services, Any, Any, datetime], Awaitable[Callable[[], Awaitable[None]] | None]]
        | None
    ) = None
    # Case-library search (handlers.caselib.library.CaseLibrary); None: no library loaded.
    library: Any = None
    # What the staff window needs beyond this (handlers.staff.runtime.StaffRuntime).
    staff: Any = None
