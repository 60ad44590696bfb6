"""Money moves shared by orders, expiry and fraud: releasing an order's hold and giving a
voucher's unused value back to its program's pool."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models.vouchers import (
    OrderState,
    Voucher,
    VoucherOrder,
    VoucherProgram,
    VoucherStatus,
)
from services.funds.vouchers.accounts import available, derived_id
from services.funds.vouchers.repository import VoucherRepository


def hold_id(order_id: UUID) -> UUID:
    return derived_id("order-hold", order_id)


def resolution_id(order_id: UUID) -> UUID:
    """The one post or void of an order's hold: two deciders make the same transfer."""
    return derived_id("order-resolution", order_id)


async def record_order(
    repo: VoucherRepository,
    order: VoucherOrder,
    action: str,
    before: str | None,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    await repo.record(
        subject_kind="order",
        subject_id=order.id,
        action=action,
        from_state=before,
        to_state=order.state,
        actor=actor,
        reason=reason,
        at=now,
    )


async def cancel_order(
    session: AsyncSession,
    order: VoucherOrder,
    program: VoucherProgram,
    *,
    action: str,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    """Cancels a locked order whose voucher part is still held: the hold is voided."""
    await LedgerService(session).create_transfer(
        TransferIn(
            id=resolution_id(order.id),
            pending_id=order.hold_transfer_id,
            amount=0,
            ledger=program.ledger,
            code="voucher_order",
            void_pending=True,
        ),
        actor=actor,
        now=now,
    )
    before = order.state
    order.state = OrderState.cancelled
    await session.flush()
    await record_order(
        VoucherRepository(session), order, action, before, actor=actor, reason=reason, now=now
    )


async def return_unused(
    session: AsyncSession,
    voucher: Voucher,
    program: VoucherProgram,
    *,
    transfer_key: str,
    actor: str,
    now: datetime,
) -> int:
    """Moves what is left on the voucher (holds of live orders stay) back to the pool; the
    amount moved. `transfer_key` names the occasion, so each occasion moves money once."""
    account = await VoucherRepository(session).account(voucher.account_id)
    assert account is not None
    amount = available(account)
    if amount > 0:
        await LedgerService(session).create_transfer(
            TransferIn(
                id=derived_id("voucher-return", voucher.id, transfer_key),
                debit_account_id=voucher.account_id,
                credit_account_id=program.pool_account_id,
                amount=amount,
                ledger=program.ledger,
                code="voucher_return",
                user_data={"voucher": voucher.number},
            ),
            actor=actor,
            now=now,
        )
    return amount


async def close_voucher(
    session: AsyncSession,
    voucher: Voucher,
    status: VoucherStatus,
    *,
    actor: str,
    reason: str,
    now: datetime,
) -> None:
    before = voucher.status
    voucher.status = status
    voucher.closed_at = now
    voucher.closed_by = actor
    voucher.close_reason = reason
    await session.flush()
    await VoucherRepository(session).record(
        subject_kind="voucher",
        subject_id=voucher.id,
        action=status,
        from_state=before,
        to_state=status,
        actor=actor,
        reason=reason,
        at=now,
    )
