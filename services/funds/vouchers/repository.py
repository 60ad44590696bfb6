from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import Account, Transfer, directory
from services.funds.models.vouchers import (
    UNFILED_ORDER_STATES,
    OrderState,
    Voucher,
    VoucherEnterprise,
    VoucherGroupUsage,
    VoucherHistory,
    VoucherInvoice,
    VoucherOrder,
    VoucherProgram,
    VoucherProvider,
    VoucherStatus,
    voucher_number_seq,
)
from shared.ids import uuid7


class VoucherRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _insert(self, model: type[Any], values: dict[str, Any]) -> bool:
        """Inserts unless the row (or a unique value of it) is there; whether it inserted."""
        primary = sa.inspect(model).primary_key[0]
        inserted = await self.session.scalar(
            insert(model).values(**values).on_conflict_do_nothing().returning(primary)
        )
        return inserted is not None

    async def _locked(self, model: type[Any], key: UUID) -> Any:
        return await self.session.scalar(
            sa.select(model)
            .where(sa.inspect(model).primary_key[0] == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    # --- directory -------------------------------------------------------------------------

    async def organization(self, org_id: UUID) -> tuple[UUID, str, str] | None:
        """(id, name, credit code) of an organization in the gateway directory replica."""
        orgs = directory.organizations
        row = (
            await self.session.execute(
                sa.select(orgs.c.id, orgs.c.name, orgs.c.credit_code).where(orgs.c.id == org_id)
            )
        ).one_or_none()
        return (row.id, row.name, row.credit_code) if row is not None else None

    async def account(self, account_id: UUID) -> Account | None:
        return await self.session.get(Account, account_id, populate_existing=True)

    async def paid_from(self, account_id: UUID) -> int:
        """What left an account through posted holds: a voucher's redeemed orders."""
        paid = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Transfer.amount), 0)).where(
                Transfer.debit_account_id == account_id, Transfer.kind == "post"
            )
        )
        return int(paid or 0)

    # --- programs --------------------------------------------------------------------------

    async def program(self, program_id: UUID) -> VoucherProgram | None:
        return await self.session.get(VoucherProgram, program_id)

    async def insert_program(self, values: dict[str, Any]) -> bool:
        return await self._insert(VoucherProgram, values)

    async def programs(self, *, offset: int, limit: int) -> Sequence[VoucherProgram]:
        query = sa.select(VoucherProgram).order_by(VoucherProgram.year.desc(), VoucherProgram.code)
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    # --- providers and enterprises ----------------------------------------------------------

    async def provider(self, provider_id: UUID) -> VoucherProvider | None:
        return await self.session.get(VoucherProvider, provider_id)

    async def provider_of(self, org_id: UUID) -> VoucherProvider | None:
        return await self.session.scalar(
            sa.select(VoucherProvider).where(VoucherProvider.org_id == org_id)
        )

    async def lock_provider(self, provider_id: UUID) -> VoucherProvider | None:
        found: VoucherProvider | None = await self._locked(VoucherProvider, provider_id)
        return found

    async def insert_provider(self, values: dict[str, Any]) -> bool:
        return await self._insert(VoucherProvider, values)

    async def providers(
        self, visible: sa.ColumnElement[bool], *, offset: int, limit: int
    ) -> Sequence[VoucherProvider]:
        query = (
            sa.select(VoucherProvider)
            .where(visible)
            .order_by(VoucherProvider.created_at, VoucherProvider.id)
        )
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    async def providers_in_publicity(
        self, now: datetime, *, offset: int, limit: int
    ) -> Sequence[VoucherProvider]:
        query = (
            sa.select(VoucherProvider)
            .where(VoucherProvider.in_publicity(now))
            .order_by(VoucherProvider.publicity_ends_at, VoucherProvider.id)
        )
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    async def enterprise(self, enterprise_id: UUID) -> VoucherEnterprise | None:
        return await self.session.get(VoucherEnterprise, enterprise_id)

    async def enterprise_of(self, org_id: UUID) -> VoucherEnterprise | None:
        return await self.session.scalar(
            sa.select(VoucherEnterprise).where(VoucherEnterprise.org_id == org_id)
        )

    async def insert_enterprise(self, values: dict[str, Any]) -> bool:
        return await self._insert(VoucherEnterprise, values)

    # --- the cap -----------------------------------------------------------------------------

    async def use_cap(
        self, program_id: UUID, controller: str, cap_fen: int, amount: int
    ) -> int | None:
        """Adds `amount` to what the group was issued if it stays within the cap: the new
        total, or None (and nothing changed) when it would not. The row lock of the UPDATE
        makes two issues for the same group take turns."""
        await self.session.execute(
            insert(VoucherGroupUsage)
            .values(program_id=program_id, actual_controller=controller, cap_fen=cap_fen)
            .values(issued_fen=0)
            .on_conflict_do_nothing()
        )
        usage = VoucherGroupUsage
        total: int | None = await self.session.scalar(
            sa.update(usage)
            .where(
                usage.program_id == program_id,
                usage.actual_controller == controller,
                usage.issued_fen <= usage.cap_fen - amount,
            )
            .values(issued_fen=usage.issued_fen + amount)
            .returning(usage.issued_fen)
        )
        return total

    async def cap_used(self, program_id: UUID, controller: str) -> int:
        used = await self.session.scalar(
            sa.select(VoucherGroupUsage.issued_fen).where(
                VoucherGroupUsage.program_id == program_id,
                VoucherGroupUsage.actual_controller == controller,
            )
        )
        return used or 0

    # --- vouchers ----------------------------------------------------------------------------

    async def next_voucher_serial(self) -> int:
        serial = await self.session.scalar(sa.select(voucher_number_seq.next_value()))
        assert serial is not None
        return int(serial)

    async def voucher(self, voucher_id: UUID) -> Voucher | None:
        return await self.session.get(Voucher, voucher_id)

    async def lock_voucher(self, voucher_id: UUID, *, shared: bool = False) -> Voucher | None:
        """FOR SHARE lets orders on one voucher run side by side while expiry or fraud,
        which lock FOR UPDATE, wait for them (and they for it)."""
        return await self.session.scalar(
            sa.select(Voucher)
            .where(Voucher.id == voucher_id)
            .with_for_update(read=shared)
            .execution_options(populate_existing=True)
        )

    async def insert_voucher(self, values: dict[str, Any]) -> bool:
        return await self._insert(Voucher, values)

    async def vouchers(
        self, visible: sa.ColumnElement[bool], *, offset: int, limit: int
    ) -> Sequence[Voucher]:
        query = sa.select(Voucher).where(visible).order_by(Voucher.issued_at, Voucher.id)
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    async def expired_voucher_ids(self, now: datetime, limit: int) -> Sequence[UUID]:
        return (
            await self.session.scalars(
                sa.select(Voucher.id)
                .where(Voucher.is_due_to_expire(now))
                .order_by(Voucher.expires_at, Voucher.id)
                .limit(limit)
            )
        ).all()

    async def vouchers_past_grace(self, deadline: datetime, limit: int) -> Sequence[UUID]:
        """Expired vouchers (expired before `deadline`) still holding delivered work."""
        return (
            await self.session.scalars(
                sa.select(Voucher.id)
                .where(
                    Voucher.status == VoucherStatus.expired,
                    Voucher.expires_at <= deadline,
                    sa.exists().where(
                        VoucherOrder.voucher_id == Voucher.id,
                        VoucherOrder.state.in_(UNFILED_ORDER_STATES),
                    ),
                )
                .order_by(Voucher.expires_at, Voucher.id)
                .limit(limit)
            )
        ).all()

    # --- orders ------------------------------------------------------------------------------

    async def order(self, order_id: UUID) -> VoucherOrder | None:
        return await self.session.get(VoucherOrder, order_id)

    async def lock_order(self, order_id: UUID) -> VoucherOrder | None:
        found: VoucherOrder | None = await self._locked(VoucherOrder, order_id)
        return found

    async def lock_orders_of(
        self, voucher_id: UUID, states: tuple[OrderState, ...]
    ) -> Sequence[VoucherOrder]:
        """A voucher's orders in `states`, locked in id order (so lockers never deadlock)."""
        return (
            await self.session.scalars(
                sa.select(VoucherOrder)
                .where(VoucherOrder.voucher_id == voucher_id, VoucherOrder.state.in_(states))
                .order_by(VoucherOrder.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()

    async def insert_order(self, values: dict[str, Any]) -> bool:
        return await self._insert(VoucherOrder, values)

    async def orders(
        self, visible: sa.ColumnElement[bool], *, offset: int, limit: int
    ) -> Sequence[VoucherOrder]:
        query = (
            sa.select(VoucherOrder)
            .where(visible)
            .order_by(VoucherOrder.created_at, VoucherOrder.id)
        )
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    async def claim_invoice(self, number: str, order_id: UUID, now: datetime) -> UUID:
        """The order that holds the invoice number: this one if it was free. A second claim
        racing the first waits on the unique index, then sees the winner's row."""
        await self._insert(
            VoucherInvoice, {"invoice_number": number, "order_id": order_id, "created_at": now}
        )
        owner = await self.session.scalar(
            sa.select(VoucherInvoice.order_id).where(VoucherInvoice.invoice_number == number)
        )
        assert owner is not None
        return owner

    # --- history -----------------------------------------------------------------------------

    async def record(
        self,
        *,
        subject_kind: str,
        subject_id: UUID,
        action: str,
        from_state: str | None,
        to_state: str | None,
        actor: str,
        reason: str | None,
        at: datetime,
    ) -> None:
        self.session.add(
            VoucherHistory(
                id=uuid7(),
                subject_kind=subject_kind,
                subject_id=subject_id,
                action=action,
                from_state=from_state,
                to_state=to_state,
                actor=actor,
                reason=reason,
                at=at,
            )
        )

    async def history(
        self, subject_id: UUID, *, offset: int, limit: int
    ) -> Sequence[VoucherHistory]:
        return (
            await self.session.scalars(
                sa.select(VoucherHistory)
                .where(VoucherHistory.subject_id == subject_id)
                .order_by(VoucherHistory.at, VoucherHistory.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
