"""Errors of outputs and their statistics."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class OutputNotFound(NotFound):
    code = "output.not_found"
    title = Text("成果不存在", "Output not found")


class OutputExists(Conflict):
    """The same DOI, patent, standard or contract number is on the project already."""

    code = "output.duplicate"
    title = Text("该项目已登记此成果", "This output is registered on the project already")


class OutputInvalid(AppError):
    status = 422
    code = "output.invalid"
    title = Text("成果信息不符合要求", "The output does not meet the rules")


class NotProjectTeam(Forbidden):
    code = "output.not_team"
    title = Text(
        "只有项目负责人和项目组成员可以登记成果",
        "Only the project's PI and team members register outputs",
    )


class NotProjectOrganization(Forbidden):
    code = "output.not_organization"
    title = Text(
        "只有项目承担单位可以审核成果", "Only the project's organization verifies its outputs"
    )


class NotStatisticsReader(Forbidden):
    code = "output.statistics_forbidden"
    title = Text(
        "只有该计划的管理人员和受托评估机构可以查看统计",
        "Only the program's managers and engaged evaluators read its statistics",
    )
