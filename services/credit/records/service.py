"""Credit records and their due process.

proposed -> notified -> (objected -> decided) -> confirmed -> (appealed -> decided), repaired;
withdrawn from any state before it ends. Every move is checked against the record's state,
locked (so two concurrent confirmations cannot both win) and written down: who, when, why.
Records end their effect by themselves when their validity runs out (no state change needed:
ratings are computed from dates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.config import CreditSettings
from services.credit.exceptions import (
    InvalidTransition,
    NotRepairable,
    NotYourRecord,
    ObjectionWindowClosed,
    ObjectionWindowOpen,
    RecordNotFound,
    RepairTooEarly,
    RuleNotApplicable,
    SameReviewer,
    SubjectMismatch,
)
from services.credit.models import CreditRecord, RecordTransition, Rule
from services.credit.rating.model import RatingPolicy
from services.credit.rating.service import RatingService, policy_from
from services.credit.records.calendar import WorkCalendar, add_months
from services.credit.records.schemas import (
    AppealDecision,
    ObjectionDecision,
    RecordCreate,
    RepairRequest,
    Statement,
)
from services.credit.rules.service import RuleService
from services.credit.subjects.service import SubjectService
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.errors import Text

CAPACITIES_BY_KIND = {
    "person": {"researcher", "expert"},
    "organization": {"organization"},
    "agency": {"agency"},
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (by token subject) or a service that sent an event."""

    id: str
    principal: Principal | None = None


class SubjectKeys(Protocol):
    """What tells a caller is the subject: a `Subject`, or a rating lookup's `SubjectFacts`."""

    @property
    def gateway_user_id(self) -> UUID | None: ...

    @property
    def gateway_org_id(self) -> UUID | None: ...


def is_subject_of(principal: Principal, subject: SubjectKeys) -> bool:
    """The person themselves, or an administrator of the organization or agency."""
    if subject.gateway_user_id is not None and principal.user_id == subject.gateway_user_id:
        return True
    return (
        subject.gateway_org_id is not None
        and principal.org_id == subject.gateway_org_id
        and Role.org_admin in principal.roles
    )


