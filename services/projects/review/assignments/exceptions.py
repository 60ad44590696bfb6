"""Errors of assigning experts, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class RunNotFound(NotFound):
    code = "assignment_run.not_found"
    title = Text("分配方案不存在", "Assignment run not found")


class RunJobNotFound(NotFound):
    code = "assignment_run_job.not_found"
    title = Text("试运行任务不存在", "Assignment run job not found")


class RunInterrupted(AppError):
    """A dry run whose process stopped before it was done (a restart, a crash)."""

    status = 503
    code = "assignment.run_interrupted"
    title = Text(
        "试运行因服务重启而中断，请重新试运行",
        "The dry run was interrupted (its process stopped); run it again",
    )


class RunFailed(AppError):
    """A dry run that failed for a reason of ours (logged), as its job reports it."""

    status = 500
    code = "internal"
    title = Text("服务器内部错误", "Internal server error")


class AssignmentNotFound(NotFound):
    """Also said to an expert asking about someone else's assignment, or about one of theirs
    hidden since a conflict of interest was found."""

    code = "assignment.not_found"
    title = Text("评审任务不存在", "Assignment not found")


class ExpertNotFound(NotFound):
    code = "expert.not_found"
    title = Text("专家库中没有该专家", "No such expert in the pool")


class RunStale(Conflict):
    code = "assignment.run_stale"
    title = Text(
        "分配方案已过期：试运行后情况有变或已执行，请重新试运行",
        "The run is stale: something changed since the dry run, or it was applied; run again",
    )


class AssignmentConflict(Conflict):
    """The body lists the conflicts of interest with their evidence."""

    code = "assignment.conflict"
    title = Text("该专家与申报书存在利益冲突", "The expert has a conflict of interest")


class OverLoad(Conflict):
    code = "assignment.over_load"
    title = Text("该专家本轮评审任务已满", "The expert has no load left in this round")


class AlreadyAssigned(Conflict):
    code = "assignment.exists"
    title = Text("该专家已在评审此申报书", "The expert already reviews this application")


class SameOrganization(Conflict):
    code = "assignment.same_organization"
    title = Text(
        "本轮规定每份申报书同一单位至多一名专家",
        "At most one expert per organization on an application in this round",
    )


class ExpertNotAssignable(Conflict):
    """Inactive, unavailable until the deadline, or barred from reviewing by their credit; the
    body says which."""

    code = "assignment.expert_not_assignable"
    title = Text("该专家目前不可分配", "The expert cannot be assigned now")


class OutOfField(AppError):
    status = 422
    code = "assignment.out_of_field"
    title = Text(
        "专家学科与申报书不符（如确需指派，请注明理由并设置 force_out_of_field）",
        "The expert shares no subject with the application "
        "(set force_out_of_field with a reason to assign anyway)",
    )


class DrawRequired(Conflict):
    """The call's terms require the random draw: no optimal assignment run for its rounds."""

    code = "assignment.draw_required"
    title = Text(
        "本指南规定随机抽取评审专家，不能使用优化分配",
        "The call requires a random draw of experts, not the optimal assignment",
    )


class OptimalRequired(Conflict):
    code = "assignment.optimal_required"
    title = Text(
        "本指南使用优化分配，不随机抽取评审专家",
        "The call uses the optimal assignment, not a random draw",
    )


class NoDrawNeeded(Conflict):
    code = "assignment.no_draw_needed"
    title = Text("每份申报书都已有足够的专家", "Every application has its experts already")


class DrawNotFound(NotFound):
    code = "assignment_draw.not_found"
    title = Text("抽取记录不存在", "Draw not found")


class ReviewSettingsFixed(Conflict):
    code = "review.settings_fixed"
    title = Text(
        "指南截止后评审方式不能再更改", "The review settings are fixed once the call has closed"
    )
