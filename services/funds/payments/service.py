"""Maker-checker for money out of program funds.

A finance officer (the maker) makes a payment order: the amount is put on hold at once (a
pending transfer with the order's id), so it cannot be spent twice while it waits. A second
finance officer approves it (the hold is posted: the payment) or rejects it (the hold is
voided). The maker can never approve their own order; the database refuses it too. Two
checkers deciding at once take turns on the order's row lock, and the post's id is derived
from the order's, so there is exactly one payment.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.access.scope import funds_scope
from services.funds.accounts.repository import AccountRepository
from services.funds.exceptions import (
    MakerCannotApprove,
    PaymentOrderExistsDifferent,
    PaymentOrderNotFound,
    PaymentOrderNotPending,
    TransferRefused,
)
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models import Account, PaymentOrder, events
from services.funds.models.payments import PaymentOrderStatus
from services.funds.payments.repository import PaymentOrderRepository
from services.funds.payments.schemas import PaymentOrderCreate, PaymentOrderRead
from shared.auth.tokens import Principal
from shared.contracts.funds import (
    PaymentOrderApprovedV1,
    PaymentOrderAwaitingApprovalV1,
    PaymentOrderRejectedV1,
)
from shared.events.outbox import publish

_RESOLUTIONS = uuid.UUID("6f1c3b0e-5d0a-4c57-9a1e-3f0c2f4b7d21")
_SAME_ORDER = (
    "debit_account_id",
    "credit_account_id",
    "amount",
    "ledger",
    "code",
    "purpose",
    "user_data",
)


def _organization_of(account: Account) -> UUID | None:
    """The gateway id of the organization owning the account, if it is one's (accounts opened
    by hand may name their owner otherwise)."""
    if account.owner_kind != "organization":
        return None
    try:
        return UUID(account.owner_id)
    except ValueError:
        return None


def _person_id(kept: str | None) -> UUID | None:
    """A person's id as an order keeps it; None for a service account (`svc:...`)."""
    try:
        return UUID(kept) if kept else None
    except ValueError:
        return None


def resolution_id(order_id: UUID) -> UUID:
    """The id of the transfer that decides an order: the same for every attempt."""
    return uuid.uuid5(_RESOLUTIONS, f"payment-order:{order_id}")


