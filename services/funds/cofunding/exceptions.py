"""Errors of co-funding declarations, each with its status and stable code."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, Text


class CoFundingNotFound(NotFound):
    code = "co_funding.not_found"
    title = Text("该自筹/配套资金记录不存在", "Co-funding declaration not found")


class CoFundingExistsDifferent(Conflict):
    code = "co_funding.exists_different"
    title = Text(
        "该编号已用于另一笔不同的自筹/配套资金", "This id is taken by a different declaration"
    )


class CoFundingAlreadyConfirmed(Conflict):
    code = "co_funding.already_confirmed"
    title = Text("该自筹/配套资金已确认", "The declaration is already confirmed")


class DeclarerCannotConfirm(Forbidden):
    code = "co_funding.declarer_cannot_confirm"
    title = Text(
        "申报人不能确认自己申报的自筹/配套资金", "The declarer cannot confirm their own declaration"
    )


class NotTheOrganization(Forbidden):
    code = "co_funding.not_the_organization"
    title = Text(
        "只有项目承担单位才能申报或确认自筹/配套资金",
        "Only the project's organization declares or confirms co-funding",
    )
