"""Errors of the credit service, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class SubjectNotFound(NotFound):
    code = "subject.not_found"
    title = Text("信用主体不存在", "Credit subject not found")


class RuleNotFound(NotFound):
    code = "rule.not_found"
    title = Text("信用规则不存在", "Credit rule not found")


class RecordNotFound(NotFound):
    code = "record.not_found"
    title = Text("信用记录不存在", "Credit record not found")


class RuleExists(Conflict):
    code = "rule.exists"
    title = Text("规则编码已存在", "A rule with this code exists")


class RuleNotApplicable(AppError):
    status = 422
    code = "record.rule_not_applicable"
    title = Text("该规则不适用于此类主体", "The rule does not apply to this kind of subject")


class SubjectMismatch(AppError):
    status = 422
    code = "subject.invalid"
    title = Text("主体信息不一致或不完整", "Subject details are inconsistent or incomplete")


class InvalidTransition(Conflict):
    code = "record.invalid_transition"
    title = Text("记录当前状态不允许此操作", "The record's state does not allow this")


class ObjectionWindowClosed(Conflict):
    code = "objection.window_closed"
    title = Text("异议期已过", "The objection window has closed")


class ObjectionWindowOpen(Conflict):
    code = "record.objection_window_open"
    title = Text("异议期尚未结束", "The objection window is still open")


class AwaitingDelivery(Conflict):
    code = "record.awaiting_delivery"
    title = Text(
        "告知书尚未送达，异议期尚未开始",
        "The notice has not been delivered yet: the objection window has not started",
    )


class AlreadyDelivered(Conflict):
    code = "record.already_delivered"
    title = Text("告知书已送达", "The notice has been delivered already")


class DeliveryOutOfRange(AppError):
    status = 422
    code = "record.delivery_out_of_range"
    title = Text(
        "送达时间须在告知之后、当前时间之前，且不早于 5 天前",
        "The delivery must be after the notice was sent, not in the future and at most 5 days ago",
    )


class DeliveryBySender(Forbidden):
    code = "record.delivery_by_sender"
    title = Text(
        "告知书的送达须由发出告知书人员以外的另一名工作人员记录",
        "Someone other than the officer who sent the notice records its delivery",
    )


class NotRepairable(Conflict):
    code = "record.not_repairable"
    title = Text("该记录依规不可信用修复", "Records under this rule cannot be repaired")


class RepairTooEarly(Conflict):
    code = "record.repair_too_early"
    title = Text("尚未满足信用修复的最短期限", "The minimum period before repair has not passed")


class SameReviewer(Forbidden):
    code = "appeal.same_reviewer"
    title = Text(
        "复核须由原决定人以外的人员进行", "An appeal is reviewed by someone other than who decided"
    )


class NotYourRecord(NotFound):
    """Said as 404: whether someone else's record exists is not the caller's business."""

    code = "record.not_found"
    title = RecordNotFound.title


class OwnAffair(Forbidden):
    code = "record.own_affair"
    title = Text(
        "不得处理与本人或本单位有关的信用记录",
        "Nobody acts on a record about themselves or their organization",
    )


class OutsideYourPrograms(Forbidden):
    code = "record.outside_your_programs"
    title = Text(
        "该记录不属于您管理的计划，须由信用管理专员处理",
        "The record is not of a program you manage; a credit officer handles it",
    )


class SameOfficer(Forbidden):
    code = "record.same_officer"
    title = Text(
        "须由记录形成人员以外的另一名工作人员决定",
        "Someone other than the officers who made the record decides this",
    )


class AppealWindowClosed(Conflict):
    code = "appeal.window_closed"
    title = Text("复查申请期限已过", "The appeal window has closed")


class PurposeRequired(AppError):
    status = 422
    code = "credit.purpose_required"
    title = Text(
        "查阅他人信用信息须说明用途（purpose，5 至 500 字），查阅将被记录",
        "Reading someone else's credit data needs a stated purpose (5 to 500 characters); "
        "the read is logged",
    )
