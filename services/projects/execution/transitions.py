"""Moving a project from one status to the next, always with a line in the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import InvalidTransition, NoticeRunning, ObjectionsOpen
from services.projects.execution.repository import ProjectRepository
from services.projects.models import Project
from services.projects.models.lifecycle import BEFORE_CONTRACT, ProjectStatus
from shared.clock import in_shanghai


async def move(
    session: AsyncSession,
    project: Project,
    to_state: ProjectStatus,
    *,
    actor: str,
    action: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    from_state = project.status
    project.status = to_state
    await session.flush()
    await history.record(
        session,
        entity="project",
        entity_id=project.id,
        application_id=project.application_id,
        action=action,
        actor=actor,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        details=details,
    )


async def end_notice_if_over(
    session: AsyncSession, project: Project, now: datetime, *, actor: str
) -> bool:
    """in_notice -> awaiting_contract once the notice has run out with no open objection.

    Nothing runs on a timer: the first action that needs the notice to be over makes the move.
    True when the project is (now) past its notice.
    """
    if project.status != ProjectStatus.in_notice:
        return project.status == ProjectStatus.awaiting_contract
    if not project.notice_ran_out(now):
        return False
    if await ProjectRepository(session).open_objections(project.id):
        return False
    await move(
        session,
        project,
        ProjectStatus.awaiting_contract,
        actor=actor,
        action="notice.ended",
        reason="公示期满无异议",
        details={"notice_ends_at": project.notice_ends_at.isoformat()},
    )
    return True


async def require_notice_over(
    session: AsyncSession, project: Project, now: datetime, *, actor: str
) -> None:
    """Refuse unless the public notice is over with no open objection (moving on if it is)."""
    if project.status not in BEFORE_CONTRACT:
        raise InvalidTransition(project.status)
    if await end_notice_if_over(session, project, now, actor=actor):
        return
    if now < project.notice_ends_at:
        raise NoticeRunning(
            extra={"notice_ends_at": in_shanghai(project.notice_ends_at).isoformat()}
        )
    raise ObjectionsOpen()
