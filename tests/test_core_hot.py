"""storage.core.Hot: fixed statements on the driver's connection behave as through SQLAlchemy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storage.columns import utcnow
from storage.db import Database
from storage.models import InboundDelivery, Message, Timer
from storage.repositories import citizens, deliveries, messages, timers


async def test_errors_are_sqlalchemy_errors_without_parameters(database_url: str) -> None:
    db = Database(database_url)
    try:
        now = utcnow()
        with pytest.raises(IntegrityError) as raised:
            async with db.transaction(lock_key="citizen:o_hot") as session:
                await deliveries.record(session, "msg:hot", now, "first")
                await deliveries.record(session, "msg:hot", now, "秘密 13800138000")
        assert "13800138000" not in str(raised.value)  # parameters stay out of logs
        async with db.sessions() as session:  # the transaction rolled back as a whole
            assert await session.scalar(select(InboundDelivery.key)) is None
    finally:
        await db.dispose()


async def test_values_round_trip_on_the_driver_and_the_usual_path(database_url: str) -> None:
    db = Database(database_url)
    try:
        now = utcnow()
        async with db.transaction(lock_key="citizen:o_hot") as session:  # the driver's
            citizen = await citizens.create(session, "o_hot", now, counted=True)
            citizen.dialog_state = {"step": "地址", "n": 1}
            citizen.last_inbound_at = now
            await citizens.save(session, citizen)
            first = await messages.add(
                session,
                openid="o_hot",
                conversation_id=None,
                direction="in",
                kind="text",
                now=now,
                text="你好",
                payload={"a": [1, 2]},
            )
        async with db.sessions() as session, session.begin():  # not a write transaction
            second = await messages.add(
                session, openid="o_hot", conversation_id=None, direction="out", kind="text", now=now
            )
        assert second > first
        async with db.transaction(lock_key="citizen:o_hot") as session:
            arrived = await citizens.arrive(session, "o_hot", "msg:new", now)
            assert arrived is not None
            sent, again = arrived
            assert sent == 2
            assert again.dialog_state == {"step": "地址", "n": 1}
            assert again.last_inbound_at == now  # aware UTC, as written
            stored = list(await session.scalars(select(Message).order_by(Message.id)))
        assert [(m.id, m.text, m.payload, m.created_at) for m in stored] == [
            (first, "你好", {"a": [1, 2]}, now),
            (second, "", {}, now),
        ]
    finally:
        await db.dispose()


async def test_many_upserts_on_the_driver_as_through_sqlalchemy(database_url: str) -> None:
    db = Database(database_url)
    try:
        now = utcnow()
        later = now + timedelta(minutes=5)
        async with db.transaction(lock_key="citizen:o_hot") as session:  # the driver's
            await timers.set_timers(session, db.backend, "o_hot", [("a", now), ("b", now)])
        async with db.transaction(lock_key="citizen:o_hot") as session:
            await session.execute(update(Timer).values(claimed_until=later))
            await timers.set_timers(session, db.backend, "o_hot", [("b", later), ("c", later)])
        async with db.sessions() as session, session.begin():  # not a write transaction
            await timers.set_timers(session, db.backend, "o_other", [("a", later)])
        async with db.sessions() as session:
            stored = await session.execute(
                select(Timer.openid, Timer.name, Timer.due_at, Timer.claimed_until).order_by(
                    Timer.openid, Timer.name
                )
            )
            assert [tuple(row) for row in stored] == [
                ("o_hot", "a", now, later),  # untouched, still claimed
                ("o_hot", "b", later, None),  # re-armed: due later, claim cleared
                ("o_hot", "c", later, None),
                ("o_other", "a", later, None),
            ]
    finally:
        await db.dispose()


async def test_new_ids_are_those_of_the_rows_written(database_url: str) -> None:
    """On SQLite a plain INSERT ... RETURNING id runs without RETURNING, the id read from the
    cursor: every id returned must be its own row's."""
    db = Database(database_url)
    try:
        now = utcnow()
        ids = []
        async with db.transaction(lock_key="citizen:o_ids") as session:
            citizen = await citizens.create(session, "o_ids", now)
            conversation = await citizens.current_conversation(session, citizen, now)
            for text in ("一", "二"):
                ids.append(
                    await messages.add(
                        session,
                        openid="o_ids",
                        conversation_id=conversation,
                        direction="in",
                        kind="text",
                        now=now,
                        text=text,
                    )
                )
            await deliveries.record(session, "msg:ids", now, None)  # a row without an id
            ids.append(
                await messages.add(
                    session,
                    openid="o_ids",
                    conversation_id=None,
                    direction="out",
                    kind="text",
                    now=now,
                    text="三",
                )
            )
        async with db.sessions() as session:
            stored = await session.execute(
                select(Message.id, Message.text, Message.conversation_id)
            )
            assert sorted(tuple(row) for row in stored) == [
                (ids[0], "一", conversation),
                (ids[1], "二", conversation),
                (ids[2], "三", None),
            ]
    finally:
        await db.dispose()


def test_only_plain_inserts_of_an_integer_key_read_the_rowid() -> None:
    from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert
    from sqlalchemy.dialects import sqlite

    from storage.core import _returns_rowid_only

    dialect = sqlite.dialect()
    meta = MetaData()
    small = Table("small", meta, Column("id", Integer, primary_key=True), Column("v", String))
    big = Table("big", meta, Column("id", BigInteger, primary_key=True))
    upsert = sqlite.insert(small).on_conflict_do_nothing().returning(small.c.id)
    assert _returns_rowid_only(insert(small).returning(small.c.id), dialect)
    assert not _returns_rowid_only(insert(small).returning(small.c.v), dialect)
    assert not _returns_rowid_only(insert(big).returning(big.c.id), dialect)  # not the rowid
    assert not _returns_rowid_only(upsert, dialect)  # may insert nothing
    assert not _returns_rowid_only(
        insert(small).values([{"v": "a"}, {"v": "b"}]).returning(small.c.id), dialect
    )


def test_sqlite_text_of_times_and_json_is_sqlalchemys() -> None:
    """Hot's own SQLite text for UTC datetimes and JSON is what SQLAlchemy would write."""
    from datetime import UTC, datetime, timezone

    from sqlalchemy import JSON
    from sqlalchemy.dialects import sqlite

    from storage.columns import UTCDateTime
    from storage.core import _bind_processor

    dialect = sqlite.dialect()
    for type_, values in (
        (
            UTCDateTime(),
            [
                utcnow(),
                datetime(1, 1, 1, tzinfo=UTC),
                datetime(2026, 11, 28, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
                datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                None,
            ],
        ),
        (JSON(), [{}, {"a": [1, "二"]}, [], [None], None, "x", 3]),
    ):
        ours = _bind_processor(type_, dialect)
        theirs = type_.dialect_impl(dialect).bind_processor(dialect)
        assert ours is not theirs
        assert [ours(value) for value in values] == [theirs(value) for value in values]
