from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.projects.models.review import (
    RoundState,
)
from services.projects.programs.terms import ReviewTemplate
from services.projects.schema_types import ShanghaiTime

ConflictKind = Literal["team", "same_org", "avoid_list", "co_applicant", "declared"]


class RoundOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    one_per_organization: bool = Field(
        False, description="at most one expert per organization on each application"
    )
    normalise: bool = Field(
        False, description="rank on z-scores within the call, so no harsh or lenient expert decides"
    )
    disagreement_sd: Annotated[float, Field(gt=0, le=100)] = Field(
        15, description="flag applications whose experts' totals spread more than this"
    )


class RoundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["proposal", "acceptance"] = Field(
        "proposal",
        description="proposal: the call's applications after the formal check; acceptance "
        "(验收): its projects in progress whose final report awaits review",
    )
    deadline: AwareDatetime = Field(description="when reviews are due (after now)")
    experts_per_item: Annotated[int, Field(ge=1, le=15)] | None = Field(
        None, description="left out: the call's number of experts per application"
    )
    options: RoundOptions = Field(default_factory=RoundOptions)
    co_applicant_years: Annotated[int, Field(ge=1, le=10)] = Field(
        3, description="co-applicants within this many years before the round are conflicts"
    )
    review_template: ReviewTemplate | None = Field(
        None,
        description="acceptance only; left out: indicators achieved 40, quality of results 30, "
        "use of funds 30. A proposal round scores on the call's published template.",
    )

    @model_validator(mode="after")
    def _template_only_for_acceptance(self) -> RoundCreate:
        if self.review_template is not None and self.kind != "acceptance":
            raise ValueError("a proposal round scores on the call's template")
        return self


class RoundRead(BaseModel):
    id: UUID
    call_id: UUID
    program_id: UUID
    kind: str
    state: RoundState
    experts_per_item: int
    review_template: dict[str, Any]
    deadline: ShanghaiTime
    options: dict[str, Any]
    co_applicant_years: int
    applications: int = Field(
        description="applications the round reviews (acceptance: its projects' applications)"
    )
    created_by: UUID
    created_at: ShanghaiTime
    closed_at: ShanghaiTime | None


class ConflictRead(BaseModel):
    round_id: UUID
    application_id: UUID
    application_title: str
    expert_id: UUID
    expert_name: str
    kind: str
    evidence: dict[str, Any]
    found_at: ShanghaiTime
    overridden: bool
    overridden_by: UUID | None
    overridden_at: ShanghaiTime | None
    override_reason: str | None


class KindCount(BaseModel):
    total: int
    overridden: int


class RefreshRead(BaseModel):
    added: int
    updated: int
    removed: int
    total: int
    counts: dict[str, KindCount] = Field(description="per kind, after the refresh")


class ConflictOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: UUID
    expert_id: UUID
    kind: ConflictKind
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)
    ] = Field(description="why the expert may review despite the conflict (a written reason)")
