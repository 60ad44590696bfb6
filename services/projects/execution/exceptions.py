"""Errors of running projects: task book, reports, changes, termination."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class TaskBookInvalid(AppError):
    status = 422
    code = "task_book.invalid"
    title = Text("任务书内容不符合要求", "The task book does not meet the rules")


class TaskBookMissing(Conflict):
    code = "task_book.missing"
    title = Text("尚未编制任务书", "No task book has been drafted yet")


class TaskBookSigned(Conflict):
    code = "task_book.signed"
    title = Text("任务书已有签署，不能再修改", "The task book has been signed: it cannot change")


class NotSigningParty(Forbidden):
    code = "task_book.not_a_party"
    title = Text(
        "只有项目承担单位或管理机构可以签署任务书",
        "Only the project's organization or the managing agency may sign",
    )


class NotProjectLead(Forbidden):
    code = "project.not_lead"
    title = Text("只有项目负责人可以执行此操作", "Only the project's PI may do this")


class ReportNotFound(NotFound):
    code = "report.not_found"
    title = Text("报告不存在", "Report not found")


class ReportOpen(Conflict):
    code = "report.open"
    title = Text("同类报告尚在审核中", "A report of this kind is still awaiting review")


class ReviewInvalid(AppError):
    status = 422
    code = "report.invalid_decision"
    title = Text("该类报告不能作此审核结论", "This decision does not apply to this kind of report")


class ChangeNotFound(NotFound):
    code = "change.not_found"
    title = Text("变更申请不存在", "Change request not found")


class ChangeInvalid(AppError):
    status = 422
    code = "change.invalid"
    title = Text("变更申请不符合要求", "The change request does not meet the rules")


class ChangePending(Conflict):
    code = "change.pending"
    title = Text("同类变更申请尚待审批", "A change of this kind is still pending")


class DirectoryUnknown(Conflict):
    """The directory replica lacks someone the project needs (the gateway's event is late)."""

    code = "directory.unknown"
    title = Text("目录中尚无此人员或单位", "The person or organization is not in the directory")
