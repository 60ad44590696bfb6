from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.projects.models.review import (
    AssignmentMethod,
    AssignmentStatus,
    RoundState,
    RunJobStatus,
    SheetStatus,
)
from services.projects.schema_types import Reason, ShanghaiTime
from shared.pagination import Page

Seed = Annotated[int, Field(ge=0, le=2**31 - 1, description="breaks ties among equal optima")]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: Seed = 0


class ProposedPair(BaseModel):
    application_id: UUID
    expert_id: UUID
    expert_name: str
    score: int
    explanation: dict[str, Any] = Field(description="why this expert: shared codes and keywords")


class Unassignable(BaseModel):
    application_id: UUID
    field: str = Field(description="the application's primary subject code")
    short_by: int
    reason: str
    supply: dict[str, Any] = Field(description="the field's experts, and why they were out")


class RunQuality(BaseModel):
    total: int = Field(description="sum of the proposed pairs' scores")
    demand: int = Field(description="reviews still needed when the run was made")
    assigned: int = Field(description="reviews proposed")
    min_application_score: int | None = Field(
        description="smallest sum of scores an application receives from this run"
    )
    mean_application_score: float | None
    min_full_application_score: int = Field(
        description="smallest per-application sum among the applications fully served"
    )
    experts_used: int
    experts_barred_by_credit: int = Field(
        description="experts of the field whose credit does not allow reviewing"
    )
    load_distribution: dict[str, int] = Field(
        description="how many experts get 1, 2, ... reviews from this run"
    )
    certificate: dict[str, Any] = Field(description="how optimality was established")


class RunSummary(BaseModel):
    id: UUID
    round_id: UUID
    seed: int
    fingerprint: str
    created_by: UUID
    created_at: ShanghaiTime
    applied_at: ShanghaiTime | None
    applied_by: UUID | None
    quality: RunQuality
    unassignable_count: int


class RunRead(RunSummary):
    pairs: list[ProposedPair]
    unassignable: list[Unassignable]


RunPage = Page[RunSummary]


class RunJobRead(BaseModel):
    """A dry run being computed (`running`), computed (`done`: the run is `run_id`) or not
    (`failed`: `problem` says why, as the dry run's request would have)."""

    id: UUID
    round_id: UUID
    seed: int
    status: RunJobStatus
    run_id: UUID | None = Field(description="once done: GET /v1/assignment-runs/{run_id}")
    problem: dict[str, Any] | None = Field(description="once failed: why (problem+json)")
    created_by: UUID
    created_at: ShanghaiTime
    finished_at: ShanghaiTime | None


class AssignmentRead(BaseModel):
    """An assignment as the round's managers see it, with the expert's identity."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    round_id: UUID
    application_id: UUID
    expert_id: UUID
    expert_name: str
    status: AssignmentStatus
    match_score: int
    explanation: dict[str, Any]
    source: str
    assigned_by: UUID
    assigned_at: ShanghaiTime
    responded_at: ShanghaiTime | None
    decline_reason: str | None
    removed_by: UUID | None
    removed_reason: str | None


AssignmentPage = Page[AssignmentRead]


class ApplyOutcome(BaseModel):
    run: RunSummary
    created: list[AssignmentRead]
    round_state: RoundState = Field(description="reviewing once every application has its experts")
    short: list[Unassignable] = Field(description="applications still short of experts")


class ManualAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: UUID
    expert_id: UUID
    reason: Reason
    force_out_of_field: bool = Field(
        default=False, description="assign an expert who shares no subject code (say why)"
    )


class Removal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class Swap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expert_id: UUID
    reason: Reason
    force_out_of_field: bool = False


class SwapOutcome(BaseModel):
    removed: AssignmentRead
    added: AssignmentRead


class ReviewedApplication(BaseModel):
    """What an expert reviews: the submitted version, without the applicant's avoid-list."""

    id: UUID
    title: str
    abstract: str
    keywords: list[str]
    subject_codes: list[str]
    budget: dict[str, Any]
    requested_budget_fen: int
    content: dict[str, Any]
    version: int = Field(description="the version under review: the one submitted")
    submitted_at: ShanghaiTime | None
    organization_name: str | None = Field(description="the applying organization")
    team_names: dict[str, str] = Field(
        description="names of the team members in `content.team`, by user id"
    )


class IndicatorResult(BaseModel):
    """A task book indicator next to what the final report says was achieved."""

    name: str
    target: Any
    unit: str
    achieved: Any = Field(description="null: not reported")
    met: bool | None = Field(description="null: not reported, or a qualitative target to judge")


class ReviewedFinalReport(BaseModel):
    """What an acceptance round's expert reviews besides the application: the project's final
    report, next to what its task book promised."""

    report_id: UUID
    project_id: UUID
    project_number: str
    title: str
    starts_on: date | None
    ends_on: date | None
    approved_budget_fen: int
    budget: dict[str, int] = Field(description="the task book's budget by category, in fen")
    summary: str
    milestones: list[dict[str, Any]]
    indicators: list[IndicatorResult]
    submitted_at: ShanghaiTime


