"""Confirmed fraud: the order is cancelled (its hold voided, or the payment clawed back), the
voucher cancelled and its value returned, the provider suspended, and the credit service told
(`voucher.fraud_confirmed`, consumed by services/credit/inbound.py). Once per order."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models import events
from services.funds.models.vouchers import (
    LIVE_ORDER_STATES,
    OrderState,
    ProviderReview,
    Voucher,
    VoucherOrder,
    VoucherProgram,
    VoucherProvider,
    VoucherStatus,
)
from services.funds.vouchers.access import locked_order
from services.funds.vouchers.accounts import derived_id
from services.funds.vouchers.exceptions import OrderNotFound
from services.funds.vouchers.holds import cancel_order, close_voucher, record_order, return_unused
from services.funds.vouchers.parties import PartyService
from services.funds.vouchers.programs import ProgramService
from services.funds.vouchers.repository import VoucherRepository
from shared.auth.tokens import Principal
from shared.contracts.funds import VoucherFraudConfirmedV1
from shared.contracts.projects import CreditOrganization
from shared.events.outbox import publish


class FraudService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = VoucherRepository(session)
        self.ledger = LedgerService(session)
        self.programs = ProgramService(session)
        self.parties = PartyService(session)

    async def confirm_fraud(
        self, order_id: UUID, *, principal: Principal, facts: str, now: datetime
    ) -> VoucherOrder:
        """Cancels the order (void, or claw back if paid), cancels the voucher and returns
        its value, suspends the provider and tells the credit service. Once per order."""
        found = await self.repo.order(order_id)
        if found is None:
            raise OrderNotFound()
        # The voucher before its orders: the order every voucher-wide change locks in.
        voucher = await self.repo.lock_voucher(found.voucher_id)
        assert voucher is not None
        order = await locked_order(self.repo, order_id)
        if order.fraud_confirmed_by is not None:
            return order  # confirmed before: nothing changes, nothing is published again
        program = await self.programs.get(order.program_id)
        actor = principal.subject
        before = order.state
        if order.state == OrderState.redeemed:
            await self._claw_back(order, program, actor, now)
        elif order.state in LIVE_ORDER_STATES:
            await cancel_order(
                self.session,
                order,
                program,
                action="fraud_confirmed",
                actor=actor,
                reason=facts,
                now=now,
            )
        order.state = OrderState.cancelled
        order.fraud_confirmed_by = actor
        order.fraud_facts = facts
        await self.session.flush()
        if before in (OrderState.redeemed, OrderState.cancelled):
            await record_order(
                self.repo, order, "fraud_confirmed", before, actor=actor, reason=facts, now=now
            )
        await self._cancel_voucher(voucher, program, order, actor, facts, now)
        provider = await self.parties.lock_provider(order.provider_id)
        if provider.review_state == ProviderReview.approved and not provider.suspended:
            await self.parties.set_suspended(
                provider, True, actor=actor, reason=f"创新券欺诈：{facts}", now=now
            )
        await self._publish_fraud(voucher, program, order, provider, facts)
        return order

    async def _claw_back(
        self, order: VoucherOrder, program: VoucherProgram, actor: str, now: datetime
    ) -> None:
        """The provider was paid: the payable goes back to the pool (negative = owed back)."""
        await self.ledger.create_transfer(
            TransferIn(
                id=derived_id("order-clawback", order.id),
                debit_account_id=order.payable_account_id,
                credit_account_id=program.pool_account_id,
                amount=order.voucher_amount_fen,
                ledger=program.ledger,
                code="voucher_clawback",
                user_data={"order": str(order.id)},
            ),
            actor=actor,
            now=now,
            approved=True,
        )

    async def _cancel_voucher(
        self,
        voucher: Voucher,
        program: VoucherProgram,
        order: VoucherOrder,
        actor: str,
        facts: str,
        now: datetime,
    ) -> None:
        for other in await self.repo.lock_orders_of(voucher.id, LIVE_ORDER_STATES):
            await cancel_order(
                self.session,
                other,
                program,
                action="voucher_cancelled",
                actor=actor,
                reason=f"创新券因欺诈作废：{facts}",
                now=now,
            )
        # After the voids: their value is back on the voucher and goes back with the rest.
        await return_unused(
            self.session, voucher, program, transfer_key=f"fraud:{order.id}", actor=actor, now=now
        )
        if voucher.status != VoucherStatus.cancelled:
            await close_voucher(
                self.session, voucher, VoucherStatus.cancelled, actor=actor, reason=facts, now=now
            )

    async def _publish_fraud(
        self,
        voucher: Voucher,
        program: VoucherProgram,
        order: VoucherOrder,
        provider: VoucherProvider,
        facts: str,
    ) -> None:
        enterprise = await self.repo.enterprise(order.enterprise_id)
        assert enterprise is not None

        def party(name: str, org_id: UUID, credit_code: str) -> CreditOrganization:
            return CreditOrganization(name=name, gateway_org_id=org_id, credit_code=credit_code)

        await publish(
            self.session,
            events,
            VoucherFraudConfirmedV1(
                voucher_number=voucher.number,
                facts=facts,
                managing_agency=program.managing_agency,
                enterprise=party(enterprise.name, enterprise.org_id, enterprise.credit_code),
                provider=party(provider.name, provider.org_id, provider.credit_code),
            ),
            aggregate_id=str(order.id),
        )
