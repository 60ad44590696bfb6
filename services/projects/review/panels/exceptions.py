"""Errors of panel stages, each with its status and stable code."""

from __future__ import annotations

from shared.errors import AppError, Conflict, Forbidden, NotFound, Text


class PanelSettingsNotFound(NotFound):
    code = "panel.settings_not_found"
    title = Text("该指南未设置会评/答辩环节", "The call has no panel stage settings")


class PanelStageNotFound(NotFound):
    """Also said to an expert who is not on the panel."""

    code = "panel.not_found"
    title = Text("会评/答辩环节不存在", "Panel stage not found")


class PanelDrawNotFound(NotFound):
    code = "panel.draw_not_found"
    title = Text("抽取记录不存在", "Draw not found")


class PanelMemberNotFound(NotFound):
    code = "panel.member_not_found"
    title = Text("会评专家不存在", "Panel member not found")


class NotShortlisted(NotFound):
    code = "panel.not_shortlisted"
    title = Text("该申报书不在会评名单中", "The application is not on the shortlist")


class PanelInvalid(AppError):
    status = 422
    code = "panel.invalid"
    title = Text("会评/答辩设置不正确", "The panel stage's terms are not valid")


class PanelNotConfigured(Conflict):
    code = "panel.not_configured"
    title = Text(
        "该指南未设置会评/答辩环节，请先设置", "The call has no panel stage: set its terms first"
    )


class PanelSettingsFixed(Conflict):
    code = "panel.settings_fixed"
    title = Text(
        "申报已截止，会评/答辩设置不能再修改", "The call has closed: its panel terms are fixed"
    )


class PanelExists(Conflict):
    code = "panel.exists"
    title = Text("该指南已有会评/答辩环节", "The call already has a panel stage")


class WrittenReviewOpen(Conflict):
    code = "panel.written_review_open"
    title = Text("书面评审尚未结束", "The written review round has not closed")


class ShortlistEmpty(Conflict):
    code = "panel.shortlist_empty"
    title = Text("会评名单为空", "The shortlist is empty")


class ShortlistUnchanged(Conflict):
    code = "panel.shortlist_unchanged"
    title = Text("会评名单已是如此", "The shortlist already says so")


class MemberConflicted(Conflict):
    """A member or reserve has a conflict of interest with the application to add."""

    code = "panel.member_conflicted"
    title = Text(
        "会评专家与该申报书存在利益冲突", "A panel member has a conflict with the application"
    )


class DrawRequired(Conflict):
    code = "panel.draw_required"
    title = Text(
        "该指南要求随机抽取会评专家", "The call requires panel members to be drawn at random"
    )


class ExpertNotQualified(Conflict):
    """The expert is not in the qualified pool; `reasons` says why."""

    code = "panel.expert_not_qualified"
    title = Text("该专家不符合会评专家条件", "The expert is not in the qualified pool")


class NoDrawNeeded(Conflict):
    code = "panel.no_draw_needed"
    title = Text("专家席位已满或仍有候补专家", "The seats are filled or reserves are still waiting")


class PoolEmpty(Conflict):
    code = "panel.pool_empty"
    title = Text("没有符合条件的专家可供抽取", "No qualified expert is left to draw")


class PanelShort(Conflict):
    code = "panel.short"
    title = Text(
        "会评专家人数不足（可写明理由后开始）",
        "The panel has fewer members than planned (start with a reason)",
    )


class ScoresMissing(Conflict):
    code = "panel.scores_missing"
    title = Text("尚有会评专家未打分", "Panel scores are still missing")


class PanelNotClosed(Conflict):
    code = "panel.not_closed"
    title = Text(
        "该指南设有会评/答辩环节，须在其结束后立项",
        "The call has a panel stage: decisions wait until it closes",
    )


class ApprovalNotShortlisted(Conflict):
    code = "panel.approval_not_shortlisted"
    title = Text(
        "未进入会评名单的申报书不能批准立项",
        "An application that was not on the panel's shortlist cannot be approved",
    )


class NotSeated(Forbidden):
    code = "panel.not_seated"
    title = Text("您不是该会评的在席专家", "You do not hold a seat on this panel")


class PanelConflicted(Forbidden):
    code = "panel.conflicted"
    title = Text("您与该申报书存在利益冲突，须回避", "You have a conflict with this application")
