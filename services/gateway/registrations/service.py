"""Organizations ask to be registered; administrators approve (the organization is created and
published like any other) or decline with a reason."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.identity.exceptions import CreditCodeTaken
from services.gateway.identity.repository import IdentityRepository
from services.gateway.identity.schemas import OrganizationCreate
from services.gateway.identity.service import IdentityService
from services.gateway.models import OrganizationRequest
from services.gateway.registrations.exceptions import (
    RequestDecided,
    RequestNotFound,
    RequestPending,
)
from services.gateway.registrations.repository import RegistrationRepository
from services.gateway.registrations.schemas import OrganizationRequestCreate, RequestStatus
from shared.clock import utcnow


class RegistrationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = RegistrationRepository(session)

    async def ask(self, data: OrganizationRequestCreate) -> OrganizationRequest:
        if await IdentityRepository(self.session).organization_by_code(data.credit_code):
            raise CreditCodeTaken()
        if await self.repo.pending_for(data.credit_code) is not None:
            raise RequestPending()
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
