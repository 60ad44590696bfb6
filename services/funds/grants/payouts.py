"""Paying a tranche: a maker-checker payment order from the program fund to the project.

Each attempt has its own order id (uuid5 of project, tranche and attempt): the ledger keeps a
refused transfer id refused forever, so a retry after a bigger envelope needs a new id, while
a replayed event or a lost response finds the same order again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.exceptions import TransferRefused
from services.funds.grants.accounts import derived_id, program_fund_id
from services.funds.models import PaymentOrder
from services.funds.models.grants import Grant, GrantTranche, TrancheShown, TrancheStatus
from services.funds.models.payments import PaymentOrderStatus
from services.funds.payments.schemas import PaymentOrderCreate
from services.funds.payments.service import PaymentOrderService

REJECTED = "payment_order.rejected"


def tranche_state(
    tranche: GrantTranche, order: PaymentOrder | None
) -> tuple[TrancheShown, str | None]:
    """(the state a client sees, why the latest attempt did not pay)."""
    if tranche.status != TrancheStatus.ordered or order is None:
        return TrancheShown(tranche.status), tranche.refusal_code
    if order.status == PaymentOrderStatus.approved:
        return TrancheShown.paid, None
    if order.status == PaymentOrderStatus.rejected:
        return TrancheShown.due, REJECTED
    return TrancheShown.awaiting_approval, None


class TranchePayer:
    def __init__(self, session: AsyncSession) -> None:
        self.orders = PaymentOrderService(session)

    async def pay(
        self, grant: Grant, tranche: GrantTranche, *, maker: str, now: datetime
    ) -> TransferRefused | None:
        """Makes the payment order of the tranche's next attempt; the refusal if the ledger
        refused it (the tranche stays due, with the code)."""
        attempt = tranche.attempts + 1
        order_id = derived_id(f"tranche:{grant.project_id}:{tranche.n}:{attempt}")
        order = PaymentOrderCreate(
            id=order_id,
            debit_account_id=program_fund_id(grant.ledger),
            credit_account_id=grant.funds_account_id,
            amount=tranche.amount_fen,
            ledger=grant.ledger,
            code="tranche",
            purpose=f"{grant.project_number} 第{tranche.n}笔拨付：{tranche.name}",
            user_data={"project_id": str(grant.project_id), "tranche": tranche.n},
        )
        tranche.attempts = attempt
        tranche.due_at = tranche.due_at or now
        tranche.updated_at = now
        try:
            await self.orders.make(order, maker=maker, now=now)
        except TransferRefused as refused:
            tranche.status = TrancheStatus.due
            tranche.refusal_code = refused.code
            return refused
        tranche.status = TrancheStatus.ordered
        tranche.order_id = order_id
        tranche.refusal_code = None
        return None