class PaymentOrderService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PaymentOrderRepository(session)
        self.ledger = LedgerService(session)

    async def get(self, order_id: UUID) -> PaymentOrder:
        order = await self.repo.get(order_id)
        if order is None:
            raise PaymentOrderNotFound()
        return order

    async def views(self, orders: Sequence[PaymentOrder]) -> list[PaymentOrderRead]:
        """The orders with their maker's, checker's and accounts' names (two queries for all)."""
        people = {
            found
            for order in orders
            for found in (_person_id(order.maker_id), _person_id(order.decided_by))
            if found is not None
        }
        names = await self.repo.people_names(people)
        accounts = await self.repo.account_names(
            {o.debit_account_id for o in orders} | {o.credit_account_id for o in orders}
        )
        return [
            PaymentOrderRead.model_validate(order).model_copy(
                update={
                    "maker_name": names.get(order.maker_id),
                    "decided_by_name": names.get(order.decided_by or ""),
                    "debit_account_name": accounts.get(order.debit_account_id),
                    "credit_account_name": accounts.get(order.credit_account_id),
                }
            )
            for order in orders
        ]

    async def view(self, order: PaymentOrder) -> PaymentOrderRead:
        return (await self.views([order]))[0]

    async def readable(self, principal: Principal, order_id: UUID) -> PaymentOrder:
        """The order if the caller may read it (`services.funds.access.scope`); else 404."""
        order = await self.get(order_id)
        found = await funds_scope(self.session, principal)
        if not found.everything and not await AccessRepository(self.session).finds(
            PaymentOrder, order_id, found.payment_orders()
        ):
            raise PaymentOrderNotFound()
        return order

    async def search(
        self, principal: Principal, *, status: PaymentOrderStatus | None, offset: int, limit: int
    ) -> Sequence[PaymentOrder]:
        """The orders the caller may read (paying from or into an account they read)."""
        visible = (await funds_scope(self.session, principal)).payment_orders()
        return await self.repo.search(visible, status=status, offset=offset, limit=limit)

    async def make(
        self, data: PaymentOrderCreate, *, maker: str, now: datetime
    ) -> tuple[PaymentOrder, bool]:
        """(the order, True if made now); the same id and body again is the same order."""
        existing = await self.repo.get(data.id)
        if existing is not None:
            return self._same(existing, data), False
        hold = TransferIn(
            id=data.id,
            debit_account_id=data.debit_account_id,
            credit_account_id=data.credit_account_id,
            amount=data.amount,
            ledger=data.ledger,
            code=data.code,
            pending=True,
            user_data=data.user_data,
        )
        try:
            await self.ledger.create_transfer(hold, actor=maker, now=now, approved=True)
        except TransferRefused as refused:
            # The refusal is recorded: the same order sent again is refused the same way.
            refused.keep_writes = True
            raise
        values = data.model_dump()
        created = await self.repo.insert(
            {
                **values,
                "hold_transfer_id": data.id,
                "status": PaymentOrderStatus.pending_approval,
                "maker_id": maker,
                "created_at": now,
            }
        )
        order = await self.get(data.id)
        if not created:
            return self._same(order, data), False
        await self._awaiting_approval(order)
        return order, True

    async def _awaiting_approval(self, order: PaymentOrder) -> None:
        """Tells the finance officers (other than the maker) that an order waits for them."""
        accounts = AccountRepository(self.session)
        payer = await accounts.get(order.debit_account_id)
        payee = await accounts.get(order.credit_account_id)
        assert payer is not None  # the hold was made on both
        assert payee is not None
        await publish(
            self.session,
            events,
            PaymentOrderAwaitingApprovalV1(
                order_id=order.id,
                ledger=order.ledger,
                program_code=payer.program,
                amount_fen=order.amount,
                code=order.code,
                purpose=order.purpose,
                maker_id=order.maker_id,
                payer_account_id=payer.id,
                payer_account_name=payer.name,
                payee_account_id=payee.id,
                payee_account_name=payee.name,
                org_id=_organization_of(payee),
                made_at=order.created_at,
            ),
        )

    def _same(self, order: PaymentOrder, data: PaymentOrderCreate) -> PaymentOrder:
        wanted = data.model_dump()
        if any(getattr(order, key) != wanted[key] for key in _SAME_ORDER):
            raise PaymentOrderExistsDifferent()
        return order

    async def approve(
        self, order_id: UUID, *, checker: str, now: datetime, reason: str | None
    ) -> PaymentOrder:
        order = await self._locked(order_id)
        if order.status == PaymentOrderStatus.approved and order.decided_by == checker:
            return order  # the same approval again (a lost response): no second payment
        if order.status != PaymentOrderStatus.pending_approval:
            raise PaymentOrderNotPending(extra={"state": order.status})
        if order.maker_id == checker:
            raise MakerCannotApprove()
        post = TransferIn(
            id=resolution_id(order.id),
            pending_id=order.hold_transfer_id,
            amount=0,
            ledger=order.ledger,
            code=order.code,
            post_pending=True,
        )
        await self.ledger.create_transfer(post, actor=checker, now=now, approved=True)
        return await self._decide(order, PaymentOrderStatus.approved, post.id, checker, now, reason)

    async def reject(
        self, order_id: UUID, *, checker: str, now: datetime, reason: str
    ) -> PaymentOrder:
        """Any finance officer may reject, the maker too (withdrawing the order)."""
        order = await self._locked(order_id)
        if order.status == PaymentOrderStatus.rejected and order.decided_by == checker:
            return order
        if order.status != PaymentOrderStatus.pending_approval:
            raise PaymentOrderNotPending(extra={"state": order.status})
        void = TransferIn(
            id=resolution_id(order.id),
            pending_id=order.hold_transfer_id,
            amount=0,
            ledger=order.ledger,
            code=order.code,
            void_pending=True,
        )
        await self.ledger.create_transfer(void, actor=checker, now=now, approved=True)
        return await self._decide(order, PaymentOrderStatus.rejected, void.id, checker, now, reason)

    async def _locked(self, order_id: UUID) -> PaymentOrder:
        order = await self.repo.lock(order_id)
        if order is None:
            raise PaymentOrderNotFound()
        return order

    async def _decide(
        self,
        order: PaymentOrder,
        status: PaymentOrderStatus,
        transfer_id: UUID,
        checker: str,
        now: datetime,
        reason: str | None,
    ) -> PaymentOrder:
        order.status = status
        order.decided_by = checker
        order.decided_at = now
        order.reason = reason
        order.resolution_transfer_id = transfer_id
        await self.session.flush()
        contract = (
            PaymentOrderApprovedV1
            if status == PaymentOrderStatus.approved
            else PaymentOrderRejectedV1
        )
        await publish(
            self.session,
            events,
            contract(
                order_id=order.id,
                ledger=order.ledger,
                debit_account_id=order.debit_account_id,
                credit_account_id=order.credit_account_id,
                amount_fen=order.amount,
                code=order.code,
                maker_id=order.maker_id,
                decided_by=checker,
                transfer_id=transfer_id,
            ),
        )
        return order
