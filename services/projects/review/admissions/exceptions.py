"""Errors of applications to join the expert pool, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class ExpertApplicationNotFound(NotFound):
    code = "expert_application.not_found"
    title = Text("没有该专家入库申请", "No such application to join the expert pool")


class AlreadyAnExpert(Conflict):
    code = "expert_application.already_expert"
    title = Text("已是评审专家，无需申请入库", "This person is already a review expert")


class ApplicationPending(Conflict):
    code = "expert_application.pending"
    title = Text(
        "已有待审核的专家入库申请", "An application to join the expert pool is already pending"
    )


class ApplicationDecided(Conflict):
    code = "expert_application.decided"
    title = Text("该申请已有审核结论", "This application has been decided already")


class OwnApplication(Forbidden):
    code = "expert_application.own"
    title = Text("不能审核本人的入库申请", "Nobody decides their own application")


class PersonUnavailable(AppError):
    status = 422
    code = "expert_application.person_unavailable"
    title = Text(
        "申请人不在用户目录中或已停用", "The applicant is not in the directory, or inactive"
    )
