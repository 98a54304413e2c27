"""The per-citizen flood limit: a one-minute window counted in the database (shared by
every worker). Callers hold the citizen's lock; one upsert counts and reads in a round trip."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Insert

from storage import core
from storage.backends import Backend
from storage.models import RateWindow

_table = RateWindow.__table__


def window_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


# One statement per dialect (the upsert syntax is the dialect's), built on first use.
_hit_statements: dict[str, Insert] = {}


def _hit_statement(backend: Backend) -> Insert:
    """INSERT with count 1 or, for a known citizen, count on in the same window or restart."""
    statement = _hit_statements.get(backend.name)
    if statement is None:
        upsert: Any = backend.insert(_table).values(
            openid=bindparam("openid"), window_start=bindparam("start"), count=1
        )
        same_window = _table.c.window_start == upsert.excluded.window_start
        statement = upsert.on_conflict_do_update(
            index_elements=["openid"],
            set_={
                "count": case((same_window, _table.c.count + 1), else_=1),
                "window_start": upsert.excluded.window_start,
            },
        ).returning(_table.c.count)
        _hit_statements[backend.name] = statement
    return statement


async def hit(session: AsyncSession, backend: Backend, openid: str, now: datetime) -> int:
    """Count one message in the current minute; returns how many this minute so far."""
    statement = _hit_statement(backend)
    result = await core.execute(session, statement, {"openid": openid, "start": window_of(now)})
    return int(result.scalar_one())
