"""SQL of drawdowns."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import PaymentOrder, Transfer
from services.funds.models.fiscal import GrantDrawdown
from services.funds.models.payments import PaymentOrderStatus


class DrawdownRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, drawdown_id: UUID) -> GrantDrawdown | None:
        return await self.session.get(GrantDrawdown, drawdown_id)

    async def with_orders(
        self, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[tuple[GrantDrawdown, PaymentOrder]]:
        rows = await self.session.execute(
            sa.select(GrantDrawdown, PaymentOrder)
            .join(PaymentOrder, PaymentOrder.id == GrantDrawdown.order_id)
            .join(Transfer, Transfer.id == PaymentOrder.hold_transfer_id)
            .where(GrantDrawdown.project_id == project_id)
            .order_by(GrantDrawdown.requested_at, Transfer.seq)
            .offset(offset)
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        return [(row[0], row[1]) for row in rows.all()]

    async def waiting(self, project_id: UUID, category: str) -> int:
        """The category's drawdowns awaiting approval."""
        total = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(GrantDrawdown.amount_fen), 0))
            .join(PaymentOrder, PaymentOrder.id == GrantDrawdown.order_id)
            .where(
                GrantDrawdown.project_id == project_id,
                GrantDrawdown.category == category,
                PaymentOrder.status == PaymentOrderStatus.pending_approval,
            )
        )
        return int(total or 0)

    def add(self, row: GrantDrawdown) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()
