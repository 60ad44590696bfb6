from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, model_validator

from services.projects.models.panels import (
    PanelFormat,
    PanelMemberStatus,
    PanelSelection,
    PanelState,
)
from services.projects.schema_types import Reason, ShanghaiTime

Weight = Annotated[StrictInt, Field(ge=0, le=100)]
Comment = Annotated[str, Field(min_length=2, max_length=5000)]


class PanelSettingsWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: PanelFormat = Field(description="meeting (会评) or defence (答辩)")
    selection: PanelSelection = Field(
        description="choice: the manager names members from the qualified pool; draw: members "
        "only by random draw (随机抽取)"
    )
    written_weight: Weight = Field(description="percent of the written review in the decision")
    panel_weight: Weight = Field(description="percent of the panel; the two add up to 100")

    @model_validator(mode="after")
    def _weights_add_up(self) -> PanelSettingsWrite:
        if self.written_weight + self.panel_weight != 100:
            raise ValueError("written_weight and panel_weight must add up to 100")
        return self


class PanelSettingsRead(BaseModel):
    call_id: UUID
    format: PanelFormat
    selection: PanelSelection
    written_weight: int
    panel_weight: int
    set_by: UUID
    set_at: ShanghaiTime


class ShortlistRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_n: Annotated[StrictInt, Field(ge=1, le=1000)] | None = Field(
        default=None, description="the first N of the written ranking"
    )
    min_score: Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=3)] | None = (
        Field(default=None, description="a written score (0..100) at least this")
    )

    @model_validator(mode="after")
    def _one_rule(self) -> ShortlistRule:
        if (self.top_n is None) == (self.min_score is None):
            raise ValueError("give exactly one of top_n and min_score")
        return self


class PanelStageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortlist: ShortlistRule
    panel_size: Annotated[StrictInt, Field(ge=1, le=25)]
    reserves: Annotated[StrictInt, Field(ge=0, le=25)] = Field(
        default=2, description="reserves a draw adds after the seats, for decliners"
    )
    meeting_at: AwareDatetime = Field(description="when the panel sits (after now)")


class PanelStageRead(BaseModel):
    id: UUID
    call_id: UUID
    round_id: UUID
    state: PanelState
    format: PanelFormat
    selection: PanelSelection
    written_weight: int
    panel_weight: int
    top_n: int | None
    min_score: float | None
    panel_size: int
    reserves: int
    meeting_at: ShanghaiTime
    opened_by: UUID
    opened_at: ShanghaiTime
    scoring_at: ShanghaiTime | None
    closed_at: ShanghaiTime | None
    shortlisted: int
    seated: int
    reserves_waiting: int


class ShortlistEntryRead(BaseModel):
    application_id: UUID
    title: str
    written_rank: int
    written_score: float = Field(description="trimmed mean of the written totals, 0..100")
    by_rule: bool
    shortlisted: bool
    adjusted_by: UUID | None
    adjusted_at: ShanghaiTime | None
    adjustment_reason: str | None


class ShortlistAdjust(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortlisted: bool
    reason: Reason


class MemberRead(BaseModel):
    id: UUID
    stage_id: UUID
    expert_id: UUID
    expert_name: str
    status: PanelMemberStatus
    how: Literal["drawn", "chosen"]
    draw_id: UUID | None
    position: int | None
    added_at: ShanghaiTime
    seated_at: ShanghaiTime | None
    declined_at: ShanghaiTime | None
    decline_reason: str | None


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expert_id: UUID


class MemberDecline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class DeclineRead(BaseModel):
    declined: MemberRead
    moved_up: MemberRead | None = Field(description="the reserve who took the seat, if any")


class ExcludedExpert(BaseModel):
    expert_id: UUID
    reasons: list[str]
    conflicts: list[dict[str, object]] = Field(default_factory=list)


class DrawRead(BaseModel):
    id: UUID
    stage_id: UUID
    algorithm: str
    seed: str = Field(description="decimal, as a string (it does not fit a JSON double)")
    pool_hash: str
    pool: list[UUID]
    excluded: list[ExcludedExpert]
    seats: int
    reserves: int
    drawn: list[UUID] = Field(description="in the order drawn: the seats, then the reserves")
    drawn_by: UUID
    drawn_at: ShanghaiTime
    members: list[MemberRead]


class DrawVerification(BaseModel):
    draw_id: UUID
    algorithm: str
    seed: str
    pool_hash: str
    pool_hash_matches: bool = Field(description="the recorded pool hashes to the recorded hash")
    drawn: list[UUID] = Field(description="the draw re-run on the recorded pool and seed")
    matches: bool = Field(description="the re-run draws the same experts in the same order")


class StartScoring(BaseModel):
    model_config = ConfigDict(extra="forbid")

    short_reason: Reason | None = Field(
        default=None, description="why the panel sits with fewer members than planned"
    )


class ScoreWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: Annotated[StrictInt, Field(ge=0, le=100)]
    comment: Comment


class ScoreRead(BaseModel):
    stage_id: UUID
    application_id: UUID
    member_id: UUID
    score: int
    comment: str
    saved_at: ShanghaiTime


class MembershipApplication(BaseModel):
    application_id: UUID
    title: str
    my_score: int | None
    my_comment: str | None


class MembershipRead(BaseModel):
    """An expert's own place on a panel; a seated member also sees what the panel scores."""

    member_id: UUID
    stage_id: UUID
    call_id: UUID
    call_title: str
    format: PanelFormat
    meeting_at: ShanghaiTime
    stage_state: PanelState
    status: PanelMemberStatus
    applications: list[MembershipApplication]


class MemberScore(BaseModel):
    member_id: UUID
    expert_id: UUID
    expert_name: str
    score: int
    comment: str


class RankingEntry(BaseModel):
    application_id: UUID
    title: str
    status: str
    written_rank: int
    written_score: float
    panel_scores: list[MemberScore]
    panel_mean: float | None
    panel_score: float | None = Field(description="trimmed mean of the members' scores")
    combined: float | None = Field(
        description="(written_weight * written_score + panel_weight * panel_score) / 100"
    )
    rank: int | None


class RankingRead(BaseModel):
    stage_id: UUID
    state: PanelState
    final: bool = Field(description="the stage is closed: these are the numbers to decide on")
    written_weight: int
    panel_weight: int
    seated: int
    items: list[RankingEntry] = Field(description="the shortlist, best combined first")
    not_shortlisted: list[ShortlistEntryRead]
