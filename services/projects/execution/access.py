"""Who may act on a project: readers, the program's managers, the PI.

A caller who may not read the project is told it does not exist (404); one who may read it but
not act gets 403 with the reason.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.exceptions import ProjectNotFound
from services.projects.execution.exceptions import NotProjectLead
from services.projects.execution.repository import ProjectRepository
from services.projects.models import Project
from services.projects.scope import check_duties, require_manager_of
from services.projects.visibility import may_read_project
from shared.auth.tokens import Principal


async def readable_project(
    session: AsyncSession, principal: Principal, project_id: UUID, *, lock: bool = False
) -> Project:
    project = await ProjectRepository(session).get(project_id, lock=lock)
    if project is None or not await may_read_project(session, principal, project):
        raise ProjectNotFound()
    return project


async def managed_project(session: AsyncSession, principal: Principal, project_id: UUID) -> Project:
    """The project, locked, for a manager of its program who has no stake in it."""
    project = await readable_project(session, principal, project_id, lock=True)
    await require_manager_of(session, principal, project.program_id)
    await check_duties(
        session, principal, await ProjectRepository(session).application(project.application_id)
    )
    return project


async def led_project(session: AsyncSession, principal: Principal, project_id: UUID) -> Project:
    """The project, locked, for its PI."""
    project = await readable_project(session, principal, project_id, lock=True)
    if principal.user_id != project.pi_id:
        raise NotProjectLead()
    return project
