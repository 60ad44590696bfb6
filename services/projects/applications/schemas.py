"""What the applications API takes and gives.

`ApplicationContent` is one saved version. Drafts may still lack milestones, indicators and
attachments (submission and the formal check ask for them); everything given is checked now.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.applications import budget as budget_rules
from services.projects.schema_types import Name, Reason
from shared.credit_code import is_valid_credit_code
from shared.money import NonNegativeFen
from shared.validation_messages import InvalidValue

PI_ROLE = "负责人"  # the team member leading the project; must be the applicant

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
# 学科代码 (GB/T 13745), e.g. "210" or "210.2010"
SubjectCode = Annotated[str, StringConstraints(pattern=r"^\d{3}(\.\d{2,4})?$")]
AttachmentKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]


class TeamMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UUID = Field(description="a registered person (their user id at the gateway)")
    role: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    share: Annotated[int, Field(ge=0, le=100, description="share of the work, in percent")]


class Budget(BaseModel):
    """Requested money by category, in integer fen (the 2021 reform's categories)."""

    model_config = ConfigDict(extra="forbid")

    equipment: NonNegativeFen
    business: NonNegativeFen
    labour: NonNegativeFen
    indirect: NonNegativeFen

    @property
    def total(self) -> int:
        return budget_rules.total(self.model_dump())


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    due: date


class Indicator(BaseModel):
    """A promised indicator (考核指标): what, how much, in which unit."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    target: Annotated[int | float, Field(ge=0)]
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class Avoid(BaseModel):
    """An expert (by user id) or an organization (by credit code) not to review this."""

    model_config = ConfigDict(extra="forbid")

    user_id: UUID | None = None
    credit_code: Annotated[str | None, StringConstraints(to_upper=True)] = None
    reason: Annotated[str, StringConstraints(max_length=500)] = ""

    @model_validator(mode="after")
    def _one_of(self) -> Avoid:
        if (self.user_id is None) == (self.credit_code is None):
            raise ValueError("give exactly one of user_id and credit_code")
        if self.credit_code is not None and not is_valid_credit_code(self.credit_code):
            raise ValueError("not a valid unified social credit code")
        return self


class AttachmentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    kind: AttachmentKind


class ApplicationContent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=300)]
    abstract: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""
    keywords: Annotated[list[Keyword], Field(min_length=1, max_length=8)]
    subject_codes: Annotated[list[SubjectCode], Field(min_length=1, max_length=5)]
    team: Annotated[list[TeamMember], Field(min_length=1, max_length=50)]
    budget: Budget
    milestones: Annotated[list[Milestone], Field(max_length=50)] = Field(default_factory=list)
    indicators: Annotated[list[Indicator], Field(max_length=50)] = Field(default_factory=list)
    avoid: Annotated[list[Avoid], Field(max_length=3)] = Field(default_factory=list)
    attachments: Annotated[list[AttachmentRef], Field(max_length=50)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _team_shape(self) -> ApplicationContent:
        ids = [m.user_id for m in self.team]
        if len(set(ids)) != len(ids):
            raise InvalidValue("团队：同一人列出两次", "team: a person is listed twice")
        if sum(1 for m in self.team if m.role == PI_ROLE) != 1:
            raise InvalidValue(
                f"团队：须有且只有一名成员的角色为“{PI_ROLE}”",
                f"team: exactly one member has the role {PI_ROLE!r}",
            )
        if sum(m.share for m in self.team) > 100:
            raise InvalidValue("团队：分工比例合计超过 100", "team: shares add up to more than 100")
        return self

    @property
    def pi(self) -> UUID:
        return next(m.user_id for m in self.team if m.role == PI_ROLE)


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call_id: UUID
    content: ApplicationContent


class ApplicationSave(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: ApplicationContent
    base_version: Annotated[int, Field(ge=1, description="the version this edit started from")]


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class Endorsement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["endorse", "return"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class FormalDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["pass", "return"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class RuleResult(BaseModel):
    rule: str
    passed: bool
    detail: str


class FormalCheckRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    version: int
    results: list[RuleResult]
    credit: dict[str, Any] | None
    automatic_passed: bool
    outcome: str | None
    reason: str | None
    decided_by: UUID | None
    decided_at: datetime | None
    created_at: datetime


class ApplicationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    call_id: UUID
    call_title: str
    applicant_id: UUID
    applicant_name: str = Field(description="empty while the directory has not heard of them")
    org_id: UUID
    status: str
    version: int
    title: str
    requested_budget_fen: int
    submitted_version: int | None
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ApplicationRead(ApplicationSummary):
    content: dict[str, Any] = Field(description="the latest version")
    formal_check: FormalCheckRead | None = None


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    saved_by: UUID
    saved_at: datetime


class VersionRead(VersionSummary):
    content: dict[str, Any]


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    kind: str
    filename: str
    content_type: str
    size: int = Field(validation_alias="size_bytes")
    sha256: str
    uploaded_at: datetime


class HistoryEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    entity: str
    action: str
    from_state: str | None
    to_state: str | None
    actor_id: str
    reason: str | None
    details: dict[str, Any]
