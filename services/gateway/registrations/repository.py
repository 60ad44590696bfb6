from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import OrganizationRequest
from services.gateway.registrations.schemas import RequestStatus


class RegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: OrganizationRequest) -> None:
        self.session.add(request)
        await self.session.flush()
        await self.session.refresh(request, ["created_at"])

    async def get(self, request_id: UUID, *, lock: bool = False) -> OrganizationRequest | None:
        query = sa.select(OrganizationRequest).where(OrganizationRequest.id == request_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def pending_for(
        self, credit_code: str, *, lock: bool = False
    ) -> Sequence[OrganizationRequest]:
        query = sa.select(OrganizationRequest).where(
            OrganizationRequest.credit_code == credit_code,
            OrganizationRequest.status == RequestStatus.pending.value,
        )
        if lock:
            query = query.order_by(OrganizationRequest.id).with_for_update()
        return (await self.session.scalars(query)).all()

    async def requests(
        self, status: RequestStatus | None, *, limit: int, offset: int
    ) -> Sequence[OrganizationRequest]:
        query = sa.select(OrganizationRequest)
        if status is not None:
            query = query.where(OrganizationRequest.status == status.value)
        return (
            await self.session.scalars(
                query.order_by(OrganizationRequest.id).limit(limit).offset(offset)
            )
        ).all()
