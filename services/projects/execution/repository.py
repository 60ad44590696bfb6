"""SQL for projects and what hangs off them (task book, reports, changes, objections)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    ChangeRequest,
    Objection,
    Program,
    Project,
    Report,
    TaskBook,
    directory,
)


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
        program_id: UUID | None,
        year: int | None,
        status: str | None,
        limit: int,
        offset: int,
    ) -> Sequence[Project]:
        query = sa.select(Project).where(visible)
        if program_id is not None:
            query = query.where(Project.program_id == program_id)
        if year is not None:
            query = query.where(Project.year == year)
        if status is not None:
            query = query.where(Project.status == status)
        query = query.order_by(Project.year.desc(), Project.number).limit(limit).offset(offset)
        return (await self.session.scalars(query)).all()

    async def program(self, program_id: UUID) -> Program:
        program = await self.session.get(Program, program_id)
        assert program is not None  # a foreign key of every project
        return program

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
            .where(Objection.project_id == project_id, Objection.status == "open")
        )
        return count or 0

    # --- task book -------------------------------------------------------------------------

    async def task_book(self, project_id: UUID, *, lock: bool = False) -> TaskBook | None:
        query = sa.select(TaskBook).where(TaskBook.project_id == project_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    # --- reports ---------------------------------------------------------------------------

    async def reports(self, project_id: UUID) -> Sequence[Report]:
        return (
            await self.session.scalars(
                sa.select(Report)
                .where(Report.project_id == project_id)
                .order_by(Report.submitted_at, Report.id)
            )
        ).all()

    async def report(self, project_id: UUID, report_id: UUID, *, lock: bool) -> Report | None:
        query = sa.select(Report).where(Report.id == report_id, Report.project_id == project_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def awaiting_review(self, project_id: UUID, kind: str) -> Report | None:
        return await self.session.scalar(
            sa.select(Report)
            .where(
                Report.project_id == project_id, Report.kind == kind, Report.status == "submitted"
            )
            .limit(1)
        )

    # --- change requests -------------------------------------------------------------------

    async def changes(self, project_id: UUID) -> Sequence[ChangeRequest]:
        return (
            await self.session.scalars(
                sa.select(ChangeRequest)
                .where(ChangeRequest.project_id == project_id)
                .order_by(ChangeRequest.requested_at, ChangeRequest.id)
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
                ChangeRequest.status == "pending",
            )
            .limit(1)
        )

    # --- the directory replica (people and organizations as the gateway announced them) -----

    async def person(self, user_id: UUID) -> Mapping[str, Any] | None:
        users = directory.users
        row = (
            await self.session.execute(
                sa.select(
                    users.c.id, users.c.display_name, users.c.org_id, users.c.is_active
                ).where(users.c.id == user_id)
            )
        ).first()
        return dict(row._mapping) if row is not None else None

    async def organization(self, org_id: UUID) -> Mapping[str, Any] | None:
        orgs = directory.organizations
        row = (
            await self.session.execute(
                sa.select(orgs.c.id, orgs.c.name, orgs.c.credit_code).where(orgs.c.id == org_id)
            )
        ).first()
        return dict(row._mapping) if row is not None else None
