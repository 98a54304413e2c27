"""The contract between the pure dialogs and the handlers that run them.

A turn is `step(state, inbound, config) -> Turn`. The dialog never does I/O: when it needs
something from the outside world it returns an Effect, the handler carries it out, and if the
effect has a result the handler feeds it back as another Inbound of kind "result" (same turn).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

InboundKind = Literal[
    "text",  # typed text
    "voice",  # voice; `text` holds WeChat's Recognition when present, else ""
    "image",
    "video",
    "shortvideo",
    "file",
    "link",
    "location",
    "menu",  # a CLICK/VIEW menu event; `text` holds the key
    "subscribe",  # follow event; `text` holds the qrscene key if any
    "scan",  # SCAN event; `text` holds the scene key
    "result",  # the outcome of an Effect, fed back by the handler
    "timer",  # a persisted timer fired; `text` holds its name
    "unknown",
]


@dataclass(frozen=True)
class Attachment:
    kind: str  # image | voice | video | shortvideo | file | link
    media_id: str = ""
    url: str = ""
    title: str = ""


@dataclass(frozen=True)
class Inbound:
    kind: InboundKind
    at: datetime  # timezone-aware
    text: str = ""
    attachment: Attachment | None = None
    location: tuple[float, float] | None = None  # (latitude, longitude)
    result: Mapping[str, Any] | None = None  # for kind == "result"


@dataclass(frozen=True)
class Effect:
    """Something the handler must do. Subclasses name what; `name` is stable for logs/metrics."""

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class Turn:
    state: dict[str, Any]  # JSON-serialisable; saved by the handler after every turn
    replies: tuple[str, ...] = ()
    effects: tuple[Effect, ...] = field(default_factory=tuple)
