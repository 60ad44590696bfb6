"""Orders paid partly with a voucher: placing them and the parties' steps (redemption is in
redemptions.py, confirmed fraud in fraud.py).

    ordered --deliver (provider)--> delivered --confirm (enterprise)--> confirmed
    confirmed --file redemption (provider)--> redemption_filed
    redemption_filed --approve (finance)--> redeemed      (the hold is posted: the payment)
    redemption_filed --reject (finance)--> confirmed      (the provider may file again)
    ordered --cancel (enterprise)--> cancelled            (the hold is voided)
    any --fraud (finance)--> cancelled                    (voided, or clawed back if redeemed)

The voucher part of an order is a hold on the voucher's account; the account must not go
below zero, so the database itself refuses orders beyond what the voucher has left.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.exceptions import TransferRefused
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models.vouchers import (
    OrderState,
    VoucherEnterprise,
    VoucherHistory,
    VoucherOrder,
    VoucherProgram,
    VoucherProvider,
)
from services.funds.vouchers import events as voucher_events
from services.funds.vouchers.access import locked_for_enterprise, locked_for_provider
from services.funds.vouchers.accounts import available, open_account, payable_id
from services.funds.vouchers.exceptions import (
    CategoryIneligible,
    InsufficientBalance,
    OrderExistsDifferent,
    OrderInvalidTransition,
    OrderNotFound,
    ProviderNotAccepting,
    ProviderNotFound,
    RelatedParties,
    ShareExceeded,
    UnknownService,
    VoucherNotFound,
    VoucherNotValid,
)
from services.funds.vouchers.holds import (
    cancel_order,
    hold_id,
    record_order,
)
from services.funds.vouchers.parties import PartyService, provider_status
from services.funds.vouchers.programs import ProgramService
from services.funds.vouchers.repository import VoucherRepository
from services.funds.vouchers.schemas import OrderCreate
from services.funds.vouchers.visibility import voucher_scope
from shared.auth.tokens import Principal

_SAME_ORDER = (
    "voucher_id",
    "provider_id",
    "service_name",
    "service_category",
    "contract_amount_fen",
    "voucher_amount_fen",
)
BASIS_POINTS = 10_000


def related_parties(enterprise: VoucherEnterprise, provider: VoucherProvider) -> bool:
    """Investment, subordination or ownership declared by either side, or one controller."""
    if enterprise.credit_code == provider.credit_code:
        return True
    if enterprise.actual_controller == provider.actual_controller:
        return True
    if enterprise.actual_controller == provider.credit_code:
        return True
    if provider.actual_controller == enterprise.credit_code:
        return True
    declared_by_enterprise = {p["credit_code"] for p in enterprise.related_parties}
    declared_by_provider = {p["credit_code"] for p in provider.related_parties}
    return (
        provider.credit_code in declared_by_enterprise
        or enterprise.credit_code in declared_by_provider
    )


def max_voucher_part(contract_fen: int, share_bp: int) -> int:
    return contract_fen * share_bp // BASIS_POINTS


class OrderService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = VoucherRepository(session)
        self.ledger = LedgerService(session)
        self.programs = ProgramService(session)
        self.parties = PartyService(session)

    # --- reads -------------------------------------------------------------------------------

    async def get(self, order_id: UUID, principal: Principal) -> VoucherOrder:
        """The order if the caller may read it (`visibility.py`); else not found."""
        found = await voucher_scope(self.session, principal)
        order = await AccessRepository(self.session).visible(VoucherOrder, order_id, found.orders())
        if order is None:
            raise OrderNotFound()
        return order

    async def history(
        self, order_id: UUID, principal: Principal, *, offset: int, limit: int
    ) -> Sequence[VoucherHistory]:
        order = await self.get(order_id, principal)
        return await self.repo.history(order.id, offset=offset, limit=limit)

    async def search(
        self, principal: Principal, *, offset: int, limit: int
    ) -> Sequence[VoucherOrder]:
        found = await voucher_scope(self.session, principal)
        return await self.repo.orders(found.orders(), offset=offset, limit=limit)

    # --- placing an order ----------------------------------------------------------------------

    async def place(
        self, data: OrderCreate, *, principal: Principal, now: datetime
    ) -> tuple[VoucherOrder, bool]:
        """(the order, True if placed now); the same id and body again is the same order."""
        enterprise = await self.parties.own_enterprise(principal)
        existing = await self.repo.order(data.id)
        if existing is not None:
            return self._same(existing, enterprise, data), False
        # Shared: orders on one voucher run side by side; expiry and fraud wait for them.
        voucher = await self.repo.lock_voucher(data.voucher_id, shared=True)
        if voucher is None or voucher.enterprise_id != enterprise.id:
            raise VoucherNotFound()
        if not voucher.is_usable(now):
            raise VoucherNotValid(extra={"status": voucher.status})
        program = await self.programs.get(voucher.program_id)
        provider = await self.repo.provider(data.provider_id)
        if provider is None:
            raise ProviderNotFound()
        self._check(data, program, provider, enterprise, now)
        payable = await open_account(
            self.session,
            account_id=payable_id(program.id, provider.id),
            program=program,
            ledger=program.ledger,
            year=program.year,
            code="provider_payable",
            name=f"应付服务机构 {provider.name}",
            owner_kind="provider",
            owner_id=str(provider.id),
            limited=False,
            actor=principal.subject,
            now=now,
        )
        created = await self.repo.insert_order(
            {
                **data.model_dump(),
                "enterprise_id": enterprise.id,
                "program_id": program.id,
                "payable_account_id": payable.id,
                "hold_transfer_id": hold_id(data.id),
                "state": OrderState.ordered,
                "ordered_by": principal.subject,
                "created_at": now,
            }
        )
        if not created:
            found = await self.repo.order(data.id)
            assert found is not None
            return self._same(found, enterprise, data), False
        try:
            await self.ledger.create_transfer(
                TransferIn(
                    id=hold_id(data.id),
                    debit_account_id=voucher.account_id,
                    credit_account_id=payable.id,
                    amount=data.voucher_amount_fen,
                    ledger=program.ledger,
                    code="voucher_order",
                    pending=True,
                    user_data={"voucher": voucher.number, "order": str(data.id)},
                ),
                actor=principal.subject,
                now=now,
            )
        except TransferRefused as refused:
            if refused.code == "transfer.exceeds_credits":
                account = await self.repo.account(voucher.account_id)
                left = available(account) if account is not None else 0
                raise InsufficientBalance(extra={"available_fen": left}) from refused
            raise
        order = await self.repo.order(data.id)
        assert order is not None
        await record_order(
            self.repo, order, "ordered", None, actor=principal.subject, reason=None, now=now
        )
        await voucher_events.order_placed(
            self.session, order, voucher, program, provider, enterprise
        )
        return order, True

    def _check(
        self,
        data: OrderCreate,
        program: VoucherProgram,
        provider: VoucherProvider,
        enterprise: VoucherEnterprise,
        now: datetime,
    ) -> None:
        if not provider.accepts_vouchers(now):
            raise ProviderNotAccepting(extra={"provider_status": provider_status(provider, now)})
        offered = {(s["name"], s["category"]) for s in provider.services}
        if (data.service_name, data.service_category) not in offered:
            raise UnknownService()
        if data.service_category not in program.categories:
            raise CategoryIneligible(extra={"categories": program.categories})
        most = max_voucher_part(data.contract_amount_fen, program.voucher_share_bp)
        if data.voucher_amount_fen > most:
            raise ShareExceeded(
                extra={"max_voucher_amount_fen": most, "voucher_share_bp": program.voucher_share_bp}
            )
        if related_parties(enterprise, provider):
            raise RelatedParties()

    def _same(
        self, order: VoucherOrder, enterprise: VoucherEnterprise, data: OrderCreate
    ) -> VoucherOrder:
        wanted = data.model_dump()
        if order.enterprise_id != enterprise.id or any(
            getattr(order, key) != wanted[key] for key in _SAME_ORDER
        ):
            raise OrderExistsDifferent()
        return order

    # --- the parties' steps --------------------------------------------------------------------

    async def deliver(self, order_id: UUID, *, principal: Principal, now: datetime) -> VoucherOrder:
        order = await locked_for_provider(self.repo, order_id, principal)
        return await self._step(
            order, OrderState.ordered, OrderState.delivered, principal.subject, now
        )

    async def confirm(self, order_id: UUID, *, principal: Principal, now: datetime) -> VoucherOrder:
        order = await locked_for_enterprise(self.repo, order_id, principal)
        return await self._step(
            order, OrderState.delivered, OrderState.confirmed, principal.subject, now
        )

    async def cancel(
        self, order_id: UUID, *, principal: Principal, reason: str | None, now: datetime
    ) -> VoucherOrder:
        """By the enterprise, before delivery: the hold is released to the voucher."""
        order = await locked_for_enterprise(self.repo, order_id, principal)
        if order.state == OrderState.cancelled and order.fraud_confirmed_by is None:
            return order
        if order.state != OrderState.ordered:
            raise OrderInvalidTransition(extra={"state": order.state})
        program = await self.programs.get(order.program_id)
        await cancel_order(
            self.session,
            order,
            program,
            action="cancelled",
            actor=principal.subject,
            reason=reason or "企业取消订单",
            now=now,
        )
        return order

    async def _step(
        self,
        order: VoucherOrder,
        before: OrderState,
        after: OrderState,
        actor: str,
        now: datetime,
    ) -> VoucherOrder:
        if order.state == after:
            return order  # the same step again (a lost response)
        if order.state != before:
            raise OrderInvalidTransition(extra={"state": order.state})
        order.state = after
        await self.session.flush()
        await record_order(self.repo, order, after, before, actor=actor, reason=None, now=now)
        return order
