"""Who is told what, from the events of the gateway, projects, credit and funds.

Each event becomes one notification per recipient, keyed by the event, the template and the
person: an event applied twice tells nobody twice. A decision to approve is told once although
projects publishes it twice (`application.decided` and `project.approved`): both use the key of
the decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.models import Channel, directory
from services.notify.notifications.recipients import Recipients, distinct
from services.notify.notifications.repository import NotificationRepository
from services.notify.notifications.service import About, Notifier
from services.notify.reminders.service import Reminders
from shared.auth.roles import Role
from shared.clock import in_shanghai
from shared.contracts.accounts import AccountEmailChangedV1, AccountPasswordChangedV1
from shared.contracts.applications import (
    ApplicationDecidedV1,
    ApplicationDraftCreatedV1,
    ApplicationEndorsementRequestedV1,
    ApplicationFormalCheckDoneV1,
    ApplicationReturnedV1,
    ApplicationSubmittedV1,
)
from shared.contracts.base import EventContract
from shared.contracts.credit import (
    CreditAppealDecidedV1,
    CreditObjectionDecidedV1,
    CreditRatingChangedV1,
    CreditRecordNotifiedV1,
)
from shared.contracts.directory import UserContactChangedV1, UserCreatedV1
from shared.contracts.experts import ExpertAdmittedV1, ExpertApplicationDeclinedV1
from shared.contracts.funds import (
    PaymentOrderApprovedV1,
    PaymentOrderAwaitingApprovalV1,
    VoucherIssuedV1,
    VoucherOrderPlacedV1,
    VoucherRedemptionApprovedV1,
)
from shared.contracts.projects import (
    ObjectionDecidedV1,
    ObjectionDecidedV2,
    ProjectApprovedV1,
    ProjectPublicNoticeStartedV1,
    ProjectTerminatedV1,
    TaskBookReadyToSignV1,
)
from shared.contracts.reports import ReportDueSoonV1, ReportOverdueV1
from shared.contracts.review import (
    ReviewAssignedV1,
    ReviewDeclinedV1,
    ReviewSubmittedV1,
    ReviewUnassignedV1,
)
from shared.directory import directory_handlers
from shared.events.handlers import Handlers, Received, Subscription, subscriptions
from shared.money import fen_to_yuan

Now = Callable[[], datetime]


def _moment(at: datetime) -> str:
    """A moment as people read it: Beijing time."""
    return in_shanghai(at).strftime("%Y-%m-%d %H:%M")


def _user_id(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


class _Telling:
    """One event's notifications, in the consumer's transaction."""

    def __init__(self, session: AsyncSession, event: Received[Any], now: Now) -> None:
        self.event = event
        self.now = now
        self.notifier = Notifier(session)
        self.recipients = Recipients(session)
        self.reminders = Reminders(session)

    async def tell(
        self,
        users: Iterable[UUID],
        template_name: str,
        params: Mapping[str, Any],
        about: About | None = None,
        key: str | None = None,
    ) -> None:
        for user_id in distinct(users):
            await self.notifier.notify(
                user_id=user_id,
                template_name=template_name,
                params=params,
                dedupe_key=f"{key or f'{self.event.event_id}:{template_name}'}:{user_id}",
                now=self.now(),
                about=about,
                source_event_id=self.event.event_id,
            )

    async def remind_call_closing(
        self, e: ApplicationDraftCreatedV1 | ApplicationReturnedV1 | ApplicationFormalCheckDoneV1
    ) -> None:
        await self.reminders.call_closing(
            user_id=e.applicant_id,
            application_id=e.application_id,
            closes_at=e.call_closes_at,
            params=_application_params(e),
            source_event_id=self.event.event_id,
            now=self.now(),
        )


Apply = Callable[[_Telling, Any], Any]


def _on(contract: type[EventContract], apply: Apply, now: Now) -> Subscription[Any]:
    async def handle(session: AsyncSession, event: Received[Any]) -> None:
        await apply(_Telling(session, event, now), event.payload)

    return Subscription(contract, handle)


# --- the gateway ------------------------------------------------------------------------------


async def _password_changed(t: _Telling, e: AccountPasswordChangedV1) -> None:
    # A security notice (category account, mandatory): the person learns of a change they
    # did not make even if they switched every optional mail off.
    await t.tell(
        [e.user_id],
        "password_changed",
        {"changed_by": e.changed_by, "changed_at": _moment(e.changed_at)},
        About("user", str(e.user_id)),
    )


async def _email_changed(t: _Telling, e: AccountEmailChangedV1) -> None:
    # Told at the previous address (mandatory, like the password's notice): the directory
    # already holds the new one, and whoever changed it may not be the owner.
    await t.notifier.notify(
        user_id=e.user_id,
        template_name="email_changed",
        params={"changed_at": _moment(e.changed_at)},
        dedupe_key=f"{t.event.event_id}:email_changed:{e.user_id}",
        now=t.now(),
        about=About("user", str(e.user_id)),
        source_event_id=t.event.event_id,
        to_address=e.previous_email,
    )


def gateway_handlers(now: Now) -> Handlers:
    """The directory's handlers, and an account's first notification when it is created."""
    keeping = directory_handlers(directory)
    keep_user = keeping[UserCreatedV1.event_type]

    async def user_created(session: AsyncSession, event: Received[UserCreatedV1]) -> None:
        await keep_user.apply(session, event)
        user = event.payload
        await _Telling(session, event, now).tell(
            [user.id], "account_created", {"username": user.username}
        )

    async def contact_changed(session: AsyncSession, event: Received[UserContactChangedV1]) -> None:
        contact = event.payload
        repository = NotificationRepository(session)
        await repository.set_address(
            contact.id, Channel.mail, contact.email, contact.email_verified, event.occurred_at
        )
        await repository.set_address(
            contact.id, Channel.sms, contact.mobile, False, event.occurred_at
        )
        await Notifier(session).address_arrived(contact.id, now())

    return {
        **keeping,
        **subscriptions(
            Subscription(UserCreatedV1, user_created),
            Subscription(UserContactChangedV1, contact_changed),
            _on(AccountPasswordChangedV1, _password_changed, now),
            _on(AccountEmailChangedV1, _email_changed, now),
        ),
    }


# --- projects ---------------------------------------------------------------------------------


def _decision_key(application_id: UUID) -> str:
    return f"decision:{application_id}:approved"


async def _project_approved(t: _Telling, e: ProjectApprovedV1) -> None:
    await t.tell(
        [e.pi_id],
        "project_approved",
        {
            "project_number": e.project_number,
            "program_code": e.program_code,
            "year": e.year,
            "budget_yuan": fen_to_yuan(e.approved_budget_fen),
        },
        About("project", str(e.project_id)),
        key=_decision_key(e.application_id),
    )


async def _project_terminated(t: _Telling, e: ProjectTerminatedV1) -> None:
    admins = await t.recipients.org_admins(e.organization.gateway_org_id)
    await t.tell(
        [e.pi.gateway_user_id, *admins],
        "project_terminated",
        {
            "project_number": e.project_number,
            "managing_agency": e.managing_agency,
            "reason": e.reason,
        },
        About("project", str(e.project_id)),
    )


async def _public_notice(t: _Telling, e: ProjectPublicNoticeStartedV1) -> None:
    await t.tell(
        [e.pi.id],
        "public_notice_started",
        {
            "project_number": e.project_number,
            "title": e.title,
            "ends_at": _moment(e.notice_ends_at),
        },
        About("project", str(e.project_id)),
    )


async def _objection_decided(t: _Telling, e: ObjectionDecidedV1 | ObjectionDecidedV2) -> None:
    # An objector without an account (V2's null objector_id) is reached by the agency through
    # the contact they left with projects, which never travels in an event.
    objector = [e.objector_id] if e.objector_id is not None else []
    await t.tell(
        [*objector, e.pi.id],
        "objection_decided",
        {
            "project_number": e.project_number,
            "title": e.title,
            "outcome": e.outcome,
            "resolution": e.resolution,
            "project_cancelled": e.project_cancelled,
        },
        About("objection", str(e.objection_id)),
    )


async def _task_book(t: _Telling, e: TaskBookReadyToSignV1) -> None:
    admins = await t.recipients.org_admins(e.org.id)
    await t.tell(
        [*admins, e.pi.id],
        "task_book_ready",
        {
            "project_number": e.project_number,
            "title": e.title,
            "signable_from": _moment(e.signable_from),
        },
        About("project", str(e.project_id)),
    )


def _application_params(e: Any) -> dict[str, Any]:
    return {
        "title": e.title,
        "call_title": e.call_title,
        "call_closes_at": _moment(e.call_closes_at),
    }


async def _draft_created(t: _Telling, e: ApplicationDraftCreatedV1) -> None:
    await t.remind_call_closing(e)


async def _submitted(t: _Telling, e: ApplicationSubmittedV1) -> None:
    await t.reminders.submitted(e.applicant_id, e.application_id, t.now())
    await t.tell(
        [e.applicant_id],
        "application_submitted",
        _application_params(e),
        About("application", str(e.application_id)),
    )


async def _endorsement(t: _Telling, e: ApplicationEndorsementRequestedV1) -> None:
    await t.tell(
        await t.recipients.org_admins(e.org_id),
        "endorsement_requested",
        _application_params(e),
        About("application", str(e.application_id)),
    )


async def _returned(t: _Telling, e: ApplicationReturnedV1) -> None:
    await t.remind_call_closing(e)
    await t.tell(
        [e.applicant_id],
        "application_returned",
        {**_application_params(e), "reason": e.reason},
        About("application", str(e.application_id)),
    )


async def _formal_check(t: _Telling, e: ApplicationFormalCheckDoneV1) -> None:
    if not e.passed:  # back with the applicant, who may submit again before the call closes
        await t.remind_call_closing(e)
    await t.tell(
        [e.applicant_id],
        "formal_check_done",
        {
            **_application_params(e),
            "passed": e.passed,
            "reason": e.reason or "",
            "failed_rules": "、".join(e.failed_rules),
        },
        About("application", str(e.application_id)),
    )


async def _decided(t: _Telling, e: ApplicationDecidedV1) -> None:
    await t.tell(
        [e.applicant_id],
        "application_decided",
        {
            **_application_params(e),
            "outcome": e.outcome,
            "reason": e.reason or "",
            "project_number": e.project_number or "",
            "budget_yuan": fen_to_yuan(e.approved_budget_fen or 0),
        },
        About("application", str(e.application_id)),
        key=_decision_key(e.application_id) if e.outcome == "approved" else None,
    )


def _review_params(e: ReviewAssignedV1 | ReviewUnassignedV1 | ReviewSubmittedV1) -> dict[str, Any]:
    return {
        "application_title": e.application_title,
        "call_title": e.call_title,
        "round_kind": e.round_kind,
        "due_at": _moment(e.due_at),
    }


async def _assigned(t: _Telling, e: ReviewAssignedV1) -> None:
    await t.reminders.review_assigned(
        expert_id=e.expert_id,
        assignment_id=e.assignment_id,
        due_at=e.due_at,
        params=_review_params(e),
        source_event_id=t.event.event_id,
        now=t.now(),
    )
    await t.tell(
        [e.expert_id],
        "review_assigned",
        _review_params(e),
        About("assignment", str(e.assignment_id)),
    )


async def _unassigned(t: _Telling, e: ReviewUnassignedV1) -> None:
    await t.reminders.review_done(e.expert_id, e.assignment_id, t.now())
    await t.tell(
        [e.expert_id],
        "review_unassigned",
        {**_review_params(e), "reason": e.reason},
        About("assignment", str(e.assignment_id)),
    )


async def _review_done(t: _Telling, e: ReviewSubmittedV1 | ReviewDeclinedV1) -> None:
    await t.reminders.review_done(e.expert_id, e.assignment_id, t.now())


async def _admitted(t: _Telling, e: ExpertAdmittedV1) -> None:
    await t.tell(
        [e.user_id],
        "expert_admitted",
        {"reason": e.reason},
        About("expert_application", str(e.application_id)),
    )


async def _declined(t: _Telling, e: ExpertApplicationDeclinedV1) -> None:
    await t.tell(
        [e.user_id],
        "expert_application_declined",
        {"reason": e.reason},
        About("expert_application", str(e.application_id)),
    )


REPORT_KIND_NAMES = {
    "annual": "年度报告",
    "midterm": "中期报告",
    "final": "结题报告",
    "financial": "财务决算报告",
    "progress": "进展报告",
}


def _report_params(e: ReportDueSoonV1 | ReportOverdueV1) -> dict[str, Any]:
    return {
        "project_number": e.project_number,
        "title": e.title,
        "kind": e.kind,
        "kind_name": REPORT_KIND_NAMES[e.kind],
        "period": e.period or "",
        "due_on": e.due_on.isoformat(),
    }


async def _report_due_soon(t: _Telling, e: ReportDueSoonV1) -> None:
    # Projects publishes one event per reminder it claims: told once per event and person.
    await t.tell(
        [e.pi.id],
        "report_due_soon",
        {**_report_params(e), "days_left": e.days_left},
        About("project", str(e.project_id)),
    )


async def _report_overdue(t: _Telling, e: ReportOverdueV1) -> None:
    await t.tell(
        [e.pi.id], "report_overdue", _report_params(e), About("project", str(e.project_id))
    )


def projects_handlers(now: Now) -> Handlers:
    return subscriptions(
        _on(ExpertAdmittedV1, _admitted, now),
        _on(ExpertApplicationDeclinedV1, _declined, now),
        _on(ProjectApprovedV1, _project_approved, now),
        _on(ProjectTerminatedV1, _project_terminated, now),
        _on(ProjectPublicNoticeStartedV1, _public_notice, now),
        _on(ObjectionDecidedV1, _objection_decided, now),
        _on(ObjectionDecidedV2, _objection_decided, now),
        _on(TaskBookReadyToSignV1, _task_book, now),
        _on(ReportDueSoonV1, _report_due_soon, now),
        _on(ReportOverdueV1, _report_overdue, now),
        _on(ApplicationDraftCreatedV1, _draft_created, now),
        _on(ApplicationSubmittedV1, _submitted, now),
        _on(ApplicationEndorsementRequestedV1, _endorsement, now),
        _on(ApplicationReturnedV1, _returned, now),
        _on(ApplicationFormalCheckDoneV1, _formal_check, now),
        _on(ApplicationDecidedV1, _decided, now),
        _on(ReviewAssignedV1, _assigned, now),
        _on(ReviewUnassignedV1, _unassigned, now),
        _on(ReviewSubmittedV1, _review_done, now),
        _on(ReviewDeclinedV1, _review_done, now),
    )


# --- credit -----------------------------------------------------------------------------------


async def _rating_changed(t: _Telling, e: CreditRatingChangedV1) -> None:
    await t.tell(
        await t.recipients.subject(e.gateway_user_id, e.gateway_org_id),
        "credit_rating_changed",
        {
            "previous_level": e.previous_level.value,
            "level": e.level.value,
            "score": e.score,
            "restrictions": "、".join(r.value for r in e.restrictions),
        },
        About("subject", str(e.subject_id)),
    )


def _record_params(
    e: CreditRecordNotifiedV1 | CreditObjectionDecidedV1 | CreditAppealDecidedV1,
) -> dict[str, Any]:
    return {
        "subject_name": e.subject_name,
        "rule_code": e.rule_code,
        "rule_zh": e.rule_description_zh,
        "rule_en": e.rule_description_en,
        "handling_unit": e.handling_unit,
    }


async def _record_notified(t: _Telling, e: CreditRecordNotifiedV1) -> None:
    await t.tell(
        await t.recipients.subject(e.gateway_user_id, e.gateway_org_id),
        "credit_record_notified",
        {
            **_record_params(e),
            "facts": e.facts,
            "legal_basis": e.legal_basis,
            "score_effect": e.score_effect,
            "restrictions": "、".join(r.value for r in e.restrictions),
            "valid_until": e.valid_until.isoformat(),
            "window_days": e.objection_window_working_days,
        },
        About("credit_record", str(e.record_id)),
    )


async def _objection(t: _Telling, e: CreditObjectionDecidedV1) -> None:
    await t.tell(
        await t.recipients.subject(e.gateway_user_id, e.gateway_org_id),
        "credit_objection_decided",
        {
            **_record_params(e),
            "outcome": e.outcome,
            "reason": e.reason,
            "appeal_deadline": _moment(e.appeal_deadline) if e.appeal_deadline else "",
        },
        # Not "credit_record": credit takes a delivery about the record as its notice's.
        About("credit_objection", str(e.record_id)),
    )


async def _appeal(t: _Telling, e: CreditAppealDecidedV1) -> None:
    await t.tell(
        await t.recipients.subject(e.gateway_user_id, e.gateway_org_id),
        "credit_appeal_decided",
        {**_record_params(e), "outcome": e.outcome, "reason": e.reason},
        About("credit_appeal", str(e.record_id)),
    )


def credit_handlers(now: Now) -> Handlers:
    return subscriptions(
        _on(CreditRatingChangedV1, _rating_changed, now),
        _on(CreditRecordNotifiedV1, _record_notified, now),
        _on(CreditObjectionDecidedV1, _objection, now),
        _on(CreditAppealDecidedV1, _appeal, now),
    )


# --- funds ------------------------------------------------------------------------------------


async def _order_approved(t: _Telling, e: PaymentOrderApprovedV1) -> None:
    # The contract names no organization: the one the order was awaiting approval for (its
    # earlier event, applied first) is told, and the maker who asked for the payment.
    maker = _user_id(e.maker_id)
    await t.tell(
        [*await t.recipients.paid(e.order_id), *([maker] if maker else [])],
        "payment_order_approved",
        {"amount_yuan": fen_to_yuan(e.amount_fen), "code": e.code},
        About("payment_order", str(e.order_id)),
    )


async def _order_awaiting(t: _Telling, e: PaymentOrderAwaitingApprovalV1) -> None:
    if e.org_id is not None:
        await t.recipients.remember_payee(e.order_id, e.org_id)
    # Four eyes: every finance officer but the maker may approve it.
    officers = await t.recipients.holding(Role.finance_officer)
    await t.tell(
        [officer for officer in officers if str(officer) != e.maker_id],
        "payment_order_awaiting_approval",
        {
            "amount_yuan": fen_to_yuan(e.amount_fen),
            "code": e.code,
            "purpose": e.purpose,
            "payee": e.payee_account_name,
        },
        About("payment_order", str(e.order_id)),
    )


async def _voucher_issued(t: _Telling, e: VoucherIssuedV1) -> None:
    await t.tell(
        await t.recipients.of_organization(
            e.enterprise.gateway_org_id, Role.enterprise, Role.org_admin
        ),
        "voucher_issued",
        {
            "voucher_number": e.voucher_number,
            "program_name": e.program_name,
            "amount_yuan": fen_to_yuan(e.amount_fen),
            "valid_until": e.valid_until.isoformat(),
        },
        About("voucher", str(e.voucher_id)),
    )


def _order_params(e: VoucherOrderPlacedV1 | VoucherRedemptionApprovedV1) -> dict[str, Any]:
    return {
        "voucher_number": e.voucher_number,
        "service_name": e.service_name,
        "enterprise": e.enterprise.name,
        "provider": e.provider.name,
        "voucher_yuan": fen_to_yuan(e.voucher_amount_fen),
    }


async def _voucher_ordered(t: _Telling, e: VoucherOrderPlacedV1) -> None:
    await t.tell(
        await t.recipients.of_organization(
            e.provider.gateway_org_id, Role.provider, Role.org_admin
        ),
        "voucher_order_placed",
        _order_params(e),
        About("voucher_order", str(e.order_id)),
    )


async def _redemption_approved(t: _Telling, e: VoucherRedemptionApprovedV1) -> None:
    provider = await t.recipients.of_organization(
        e.provider.gateway_org_id, Role.provider, Role.org_admin
    )
    enterprise = await t.recipients.of_organization(
        e.enterprise.gateway_org_id, Role.enterprise, Role.org_admin
    )
    await t.tell(
        [*provider, *enterprise],
        "voucher_redemption_approved",
        _order_params(e),
        About("voucher_order", str(e.order_id)),
    )


def funds_handlers(now: Now) -> Handlers:
    return subscriptions(
        _on(PaymentOrderApprovedV1, _order_approved, now),
        _on(PaymentOrderAwaitingApprovalV1, _order_awaiting, now),
        _on(VoucherIssuedV1, _voucher_issued, now),
        _on(VoucherOrderPlacedV1, _voucher_ordered, now),
        _on(VoucherRedemptionApprovedV1, _redemption_approved, now),
    )
