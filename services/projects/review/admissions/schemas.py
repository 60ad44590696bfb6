from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.models import ExpertApplicationState
from services.projects.review.experts.schemas import (
    Keywords,
    Label,
    Primary,
    Secondary,
    check_subjects,
)
from services.projects.schema_types import Reason, ShanghaiTime

Statement = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


class ExpertApplicationCreate(BaseModel):
    """What the pool needs to know of a future expert (name and organization come from the
    directory), and why they apply."""

    model_config = ConfigDict(extra="forbid")

    title: Label = Field(description="职称, e.g. 研究员, 教授")
    region: Label
    primary_subjects: Primary
    secondary_subjects: Secondary = Field(default_factory=list)
    keywords: Keywords = Field(default_factory=list)
    statement: Statement = Field(description="research areas and review experience, briefly")

    @model_validator(mode="after")
    def _consistent(self) -> ExpertApplicationCreate:
        check_subjects(self.primary_subjects, self.secondary_subjects, self.keywords)
        return self


class ExpertApplicationDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "decline"]
    reason: Reason = Field(description="recorded, and told to the applicant")


class ExpertApplicationRead(BaseModel):
    id: UUID
    user_id: UUID
    name: str | None = Field(description="as the directory knows the person")
    org_name: str | None
    title: str
    region: str
    primary_subjects: list[str]
    secondary_subjects: list[str]
    keywords: list[str]
    statement: str
    state: ExpertApplicationState
    submitted_at: ShanghaiTime
    decided_by: UUID | None
    decided_at: ShanghaiTime | None
    reason: str | None
