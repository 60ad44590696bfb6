"""Redemptions: the provider files the invoice (its number once in the system), the contract
and the proofs; a finance officer approves (the held voucher part is paid) or rejects."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models.vouchers import OrderState, VoucherOrder
from services.funds.vouchers import events as voucher_events
from services.funds.vouchers.access import locked_for_provider, locked_order
from services.funds.vouchers.exceptions import (
    ApproverIsProvider,
    InvoiceAmountMismatch,
    InvoiceReused,
    OrderInvalidTransition,
    RedemptionExistsDifferent,
)
from services.funds.vouchers.holds import record_order, resolution_id
from services.funds.vouchers.programs import ProgramService
from services.funds.vouchers.repository import VoucherRepository
from services.funds.vouchers.schemas import Redemption
from shared.auth.tokens import Principal

_REDEMPTION = (
    "invoice_number",
    "invoice_amount_fen",
    "contract_ref",
    "self_payment_ref",
    "delivery_proof_ref",
)


class RedemptionService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = VoucherRepository(session)
        self.ledger = LedgerService(session)
        self.programs = ProgramService(session)

    async def file_redemption(
        self, order_id: UUID, data: Redemption, *, principal: Principal, now: datetime
    ) -> tuple[VoucherOrder, bool]:
        """(the order, True if filed now); the same redemption again changes nothing."""
        order = await locked_for_provider(self.repo, order_id, principal)
        wanted = data.model_dump()
        if order.state in (OrderState.redemption_filed, OrderState.redeemed):
            if any(getattr(order, key) != wanted[key] for key in _REDEMPTION):
                raise RedemptionExistsDifferent(extra={"state": order.state})
            return order, False
        if order.state != OrderState.confirmed:
            raise OrderInvalidTransition(extra={"state": order.state})
        if data.invoice_amount_fen != order.contract_amount_fen:
            raise InvoiceAmountMismatch(extra={"contract_amount_fen": order.contract_amount_fen})
        owner = await self.repo.claim_invoice(data.invoice_number, order.id, now)
        if owner != order.id:
            raise InvoiceReused()
        for key, value in wanted.items():
            setattr(order, key, value)
        order.state = OrderState.redemption_filed
        await self.session.flush()
        await record_order(
            self.repo,
            order,
            "redemption_filed",
            OrderState.confirmed,
            actor=principal.subject,
            reason=None,
            now=now,
        )
        return order, True

    async def approve_redemption(
        self, order_id: UUID, *, principal: Principal, reason: str | None, now: datetime
    ) -> VoucherOrder:
        """Two approvers at once take turns on the order's lock; the post's id is the
        order's, so there is exactly one payment."""
        order = await locked_order(self.repo, order_id)
        if order.state == OrderState.redeemed and order.redemption_decided_by == principal.subject:
            return order
        if order.state != OrderState.redemption_filed:
            raise OrderInvalidTransition(extra={"state": order.state})
        provider = await self.repo.provider(order.provider_id)
        if provider is not None and provider.org_id == principal.org_id:
            raise ApproverIsProvider()
        program = await self.programs.get(order.program_id)
        await self.ledger.create_transfer(
            TransferIn(
                id=resolution_id(order.id),
                pending_id=order.hold_transfer_id,
                amount=0,
                ledger=program.ledger,
                code="voucher_redemption",
                post_pending=True,
            ),
            actor=principal.subject,
            now=now,
            approved=True,
        )
        order = await self._decided(order, OrderState.redeemed, principal.subject, reason, now)
        await voucher_events.redemption_approved(self.session, order, program, now)
        return order

    async def reject_redemption(
        self, order_id: UUID, *, principal: Principal, reason: str, now: datetime
    ) -> VoucherOrder:
        """Back to confirmed: the hold stays, the provider may file again (the invoice
        number stays this order's)."""
        order = await locked_order(self.repo, order_id)
        if order.state != OrderState.redemption_filed:
            raise OrderInvalidTransition(extra={"state": order.state})
        return await self._decided(order, OrderState.confirmed, principal.subject, reason, now)

    async def _decided(
        self,
        order: VoucherOrder,
        after: OrderState,
        actor: str,
        reason: str | None,
        now: datetime,
    ) -> VoucherOrder:
        before = order.state
        order.state = after
        order.redemption_decided_by = actor
        await self.session.flush()
        action = "redemption_approved" if after == OrderState.redeemed else "redemption_rejected"
        await record_order(self.repo, order, action, before, actor=actor, reason=reason, now=now)
        return order
