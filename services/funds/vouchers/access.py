"""Finding and locking an order for whoever may act on it: the others get a 404."""

from __future__ import annotations

from uuid import UUID

from services.funds.models.vouchers import VoucherOrder
from services.funds.vouchers.exceptions import OrderNotFound
from services.funds.vouchers.repository import VoucherRepository
from shared.auth.tokens import Principal


async def locked_order(repo: VoucherRepository, order_id: UUID) -> VoucherOrder:
    order = await repo.lock_order(order_id)
    if order is None:
        raise OrderNotFound()
    return order


async def locked_for_provider(
    repo: VoucherRepository, order_id: UUID, principal: Principal
) -> VoucherOrder:
    """The order, locked, if the caller works for its provider."""
    order = await repo.lock_order(order_id)
    provider = await repo.provider(order.provider_id) if order else None
    if order is None or provider is None or provider.org_id != principal.org_id:
        raise OrderNotFound()
    return order


async def locked_for_enterprise(
    repo: VoucherRepository, order_id: UUID, principal: Principal
) -> VoucherOrder:
    """The order, locked, if the caller works for the enterprise that placed it."""
    order = await repo.lock_order(order_id)
    enterprise = await repo.enterprise(order.enterprise_id) if order else None
    if order is None or enterprise is None or enterprise.org_id != principal.org_id:
        raise OrderNotFound()
    return order
