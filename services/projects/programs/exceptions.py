"""Errors of programs and special funds (the shared ones are in services/projects/exceptions.py)."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class InvalidParent(AppError):
    status = 422
    code = "program.invalid_parent"
    title = Text("上级计划须为已有的基本计划", "The parent must be an existing basic program")


class BasicProgramPermanent(Conflict):
    code = "program.basic_permanent"
    title = Text("五大基本计划不能停止", "A basic program cannot be retired")


class YearInactive(Conflict):
    code = "program.year_inactive"
    title = Text("该年度不在计划的执行年度内", "The year is outside the program's active years")


class NotProgramManagerRole(AppError):
    status = 422
    code = "program.manager_invalid"
    title = Text(
        "该用户不存在或不具有计划管理人员角色",
        "The user is unknown or does not hold the program_manager role",
    )


class ManagerNotAssigned(NotFound):
    code = "program.manager_not_found"
    title = Text("该用户不负责此计划", "The user does not manage this program")


class EnvelopesAdminOnly(Forbidden):
    """Envelopes are the province's budget: those who decide within them do not set them."""

    code = "program.envelopes_admin_only"
    title = Text(
        "年度资金总额由管理员（预算主管部门）核定",
        "Only an administrator (the budget authority) sets yearly envelopes",
    )
