"""The Database: engine, sessions and the serialised write transaction every turn runs in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.util.concurrency import greenlet_spawn

from storage import core
from storage.backends import Backend, backend_for

# Connections tried for a write transaction when BEGIN finds them closed by the server.
_BEGIN_TRIES = 3


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.backend: Backend = backend_for(url)
        self.engine = self.backend.create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    def transaction(self, lock_key: str | None = None) -> AbstractAsyncContextManager[AsyncSession]:
        """A write transaction; with lock_key, none other holding that key runs at the same time.
        Committed when it returns.

        On an SQLite file, the backend's one writer runs it (storage/backends/sqlite_writer.py:
        a connection outside the pool, turns of one event-loop iteration committed together).
        """
        own = self.backend.write_transaction()
        return own if own is not None else self._pooled(lock_key)

    @asynccontextmanager
    async def _pooled(self, lock_key: str | None) -> AsyncIterator[AsyncSession]:
        """A write transaction on a pooled connection.

        The transaction is begun and committed on its connection, below the ORM session: most
        turns run only `storage.core.Hot` statements, on the driver's connection, and never
        need the session's unit of work or its transaction bookkeeping (in a turn's CPU they
        were more than the statements themselves). The session handed out joins the
        connection's transaction and is flushed at the end only if it was used.
        """
        async with self.backend.serialise(lock_key):
            connection = await greenlet_spawn(self._begin, lock_key)
            session = AsyncSession(
                bind=AsyncConnection(self.engine, connection),
                expire_on_commit=False,
                join_transaction_mode="rollback_only",
            )
            core.attach(session, self.backend.driver(connection.connection, connection.dialect))
            try:
                yield session
            except BaseException:
                await greenlet_spawn(_end, session.sync_session, connection, False)
                raise
            await greenlet_spawn(_end, session.sync_session, connection, True)

    def _begin(self, lock_key: str | None) -> Connection:
        """A pooled connection with its write transaction begun (in a greenlet)."""
        for attempt in range(1, _BEGIN_TRIES + 1):
            connection = self.engine.sync_engine.connect()
            try:
                connection.begin()  # SQLite: BEGIN IMMEDIATE, by the backend's "begin" event
                self.backend.begin(connection, lock_key)
                return connection
            except DBAPIError:
                # A connection the server closed a moment ago (PostgreSQL; the pool noticed
                # no earlier, see its checkout event) fails its BEGIN and was invalidated:
                # nothing was done in it yet, so another is tried. Any other error is raised.
                stale = connection.invalidated
                connection.close()
                if not stale or attempt == _BEGIN_TRIES:
                    raise
            except BaseException:
                connection.close()
                raise
        raise AssertionError("unreachable")

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
        await self.backend.close()
        await self.engine.dispose()


def _end(session: Session, connection: Connection, commit: bool) -> None:
    """Commit (flushing the session first, if it was used) or roll back; then the connection
    goes back to the pool. In a greenlet: one hand-off for the whole end of a transaction."""
    used = bool(session.in_transaction() or session.identity_map or session.new)
    try:
        if commit:
            if used:
                session.commit()  # flushes; the connection's transaction is not the session's
            connection.commit()
    finally:
        if used:
            session.close()  # ~10 us even when there is nothing to close
        connection.close()  # rolls back what was not committed
