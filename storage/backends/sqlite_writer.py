"""SQLite's one writer: a connection of its own, and turns committed together (group commit).

SQLite has a single writer, and a turn on the inline driver runs from BEGIN to COMMIT without
giving the event loop back; so write transactions run one after another anyway. Each of them
used to check a connection out of SQLAlchemy's pool, begin and commit it through SQLAlchemy's
`Connection` (~90 us of Python for an empty transaction, against ~3 us for BEGIN IMMEDIATE and
COMMIT on sqlite3), and pay a COMMIT of its own: ~65 us of CPU for a turn's dozen pages, most
of them written again by the next turn (the tail of `messages`, its indexes).

Here the writer keeps one sqlite3 connection outside the pool. A write transaction begins
IMMEDIATE unless one is open already; every write transaction runs in a SAVEPOINT of its own,
released when it ends (rolled back to, alone, when it fails). The transaction commits as soon
as no other write is about to begin: bot.admission announces the turns it started, which run
in the next iteration of the event loop, one after another; the last of them commits for all
(and, whatever the announcements say, the next iteration commits what is still open). Each
`transaction()` returns only after that COMMIT: what the caller does afterwards (the reply,
an outbound API call) still follows its own writes being committed. A failed COMMIT fails
every transaction of the group with the database's error, and none of them is stored: their
requests are answered as when the database is down (WeChat re-delivers; the delivery record
is absent, so the turn runs again). An error after which SQLite rolled the whole transaction
back by itself (a full disk, an I/O error) fails the group the same way.

The ORM is used by a few transactions only (staff actions, a filing's configuration): their
session is bound to an engine whose one connection is this one, wrapped so that SQLAlchemy's
COMMIT and ROLLBACK do nothing (the savepoint and the group's COMMIT are the real ones).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import StaticPool

from storage import core
from storage.backends import Driver
from storage.backends.sqlite_checkpoint import Checkpointer
from storage.backends.sqlite_inline import InlineConnection, _now_or_later

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=0",  # SQLITE_BUSY is retried asynchronously (sqlite_inline.py)
    "PRAGMA wal_autocheckpoint=0",  # on a thread: sqlite_checkpoint.py
)


def _translated(error: sqlite3.Error, sql: str, dialect: Any) -> Exception:
    """As SQLAlchemy raises it (IntegrityError stays IntegrityError), parameters hidden."""
    return DBAPIError.instance(sql, [], error, sqlite3.Error, hide_parameters=True, dialect=dialect)


class _Joined(InlineConnection):
    """The writer's connection as SQLAlchemy's pool sees it: commit, rollback and close are the
    writer's to do, not SQLAlchemy's."""

    async def commit(self) -> None:
        return None

    async def rollback(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def stop(self) -> None:
        self._conn = None


class _TransactionLost(sqlite3.OperationalError):
    """SQLite rolled the group's transaction back on its own (after a full disk, an I/O error)."""


