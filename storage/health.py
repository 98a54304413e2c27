"""Whether the database can serve: it answers, takes a write, and (SQLite) has disk left.

Used by /healthz and by `doudi serve` before it starts. Each failure comes with a one-line
reason for the operator; nothing personal is in it.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.columns import utcnow
from storage.db import Database
from storage.models import HealthProbe

# Below this much free space an SQLite database is about to fail writes.
MIN_FREE_BYTES = 16 * 1024 * 1024
READ_TIMEOUT_S = 2.0
WRITE_TIMEOUT_S = 3.0


def reason_of(error: BaseException) -> str:
    """The driver's own words (e.g. 'database or disk is full'), on one line."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else ""
    return (text or type(original).__name__)[:160]


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


async def check(db: Database) -> tuple[bool, str]:
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            reachable = await db.ping()
    except TimeoutError:
        reachable = False
    if not reachable:
        return False, "database unreachable"
    path = sqlite_path(db.url)
    if path is not None:
        free = shutil.disk_usage(path.parent).free
        if free < MIN_FREE_BYTES:
            return False, f"disk almost full: {free // 1024} KiB free for {path.name}"
    try:
        async with asyncio.timeout(WRITE_TIMEOUT_S):
            await write_probe(db)
    except TimeoutError:
        return False, "database writes are stalled"
    except Exception as error:  # read-only file, disk full, I/O error, read-only replica
        return False, f"database does not take writes: {reason_of(error)}"
    return True, "ok"


async def write_probe(db: Database) -> None:
    now = utcnow()
    async with db.transaction() as session:
        statement = (
            db.backend.insert(HealthProbe)
            .values(name="healthz", at=now)
            .on_conflict_do_update(index_elements=["name"], set_={"at": now})  # type: ignore[attr-defined]
        )
        await session.execute(statement)
