from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import PaymentOrder
from services.funds.models.payments import PaymentOrderStatus


class PaymentOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: UUID) -> PaymentOrder | None:
        return await self.session.get(PaymentOrder, order_id)

    async def lock(self, order_id: UUID) -> PaymentOrder | None:
        """The order, locked: two checkers deciding it at once take turns."""
        return await self.session.scalar(
            sa.select(PaymentOrder)
            .where(PaymentOrder.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def insert(self, values: dict[str, Any]) -> bool:
        inserted = await self.session.scalar(
            insert(PaymentOrder)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(PaymentOrder.id)
        )
        return inserted is not None

    async def search(
        self,
        visible: sa.ColumnElement[bool],
        *,
        status: PaymentOrderStatus | None,
        offset: int,
        limit: int,
    ) -> Sequence[PaymentOrder]:
        query = (
            sa.select(PaymentOrder)
            .where(visible)
            .order_by(PaymentOrder.created_at, PaymentOrder.id)
        )
        if status is not None:
            query = query.where(PaymentOrder.status == status)
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()
