"""Errors of calls (the shared ones are in services/projects/exceptions.py)."""

from __future__ import annotations

from typing import Any

from shared.errors import AppError, Conflict, Text


class CallYearInactive(Conflict):
    code = "call.year_inactive"
    title = Text("该年度不在计划或专项的执行年度内", "The year is outside the fund's active years")


class CallIncomplete(AppError):
    """A term neither the call nor its program's defaults give; `missing` names them."""

    status = 422
    code = "call.incomplete"
    title = Text("申报指南缺少必要条款", "The call lacks required terms")

    def __init__(self, missing: list[str], **kwargs: Any) -> None:
        super().__init__(
            Text("缺少：" + "、".join(missing), "missing: " + ", ".join(missing)),
            extra={"missing": missing},
            **kwargs,
        )


class CallTermsInvalid(AppError):
    status = 422
    code = "call.invalid"
    title = Text("申报指南条款不一致", "The call's terms are inconsistent")


class CallDeadlinePassed(Conflict):
    code = "call.deadline_passed"
    title = Text("截止时间已过，不能发布", "The closing time has passed: it cannot be published")

    def __init__(self, state: str, **kwargs: Any) -> None:
        super().__init__(extra={"state": state}, **kwargs)


class CallHasApplications(Conflict):
    code = "call.has_applications"
    title = Text(
        "已有提交的申报书，不能撤销指南", "Applications were submitted: it cannot be cancelled"
    )

    def __init__(self, state: str, submitted: int, **kwargs: Any) -> None:
        super().__init__(extra={"state": state, "submitted": submitted}, **kwargs)
