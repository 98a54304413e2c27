"""Working days on China's calendar: public holidays off, make-up working days (调休) on.

The `chinese-calendar` package knows the State Council's schedule for the years it covers;
outside them (it raises NotImplementedError) a day is a working day when it is Monday-Friday.
Deadlines fall at the end (23:59:59, Beijing time) of their last working day.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import chinese_calendar

from handlers.staff.config import DEFAULT, StaffConfig

BEIJING = timezone(timedelta(hours=8))  # no daylight saving since 1991


# The calendar is the installed package's, fixed while the process runs; a filing asks it about
# a dozen days, and each answer cost chinese_calendar ~8 us (deadlines_for: 117 us -> 6 us).
@functools.lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def local_date(at: datetime) -> date:
    return at.astimezone(BEIJING).date()


def add_working_days(day: date, n: int) -> date:
    """The n-th working day after `day` (n >= 1); `day` itself does not count."""
    if n < 1:
        return day
    found = 0
    while found < n:
        day += timedelta(days=1)
        if is_workday(day):
            found += 1
    return day


def end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=BEIJING).astimezone(UTC)


def due_after(at: datetime, n: int) -> datetime:
    """End of the n-th working day after the (Beijing) day of `at`."""
    return end_of(add_working_days(local_date(at), n))


def extend(due: datetime, n: int) -> datetime:
    """A deadline moved on by n working days."""
    return end_of(add_working_days(local_date(due), n))


def working_days_between(start: datetime, end: datetime) -> int:
    """Working days after start's day up to and including end's day (0 on the same day)."""
    first, last = local_date(start), local_date(end)
    count = 0
    day = first
    while day < last:
        day += timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


@dataclass(frozen=True)
class Deadlines:
    accept_due_at: datetime
    resolve_due_at: datetime


def deadlines_for(created_at: datetime, config: StaffConfig = DEFAULT) -> Deadlines:
    """The deadlines of a ticket filed at created_at: the filing code sets them on the ticket."""
    return Deadlines(
        accept_due_at=due_after(created_at, config.accept_days),
        resolve_due_at=due_after(created_at, config.resolve_days),
    )


async def deadlines_now(session: Any, created_at: datetime) -> tuple[datetime, datetime]:
    """Deadlines of a ticket being filed, under the configuration in force (admin overrides)."""
    from handlers.staff.config import load_config

    due = deadlines_for(created_at, await load_config(session))
    return due.accept_due_at, due.resolve_due_at


def flag(due: datetime | None, now: datetime, config: StaffConfig = DEFAULT) -> str:
    """ "overdue", "nearly_due" (due within config.nearly_due_days working days) or ""."""
    if due is None:
        return ""
    if due < now:
        return "overdue"
    if config.nearly_due_days and due <= due_after(now, config.nearly_due_days):
        return "nearly_due"
    return ""
