"""Errors of reports on schedule."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class ScheduleNotFound(NotFound):
    code = "report_schedule.not_found"
    title = Text("该项目尚无报告计划", "The project has no schedule of reports")


class DueNotFound(NotFound):
    code = "report_due.not_found"
    title = Text("应交报告不存在", "Due report not found")


class DueMet(Conflict):
    code = "report_due.met"
    title = Text("该报告已提交，不能再改截止日期", "The report is in: its due date no longer moves")


class DueDateInvalid(AppError):
    status = 422
    code = "report_due.invalid_date"
    title = Text("截止日期不符合要求", "The due date does not meet the rules")


class ReportsOverdue(Conflict):
    """Like Research.gov: a PI with an overdue report submits nothing new until it is in."""

    code = "application.reports_overdue"
    title = Text(
        "您负责的项目有逾期未交的报告，补交后方可提交新的申报",
        "A project you lead has an overdue report: submit it before a new application",
    )
