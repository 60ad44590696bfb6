from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.models.lifecycle import ChangeStatus, ReportStatus
from services.projects.models.review import RoundState
from services.projects.reporting.schemas import PlannedReportWrite, ReportKind
from services.projects.schema_types import Name, Reason, ShanghaiTime
from shared.contracts.vocabulary import TrancheMilestone
from shared.money import NonNegativeFen

PositiveFen = Annotated[int, Field(strict=True, gt=0, description="amount in fen, > 0")]
Measure = int | float | Annotated[str, StringConstraints(max_length=200)]

BUDGET_CATEGORIES = ("equipment", "business", "labour", "indirect")


class ProjectRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    number: str
    application_id: UUID
    call_id: UUID
    program_id: UUID
    year: int
    title: str
    org_id: UUID
    org_name: str
    pi_id: UUID
    pi_name: str
    approved_budget_fen: int
    status: str
    notice_starts_at: ShanghaiTime
    notice_ends_at: ShanghaiTime
    starts_on: date | None
    ends_on: date | None
    contracted_at: ShanghaiTime | None
    closed_at: ShanghaiTime | None
    acceptance_conditions: str | None
    termination_cause: str | None


class TransitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    entity: str
    entity_id: UUID
    action: str
    from_state: str | None
    to_state: str | None
    actor_id: str
    reason: str | None
    details: dict[str, Any]
    at: ShanghaiTime


# --- task book -------------------------------------------------------------------------------


class Budget(BaseModel):
    """Money by category (2021 reform: equipment, business costs, labour, plus indirect)."""

    model_config = ConfigDict(extra="forbid")

    equipment: NonNegativeFen
    business: NonNegativeFen
    labour: NonNegativeFen
    indirect: NonNegativeFen

    @property
    def total(self) -> int:
        return self.equipment + self.business + self.labour + self.indirect


