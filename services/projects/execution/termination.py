"""Ending a project early: misconduct, inability or the undertaker's own request.

The event tells funds to recover what is left and, for misconduct, proposes a credit record.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.exceptions import InvalidTransition
from services.projects.execution.access import managed_project
from services.projects.execution.events import ProjectEvents
from services.projects.execution.schemas import TerminationRequest
from services.projects.execution.transitions import move
from services.projects.models import Project
from services.projects.models.lifecycle import RUNNING, ProjectStatus
from shared.auth.tokens import Principal

AT_FAULT_RULE = "TERMINATED_AT_FAULT"  # the credit catalog's rule when none more precise fits


async def terminate(
    session: AsyncSession,
    project: Project,
    *,
    cause: str,
    reason: str,
    rule_code: str | None,
    actor: str,
    now: datetime,
) -> None:
    if project.status not in RUNNING:
        raise InvalidTransition(project.status)
    rule_code = (rule_code or AT_FAULT_RULE) if cause == "misconduct" else None
    project.termination_cause = cause
    project.closed_at = now
    await move(
        session,
        project,
        ProjectStatus.terminated,
        actor=actor,
        action="terminated",
        reason=reason,
        details={"cause": cause, "rule_code": rule_code},
    )
    await ProjectEvents(session).terminated(
        project, cause=cause, reason=reason, rule_code=rule_code
    )


class TerminationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def terminate(
        self, principal: Principal, project_id: UUID, data: TerminationRequest, now: datetime
    ) -> Project:
        project = await managed_project(self.session, principal, project_id)
        await terminate(
            self.session,
            project,
            cause=data.cause,
            reason=data.reason,
            rule_code=data.rule_code,
            actor=principal.subject,
            now=now,
        )
        return project