class MySheetState(BaseModel):
    """Where my score sheet stands (the sheet itself: `GET /v1/assignments/{id}/sheet`)."""

    status: SheetStatus = Field(description="draft (saved, maybe reopened) or submitted")
    saved_at: ShanghaiTime
    submitted_at: ShanghaiTime | None
    late: bool = Field(description="first submitted after the deadline (recorded)")
    reopened_at: ShanghaiTime | None = Field(
        description="when a manager last sent it back as a draft"
    )


class MyAssignment(BaseModel):
    """One's own assignment. Never another expert's identity."""

    id: UUID
    round_id: UUID
    round_kind: str = Field(description="proposal, or acceptance (验收) of a project's results")
    round_state: RoundState = Field(
        description="closed: the scores are aggregated and final, no sheet changes any more"
    )
    call_id: UUID
    call_title: str
    status: AssignmentStatus
    deadline: ShanghaiTime
    review_template: dict[str, Any]
    comment_min_length: int = Field(
        description="characters each criterion's comment needs before the sheet may be submitted"
    )
    sheet: MySheetState | None = Field(description="null: nothing saved yet")
    match_score: int
    explanation: dict[str, Any]
    assigned_at: ShanghaiTime
    responded_at: ShanghaiTime | None
    application: ReviewedApplication
    final_report: ReviewedFinalReport | None = Field(
        None, description="acceptance rounds: the final report under review"
    )


MyAssignmentPage = Page[MyAssignment]


class MyDeclinedAssignment(BaseModel):
    """An assignment I declined: what it was about, never the application's content."""

    id: UUID
    round_id: UUID
    round_kind: str
    call_id: UUID
    call_title: str
    application_id: UUID
    application_title: str = Field(description="the title of the version I was asked to review")
    deadline: ShanghaiTime
    declined_at: ShanghaiTime | None
    reason: str | None
    conflict_declared: bool = Field(description="declined for a conflict of interest")


MyDeclinedAssignmentPage = Page[MyDeclinedAssignment]


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    conflict: bool = Field(
        default=False, description="declining because of a conflict of interest (recorded)"
    )


class Replacement(BaseModel):
    """Whether the application got other experts (never who)."""

    needed: int = Field(description="experts the application lacked after the decline")
    found: int = Field(description="experts invited in their place")
    short_by: int = Field(description="experts the application still lacks")
    reason: str | None = Field(default=None, description="why it is still short")


class DeclineOutcome(BaseModel):
    id: UUID
    status: AssignmentStatus
    conflict_declared: bool
    replacement: Replacement


# --- the random draw (随机抽取) ------------------------------------------------------------------


class ReviewSettingsWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignment_method: AssignmentMethod = Field(
        description="optimal: the optimal assignment run; random_draw: each application's "
        "experts drawn at random (随机抽取) from its qualified pool"
    )


class ReviewSettingsRead(BaseModel):
    call_id: UUID
    assignment_method: AssignmentMethod
    set_by: UUID | None = Field(description="None: never set (the optimal assignment)")
    set_at: ShanghaiTime | None


class DrawCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reserves: int = Field(
        default=2, ge=0, le=25, description="reserves per application, in draw order"
    )


class PassedOver(BaseModel):
    expert_id: UUID
    reason: str = Field(description="no_load_left or same_organization")


class LeftOut(BaseModel):
    expert_id: UUID
    reasons: list[str] = Field(
        description="in the field but not in the pool: conflicted, no_load_left, "
        "same_organization, was_on (declined or removed before), credit, credit_unknown"
    )


class ApplicationDrawRead(BaseModel):
    application_id: UUID
    wanted: int
    pool: list[UUID] = Field(description="the qualified experts, sorted")
    pool_hash: str
    order: list[UUID] = Field(description="the draw order, as far as it was walked")
    drawn: list[UUID]
    reserves: list[UUID]
    passed_over: list[PassedOver]
    left_out: list[LeftOut]
    short_by: int


class AssignmentDrawRead(BaseModel):
    id: UUID
    round_id: UUID
    algorithm: str
    seed: str = Field(description="decimal, as a string (it does not fit a JSON double)")
    reserves: int
    load_left: dict[str, int] = Field(description="each pooled expert's load left before it")
    organizations: dict[str, str] | None = Field(
        description="the pooled experts' organizations (one expert per organization only)"
    )
    applications: list[ApplicationDrawRead]
    assignments: int = Field(description="how many assignments it made")
    drawn_by: UUID
    drawn_at: ShanghaiTime


class ApplicationDrawCheck(BaseModel):
    application_id: UUID
    pool_hash_matches: bool
    matches: bool


class AssignmentDrawVerification(BaseModel):
    draw_id: UUID
    algorithm: str
    seed: str
    pool_hashes_match: bool = Field(description="every recorded pool hashes to its hash")
    matches: bool = Field(
        description="the re-run draws the same experts and reserves in the same order"
    )
    applications: list[ApplicationDrawCheck]
