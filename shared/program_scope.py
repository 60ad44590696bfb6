"""Each service's own copy of who runs which program, who evaluates what, and whose project is
whose, fed by the projects service's events.

Projects owns program managers, evaluator engagements and projects. Credit and funds must apply
the same object rules (a manager acts within their programs, an evaluator reads what they are
engaged on), so they keep this replica and answer "may this person see program P?" with a local
query instead of a call to projects on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.contracts.programs import (
    EvaluatorEngagedV1,
    EvaluatorEngagementEndedV1,
    ProgramManagerAssignedV1,
    ProgramManagerRemovedV1,
)
from shared.contracts.projects import ProjectApprovedV1
from shared.events.handlers import Received, Subscription, subscriptions


@dataclass(frozen=True)
class ScopeTables:
    managers: sa.Table
    engagements: sa.Table
    projects: sa.Table


def scope_tables(metadata: sa.MetaData) -> ScopeTables:
    managers = sa.Table(
        "scope_program_managers",
        metadata,
        sa.Column("program_id", PgUUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", PgUUID(as_uuid=True), primary_key=True, index=True),
    )
    engagements = sa.Table(
        "scope_engagements",
        metadata,
        sa.Column("id", PgUUID(as_uuid=True), primary_key=True),
        sa.Column("evaluator_id", PgUUID(as_uuid=True), nullable=False, index=True),
        # Exactly one of the two: a whole program, or one project.
        sa.Column("program_id", PgUUID(as_uuid=True)),
        sa.Column("project_id", PgUUID(as_uuid=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    projects = sa.Table(
        "scope_projects",
        metadata,
        sa.Column("id", PgUUID(as_uuid=True), primary_key=True),
        sa.Column("program_id", PgUUID(as_uuid=True), nullable=False, index=True),
        sa.Column("pi_id", PgUUID(as_uuid=True), nullable=False, index=True),
        sa.Column("org_id", PgUUID(as_uuid=True), nullable=False, index=True),
    )
    return ScopeTables(managers=managers, engagements=engagements, projects=projects)


def scope_handlers(tables: ScopeTables) -> dict[str, Subscription[Any]]:
    async def manager_assigned(
        session: AsyncSession, event: Received[ProgramManagerAssignedV1]
    ) -> None:
        p = event.payload
        await session.execute(
            insert(tables.managers)
            .values(program_id=p.program_id, user_id=p.user_id)
            .on_conflict_do_nothing()
        )

    async def manager_removed(
        session: AsyncSession, event: Received[ProgramManagerRemovedV1]
    ) -> None:
        p = event.payload
        managers = tables.managers
        await session.execute(
            sa.delete(managers).where(
                managers.c.program_id == p.program_id, managers.c.user_id == p.user_id
            )
        )

    async def engaged(session: AsyncSession, event: Received[EvaluatorEngagedV1]) -> None:
        p = event.payload
        await session.execute(
            insert(tables.engagements)
            .values(
                id=p.engagement_id,
                evaluator_id=p.evaluator_id,
                program_id=p.program_id,
                project_id=p.project_id,
            )
            .on_conflict_do_nothing()
        )

    async def engagement_ended(
        session: AsyncSession, event: Received[EvaluatorEngagementEndedV1]
    ) -> None:
        engagements = tables.engagements
        await session.execute(
            sa.update(engagements)
            .where(engagements.c.id == event.payload.engagement_id)
            .values(ended_at=event.occurred_at)
        )

    async def project_approved(session: AsyncSession, event: Received[ProjectApprovedV1]) -> None:
        p = event.payload
        if p.program_id is None:
            return  # published before the payload named its program: nothing to scope by
        await session.execute(
            insert(tables.projects)
            .values(id=p.project_id, program_id=p.program_id, pi_id=p.pi_id, org_id=p.org_id)
            .on_conflict_do_nothing()
        )

    return subscriptions(
        Subscription(ProgramManagerAssignedV1, manager_assigned),
        Subscription(ProgramManagerRemovedV1, manager_removed),
        Subscription(EvaluatorEngagedV1, engaged),
        Subscription(EvaluatorEngagementEndedV1, engagement_ended),
        Subscription(ProjectApprovedV1, project_approved),
    )


@dataclass(frozen=True)
class StaffScope:
    """What a member of the agency's staff may see beyond their own affairs.

    `everything` for admins; otherwise the programs they manage, and the programs and projects
    they are currently engaged on as an evaluator. Other roles have none of these.
    """

    everything: bool = False
    managed_programs: frozenset[UUID] = frozenset()
    engaged_programs: frozenset[UUID] = frozenset()
    engaged_projects: frozenset[UUID] = frozenset()

    @property
    def programs(self) -> frozenset[UUID]:
        """Every program the person may read (managed or engaged on)."""
        return self.managed_programs | self.engaged_programs

    def manages(self, program_id: UUID | None) -> bool:
        return self.everything or (program_id is not None and program_id in self.managed_programs)

    def reads_program(self, program_id: UUID | None) -> bool:
        return self.everything or (program_id is not None and program_id in self.programs)

    def reads_project(self, project_id: UUID | None, program_id: UUID | None) -> bool:
        return self.reads_program(program_id) or (
            project_id is not None and project_id in self.engaged_projects
        )


async def staff_scope(
    connection: AsyncSession | AsyncConnection, tables: ScopeTables, principal: Principal
) -> StaffScope:
    """The caller's scope, in one round trip (none for roles that have no program scope)."""
    if Role.admin in principal.roles:
        return StaffScope(everything=True)
    me = principal.user_id
    is_manager = Role.program_manager in principal.roles
    is_evaluator = Role.evaluator in principal.roles
    if me is None or not (is_manager or is_evaluator):
        return StaffScope()
    managers, engagements = tables.managers, tables.engagements
    no_project = sa.null().cast(PgUUID(as_uuid=True))
    parts: list[sa.Select[tuple[bool, UUID | None, UUID | None]]] = []
    if is_manager:
        parts.append(
            sa.select(
                sa.true().label("managed"),
                managers.c.program_id.label("program_id"),
                no_project.label("project_id"),
            ).where(managers.c.user_id == me)
        )
    if is_evaluator:
        parts.append(
            sa.select(
                sa.false().label("managed"),
                engagements.c.program_id.label("program_id"),
                engagements.c.project_id.label("project_id"),
            ).where(engagements.c.evaluator_id == me, engagements.c.ended_at.is_(None))
        )
    rows = (await connection.execute(sa.union_all(*parts))).all()
    return StaffScope(
        managed_programs=frozenset(r.program_id for r in rows if r.managed and r.program_id),
        engaged_programs=frozenset(r.program_id for r in rows if not r.managed and r.program_id),
        engaged_projects=frozenset(r.project_id for r in rows if not r.managed and r.project_id),
    )
