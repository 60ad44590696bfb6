"""SQL for projects and what hangs off them (task book, reports, changes, objections)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    Assignment,
    ChangeRequest,
    Objection,
    Project,
    Report,
    ReviewRound,
    TaskBook,
    directory,
)
from services.projects.models.lifecycle import (
    ChangeStatus,
    ObjectionStatus,
    ProjectStatus,
    ReportStatus,
)
from services.projects.models.review import LIVE_ASSIGNMENTS


def shown_status(now: datetime) -> sa.ColumnElement[str]:
    """The status a reader is shown at `now`.

    Nothing runs on a timer: a notice that ran out with no open objection stays `in_notice` in
    the row until the first action that needs it over moves it (`end_notice_if_over`, the same
    rule). Readers are told the truth meanwhile, and a GET writes nothing.
    """
    objection_open = sa.exists().where(
        Objection.project_id == Project.id, Objection.status == ObjectionStatus.open
    )
    notice_over = sa.and_(Project.notice_ran_out(now), ~objection_open)
    return sa.case((notice_over, ProjectStatus.awaiting_contract.value), else_=Project.status)


class ProjectRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- projects --------------------------------------------------------------------------

    async def get(self, project_id: UUID, *, lock: bool = False) -> Project | None:
        query = sa.select(Project).where(Project.id == project_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def search(
        self,
        visible: sa.ColumnElement[bool],
        *,
        now: datetime,
        program_id: UUID | None,
        year: int | None,
        status: str | None,
        limit: int,
        offset: int,
    ) -> list[tuple[Project, str]]:
        """Projects with the status each is shown at `now` (the filter is on that status)."""
        shown = shown_status(now)
        query = sa.select(Project, shown).where(visible)
        if program_id is not None:
            query = query.where(Project.program_id == program_id)
        if year is not None:
            query = query.where(Project.year == year)
        if status is not None:
            query = query.where(shown == status)
        query = query.order_by(Project.year.desc(), Project.number).limit(limit).offset(offset)
        return [(project, status) for project, status in await self.session.execute(query)]

    async def shown_status(self, project_id: UUID, now: datetime) -> str:
        status = await self.session.scalar(
            sa.select(shown_status(now)).where(Project.id == project_id)
        )
        assert status is not None  # asked only about a project in hand
        return status

    async def application(self, application_id: UUID) -> Application:
        application = await self.session.get(Application, application_id)
        assert application is not None  # a foreign key of every project
        return application

    async def submitted_content(self, application: Application) -> dict[str, Any]:
        version = application.submitted_version or application.version
        content = await self.session.scalar(
            sa.select(ApplicationVersion.content).where(
                ApplicationVersion.application_id == application.id,
                ApplicationVersion.version == version,
            )
        )
        return content or {}

    async def open_objections(self, project_id: UUID) -> int:
        count = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(Objection)
            .where(Objection.project_id == project_id, Objection.status == ObjectionStatus.open)
        )
        return count or 0

    # --- task book -------------------------------------------------------------------------

    async def task_book(self, project_id: UUID, *, lock: bool = False) -> TaskBook | None:
        query = sa.select(TaskBook).where(TaskBook.project_id == project_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    # --- reports ---------------------------------------------------------------------------

    async def reports(self, project_id: UUID, *, offset: int, limit: int) -> Sequence[Report]:
        return (
            await self.session.scalars(
                sa.select(Report)
                .where(Report.project_id == project_id)
                .order_by(Report.submitted_at, Report.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def report(self, project_id: UUID, report_id: UUID, *, lock: bool) -> Report | None:
        query = sa.select(Report).where(Report.id == report_id, Report.project_id == project_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def acceptance_rounds(self, call_id: UUID) -> Sequence[ReviewRound]:
        return (
            await self.session.scalars(
                sa.select(ReviewRound)
                .where(ReviewRound.call_id == call_id, ReviewRound.kind == "acceptance")
                .order_by(ReviewRound.created_at, ReviewRound.id)
            )
        ).all()

    async def experts_on(self, round_id: UUID, application_id: UUID) -> int:
        """Live (invited or accepted) assignments of the application in the round."""
        count = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(
                Assignment.round_id == round_id,
                Assignment.application_id == application_id,
                Assignment.status.in_(LIVE_ASSIGNMENTS),
            )
        )
        return count or 0

    async def awaiting_review(self, project_id: UUID, kind: str) -> Report | None:
        return await self.session.scalar(
            sa.select(Report)
            .where(
                Report.project_id == project_id,
                Report.kind == kind,
                Report.status == ReportStatus.submitted,
            )
            .limit(1)
        )

    # --- change requests -------------------------------------------------------------------

    async def changes(
        self, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[ChangeRequest]:
        return (
            await self.session.scalars(
                sa.select(ChangeRequest)
                .where(ChangeRequest.project_id == project_id)
                .order_by(ChangeRequest.requested_at, ChangeRequest.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def change(self, project_id: UUID, change_id: UUID) -> ChangeRequest | None:
        return await self.session.scalar(
            sa.select(ChangeRequest)
            .where(ChangeRequest.id == change_id, ChangeRequest.project_id == project_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def pending_change(self, project_id: UUID, kind: str) -> ChangeRequest | None:
        return await self.session.scalar(
            sa.select(ChangeRequest)
            .where(
                ChangeRequest.project_id == project_id,
                ChangeRequest.kind == kind,
                ChangeRequest.status == ChangeStatus.pending,
            )
            .limit(1)
        )

    # --- the directory replica (people and organizations as the gateway announced them) -----

    async def people(self, user_ids: Iterable[UUID]) -> dict[UUID, Mapping[str, Any]]:
        ids = set(user_ids)
        if not ids:
            return {}
        users = directory.users
        rows = await self.session.execute(
            sa.select(users.c.id, users.c.display_name, users.c.org_id, users.c.is_active).where(
                users.c.id.in_(ids)
            )
        )
        return {row.id: dict(row._mapping) for row in rows}

    async def person(self, user_id: UUID) -> Mapping[str, Any] | None:
        return (await self.people([user_id])).get(user_id)

    async def organizations(self, org_ids: Iterable[UUID]) -> dict[UUID, Mapping[str, Any]]:
        ids = set(org_ids)
        if not ids:
            return {}
        orgs = directory.organizations
        rows = await self.session.execute(
            sa.select(orgs.c.id, orgs.c.name, orgs.c.credit_code).where(orgs.c.id.in_(ids))
        )
        return {row.id: dict(row._mapping) for row in rows}

    async def organization(self, org_id: UUID) -> Mapping[str, Any] | None:
        return (await self.organizations([org_id])).get(org_id)
