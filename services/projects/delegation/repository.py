"""SQL of delegations, and what the directory knows of a would-be delegate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Delegation, directory


@dataclass(frozen=True)
class Person:
    org_id: UUID | None
    roles: list[str]
    is_active: bool


class DelegationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self, application_id: UUID, delegate_id: UUID) -> Delegation | None:
        found: Delegation | None = await self.session.scalar(
            sa.select(Delegation).where(
                Delegation.application_id == application_id,
                Delegation.delegate_id == delegate_id,
                Delegation.revoked_at.is_(None),
            )
        )
        return found

    async def ever_delegated(self, application_id: UUID, person: UUID) -> bool:
        found = await self.session.scalar(
            sa.select(Delegation.id)
            .where(Delegation.application_id == application_id, Delegation.delegate_id == person)
            .limit(1)
        )
        return found is not None

    async def add(self, delegation: Delegation) -> None:
        self.session.add(delegation)
        await self.session.flush()

    async def page(self, application_id: UUID, *, offset: int, limit: int) -> Sequence[Delegation]:
        return (
            await self.session.scalars(
                sa.select(Delegation)
                .where(Delegation.application_id == application_id)
                .order_by(Delegation.granted_at, Delegation.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def person(self, user_id: UUID) -> Person | None:
        users = directory.users
        row = (
            await self.session.execute(
                sa.select(users.c.org_id, users.c.roles, users.c.is_active).where(
                    users.c.id == user_id
                )
            )
        ).first()
        return Person(row.org_id, list(row.roles), row.is_active) if row else None
