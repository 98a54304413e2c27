"""SQLite without a thread per connection: the aiosqlite API, run inline on the event loop.

aiosqlite runs every call (cursor, execute, fetchall, close, commit) on a thread of its own
and hands the result back through the event loop: ~40 hand-offs per webhook turn, each a
future, a write to the loop's self-pipe, a wake-up of another thread and a GIL switch. In
CPU per message that was a third of a turn (profile_turns.py: 6.4 -> 4.2 ms). A statement
on a local SQLite file in WAL mode with synchronous=NORMAL (no fsync on commit) takes
microseconds, less than one hand-off, so it simply runs inline.

The price: a slow statement (a large console export) holds up the loop while it runs, and
so does an occasional WAL checkpoint's fsync. Waiting for another process's write lock (a
CLI command beside the server) must not: busy_timeout is 0 here, and SQLITE_BUSY is retried
with asyncio.sleep until BUSY_WAIT_S. A statement that failed with SQLITE_BUSY did nothing,
so running it again is safe. SQLITE_BUSY_SNAPSHOT (a deferred transaction's stale snapshot)
is not retried: it cannot succeed, and SQLite's own busy handler does not retry it either.

Only what SQLAlchemy's aiosqlite dialect uses is implemented; it is handed to the engine
with `async_creator`, so the dialect and its DBAPI module (errors, types) stay aiosqlite's.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

BUSY_WAIT_S = 15.0
# The primary result code SQLITE_BUSY and its recovery variant; not BUSY_SNAPSHOT (517).
_RETRIED = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_RECOVERY})


def _now_or_later(call: Callable[[], object]) -> Awaitable[None] | None:
    """Run call() at once; only when SQLite is busy is there something to await (retries)."""
    try:
        call()
    except sqlite3.OperationalError as error:
        if getattr(error, "sqlite_errorcode", None) not in _RETRIED:
            raise
        return _retry_busy(call)
    return None


async def _retry_busy(call: Callable[[], object]) -> None:
    deadline = time.monotonic() + BUSY_WAIT_S
    delay = 0.001
    while True:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
        try:
            call()
            return
        except sqlite3.OperationalError as error:
            busy = getattr(error, "sqlite_errorcode", None) in _RETRIED
            if not busy or time.monotonic() > deadline:
                raise


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[Any]:
        for row in self._cursor:
            yield row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = self._cursor
        if parameters is None:
            waiting = _now_or_later(lambda: cursor.execute(sql))
        else:
            waiting = _now_or_later(lambda: cursor.execute(sql, parameters))
        if waiting is not None:
            await waiting
        return self

    async def executemany(self, sql: str, seq_of_parameters: Any) -> InlineCursor:
        waiting = _now_or_later(lambda: self._cursor.executemany(sql, seq_of_parameters))
        if waiting is not None:
            await waiting
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _CursorContext:
    """`connection.cursor()` is entered with `await cursor.__aenter__()` by SQLAlchemy."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._connection.cursor())

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __await__(self) -> Any:
        return self.__aenter__().__await__()


class _InlineQueue:
    """SQLAlchemy sets isolation_level by putting (future, function) on aiosqlite's queue."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection
        self._tx = _InlineQueue()

    @property
    def _connection(self) -> sqlite3.Connection | None:  # aiosqlite's name for "still open"
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("Connection closed")  # what aiosqlite raises; the dialect maps it
        return self._conn

    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (storage.core.Hot runs fixed statements on it)."""
        return self._open()

    def execute_now(self, sql: str) -> Awaitable[None] | None:
        """Run `sql` (no parameters, no rows: BEGIN) at once; when SQLite is busy, what to
        await for it to be retried."""
        connection = self._open()
        return _now_or_later(lambda: connection.execute(sql).close())

    def cursor(self) -> _CursorContext:
        return _CursorContext(self._open())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = await self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        waiting = _now_or_later(self._open().commit)
        if waiting is not None:
            await waiting

    async def rollback(self) -> None:
        self._open().rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def creator(database: str, **connect_args: Any) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine, opening `database` inline."""

    async def connect() -> InlineConnection:
        # check_same_thread off: the pool may close a connection from another thread at exit.
        args = {"check_same_thread": False, **connect_args, "timeout": 0}
        return InlineConnection(sqlite3.connect(database, **args))

    return connect
