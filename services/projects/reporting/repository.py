"""SQL of reporting policies, schedules and the reports projects owe."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Program, Project, ReportDue, ReportPolicy, ReportSchedule
from services.projects.models.lifecycle import ProjectStatus


def _overdue(today: date) -> sa.ColumnElement[bool]:
    """Owed by a running project, with its due date ended and no report in."""
    return sa.and_(
        ReportDue.report_id.is_(None),
        ReportDue.due_on < today,
        Project.status == ProjectStatus.in_progress,
    )


class ReportingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- policies --------------------------------------------------------------------------

    async def policy(self, program_id: UUID) -> ReportPolicy | None:
        return await self.session.get(ReportPolicy, program_id)

    async def program(self, program_id: UUID) -> Program | None:
        return await self.session.get(Program, program_id)

    async def save_policy(
        self, program_id: UUID, terms: dict[str, Any], by: UUID, now: datetime
    ) -> ReportPolicy:
        found = await self.session.get(
            ReportPolicy, program_id, with_for_update=True, populate_existing=True
        )
        if found is None:
            found = ReportPolicy(program_id=program_id, terms=terms, updated_by=by, updated_at=now)
            self.session.add(found)
        else:
            found.terms, found.updated_by, found.updated_at = terms, by, now
        await self.session.flush()
        return found

    # --- schedules -------------------------------------------------------------------------

    async def schedule(self, project_id: UUID) -> ReportSchedule | None:
        return await self.session.get(ReportSchedule, project_id)

    async def add_schedule(self, schedule: ReportSchedule, dues: Sequence[ReportDue]) -> None:
        self.session.add(schedule)
        self.session.add_all(dues)
        await self.session.flush()

    async def dues_of(self, project_id: UUID) -> Sequence[ReportDue]:
        return (
            await self.session.scalars(
                sa.select(ReportDue)
                .where(ReportDue.project_id == project_id)
                .order_by(ReportDue.due_on, ReportDue.kind, ReportDue.id)
            )
        ).all()

    async def due(self, project_id: UUID, due_id: UUID) -> ReportDue | None:
        return await self.session.scalar(
            sa.select(ReportDue)
            .where(ReportDue.id == due_id, ReportDue.project_id == project_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def first_open(self, project_id: UUID, kind: str, period: str | None) -> ReportDue | None:
        """The earliest report of this kind (and period, when given) still owed, locked."""
        query = sa.select(ReportDue).where(
            ReportDue.project_id == project_id,
            ReportDue.kind == kind,
            ReportDue.report_id.is_(None),
        )
        if period is not None:
            query = query.where(ReportDue.period == period)
        return await self.session.scalar(
            query.order_by(ReportDue.due_on, ReportDue.id)
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    # --- what is overdue -------------------------------------------------------------------

    async def overdue_led_by(self, pi_id: UUID, today: date) -> list[tuple[ReportDue, Project]]:
        """Reports overdue on `today` of the running projects `pi_id` leads."""
        rows = await self.session.execute(
            sa.select(ReportDue, Project)
            .join(Project, Project.id == ReportDue.project_id)
            .where(Project.pi_id == pi_id, _overdue(today))
            .order_by(ReportDue.due_on, ReportDue.id)
            .limit(20)
        )
        return [(due, project) for due, project in rows]

    async def search(
        self,
        *,
        programs: set[UUID] | None,
        today: date,
        state: str | None,
        program_id: UUID | None,
        kind: str | None,
        project_id: UUID | None,
        offset: int,
        limit: int,
    ) -> list[tuple[ReportDue, Project]]:
        """Dues of the given programs (None: all), by due date; `state` as `due_state` says."""
        query = sa.select(ReportDue, Project).join(Project, Project.id == ReportDue.project_id)
        if programs is not None:
            query = query.where(ReportDue.program_id.in_(programs))
        if state == "overdue":
            query = query.where(_overdue(today))
        elif state == "open":
            query = query.where(
                ReportDue.report_id.is_(None),
                ReportDue.due_on >= today,
                Project.status == ProjectStatus.in_progress,
            )
        elif state == "submitted":
            query = query.where(ReportDue.report_id.is_not(None))
        elif state == "closed":
            query = query.where(
                ReportDue.report_id.is_(None), Project.status != ProjectStatus.in_progress
            )
        if program_id is not None:
            query = query.where(ReportDue.program_id == program_id)
        if kind is not None:
            query = query.where(ReportDue.kind == kind)
        if project_id is not None:
            query = query.where(ReportDue.project_id == project_id)
        query = query.order_by(ReportDue.due_on, ReportDue.id).offset(offset).limit(limit)
        return [(due, project) for due, project in await self.session.execute(query)]

    # --- the reminder job ------------------------------------------------------------------

    async def claim_notices(self, now: datetime, limit: int) -> list[tuple[ReportDue, Project]]:
        """Dues with something to tell at `now`, locked with SKIP LOCKED: replicas running the
        job at once take different rows, and a row told about moves its `next_notice_at`."""
        rows = await self.session.execute(
            sa.select(ReportDue, Project)
            .join(Project, Project.id == ReportDue.project_id)
            .where(ReportDue.next_notice_at <= now)
            .order_by(ReportDue.next_notice_at)
            .limit(limit)
            .with_for_update(of=ReportDue, skip_locked=True)
        )
        return [(due, project) for due, project in rows]
