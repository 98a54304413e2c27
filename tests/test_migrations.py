"""Migration 0005: the flood window moves onto the citizen's row, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from storage.columns import utcnow
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.repositories import citizens, deliveries
from tests.conftest import BACKENDS, POSTGRES_URL


@pytest.fixture(params=BACKENDS)
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no schema yet: a new file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'doudi.db'}"
        return
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_mig_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _sql(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


async def test_0005_moves_the_flood_window_onto_citizens_and_back(empty_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_url, "0004_harden")
    await _sql(
        empty_url,
        "INSERT INTO citizens (openid, subscribed, scene, dialog_state, created_at, updated_at)"
        " VALUES ('o_old', true, '', '{}', '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
    )
    await _sql(
        empty_url,
        "INSERT INTO rate_windows (openid, window_start, count)"
        " VALUES ('o_old', '2026-11-01 00:00:00', 7)",
    )

    await asyncio.to_thread(upgrade, empty_url, "head")
    assert await _sql(
        empty_url, "SELECT rate_count, rate_window_start FROM citizens WHERE openid = 'o_old'"
    ) == [(0, None)]
    # The citizen from before counts from 1 in this minute's window, then on.
    db = Database(empty_url)
    try:
        now = utcnow()
        for key, expected in (("msg:1", 1), ("msg:2", 2)):
            async with db.transaction(lock_key="citizen:o_old") as session:
                arrived = await citizens.arrive(session, "o_old", key, now)
                assert arrived is not None
                sent, citizen = arrived
                assert (sent, citizen.openid, citizen.dialog_state) == (expected, "o_old", {})
                await citizens.save(session, citizen)  # the count is written with the citizen
                await deliveries.record(session, key, now, "reply")
        async with db.transaction(lock_key="citizen:o_old") as session:  # a re-delivery
            assert await citizens.arrive(session, "o_old", "msg:2", now) is None
        async with db.transaction(lock_key="citizen:o_old") as session:  # was not counted
            arrived = await citizens.arrive(session, "o_old", "msg:9", now)
            assert arrived is not None and arrived[0] == 3
        async with db.transaction(lock_key="citizen:o_old") as session:  # next minute: restart
            arrived = await citizens.arrive(session, "o_old", "msg:10", now + timedelta(minutes=1))
            assert arrived is not None and arrived[0] == 1
    finally:
        await db.dispose()

    config = alembic_config(empty_url)
    await asyncio.to_thread(command.downgrade, config, "0004_harden")
    assert await _sql(empty_url, "SELECT count(*) FROM rate_windows") == [(0,)]
    await asyncio.to_thread(upgrade, empty_url, "head")
    assert await _sql(empty_url, "SELECT rate_count FROM citizens WHERE openid = 'o_old'") == [(0,)]
