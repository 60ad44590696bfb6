"""What notify tells: categories a person chooses channels for, and the templates of each.

A mandatory category's mail cannot be switched off (a credit record's notice, a decision, the
security of the account). A formal template is a notice whose first delivery is evidence
(`notice.delivered`) and which the person acknowledges.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Text


@dataclass(frozen=True)
class Category:
    name: str
    mandatory: bool
    title: Text


@dataclass(frozen=True)
class Template:
    name: str
    category: str
    formal: bool = False
    # Direct messages: never in the inbox, parameters erased once delivered.
    sensitive: bool = False


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("account", True, Text("账户与安全", "Account and security")),
        Category("decision", True, Text("立项决定与项目终止", "Decisions and terminations")),
        Category("credit_notice", True, Text("信用记录告知", "Credit record notices")),
        Category("application", False, Text("申报进展", "Application progress")),
        Category("review", False, Text("评审邀请与任务", "Review invitations and tasks")),
        Category("task_book", False, Text("任务书", "Task books")),
        Category("credit", False, Text("信用评级与异议", "Credit ratings and objections")),
        Category("payment", False, Text("拨付与支付", "Payments")),
        Category("voucher", False, Text("创新券", "Innovation vouchers")),
        Category("reminder", False, Text("到期提醒", "Reminders")),
    )
}

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("account_created", "account"),
        Template("password_changed", "account"),
        Template("email_changed", "account"),
        Template("password_reset", "account", sensitive=True),
        Template("email_verification", "account", sensitive=True),
        Template("project_approved", "decision", formal=True),
        Template("application_decided", "decision", formal=True),
        Template("project_terminated", "decision", formal=True),
        Template("application_submitted", "application"),
        Template("endorsement_requested", "application"),
        Template("application_returned", "application"),
        Template("formal_check_done", "application"),
        Template("public_notice_started", "application"),
        Template("objection_decided", "application"),
        Template("review_assigned", "review"),
        Template("review_unassigned", "review"),
        Template("review_due_soon", "review"),
        Template("review_overdue", "review"),
        Template("expert_admitted", "review"),
        Template("expert_application_declined", "review"),
        Template("task_book_ready", "task_book"),
        Template("credit_record_notified", "credit_notice", formal=True),
        Template("credit_objection_decided", "credit_notice", formal=True),
        Template("credit_appeal_decided", "credit_notice", formal=True),
        Template("credit_rating_changed", "credit"),
        Template("payment_order_awaiting_approval", "payment"),
        Template("payment_order_approved", "payment"),
        Template("voucher_issued", "voucher"),
        Template("voucher_order_placed", "voucher"),
        Template("voucher_redemption_approved", "voucher"),
        Template("call_closing", "reminder"),
        Template("report_due_soon", "reminder"),
        Template("report_overdue", "reminder"),
    )
}


def template(name: str) -> Template:
    return TEMPLATES[name]


def is_mandatory(category: str) -> bool:
    return CATEGORIES[category].mandatory
