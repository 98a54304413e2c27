"""SQLite's WAL is checkpointed on a thread, not by a commit on the event loop."""

from __future__ import annotations

import shutil
from pathlib import Path

from storage.backends.sqlite_checkpoint import CHECKPOINT_EVERY
from storage.columns import utcnow
from storage.db import Database
from storage.repositories import messages


def _size(path: Path) -> int:
    return path.stat().st_size


async def test_commits_leave_the_wal_to_the_checkpoint_thread(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "doudi.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    size = _size(path)

    async def write(count: int) -> None:
        for _ in range(count):
            async with db.transaction(lock_key="citizen:o_wal") as session:
                await messages.add(
                    session,
                    openid="o_wal",
                    conversation_id=None,
                    direction="in",
                    kind="text",
                    now=utcnow(),
                    text="长" * 30000,  # ~22 pages
                )

    try:
        # Well over SQLite's own 1,000-page interval, short of ours: no commit checkpointed.
        await write(CHECKPOINT_EVERY - 1)
        assert _size(path) == size
        assert _size(Path(f"{path}-wal")) > 1000 * 4096
        await write(1)  # the checkpoint starts, on a thread
        await db.backend.close()  # waits for it
        assert _size(path) > size + 1000 * 4096  # the messages reached the database
    finally:
        await db.dispose()
