"""Ticket numbers stay distinct and valid when many are filed at once, across processes too."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.tickets import number as numbers
from storage.db import Database
from storage.models import Ticket
from tests.conftest import POSTGRES_URL
from tests.support.file_tickets import file_many

KEY = "concurrency-key"
ROOT = Path(__file__).resolve().parent.parent


async def stored_numbers(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.sessions() as session:
            return list(await session.scalars(select(Ticket.number)))
    finally:
        await db.dispose()


def assert_distinct_and_valid(found: list[str], expected: int) -> None:
    assert len(found) == expected
    assert len(set(found)) == expected
    assert all(numbers.is_valid(n) for n in found)
    # The permutation hides the counter, and the key recovers it: one of each, 1..N per day.
    by_day: dict[str, list[int]] = {}
    for n in found:
        by_day.setdefault(n[:6], []).append(numbers.counter_of(n, KEY))
    for counters in by_day.values():
        assert sorted(counters) == list(range(1, len(counters) + 1))


async def test_ten_thousand_tickets_by_eight_tasks(database_url: str) -> None:
    filed = await file_many(database_url, 10_000, 8, KEY)
    assert_distinct_and_valid(filed, 10_000)
    assert sorted(await stored_numbers(database_url)) == sorted(filed)


@pytest.mark.postgres
async def test_two_processes_file_distinct_numbers(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several processes need PostgreSQL")
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.file_tickets",
            database_url,
            "2000",
            "4",
            KEY,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await p.communicate() for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert_distinct_and_valid(await stored_numbers(database_url), 4000)


def test_postgres_url_is_what_the_ci_sets() -> None:
    # Guard against the multi-process test silently never running in CI.
    import os

    if os.environ.get("CI"):
        assert POSTGRES_URL, "CI must set DOUDI_TEST_POSTGRES_URL"
