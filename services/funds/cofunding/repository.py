"""SQL of co-funding declarations."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models.fiscal import CoFundingStatus, GrantCoFunding


class CoFundingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, co_funding_id: UUID, *, lock: bool = False) -> GrantCoFunding | None:
        query = sa.select(GrantCoFunding).where(GrantCoFunding.id == co_funding_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def of_project(
        self, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[GrantCoFunding]:
        return (
            await self.session.scalars(
                sa.select(GrantCoFunding)
                .where(GrantCoFunding.project_id == project_id)
                .order_by(GrantCoFunding.declared_at, GrantCoFunding.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def confirmed_sums(self, project_id: UUID, year: int) -> dict[tuple[str, str], int]:
        """Confirmed amounts put in during the year, per (category, source)."""
        rows = await self.session.execute(
            sa.select(
                GrantCoFunding.category,
                GrantCoFunding.source,
                sa.func.sum(GrantCoFunding.amount_fen),
            )
            .where(
                GrantCoFunding.project_id == project_id,
                GrantCoFunding.fiscal_year == year,
                GrantCoFunding.status == CoFundingStatus.confirmed,
            )
            .group_by(GrantCoFunding.category, GrantCoFunding.source)
        )
        return {(category, str(source)): int(total) for category, source, total in rows.all()}

    def add(self, row: GrantCoFunding) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()
