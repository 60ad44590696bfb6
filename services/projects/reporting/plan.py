"""Which reports a project owes, and when: from its program's policy or its task book's own
list, then adjusted to its supervision (A: no mid-term report; C: progress reports besides).
Pure functions of dates; nothing here touches the database."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.projects.models.reporting import Supervision
from services.projects.reporting.policy import ReportPolicyWrite

# A task book's own list may set a due date up to this long after the project ends.
LATEST_AFTER_END = timedelta(days=365)


@dataclass(frozen=True)
class PlannedReport:
    kind: str
    period: str | None
    due_on: date


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def program_plan(policy: ReportPolicyWrite, starts_on: date, ends_on: date) -> list[PlannedReport]:
    """The program's default schedule for a project running from `starts_on` to `ends_on`."""
    plan: list[PlannedReport] = []
    if policy.annual:
        year = 1
        # The last project year is reported on by the final report.
        while (year_end := add_months(starts_on, 12 * year)) < ends_on:
            due = year_end - timedelta(days=1) + timedelta(days=policy.annual_due_days)
            plan.append(PlannedReport("annual", f"Y{year}", due))
            year += 1
    if policy.midterm:
        midpoint = starts_on + (ends_on - starts_on) / 2
        plan.append(PlannedReport("midterm", None, midpoint + timedelta(policy.midterm_due_days)))
    final_due = ends_on + timedelta(days=policy.final_due_days)
    plan.append(PlannedReport("final", None, final_due))
    if policy.financial:
        plan.append(PlannedReport("financial", None, final_due))
    return plan


def task_book_plan(reports: list[dict[str, Any]]) -> list[PlannedReport]:
    return [
        PlannedReport(r["kind"], r.get("period"), date.fromisoformat(r["due_on"])) for r in reports
    ]


def supervised(
    plan: list[PlannedReport],
    supervision: Supervision,
    policy: ReportPolicyWrite,
    starts_on: date,
    ends_on: date,
    *,
    midterm_pays: bool = False,
) -> list[PlannedReport]:
    """The plan as the supervision changes it, in order of due date. Simplified supervision
    drops the mid-term report unless a tranche waits for the mid-term check (`midterm_pays`):
    without the report that money would never be paid."""
    if supervision == Supervision.simplified and not midterm_pays:
        plan = [p for p in plan if p.kind != "midterm"]
    elif supervision == Supervision.enhanced:
        plan = [p for p in plan if p.kind != "progress"]
        half = 1
        while (period_end := add_months(starts_on, policy.progress_months * half)) < ends_on:
            due = period_end - timedelta(days=1) + timedelta(days=policy.progress_due_days)
            plan.append(PlannedReport("progress", f"P{half}", due))
            half += 1
    return sorted(plan, key=lambda p: (p.due_on, p.kind, p.period or ""))


def plan_problems(
    reports: list[dict[str, Any]], starts_on: date, ends_on: date
) -> list[dict[str, Any]]:
    """What is wrong with a task book's own list of reports (empty: nothing)."""
    problems: list[dict[str, Any]] = []
    seen: set[tuple[str, str | None]] = set()
    for index, report in enumerate(reports):
        key = (report["kind"], report.get("period"))
        if key in seen:
            problems.append({"field": f"reports[{index}]", "message": "kind and period repeat"})
        seen.add(key)
        due_on = date.fromisoformat(report["due_on"])
        if not starts_on < due_on <= ends_on + LATEST_AFTER_END:
            problems.append(
                {
                    "field": f"reports[{index}].due_on",
                    "message": "due after the start and at most a year after the end",
                }
            )
    if sum(1 for r in reports if r["kind"] == "final") != 1:
        problems.append({"field": "reports", "message": "exactly one final report"})
    return problems
