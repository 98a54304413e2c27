"""The Database: engine, sessions and the serialised write transaction every turn runs in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.backends import Backend, backend_for


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.backend: Backend = backend_for(url)
        self.engine = self.backend.create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, lock_key: str | None = None) -> AsyncIterator[AsyncSession]:
        """A write transaction; with lock_key, none other holding that key runs at the same time."""
        async with self.backend.serialise(lock_key):
            async with self.sessions() as session, session.begin():
                if lock_key is not None:
                    await self.backend.lock(session, lock_key)
                yield session

    def mutex(self, key: str) -> AbstractAsyncContextManager[None]:
        """Held across workers while doing slow work (e.g. HTTP); not a write transaction."""
        return self.backend.mutex(self.engine, key)

    async def ping(self) -> bool:
        try:
            # Outside Database.transaction, so on SQLite a plain (deferred) BEGIN: it does not
            # queue behind a writer to say "alive".
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any failure to reach the database means "not healthy"
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