class Writer:
    def __init__(self, url: str, database: str, checkpointer: Checkpointer | None) -> None:
        self.database = database
        self.checkpointer = checkpointer
        self._sqlite: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self.writers = 0  # transactions holding or waiting for the lock
        self._group: asyncio.Future[None] | None = None  # the open transaction's COMMIT
        self._turns = 0  # transactions in the open one
        # Write transactions announced (bot.admission: turns started but not yet run): while
        # there are some, the open transaction waits for them rather than commit at once.
        self._coming = 0
        self.commits = 0  # COMMITs, and the write transactions they committed
        self.committed = 0
        # Sessions of these transactions: bound to this connection, through SQLAlchemy.
        self.engine: AsyncEngine = create_async_engine(
            url,
            async_creator=self._joined,
            poolclass=StaticPool,
            hide_parameters=True,  # errors never carry citizens' text into the logs
        )
        self._dialect = self.engine.dialect
        self._driver: Driver | None = None
        # One session for every transaction, one at a time: closed at the end of each that used
        # it (a closed session is empty and can be used again). Making one cost a turn ~25 us.
        self._session: AsyncSession | None = None

    def announce(self, count: int) -> None:
        """`count` more (or, negative, fewer) write transactions are about to begin."""
        self._coming = max(0, self._coming + count)

    def _connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            connection = sqlite3.connect(
                self.database, check_same_thread=False, timeout=0, isolation_level=None
            )
            for pragma in PRAGMAS:
                connection.execute(pragma).close()
            from storage.backends.sqlite import _Driver  # that module imports this one

            self._sqlite = connection
            self._driver = _Driver(connection, self._dialect)
        return self._sqlite

    async def _joined(self) -> _Joined:
        return _Joined(self._connection())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        self.writers += 1
        try:
            async with self._lock:
                group = self._group
                connection = self._connection()
                if group is None:
                    try:
                        waiting = _now_or_later(
                            lambda: connection.execute("BEGIN IMMEDIATE").close()
                        )
                        if waiting is not None:  # another process holds the write lock
                            await waiting
                    except sqlite3.Error as error:
                        raise _translated(error, "BEGIN IMMEDIATE", self._dialect) from error
                    group = self._group = asyncio.get_running_loop().create_future()
                    self._turns = 0
                    asyncio.get_running_loop().call_soon(self._commit_soon, group)
                self._run("SAVEPOINT doudi_turn")
                session = self._session
                if session is None:
                    session = self._session = AsyncSession(bind=self.engine, expire_on_commit=False)
                    core.attach(session, self._driver)
                try:
                    yield session
                    if session.in_transaction() or session.identity_map or session.new:
                        await session.commit()  # flushes; SQLAlchemy's COMMIT does nothing
                        await session.close()
                except BaseException:
                    await self._undo(session, group)
                    raise
                self._run("RELEASE doudi_turn")
                self._turns += 1
                if self._coming == 0 and self.writers == 1:
                    self._commit(group)  # no other transaction to wait for: now, in this task
        finally:
            self.writers -= 1
        # Committed with the others of this iteration; shielded: a caller cancelled meanwhile
        # must not cancel the others' COMMIT.
        await asyncio.shield(group)

    def _run(self, sql: str) -> None:
        assert self._sqlite is not None
        try:
            self._sqlite.execute(sql).close()
        except sqlite3.Error as error:
            raise _translated(error, sql, self._dialect) from error

    async def _undo(self, session: AsyncSession, group: asyncio.Future[None]) -> None:
        """This transaction's writes undone, the group's others kept (or, if SQLite lost
        them, the group failed)."""
        try:
            await session.close()
        finally:
            connection = self._sqlite
            assert connection is not None
            try:
                if not connection.in_transaction:
                    raise _TransactionLost("the transaction was rolled back")
                connection.execute("ROLLBACK TO doudi_turn").close()
                connection.execute("RELEASE doudi_turn").close()
            except sqlite3.Error as error:
                self._fail(group, _translated(error, "ROLLBACK TO", self._dialect))

    def _fail(self, group: asyncio.Future[None], error: Exception) -> None:
        if self._group is group:
            self._group = None
            connection = self._sqlite
            if connection is not None and connection.in_transaction:
                connection.rollback()
        if not group.done():
            group.set_exception(error)
            group.exception()  # retrieved: no warning when every waiter was cancelled

    def _commit_soon(self, group: asyncio.Future[None]) -> None:
        """At the start of the next iteration: COMMIT, unless a transaction is still running
        (one that awaited something real); then as soon as it ends."""
        if self._group is not group:
            return  # failed already
        if self._lock.locked():
            asyncio.get_running_loop().create_task(self._commit_when_free(group))
            return
        self._commit(group)

    async def _commit_when_free(self, group: asyncio.Future[None]) -> None:
        async with self._lock:
            if self._group is group:
                self._commit(group)

    def _commit(self, group: asyncio.Future[None]) -> None:
        connection = self._sqlite
        assert connection is not None
        turns = self._turns
        try:
            if not connection.in_transaction:
                raise _TransactionLost("the transaction was rolled back")
            connection.commit()
        except sqlite3.Error as error:
            self._fail(group, _translated(error, "COMMIT", self._dialect))
            return
        self._group = None
        self.commits += 1
        self.committed += turns
        if not group.done():
            group.set_result(None)
        if self.checkpointer is not None:
            self.checkpointer.written(turns)

    async def close(self) -> None:
        """After the last transaction: its COMMIT, then the connection closed."""
        group = self._group
        if group is not None:
            async with self._lock:
                if self._group is group:
                    self._commit(group)
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.engine.dispose()
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
