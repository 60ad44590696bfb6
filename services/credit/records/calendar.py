"""Deadlines in working days, stated in Asia/Shanghai.

Weekends and the configured public holidays are skipped; weekends that the State Council turns
into working days (调休) count. The official calendar is published each November for the next
year, so it is configuration (`SCIPLAN_CREDIT_HOLIDAYS`, `SCIPLAN_CREDIT_WORKING_WEEKENDS`),
not code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.clock import SHANGHAI, in_shanghai


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.working_weekends

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The last moment of the `days`-th working day after the day of `start`."""
        day = in_shanghai(start).date()
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
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
