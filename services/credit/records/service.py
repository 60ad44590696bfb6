"""Credit records and their due process.

proposed -> [awaiting_approval ->] notified -> (objected -> decided) -> confirmed
-> (appealed -> decided), repaired; withdrawn before confirmation. A record that bans or is
publicly listed waits for a second officer's approval before its notice goes out. Every move is
checked against the record's state, locked (so two concurrent confirmations cannot both win),
checked against who acts (`services.credit.access.acting`) and written down: who, when, why, and
under which rule and version. Records end their effect by themselves when their validity runs
out (no state change needed: ratings are computed from dates).

The objection window runs from the notice's delivery, not from its sending: the notify service
says when a notice reached its subject (`notice.delivered`), or an officer records a delivery by
other means (post, in person). Until then the record awaits delivery: it has no objection
deadline and cannot be confirmed, but the subject may object already. Without a notify service
(`SCIPLAN_CREDIT_NOTIFY_URL` unset) a notice counts as delivered when sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.access.acting import (
    check_appeal_reviewer,
    check_not_maker,
    check_officer,
    in_own_affair,
    may_act_in,
    needs_second_officer,
)
from services.credit.config import CreditSettings
from services.credit.exceptions import (
    AlreadyDelivered,
    AppealWindowClosed,
    AwaitingDelivery,
    DeliveryBySender,
    DeliveryOutOfRange,
    InvalidTransition,
    NotRepairable,
    NotYourRecord,
    ObjectionWindowClosed,
    ObjectionWindowOpen,
    OutsideYourPrograms,
    OwnAffair,
    RecordNotFound,
    RepairTooEarly,
    RuleNotApplicable,
    SubjectMismatch,
)
from services.credit.models import (
    BEFORE_NOTICE,
    CreditRecord,
    RecordStatus,
    RecordTransition,
    Rule,
    Subject,
)
from services.credit.rating.model import RatingPolicy
from services.credit.rating.service import RatingService, policy_from
from services.credit.records.calendar import WorkCalendar, add_months
from services.credit.records.events import RecordEvents
from services.credit.records.repository import RecordRepository
from services.credit.records.schemas import (
    AppealDecision,
    DeliveryRecord,
    NoticeApproval,
    ObjectionDecision,
    RecordCreate,
    RecordDetail,
    RecordRead,
    RepairRequest,
    Statement,
    Transition,
)
from services.credit.rules.service import RuleService
from services.credit.subjects.service import SubjectService
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.errors import Text

# A record in these states is (being) notified and not yet confirmed or withdrawn: its objection
# window matters.
_WINDOW_MATTERS = (*BEFORE_NOTICE, RecordStatus.notified, RecordStatus.objected)
# A notice is delivered in these states only (it was sent; the record may have moved on since).
_SENT = tuple(s for s in RecordStatus if s not in BEFORE_NOTICE)
# How far back an officer may date a delivery by other means: a registered letter's receipt
# comes back within days, and a later date cannot move the objection window far.
DELIVERY_BACKDATING = timedelta(days=5)

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
        appeal_days: int,
        calendar: WorkCalendar | None = None,
        await_delivery: bool = False,
    ) -> None:
        self.session = session
        self.repository = RecordRepository(session)
        self.subjects = subjects
        self.rules = RuleService(session)
        self.ratings = RatingService(session, policy)
        self.objection_days = objection_days
        self.appeal_days = appeal_days
        self.calendar = calendar or WorkCalendar()
        self.await_delivery = await_delivery
        self.events = RecordEvents(session, subjects, objection_days)

    # --- reading ---------------------------------------------------------------------------

    async def get(self, record_id: UUID) -> CreditRecord:
        record = await self.repository.get(record_id)
        if record is None:
            raise RecordNotFound()
        return record

    async def transitions(self, record_id: UUID) -> Sequence[RecordTransition]:
        return await self.repository.transitions(record_id)

    async def detail(self, record: CreditRecord) -> RecordDetail:
        """A record with its whole history of transitions."""
        transitions = [Transition.model_validate(t) for t in await self.transitions(record.id)]
        return RecordDetail.model_validate(
            {**RecordRead.model_validate(record).model_dump(), "transitions": transitions}
        )

    async def of_subject(self, subject_id: UUID) -> Sequence[CreditRecord]:
        return await self.repository.of_subject(subject_id)

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
            existing = await self.repository.from_event(source_event_id, subject.id)
            if existing is not None:
                return existing  # the same event again: no second record
        unit = None
        if data.unit_id is not None:
            unit = await self.subjects.get(data.unit_id)
        elif data.unit is not None:
            unit = await self.subjects.resolve(data.unit)
        if unit is not None and unit.kind == "person":
            raise SubjectMismatch(Text("关联单位不能是个人", "The linked unit cannot be a person"))
        if actor.principal is not None:
            await self._check_proposer(actor.principal, data, subject, unit)
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
            program_id=data.program_id,
            capacity=data.capacity,
            unit_id=unit.id if unit else None,
            facts=data.facts,
            evidence=[e.model_dump() for e in data.evidence],
            handling_unit=data.handling_unit,
            effective_from=data.effective_from,
            status=RecordStatus.proposed,
            source=source,
            source_event_id=source_event_id,
            created_by=actor.id,
        )
        self._apply_rule(record, rule)
        if not await self.repository.add_once(record):
            # Two deliveries of one event raced; the other one made the record.
            assert source_event_id is not None
            existing = await self.repository.from_event(source_event_id, subject.id)
            assert existing is not None
            return existing
        await self._log(
            record, None, RecordStatus.proposed, actor, "record proposed", {"source": source}
        )
        return record

    async def _check_proposer(
        self, principal: Principal, data: RecordCreate, subject: Subject, unit: Subject | None
    ) -> None:
        """Auditors and credit officers propose records of any program; a program manager
        only of a program they manage, and says which."""
        if in_own_affair(principal, subject, unit):
            raise OwnAffair()
        if principal.has_any(Role.auditor, Role.credit_officer, Role.admin):
            return
        if not await may_act_in(self.session, principal, data.program_id):
            raise OutsideYourPrograms(
                Text(
                    "请在 program_id 中注明您管理的计划",
                    "name a program you manage in program_id",
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
        """Send the notice; a record that bans or is listed first waits for a second officer."""
        record = await self._acting_on(record_id, actor, RecordStatus.proposed)
        record.notice_requested_by = actor.id
        if needs_second_officer(record):
            return await self._move(record, RecordStatus.awaiting_approval, actor, reason, now, {})
        return await self._send_notice(record, actor, reason, now)

    async def approve_notice(
        self, record_id: UUID, actor: Actor, data: NoticeApproval, now: datetime
    ) -> CreditRecord:
        """The second officer: approves the notice, or returns the record to its maker."""
        record = await self._acting_on(record_id, actor, RecordStatus.awaiting_approval)
        assert actor.principal is not None  # approvals are made by people
        check_not_maker(actor.principal, record)
        if data.decision == "return":
            record.notice_requested_by = None
            return await self._move(record, RecordStatus.proposed, actor, data.reason, now, {})
        record.notice_approved_by = actor.id
        return await self._send_notice(record, actor, data.reason, now)

    async def object(
        self, record_id: UUID, principal: Principal, data: Statement, now: datetime
    ) -> CreditRecord:
        record = await self._own(record_id, principal)
        record = await self._locked(record.id, RecordStatus.notified)
        # Awaiting delivery (no deadline yet): the subject who already knows may object.
        if record.objection_deadline is not None and now > record.objection_deadline:
            closed = f"{in_shanghai(record.objection_deadline):%Y-%m-%d %H:%M}"
            raise ObjectionWindowClosed(
                Text(f"异议截止时间为 {closed}", f"objections closed at {closed} (Asia/Shanghai)")
            )
        return await self._statement(record, RecordStatus.objected, principal, data, now)

    async def decide_objection(
        self, record_id: UUID, actor: Actor, data: ObjectionDecision, now: datetime
    ) -> CreditRecord:
        record = await self._acting_on(record_id, actor, RecordStatus.objected)
        assert actor.principal is not None  # objections are decided by people
        check_not_maker(actor.principal, record)
        details: dict[str, Any] = {"outcome": data.outcome}
        if data.outcome == "upheld":
            record.withdrawn_at = now
            record = await self._move(
                record, RecordStatus.withdrawn, actor, data.reason, now, details
            )
            await self.events.objection_decided(record, data.outcome, data.reason, now)
            return record
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
        record = await self._confirm(record, actor, data.reason, now, details)
        await self.events.objection_decided(record, data.outcome, data.reason, now)
        return record

    async def confirm(
        self, record_id: UUID, actor: Actor, reason: str, now: datetime
    ) -> CreditRecord:
        record = await self._acting_on(record_id, actor, RecordStatus.notified)
        if record.objection_deadline is None:
            raise AwaitingDelivery()
        if now <= record.objection_deadline:
            raise ObjectionWindowOpen()
        return await self._confirm(record, actor, reason, now, {})

    async def appeal(
        self, record_id: UUID, principal: Principal, data: Statement, now: datetime
    ) -> CreditRecord:
        record = await self._own(record_id, principal)
        record = await self._locked(record.id, RecordStatus.confirmed)
        assert record.appeal_deadline is not None  # set on confirmation
        if now > record.appeal_deadline:
            closed = f"{in_shanghai(record.appeal_deadline):%Y-%m-%d %H:%M}"
            raise AppealWindowClosed(
                Text(f"复查申请截止时间为 {closed}", f"appeals closed at {closed} (Asia/Shanghai)")
            )
        return await self._statement(record, RecordStatus.appealed, principal, data, now)

    async def decide_appeal(
        self, record_id: UUID, actor: Actor, data: AppealDecision, now: datetime
    ) -> CreditRecord:
        record = await self._acting_on(record_id, actor, RecordStatus.appealed)
        assert actor.principal is not None  # appeals are decided by people
        check_appeal_reviewer(actor.principal, record)
        details = {"outcome": data.outcome}
        if data.outcome == "upheld":
            record.withdrawn_at = now
            record = await self._move(
                record, RecordStatus.withdrawn, actor, data.reason, now, details
            )
            await self.ratings.announce_if_changed(await self.subjects.get(record.subject_id), now)
        else:
            record = await self._move(
                record, RecordStatus.confirmed, actor, data.reason, now, details
            )
        await self.events.appeal_decided(record, data.outcome, data.reason, now)
        return record

    async def repair(
        self, record_id: UUID, actor: Actor, data: RepairRequest, now: datetime
    ) -> CreditRecord:
        record = await self._acting_on(record_id, actor, RecordStatus.confirmed)
        rule = await self.repository.rule_of(record)
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
            RecordStatus.repaired,
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
        record = await self._acting_on(
            record_id,
            actor,
            RecordStatus.proposed,
            RecordStatus.awaiting_approval,
            RecordStatus.notified,
        )
        record.withdrawn_at = now
        return await self._move(record, RecordStatus.withdrawn, actor, reason, now, {})

    # --- delivery of the notice -------------------------------------------------------------

    async def delivered(
        self,
        record_id: UUID,
        *,
        at: datetime,
        channel: str,
        evidence: dict[str, Any],
        now: datetime,
    ) -> CreditRecord:
        """The notify service delivered the notice (`notice.delivered`). The first delivery
        counts; a later one changes nothing, and neither does the delivery of a notification
        made of another event about the record (`notice_event_id` is the notification's
        source event: it must be the notice's own, where the history knows it)."""
        record = await self._locked(record_id, *_SENT)
        if record.delivered_at is not None:
            return record
        sent = await self.repository.notice_sent(record.id)
        expected = sent.details.get("notice_event_id") if sent else None
        if expected is not None and expected != evidence.get("notice_event_id"):
            return record
        details = {**self._delivered(record, at, channel), **evidence}
        await self._log(
            record,
            record.status,
            record.status,
            Actor("event:notice.delivered"),
            "通知已送达",
            details,
            at=now,
        )
        return record

    async def record_delivery(
        self, record_id: UUID, actor: Actor, data: DeliveryRecord, now: datetime
    ) -> CreditRecord:
        """An officer records a delivery by other means (post, in person), with its date, its
        evidence and why: for a notice the notify service could not deliver (a subject without
        an account, a mail bouncing). Refused once a delivery is known.

        The objection window runs from the date given, so it is bounded: an officer other than
        those who sent the notice (asked for it, approved it) records it, since nobody dates
        their own service; no earlier than the notice and at most `DELIVERY_BACKDATING` ago."""
        record = await self._acting_on(
            record_id, actor, RecordStatus.notified, RecordStatus.objected
        )
        if record.delivered_at is not None:
            raise AlreadyDelivered(extra={"delivered_at": record.delivered_at.isoformat()})
        sent = await self.repository.notice_sent(record.id)
        senders = {record.notice_requested_by, sent.actor if sent else None}
        if actor.id in senders:
            raise DeliveryBySender()
        earliest = now - DELIVERY_BACKDATING
        if sent is not None:
            earliest = max(earliest, sent.at)
        if not earliest <= data.delivered_at <= now:
            raise DeliveryOutOfRange()
        details = {
            **self._delivered(record, data.delivered_at, data.channel),
            "evidence": data.evidence,
        }
        await self._log(record, record.status, record.status, actor, data.reason, details, at=now)
        return record

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
        record.appeal_deadline = self.calendar.add_working_days(now, self.appeal_days)
        details = {**details, "appeal_deadline": record.appeal_deadline.isoformat()}
        record = await self._move(record, RecordStatus.confirmed, actor, reason, now, details)
        await self.ratings.announce_if_changed(await self.subjects.get(record.subject_id), now)
        return record

    async def _send_notice(
        self, record: CreditRecord, actor: Actor, reason: str, now: datetime
    ) -> CreditRecord:
        # The notice is published first: its event id goes into the history, so that only the
        # delivery of this very notice (not of a later decision about the record) counts.
        notice_event_id = await self.events.notified(record, now)
        details: dict[str, Any] = {"notice_event_id": str(notice_event_id)}
        if self.await_delivery:
            details["delivery"] = "awaiting"
        else:
            details.update(self._delivered(record, now, "at_notice"))
        return await self._move(record, RecordStatus.notified, actor, reason, now, details)

    def _delivered(self, record: CreditRecord, at: datetime, channel: str) -> dict[str, Any]:
        """The notice reached the subject at `at`: the objection window runs from then (a
        record no longer awaiting its objection only keeps the moment)."""
        record.delivered_at, record.delivery_channel = at, channel
        details: dict[str, Any] = {"delivered_at": at.isoformat(), "channel": channel}
        if record.status in _WINDOW_MATTERS:
            record.objection_deadline = self.calendar.add_working_days(at, self.objection_days)
            details["objection_deadline"] = record.objection_deadline.isoformat()
        return details

    async def _acting_on(
        self, record_id: UUID, actor: Actor, *allowed: RecordStatus
    ) -> CreditRecord:
        """The record, locked, for an officer who may act on it, in one of the `allowed` states
        (who may not act learns nothing of its state)."""
        record = await self._lock(record_id)
        if actor.principal is not None:
            subject = await self.subjects.get(record.subject_id)
            unit = await self.subjects.get(record.unit_id) if record.unit_id else None
            await check_officer(self.session, actor.principal, record, subject, unit)
        return self._in_state(record, allowed)

    async def _statement(
        self,
        record: CreditRecord,
        to_status: RecordStatus,
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

    async def _locked(self, record_id: UUID, *allowed: RecordStatus) -> CreditRecord:
        return self._in_state(await self._lock(record_id), allowed)

    async def _lock(self, record_id: UUID) -> CreditRecord:
        record = await self.repository.lock(record_id)
        if record is None:
            raise RecordNotFound()
        return record

    @staticmethod
    def _in_state(record: CreditRecord, allowed: tuple[RecordStatus, ...]) -> CreditRecord:
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
        to_status: RecordStatus,
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
        from_status: RecordStatus | None,
        to_status: RecordStatus,
        actor: Actor,
        reason: str,
        details: dict[str, Any],
        at: datetime | None = None,
    ) -> None:
        await self.repository.add_transition(
            RecordTransition(
                record_id=record.id,
                from_status=from_status,
                to_status=to_status,
                actor=actor.id,
                reason=reason,
                details=details,
                rule_code=record.rule_code,
                rule_version=record.rule_version,
                legal_basis=record.legal_basis,
                **({"at": at} if at is not None else {}),
            )
        )


def record_service_for(session: AsyncSession, settings: CreditSettings) -> RecordService:
    """The record service as the settings configure it (for requests and for events alike)."""
    return RecordService(
        session,
        subjects=SubjectService(session, settings.id_hash_key.get_secret_value()),
        policy=policy_from(settings),
        objection_days=settings.objection_window_working_days,
        appeal_days=settings.appeal_window_working_days,
        calendar=WorkCalendar(settings.holidays, settings.working_weekends),
        await_delivery=settings.notify_url is not None,
    )
