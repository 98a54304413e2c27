"""PostgreSQL: many workers and machines; per-key serialisation with advisory locks."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from sqlalchemy import Date, cast, event, func, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import ColumnElement, Insert
from sqlalchemy.util.concurrency import await_only

from storage.backends import Driver


class PostgresBackend:
    name = "postgresql"
    supports_many_workers = True

    def create_engine(self, url: str) -> AsyncEngine:
        if url.startswith("postgresql://"):
            url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
        engine = create_async_engine(
            url,
            pool_size=10,
            max_overflow=20,
            # An unreachable server fails a turn in seconds (the webhook then apologises)
            # instead of asyncpg's default 60 s; parameters (citizens' text) stay out of logs.
            connect_args={"timeout": 3},
            hide_parameters=True,
        )

        @event.listens_for(engine.sync_engine, "checkout")
        def _on_checkout(_dbapi: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
            # Instead of pool_pre_ping, which asked the server on every checkout (BEGIN, an
            # empty query, ROLLBACK: three round trips of a turn's dozen): asyncpg knows
            # without asking when the server closed the connection (a restart, an outage, a
            # terminated backend). Then this connection and every older pooled one are
            # replaced (SQLAlchemy's InvalidatePoolError); a statement that fails for a lost
            # connection does the same through SQLAlchemy's disconnect handling.
            if record.driver_connection.is_closed():
                raise InvalidatePoolError()

        return engine

    def __init__(self) -> None:
        # Transactions of this process holding or waiting for each lock key (see may_wait).
        self._holders: Counter[str] = Counter()

    def write_transaction(self) -> None:
        return None  # Database's own: a pooled connection, the advisory lock of its key

    def announce_writes(self, count: int) -> None:
        return None  # each transaction commits on its own

    @asynccontextmanager
    async def serialise(self, key: str | None) -> AsyncIterator[None]:
        # Nothing is locked in-process: the advisory lock (lock) serialises across processes.
        # Only counted, for may_wait.
        if key is None:
            yield
            return
        self._holders[key] += 1
        try:
            yield
        finally:
            self._holders[key] -= 1
            if not self._holders[key]:
                del self._holders[key]

    @asynccontextmanager
    async def mutex(self, engine: AsyncEngine, key: str) -> AsyncIterator[None]:
        # A session-level advisory lock on a connection of its own, outside any transaction
        # that writes; unlocked before the connection goes back to the pool.
        async with engine.connect() as connection:
            params = {"key": key}
            await connection.execute(
                text("SELECT pg_advisory_lock(hashtextextended(:key, 0))"), params
            )
            await connection.commit()
            try:
                yield
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), params
                )
                await connection.commit()

    async def close(self) -> None:
        return None

    def may_wait(self, key: str) -> bool:
        # The lock is per citizen. Held in this process: surely worth a pre-check. Held by
        # another worker only while it runs a turn of the same citizen at this very moment;
        # then a re-delivery waits at most for that one turn, and the check inside the lock
        # answers it. Asking the database every time (a pool checkout with its pre-ping and
        # a SELECT per message) cost more than that rare wait saves.
        return self._holders[key] > 0

    def begin(self, connection: Connection, key: str | None) -> None:
        # asyncpg's transaction begins now rather than with the first statement, so that
        # storage.core.Hot runs on the driver from the first statement on.
        raw = connection.connection
        adapted = raw.dbapi_connection
        try:
            await_only(adapted._start_transaction())
        except Exception as error:
            translated = _translated(adapted, error, "BEGIN", [], connection.dialect)
            if isinstance(translated, DBAPIError) and connection.dialect.is_disconnect(
                translated.orig, adapted, None
            ):
                connection.invalidate(translated)  # closed by the server: Database retries
            raise translated from error
        if key is not None:
            # Transaction-scoped: released by commit or rollback, and by the server on a crash.
            await_only(
                _Driver(adapted, raw.driver_connection, connection.dialect).fetch(_LOCK, [key])
            )

    def driver(self, raw: Any, dialect: Any) -> Driver | None:
        return driver(raw, dialect)

    def insert(self, table: Any) -> Insert:
        return pg_insert(table)

    def today(self) -> ColumnElement[date]:
        return cast(func.timezone("Asia/Shanghai", func.now()), Date)


_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"


def _translated(
    adapted: Any, error: Exception, sql: str, values: list[Any], dialect: Any
) -> Exception:
    """As SQLAlchemy raises it (IntegrityError stays IntegrityError), parameters hidden."""
    try:
        adapted._handle_exception(error)
    except dialect.loaded_dbapi.Error as translated:
        return DBAPIError.instance(
            sql,
            values,
            translated,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=dialect,
        )
    except Exception as other:  # not a database error: as it was
        return other
    return error


def driver(raw: Any, dialect: Any) -> Driver | None:
    """For storage.core.Hot: the asyncpg connection itself, once SQLAlchemy's adapter has
    begun the transaction there (until then, the usual path begins it)."""
    adapted = raw.dbapi_connection
    if getattr(adapted, "_transaction", None) is None:
        return None
    return _Driver(adapted, raw.driver_connection, dialect)


class _Driver:
    __slots__ = ("_adapted", "_connection", "_dialect")
    fetch_now = None  # every statement is a round trip: see fetch

    def __init__(self, adapted: Any, connection: Any, dialect: Any) -> None:
        self._adapted = adapted  # SQLAlchemy's adapter: its error translation
        self._connection = connection
        self._dialect = dialect

    async def fetch(self, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in await self._connection.fetch(sql, *values)]
        except Exception as error:
            raise _translated(self._adapted, error, sql, values, self._dialect) from error

    async def execute_many(self, sql: str, rows: list[list[Any]]) -> None:
        try:
            await self._connection.executemany(sql, rows)
        except Exception as error:
            raise _translated(self._adapted, error, sql, [], self._dialect) from error
