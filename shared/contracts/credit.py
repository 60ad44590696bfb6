"""The credit service's contracts: its events about ratings and about a record's due process, and
the eligibility question the projects and funds services ask it (`GET /v1/eligibility`,
`POST /v1/eligibility/bulk`).

A record's events name its subject by the gateway's ids (a person's `gateway_user_id`, an
organization's `gateway_org_id`; a subject credit knows only by its credit code has neither and
is told by other means). `credit.record_notified` is a formal notice: the objection window runs
from its delivery (`notice.delivered` about `credit_record`), not from its publication.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from shared.contracts.base import Contract, EventContract, Moment
from shared.contracts.vocabulary import CreditLevel, EligibilityAction

BULK_LIMIT = 1000  # the most ids one bulk question may name


class CreditRatingChangedV1(EventContract):
    """A subject's level differs from the one last announced (never rated before: the neutral
    level)."""

    event_type: ClassVar[str] = "credit.rating_changed"
    aggregate_type: ClassVar[str] = "subject"
    aggregate_field: ClassVar[str | None] = "subject_id"

    subject_id: UUID
    kind: str
    credit_code: str | None
    gateway_user_id: UUID | None
    gateway_org_id: UUID | None
    previous_level: CreditLevel
    level: CreditLevel
    score: int
    restrictions: list[EligibilityAction]
    at: Moment
    model_version: str


class _RecordEvent(EventContract):
    aggregate_type: ClassVar[str] = "credit_record"
    aggregate_field: ClassVar[str | None] = "record_id"

    record_id: UUID
    subject_id: UUID
    subject_kind: str
    subject_name: str
    gateway_user_id: UUID | None
    gateway_org_id: UUID | None
    rule_code: str
    rule_version: int
    rule_description_zh: str
    rule_description_en: str
    tier: str
    handling_unit: str


class CreditRecordNotifiedV1(_RecordEvent):
    """The notice of a record (告知): what was found, under which rule, and what follows. The
    subject may object within `objection_window_working_days` working days of the notice's
    delivery (Asia/Shanghai working days)."""

    event_type: ClassVar[str] = "credit.record_notified"

    facts: str
    legal_basis: str
    score_effect: int
    restrictions: list[EligibilityAction]
    restriction_until: date | None
    restriction_permanent: bool
    effective_from: date
    valid_until: date
    objection_window_working_days: int
    notified_at: Moment


class CreditObjectionDecidedV1(_RecordEvent):
    """The subject's objection decided: upheld (the record is withdrawn), rejected or revised
    (the record is confirmed, as revised; the rule fields are the record's after revision),
    with the last moment to appeal (none when upheld)."""

    event_type: ClassVar[str] = "credit.objection_decided"

    outcome: Literal["upheld", "rejected", "revised"]
    reason: str
    appeal_deadline: Moment | None
    decided_at: Moment


class CreditAppealDecidedV1(_RecordEvent):
    """The subject's appeal (复核) decided: upheld (the record is withdrawn) or rejected (it
    stands)."""

    event_type: ClassVar[str] = "credit.appeal_decided"

    outcome: Literal["upheld", "rejected"]
    reason: str
    decided_at: Moment


class EligibilityQueryV1(Contract):
    """`GET /v1/eligibility`: may this subject do `action` at `at` (default: now)? Exactly one
    of the subject's keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: EligibilityAction
    at: AwareDatetime | None = None
    subject_id: UUID | None = None
    gateway_user_id: UUID | None = None
    gateway_org_id: UUID | None = None
    credit_code: Annotated[str, Field(max_length=18)] | None = None

    @model_validator(mode="after")
    def _one_key(self) -> EligibilityQueryV1:
        keys = (self.subject_id, self.gateway_user_id, self.gateway_org_id, self.credit_code)
        if sum(key is not None for key in keys) != 1:
            raise ValueError("give exactly one subject key")
        return self


class IneligibleReason(Contract):
    code: str
    rule_code: str | None = None
    until: date | None = None


class EligibilityV1(Contract):
    """The answer, as of `at`. Someone credit has never named is eligible at the neutral level
    (`subject_id` null)."""

    action: EligibilityAction
    at: datetime
    subject_id: UUID | None
    eligible: bool
    level: CreditLevel
    score: int
    reasons: list[IneligibleReason]
    model_version: str


class BulkEligibilityRequestV1(Contract):
    """`POST /v1/eligibility/bulk`: many people or organizations at once, by the ids the
    gateway gave them (between 1 and 1,000 in all)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: EligibilityAction
    at: AwareDatetime | None = None
    gateway_user_ids: list[UUID] = Field(default_factory=list, max_length=BULK_LIMIT)
    gateway_org_ids: list[UUID] = Field(default_factory=list, max_length=BULK_LIMIT)

    @model_validator(mode="after")
    def _some(self) -> BulkEligibilityRequestV1:
        total = len(self.gateway_user_ids) + len(self.gateway_org_ids)
        if not 1 <= total <= BULK_LIMIT:
            raise ValueError("give between 1 and 1,000 ids in all")
        return self


class BulkEligibilityV1(Contract):
    """Keyed by the gateway id given."""

    action: EligibilityAction
    at: datetime
    users: dict[UUID, EligibilityV1]
    organizations: dict[UUID, EligibilityV1]
