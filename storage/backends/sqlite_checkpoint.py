"""SQLite's WAL checkpoints on a thread of their own, not on the event loop.

SQLite checkpoints automatically, in the connection whose commit leaves the WAL over 1,000
pages. With statements inline on the event loop (sqlite_inline.py), that commit, which
copies the WAL into the database and syncs both files, held the loop for 10-30 ms every
~70 turns: ~85% of all the time spent committing, and a stall for every request in flight.
The server's connections turn automatic checkpoints off; every CHECKPOINT_EVERY write
transactions a PASSIVE checkpoint runs on a thread, with a connection of its own. PASSIVE
waits for nobody and nobody waits for it; sqlite3 releases the GIL while it works.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

log = logging.getLogger(__name__)

# Write transactions between checkpoints: ~750 pages in profile_turns.py (a turn writes ~12),
# about SQLite's own 1,000-page interval.
CHECKPOINT_EVERY = 64


class Checkpointer:
    def __init__(self, database: str, every: int = CHECKPOINT_EVERY) -> None:
        self.database = database
        self.every = every
        self._written = 0
        self._running: asyncio.Task[None] | None = None
        # Kept open between checkpoints: opening and closing one cost ~0.6 ms of CPU a
        # checkpoint, a third of its cost. Used by one checkpoint at a time, on any thread.
        self._connection: sqlite3.Connection | None = None

    def written(self, transactions: int = 1) -> None:
        """After a COMMIT of `transactions` write transactions (sqlite_writer.py commits several
        at once): start a checkpoint when it is time and none runs."""
        self._written += transactions
        if self._written >= self.every and self._running is None:
            self._written = 0
            self._running = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Wait for a checkpoint still running (before the engine is disposed)."""
        if self._running is not None:
            await asyncio.shield(self._running)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self._checkpoint)
        except Exception:  # the next one catches up; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            self._running = None

    def _checkpoint(self) -> None:
        connection = self._connection
        if connection is None:
            connection = sqlite3.connect(
                self.database, timeout=0, isolation_level=None, check_same_thread=False
            )
            self._connection = connection
            connection.execute("PRAGMA synchronous=NORMAL").close()  # as the server's
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()
        except sqlite3.Error:  # the next checkpoint starts on a new connection
            self._connection = None
            connection.close()
            raise
