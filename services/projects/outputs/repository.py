"""SQL for outputs: registering, judging, the acceptance comparison and the statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    Output,
    Program,
    Project,
    Report,
)
from services.projects.models.lifecycle import PUBLIC_PROJECT_STATES
from services.projects.models.outputs import OutputKind, OutputStatus
from services.projects.outputs.exceptions import OutputExists


@dataclass(frozen=True)
class OutputTally:
    """One group of outputs: how many, and for transfers how much."""

    year: int
    kind: OutputKind
    status: OutputStatus
    count: int
    amount_fen: int


class OutputRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, output: Output) -> None:
        self.session.add(output)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:  # the same identifier, registered at the same moment
            raise OutputExists() from exc

    async def duplicate(self, project_id: UUID, kind: OutputKind, identifier: str) -> bool:
        found = await self.session.scalar(
            sa.select(Output.id).where(
                Output.project_id == project_id,
                Output.kind == kind,
                Output.identifier == identifier,
                Output.status != OutputStatus.rejected,
            )
        )
        return found is not None

    async def get(self, project_id: UUID, output_id: UUID, *, lock: bool = False) -> Output | None:
        query = sa.select(Output).where(Output.id == output_id, Output.project_id == project_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def of_project(
        self,
        project_id: UUID,
        *,
        kind: OutputKind | None,
        status: OutputStatus | None,
        offset: int,
        limit: int,
    ) -> Sequence[Output]:
        query = sa.select(Output).where(Output.project_id == project_id)
        if kind is not None:
            query = query.where(Output.kind == kind)
        if status is not None:
            query = query.where(Output.status == status)
        return (
            await self.session.scalars(query.order_by(Output.id).offset(offset).limit(limit))
        ).all()

    async def on_team(self, project: Project, person: UUID) -> bool:
        """The PI, or on the team of the submitted application (less an applicant who was
        replaced as PI by a change: they left the project)."""
        if person == project.pi_id:
            return True
        found = await self.session.scalar(
            sa.select(ApplicationVersion.application_id)
            .join(Application, Application.id == ApplicationVersion.application_id)
            .where(
                Application.id == project.application_id,
                ApplicationVersion.version == Application.submitted_version,
                Application.applicant_id != person,
                ApplicationVersion.content["team"].contains([{"user_id": str(person)}]),
            )
        )
        return found is not None

    # --- the acceptance view ---------------------------------------------------------------

    async def counts_by_indicator(
        self, project_id: UUID, as_of: datetime | None
    ) -> list[tuple[str | None, OutputKind, int, int]]:
        """(indicator, kind, verified, pending) of the project's outputs; with `as_of`, an
        output counts as verified only if it was verified by then."""
        verified = Output.status == OutputStatus.verified
        if as_of is not None:
            verified = sa.and_(verified, Output.decided_at <= as_of)
        pending = Output.status == OutputStatus.pending
        rows = await self.session.execute(
            sa.select(
                Output.indicator,
                Output.kind,
                sa.func.count().filter(verified),
                sa.func.count().filter(pending),
            )
            .where(Output.project_id == project_id)
            .group_by(Output.indicator, Output.kind)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def latest_final_report(self, project_id: UUID) -> dict[str, Any] | None:
        """The content of the project's latest final report, if any."""
        content: dict[str, Any] | None = await self.session.scalar(
            sa.select(Report.content)
            .where(Report.project_id == project_id, Report.kind == "final")
            .order_by(Report.submitted_at.desc(), Report.id.desc())
            .limit(1)
        )
        return content

    # --- statistics ------------------------------------------------------------------------

    async def program(self, program_ref: UUID | str) -> Program | None:
        """A program by id, or by code (ZDYF)."""
        if isinstance(program_ref, UUID):
            return await self.session.get(Program, program_ref)
        return await self.session.scalar(sa.select(Program).where(Program.code == program_ref))

    async def tallies(
        self,
        *,
        program_id: UUID | None,
        year: int | None,
        statuses: tuple[OutputStatus, ...],
        public_only: bool = False,
    ) -> list[OutputTally]:
        """Outputs by year of `achieved_on`, kind and status, of one program's projects (or
        all); `public_only`: of projects the public sees."""
        output_year = sa.extract("year", Output.achieved_on).cast(sa.Integer)
        query = (
            sa.select(
                output_year.label("year"),
                Output.kind,
                Output.status,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(Output.amount_fen), 0),
            )
            .join(Project, Project.id == Output.project_id)
            .where(Output.status.in_(statuses))
            .group_by(output_year, Output.kind, Output.status)
            .order_by(output_year)
        )
        if program_id is not None:
            query = query.where(Project.program_id == program_id)
        if year is not None:
            query = query.where(output_year == year)
        if public_only:
            query = query.where(Project.status.in_(PUBLIC_PROJECT_STATES))
        rows = await self.session.execute(query)
        return [
            OutputTally(
                year=int(r[0]),
                kind=OutputKind(r[1]),
                status=OutputStatus(r[2]),
                count=int(r[3]),
                amount_fen=int(r[4] or 0),
            )
            for r in rows
        ]

    async def projects_with_verified(self, program_id: UUID, year: int | None) -> dict[int, int]:
        """year -> projects of the program with at least one output verified for that year."""
        output_year = sa.extract("year", Output.achieved_on).cast(sa.Integer)
        query = (
            sa.select(output_year, sa.func.count(sa.distinct(Output.project_id)))
            .join(Project, Project.id == Output.project_id)
            .where(Project.program_id == program_id, Output.status == OutputStatus.verified)
            .group_by(output_year)
        )
        if year is not None:
            query = query.where(output_year == year)
        return {int(y): int(n) for y, n in (await self.session.execute(query)).all()}
