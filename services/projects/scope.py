"""Object-level rules: which programs a manager runs, and separation of duties.

A program manager acts only on the programs assigned to them (admins on all). Nobody decides
on, checks or evaluates an application that they, or their organization, applied for, or
whose team they are on.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.exceptions import DutyConflict, NotManager
from services.projects.models import Application, ApplicationVersion, ProgramManager
from shared.auth.roles import Role
from shared.auth.tokens import Principal


async def managed_programs(session: AsyncSession, principal: Principal) -> set[UUID] | None:
    """The programs this person manages; None means all of them (an admin)."""
    if Role.admin in principal.roles:
        return None
    if Role.program_manager not in principal.roles or principal.user_id is None:
        return set()
    rows = await session.scalars(
        sa.select(ProgramManager.program_id).where(ProgramManager.user_id == principal.user_id)
    )
    return set(rows.all())


async def manages(session: AsyncSession, principal: Principal, program_id: UUID) -> bool:
    programs = await managed_programs(session, principal)
    return programs is None or program_id in programs


async def require_manager_of(session: AsyncSession, principal: Principal, program_id: UUID) -> None:
    if not await manages(session, principal, program_id):
        raise NotManager()


def team_ids(content: dict[str, object]) -> set[UUID]:
    """The registered people on an application's team (as stored in a version)."""
    members = content.get("team")
    if not isinstance(members, Iterable):
        return set()
    return {UUID(str(m["user_id"])) for m in members if isinstance(m, dict) and "user_id" in m}


async def check_duties(
    session: AsyncSession, principal: Principal, application: Application
) -> None:
    """Refuse (403 `duty.conflict`) when the caller or their unit is on the application."""
    me, my_org = principal.user_id, principal.org_id
    if me is not None and me == application.applicant_id:
        raise DutyConflict()
    if my_org is not None and my_org == application.org_id:
        raise DutyConflict()
    if me is None:
        return
    content = await session.scalar(
        sa.select(ApplicationVersion.content).where(
            ApplicationVersion.application_id == application.id,
            ApplicationVersion.version == application.version,
        )
    )
    if content is not None and me in team_ids(content):
        raise DutyConflict()
