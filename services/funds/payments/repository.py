from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import Account, PaymentOrder, directory
from services.funds.models.payments import PaymentOrderStatus
from shared.directory import display_names


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

    async def people_names(self, user_ids: Collection[UUID]) -> dict[str, str]:
        """Display names from the directory replica, keyed by the id as orders keep it."""
        found = await display_names(self.session, directory, user_ids)
        return {str(user_id): name for user_id, name in found.items()}

    async def account_names(self, account_ids: Collection[UUID]) -> dict[UUID, str]:
        if not account_ids:
            return {}
        rows = await self.session.execute(
            sa.select(Account.id, Account.name).where(Account.id.in_(list(account_ids)))
        )
        return {account_id: name for account_id, name in rows}
