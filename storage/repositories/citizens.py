"""Citizens and their conversations. Callers hold the citizen's lock (Database.transaction).

A turn reads its citizen as a plain row (CitizenRow), not an ORM object: the row is handed to
every effect and written back once, by `save`, with only the columns that changed. Loading
and flushing an ORM object (identity map, unit of work, attribute history) cost a turn more
than the two statements themselves. Statements are built once so SQLAlchemy's compiled cache
serves them, and run through storage.core (no autoflush).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import core
from storage.columns import utcnow
from storage.models import Citizen, Conversation, InboundDelivery

_citizens = Citizen.__table__
_conversations = Conversation.__table__
_deliveries = InboundDelivery.__table__
_INSERT = core.Hot(insert(_citizens))
# The SET clause is the parameters' keys (the columns a turn changed): one compiled form each.
_UPDATE = core.Hot(update(_citizens).where(_citizens.c.openid == bindparam("citizen")))
_OPEN_CONVERSATION = core.Hot(insert(_conversations).returning(_conversations.c.id))
_CLOSE_CONVERSATION = core.Hot(
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
    # The flood window: the minute it started and the messages counted in it (see arrive).
    rate_window_start: datetime | None = None
    rate_count: int = 0
    # The values as read (None for a new citizen): `save` writes only what differs from them.
    loaded: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)


_COLUMNS = tuple(f.name for f in fields(CitizenRow) if f.name not in ("openid", "loaded"))
_SELECT = core.Hot(
    select(*(_citizens.c[name] for name in _COLUMNS)).where(
        _citizens.c.openid == bindparam("openid")
    )
)


# A message from the citizen: read the citizen, unless its delivery was handled already; one
# round trip instead of two (delivery check, citizen). A SELECT, not an UPDATE ... RETURNING of
# the flood window: the window is counted here and written by `save` with the turn's other
# changes (SQLite: 22 -> 6 us for the statement, and one UPDATE of the row a turn, not two).
_ARRIVE = core.Hot(
    select(*(_citizens.c[name] for name in _COLUMNS)).where(
        _citizens.c.openid == bindparam("citizen"),
        ~exists().where(_deliveries.c.key == bindparam("delivery_key")),
    )
)


def window_of(now: datetime) -> datetime:
    """The start of the flood limit's one-minute window `now` falls in."""
    return now.replace(second=0, microsecond=0)


# The values of _COLUMNS, as a tuple (attrgetter: in C, ~1 us less than a generator; three
# times a turn).
_values: Callable[[CitizenRow], tuple[Any, ...]] = operator.attrgetter(*_COLUMNS)


async def arrive(
    session: AsyncSession, openid: str, key: str, now: datetime
) -> tuple[int, CitizenRow] | None:
    """A message `key` from the citizen: its count in this minute's window, and the citizen,
    with the count in it (written by `save`: the caller saves the citizen in every case).

    None, with nothing changed, when `key` has a delivery record already or the citizen is
    not known yet (then see deliveries.get, and create with counted=True).
    """
    rows = await _ARRIVE.run(session, {"citizen": openid, "delivery_key": key})
    if not rows:
        return None
    citizen = CitizenRow(openid, *rows[0])
    citizen.loaded = _values(citizen)
    window = window_of(now)
    if citizen.rate_window_start == window:  # on in the same minute, else restart at 1
        citizen.rate_count += 1
    else:
        citizen.rate_window_start, citizen.rate_count = window, 1
    return citizen.rate_count, citizen


async def create(
    session: AsyncSession, openid: str, now: datetime, counted: bool = False
) -> CitizenRow:
    """A new citizen (the openid must be new); `counted`: their first message this minute
    counts in their flood window (an existing citizen's is counted by `arrive`)."""
    citizen = CitizenRow(openid=openid)
    if counted:
        citizen.rate_window_start, citizen.rate_count = window_of(now), 1
    await _INSERT.run(
        session,
        {
            "openid": openid,
            **dict(zip(_COLUMNS, _values(citizen), strict=True)),
            "created_at": now,
            "updated_at": now,
        },
    )
    citizen.loaded = _values(citizen)
    return citizen


async def get_or_create(session: AsyncSession, openid: str, now: datetime) -> CitizenRow:
    rows = await _SELECT.run(session, {"openid": openid})
    if not rows:
        return await create(session, openid, now)
    row = rows[0]
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
    await _UPDATE.run(session, {**changed, "updated_at": utcnow(), "citizen": citizen.openid})
    citizen.loaded = _values(citizen)


async def current_conversation(session: AsyncSession, citizen: CitizenRow, now: datetime) -> int:
    """The citizen's open conversation, opened now if there is none."""
    if citizen.conversation_id is None:
        [(opened,)] = await _OPEN_CONVERSATION.run(
            session, {"openid": citizen.openid, "opened_at": now}
        )
        citizen.conversation_id = int(opened)
    return citizen.conversation_id


async def close_conversation(
    session: AsyncSession, citizen: CitizenRow, now: datetime
) -> int | None:
    """Close the open conversation (e.g. its request became a ticket); return its id."""
    closed = citizen.conversation_id
    if closed is not None:
        await _CLOSE_CONVERSATION.run(session, {"conversation_id": closed, "closed_at": now})
        citizen.conversation_id = None
    return closed
