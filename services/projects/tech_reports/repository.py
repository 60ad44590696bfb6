"""SQL for science and technology reports, and what the public reads of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Program, Project, TechReport
from services.projects.models.lifecycle import PUBLIC_PROJECT_STATES
from services.projects.models.outputs import TechReportStatus
from services.projects.tech_reports.exceptions import TechReportExists


@dataclass(frozen=True)
class PublicReportFilter:
    program: UUID | str | None = None  # an id, or a code (ZDYF)
    year: int | None = None  # the year it was deposited
    project_number: str | None = None


class TechReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report: TechReport) -> None:
        self.session.add(report)
        await self.session.flush()

    async def get(
        self, project_id: UUID, report_id: UUID, *, lock: bool = False
    ) -> TechReport | None:
        query = sa.select(TechReport).where(
            TechReport.id == report_id, TechReport.project_id == project_id
        )
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def of_project(
        self, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[TechReport]:
        return (
            await self.session.scalars(
                sa.select(TechReport)
                .where(TechReport.project_id == project_id)
                .order_by(TechReport.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def deposited_like(self, report: TechReport) -> bool:
        """Another report of the same kind (and year) deposited on the project."""
        found = await self.session.scalar(
            sa.select(TechReport.id).where(
                TechReport.project_id == report.project_id,
                TechReport.kind == report.kind,
                TechReport.year.is_not_distinct_from(report.year),
                TechReport.status == TechReportStatus.deposited,
                TechReport.id != report.id,
            )
        )
        return found is not None

    async def deposit(self, report: TechReport) -> None:
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:  # deposited at the same moment as another of its kind
            raise TechReportExists() from exc

    # --- the public ------------------------------------------------------------------------

    def _public(self, today: date) -> sa.Select[TechReport, Project, Program]:
        return (
            sa.select(TechReport, Project, Program)
            .join(Project, Project.id == TechReport.project_id)
            .join(Program, Program.id == Project.program_id)
            .where(
                TechReport.status == TechReportStatus.deposited,
                sa.or_(TechReport.embargo_until.is_(None), TechReport.embargo_until <= today),
                Project.status.in_(PUBLIC_PROJECT_STATES),
            )
        )

    async def public(
        self, today: date, search: PublicReportFilter, *, offset: int, limit: int
    ) -> Sequence[tuple[TechReport, Project, Program]]:
        query = self._public(today)
        if isinstance(search.program, UUID):
            query = query.where(Program.id == search.program)
        elif search.program is not None:
            query = query.where(Program.code == search.program.upper())
        if search.year is not None:
            deposited_year = sa.extract(
                "year", sa.func.timezone("Asia/Shanghai", TechReport.deposited_at)
            )
            query = query.where(deposited_year == search.year)
        if search.project_number is not None:
            query = query.where(Project.number == search.project_number)
        rows = await self.session.execute(
            query.order_by(TechReport.deposited_at.desc(), TechReport.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def public_one(
        self, today: date, report_id: UUID
    ) -> tuple[TechReport, Project, Program] | None:
        row = (
            await self.session.execute(self._public(today).where(TechReport.id == report_id))
        ).first()
        return (row[0], row[1], row[2]) if row else None
