"""Who may change an application: its PI (the applicant), and the research administrators the
PI delegated (organization admins of the application's organization, while the delegation
stands and they still hold that role there).

Submitting and withdrawing stay with the PI. A reader who may not draft (the team, the
admins of the organizations involved) is told 403; anyone else 404, as everywhere.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.applications.repository import ApplicationRepository
from services.projects.delegation.exceptions import NotDrafter
from services.projects.delegation.repository import DelegationRepository
from services.projects.exceptions import ApplicationNotFound, DutyConflict
from services.projects.models import Application
from services.projects.visibility import Access, application_access
from shared.auth.roles import Role
from shared.auth.tokens import Principal


async def is_delegate(
    session: AsyncSession, principal: Principal, application: Application
) -> bool:
    me = principal.user_id
    if (
        me is None
        or Role.org_admin not in principal.roles
        or principal.org_id != application.org_id
    ):
        return False
    return await DelegationRepository(session).active(application.id, me) is not None


async def may_draft(session: AsyncSession, principal: Principal, application: Application) -> bool:
    if principal.user_id is not None and principal.user_id == application.applicant_id:
        return True
    return await is_delegate(session, principal, application)


async def drafted_application(
    session: AsyncSession, principal: Principal, application_id: UUID, *, lock: bool = True
) -> Application:
    """The application (locked unless told), for its PI or a delegate."""
    repository = ApplicationRepository(session)
    application = await (
        repository.locked(application_id) if lock else repository.get(application_id)
    )
    if application is None:
        raise ApplicationNotFound()
    if await may_draft(session, principal, application):
        return application
    if await application_access(session, principal, application) in (
        Access.WHOLE,
        Access.SUBMITTED,
    ):
        raise NotDrafter()
    raise ApplicationNotFound()


async def check_not_delegate(
    session: AsyncSession, principal: Principal, application: Application
) -> None:
    """Refuse (403 `duty.conflict`) an organization admin who was ever the application's
    delegate: the unit does not vouch for a draft its endorser prepared."""
    me = principal.user_id
    if me is not None and await DelegationRepository(session).ever_delegated(application.id, me):
        raise DutyConflict()
