from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from services.projects.models.review import (
    RoundState,
    SheetStatus,
)
from services.projects.schema_types import Reason, ShanghaiTime
from shared.pagination import Page

Recommendation = Literal["strongly_support", "support", "neutral", "oppose"]
RankedBy = Literal["trimmed_mean", "normalised_mean"]
CriterionCode = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]

MAX_CRITERIA = 20


class SheetWrite(BaseModel):
    """A draft: any part may be missing until submission."""

    model_config = ConfigDict(extra="forbid")

    scores: Annotated[dict[CriterionCode, StrictInt], Field(max_length=MAX_CRITERIA)] = Field(
        default_factory=dict
    )
    comments: Annotated[dict[CriterionCode, Comment], Field(max_length=MAX_CRITERIA)] = Field(
        default_factory=dict
    )
    overall_comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10000)] = ""
    recommendation: Recommendation | None = None


class SheetReopen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class SheetRead(BaseModel):
    """One expert's sheet, for that expert and the program's managers."""

    assignment_id: UUID
    round_id: UUID
    application_id: UUID
    status: SheetStatus
    scores: dict[str, int]
    comments: dict[str, str]
    overall_comment: str
    recommendation: Recommendation | None
    weighted_total: float | None = Field(description="0..100, set on submission")
    saved_at: ShanghaiTime
    submitted_at: ShanghaiTime | None
    late: bool
    deadline: ShanghaiTime
    reopened_by: UUID | None
    reopened_at: ShanghaiTime | None


# --- results for the program's managers -------------------------------------------------------


class StatisticsRead(BaseModel):
    mean: float
    median: float
    trimmed_mean: float = Field(description="highest and lowest dropped from 5 reviews on")
    sd: float = Field(description="sample standard deviation (n - 1); 0 for one review")
    spread: float = Field(description="highest minus lowest total")
    normalised_mean: float | None = Field(
        description="mean of the experts' z-scores; only when the round normalises"
    )


class ExpertScore(BaseModel):
    expert_id: UUID
    expert_name: str
    assignment_id: UUID
    weighted_total: float
    z_score: float | None
    recommendation: Recommendation | None
    submitted_at: ShanghaiTime | None
    late: bool


class ApplicationResult(BaseModel):
    application_id: UUID
    title: str
    status: str
    rank: int | None
    score: float | None = Field(description="the ranking statistic (see ranked_by)")
    n_reviews: int
    n_expected: int = Field(description="live assignments: invited or accepted")
    statistics: StatisticsRead | None
    disagreement: bool
    reviews: list[ExpertScore]


class RoundResults(Page[ApplicationResult]):
    round_id: UUID
    call_id: UUID
    state: RoundState
    deadline: ShanghaiTime
    ranked_by: RankedBy
    disagreement_sd: float
    applications: int


class RoundClosedRead(BaseModel):
    round_id: UUID
    state: RoundState
    closed_at: ShanghaiTime
    applications_reviewed: int = Field(description="moved from in_review to reviewed")
    reviews_missing: int = Field(description="live assignments without a submitted sheet")


# --- what the applicant sees after the decision ----------------------------------------------


class CriterionName(BaseModel):
    code: str
    name: str


class AnonymousComments(BaseModel):
    expert: str = Field(description="专家A, 专家B, ...: the same label on one application")
    comments: dict[str, str]
    overall_comment: str


class ApplicantReview(BaseModel):
    application_id: UUID
    status: str
    n_reviews: int
    ranked_by: RankedBy | None
    score: float | None
    rank: int | None
    ranked_applications: int
    statistics: StatisticsRead | None
    criteria: list[CriterionName]
    comments: list[AnonymousComments]
