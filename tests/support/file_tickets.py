"""File N tickets with T concurrent tasks against a database (run in-process or as a process).

Usage: python -m tests.support.file_tickets DATABASE_URL N TASKS KEY
"""

from __future__ import annotations

import asyncio
import sys

from handlers.tickets import number as numbers
from storage.columns import utcnow
from storage.db import Database
from storage.repositories import tickets


async def file_many(url: str, count: int, tasks: int, key: str) -> list[str]:
    db = Database(url)
    filed: list[str] = []

    def number_for(day, counter):  # type: ignore[no-untyped-def]
        return numbers.make_number(day, counter, key)

    async def worker(share: int, index: int) -> None:
        for i in range(share):
            async with db.transaction() as session:
                new = tickets.NewTicket(
                    openid=f"o_load_{index}", conversation_id=None, fields={"request": str(i)}
                )
                ticket = await tickets.file(session, db.backend, new, number_for, utcnow())
                filed.append(ticket.number)

    shares = [count // tasks + (1 if i < count % tasks else 0) for i in range(tasks)]
    try:
        await asyncio.gather(*(worker(share, i) for i, share in enumerate(shares)))
    finally:
        await db.dispose()
    return filed


if __name__ == "__main__":
    url, count, tasks, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    print(len(asyncio.run(file_many(url, count, tasks, key))))
