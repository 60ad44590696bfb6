from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.gateway.models import Organization, User


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def organization(self, org_id: UUID) -> Organization | None:
        return await self.session.get(Organization, org_id)

    async def organization_by_code(self, credit_code: str) -> Organization | None:
        return await self.session.scalar(
            sa.select(Organization).where(Organization.credit_code == credit_code)
        )

    async def organizations(self, *, limit: int, offset: int) -> Sequence[Organization]:
        return (
            await self.session.scalars(
                sa.select(Organization).order_by(Organization.id).limit(limit).offset(offset)
            )
        ).all()

    async def user(self, user_id: UUID) -> User | None:
        return await self.session.scalar(
            sa.select(User).options(selectinload(User.roles)).where(User.id == user_id)
        )

    async def user_by_username(self, username: str) -> User | None:
        return await self.session.scalar(
            sa.select(User).options(selectinload(User.roles)).where(User.username == username)
        )

    async def users(self, *, limit: int, offset: int) -> Sequence[User]:
        return (
            await self.session.scalars(
                sa.select(User)
                .options(selectinload(User.roles))
                .order_by(User.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
