"""Errors of grant money, each with its status and stable code."""

from __future__ import annotations

from shared.errors import Conflict, NotFound, Text


class GrantNotFound(NotFound):
    code = "grant.not_found"
    title = Text("项目经费记录不存在", "Grant not found")


class EnvelopeNotFound(NotFound):
    code = "grant.envelope_not_found"
    title = Text("该计划的经费额度不存在", "No envelope of this program")


class TrancheNotFound(NotFound):
    code = "grant.tranche_not_found"
    title = Text("该拨付批次不存在", "Tranche not found")


class EnvelopeExistsDifferent(Conflict):
    code = "grant.envelope_exists_different"
    title = Text(
        "该额度编号已用于另一笔不同的额度", "This envelope id is taken by a different envelope"
    )


class ExpenditureExistsDifferent(Conflict):
    code = "grant.expenditure_exists_different"
    title = Text(
        "该支出编号已用于另一笔不同的支出", "This expenditure id is taken by a different one"
    )


class PostSubsidyExistsDifferent(Conflict):
    code = "grant.post_subsidy_exists_different"
    title = Text(
        "该后补助编号已用于另一笔不同的后补助", "This post-subsidy id is taken by a different one"
    )


class GrantFrozen(Conflict):
    code = "grant.frozen"
    title = Text("项目经费已冻结", "The grant is frozen")


class GrantNotAccepted(Conflict):
    code = "grant.not_accepted"
    title = Text("项目尚未通过验收，不能拨付后补助", "Post-subsidies only after acceptance")


class CategoryOverBudget(Conflict):
    code = "grant.category_over_budget"
    title = Text("该科目支出将超出预算", "This spending would exceed the category's budget")


class TrancheNotDue(Conflict):
    code = "grant.tranche_not_due"
    title = Text("该批次当前状态不能拨付", "The tranche's state does not allow a release")


class RecoveryNotOpen(Conflict):
    code = "grant.recovery_not_open"
    title = Text("没有待结清的追回款", "There is no open recovery to settle")
