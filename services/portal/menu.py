"""The menu: the pages each person's roles open. A page the menu leaves out is still refused by
the service behind it; the menu only spares people links that would lead them to a 403."""

from __future__ import annotations

from dataclasses import dataclass

from services.portal.people import Visitor
from shared.auth.roles import Role


@dataclass(frozen=True)
class Entry:
    path: str
    zh: str
    en: str
    roles: frozenset[str] = frozenset()  # empty: everyone logged in


def _for(*roles: Role) -> frozenset[str]:
    return frozenset(str(role) for role in roles)


ENTRIES = (
    Entry("/inbox", "消息", "Inbox"),
    Entry("/credit", "我的信用", "My credit"),
    Entry("/expert/assignments", "评审任务", "My reviews", _for(Role.expert)),
    Entry("/calls", "申报指南", "Open calls", _for(Role.applicant)),
    Entry("/applications", "我的申报", "My applications", _for(Role.applicant)),
    Entry("/projects/mine", "我的项目", "My projects", _for(Role.applicant, Role.org_admin)),
    Entry("/org/endorsements", "单位推荐", "Endorsements", _for(Role.org_admin)),
    Entry("/manage/calls", "指南管理", "Calls", _for(Role.program_manager)),
    Entry("/finance/payments", "支付审批", "Payments", _for(Role.finance_officer)),
    Entry("/evaluator/engagements", "评估委托", "Engagements", _for(Role.evaluator)),
)

PUBLIC_ENTRIES = (
    Entry("/public/calls", "申报指南", "Open calls"),
    Entry("/public/projects", "立项项目", "Funded projects"),
    Entry("/public/notices", "公示", "Public notices"),
)


def menu_for(visitor: Visitor) -> list[Entry]:
    if visitor.me is None:
        return list(PUBLIC_ENTRIES)
    return [e for e in ENTRIES if not e.roles or e.roles & visitor.roles]
