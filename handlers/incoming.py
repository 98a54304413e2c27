"""An incoming WeChat message, as the handlers see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs.types import Inbound


@dataclass(frozen=True)
class Incoming:
    openid: str
    key: str  # deduplication key: MsgId, or sender + CreateTime + Event for events
    kind: str  # what is stored in the transcript: text, voice, image, subscribe, ...
    inbound: Inbound | None  # what the dialog sees; None for events with nothing to say
    text: str = ""
    media_id: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    wechat_msg_id: str = ""
