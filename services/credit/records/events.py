"""The events that tell a record's subject of its notice and of the decisions on what they
said (their contracts: `shared/contracts/credit.py`), published with the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import CreditRecord, events
from services.credit.records.repository import RecordRepository
from services.credit.subjects.service import SubjectService
from shared.contracts.credit import (
    CreditAppealDecidedV1,
    CreditObjectionDecidedV1,
    CreditRecordNotifiedV1,
)
from shared.events.outbox import publish


class RecordEvents:
    def __init__(
        self, session: AsyncSession, subjects: SubjectService, objection_days: int
    ) -> None:
        self.session = session
        self.repository = RecordRepository(session)
        self.subjects = subjects
        self.objection_days = objection_days

    async def notified(self, record: CreditRecord, now: datetime) -> UUID:
        """Publishes the notice; its event id is what notify names as the source of the
        notification it delivers."""
        about = await self._about(record)
        return await publish(
            self.session,
            events,
            CreditRecordNotifiedV1.model_validate(
                {
                    **about,
                    "facts": record.facts,
                    "legal_basis": record.legal_basis,
                    "score_effect": record.score_effect,
                    "restrictions": record.restrictions,
                    "restriction_until": record.restriction_until,
                    "restriction_permanent": record.restriction_permanent,
                    "effective_from": record.effective_from,
                    "valid_until": record.valid_until,
                    "objection_window_working_days": self.objection_days,
                    "notified_at": now,
                }
            ),
        )

    async def objection_decided(
        self, record: CreditRecord, outcome: str, reason: str, now: datetime
    ) -> None:
        about = await self._about(record)
        await publish(
            self.session,
            events,
            CreditObjectionDecidedV1.model_validate(
                {
                    **about,
                    "outcome": outcome,
                    "reason": reason,
                    # Upheld: the record is withdrawn, there is nothing to appeal.
                    "appeal_deadline": record.appeal_deadline if outcome != "upheld" else None,
                    "decided_at": now,
                }
            ),
        )

    async def appeal_decided(
        self, record: CreditRecord, outcome: str, reason: str, now: datetime
    ) -> None:
        about = await self._about(record)
        await publish(
            self.session,
            events,
            CreditAppealDecidedV1.model_validate(
                {**about, "outcome": outcome, "reason": reason, "decided_at": now}
            ),
        )

    async def _about(self, record: CreditRecord) -> dict[str, Any]:
        subject = await self.subjects.get(record.subject_id)
        rule = await self.repository.rule_of(record)
        assert rule is not None  # a foreign key
        return {
            "record_id": record.id,
            "subject_id": subject.id,
            "subject_kind": subject.kind,
            "subject_name": subject.name,
            "gateway_user_id": subject.gateway_user_id,
            "gateway_org_id": subject.gateway_org_id,
            "rule_code": record.rule_code,
            "rule_version": record.rule_version,
            "rule_description_zh": rule.description_zh,
            "rule_description_en": rule.description_en,
            "tier": record.tier,
            "handling_unit": record.handling_unit,
        }
