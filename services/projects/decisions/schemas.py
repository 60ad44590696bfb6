from __future__ import annotations

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from services.projects.execution.schemas import ProjectRead
from services.projects.models.lifecycle import ObjectionStatus
from services.projects.schema_types import Reason, ShanghaiTime
from shared.pagination import Page
from shared.validation_messages import InvalidValue

DecisionKind = Literal["approve", "reserve", "reject"]


class DecisionItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: UUID
    decision: DecisionKind
    approved_budget_fen: Annotated[int, Field(strict=True, gt=0)] | None = None
    reason: Reason

    @model_validator(mode="after")
    def _budget_only_when_approved(self) -> DecisionItem:
        if (self.decision == "approve") != (self.approved_budget_fen is not None):
            raise ValueError("approved_budget_fen goes with, and only with, decision 'approve'")
        return self


class DecisionBatch(BaseModel):
    """Decisions on applications of one call, in rank order; all of them or none."""

    model_config = ConfigDict(extra="forbid")

    decisions: Annotated[list[DecisionItem], Field(min_length=1, max_length=1000)]


class EnvelopeRead(BaseModel):
    program_id: UUID
    year: int
    amount_fen: int
    committed_fen: int
    remaining_fen: int


class DecisionRead(BaseModel):
    application_id: UUID
    title: str
    applicant_id: UUID
    org_id: UUID
    status: str
    requested_budget_fen: int
    approved_budget_fen: int | None
    decision_reason: str | None
    decided_by: UUID | None
    decided_at: ShanghaiTime | None
    project_id: UUID | None
    project_number: str | None
    notice_ends_at: ShanghaiTime | None
    review_rank: int | None = Field(
        default=None, description="rank in the call's closed proposal review round"
    )
    review_score: float | None = Field(default=None, description="the statistic ranked by")


class DecisionOutcome(BaseModel):
    decisions: list[DecisionRead]
    envelope: EnvelopeRead | None


class DecisionList(Page[DecisionRead]):
    envelope: EnvelopeRead | None
    review_ranked_by: Literal["trimmed_mean", "normalised_mean", "combined"] | None = Field(
        default=None,
        description="what review_score is; null while no review round is closed; combined: "
        "the written and the panel stage weighted, once the call's panel stage closed",
    )


ObjectionReasons = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=5, max_length=5000)
]

# One "@", something on each side, a dot in the domain (as the gateway checks addresses).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")
# Once spaces, hyphens and brackets are gone: a mainland mobile (+86 optional), a landline
# with its area code, or an international number in E.164 form.
_PHONE = re.compile(r"^(?:(?:\+86)?1[3-9]\d{9}|0\d{9,11}|\+[1-9]\d{6,14})$")
_PHONE_PUNCTUATION = re.compile(r"[\s()（）-]")


def _contact(value: str) -> str:
    if "@" in value:
        if _EMAIL.match(value):
            return value.lower()
    elif _PHONE.match(_PHONE_PUNCTUATION.sub("", value)):
        return value
    raise InvalidValue(
        "应为手机号码、带区号的固定电话或电子邮件地址",
        "not a phone number (a mobile, or a landline with its area code) or an e-mail address",
    )


class ObjectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: ObjectionReasons


class PublicObjectionCreate(BaseModel):
    """A real-name objection (实名异议) lodged without an account: who objects and how the
    agency reaches them, besides the reasons. Anonymous objections are not taken."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=50)]
    contact: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=254),
        AfterValidator(_contact),
        Field(description="a phone number (mobile, or landline with its area code) or an e-mail"),
    ]
    organization: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
    ) = None
    reasons: ObjectionReasons

    @field_validator("organization")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class ObjectionReceipt(BaseModel):
    """What the public gets back: the objection's reference, never what they told about
    themselves."""

    id: UUID
    project_id: UUID
    project_number: str
    filed_at: ShanghaiTime
    status: ObjectionStatus


class ObjectionRead(BaseModel):
    """An objection as the program's managers read it (and an objector their own)."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    filed_by: UUID | None = Field(
        description="the account it was filed under; null if lodged without"
    )
    objector_name: str | None
    objector_contact: str | None = Field(
        description="phone or e-mail, for one lodged without an account"
    )
    objector_organization: str | None
    reasons: str
    filed_at: ShanghaiTime
    status: ObjectionStatus
    resolution: str | None
    resolved_by: UUID | None
    resolved_at: ShanghaiTime | None


class ObjectionResolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["uphold", "dismiss"]
    resolution: Reason


class ObjectionResolved(BaseModel):
    objection: ObjectionRead
    project: ProjectRead
