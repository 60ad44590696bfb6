"""The events a project publishes. Their payloads are contracts other services consume:

- `project.approved`: a number was given (disclosure, statistics);
- `project.contracted`: funds opens the budget and pays the `signing` tranche;
- `project.midterm_passed`: funds pays the `midterm` tranche;
- `project.accepted` / `project.acceptance_failed`: post-subsidy, or recovery;
- `project.terminated`: funds recovers money; credit proposes a record when `at_fault`
  (the shape of `ProjectTerminated` in the credit service);
- `project.changed`: an approved change (a budget reallocation moves money between categories).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.execution.repository import ProjectRepository
from services.projects.models import ChangeRequest, Program, Project, Report, TaskBook, events
from services.projects.programs.repository import ProgramRepository
from shared.events import outbox


class ProjectEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ProjectRepository(session)
        self.programs = ProgramRepository(session)

    async def approved(self, project: Project, program: Program) -> None:
        await self._publish(
            "project.approved",
            project,
            {
                "project_id": str(project.id),
                "project_number": project.number,
                "application_id": str(project.application_id),
                "program_id": str(project.program_id),
                "program_code": program.code,
                "year": project.year,
                "org_id": str(project.org_id),
                "pi_id": str(project.pi_id),
                "approved_budget_fen": project.approved_budget_fen,
            },
        )

    async def contracted(self, project: Project, task_book: TaskBook) -> None:
        program = await self.programs.referenced(project.program_id)
        await self._publish(
            "project.contracted",
            project,
            {
                "project_id": str(project.id),
                "project_number": project.number,
                "program_id": str(project.program_id),
                "program_code": program.code,
                "year": project.year,
                "org": await self._org(project),
                "pi": self._pi(project),
                "approved_budget_fen": project.approved_budget_fen,
                "budget": dict(task_book.budget),
                "tranches": [
                    {"name": t["name"], "amount_fen": t["amount_fen"], "on": t["on"]}
                    for t in task_book.tranches
                ],
                "starts_on": task_book.starts_on.isoformat(),
                "ends_on": task_book.ends_on.isoformat(),
            },
        )

    async def midterm_passed(self, project: Project, report: Report) -> None:
        await self._publish(
            "project.midterm_passed",
            project,
            {
                "project_id": str(project.id),
                "project_number": project.number,
                "report_id": str(report.id),
            },
        )

    async def accepted(self, project: Project, result: str, conditions: str | None) -> None:
        await self._publish(
            "project.accepted",
            project,
            {
                **await self._summary(project),
                "result": result,
                "conditions": conditions,
            },
        )

    async def acceptance_failed(self, project: Project, reason: str) -> None:
        await self._publish(
            "project.acceptance_failed",
            project,
            {**await self._summary(project), "reason": reason},
        )

    async def terminated(
        self, project: Project, *, cause: str, reason: str, rule_code: str | None
    ) -> None:
        program = await self.programs.referenced(project.program_id)
        org = await self._org(project)
        at_fault = cause == "misconduct"
        payload: dict[str, Any] = {
            "project_id": str(project.id),
            "project_number": project.number,
            "program_id": str(project.program_id),
            "cause": cause,
            "at_fault": at_fault,
            "reason": reason,
            "managing_agency": program.managing_agency,
            "pi": {"name": project.pi_name, "gateway_user_id": str(project.pi_id)},
            "organization": {
                "name": org["name"],
                "gateway_org_id": org["id"],
                "credit_code": org["credit_code"],
            },
        }
        # Only a termination for misconduct names a credit rule; the others record nothing.
        if at_fault:
            payload["rule_code"] = rule_code or "TERMINATED_AT_FAULT"
        await self._publish("project.terminated", project, payload)

    async def changed(self, project: Project, change: ChangeRequest) -> None:
        await self._publish(
            "project.changed",
            project,
            {
                "project_id": str(project.id),
                "project_number": project.number,
                "change_id": str(change.id),
                "kind": change.kind,
                "details": change.details,
            },
        )

    # --- parts -----------------------------------------------------------------------------

    async def _summary(self, project: Project) -> dict[str, Any]:
        program = await self.programs.referenced(project.program_id)
        return {
            "project_id": str(project.id),
            "project_number": project.number,
            "program_id": str(project.program_id),
            "program_code": program.code,
            "year": project.year,
            "approved_budget_fen": project.approved_budget_fen,
            "org": await self._org(project),
            "pi": self._pi(project),
        }

    async def _org(self, project: Project) -> dict[str, Any]:
        found = await self.repo.organization(project.org_id)
        return {
            "id": str(project.org_id),
            "name": found["name"] if found else project.org_name,
            "credit_code": found["credit_code"] if found else None,
        }

    @staticmethod
    def _pi(project: Project) -> dict[str, Any]:
        return {"id": str(project.pi_id), "name": project.pi_name}

    async def _publish(self, event_type: str, project: Project, payload: dict[str, Any]) -> None:
        await outbox.publish(
            self.session,
            events,
            event_type=event_type,
            aggregate_type="project",
            aggregate_id=str(project.id),
            payload=payload,
        )
