from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.projects.decisions.schemas import DecisionRead, EnvelopeRead
from services.projects.programs.terms import Year
from services.projects.schema_types import Reason, ShanghaiTime
from shared.pagination import Page

ReserveMonths = Annotated[int, Field(strict=True, ge=1, le=120)]


class ReserveEntryRead(BaseModel):
    """A reserved application waiting in its program's standing reserve (项目储备库)."""

    application_id: UUID
    title: str
    applicant_id: UUID
    org_id: UUID
    call_id: UUID
    call_title: str
    call_year: int
    requested_budget_fen: int = Field(
        description="what it waits for: the budget asked for (an approval may give less)"
    )
    reserved_at: ShanghaiTime = Field(description="in the reserve since")
    reserved_by: UUID | None
    reserve_reason: str | None
    expires_at: ShanghaiTime = Field(
        description="when it leaves the reserve unfunded (the program's reserve_months after)"
    )
    review_rank: int | None = Field(description="its rank in its call's closed review")
    review_score: float | None = Field(description="the statistic ranked by")
    review_ranked_by: Literal["trimmed_mean", "normalised_mean", "combined"] | None


class ReserveList(Page[ReserveEntryRead]):
    program_id: UUID
    reserve_months: int


class ReserveFunding(BaseModel):
    """A program's own decision to fund a reserve entry in a later fiscal year."""

    model_config = ConfigDict(extra="forbid")

    year: Year = Field(description="the fiscal year whose envelope pays: after the call's year")
    approved_budget_fen: Annotated[int, Field(strict=True, gt=0)]
    reason: Reason


class ReserveDecision(BaseModel):
    decision: DecisionRead
    envelope: EnvelopeRead | None


class ReserveDrop(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReserveTermSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: ReserveMonths
    reason: Reason


class ReserveTermRead(BaseModel):
    program_id: UUID
    reserve_months: int
