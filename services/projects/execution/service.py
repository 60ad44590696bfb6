"""Reading projects, and the task book (任务书) from draft to signatures.

in_notice -> awaiting_contract (notice over, no open objection; made by the first task-book
action after the end, while reads show it as soon as it is true) -> in_progress (signed by the
organization and by the agency). Signing needs the notice over; drafting may start during it.
A signed page is never redrafted. The organization signs through an admin who neither applied
for the project nor is on its team; the agency through a manager with no stake in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import InvalidTransition
from services.projects.execution.access import managed_project, readable_project
from services.projects.execution.events import ProjectEvents
from services.projects.execution.exceptions import (
    NotSigningParty,
    TaskBookInvalid,
    TaskBookMissing,
    TaskBookSigned,
)
from services.projects.execution.repository import ProjectRepository
from services.projects.execution.schemas import Indicator, Milestone, TaskBookWrite
from services.projects.execution.transitions import end_notice_if_over, move, require_notice_over
from services.projects.models import Project, TaskBook, Transition
from services.projects.models.lifecycle import BEFORE_CONTRACT, ProjectStatus
from services.projects.reporting.plan import plan_problems
from services.projects.reporting.service import ReportSchedules
from services.projects.reporting.standing import CreditStanding
from services.projects.scope import check_duties, check_personal_duties, manages
from services.projects.visibility import project_filter
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.errors import Text


class ProjectService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ProjectRepository(session)
        self.events = ProjectEvents(session)

    # --- reading ---------------------------------------------------------------------------

    async def search(
        self,
        principal: Principal,
        *,
        now: datetime,
        program_id: UUID | None,
        year: int | None,
        status: str | None,
        limit: int,
        offset: int,
    ) -> list[tuple[Project, str]]:
        """Readable projects, each with the status it is shown at `now`."""
        return await self.repo.search(
            await project_filter(self.session, principal),
            now=now,
            program_id=program_id,
            year=year,
            status=status,
            limit=limit,
            offset=offset,
        )

    async def get(
        self, principal: Principal, project_id: UUID, now: datetime
    ) -> tuple[Project, TaskBook | None, str]:
        """The project, its task book, and the status it is shown at `now`."""
        project = await readable_project(self.session, principal, project_id)
        shown = await self.repo.shown_status(project.id, now)
        return project, await self.repo.task_book(project.id), shown

    async def history(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[Transition]:
        project = await readable_project(self.session, principal, project_id)
        return await history.story(self.session, project.application_id, offset=offset, limit=limit)

    # --- the task book ---------------------------------------------------------------------

    async def draft_task_book(
        self, principal: Principal, project_id: UUID, data: TaskBookWrite, now: datetime
    ) -> tuple[Project, TaskBook]:
        project = await managed_project(self.session, principal, project_id)
        if project.status not in BEFORE_CONTRACT:
            raise InvalidTransition(project.status)
        await end_notice_if_over(self.session, project, now, actor=principal.subject)
        book = await self.repo.task_book(project.id, lock=True)
        if book is not None and (book.org_signed_at or book.agency_signed_at):
            raise TaskBookSigned()
        _check_sums(data, project)
        _check_reports(data)
        milestones, indicators = await self._promises(project, data)
        values: dict[str, Any] = {
            "budget": data.budget.model_dump(),
            "tranches": [t.model_dump() for t in data.tranches],
            "milestones": milestones,
            "indicators": indicators,
            "reports": (
                [r.model_dump(mode="json") for r in data.reports] if data.reports else None
            ),
            "starts_on": data.starts_on,
            "ends_on": data.ends_on,
            "drafted_by": principal.user_id,
            "drafted_at": now,
        }
        if book is None:
            book = TaskBook(project_id=project.id, **values)
            self.session.add(book)
        else:
            for name, value in values.items():
                setattr(book, name, value)
        await self.session.flush()
        await history.record(
            self.session,
            entity="project",
            entity_id=project.id,
            application_id=project.application_id,
            action="task_book.drafted",
            actor=principal.subject,
            from_state=project.status,
            to_state=project.status,
            details={"budget": values["budget"], "tranches": values["tranches"]},
        )
        await self.events.task_book_ready_to_sign(project, book)
        return project, book

    async def sign(
        self,
        principal: Principal,
        project_id: UUID,
        now: datetime,
        standing: CreditStanding | None = None,
    ) -> tuple[Project, TaskBook]:
        """`standing`: the credit the schedule of reports is made from, asked beforehand
        (`reporting.standing.credit_standing`); None: standard supervision."""
        project = await readable_project(self.session, principal, project_id, lock=True)
        party = await self._party(principal, project)
        book = await self.repo.task_book(project.id, lock=True)
        signed_at = "org_signed_at" if party == "organization" else "agency_signed_at"
        if book is not None and getattr(book, signed_at) is not None:
            return project, book  # signed before: a retried signature changes nothing
        await require_notice_over(self.session, project, now, actor=principal.subject)
        if book is None:
            raise TaskBookMissing()
        if party == "organization":
            book.org_signed_by, book.org_signed_at = principal.user_id, now
        else:
            book.agency_signed_by, book.agency_signed_at = principal.user_id, now
        await self.session.flush()
        await history.record(
            self.session,
            entity="project",
            entity_id=project.id,
            application_id=project.application_id,
            action="task_book.signed",
            actor=principal.subject,
            from_state=project.status,
            to_state=project.status,
            details={"party": party},
        )
        if book.org_signed_at is not None and book.agency_signed_at is not None:
            project.starts_on, project.ends_on = book.starts_on, book.ends_on
            project.contracted_at = now
            await move(
                self.session,
                project,
                ProjectStatus.in_progress,
                actor=principal.subject,
                action="contracted",
                reason="任务书双方签署",
            )
            await self.events.contracted(project, book)
            await ReportSchedules(self.session).make(
                project, book, standing, actor=principal.subject
            )
        return project, book

    async def _party(self, principal: Principal, project: Project) -> str:
        """Which side signs: the project's organization, or the agency managing the program."""
        if Role.org_admin in principal.roles and principal.org_id == project.org_id:
            application = await self.repo.application(project.application_id)
            await check_personal_duties(self.session, principal, application)
            return "organization"
        if await manages(self.session, principal, project.program_id):
            application = await self.repo.application(project.application_id)
            await check_duties(self.session, principal, application)
            return "agency"
        raise NotSigningParty()

    async def _promises(
        self, project: Project, data: TaskBookWrite
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Milestones and indicators as given, or else as the application promised them."""
        milestones = data.milestones
        indicators = data.indicators
        if milestones is None or indicators is None:
            content = await self.repo.submitted_content(
                await self.repo.application(project.application_id)
            )
            try:
                if milestones is None:
                    milestones = [
                        Milestone.model_validate({k: m[k] for k in ("name", "due") if k in m})
                        for m in content.get("milestones") or []
                    ]
                if indicators is None:
                    indicators = [
                        Indicator.model_validate(
                            {k: i[k] for k in ("name", "target", "unit") if k in i}
                        )
                        for i in content.get("indicators") or []
                    ]
            except (ValidationError, TypeError) as exc:
                raise TaskBookInvalid(
                    Text(
                        "申报书中的进度或考核指标不完整，请在任务书中写明",
                        "The application's milestones or indicators are incomplete: give them",
                    )
                ) from exc
        return (
            [m.model_dump(mode="json") for m in milestones],
            [i.model_dump(mode="json") for i in indicators],
        )


def _check_reports(data: TaskBookWrite) -> None:
    if data.reports is None:
        return
    problems = plan_problems(
        [r.model_dump(mode="json") for r in data.reports], data.starts_on, data.ends_on
    )
    if problems:
        raise TaskBookInvalid(
            Text(
                "任务书的报告计划须有且仅有一份结题报告，各报告截止日期在项目开始后、结束后一年内",
                "the task book's reports need exactly one final report, each due after the "
                "start and at most a year after the end",
            ),
            extra={"problems": problems},
        )


def _check_sums(data: TaskBookWrite, project: Project) -> None:
    approved = project.approved_budget_fen
    problems: list[dict[str, Any]] = []
    if data.budget.total != approved:
        problems.append({"field": "budget", "sum_fen": data.budget.total, "expected_fen": approved})
    tranche_total = sum(t.amount_fen for t in data.tranches)
    if tranche_total != approved:
        problems.append({"field": "tranches", "sum_fen": tranche_total, "expected_fen": approved})
    signing = sum(1 for t in data.tranches if t.on == "signing")
    if signing != 1:
        problems.append({"field": "tranches", "signing_tranches": signing, "expected": 1})
    if data.ends_on <= data.starts_on:
        problems.append({"field": "ends_on", "message": "ends_on must be after starts_on"})
    if problems:
        raise TaskBookInvalid(
            Text(
                f"预算与拨款计划之和须等于批准经费 {approved} 分，且仅有一笔签约拨款",
                f"budget and tranches must each sum to the approved {approved} fen, "
                "with exactly one signing tranche",
            ),
            extra={"problems": problems},
        )
