from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    model_validator,
)

from services.credit.models import RecordStatus
from services.credit.rules.schemas import Capacity, RuleCode
from services.credit.subjects.schemas import SubjectRef
from shared.clock import ShanghaiTime

Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=5000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    description: Annotated[str, StringConstraints(max_length=1000)] = ""
    sha256: Annotated[str | None, StringConstraints(pattern=r"^[0-9a-f]{64}$")] = None


class RecordCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: UUID | None = None
    subject: SubjectRef | None = None
    # The program whose managers handle the record (a program manager must name one of theirs).
    program_id: UUID | None = None
    capacity: Capacity
    unit_id: UUID | None = None
    unit: SubjectRef | None = None
    rule_code: RuleCode
    facts: Text2000
    evidence: Annotated[list[Evidence], Field(max_length=50)] = Field(default_factory=list)
    handling_unit: Annotated[str, StringConstraints(min_length=2, max_length=200)]
    effective_from: date

    @model_validator(mode="after")
    def _one_subject(self) -> RecordCreate:
        if (self.subject_id is None) == (self.subject is None):
            raise ValueError("give exactly one of subject_id and subject")
        if self.unit_id is not None and self.unit is not None:
            raise ValueError("give at most one of unit_id and unit")
        return self


class Transition(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_status: str | None
    to_status: str
    actor: str
    reason: str
    details: dict[str, Any]
    rule_code: str
    rule_version: int
    legal_basis: str
    at: datetime


class RecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    subject_id: UUID
    program_id: UUID | None
    capacity: str
    unit_id: UUID | None
    rule_code: str
    rule_version: int
    tier: str
    score_effect: int
    restrictions: list[str]
    facts: str
    evidence: list[dict[str, Any]]
    handling_unit: str
    legal_basis: str
    effective_from: date
    valid_until: date
    restriction_until: date | None
    restriction_permanent: bool
    status: str
    delivered_at: ShanghaiTime | None = Field(
        description="when the notice reached the subject; the objection window runs from then"
    )
    delivery_channel: str | None = Field(
        description="mail or inbox (the notify service), post, in_person or other (recorded by "
        "an officer), at_notice (counted as delivered when sent)"
    )
    objection_deadline: ShanghaiTime | None
    confirmed_at: datetime | None
    appeal_deadline: ShanghaiTime | None
    withdrawn_at: datetime | None
    repaired_at: datetime | None
    source: str
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def awaiting_delivery(self) -> bool:
        """Notified, and its notice not known to have reached the subject: no objection deadline
        yet (the subject may object already)."""
        return (
            self.status in (RecordStatus.notified, RecordStatus.objected)
            and self.objection_deadline is None
        )


class RecordDetail(RecordRead):
    transitions: list[Transition]


class DeliveryRecord(BaseModel):
    """A notice delivered by other means than the notify service, as an officer records it."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["post", "in_person", "other"]
    delivered_at: AwareDatetime
    # What proves it: a registered letter's receipt number, a signed acknowledgement's file.
    evidence: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    reason: Reason


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class Statement(BaseModel):
    """An objection or an appeal by the subject."""

    model_config = ConfigDict(extra="forbid")

    statement: Text2000
    evidence: Annotated[list[Evidence], Field(max_length=50)] = Field(default_factory=list)


class Revision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facts: Text2000 | None = None
    rule_code: RuleCode | None = None


class ObjectionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["rejected", "upheld", "revised"]
    reason: Reason
    revision: Revision | None = None

    @model_validator(mode="after")
    def _revision_when_revised(self) -> ObjectionDecision:
        if (self.outcome == "revised") != (self.revision is not None):
            raise ValueError("a revision goes with, and only with, outcome 'revised'")
        return self


class NoticeApproval(BaseModel):
    """The second officer's word on the notice of a record that bans or is listed."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "return"]
    reason: Reason


class AppealDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["rejected", "upheld"]
    reason: Reason


class RepairRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    evidence: Annotated[list[Evidence], Field(min_length=1, max_length=50)]
