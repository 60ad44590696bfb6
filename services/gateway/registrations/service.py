"""Organizations ask to be registered; administrators approve (the organization is created and
published like any other) or decline with a reason.

Anyone may ask, without a login, so asking tells nothing: not whether the code is registered
(nothing is stored then) nor whether others asked for it. Several requests may wait for one
code (a squatter cannot block the real organization); the administrator compares them and
approves one, which declines the others waiting for that code, with the reason saying so.
"""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.repository import IdentityRepository
from services.gateway.identity.schemas import OrganizationCreate
from services.gateway.identity.service import IdentityService
from services.gateway.models import OrganizationRequest
from services.gateway.registrations.exceptions import RequestDecided, RequestNotFound
from services.gateway.registrations.repository import RegistrationRepository
from services.gateway.registrations.schemas import OrganizationRequestCreate, RequestStatus
from shared.clock import utcnow

log = logging.getLogger(__name__)

# Why the other requests for a code were declined when one of them was approved.
ANOTHER_APPROVED = (
    "该统一社会信用代码的另一份注册申请已获批准 / Another request for this credit code was approved"
)


class RegistrationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = RegistrationRepository(session)

    async def ask(self, data: OrganizationRequestCreate) -> OrganizationRequest | None:
        """The request stored, or None for a code registered already (nothing to decide)."""
        if await IdentityRepository(self.session).organization_by_code(data.credit_code):
            log.info("organization request for a registered credit code: not stored")
            return None
        request = OrganizationRequest(
            name=data.name,
            credit_code=data.credit_code,
            kind=data.kind.value,
            contact_name=data.contact_name,
            contact_email=data.contact_email,
            contact_phone=data.contact_phone,
            status=RequestStatus.pending.value,
        )
        await self.repo.add(request)
        return request

    async def get(self, request_id: UUID, *, lock: bool = False) -> OrganizationRequest:
        request = await self.repo.get(request_id, lock=lock)
        if request is None:
            raise RequestNotFound()
        return request

    async def approve(self, request_id: UUID, admin: UUID) -> OrganizationRequest:
        request = await self._pending(request_id)
        org = await IdentityService(self.session).create_organization(
            OrganizationCreate.model_validate(
                {"name": request.name, "credit_code": request.credit_code, "kind": request.kind}
            )
        )
        self._decide(request, RequestStatus.approved, admin, None)
        request.organization_id = org.id
        for rival in await self.repo.pending_for(request.credit_code, lock=True):
            self._decide(rival, RequestStatus.declined, admin, ANOTHER_APPROVED)
        await self.session.flush()
        return request

    async def decline(self, request_id: UUID, admin: UUID, reason: str) -> OrganizationRequest:
        request = await self._pending(request_id)
        self._decide(request, RequestStatus.declined, admin, reason)
        await self.session.flush()
        return request

    async def _pending(self, request_id: UUID) -> OrganizationRequest:
        request = await self.get(request_id, lock=True)  # two admins at once: one decides
        if request.status != RequestStatus.pending.value:
            raise RequestDecided()
        return request

    @staticmethod
    def _decide(
        request: OrganizationRequest, status: RequestStatus, admin: UUID, reason: str | None
    ) -> None:
        request.status = status.value
        request.decided_by = admin
        request.decided_at = utcnow()
        request.reason = reason
