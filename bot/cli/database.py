"""One unit of database work for a CLI command: open, run in a transaction, close."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from storage.db import Database

T = TypeVar("T")


def run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run work(session) in one transaction on DOUDI_DATABASE_URL; all of it or none."""

    async def main() -> T:
        db = Database(Settings.from_env().database_url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(main())
