"""SQLite without a thread per connection: the aiosqlite API, run inline on the event loop.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a thread of its own and
hands the result back through the event loop: four hops per statement, about fifty per turn.
Profiling the webhook showed those hand-offs, not SQLite, were the cost of a turn: on a busy
2-core machine each wake-up of a worker thread waits for a CPU and the GIL, and SQLite's
single writer holds the write lock across all of them, so throughput was capped near
1 / (50 hops) ≈ 50 turns a second. A local SQLite statement takes microseconds (WAL,
synchronous=NORMAL: no fsync on commit), far less than a hop, so we simply run it inline.

What could block the loop is waiting for another process's write lock (a CLI command
beside the server): busy_timeout is 0 here, and SQLITE_BUSY is retried with asyncio.sleep
until BUSY_WAIT_S has passed. A statement that fails with SQLITE_BUSY has done nothing, so
retrying it is safe.

Only what SQLAlchemy's aiosqlite dialect uses is implemented; it is handed to the engine with
`async_creator`, so the dialect and its DBAPI module (errors, types) stay aiosqlite's.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

BUSY_WAIT_S = 15.0


def _is_busy(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "database is locked" in message or "database is busy" in message


async def _retry_busy(call: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + BUSY_WAIT_S
    delay = 0.001
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


class InlineCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

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
        if parameters is None:
            await _retry_busy(lambda: self._cursor.execute(sql))
        else:
            await _retry_busy(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, seq_of_parameters: Any) -> InlineCursor:
        await _retry_busy(lambda: self._cursor.executemany(sql, seq_of_parameters))
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
    """`connection.cursor()` is used as `await cursor.__aenter__()` by SQLAlchemy."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def __aenter__(self) -> InlineCursor:
        return InlineCursor(self._connection.cursor())

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
        assert self._conn is not None
        return self._conn.isolation_level

    def cursor(self) -> _CursorContext:
        if self._conn is None:
            raise ValueError("Connection closed")
        return _CursorContext(self._conn)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = await self.cursor()
        return await cursor.execute(sql, parameters)

    async def commit(self) -> None:
        assert self._conn is not None
        await _retry_busy(self._conn.commit)

    async def rollback(self) -> None:
        assert self._conn is not None
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        assert self._conn is not None
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def creator(database: str, **connect_args: Any) -> Callable[[], Any]:
    """An `async_creator` for create_async_engine opening `database` inline."""

    async def connect() -> InlineConnection:
        args = {"check_same_thread": False, **connect_args}
        args.pop("timeout", None)
        connection = sqlite3.connect(database, timeout=0, **args)
        return InlineConnection(connection)

    return connect
