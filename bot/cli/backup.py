"""`doudi backup FILE` and `doudi restore FILE`: SQLite's online backup API.

A backup is taken while the server runs (a consistent snapshot; writers wait briefly).
PostgreSQL has its own tools: see the README (pg_dump -Fc / pg_restore).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from bot.config import Settings
from storage.health import sqlite_path

POSTGRES_HINT = (
    "PostgreSQL is backed up with its own tools: "
    "pg_dump -Fc -f FILE DBNAME, and restored with pg_restore --clean -d DBNAME FILE"
)


def _database_file() -> tuple[str, Path]:
    settings = Settings.from_env()
    path = sqlite_path(settings.database_url)
    if path is None:
        raise click.ClickException(POSTGRES_HINT)
    return settings.database_url, path


def copy_database(source: Path, target: Path) -> None:
    with sqlite3.connect(source, timeout=15) as src, sqlite3.connect(target, timeout=15) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def tickets_in(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM tickets").fetchone()[0])
    finally:
        connection.close()


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def backup(file: Path, force: bool) -> None:
    """Write a consistent copy of the SQLite database to FILE (safe while serving)."""
    _, path = _database_file()
    if not path.exists():
        raise click.ClickException(f"no database at {path}")
    if file.exists():
        if not force:
            raise click.ClickException(f"{file} exists; use --force to overwrite it")
        file.unlink()
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        copy_database(path, file)
    except sqlite3.Error as error:
        raise click.ClickException(f"backup failed: {error}") from None
    click.echo(f"backed up {path} to {file} ({tickets_in(file)} tickets)")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(file: Path, yes: bool) -> None:
    """Replace the SQLite database's content with the backup FILE, then migrate it."""
    url, path = _database_file()
    try:
        count = tickets_in(file)
    except sqlite3.Error:
        raise click.ClickException(f"{file} is not a Doudi backup") from None
    if not yes:
        click.confirm(f"Replace everything in {path} with {file} ({count} tickets)?", abort=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        copy_database(file, path)
    except sqlite3.Error as error:
        raise click.ClickException(f"restore failed: {error}") from None
    from storage.migrate import upgrade

    upgrade(url)  # a backup from an older version gets the newer schema
    click.echo(f"restored {file} into {path} ({tickets_in(path)} tickets)")
