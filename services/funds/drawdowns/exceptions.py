"""Errors of drawdowns, each with its status and stable code."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, Text


class DrawdownNotFound(NotFound):
    code = "drawdown.not_found"
    title = Text("用款申请不存在", "Drawdown not found")


class DrawdownExistsDifferent(Conflict):
    code = "drawdown.exists_different"
    title = Text("该编号已用于另一笔不同的用款申请", "This id is taken by a different drawdown")


class DrawdownExceedsCarriedOver(Conflict):
    code = "drawdown.exceeds_carried_over"
    title = Text(
        "申请金额超过项目可用的结转资金", "The amount exceeds the project's carried-over money"
    )


class DrawdownCategoryOverBudget(Conflict):
    code = "drawdown.category_over_budget"
    title = Text(
        "申请金额超过该科目尚未支出的预算", "The amount exceeds the category's unspent budget"
    )


class NotTheOrganization(Forbidden):
    code = "drawdown.not_the_organization"
    title = Text("只有项目承担单位才能申请用款", "Only the project's organization requests money")
