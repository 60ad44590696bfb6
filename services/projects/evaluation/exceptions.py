"""Errors of third-party evaluation, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class EngagementNotFound(NotFound):
    """Also said for an engagement that is not the caller's, or no longer active."""

    code = "engagement.not_found"
    title = Text("委托不存在或已结束", "Engagement not found or ended")


class EvaluationNotFound(NotFound):
    code = "evaluation.not_found"
    title = Text("评价报告不存在", "Evaluation not found")


class NotAnEvaluator(AppError):
    status = 422
    code = "engagement.not_an_evaluator"
    title = Text(
        "该用户不是在册的第三方评价人员", "This person is not a registered, active evaluator"
    )


class EngagementExists(Conflict):
    code = "engagement.exists"
    title = Text("该评价人员已受托于此对象", "The evaluator is already engaged on this")


class ProjectRequired(AppError):
    status = 422
    code = "evaluation.project_required"
    title = Text(
        "执行评价和成果产出评价须针对具体项目",
        "Execution and outputs evaluations are of one project: give project_id",
    )
