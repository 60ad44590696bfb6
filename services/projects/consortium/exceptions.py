"""Errors of consortium applications, each with its status and stable code."""

from __future__ import annotations

from uuid import UUID

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class ConsortiumNotFound(NotFound):
    """Also said to agency staff while the application is back with its applicant: the
    consortium may be changing, and staff read only what was submitted."""

    code = "consortium.not_found"
    title = Text("该申报书没有联合申报单位", "The application has no consortium")


class PartNotFound(NotFound):
    code = "consortium.part_not_found"
    title = Text("该单位不是联合申报单位", "The organization has no part in this consortium")


class LeadMissing(AppError):
    status = 422
    code = "consortium.lead_missing"
    title = Text(
        "联合申报须列出牵头单位（申报单位）的分工",
        "The consortium must include the lead organization's (the applicant's) part",
    )


class UnknownOrganizations(AppError):
    status = 422
    code = "consortium.unknown_organizations"
    title = Text("参与单位须为平台登记的单位", "Participating organizations must be registered")

    def __init__(self, org_ids: list[UUID]) -> None:
        ids = [str(i) for i in org_ids]
        super().__init__(
            Text(f"未登记：{'、'.join(ids)}", f"not registered: {', '.join(ids)}"),
            extra={"org_ids": ids},
        )


class SharesMismatch(AppError):
    status = 422
    code = "consortium.shares_mismatch"
    title = Text(
        "各单位预算份额之和须等于申报预算",
        "The organizations' budget shares must add up to the application's budget",
    )

    def __init__(self, *, budget_fen: int, shares_fen: int) -> None:
        super().__init__(
            Text(
                f"份额合计 {shares_fen} 分，申报预算 {budget_fen} 分",
                f"the shares add up to {shares_fen} fen, the budget is {budget_fen} fen",
            ),
            extra={"budget_fen": budget_fen, "shares_fen": shares_fen},
        )


class InvalidCoPis(AppError):
    status = 422
    code = "consortium.invalid_co_pis"
    title = Text("课题负责人（共同负责人）不符合要求", "The co-PIs do not meet the rules")

    def __init__(self, detail: Text, user_ids: list[UUID]) -> None:
        super().__init__(detail, extra={"user_ids": [str(u) for u in user_ids]})


class NotYourPart(Forbidden):
    code = "consortium.not_your_part"
    title = Text(
        "单位管理员只能对本单位承担的部分表态", "An organization endorses only its own part"
    )


class LeadEndorsesApplication(Conflict):
    code = "consortium.lead_endorses_application"
    title = Text(
        "牵头单位在申报书提交后对整份申报书出具推荐意见",
        "The lead organization endorses the whole application once it is submitted",
    )


class PartsNotEndorsed(Conflict):
    code = "consortium.not_endorsed"
    title = Text(
        "尚有参与单位未确认其承担的部分，不能提交",
        "Not every participating organization has endorsed its part",
    )

    def __init__(self, org_ids: list[UUID]) -> None:
        ids = [str(i) for i in org_ids]
        super().__init__(
            Text(f"待确认：{'、'.join(ids)}", f"waiting for: {', '.join(ids)}"),
            extra={"pending_org_ids": ids},
        )
