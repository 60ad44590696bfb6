"""The events a project publishes (their contracts: `shared/contracts/projects.py`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.execution.repository import ProjectRepository
from services.projects.models import (
    ChangeRequest,
    Objection,
    Program,
    Project,
    Report,
    TaskBook,
    events,
)
from services.projects.models.lifecycle import (
    ObjectionStatus,
    ProjectStatus,
)
from services.projects.programs.repository import ProgramRepository
from shared.contracts.base import EventContract
from shared.contracts.projects import (
    CreditOrganization,
    CreditPerson,
    ObjectionDecidedV2,
    ProjectAcceptanceFailedV1,
    ProjectAcceptedV1,
    ProjectApprovedV1,
    ProjectChangedV1,
    ProjectContractedV1,
    ProjectMidtermPassedV1,
    ProjectOrganization,
    ProjectPerson,
    ProjectPublicNoticeStartedV1,
    ProjectTerminatedV1,
    TaskBookReadyToSignV1,
)
from shared.contracts.vocabulary import AcceptanceResult, ChangeKind, TerminationCause
from shared.events import outbox


class ProjectEvents:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ProjectRepository(session)
        self.programs = ProgramRepository(session)

    async def approved(self, project: Project, program: Program) -> None:
        await self._publish(
            ProjectApprovedV1(
                project_id=project.id,
                project_number=project.number,
                application_id=project.application_id,
                program_id=project.program_id,
                program_code=program.code,
                year=project.year,
                org_id=project.org_id,
                pi_id=project.pi_id,
                approved_budget_fen=project.approved_budget_fen,
            )
        )

    async def contracted(self, project: Project, task_book: TaskBook) -> None:
        program = await self.programs.referenced(project.program_id)
        await self._publish(
            ProjectContractedV1.model_validate(
                {
                    "project_id": project.id,
                    "project_number": project.number,
                    "program_id": project.program_id,
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
                    "starts_on": task_book.starts_on,
                    "ends_on": task_book.ends_on,
                }
            )
        )

    async def midterm_passed(self, project: Project, report: Report) -> None:
        await self._publish(
            ProjectMidtermPassedV1(
                project_id=project.id, project_number=project.number, report_id=report.id
            )
        )

    async def accepted(self, project: Project, result: str, conditions: str | None) -> None:
        program = await self.programs.referenced(project.program_id)
        await self._publish(
            ProjectAcceptedV1(
                project_id=project.id,
                project_number=project.number,
                program_id=project.program_id,
                program_code=program.code,
                year=project.year,
                approved_budget_fen=project.approved_budget_fen,
                org=await self._org(project),
                pi=self._pi(project),
                result=AcceptanceResult(result),
                conditions=conditions,
            )
        )

    async def acceptance_failed(self, project: Project, reason: str) -> None:
        program = await self.programs.referenced(project.program_id)
        await self._publish(
            ProjectAcceptanceFailedV1(
                project_id=project.id,
                project_number=project.number,
                program_id=project.program_id,
                program_code=program.code,
                year=project.year,
                approved_budget_fen=project.approved_budget_fen,
                org=await self._org(project),
                pi=self._pi(project),
                reason=reason,
            )
        )

    async def terminated(
        self, project: Project, *, cause: str, reason: str, rule_code: str | None
    ) -> None:
        program = await self.programs.referenced(project.program_id)
        org = await self._org(project)
        at_fault = cause == TerminationCause.misconduct
        await self._publish(
            ProjectTerminatedV1(
                project_id=project.id,
                project_number=project.number,
                program_id=project.program_id,
                cause=TerminationCause(cause),
                at_fault=at_fault,
                reason=reason,
                managing_agency=program.managing_agency,
                pi=CreditPerson(name=project.pi_name, gateway_user_id=project.pi_id),
                organization=CreditOrganization(
                    name=org.name, gateway_org_id=org.id, credit_code=org.credit_code
                ),
                # Only a termination for misconduct names a credit rule; the others record nothing.
                rule_code=(rule_code or "TERMINATED_AT_FAULT") if at_fault else None,
            )
        )

    async def changed(self, project: Project, change: ChangeRequest) -> None:
        await self._publish(
            ProjectChangedV1(
                project_id=project.id,
                project_number=project.number,
                change_id=change.id,
                kind=ChangeKind(change.kind),
                details=change.details,
            )
        )

    async def public_notice_started(self, project: Project, credit_code: str | None) -> None:
        """`credit_code` as the decision found it (a batch reads its units once)."""
        org = ProjectOrganization(id=project.org_id, name=project.org_name, credit_code=credit_code)
        await self._publish(
            ProjectPublicNoticeStartedV1(
                project_id=project.id,
                project_number=project.number,
                title=project.title,
                program_id=project.program_id,
                application_id=project.application_id,
                org=org,
                pi=self._pi(project),
                approved_budget_fen=project.approved_budget_fen,
                notice_starts_at=project.notice_starts_at,
                notice_ends_at=project.notice_ends_at,
            )
        )

    async def objection_decided(self, project: Project, objection: Objection) -> None:
        assert objection.resolution is not None
        assert objection.resolved_at is not None
        await self._publish(
            ObjectionDecidedV2(
                project_id=project.id,
                project_number=project.number,
                objection_id=objection.id,
                title=project.title,
                org=await self._org(project),
                pi=self._pi(project),
                objector_id=objection.filed_by,
                outcome="upheld" if objection.status == ObjectionStatus.upheld else "dismissed",
                resolution=objection.resolution,
                project_cancelled=project.status == ProjectStatus.cancelled,
                decided_at=objection.resolved_at,
            )
        )

    async def task_book_ready_to_sign(self, project: Project, book: TaskBook) -> None:
        await self._publish(
            TaskBookReadyToSignV1(
                project_id=project.id,
                project_number=project.number,
                title=project.title,
                org=await self._org(project),
                pi=self._pi(project),
                approved_budget_fen=project.approved_budget_fen,
                starts_on=book.starts_on,
                ends_on=book.ends_on,
                signable_from=project.notice_ends_at,
                drafted_at=book.drafted_at,
            )
        )

    # --- parts -----------------------------------------------------------------------------

    async def _org(self, project: Project) -> ProjectOrganization:
        found = await self.repo.organization(project.org_id)
        return ProjectOrganization(
            id=project.org_id,
            name=found["name"] if found else project.org_name,
            credit_code=found["credit_code"] if found else None,
        )

    @staticmethod
    def _pi(project: Project) -> ProjectPerson:
        return ProjectPerson(id=project.pi_id, name=project.pi_name)

    async def _publish(self, event: EventContract) -> None:
        await outbox.publish(self.session, events, event)
