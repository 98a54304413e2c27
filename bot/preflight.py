"""Checks before `doudi serve` starts: an SQLite file that cannot be written (read-only, disk
full, no such directory) stops the start with one clear line, not a crash loop of tracebacks.
PostgreSQL is not checked here: an unreachable server is waited for (the webhook apologises,
/healthz says 503) and service resumes by itself when it is back."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from storage.health import MIN_FREE_BYTES, sqlite_path

# `doudi serve` exits with this when the database cannot be used; a supervisor should not
# restart it blindly (systemd: RestartPreventExitStatus=3).
EXIT_UNUSABLE_DATABASE = 3


class Unusable(Exception):
    """The database cannot serve; the message is one line for the operator."""


def probe_sqlite(path: Path) -> None:
    """Open the file (creating it if new) and commit one write, as the server would."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise Unusable(f"cannot create the directory {path.parent}: {error.strerror}") from None
    free = shutil.disk_usage(path.parent).free
    if free < MIN_FREE_BYTES:
        raise Unusable(f"disk almost full: {free // 1024} KiB free for {path}")
    connection = None
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=15)
        connection.execute("PRAGMA journal_mode=WAL")
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(f"PRAGMA user_version = {version}")  # rewrites the header page
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        raise Unusable(f"database {path} does not take writes: {error}") from None
    finally:
        if connection is not None:
            connection.close()


def prepare(database_url: str) -> None:
    """SQLite: check the file takes writes, then migrate it. Raises Unusable."""
    path = sqlite_path(database_url)
    if path is None:
        return
    probe_sqlite(path)
    from storage.migrate import upgrade

    try:
        upgrade(database_url)  # a single-file database migrates itself
    except Exception as error:
        original = getattr(error, "orig", None) or error
        raise Unusable(f"cannot migrate {path}: {original}") from None
