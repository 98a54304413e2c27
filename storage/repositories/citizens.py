"""Citizens and their conversations. Callers hold the citizen's lock (Database.transaction).

A turn reads its citizen as a plain row (CitizenRow), not an ORM object: the row is handed to
every effect and written back once, by `save`, with only the columns that changed. Loading
and flushing an ORM object (identity map, unit of work, attribute history) cost a turn more
than the two statements themselves. Statements are built once so SQLAlchemy's compiled cache
serves them, and run through storage.core (no autoflush).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.columns import utcnow
from storage.models import Citizen, Conversation

_citizens = Citizen.__table__
_conversations = Conversation.__table__
_INSERT = insert(_citizens)
# The SET clause is the parameters' keys (the columns a turn changed): one compiled form each.
_UPDATE = update(_citizens).where(_citizens.c.openid == bindparam("citizen"))
_OPEN_CONVERSATION = insert(_conversations)
_CLOSE_CONVERSATION = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation_id"))
    .values(closed_at=bindparam("closed_at"))
)


@dataclass(slots=True)
class CitizenRow:
    """The columns of `citizens` a turn reads and may change."""

    openid: str
    subscribed: bool = True
    scene: str = ""
    dialog_state: dict[str, Any] = field(default_factory=dict)
    conversation_id: int | None = None
    last_inbound_at: datetime | None = None
    # The values as read (None for a new citizen): `save` writes only what differs from them.
    loaded: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)


_COLUMNS = tuple(f.name for f in fields(CitizenRow) if f.name not in ("openid", "loaded"))
_SELECT = select(*(_citizens.c[name] for name in _COLUMNS)).where(
    _citizens.c.openid == bindparam("openid")
)


def _values(citizen: CitizenRow) -> tuple[Any, ...]:
    return tuple(getattr(citizen, name) for name in _COLUMNS)


async def get_or_create(session: AsyncSession, openid: str, now: datetime) -> CitizenRow:
    row = (await core.execute(session, _SELECT, {"openid": openid})).first()
    if row is None:
        citizen = CitizenRow(openid=openid)
        await core.execute(
            session,
            _INSERT,
            {
                "openid": openid,
                **dict(zip(_COLUMNS, _values(citizen), strict=True)),
                "created_at": now,
                "updated_at": now,
            },
        )
    else:
        citizen = CitizenRow(openid, *row)
    citizen.loaded = _values(citizen)
    return citizen


async def save(session: AsyncSession, citizen: CitizenRow) -> None:
    """Write the columns the turn changed, if any (dialog_state compares by value, as the ORM
    did: a dialog returns a new state rather than changing the one it was given)."""
    assert citizen.loaded is not None, "save a citizen read by get_or_create"
    changed = {
        name: value
        for name, value, before in zip(_COLUMNS, _values(citizen), citizen.loaded, strict=True)
        if value != before
    }
    if not changed:
        return
    await core.execute(
        session, _UPDATE, {**changed, "updated_at": utcnow(), "citizen": citizen.openid}
    )
    citizen.loaded = _values(citizen)


async def current_conversation(session: AsyncSession, citizen: CitizenRow, now: datetime) -> int:
    """The citizen's open conversation, opened now if there is none."""
    if citizen.conversation_id is None:
        result = await core.execute(
            session, _OPEN_CONVERSATION, {"openid": citizen.openid, "opened_at": now}
        )
        citizen.conversation_id = int(result.inserted_primary_key[0])
    return citizen.conversation_id


async def close_conversation(
    session: AsyncSession, citizen: CitizenRow, now: datetime
) -> int | None:
    """Close the open conversation (e.g. its request became a ticket); return its id."""
    closed = citizen.conversation_id
    if closed is not None:
        await core.execute(
            session, _CLOSE_CONVERSATION, {"conversation_id": closed, "closed_at": now}
        )
        citizen.conversation_id = None
    return closed
