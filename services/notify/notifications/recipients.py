"""Who is told, from the directory replica: a person named by an event, an organization's
holders of a role, or everyone holding a role (the agency's finance officers)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.notifications.repository import NotificationRepository
from shared.auth.roles import Role


class Recipients:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = NotificationRepository(session)

    async def of_organization(self, org_id: UUID, *roles: Role) -> Sequence[UUID]:
        return await self.repository.people_with_role(org_id, *roles)

    async def org_admins(self, org_id: UUID) -> Sequence[UUID]:
        return await self.of_organization(org_id, Role.org_admin)

    async def holding(self, *roles: Role) -> Sequence[UUID]:
        return await self.repository.people_with_role(None, *roles)

    async def remember_payee(self, order_id: UUID, org_id: UUID) -> None:
        await self.repository.remember_payee(order_id, org_id)

    async def paid(self, order_id: UUID) -> Sequence[UUID]:
        """The admins of the organization a payment order paid (empty: not an organization's
        account, or an order made before notify heard of it)."""
        org_id = await self.repository.payee(order_id)
        return [] if org_id is None else await self.org_admins(org_id)

    async def subject(self, user_id: UUID | None, org_id: UUID | None) -> Sequence[UUID]:
        """A credit subject: the person, or the administrators of the organization."""
        if user_id is not None:
            return [user_id]
        if org_id is not None:
            return await self.org_admins(org_id)
        return []


def distinct(*groups: Iterable[UUID]) -> list[UUID]:
    """Everyone once, in the order first named."""
    seen: dict[UUID, None] = {}
    for group in groups:
        for user_id in group:
            seen.setdefault(user_id)
    return list(seen)
