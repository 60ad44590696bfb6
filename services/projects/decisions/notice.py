"""The public notice (公示) of approved projects, and objections to them.

Anyone may object while the notice runs, under their real name (实名异议): a logged-in person
under their account, a member of the public with their name and a phone or e-mail at which the
agency reaches them (no account; the gateway limits how many per client address). Managers of
the program see every objection with who lodged it; a logged-in objector sees their own.
Upholding an objection cancels the project (the application stays approved, the project does
not go on); dismissing closes the objection. The objector's identity stays with the agency: the
project's history, which the PI reads, names the objection, not the person.

A project is public from its notice on, unless an upheld objection cancelled it: then only
those who may read it, and those who objected to it, learn that it exists (404 for others).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.decisions.exceptions import NotAPerson, ObjectionNotFound
from services.projects.decisions.repository import ObjectionRepository
from services.projects.decisions.schemas import (
    ObjectionCreate,
    ObjectionResolution,
    PublicObjectionCreate,
)
from services.projects.exceptions import InvalidTransition, NoticeOver, ProjectNotFound
from services.projects.execution.access import managed_project
from services.projects.execution.events import ProjectEvents
from services.projects.execution.repository import ProjectRepository
from services.projects.execution.transitions import move
from services.projects.models import Objection, Project
from services.projects.models.lifecycle import (
    BEFORE_CONTRACT,
    PUBLIC_PROJECT_STATES,
    ObjectionStatus,
    ProjectStatus,
)
from services.projects.scope import manages
from services.projects.visibility import may_read_project
from shared.auth.tokens import Principal


class NoticeService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.projects = ProjectRepository(session)
        self.objections = ObjectionRepository(session)
        self.events = ProjectEvents(session)

    async def object(
        self, principal: Principal, project_id: UUID, data: ObjectionCreate, now: datetime
    ) -> Objection:
        """An objection under the caller's account (named as their account is)."""
        if principal.user_id is None:
            raise NotAPerson()
        project = await self._in_notice(project_id, now, principal)
        objection = Objection(
            filed_by=principal.user_id,
            objector_name=await self.objections.person_name(principal.user_id),
            reasons=data.reasons,
        )
        return await self._lodge(project, objection, now)

    async def object_by_name(
        self, project_id: UUID, data: PublicObjectionCreate, now: datetime
    ) -> tuple[Objection, Project]:
        """A real-name objection from someone without an account."""
        project = await self._in_notice(project_id, now, None)
        objection = Objection(
            objector_name=data.name,
            objector_contact=data.contact,
            objector_organization=data.organization,
            reasons=data.reasons,
        )
        return await self._lodge(project, objection, now), project

    async def _in_notice(
        self, project_id: UUID, now: datetime, principal: Principal | None
    ) -> Project:
        # Locked, so an objection and a signature at the end of the notice cannot cross.
        project = await self.projects.get(project_id, lock=True)
        if project is None or not await self._known(principal, project):
            raise ProjectNotFound()
        if now >= project.notice_ends_at:
            raise NoticeOver()
        if project.status != ProjectStatus.in_notice:
            raise InvalidTransition(project.status)
        return project

    async def _lodge(self, project: Project, objection: Objection, now: datetime) -> Objection:
        objection.project_id = project.id
        objection.filed_at = now
        objection.status = ObjectionStatus.open
        self.session.add(objection)
        await self.session.flush()
        await history.record(
            self.session,
            entity="objection",
            entity_id=objection.id,
            application_id=project.application_id,
            action="objection.filed",
            actor=f"objection:{objection.id}",
            to_state=ObjectionStatus.open,
            reason=objection.reasons,
            details={"project_id": str(project.id)},
        )
        return objection

    async def of_project(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[Objection]:
        project = await self.projects.get(project_id)
        if project is None:
            raise ProjectNotFound()
        if await manages(self.session, principal, project.program_id):
            return await self.objections.of_project(
                project.id, filed_by=None, offset=offset, limit=limit
            )
        if not await self._known(principal, project):
            raise ProjectNotFound()
        if principal.user_id is None:
            return []
        return await self.objections.of_project(
            project.id, filed_by=principal.user_id, offset=offset, limit=limit
        )

    async def _known(self, principal: Principal | None, project: Project) -> bool:
        """Whether the caller (None: the public) may learn the project exists: it is public,
        theirs to read, or they objected to it while it was public."""
        if project.status in PUBLIC_PROJECT_STATES:
            return True
        if principal is None:
            return False
        if await may_read_project(self.session, principal, project):
            return True
        return principal.user_id is not None and await self.objections.filed_any(
            project.id, principal.user_id
        )

    async def resolve(
        self,
        principal: Principal,
        project_id: UUID,
        objection_id: UUID,
        data: ObjectionResolution,
        now: datetime,
    ) -> tuple[Objection, Project, str]:
        """The objection resolved, and its project with the status it is shown in."""
        project = await managed_project(self.session, principal, project_id)
        objection = await self.objections.get_for_update(project.id, objection_id)
        if objection is None:
            raise ObjectionNotFound()
        if objection.status != ObjectionStatus.open:
            raise InvalidTransition(objection.status)
        if data.decision == "uphold":
            await self._cancel(project, objection, principal, data.resolution, now)
        objection.status = (
            ObjectionStatus.upheld if data.decision == "uphold" else ObjectionStatus.dismissed
        )
        objection.resolution = data.resolution
        objection.resolved_by = principal.user_id
        objection.resolved_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="objection",
            entity_id=objection.id,
            application_id=project.application_id,
            action=f"objection.{objection.status}",
            actor=principal.subject,
            from_state=ObjectionStatus.open,
            to_state=objection.status,
            reason=data.resolution,
            details={"project_id": str(project.id)},
        )
        await self.events.objection_decided(project, objection)
        return objection, project, await self.projects.shown_status(project.id, now)

    async def _cancel(
        self,
        project: Project,
        objection: Objection,
        principal: Principal,
        resolution: str,
        now: datetime,
    ) -> None:
        if project.status == ProjectStatus.cancelled:
            return  # another objection was upheld first
        if project.status not in BEFORE_CONTRACT:
            raise InvalidTransition(project.status)
        project.closed_at = now
        await move(
            self.session,
            project,
            ProjectStatus.cancelled,
            actor=principal.subject,
            action="notice.objection_upheld",
            reason=resolution,
            # The decision stands on the application; only the project does not go ahead.
            details={"objection_id": str(objection.id), "application_status": "approved"},
        )
