"""What a handler can reach during one turn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.incoming import Incoming
from storage.repositories.citizens import CitizenRow

if TYPE_CHECKING:
    from handlers.services import Services


@dataclass
class TurnContext:
    session: AsyncSession  # the citizen's serialised transaction
    citizen: CitizenRow  # written back once, after the handlers (citizens.save)
    incoming: Incoming
    conversation_id: int
    now: datetime
    services: Services
    # Work that must wait until the transaction has committed (e.g. outbound API calls).
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
