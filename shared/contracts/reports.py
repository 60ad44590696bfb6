"""The projects service's events about reports on schedule, and about how an acceptance ended.

- `report.due_soon`: a report is due in a few days (the program's reminder days): notify tells
  the PI;
- `report.overdue`: its due date passed with no report: notify tells the PI;
- `report.final_overdue`: a final report still missing a number of days (the program's setting)
  after its due date: credit proposes a record (rule MISSING_REPORT);
- `project.acceptance_concluded`: the acceptance's grade (excellent, passed, conditional,
  failed): credit proposes a record for an excellent (EXCELLENT_ACCEPTANCE) or a failed
  (FAILED_ACCEPTANCE) one. Funds goes on acting on `project.accepted` / `.acceptance_failed`.

Each is published once: the reminder job claims the row it tells about, the review once.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import EventContract
from shared.contracts.projects import CreditOrganization, CreditPerson, ProjectPerson

ReportKind = Literal["annual", "midterm", "final", "financial", "progress"]


class _ReportDueEvent(EventContract):
    aggregate_type: ClassVar[str] = "project"
    aggregate_field: ClassVar[str | None] = "project_id"

    project_id: UUID
    project_number: str
    title: str
    pi: ProjectPerson
    due_id: UUID
    kind: ReportKind
    period: str | None
    due_on: date


class ReportDueSoonV1(_ReportDueEvent):
    event_type: ClassVar[str] = "report.due_soon"

    days_left: int = Field(ge=0)


class ReportOverdueV1(_ReportDueEvent):
    event_type: ClassVar[str] = "report.overdue"


class ReportFinalOverdueV1(_ReportDueEvent):
    """A final report missing `days_overdue` days after its due date: a record for credit to
    propose (its due process then runs; nothing is final by this event)."""

    event_type: ClassVar[str] = "report.final_overdue"

    program_id: UUID
    managing_agency: str
    days_overdue: int = Field(ge=1)
    pi_credit: CreditPerson
    organization: CreditOrganization


class AcceptanceConcludedV1(EventContract):
    """A final report was decided: the project's acceptance and its grade."""

    event_type: ClassVar[str] = "project.acceptance_concluded"
    aggregate_type: ClassVar[str] = "project"
    aggregate_field: ClassVar[str | None] = "project_id"

    project_id: UUID
    project_number: str
    program_id: UUID
    report_id: UUID
    grade: Literal["excellent", "passed", "conditional", "failed"]
    comment: str
    managing_agency: str
    pi: CreditPerson
    organization: CreditOrganization
