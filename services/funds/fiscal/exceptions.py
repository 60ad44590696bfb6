"""Errors of money across years, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class NoCarryOverRule(Conflict):
    code = "fiscal.no_carry_over_rule"
    title = Text("该计划尚未设定结转结余规则", "The program has no carry-over rule: set one first")


class CarryOverRuleNotFound(NotFound):
    code = "fiscal.carry_over_rule_not_found"
    title = Text("该计划尚未设定结转结余规则", "The program has no carry-over rule")


class YearAlreadyClosed(Conflict):
    code = "fiscal.year_closed"
    title = Text("该计划该年度已完成年终结账", "This program's fiscal year is already closed")


class YearNotOver(Conflict):
    code = "fiscal.year_not_over"
    title = Text("该年度尚未结束，不能年终结账", "The fiscal year has not ended yet")


class PreviousYearOpen(Conflict):
    code = "fiscal.previous_year_open"
    title = Text("以前年度尚未结账", "An earlier fiscal year of the program is not closed")


class HoldsPending(Conflict):
    code = "fiscal.holds_pending"
    title = Text(
        "尚有待审批的支付指令、用款申请或未结清的追回款，不能结账",
        "Payment orders, drawdowns or recoveries still wait: decide them before the close",
    )


class NothingToClose(Conflict):
    code = "fiscal.no_ledger"
    title = Text("该计划该年度没有账", "The program has no ledger for that year")


class YearEndCloseNotFound(NotFound):
    code = "fiscal.close_not_found"
    title = Text("该年度尚未结账", "The fiscal year is not closed")


class YearOutOfRange(AppError):
    status = 422
    code = "fiscal.year_out_of_range"
    title = Text("项目在该年度没有经费", "The project had no money in that fiscal year")
