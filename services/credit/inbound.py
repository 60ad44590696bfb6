"""Credit records proposed by events of other services (each event id at most once per subject).

They arrive as `proposed`: a person still notifies the subject, who may object, before anything
counts. The payloads are the contracts the projects and funds services publish.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.config import CreditSettings
from services.credit.records.schemas import RecordCreate
from services.credit.records.service import Actor, RecordService, record_service_for
from services.credit.subjects.schemas import SubjectRef
from shared.clock import in_shanghai
from shared.events.consumer import Handler
from shared.events.outbox import Event


class Party(BaseModel):
    name: str
    gateway_user_id: str | None = None
    gateway_org_id: str | None = None
    credit_code: str | None = None


class ProjectTerminated(BaseModel):
    """`project.terminated`: published by projects when a project ends early."""

    project_number: str
    # Events published before they named their program are for credit officers to handle.
    program_id: str | None = None
    at_fault: bool
    rule_code: str = "TERMINATED_AT_FAULT"
    reason: str
    managing_agency: str
    pi: Party
    organization: Party


class VoucherFraudConfirmed(BaseModel):
    """`voucher.fraud_confirmed`: published by funds when a redemption is found fraudulent."""

    voucher_number: str
    facts: str
    managing_agency: str
    enterprise: Party
    provider: Party


class ReviewLate(BaseModel):
    """`review.late`: published by projects when an expert submits a review after the round's
    deadline, or (`submitted_at` null) had not submitted an accepted one when it closed."""

    expert_id: str
    expert_name: str
    round_id: str
    call_id: str
    program_id: str | None = None
    application_id: str
    deadline: datetime
    submitted_at: datetime | None
    managing_agency: str


def _unit(party: Party) -> SubjectRef:
    return SubjectRef.model_validate(
        {
            "kind": "organization",
            "name": party.name,
            "credit_code": party.credit_code,
            "gateway_org_id": party.gateway_org_id,
        }
    )


def credit_handlers(settings: CreditSettings) -> dict[str, Handler]:
    def service(session: AsyncSession) -> RecordService:
        return record_service_for(session, settings)

    async def propose(session: AsyncSession, event: Event, data: dict[str, Any]) -> None:
        await service(session).create(
            RecordCreate.model_validate(data),
            Actor(f"event:{event.event_type}"),
            source=f"event:{event.event_type}",
            source_event_id=event.event_id,
        )

    def effective(event: Event) -> date:
        return in_shanghai(event.occurred_at).date()

    async def project_terminated(session: AsyncSession, event: Event) -> None:
        payload = ProjectTerminated.model_validate(event.payload)
        if not payload.at_fault:
            return  # ended for objective reasons: nothing to record
        await propose(
            session,
            event,
            {
                "subject": {
                    "kind": "person",
                    "name": payload.pi.name,
                    "gateway_user_id": payload.pi.gateway_user_id,
                },
                "program_id": payload.program_id,
                "capacity": "researcher",
                "unit": _unit(payload.organization).model_dump(),
                "rule_code": payload.rule_code,
                "facts": f"项目 {payload.project_number} 被终止：{payload.reason}",
                "handling_unit": payload.managing_agency,
                "effective_from": effective(event),
            },
        )

    async def voucher_fraud(session: AsyncSession, event: Event) -> None:
        payload = VoucherFraudConfirmed.model_validate(event.payload)
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

    async def review_late(session: AsyncSession, event: Event) -> None:
        payload = ReviewLate.model_validate(event.payload)
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
                    "gateway_user_id": payload.expert_id,
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

    return {
        "project.terminated": project_terminated,
        "voucher.fraud_confirmed": voucher_fraud,
        "review.late": review_late,
    }
