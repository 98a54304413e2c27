"""SQLite's WAL is checkpointed on a thread, not by a commit on the event loop."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.backends.sqlite_checkpoint import CHECKPOINT_EVERY
from storage.columns import utcnow
from storage.db import Database
from storage.repositories import messages


def _size(path: Path) -> int:
    return path.stat().st_size


@pytest.fixture
async def db_file(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[tuple[Path, Database]]:
    """A migrated SQLite file of the test's own, and a Database on it."""
    path = tmp_path / "doudi.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield path, db
    finally:
        await db.dispose()


async def _write(db: Database, count: int, text: str) -> None:
    """`count` write transactions of one large message each."""
    for _ in range(count):
        async with db.transaction(lock_key="citizen:o_wal") as session:
            await messages.add(
                session,
                openid="o_wal",
                conversation_id=None,
                direction="in",
                kind="text",
                now=utcnow(),
                text=text,
            )


async def test_commits_leave_the_wal_to_the_checkpoint_thread(
    db_file: tuple[Path, Database],
) -> None:
    path, db = db_file
    size = _size(path)
    # Well over SQLite's own 1,000-page interval, short of ours: no commit checkpointed.
    await _write(db, CHECKPOINT_EVERY - 1, "长" * 30000)  # ~22 pages each
    assert _size(path) == size
    assert _size(Path(f"{path}-wal")) > 1000 * 4096
    await _write(db, 1, "长" * 30000)  # the checkpoint starts, on a thread
    await db.backend.close()  # waits for it
    assert _size(path) > size + 1000 * 4096  # the messages reached the database


async def test_checkpoints_one_after_another_on_one_connection(
    db_file: tuple[Path, Database],
) -> None:
    """The checkpoint connection is kept between checkpoints, and closed with the backend."""
    path, db = db_file
    checkpointer = db.backend._checkpointer  # type: ignore[attr-defined]
    sizes = [_size(path)]
    for round_ in range(2):
        await _write(db, CHECKPOINT_EVERY, str(round_) * 30000)
        assert checkpointer._running is not None
        await checkpointer._running  # this round's checkpoint
        sizes.append(_size(path))
        assert checkpointer._connection is not None
    assert sizes[0] < sizes[1] < sizes[2]  # each checkpoint moved its round in
    await db.backend.close()
    assert checkpointer._connection is None
