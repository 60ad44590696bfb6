"""Errors of scoring, results and the applicant's view of their review."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class SheetNotFound(NotFound):
    """Also said when the assignment exists but is not the caller's to score or read."""

    code = "sheet.not_found"
    title = Text("评审表不存在", "Score sheet not found")


class RoundNotFound(NotFound):
    code = "round.not_found"
    title = Text("评审轮次不存在", "Review round not found")


class SheetInvalid(AppError):
    """Scores or comments the round's template does not allow; `problems` lists each."""

    status = 422
    code = "sheet.invalid"
    title = Text("评审表内容不符合评审模板", "The sheet does not fit the review template")


class SheetIncomplete(AppError):
    """Submission of a sheet with parts missing; `missing` says which."""

    status = 422
    code = "sheet.incomplete"
    title = Text("评审表尚未填写完整", "The sheet is not complete")


class ReviewsMissing(Conflict):
    code = "round.reviews_missing"
    title = Text(
        "评审截止前仍有未提交的评审意见",
        "Reviews are still missing and the deadline has not passed",
    )


class ReviewNotYet(Conflict):
    code = "review.not_yet"
    title = Text("立项决定作出后方可查看评审意见", "Review results are shown after the decision")
