"""What differs between database backends, behind one small interface (one file per backend)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Insert


class Backend(Protocol):
    name: str
    # Whether several server processes may share this database.
    supports_many_workers: bool

    def create_engine(self, url: str) -> AsyncEngine: ...

    def serialise(self, key: str | None) -> AbstractAsyncContextManager[None]:
        """Held around a write transaction, before it begins (the in-process part of a lock)."""
        ...

    async def lock(self, session: AsyncSession, key: str) -> None:
        """Taken inside the transaction, released at its end (the cross-process part)."""

    def insert_ignore(self, table: Any) -> Insert:
        """INSERT that silently skips rows whose key already exists."""
        ...


def backend_for(url: str) -> Backend:
    if url.startswith("sqlite"):
        from storage.backends.sqlite import SQLiteBackend

        return SQLiteBackend()
    if url.startswith("postgresql"):
        from storage.backends.postgres import PostgresBackend

        return PostgresBackend()
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")
