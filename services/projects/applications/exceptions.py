"""Errors of applications, attachments and formal checks, each with its status and stable code.

Shared ones (ApplicationNotFound, CallClosed, InvalidTransition, DutyConflict ...) live in
`services.projects.exceptions`.
"""

from __future__ import annotations

from typing import Any

from shared.errors import AppError, Conflict, NotFound, Text


class OrganizationIneligible(AppError):
    status = 422
    code = "application.org_ineligible"
    title = Text("所在单位类型不在本指南申报范围内", "Your organization may not apply to this call")


class NoOrganization(AppError):
    status = 422
    code = "application.no_organization"
    title = Text("申报须以所在单位名义提出", "Applications are made through an organization")


class UnknownPeople(AppError):
    """Team members must be registered, active people; the body lists who is not."""

    status = 422
    code = "application.unknown_team_members"
    title = Text("团队成员须为平台注册用户", "Team members must be registered people")

    def __init__(self, user_ids: list[str]) -> None:
        super().__init__(
            Text(
                f"未注册或已停用：{'、'.join(user_ids)}", f"not registered: {', '.join(user_ids)}"
            ),
            extra={"user_ids": user_ids},
        )


class InvalidTeam(AppError):
    status = 422
    code = "application.invalid_team"
    title = Text("团队组成不符合要求", "The team does not meet the requirements")


class IndirectOverLimit(AppError):
    status = 422
    code = "budget.indirect_over_limit"
    title = Text("间接费用超过核定比例", "Indirect costs exceed the tiered limit")


class UnknownAttachments(AppError):
    status = 422
    code = "application.unknown_attachments"
    title = Text("引用的附件不属于本申报书", "Referenced attachments are not this application's")

    def __init__(self, ids: list[str]) -> None:
        super().__init__(
            Text(
                f"附件不存在或类型不符：{'、'.join(ids)}",
                f"unknown or wrong kind: {', '.join(ids)}",
            ),
            extra={"attachment_ids": ids},
        )


class Incomplete(AppError):
    status = 422
    code = "application.incomplete"
    title = Text("申报书内容不完整，不能提交", "The application is incomplete")

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            Text(f"缺少：{'、'.join(missing)}", f"missing: {', '.join(missing)}"),
            extra={"missing": missing},
        )


class StaleVersion(Conflict):
    """Someone saved in between (another tab, another device): reload before saving."""

    code = "application.stale_version"
    title = Text("申报书已被更新，请刷新后再保存", "The application changed since you loaded it")

    def __init__(self, current: int) -> None:
        super().__init__(
            Text(f"当前版本为 {current}", f"the current version is {current}"),
            extra={"current_version": current},
        )


class VersionNotFound(NotFound):
    code = "application.version_not_found"
    title = Text("该版本不存在", "No such version")


class ReasonRequired(AppError):
    status = 422
    code = "reason.required"
    title = Text("退回须说明理由", "A return needs a reason")


class FormalCheckNotFound(NotFound):
    code = "formal_check.not_found"
    title = Text("尚无形式审查结果", "No formal check yet")


class RulesFailed(Conflict):
    code = "formal_check.rules_failed"
    title = Text("自动审查规则未全部通过，不能通过形式审查", "Not every automatic rule passed")

    def __init__(self, failed: list[str], **kwargs: Any) -> None:
        super().__init__(
            Text(f"未通过：{'、'.join(failed)}", f"failed: {', '.join(failed)}"),
            extra={"failed_rules": failed},
            **kwargs,
        )


class AttachmentTooLarge(AppError):
    status = 413
    code = "attachment.too_large"
    title = Text("附件超过大小限制", "The attachment is too large")


class AttachmentTypeRejected(AppError):
    status = 415
    code = "attachment.type_rejected"
    title = Text("不接受该类型的附件", "This type of file is not accepted")


class AttachmentEmpty(AppError):
    status = 422
    code = "attachment.empty"
    title = Text("附件为空", "The attachment is empty")


class AttachmentRangeNotSatisfiable(AppError):
    status = 416
    code = "attachment.range_not_satisfiable"
    title = Text("请求的范围超出文件", "The requested range is outside the file")

    def __init__(self, size: int) -> None:
        super().__init__(
            Text(f"文件共 {size} 字节", f"the file has {size} bytes"),
            headers={"Content-Range": f"bytes */{size}"},
            extra={"size": size},
        )


class AttachmentInUse(Conflict):
    code = "attachment.in_use"
    title = Text("附件仍被申报书引用", "The attachment is still listed by the application")

    def __init__(self) -> None:
        super().__init__(
            Text(
                "先从草稿中移除；已提交版本中的附件不能删除",
                "remove it from the draft first; attachments of a submitted version stay",
            )
        )


class MalformedUpload(AppError):
    status = 422
    code = "attachment.malformed"
    title = Text("上传内容格式不正确", "The upload is not a valid multipart form")
