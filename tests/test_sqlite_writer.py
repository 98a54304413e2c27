"""SQLite's writer: write transactions of one event-loop iteration share a COMMIT, and each is
still all or nothing, and committed when it returns."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from storage.columns import utcnow
from storage.db import Database
from storage.models import InboundDelivery, Message
from storage.repositories import deliveries, messages


@pytest.fixture
async def db(sqlite_template: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "doudi.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


async def _together(db: Database, *transactions: Coroutine[Any, Any, None]) -> list[Any]:
    """Run together, as admission runs turns started in one iteration: announced first."""
    db.backend.announce_writes(len(transactions))

    async def run(transaction: Coroutine[Any, Any, None]) -> None:
        db.backend.announce_writes(-1)
        await transaction

    return await asyncio.gather(*(run(t) for t in transactions), return_exceptions=True)


async def _keys(db: Database) -> list[str]:
    async with db.sessions() as session:  # another connection: sees only what was committed
        return sorted(await session.scalars(select(InboundDelivery.key)))


async def _record(db: Database, key: str, fail: bool = False) -> None:
    async with db.transaction(lock_key=f"citizen:{key}") as session:
        await deliveries.record(session, key, utcnow(), "reply")
        if fail:
            raise RuntimeError("the turn failed")


async def test_transactions_started_together_commit_once_and_each_is_committed_on_return(
    db: Database,
) -> None:
    writer = db.backend.writer  # type: ignore[attr-defined]
    assert writer is not None
    before = writer.commits
    seen: dict[str, list[str]] = {}

    async def turn(key: str) -> None:
        await _record(db, key)
        seen[key] = await _keys(db)  # right after it returned: committed

    assert await _together(db, *(turn(f"k{i}") for i in range(5))) == [None] * 5
    assert await _keys(db) == [f"k{i}" for i in range(5)]
    assert all(key in keys for key, keys in seen.items())
    assert writer.commits - before == 1  # one COMMIT for the five


async def test_a_failed_transaction_is_undone_alone(db: Database) -> None:
    results = await _together(db, _record(db, "a"), _record(db, "b", fail=True), _record(db, "c"))
    assert results[0] is None and isinstance(results[1], RuntimeError) and results[2] is None
    assert await _keys(db) == ["a", "c"]


async def test_a_failed_statement_is_undone_alone(db: Database) -> None:
    async def twice() -> None:
        async with db.transaction(lock_key="citizen:dup") as session:
            await deliveries.record(session, "dup", utcnow(), "first")
            await deliveries.record(session, "dup", utcnow(), "again")  # same key

    results = await _together(db, _record(db, "a"), twice())
    assert results[0] is None and isinstance(results[1], IntegrityError)
    assert await _keys(db) == ["a"]


async def test_a_failed_commit_fails_every_transaction_of_it(db: Database) -> None:
    """The COMMIT itself fails (here: a foreign key checked only at COMMIT): every transaction
    that shared it raises the database's error, and nothing of any of them is stored."""

    async def dangling() -> None:
        async with db.transaction() as session:
            await session.execute(text("PRAGMA defer_foreign_keys=ON"))
            await messages.add(
                session,
                openid="o_x",
                conversation_id=999_999,  # no such conversation
                direction="in",
                kind="text",
                now=utcnow(),
            )

    results = await _together(db, _record(db, "a"), dangling(), _record(db, "c"))
    assert all(isinstance(result, IntegrityError) for result in results), results
    assert await _keys(db) == []
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 0
    await _record(db, "d")  # the writer goes on
    assert await _keys(db) == ["d"]


async def test_the_orm_in_a_shared_transaction(db: Database) -> None:
    """A session's flush and failure stay within its own transaction."""

    async def orm(key: str, fail: bool) -> None:
        async with db.transaction() as session:
            now = utcnow()
            session.add(InboundDelivery(key=key, status="done", created_at=now, expires_at=now))
            await session.flush()
            if fail:
                raise RuntimeError("after the flush")

    results = await _together(db, orm("orm-ok", False), orm("orm-failed", True), _record(db, "hot"))
    assert results[0] is None and isinstance(results[1], RuntimeError) and results[2] is None
    assert await _keys(db) == ["hot", "orm-ok"]


async def test_a_transaction_that_waits_inside_holds_the_others_and_all_commit(
    db: Database,
) -> None:
    """One that gives the loop back mid-transaction: the COMMIT due at the next iteration waits
    for it, the others queue behind it, and everything is committed when each returns."""

    async def slow() -> None:
        async with db.transaction() as session:
            await deliveries.record(session, "slow", utcnow(), "reply")
            await asyncio.sleep(0.05)

    results = await _together(db, _record(db, "a"), slow(), _record(db, "c"))
    assert results == [None, None, None]
    assert await _keys(db) == ["a", "c", "slow"]


async def test_a_caller_cancelled_while_its_commit_is_due_does_not_cancel_the_others(
    db: Database,
) -> None:
    db.backend.announce_writes(1)  # a turn that never comes: the COMMIT is left to the loop
    try:
        first = asyncio.ensure_future(_record(db, "cancelled"))
        second = asyncio.ensure_future(_record(db, "kept"))
        await asyncio.sleep(0)  # both ran to their COMMIT, which waits for the next iteration
        first.cancel()
        await second
        with pytest.raises(asyncio.CancelledError):
            await first
    finally:
        db.backend.announce_writes(-1)
    # Its transaction had ended: it is committed with the others even though its caller was
    # cancelled while waiting for the COMMIT.
    assert await _keys(db) == ["cancelled", "kept"]
