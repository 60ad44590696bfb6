"""Searching approved projects for the public (信息公开)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.disclosure.schemas import PublicProject
from services.projects.exceptions import ProjectNotFound
from services.projects.execution.repository import shown_status
from services.projects.models import Call, Program, Project
from services.projects.models.lifecycle import PUBLIC_PROJECT_STATES, ProjectStatus
from shared.pagination import PageParams, encode_cursor


@dataclass(frozen=True)
class ProjectSearch:
    """The public's filters; a text that parses as a UUID is an id, otherwise a code or name."""

    program: str | None = None
    year: int | None = None
    organization: str | None = None
    q: str | None = None
    status: str | None = None
    call_id: UUID | None = None
    # Only projects whose public notice runs now, i.e. those one may still object to.
    notice_running: bool = False


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _conditions(search: ProjectSearch, now: datetime) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = [Project.status.in_(PUBLIC_PROJECT_STATES)]
    if search.program:
        program_id = _as_uuid(search.program)
        conditions.append(
            Project.program_id == program_id
            if program_id
            else Program.code == search.program.upper()
        )
    if search.year is not None:
        conditions.append(Project.year == search.year)
    if search.organization:
        org_id = _as_uuid(search.organization)
        conditions.append(
            Project.org_id == org_id
            if org_id
            else Project.org_name.icontains(search.organization, autoescape=True)
        )
    if search.q:
        conditions.append(
            sa.or_(
                Project.title.icontains(search.q, autoescape=True),
                Project.number.icontains(search.q, autoescape=True),
                Project.org_name.icontains(search.q, autoescape=True),
            )
        )
    if search.status:
        conditions.append(shown_status(now) == search.status)
    if search.call_id is not None:
        conditions.append(Project.call_id == search.call_id)
    if search.notice_running:
        conditions += [
            Project.status == ProjectStatus.in_notice,
            Project.notice_starts_at <= now,
            Project.notice_ends_at > now,
        ]
    return conditions


def _public(project: Project, program: Program, call_title: str, status: str) -> PublicProject:
    return PublicProject(
        id=project.id,
        number=project.number,
        title=project.title,
        call_id=project.call_id,
        call_title=call_title,
        program_code=program.code,
        program_name_zh=program.name_zh,
        program_name_en=program.name_en,
        year=project.year,
        organization_id=project.org_id,
        organization_name=project.org_name,
        pi_name=project.pi_name,
        approved_budget_fen=project.approved_budget_fen,
        status=status,
        notice_starts_at=project.notice_starts_at,
        notice_ends_at=project.notice_ends_at,
        starts_on=project.starts_on,
        ends_on=project.ends_on,
        contracted_at=project.contracted_at,
        closed_at=project.closed_at,
        termination_cause=project.termination_cause
        if project.status == ProjectStatus.terminated
        else None,
    )


def _select(now: datetime) -> sa.Select[Project, Program, str, str]:
    return (
        sa.select(Project, Program, Call.title, shown_status(now))
        .join(Program, Program.id == Project.program_id)
        .join(Call, Call.id == Project.call_id)
    )


async def search_projects(
    session: AsyncSession, search: ProjectSearch, page: PageParams, now: datetime
) -> tuple[list[PublicProject], str | None]:
    """One page in project-number order, and the cursor of the next page (None at the end)."""
    query = (
        _select(now).where(*_conditions(search, now)).order_by(Project.number).limit(page.limit + 1)
    )
    after = page.cursor.get("after") if page.cursor else None
    if isinstance(after, str):
        query = query.where(Project.number > after)
    else:
        query = query.offset(page.offset)
    rows = (await session.execute(query)).all()
    found = [
        _public(project, program, title, status)
        for project, program, title, status in rows[: page.limit]
    ]
    more = len(rows) > page.limit
    return found, encode_cursor({"after": found[-1].number}) if more and found else None


async def public_project(session: AsyncSession, number: str, now: datetime) -> PublicProject:
    row = (
        await session.execute(
            _select(now).where(Project.number == number, Project.status.in_(PUBLIC_PROJECT_STATES))
        )
    ).first()
    if row is None:
        raise ProjectNotFound()
    project, program, title, status = row
    return _public(project, program, title, status)
