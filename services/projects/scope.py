"""Object-level rules: which programs a manager runs, and separation of duties.

A program manager acts only on the programs assigned to them (admins on all). Nobody decides
on, checks or evaluates an application that they or their organization applied for (as the
lead or as a participating organization of a consortium), or whose team they are on; an
organization's admin does not endorse or sign for an application they applied for or are on
the team of.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.exceptions import DutyConflict, NotManager
from services.projects.models import (
    Application,
    ApplicationVersion,
    ConsortiumPart,
    ProgramManager,
)
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


def judged_version(application: Application) -> int:
    """The version duties are judged on: the one submitted, else the latest draft."""
    return application.submitted_version or application.version


async def teams(
    session: AsyncSession, applications: Sequence[Application]
) -> dict[UUID, set[UUID]]:
    """The team of each application's judged version, in one query for the lot (the team
    only, not the whole document)."""
    if not applications:
        return {}
    keys = [(a.id, judged_version(a)) for a in applications]
    rows = await session.execute(
        sa.select(
            ApplicationVersion.application_id, ApplicationVersion.content["team"].label("team")
        ).where(sa.tuple_(ApplicationVersion.application_id, ApplicationVersion.version).in_(keys))
    )
    found = {row.application_id: team_ids({"team": row.team}) for row in rows}
    return {a.id: found.get(a.id, set()) for a in applications}


async def _partner_in_any(
    session: AsyncSession, org_id: UUID, applications: Sequence[Application]
) -> bool:
    """Whether the organization takes part in a consortium of any of the applications."""
    found = await session.scalar(
        sa.select(ConsortiumPart.application_id)
        .where(
            ConsortiumPart.org_id == org_id,
            # one array parameter, however many applications (a decision list has hundreds)
            ConsortiumPart.application_id
            == sa.any_(sa.literal([a.id for a in applications], ARRAY(sa.Uuid()))),
        )
        .limit(1)
    )
    return found is not None


def _personal_conflict(me: UUID | None, application: Application, team: set[UUID]) -> bool:
    return me is not None and (me == application.applicant_id or me in team)


async def check_personal_duties(
    session: AsyncSession, principal: Principal, application: Application
) -> None:
    """Refuse (403 `duty.conflict`) the applicant and anyone on the team.

    For the organization's own acts (endorsing, signing the task book): its admin is of the
    same unit by definition, but must not vouch for their own application.
    """
    team = (await teams(session, [application]))[application.id]
    if _personal_conflict(principal.user_id, application, team):
        raise DutyConflict()


async def check_duties(
    session: AsyncSession, principal: Principal, application: Application
) -> None:
    """Refuse (403 `duty.conflict`) when the caller or their unit is on the application."""
    await check_duties_of(session, principal, [application])


async def check_duties_of(
    session: AsyncSession, principal: Principal, applications: Sequence[Application]
) -> None:
    """`check_duties` for many applications at once (one query for their teams)."""
    my_org = principal.org_id
    if my_org is not None and any(a.org_id == my_org for a in applications):
        raise DutyConflict()
    if my_org is not None and await _partner_in_any(session, my_org, applications):
        raise DutyConflict()
    if principal.user_id is None:
        return
    members = await teams(session, applications)
    if any(_personal_conflict(principal.user_id, a, members[a.id]) for a in applications):
        raise DutyConflict()