class Tranche(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    amount_fen: PositiveFen
    on: TrancheMilestone


class Milestone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    due: date | None = None


class Indicator(BaseModel):
    """A promised outcome (考核指标): a number to reach, or a qualitative target."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    target: Measure
    unit: Annotated[str, StringConstraints(max_length=20)] = ""


class TaskBookWrite(BaseModel):
    """Milestones and indicators default to those of the submitted application."""

    model_config = ConfigDict(extra="forbid")

    budget: Budget
    tranches: Annotated[list[Tranche], Field(min_length=1, max_length=12)]
    milestones: Annotated[list[Milestone], Field(max_length=50)] | None = None
    indicators: Annotated[list[Indicator], Field(max_length=50)] | None = None
    # The task book's own schedule of reports; without it the program's policy makes one.
    reports: Annotated[list[PlannedReportWrite], Field(min_length=1, max_length=40)] | None = None
    starts_on: date
    ends_on: date


class TaskBookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    budget: dict[str, int]
    tranches: list[Tranche]
    milestones: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    reports: list[dict[str, Any]] | None = None
    starts_on: date
    ends_on: date
    drafted_by: UUID
    drafted_at: ShanghaiTime
    org_signed_by: UUID | None
    org_signed_at: ShanghaiTime | None
    agency_signed_by: UUID | None
    agency_signed_at: ShanghaiTime | None


class ProjectDetail(ProjectRead):
    task_book: TaskBookRead | None


# --- reports and acceptance ------------------------------------------------------------------


class MilestoneProgress(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    done: bool
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class IndicatorAchieved(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    achieved: Measure


class ReportContent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20000)
    ]
    milestones: Annotated[list[MilestoneProgress], Field(max_length=50)] = Field(
        default_factory=list
    )
    indicators: Annotated[list[IndicatorAchieved], Field(max_length=50)] = Field(
        default_factory=list
    )


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReportKind
    period: Annotated[str, StringConstraints(max_length=20)] | None = None
    content: ReportContent


class IndicatorComparison(BaseModel):
    """A promised indicator of the task book next to what the report says was achieved."""

    name: str
    target: Measure | None
    unit: str
    achieved: Measure | None
    met: bool | None  # None: not reported, or a qualitative target for the reviewer to judge


ExpertReviewFlag = Literal["disagreement", "incomplete", "late_reviews", "round_open"]


class ExpertReviewRead(BaseModel):
    """What the acceptance round's experts made of a final report, aggregated: no expert is
    named. Advice for the manager, who decides the acceptance."""

    round_id: UUID
    round_state: RoundState
    deadline: ShanghaiTime
    n_reviews: int = Field(description="submitted reviews that count")
    n_expected: int = Field(description="experts on the project now: invited or accepted")
    mean: float | None
    median: float | None
    trimmed_mean: float | None = Field(description="highest and lowest dropped from 5 reviews on")
    sd: float | None
    recommendations: dict[str, int] = Field(description="how many experts recommend what")
    flags: list[ExpertReviewFlag] = Field(
        description="disagreement: the experts disagree strongly; incomplete: reviews missing; "
        "late_reviews: some came after the deadline; round_open: scores may still change"
    )


class ReportRead(BaseModel):
    id: UUID
    project_id: UUID
    kind: str
    period: str | None
    content: dict[str, Any]
    status: ReportStatus
    submitted_by: UUID
    submitted_at: ShanghaiTime
    review_comment: str | None
    reviewed_by: UUID | None
    reviewed_at: ShanghaiTime | None
    excellent: bool = False
    comparison: list[IndicatorComparison]
    expert_review: ExpertReviewRead | None = Field(
        None,
        description="final reports put to an acceptance round: its aggregated score (the "
        "program's managers at any time, other readers once the report is decided)",
    )


AnnualDecision = Literal["pass", "rectify", "terminate"]
AcceptanceResult = Literal["passed", "conditional", "failed"]


class ReportReview(BaseModel):
    """pass | rectify | terminate for annual and mid-term reports; passed | conditional | failed
    for the final one (acceptance, 验收)."""

    model_config = ConfigDict(extra="forbid")

    decision: AnnualDecision | AcceptanceResult
    comment: Reason
    conditions: Reason | None = None
    excellent: bool = Field(False, description="a final report passed with the grade excellent")

    @model_validator(mode="after")
    def _conditions_when_conditional(self) -> ReportReview:
        if (self.decision == "conditional") != (self.conditions is not None):
            raise ValueError("conditions go with, and only with, decision 'conditional'")
        if self.excellent and self.decision != "passed":
            raise ValueError("excellent goes only with decision 'passed'")
        return self


# --- change requests -------------------------------------------------------------------------


class ExtensionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["extension"]
    new_ends_on: date
    reason: Reason


class PiChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["pi_change"]
    new_pi_id: UUID
    reason: Reason


class BudgetReallocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["budget_reallocation"]
    budget: Budget
    reason: Reason


ChangeCreate = Annotated[
    ExtensionChange | PiChange | BudgetReallocation, Field(discriminator="kind")
]


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    kind: str
    details: dict[str, Any]
    reason: str
    status: ChangeStatus
    requested_by: UUID
    requested_at: ShanghaiTime
    decision_reason: str | None
    decided_by: UUID | None
    decided_at: ShanghaiTime | None


class ChangeDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: Reason


# --- termination -----------------------------------------------------------------------------


class TerminationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cause: Literal["misconduct", "inability", "request"]
    reason: Reason
    # A credit rule (e.g. FABRICATION); TERMINATED_AT_FAULT when misconduct names none.
    rule_code: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,39}$")] | None = None

    @model_validator(mode="after")
    def _rule_only_for_misconduct(self) -> TerminationRequest:
        if self.rule_code is not None and self.cause != "misconduct":
            raise ValueError("a credit rule goes only with cause 'misconduct'")
        return self
