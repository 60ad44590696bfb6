"""Credit records proposed by events of other services (each event id at most once per subject).

They arrive as `proposed`: a person still notifies the subject, who may object, before anything
counts. The payloads are contracts (`shared/contracts/`) the projects and funds services publish.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.config import CreditSettings
from services.credit.exceptions import InvalidTransition, RecordNotFound
from services.credit.records.schemas import RecordCreate
from services.credit.records.service import Actor, RecordService, record_service_for
from services.credit.subjects.schemas import SubjectRef
from shared.clock import in_shanghai
from shared.contracts.funds import VoucherFraudConfirmedV1
from shared.contracts.notices import NoticeDeliveredV1
from shared.contracts.programs import ReviewLateV1
from shared.contracts.projects import CreditOrganization, CreditPerson, ProjectTerminatedV1
from shared.contracts.reports import AcceptanceConcludedV1, ReportFinalOverdueV1
from shared.events.handlers import CannotApply, Received, Subscription, subscriptions

AT_FAULT_RULE = "TERMINATED_AT_FAULT"
# The grade of an acceptance -> the rule of the record it proposes (others propose none).
ACCEPTANCE_RULES = {"excellent": "EXCELLENT_ACCEPTANCE", "failed": "FAILED_ACCEPTANCE"}


def _unit(party: CreditOrganization) -> SubjectRef:
    return SubjectRef.model_validate(
        {
            "kind": "organization",
            "name": party.name,
            "credit_code": party.credit_code,
            "gateway_org_id": str(party.gateway_org_id),
        }
    )


def credit_handlers(settings: CreditSettings) -> dict[str, Subscription[Any]]:
    def service(session: AsyncSession) -> RecordService:
        return record_service_for(session, settings)

    async def propose(session: AsyncSession, event: Received[Any], data: dict[str, Any]) -> None:
        await service(session).create(
            RecordCreate.model_validate(data),
            Actor(f"event:{event.event_type}"),
            source=f"event:{event.event_type}",
            source_event_id=event.event_id,
        )

    def effective(event: Received[Any]) -> date:
        return in_shanghai(event.occurred_at).date()

    async def project_terminated(
        session: AsyncSession, event: Received[ProjectTerminatedV1]
    ) -> None:
        payload = event.payload
        if not payload.at_fault:
            return  # ended for objective reasons: nothing to record
        await propose(
            session,
            event,
            {
                "subject": {
                    "kind": "person",
                    "name": payload.pi.name,
                    "gateway_user_id": str(payload.pi.gateway_user_id),
                },
                "program_id": payload.program_id,
                "capacity": "researcher",
                "unit": _unit(payload.organization).model_dump(),
                "rule_code": payload.rule_code or AT_FAULT_RULE,
                "facts": f"项目 {payload.project_number} 被终止：{payload.reason}",
                "handling_unit": payload.managing_agency,
                "effective_from": effective(event),
            },
        )

    async def voucher_fraud(
        session: AsyncSession, event: Received[VoucherFraudConfirmedV1]
    ) -> None:
        payload = event.payload
        for party in (payload.enterprise, payload.provider):
            await propose(
                session,
                event,
                {
                    "subject": _unit(party).model_dump(),
                    "capacity": "organization",
                    "rule_code": "VOUCHER_FRAUD",
                    "facts": f"创新券 {payload.voucher_number}：{payload.facts}",
                    "handling_unit": payload.managing_agency,
                    "effective_from": effective(event),
                },
            )

    async def review_late(session: AsyncSession, event: Received[ReviewLateV1]) -> None:
        payload = event.payload
        deadline = f"{in_shanghai(payload.deadline):%Y-%m-%d %H:%M}"
        if payload.submitted_at is None:
            facts = f"评审截止（{deadline}）后评审轮次结束时仍未提交评审意见"
            late_on = payload.deadline
        else:
            facts = (
                f"评审截止 {deadline}，实际提交 {in_shanghai(payload.submitted_at):%Y-%m-%d %H:%M}"
            )
            late_on = payload.submitted_at
        await propose(
            session,
            event,
            {
                "subject": {
                    "kind": "person",
                    "name": payload.expert_name or "评审专家",
                    "gateway_user_id": str(payload.expert_id),
                },
                "program_id": payload.program_id,
                "capacity": "expert",
                "rule_code": "EXPERT_LATE_REVIEW",
                "facts": (
                    f"评审专家逾期完成评审（评审轮次 {payload.round_id}，"
                    f"申报书 {payload.application_id}）：{facts}"
                ),
                "handling_unit": payload.managing_agency,
                "effective_from": in_shanghai(late_on).date(),
            },
        )

    def researcher(pi: CreditPerson, organization: CreditOrganization) -> dict[str, Any]:
        return {
            "subject": {
                "kind": "person",
                "name": pi.name,
                "gateway_user_id": str(pi.gateway_user_id),
            },
            "capacity": "researcher",
            "unit": _unit(organization).model_dump(),
        }

    async def final_report_overdue(
        session: AsyncSession, event: Received[ReportFinalOverdueV1]
    ) -> None:
        payload = event.payload
        await propose(
            session,
            event,
            {
                **researcher(payload.pi_credit, payload.organization),
                "program_id": payload.program_id,
                "rule_code": "MISSING_REPORT",
                "facts": (
                    f"项目 {payload.project_number} 的结题报告应于 {payload.due_on.isoformat()} "
                    f"前提交，逾期 {payload.days_overdue} 天仍未提交"
                ),
                "handling_unit": payload.managing_agency,
                "effective_from": effective(event),
            },
        )

    async def acceptance_concluded(
        session: AsyncSession, event: Received[AcceptanceConcludedV1]
    ) -> None:
        payload = event.payload
        rule = ACCEPTANCE_RULES.get(payload.grade)
        if rule is None:
            return  # passed or conditional: nothing to record
        outcome = "优秀" if payload.grade == "excellent" else "不通过"
        comment = payload.comment[:1900]  # the facts hold at most 2,000 characters
        await propose(
            session,
            event,
            {
                **researcher(payload.pi, payload.organization),
                "program_id": payload.program_id,
                "rule_code": rule,
                "facts": f"项目 {payload.project_number} 验收结论为{outcome}：{comment}",
                "handling_unit": payload.managing_agency,
                "effective_from": effective(event),
            },
        )

    return subscriptions(
        Subscription(ProjectTerminatedV1, project_terminated),
        Subscription(ReportFinalOverdueV1, final_report_overdue),
        Subscription(AcceptanceConcludedV1, acceptance_concluded),
        Subscription(VoucherFraudConfirmedV1, voucher_fraud),
        Subscription(ReviewLateV1, review_late),
    )


def delivery_handlers(settings: CreditSettings) -> dict[str, Subscription[Any]]:
    """The notify service's proof that a record's notice reached its subject: the objection
    window runs from then. Notices about anything else are not credit's to act on."""

    async def notice_delivered(session: AsyncSession, event: Received[NoticeDeliveredV1]) -> None:
        payload = event.payload
        if payload.about_type != "credit_record":
            return
        try:
            record_id = UUID(payload.about_id)
        except ValueError as exc:
            raise CannotApply(f"not a record id: {payload.about_id!r}") from exc
        try:
            await record_service_for(session, settings).delivered(
                record_id,
                at=payload.delivered_at,
                channel=payload.channel,
                evidence={
                    "notification_id": str(payload.notification_id),
                    "user_id": str(payload.user_id),
                    "notice_event_id": str(payload.source_event_id),
                },
                now=event.occurred_at,
            )
        except RecordNotFound as exc:
            raise CannotApply(f"no credit record {record_id}") from exc
        except InvalidTransition as exc:
            raise CannotApply(f"credit record {record_id} was never notified") from exc

    return subscriptions(Subscription(NoticeDeliveredV1, notice_delivered))
