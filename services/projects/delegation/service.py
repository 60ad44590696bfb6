"""Delegation: a PI lets a research administrator of their organization draft the application.

The PI grants and revokes; a grant needs the application before a decision and not withdrawn
(a delegate edits only what the PI could edit: drafts and returned applications, while the
call is open). The delegate must be an active org admin of the application's organization.
Every grant and revocation is in the application's history; every version and attachment
names who saved it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.applications.repository import ApplicationRepository
from services.projects.applications.service import WITHDRAWABLE, ApplicationService
from services.projects.delegation.exceptions import (
    DelegationNotFound,
    NotResearchAdministrator,
    OnlyThePI,
)
from services.projects.delegation.repository import DelegationRepository
from services.projects.exceptions import ApplicationNotFound, InvalidTransition
from services.projects.models import Application, Delegation
from services.projects.visibility import application_access
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.ids import uuid7


class DelegationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = DelegationRepository(session)

    async def page(
        self, principal: Principal, application_id: UUID, *, offset: int, limit: int
    ) -> Sequence[Delegation]:
        """Whoever reads the application sees who may (and who could) draft it."""
        application, _ = await ApplicationService(self.session).readable(principal, application_id)
        return await self.repository.page(application.id, offset=offset, limit=limit)

    async def grant(
        self, principal: Principal, application_id: UUID, delegate_id: UUID, now: datetime
    ) -> Delegation:
        """Idempotent: a standing delegation is answered as it is."""
        application = await self._led(principal, application_id)
        if application.status not in WITHDRAWABLE:
            raise InvalidTransition(application.status)
        person = await self.repository.person(delegate_id)
        if (
            person is None
            or not person.is_active
            or person.org_id != application.org_id
            or Role.org_admin not in person.roles
            or delegate_id == application.applicant_id
        ):
            raise NotResearchAdministrator()
        standing = await self.repository.active(application.id, delegate_id)
        if standing is not None:
            return standing
        assert principal.user_id is not None  # the PI
        delegation = Delegation(
            id=uuid7(),
            application_id=application.id,
            delegate_id=delegate_id,
            granted_by=principal.user_id,
            granted_at=now,
        )
        await self.repository.add(delegation)
        await self._record(application, principal, "delegation.grant", delegate_id)
        return delegation

    async def revoke(
        self, principal: Principal, application_id: UUID, delegate_id: UUID, now: datetime
    ) -> Delegation:
        application = await self._led(principal, application_id)
        delegation = await self.repository.active(application.id, delegate_id)
        if delegation is None:
            raise DelegationNotFound()
        delegation.revoked_by = principal.user_id
        delegation.revoked_at = now
        await self.session.flush()
        await self._record(application, principal, "delegation.revoke", delegate_id)
        return delegation

    async def _led(self, principal: Principal, application_id: UUID) -> Application:
        """The application, locked, for its PI; 403 for its other readers, 404 for the rest."""
        application = await ApplicationRepository(self.session).locked(application_id)
        if application is None:
            raise ApplicationNotFound()
        if principal.user_id == application.applicant_id:
            return application
        if await application_access(self.session, principal, application) is not None:
            raise OnlyThePI()
        raise ApplicationNotFound()

    async def _record(
        self, application: Application, principal: Principal, action: str, delegate_id: UUID
    ) -> None:
        await history.record(
            self.session,
            entity="application",
            entity_id=application.id,
            application_id=application.id,
            action=action,
            actor=principal.subject,
            from_state=application.status,
            to_state=application.status,
            details={"delegate_id": str(delegate_id)},
        )
