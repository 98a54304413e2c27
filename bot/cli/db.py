"""`doudi db ...`: database maintenance."""

from __future__ import annotations

import click

from bot.config import Settings


@click.group("db")
def command() -> None:
    """Database maintenance."""


@command.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration to DOUDI_DATABASE_URL."""
    from storage.migrate import upgrade as run_upgrade

    settings = Settings.from_env()
    run_upgrade(settings.database_url)
    click.echo("database is up to date")
