"""Core statements on the hot path of a turn, run without the ORM's autoflush.

SQLAlchemy flushes pending ORM changes before every statement a session executes, Core ones
included, and a flush with nothing pending still walks the session. The statements run
through here touch tables the ORM has nothing pending for in a turn (citizens and their
conversations, messages, delivery records, timers, rate windows), so they skip it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


async def execute(
    db: AsyncSession | AsyncConnection,
    statement: Executable,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> Result[Any]:
    """Execute `statement` on a session without autoflush, or on a bare connection."""
    if isinstance(db, AsyncConnection):
        return await db.execute(statement, params)
    with db.no_autoflush:
        return await db.execute(statement, params)
