"""When a due report has something to tell, in Beijing time: a reminder at the start of the day
so many days before its due date, the overdue notice as the due date ends, and (final reports)
the credit proposal so many days after that. Also what "overdue" means: the due date has ended
with no report in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from services.projects.models import ReportDue
from shared.clock import SHANGHAI, in_shanghai


def start_of(day: date) -> datetime:
    """The first moment of `day` in Beijing time."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def today(now: datetime) -> date:
    return in_shanghai(now).date()


def reminder_at(due: ReportDue, days_before: int) -> datetime:
    return start_of(due.due_on - timedelta(days=days_before))


def overdue_at(due: ReportDue) -> datetime:
    return start_of(due.due_on + timedelta(days=1))


def escalation_at(due: ReportDue) -> datetime | None:
    if due.escalate_after_days is None:
        return None
    return start_of(due.due_on + timedelta(days=1 + due.escalate_after_days))


def is_overdue(due: ReportDue, now: datetime) -> bool:
    return due.report_id is None and now >= overdue_at(due)


def next_notice_at(due: ReportDue) -> datetime | None:
    """The next moment the reminder job has something to tell about `due` (None: nothing)."""
    if due.report_id is not None:
        return None
    moments = [reminder_at(due, d) for d in due.reminder_days if d not in due.reminded]
    if due.overdue_told_at is None:
        moments.append(overdue_at(due))
    escalation = escalation_at(due)
    if escalation is not None and due.escalated_at is None:
        moments.append(escalation)
    return min(moments, default=None)
