"""Who may read which application or project: the object rules of the projects service.

- the applicant's side: the applicant, the people on the application's team (co-PIs are on
  it) and the admins of the applicant's organization and of the organizations taking part in
  its consortium read the application whole, drafts included; the PI, the team and those
  organizations' admins read the project it became;
- agency staff read what was submitted, never a draft: program managers the applications of the
  programs they manage (admins: all programs), evaluators those of the programs or projects they
  are engaged on; of an application they read its submitted versions and what those attach;
- an expert reads the attachments of the submitted version of an application assigned to them,
  while the assignment stands and no conflict bars it (the version itself comes with the
  assignment, `/me/assignments`); nothing else of it;
- anyone else: nothing, and told 404 (not 403: existence is not theirs to learn).
"""

from __future__ import annotations

from enum import Enum
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.projects.models import (
    Application,
    ApplicationVersion,
    Call,
    ConsortiumPart,
    Engagement,
    Project,
)
from services.projects.models.submissions import TEAM
from services.projects.review.assignments.invitations import reviews
from services.projects.scope import managed_programs
from shared.auth.roles import Role
from shared.auth.tokens import Principal


class Access(Enum):
    """How much of an application the caller reads."""

    WHOLE = "whole"  # the applicant's side: every version and attachment, drafts included
    SUBMITTED = "submitted"  # agency staff: the submitted versions and their attachments
    REVIEW = "review"  # an assigned expert: the submitted version's attachments


async def engaged_on(session: AsyncSession, principal: Principal) -> tuple[set[UUID], set[UUID]]:
    """(programs, projects) an evaluator is currently engaged on."""
    if Role.evaluator not in principal.roles or principal.user_id is None:
        return set(), set()
    rows = (
        await session.execute(
            sa.select(Engagement.program_id, Engagement.project_id).where(
                Engagement.evaluator_id == principal.user_id, Engagement.is_active
            )
        )
    ).all()
    return {r.program_id for r in rows if r.program_id}, {
        r.project_id for r in rows if r.project_id
    }


def _team_member(person: UUID) -> sa.ColumnElement[bool]:
    """On the team of a version (a GIN index on the team makes this a lookup)."""
    return ApplicationVersion.content[TEAM].contains([{"user_id": str(person)}])


def teams_of(person: UUID) -> sa.Select[UUID]:
    """The applications whose latest or submitted version has `person` on its team."""
    current = aliased(Application)
    return (
        sa.select(ApplicationVersion.application_id)
        .join(current, current.id == ApplicationVersion.application_id)
        .where(
            _team_member(person),
            sa.or_(
                ApplicationVersion.version == current.version,
                ApplicationVersion.version == current.submitted_version,
            ),
        )
    )


def _submitted_teams_of(person: UUID) -> sa.Select[UUID]:
    """The applications whose submitted version has `person` on its team (a project's team)."""
    submitted = aliased(Application)
    return (
        sa.select(ApplicationVersion.application_id)
        .join(submitted, submitted.id == ApplicationVersion.application_id)
        .where(_team_member(person), ApplicationVersion.version == submitted.submitted_version)
    )


def _consortia_of(org_id: UUID) -> sa.Select[UUID]:
    """The applications an organization takes part in as a consortium member."""
    return sa.select(ConsortiumPart.application_id).where(ConsortiumPart.org_id == org_id)


def _applicant_side(principal: Principal) -> list[sa.ColumnElement[bool]]:
    sides: list[sa.ColumnElement[bool]] = []
    if principal.user_id is not None:
        sides.append(Application.applicant_id == principal.user_id)
        sides.append(Application.id.in_(teams_of(principal.user_id)))
    if principal.org_id is not None and Role.org_admin in principal.roles:
        sides.append(Application.org_id == principal.org_id)
        sides.append(Application.id.in_(_consortia_of(principal.org_id)))
    return sides


def applicant_side(principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Application`: those the caller reads whole (their side's)."""
    sides = _applicant_side(principal)
    return sa.or_(*sides) if sides else sa.false()


async def _staff_side(session: AsyncSession, principal: Principal) -> sa.ColumnElement[bool] | None:
    """Which applications agency staff may read, submitted or not (None: none at all)."""
    programs = await managed_programs(session, principal)
    if programs is None:
        return sa.true()
    allowed: list[sa.ColumnElement[bool]] = []
    engaged_programs, engaged_projects = await engaged_on(session, principal)
    if programs | engaged_programs:
        allowed.append(Call.program_id.in_(programs | engaged_programs))
    if engaged_projects:
        allowed.append(
            Application.id.in_(
                sa.select(Project.application_id).where(Project.id.in_(engaged_projects))
            )
        )
    return sa.or_(*allowed) if allowed else None


async def application_filter(session: AsyncSession, principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Application` (joined with `Call`) keeping what the caller may read:
    their side's applications, drafts included, and the staff's submitted ones."""
    allowed = _applicant_side(principal)
    staff = await _staff_side(session, principal)
    if staff is not None:
        allowed.append(sa.and_(Application.submitted_version.is_not(None), staff))
    return sa.or_(*allowed) if allowed else sa.false()


async def _readable_by(
    session: AsyncSession, application: Application, clause: sa.ColumnElement[bool]
) -> bool:
    found = await session.scalar(
        sa.select(Application.id)
        .join(Call, Call.id == Application.call_id)
        .where(Application.id == application.id, clause)
    )
    return found is not None


async def application_access(
    session: AsyncSession, principal: Principal, application: Application
) -> Access | None:
    """How much of the application the caller reads; None: nothing (told 404)."""
    side = _applicant_side(principal)
    if side and await _readable_by(session, application, sa.or_(*side)):
        return Access.WHOLE
    if application.submitted_version is None:
        return None
    staff = await _staff_side(session, principal)
    if staff is not None and await _readable_by(session, application, staff):
        return Access.SUBMITTED
    if Role.expert in principal.roles and await reviews(session, principal, application):
        return Access.REVIEW
    return None


async def may_read_application(
    session: AsyncSession, principal: Principal, application: Application
) -> bool:
    """Reads the application itself (an expert reads only what their assignment gives)."""
    return await application_access(session, principal, application) in (
        Access.WHOLE,
        Access.SUBMITTED,
    )


async def project_filter(session: AsyncSession, principal: Principal) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Project` keeping what the caller may read."""
    programs = await managed_programs(session, principal)
    if programs is None:
        return sa.true()
    allowed: list[sa.ColumnElement[bool]] = []
    if principal.user_id is not None:
        allowed.append(Project.pi_id == principal.user_id)
        # The team, less the applicant: a PI replaced by a change leaves the project.
        allowed.append(
            sa.and_(
                Project.application_id.in_(_submitted_teams_of(principal.user_id)),
                Project.application_id.not_in(
                    sa.select(Application.id).where(Application.applicant_id == principal.user_id)
                ),
            )
        )
    if principal.org_id is not None and Role.org_admin in principal.roles:
        allowed.append(Project.org_id == principal.org_id)
        allowed.append(Project.application_id.in_(_consortia_of(principal.org_id)))
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
