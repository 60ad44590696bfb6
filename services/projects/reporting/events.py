"""The events of reports on schedule (contracts: `shared/contracts/reports.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.execution.repository import ProjectRepository
from services.projects.models import Project, Report, ReportDue, events
from services.projects.programs.repository import ProgramRepository
from shared.contracts.projects import CreditOrganization, CreditPerson, ProjectPerson
from shared.contracts.reports import (
    AcceptanceConcludedV1,
    ReportDueSoonV1,
    ReportFinalOverdueV1,
    ReportOverdueV1,
)
from shared.events import outbox


class ReportingEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.projects = ProjectRepository(session)
        self.programs = ProgramRepository(session)

    async def due_soon(self, project: Project, due: ReportDue, today: date) -> None:
        days_left = max((due.due_on - today).days, 0)
        await outbox.publish(
            self.session, events, ReportDueSoonV1(**_about(project, due), days_left=days_left)
        )

    async def overdue(self, project: Project, due: ReportDue) -> None:
        await outbox.publish(self.session, events, ReportOverdueV1(**_about(project, due)))

    async def final_overdue(self, project: Project, due: ReportDue, today: date) -> None:
        program = await self.programs.referenced(project.program_id)
        await outbox.publish(
            self.session,
            events,
            ReportFinalOverdueV1(
                **_about(project, due),
                program_id=project.program_id,
                managing_agency=program.managing_agency,
                days_overdue=(today - due.due_on).days,
                pi_credit=_credit_person(project),
                organization=await self._credit_org(project),
            ),
        )

    async def acceptance_concluded(
        self, project: Project, report: Report, grade: str, comment: str
    ) -> None:
        program = await self.programs.referenced(project.program_id)
        await outbox.publish(
            self.session,
            events,
            AcceptanceConcludedV1.model_validate(
                {
                    "project_id": project.id,
                    "project_number": project.number,
                    "program_id": project.program_id,
                    "report_id": report.id,
                    "grade": grade,
                    "comment": comment,
                    "managing_agency": program.managing_agency,
                    "pi": _credit_person(project),
                    "organization": await self._credit_org(project),
                }
            ),
        )

    async def _credit_org(self, project: Project) -> CreditOrganization:
        found = await self.projects.organization(project.org_id)
        return CreditOrganization(
            name=found["name"] if found else project.org_name,
            gateway_org_id=project.org_id,
            credit_code=found["credit_code"] if found else None,
        )


def _credit_person(project: Project) -> CreditPerson:
    return CreditPerson(name=project.pi_name, gateway_user_id=project.pi_id)


def _about(project: Project, due: ReportDue) -> dict[str, Any]:
    return {
        "project_id": project.id,
        "project_number": project.number,
        "title": project.title,
        "pi": ProjectPerson(id=project.pi_id, name=project.pi_name),
        "due_id": due.id,
        "kind": due.kind,
        "period": due.period,
        "due_on": due.due_on,
    }
