"""Errors of the projects service, each with its status and stable code."""

from __future__ import annotations

from typing import Any

from shared.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Text


class ProgramNotFound(NotFound):
    code = "program.not_found"
    title = Text("计划或专项不存在", "Program or fund not found")


class CallNotFound(NotFound):
    code = "call.not_found"
    title = Text("申报指南不存在", "Call not found")


class ApplicationNotFound(NotFound):
    """Also said when the application exists but the caller may not see it."""

    code = "application.not_found"
    title = Text("申报书不存在", "Application not found")


class ProjectNotFound(NotFound):
    code = "project.not_found"
    title = Text("项目不存在", "Project not found")


class AttachmentNotFound(NotFound):
    code = "attachment.not_found"
    title = Text("附件不存在", "Attachment not found")


class AttachmentContentMissing(ServiceUnavailable):
    code = "attachment.unavailable"
    title = Text("附件内容暂不可用", "The attachment's content is unavailable")


class ProgramExists(Conflict):
    code = "program.exists"
    title = Text("计划编码已存在", "A program with this code exists")


class ProgramRetired(Conflict):
    code = "program.retired"
    title = Text("该专项已停止，不能发布新指南", "The fund is retired: no new calls")


class CallClosed(Conflict):
    code = "call.closed"
    title = Text("申报已截止", "The call is closed")


class CallNotOpen(Conflict):
    code = "call.not_open"
    title = Text("申报尚未开始或指南未发布", "The call is not open")


class InvalidTransition(Conflict):
    """An action the current state does not allow; the body says which state it is in."""

    code = "state.invalid_transition"
    title = Text("当前状态不允许此操作", "The current state does not allow this")

    def __init__(self, state: str, detail: Text | None = None, **kwargs: Any) -> None:
        super().__init__(detail, extra={"state": state}, **kwargs)


class ChangedMeanwhile(Conflict):
    """It changed while the credit service was asked about it (before any lock was taken): the
    answer is for what it was then, so nothing was written; asking again settles it."""

    code = "state.changed_meanwhile"
    title = Text(
        "查询信用期间数据发生了变化，未作任何修改，请重试",
        "It changed while the credit service was asked; nothing was written, try again",
    )


class DuplicateApplication(Conflict):
    code = "application.duplicate"
    title = Text("同一指南下已有一份申报书", "You already have an application for this call")


class EnvelopeExceeded(Conflict):
    code = "decision.envelope_exceeded"
    title = Text("超出该计划年度资金总额", "Beyond the program's yearly envelope")


class ObjectionsOpen(Conflict):
    code = "notice.objections_open"
    title = Text("公示期内有未处理的异议", "Objections are still open")


class NoticeRunning(Conflict):
    code = "notice.running"
    title = Text("公示期尚未结束", "The public notice period has not ended")


class NoticeOver(Conflict):
    code = "notice.over"
    title = Text("公示期已结束", "The public notice period is over")


class DutyConflict(Forbidden):
    """Separation of duties: nobody decides on, checks or evaluates their own or their unit's."""

    code = "duty.conflict"
    title = Text(
        "利益相关：不得处理本人或本单位申报的事项",
        "You may not act on what you or your organization applied for",
    )


class NotManager(Forbidden):
    code = "program.not_managed"
    title = Text("您不负责此计划", "You do not manage this program")
