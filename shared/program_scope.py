"""Each service's own copy of who runs which program, who evaluates what, and whose project is
whose, fed by the projects service's events.

Projects owns program managers, evaluator engagements and projects. Credit and funds must apply
the same object rules (a manager acts within their programs, an evaluator reads what they are
engaged on), so they keep this replica and answer "may this person see program P?" with a local
query instead of a call to projects on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.events.consumer import Handler
from shared.events.outbox import Event

# The events projects publishes for this replica (their payloads are below, in the handlers).
MANAGER_ASSIGNED = "program.manager_assigned"
MANAGER_REMOVED = "program.manager_removed"
EVALUATOR_ENGAGED = "evaluator.engaged"
ENGAGEMENT_ENDED = "evaluator.engagement_ended"
PROJECT_APPROVED = "project.approved"


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


def _uuid(value: object) -> UUID | None:
    return UUID(str(value)) if value else None


def scope_handlers(tables: ScopeTables) -> dict[str, Handler]:
    async def manager_assigned(session: AsyncSession, event: Event) -> None:
        p = event.payload
        await session.execute(
            insert(tables.managers)
            .values(program_id=UUID(p["program_id"]), user_id=UUID(p["user_id"]))
            .on_conflict_do_nothing()
        )

    async def manager_removed(session: AsyncSession, event: Event) -> None:
        p = event.payload
        managers = tables.managers
        await session.execute(
            sa.delete(managers).where(
                managers.c.program_id == UUID(p["program_id"]),
                managers.c.user_id == UUID(p["user_id"]),
            )
        )

    async def engaged(session: AsyncSession, event: Event) -> None:
        p = event.payload
        await session.execute(
            insert(tables.engagements)
            .values(
                id=UUID(p["engagement_id"]),
                evaluator_id=UUID(p["evaluator_id"]),
                program_id=_uuid(p.get("program_id")),
                project_id=_uuid(p.get("project_id")),
            )
            .on_conflict_do_nothing()
        )

    async def engagement_ended(session: AsyncSession, event: Event) -> None:
        p = event.payload
        engagements = tables.engagements
        await session.execute(
            sa.update(engagements)
            .where(engagements.c.id == UUID(p["engagement_id"]))
            .values(ended_at=event.occurred_at)
        )

    async def project_approved(session: AsyncSession, event: Event) -> None:
        p = event.payload
        if not p.get("program_id"):
            return  # published before the payload named its program: nothing to scope by
        await session.execute(
            insert(tables.projects)
            .values(
                id=UUID(p["project_id"]),
                program_id=UUID(p["program_id"]),
                pi_id=UUID(p["pi_id"]),
                org_id=UUID(p["org_id"]),
            )
            .on_conflict_do_nothing()
        )

    return {
        MANAGER_ASSIGNED: manager_assigned,
        MANAGER_REMOVED: manager_removed,
        EVALUATOR_ENGAGED: engaged,
        ENGAGEMENT_ENDED: engagement_ended,
        PROJECT_APPROVED: project_approved,
    }


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
