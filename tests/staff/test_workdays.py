"""Working days across Chinese public holidays and make-up working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from handlers.staff import workdays
from handlers.staff.config import StaffConfig
from handlers.staff.workdays import BEIJING, deadlines_for


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=BEIJING)


def test_national_day_week_2026_and_its_make_up_saturday() -> None:
    assert not workdays.is_workday(date(2026, 10, 1))
    assert not workdays.is_workday(date(2026, 10, 7))
    assert workdays.is_workday(date(2026, 10, 10))  # Saturday, a make-up working day
    assert workdays.is_workday(date(2026, 9, 20))  # Sunday, a make-up working day
    # Filed on the last working day before the holiday (Wed 30 Sep 2026).
    due = deadlines_for(beijing(2026, 9, 30, 10, 0))
    assert due.accept_due_at.astimezone(BEIJING).date() == date(2026, 10, 8)
    # 5 working days: 8 Oct (Thu), 9 (Fri), 10 (Sat, make-up), 12 (Mon), 13 (Tue).
    assert due.resolve_due_at.astimezone(BEIJING).date() == date(2026, 10, 13)
    assert due.resolve_due_at.astimezone(BEIJING).time().hour == 23


def test_filed_on_a_holiday_counts_from_the_next_working_day() -> None:
    due = deadlines_for(beijing(2026, 10, 3, 9, 0))
    assert due.accept_due_at.astimezone(BEIJING).date() == date(2026, 10, 8)


def test_dates_beyond_the_calendar_fall_back_to_weekdays() -> None:
    far = date(2099, 6, 5)  # a Friday, beyond chinese-calendar's years
    assert workdays.is_workday(far)
    assert not workdays.is_workday(far + timedelta(days=1))
    assert workdays.add_working_days(far, 1) == date(2099, 6, 8)


def test_configured_days_and_extension() -> None:
    config = StaffConfig(accept_days=2, resolve_days=10)
    due = deadlines_for(beijing(2026, 11, 2, 9, 0), config)  # Monday
    assert due.accept_due_at.astimezone(BEIJING).date() == date(2026, 11, 4)
    assert due.resolve_due_at.astimezone(BEIJING).date() == date(2026, 11, 16)
    assert workdays.extend(due.resolve_due_at, 3).astimezone(BEIJING).date() == date(2026, 11, 19)


def test_flags_and_working_days_between() -> None:
    now = beijing(2026, 11, 2, 9, 0).astimezone(UTC)
    assert workdays.flag(now - timedelta(minutes=1), now) == "overdue"
    assert workdays.flag(workdays.due_after(now, 1), now) == "nearly_due"
    assert workdays.flag(workdays.due_after(now, 3), now) == ""
    assert workdays.flag(None, now) == ""
    assert workdays.working_days_between(beijing(2026, 9, 30, 9), beijing(2026, 10, 9, 9)) == 2
