from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from services.projects.applications.schemas import RuleResult
from services.projects.calls.schemas import CallDetail
from services.projects.decisions.schemas import EnvelopeRead
from services.projects.models.review import RoundState
from services.projects.review.rounds.schemas import KindCount
from services.projects.schema_types import ShanghaiTime

StatusCounts = dict[str, int]


class ManagedCall(CallDetail):
    applications: StatusCounts = Field(
        description="applications that reached the agency, by status (drafts never)"
    )


class PendingFormalCheck(BaseModel):
    """An endorsed application whose formal check waits for the manager's pass or return."""

    application_id: UUID
    title: str
    applicant_id: UUID
    applicant_name: str | None
    org_id: UUID
    org_name: str | None
    requested_budget_fen: int
    submitted_at: ShanghaiTime | None
    check_id: UUID
    automatic_passed: bool
    failed_rules: list[RuleResult] = Field(description="the automatic rules it did not pass")


class ExpertProgress(BaseModel):
    expert_id: UUID
    expert_name: str
    assigned: int = Field(description="live assignments (invited or accepted)")
    accepted: int
    declined: int
    submitted: int = Field(description="score sheets submitted")
    overdue: int = Field(description="live assignments without a submitted sheet past the deadline")


class RoundProgress(BaseModel):
    id: UUID
    kind: str
    state: RoundState
    deadline: ShanghaiTime
    experts_per_item: int
    closed_at: ShanghaiTime | None
    experts: list[ExpertProgress] = Field(description="by name")
    conflicts: dict[str, KindCount] = Field(description="stored conflicts per kind")


class CallOverview(BaseModel):
    call: CallDetail
    applications: StatusCounts = Field(
        description="applications that reached the agency, by status (drafts never)"
    )
    formal_checks_pending: list[PendingFormalCheck] = Field(
        description="oldest submission first, at most 100"
    )
    envelope: EnvelopeRead | None = Field(description="the program's envelope for the call's year")
    rounds: list[RoundProgress] = Field(description="newest first")
