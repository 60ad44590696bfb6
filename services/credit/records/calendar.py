"""Deadlines in working days, stated in Asia/Shanghai.

Weekends are skipped; public holidays and their swapped working weekends (调休) are not known
yet, so a window can end a day or two earlier than the official calendar would say.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from shared.clock import SHANGHAI, in_shanghai


def add_working_days(start: datetime, days: int) -> datetime:
    """The last moment of the `days`-th working day after the day of `start`."""
    day = in_shanghai(start).date()
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return datetime.combine(day, time.max, tzinfo=SHANGHAI)


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")
