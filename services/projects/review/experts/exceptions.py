"""Errors of the expert pool, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, NotFound, Text


class ExpertNotFound(NotFound):
    """Also said to an expert asking about someone else's entry."""

    code = "expert.not_found"
    title = Text("专家库中没有该专家", "No such expert in the pool")


class NotAnExpert(AppError):
    status = 422
    code = "expert.not_eligible"
    title = Text(
        "该用户不是在册且有效的评审专家", "This person is not a registered, active review expert"
    )


class ExpertProfileInvalid(AppError):
    status = 422
    code = "expert.invalid"
    title = Text("专家信息不符合要求", "The expert's profile is inconsistent")


class UnknownPerson(AppError):
    status = 422
    code = "declared_conflict.unknown_person"
    title = Text("该人员不在用户目录中", "This person is not in the directory")


class DeclarationExists(Conflict):
    code = "declared_conflict.exists"
    title = Text("已申报过该利益冲突", "This conflict was already declared")


class OrganizationLinkExists(Conflict):
    code = "organization_link.exists"
    title = Text(
        "这两个单位之间已有隶属关系", "These organizations are already linked (either way)"
    )
