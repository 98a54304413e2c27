"""The long-lived services a turn can use, built once by the composition root (bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
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
