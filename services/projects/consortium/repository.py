"""SQL of consortium parts, and what the directory knows of their organizations and people."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ConsortiumPart, directory


class ConsortiumRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def parts(self, application_id: UUID) -> Sequence[ConsortiumPart]:
        """The lead's part first, then the others in a stable order."""
        return (
            await self.session.scalars(
                sa.select(ConsortiumPart)
                .where(ConsortiumPart.application_id == application_id)
                .order_by(ConsortiumPart.is_lead.desc(), ConsortiumPart.org_id)
                .execution_options(populate_existing=True)
            )
        ).all()

    async def add(self, part: ConsortiumPart) -> None:
        self.session.add(part)
        await self.session.flush()

    async def delete(self, parts: Iterable[ConsortiumPart]) -> None:
        for part in parts:
            await self.session.delete(part)
        await self.session.flush()

    async def organization_names(self, org_ids: Iterable[UUID]) -> dict[UUID, str]:
        orgs = directory.organizations
        rows = await self.session.execute(
            sa.select(orgs.c.id, orgs.c.name).where(orgs.c.id.in_(list(org_ids)))
        )
        return {row.id: row.name for row in rows}

    async def organizations_of(self, user_ids: Iterable[UUID]) -> dict[UUID, UUID | None]:
        """The organization of each active person among `user_ids` (others are left out)."""
        users = directory.users
        rows = await self.session.execute(
            sa.select(users.c.id, users.c.org_id).where(
                users.c.id.in_(list(user_ids)), users.c.is_active
            )
        )
        return {row.id: row.org_id for row in rows}
