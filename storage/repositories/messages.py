"""The transcript: every inbound and outbound message with its citizen and conversation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.models import Message

# Built once: a Core INSERT on the table (no unit of work, no identity map), run on the
# driver's connection (storage.core.Hot); RETURNING gives the new id on both databases.
_INSERT = core.Hot(insert(Message.__table__).returning(Message.__table__.c.id))


async def add(
    session: AsyncSession,
    *,
    openid: str,
    conversation_id: int | None,
    direction: str,
    kind: str,
    now: datetime,
    text: str = "",
    media_id: str = "",
    payload: dict[str, Any] | None = None,
    wechat_msg_id: str = "",
    delivery: str = "",
) -> int:
    """Store one message; returns its id."""
    rows = await _INSERT.run(
        session,
        {
            "openid": openid,
            "conversation_id": conversation_id,
            "direction": direction,
            "kind": kind,
            "text": text,
            "media_id": media_id,
            "payload": payload or {},
            "wechat_msg_id": wechat_msg_id,
            "delivery": delivery,
            "created_at": now,
        },
    )
    return int(rows[0][0])


_SET_DELIVERY = core.Hot(
    update(Message.__table__)
    .where(Message.__table__.c.id == bindparam("message_id"))
    .values(delivery=bindparam("delivery"), error_code=bindparam("error_code"))
)


async def set_delivery(
    session: AsyncSession, message_ids: Sequence[int], delivery: str, error_code: int | None = None
) -> None:
    rows = [{"message_id": i, "delivery": delivery, "error_code": error_code} for i in message_ids]
    if rows:
        await _SET_DELIVERY.run_many(session, rows)


async def transcript(session: AsyncSession, conversation_id: int) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    )
    return list(rows)


async def of_citizen(session: AsyncSession, openid: str) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.openid == openid).order_by(Message.id)
    )
    return list(rows)
