from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.schema_types import Reason, ShanghaiTime

Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=2000)]
Criterion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
# strict: a score is a whole number, not "80", 80.5 or true
Score = Annotated[int, Field(strict=True, ge=0, le=100)]
EvaluationKind = Literal["execution", "outputs", "efficiency"]


class EngagementCreate(BaseModel):
    """Engage an evaluator on a whole program (or fund) or on one project."""

    model_config = ConfigDict(extra="forbid")

    evaluator_id: UUID
    program_id: UUID | None = None
    project_id: UUID | None = None
    purpose: Purpose

    @model_validator(mode="after")
    def _one_scope(self) -> EngagementCreate:
        if (self.program_id is None) == (self.project_id is None):
            raise ValueError("give exactly one of program_id and project_id")
        return self


class EngagementEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class EngagementRead(BaseModel):
    id: UUID
    evaluator_id: UUID
    evaluator_name: str | None
    program_id: UUID | None
    project_id: UUID | None
    project_number: str | None
    purpose: str
    engaged_by: UUID
    engaged_at: ShanghaiTime
    ended_at: ShanghaiTime | None
    active: bool


class EvaluationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engagement_id: UUID
    # Which project, under a program-wide engagement; left out for an institution-efficiency
    # evaluation of the program itself. Under a project engagement it is that project.
    project_id: UUID | None = None
    kind: EvaluationKind
    scores: Annotated[dict[Criterion, Score], Field(min_length=1, max_length=20)]
    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=20000)
    ]


class EvaluationRead(BaseModel):
    id: UUID
    engagement_id: UUID
    program_id: UUID | None
    project_id: UUID | None
    project_number: str | None
    kind: str
    scores: dict[str, Any]
    summary: str
    filed_by: UUID
    filed_at: ShanghaiTime
