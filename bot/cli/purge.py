"""`doudi purge`: remove personal data of closed tickets past the retention period."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import click

from bot.config import Settings
from storage.columns import utcnow

CHINA = timezone(timedelta(hours=8))  # dates are the window's dates (Asia/Shanghai)


async def _purge(database_url: str, before: datetime) -> int:
    from storage.db import Database
    from storage.repositories import privacy

    db = Database(database_url)
    try:
        async with db.transaction() as session:
            return await privacy.purge_closed(session, before)
    finally:
        await db.dispose()


@click.command("purge")
@click.option(
    "--closed-before",
    "closed_before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Tickets closed before this date (YYYY-MM-DD). Default: DOUDI_RETENTION_DAYS ago.",
)
def command(closed_before: datetime | None) -> None:
    """Remove contact, transcript text and attachments of closed tickets (keeps statistics)."""
    settings = Settings.from_env()
    if closed_before is None:
        before = utcnow() - timedelta(days=settings.retention_days)
    else:
        before = closed_before.replace(tzinfo=CHINA)
    count = asyncio.run(_purge(settings.database_url, before))
    click.echo(
        f"personal data removed from {count} closed tickets (closed before "
        f"{before.astimezone(CHINA):%Y-%m-%d %H:%M})"
    )
