"""Who may read which application or project: the object rules of the projects service.

- applicants: their own applications (and the projects they lead or are on the team of);
- organization admins: their organization's;
- program managers: those of the programs they manage (admins: all);
- evaluators: those of the programs or projects they are engaged on;
- anyone else: nothing, and told 404 (not 403: existence is not theirs to learn).
"""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Call, Engagement, Project
from services.projects.scope import managed_programs
from shared.auth.roles import Role
from shared.auth.tokens import Principal


async def engaged_on(session: AsyncSession, principal: Principal) -> tuple[set[UUID], set[UUID]]:
    """(programs, projects) an evaluator is currently engaged on."""
    if Role.evaluator not in principal.roles or principal.user_id is None:
        return set(), set()
    rows = (
        await session.execute(
            sa.select(Engagement.program_id, Engagement.project_id).where(
                Engagement.evaluator_id == principal.user_id, Engagement.ended_at.is_(None)
            )
        )
    ).all()
    return {r.program_id for r in rows if r.program_id}, {
        r.project_id for r in rows if r.project_id
    }


async def application_filter(session: AsyncSession, principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Application` (joined with `Call`) keeping what the caller may read."""
    programs = await managed_programs(session, principal)
    if programs is None:
        return sa.true()
    allowed: list[sa.ColumnElement[bool]] = []
    if principal.user_id is not None and Role.applicant in principal.roles:
        allowed.append(Application.applicant_id == principal.user_id)
    if principal.org_id is not None and Role.org_admin in principal.roles:
        allowed.append(Application.org_id == principal.org_id)
    if programs:
        allowed.append(Call.program_id.in_(programs))
    engaged_programs, engaged_projects = await engaged_on(session, principal)
    if engaged_programs:
        allowed.append(Call.program_id.in_(engaged_programs))
    if engaged_projects:
        allowed.append(
            Application.id.in_(
                sa.select(Project.application_id).where(Project.id.in_(engaged_projects))
            )
        )
    return sa.or_(*allowed) if allowed else sa.false()


async def may_read_application(
    session: AsyncSession, principal: Principal, application: Application
) -> bool:
    clause = await application_filter(session, principal)
    found = await session.scalar(
        sa.select(Application.id)
        .join(Call, Call.id == Application.call_id)
        .where(Application.id == application.id, clause)
    )
    return found is not None


async def project_filter(session: AsyncSession, principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Project` keeping what the caller may read."""
    programs = await managed_programs(session, principal)
    if programs is None:
        return sa.true()
    allowed: list[sa.ColumnElement[bool]] = []
    if principal.user_id is not None:
        allowed.append(Project.pi_id == principal.user_id)
    if principal.org_id is not None and Role.org_admin in principal.roles:
        allowed.append(Project.org_id == principal.org_id)
    if programs:
        allowed.append(Project.program_id.in_(programs))
    engaged_programs, engaged_projects = await engaged_on(session, principal)
    if engaged_programs:
        allowed.append(Project.program_id.in_(engaged_programs))
    if engaged_projects:
        allowed.append(Project.id.in_(engaged_projects))
    return sa.or_(*allowed) if allowed else sa.false()


async def may_read_project(session: AsyncSession, principal: Principal, project: Project) -> bool:
    clause = await project_filter(session, principal)
    found = await session.scalar(sa.select(Project.id).where(Project.id == project.id, clause))
    return found is not None
