from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.execution.schemas import ProjectRead
from services.projects.models.lifecycle import ObjectionStatus
from services.projects.schema_types import Reason, ShanghaiTime
from shared.pagination import Page

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
    review_ranked_by: Literal["trimmed_mean", "normalised_mean"] | None = Field(
        default=None, description="what review_score is; null while no review round is closed"
    )


class ObjectionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=5000)]


class ObjectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    filed_by: UUID
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
