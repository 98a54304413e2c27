"""What differs between database backends, behind one small interface (one file per backend)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any, Protocol

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import ColumnElement, Insert


class Driver(Protocol):
    """SQL with positional values on a driver's connection, in its transaction (for
    storage.core.Hot). Errors are raised as SQLAlchemy's, parameters hidden."""

    # fetch without a coroutine, when the driver never waits (SQLite, inline); or None.
    fetch_now: Callable[[str, list[Any]], list[tuple[Any, ...]]] | None

    async def fetch(self, sql: str, values: list[Any]) -> list[tuple[Any, ...]]:
        """The rows, as tuples, unprocessed."""
        ...

    async def execute_many(self, sql: str, rows: list[list[Any]]) -> None:
        """Once per row of values; no rows back."""


class Backend(Protocol):
    name: str
    # Whether several server processes may share this database.
    supports_many_workers: bool

    def create_engine(self, url: str) -> AsyncEngine: ...

    def write_transaction(self) -> AbstractAsyncContextManager[AsyncSession] | None:
        """A write transaction of the backend's own (SQLite: its one writer, whose lock covers
        every key), or None: Database.transaction's, on a pooled connection."""
        ...

    def announce_writes(self, count: int) -> None:
        """A hint: `count` more (negative: fewer) write transactions are about to begin, e.g.
        turns started and not yet run. SQLite's writer then commits them together."""

    def serialise(self, key: str | None) -> AbstractAsyncContextManager[None]:
        """Held around a write transaction, before it begins (the in-process part of a lock)."""
        ...

    async def close(self) -> None:
        """Before the engine is disposed: wait for the backend's own background work."""

    def may_wait(self, key: str) -> bool:
        """Whether a transaction with lock_key `key` begun now might wait for another one.
        False only when it surely would not (then a pre-check before the lock gains nothing)."""
        ...

    def begin(self, connection: Connection, key: str | None) -> None:
        """After Connection.begin() of a write transaction, in a greenlet: whatever begins it
        on the database, and the lock of `key` (the cross-process part, released at its
        end)."""

    def driver(self, raw: Any, dialect: Any) -> Driver | None:
        """For storage.core.Hot: the driver connection of `raw` (a pooled connection), in
        its transaction; None when Hot statements cannot run there."""
        ...

    def mutex(self, engine: AsyncEngine, key: str) -> AbstractAsyncContextManager[None]:
        """A lock across workers that is not a write transaction: for slow work such as HTTP."""
        ...

    def insert(self, table: Any) -> Insert:
        """The dialect's INSERT, with on_conflict_do_nothing/do_update (same API on both)."""
        ...

    def today(self) -> ColumnElement[date]:
        """Today in Asia/Shanghai by the database's clock (shared by every worker), as SQL."""
        ...


def backend_for(url: str) -> Backend:
    if url.startswith("sqlite"):
        from storage.backends.sqlite import SQLiteBackend

        return SQLiteBackend()
    if url.startswith("postgresql"):
        from storage.backends.postgres import PostgresBackend

        return PostgresBackend()
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")
