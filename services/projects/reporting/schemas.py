"""What the reporting routes take and answer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.projects.models.reporting import ScheduleSource, Supervision
from services.projects.reporting.policy import ReportPolicyWrite
from services.projects.schema_types import Reason, ShanghaiTime

Period = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
ReportKind = Literal["annual", "midterm", "final", "financial", "progress"]
# open: owed, its due date not yet over; overdue: owed past its due date; submitted: a report
# met it; closed: owed by a project no longer running (accepted, terminated).
DueState = Literal["open", "overdue", "submitted", "closed"]


class PlannedReportWrite(BaseModel):
    """One report a task book schedules."""

    model_config = ConfigDict(extra="forbid")

    kind: ReportKind
    period: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] | None
    ) = None
    due_on: date


class ReportPolicyRead(ReportPolicyWrite):
    model_config = ConfigDict(extra="ignore")

    program_id: UUID
    own: bool = Field(description="false: the program follows the default policy")
    updated_by: UUID | None
    updated_at: ShanghaiTime | None


class ReportDueRead(BaseModel):
    id: UUID
    project_id: UUID
    kind: str
    period: str | None
    due_on: date
    state: DueState
    report_id: UUID | None
    submitted_at: ShanghaiTime | None
    reminder_days: list[int]
    reminded: list[int] = Field(description="the reminders already told (days before)")
    overdue_told_at: ShanghaiTime | None
    escalated_at: ShanghaiTime | None = Field(
        description="when credit was proposed a record for a missing final report"
    )


class ReportScheduleRead(BaseModel):
    project_id: UUID
    source: ScheduleSource
    supervision: Supervision
    credit_level: str | None = Field(
        description="the worse of the PI's and organization's levels at signing (null: the "
        "credit service could not be asked; standard supervision)"
    )
    spot_check: bool
    created_at: ShanghaiTime
    dues: list[ReportDueRead]


class DueDateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: date
    reason: Reason


class DueListItem(ReportDueRead):
    """A due report in the managers' list, with the project it belongs to."""

    program_id: UUID
    project_number: str
    project_title: str
    pi_id: UUID
    pi_name: str
    org_name: str
    days_overdue: int = Field(description="days past the due date (0 when not overdue)")
