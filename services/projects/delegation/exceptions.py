"""Errors of drafting rights and delegations, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Forbidden, NotFound, Text


class NotDrafter(Forbidden):
    """Said to someone who reads the application (its team, its organizations' admins) but
    may not change it."""

    code = "application.not_drafter"
    title = Text(
        "只有项目负责人及其授权的科研管理人员可以修改申报书",
        "Only the PI and the research administrators they delegated may change the application",
    )


class OnlyThePI(Forbidden):
    code = "delegation.pi_only"
    title = Text("只有项目负责人可以授权或撤销授权", "Only the PI grants and revokes delegation")


class NotResearchAdministrator(AppError):
    status = 422
    code = "delegation.not_research_administrator"
    title = Text(
        "被授权人须为申请人所在单位在职的科研管理人员（单位管理员）",
        "The delegate must be an active research administrator (org admin) of the PI's "
        "organization",
    )


class DelegationNotFound(NotFound):
    code = "delegation.not_found"
    title = Text("该人员没有有效的授权", "This person holds no delegation for the application")