class RecordService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        subjects: SubjectService,
        policy: RatingPolicy,
        objection_days: int,
        calendar: WorkCalendar | None = None,
    ) -> None:
        self.session = session
        self.subjects = subjects
        self.rules = RuleService(session)
        self.ratings = RatingService(session, policy)
        self.objection_days = objection_days
        self.calendar = calendar or WorkCalendar()

    # --- reading ---------------------------------------------------------------------------

    async def get(self, record_id: UUID) -> CreditRecord:
        record = await self.session.get(CreditRecord, record_id)
        if record is None:
            raise RecordNotFound()
        return record

    async def transitions(self, record_id: UUID) -> Sequence[RecordTransition]:
        return (
            await self.session.scalars(
                sa.select(RecordTransition)
                .where(RecordTransition.record_id == record_id)
                .order_by(RecordTransition.id)
            )
        ).all()

    async def of_subject(self, subject_id: UUID) -> Sequence[CreditRecord]:
        return (
            await self.session.scalars(
                sa.select(CreditRecord)
                .where(CreditRecord.subject_id == subject_id)
                .order_by(CreditRecord.effective_from.desc(), CreditRecord.id)
            )
        ).all()

    # --- creating --------------------------------------------------------------------------

    async def create(
        self,
        data: RecordCreate,
        actor: Actor,
        *,
        source: str = "manual",
        source_event_id: UUID | None = None,
    ) -> CreditRecord:
        if data.subject_id is not None:
            subject = await self.subjects.get(data.subject_id)
        else:
            assert data.subject is not None  # the schema asks for exactly one of the two
            subject = await self.subjects.resolve(data.subject)
        if source_event_id is not None:
            existing = await self._from_event(source_event_id, subject.id)
            if existing is not None:
                return existing  # the same event again: no second record
        unit = None
        if data.unit_id is not None:
            unit = await self.subjects.get(data.unit_id)
        elif data.unit is not None:
            unit = await self.subjects.resolve(data.unit)
        if unit is not None and unit.kind == "person":
            raise SubjectMismatch(Text("关联单位不能是个人", "The linked unit cannot be a person"))
        if data.capacity not in CAPACITIES_BY_KIND[subject.kind]:
            raise RuleNotApplicable(
                Text(
                    f"{subject.kind} 类主体不能以 {data.capacity} 身份记录",
                    f"a {subject.kind} cannot be recorded as {data.capacity}",
                )
            )
        rule = await self.rules.current(data.rule_code)
        if data.capacity not in rule.applies_to:
            raise RuleNotApplicable(
                Text(
                    f"规则 {rule.code} 适用于：{'、'.join(rule.applies_to)}",
                    f"rule {rule.code} applies to: {', '.join(rule.applies_to)}",
                )
            )
        record = CreditRecord(
            subject_id=subject.id,
            capacity=data.capacity,
            unit_id=unit.id if unit else None,
            facts=data.facts,
            evidence=[e.model_dump() for e in data.evidence],
            handling_unit=data.handling_unit,
            effective_from=data.effective_from,
            status="proposed",
            source=source,
            source_event_id=source_event_id,
            created_by=actor.id,
        )
        self._apply_rule(record, rule)
        self.session.add(record)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            # Two deliveries of one event raced; the other one made the record.
            if source_event_id is None:
                raise
            existing = await self._from_event(source_event_id, subject.id)
            assert existing is not None
            return existing
        await self._log(record, None, "proposed", actor, "record proposed", {"source": source})
        await self.session.refresh(record, ["created_at"])
        return record

    async def _from_event(self, event_id: UUID, subject_id: UUID) -> CreditRecord | None:
        return await self.session.scalar(
            sa.select(CreditRecord).where(
                CreditRecord.source_event_id == event_id, CreditRecord.subject_id == subject_id
            )
        )

    @staticmethod
    def _apply_rule(record: CreditRecord, rule: Rule) -> None:
        record.rule_code = rule.code
        record.rule_version = rule.version
        record.tier = rule.tier
        record.score_effect = rule.score_effect
        record.restrictions = list(rule.restrictions)
        record.legal_basis = rule.legal_basis
        record.valid_until = add_months(record.effective_from, rule.validity_months)
        record.restriction_permanent = rule.restriction_permanent
        record.restriction_until = (
            add_months(record.effective_from, 12 * rule.restriction_years)
            if rule.restriction_years
            else None
        )

    # --- due process -----------------------------------------------------------------------

    async def notify(
        self, record_id: UUID, actor: Actor, reason: str, now: datetime
    ) -> CreditRecord:
        record = await self._locked(record_id, "proposed")
        record.objection_deadline = self.calendar.add_working_days(now, self.objection_days)
        return await self._move(
            record,
            "notified",
            actor,
            reason,
            now,
            {"objection_deadline": record.objection_deadline.isoformat()},
        )

    async def object(
        self, record_id: UUID, principal: Principal, data: Statement, now: datetime
    ) -> CreditRecord:
        record = await self._own(record_id, principal)
        record = await self._locked(record.id, "notified")
        assert record.objection_deadline is not None
        if now > record.objection_deadline:
            closed = f"{in_shanghai(record.objection_deadline):%Y-%m-%d %H:%M}"
            raise ObjectionWindowClosed(
                Text(f"异议截止时间为 {closed}", f"objections closed at {closed} (Asia/Shanghai)")
            )
        return await self._statement(record, "objected", principal, data, now)

    async def decide_objection(
        self, record_id: UUID, actor: Actor, data: ObjectionDecision, now: datetime
    ) -> CreditRecord:
        record = await self._locked(record_id, "objected")
        details: dict[str, Any] = {"outcome": data.outcome}
        if data.outcome == "upheld":
            record.withdrawn_at = now
            return await self._move(record, "withdrawn", actor, data.reason, now, details)
        if data.outcome == "revised":
            assert data.revision is not None
            details["before"] = {
                "facts": record.facts,
                "rule": f"{record.rule_code}/v{record.rule_version}",
            }
            if data.revision.facts:
                record.facts = data.revision.facts
            if data.revision.rule_code:
                rule = await self.rules.current(data.revision.rule_code)
                if record.capacity not in rule.applies_to:
                    raise RuleNotApplicable()
                self._apply_rule(record, rule)
        return await self._confirm(record, actor, data.reason, now, details)

    async def confirm(
        self, record_id: UUID, actor: Actor, reason: str, now: datetime
    ) -> CreditRecord:
        record = await self._locked(record_id, "notified")
        assert record.objection_deadline is not None
        if now <= record.objection_deadline:
            raise ObjectionWindowOpen()
        return await self._confirm(record, actor, reason, now, {})

    async def appeal(
        self, record_id: UUID, principal: Principal, data: Statement, now: datetime
    ) -> CreditRecord:
        record = await self._own(record_id, principal)
        record = await self._locked(record.id, "confirmed")
        return await self._statement(record, "appealed", principal, data, now)

    async def decide_appeal(
        self, record_id: UUID, actor: Actor, data: AppealDecision, now: datetime
    ) -> CreditRecord:
        record = await self._locked(record_id, "appealed")
        if actor.id == record.confirmed_by:
            raise SameReviewer()
        details = {"outcome": data.outcome}
        if data.outcome == "upheld":
            record.withdrawn_at = now
            record = await self._move(record, "withdrawn", actor, data.reason, now, details)
            await self.ratings.announce_if_changed(await self.subjects.get(record.subject_id), now)
            return record
        return await self._move(record, "confirmed", actor, data.reason, now, details)

    async def repair(
        self, record_id: UUID, actor: Actor, data: RepairRequest, now: datetime
    ) -> CreditRecord:
        record = await self._locked(record_id, "confirmed")
        rule = await self.session.get(Rule, (record.rule_code, record.rule_version))
        assert rule is not None
        if not rule.repairable:
            raise NotRepairable()
        earliest = add_months(record.effective_from, rule.repair_after_months)
        if in_shanghai(now).date() < earliest:
            raise RepairTooEarly(
                Text(f"最早可于 {earliest} 申请修复", f"repair is possible from {earliest}")
            )
        record.repaired_at = now
        record = await self._move(
            record,
            "repaired",
            actor,
            data.reason,
            now,
            {"evidence": [e.model_dump() for e in data.evidence]},
        )
        await self.ratings.announce_if_changed(await self.subjects.get(record.subject_id), now)
        return record

    async def withdraw(
        self, record_id: UUID, actor: Actor, reason: str, now: datetime
    ) -> CreditRecord:
        """The handling unit takes back a record before it is confirmed."""
        record = await self._locked(record_id, "proposed", "notified")
        record.withdrawn_at = now
        return await self._move(record, "withdrawn", actor, reason, now, {})

    # --- helpers ---------------------------------------------------------------------------

    async def _confirm(
        self,
        record: CreditRecord,
        actor: Actor,
        reason: str,
        now: datetime,
        details: dict[str, Any],
    ) -> CreditRecord:
        record.confirmed_at = now
        record.confirmed_by = actor.id
        record = await self._move(record, "confirmed", actor, reason, now, details)
        await self.ratings.announce_if_changed(await self.subjects.get(record.subject_id), now)
        return record

    async def _statement(
        self,
        record: CreditRecord,
        to_status: str,
        principal: Principal,
        data: Statement,
        now: datetime,
    ) -> CreditRecord:
        """The subject speaks: an objection or an appeal, with its evidence."""
        evidence = {"evidence": [e.model_dump() for e in data.evidence]}
        actor = Actor(principal.subject, principal)
        return await self._move(record, to_status, actor, data.statement, now, evidence)

    async def _own(self, record_id: UUID, principal: Principal) -> CreditRecord:
        record = await self.get(record_id)
        if not is_subject_of(principal, await self.subjects.get(record.subject_id)):
            raise NotYourRecord()
        return record

    async def _locked(self, record_id: UUID, *allowed: str) -> CreditRecord:
        record = await self.session.scalar(
            sa.select(CreditRecord)
            .where(CreditRecord.id == record_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if record is None:
            raise RecordNotFound()
        if record.status not in allowed:
            raise InvalidTransition(
                Text(
                    f"记录状态为 {record.status}，需要 {' 或 '.join(allowed)}",
                    f"the record is {record.status}; this needs {' or '.join(allowed)}",
                )
            )
        return record

    async def _move(
        self,
        record: CreditRecord,
        to_status: str,
        actor: Actor,
        reason: str,
        now: datetime,
        details: dict[str, Any],
    ) -> CreditRecord:
        from_status = record.status
        record.status = to_status
        await self._log(record, from_status, to_status, actor, reason, details, at=now)
        return record

    async def _log(
        self,
        record: CreditRecord,
        from_status: str | None,
        to_status: str,
        actor: Actor,
        reason: str,
        details: dict[str, Any],
        at: datetime | None = None,
    ) -> None:
        self.session.add(
            RecordTransition(
                record_id=record.id,
                from_status=from_status,
                to_status=to_status,
                actor=actor.id,
                reason=reason,
                details=details,
                **({"at": at} if at is not None else {}),
            )
        )
        await self.session.flush()


def record_service_for(session: AsyncSession, settings: CreditSettings) -> RecordService:
    """The record service as the settings configure it (for requests and for events alike)."""
    return RecordService(
        session,
        subjects=SubjectService(session, settings.id_hash_key.get_secret_value()),
        policy=policy_from(settings),
        objection_days=settings.objection_window_working_days,
        calendar=WorkCalendar(settings.holidays, settings.working_weekends),
    )
