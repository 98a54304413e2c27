"""SQLite: one file, one writer. Writes are serialised in-process and begun IMMEDIATE."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Date, event, func
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.sql import ColumnElement, Insert
from sqlalchemy.util.concurrency import await_only

from storage.backends import Driver
from storage.backends.sqlite_checkpoint import Checkpointer
from storage.backends.sqlite_inline import InlineConnection, creator
from storage.backends.sqlite_writer import Writer

# Set while this task holds the write lock: only its transactions begin IMMEDIATE. (Database's
# pooled write transactions: ":memory:" only; a file's go through sqlite_writer.Writer.)
_writing: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_writing", default=False)


class SQLiteBackend:
    name = "sqlite"
    supports_many_workers = False

    def __init__(self) -> None:
        # SQLite has a single writer anyway; one in-process lock keeps writers from
        # colliding on SQLITE_BUSY and serialises each citizen's turns as a side effect.
        self._write_lock = asyncio.Lock()
        self._writers = 0  # transactions holding or waiting for the write lock
        self._mutexes: dict[str, asyncio.Lock] = {}
        self._checkpointer: Checkpointer | None = None
        # Write transactions on a connection of their own, committed together (a file only:
        # every connection to ":memory:" is a database of its own).
        self.writer: Writer | None = None

    def create_engine(self, url: str) -> AsyncEngine:
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            self._checkpointer = Checkpointer(database)
            self.writer = Writer(url, database, self._checkpointer)
        # Statements run inline on the event loop, not on aiosqlite's threads (see
        # sqlite_inline.py); hide_parameters: errors never carry citizens' text into the logs.
        engine = create_async_engine(
            url, async_creator=creator(database or ":memory:"), hide_parameters=True
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin").
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=0")  # SQLITE_BUSY is retried asynchronously
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # on a thread: sqlite_checkpoint.py
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # A write transaction (Database.transaction) begins IMMEDIATE: it takes the write
            # lock up front, so another process (a CLI command beside the server) waits for
            # it (retried asynchronously) instead of failing mid-transaction. A read
            # (Database.sessions) begins DEFERRED: in WAL mode it never waits for, nor holds
            # up, the writer.
            # (Reads that began IMMEDIATE queued behind every write in SQLite's busy handler,
            # which sleeps up to 100 ms a try: the top hot spot under load.)
            # Run on sqlite3's connection itself: exec_driver_sql cost a turn ~50 us.
            sql = "BEGIN IMMEDIATE" if _writing.get() else "BEGIN"
            try:
                waiting = connection.connection.driver_connection.execute_now(sql)
                if waiting is not None:  # another process holds the write lock
                    await_only(waiting)
            except sqlite3.Error as error:
                raise _translated(error, sql, [], connection.dialect) from error

        return engine

    @asynccontextmanager
    async def serialise(self, key: str | None) -> AsyncIterator[None]:
        self._writers += 1
        try:
            async with self._write_lock:
                token = _writing.set(True)
                try:
                    yield
                finally:
                    _writing.reset(token)
                    if self._checkpointer is not None:
                        self._checkpointer.written()
        finally:
            self._writers -= 1

    def write_transaction(self) -> AbstractAsyncContextManager[AsyncSession] | None:
        return None if self.writer is None else self.writer.transaction()

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.close()
        if self._checkpointer is not None:
            await self._checkpointer.close()

    def announce_writes(self, count: int) -> None:
        if self.writer is not None:
            self.writer.announce(count)

    def may_wait(self, key: str) -> bool:
        writer = self.writer
        return self._writers > 0 or (writer is not None and writer.writers > 0)

    @asynccontextmanager
    async def mutex(self, engine: AsyncEngine, key: str) -> AsyncIterator[None]:
        # One worker on SQLite, so an in-process lock is a lock across workers.
        async with self._mutexes.setdefault(key, asyncio.Lock()):
            yield

    def begin(self, connection: Connection, key: str | None) -> None:
        return None  # begun IMMEDIATE by the "begin" event; the write lock covers every key

    def driver(self, raw: Any, dialect: Any) -> Driver | None:
        return driver(raw, dialect)

    def insert(self, table: Any) -> Insert:
        return sqlite_insert(table)

    def today(self) -> ColumnElement[date]:
        # China has had no daylight saving since 1991: Asia/Shanghai is UTC+8 all year.
        return func.date("now", "+8 hours", type_=Date)


def _translated(error: sqlite3.Error, sql: str, values: list[Any], dialect: Any) -> Exception:
    """As SQLAlchemy raises it (IntegrityError stays IntegrityError), parameters hidden."""
    return DBAPIError.instance(
        sql, values, error, sqlite3.Error, hide_parameters=True, dialect=dialect
    )


def driver(raw: Any, dialect: Any) -> Driver | None:
    """For storage.core.Hot: sqlite3's connection itself, inside a write transaction (it
    holds the write lock since BEGIN IMMEDIATE, so SQLITE_BUSY, which InlineConnection would
    retry, cannot occur)."""
    inline = raw.driver_connection
    if not _writing.get() or not isinstance(inline, InlineConnection):
        return None
    return _Driver(inline.sqlite(), dialect)


class _Driver:
    __slots__ = ("_connection", "_dialect", "fetch_now")

    def __init__(self, connection: sqlite3.Connection, dialect: Any) -> None:
        self._connection = connection
        self._dialect = dialect
        self.fetch_now = self._fetch

    async def fetch(self, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        return self._fetch(sql, values)

    def _fetch(self, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        try:
            cursor = self._connection.execute(sql, values)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        except sqlite3.Error as error:
            raise _translated(error, sql, values, self._dialect) from error

    def insert_now(self, sql: str, values: list[Any]) -> int:
        """An INSERT's new rowid (for storage.core.Hot: what RETURNING id would give)."""
        try:
            cursor = self._connection.execute(sql, values)
            try:
                return cursor.lastrowid  # type: ignore[return-value]
            finally:
                cursor.close()
        except sqlite3.Error as error:
            raise _translated(error, sql, values, self._dialect) from error

    async def execute_many(self, sql: str, rows: list[list[Any]]) -> None:
        try:
            self._connection.executemany(sql, rows).close()
        except sqlite3.Error as error:
            raise _translated(error, sql, [], self._dialect) from error
