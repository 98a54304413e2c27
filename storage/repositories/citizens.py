"""Citizens and their conversations. Callers hold the citizen's lock (Database.transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Citizen, Conversation


async def get_or_create(session: AsyncSession, openid: str, now: datetime) -> Citizen:
    citizen = await session.get(Citizen, openid, populate_existing=True)
    if citizen is None:
        citizen = Citizen(openid=openid, dialog_state={}, created_at=now, updated_at=now)
        session.add(citizen)
        await session.flush()
    return citizen


async def current_conversation(session: AsyncSession, citizen: Citizen, now: datetime) -> int:
    """The citizen's open conversation, opened now if there is none."""
    if citizen.conversation_id is None:
        conversation = Conversation(openid=citizen.openid, opened_at=now)
        session.add(conversation)
        await session.flush()
        citizen.conversation_id = conversation.id
    return citizen.conversation_id


async def close_conversation(session: AsyncSession, citizen: Citizen, now: datetime) -> int | None:
    """Close the open conversation (e.g. its request became a ticket); return its id."""
    closed = citizen.conversation_id
    if closed is not None:
        conversation = await session.get(Conversation, closed)
        if conversation is not None:
            conversation.closed_at = now
        citizen.conversation_id = None
    return closed
