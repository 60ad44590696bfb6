"""Errors of review rounds and conflicts of interest, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class RoundNotFound(NotFound):
    code = "round.not_found"
    title = Text("评审轮次不存在", "Review round not found")


class RoundExists(Conflict):
    code = "round.exists"
    title = Text(
        "该指南已有同类评审轮次（验收评审须待上一轮结束）",
        "The call already has a review round of this kind (acceptance: one open at a time)",
    )


class CallStillOpen(Conflict):
    code = "call.still_open"
    title = Text(
        "申报尚未截止，不能开始评审", "The call is still open: its review cannot start yet"
    )


class NoApplicationsToReview(Conflict):
    code = "round.no_applications"
    title = Text(
        "该指南没有通过形式审查的申报书",
        "The call has no applications that passed the formal check",
    )


class NoProjectsToAccept(Conflict):
    code = "round.no_projects_to_accept"
    title = Text(
        "该指南没有待验收的项目（执行中且结题报告待审核）",
        "The call has no project in progress whose final report awaits review",
    )


class DeadlineInvalid(AppError):
    status = 422
    code = "round.deadline_invalid"
    title = Text("评审截止时间须晚于当前时间", "The review deadline must be in the future")


class ConflictNotFound(NotFound):
    code = "conflict.not_found"
    title = Text("未发现该利益冲突", "No such conflict of interest")


class ConflictOverridden(Conflict):
    code = "conflict.overridden"
    title = Text("该利益冲突已被豁免", "This conflict of interest was already overridden")
