"""Grant money: what finance officers and organizations do with a project's money.

Every command locks the grant's row first, so a freeze, a release, a post-subsidy and an
expenditure of one project take turns; the ledger's own limits (CHECK constraints) keep the
money right even if a rule here were wrong.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.scope import funds_scope
from services.funds.exceptions import PaymentOrderNotPending
from services.funds.grants.accounts import derived_id, program_fund_id
from services.funds.grants.auth import FINANCE_ROLES
from services.funds.grants.exceptions import (
    CategoryOverBudget,
    ExpenditureExistsDifferent,
    GrantFrozen,
    GrantNotAccepted,
    GrantNotFound,
    PostSubsidyExistsDifferent,
    RecoveryNotOpen,
    TrancheNotDue,
    TrancheNotFound,
)
from services.funds.grants.payouts import TranchePayer, tranche_state
from services.funds.grants.repository import GrantRepository
from services.funds.grants.schemas import ExpenditureCreate, PostSubsidyCreate, RecoverySettle
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models import PaymentOrder, events
from services.funds.models.grants import (
    Grant,
    GrantExpenditure,
    GrantPostSubsidy,
    GrantRecovery,
    GrantStatus,
    GrantTranche,
    RecoveryStatus,
    TrancheShown,
    TrancheStatus,
)
from services.funds.models.payments import PaymentOrderStatus
from services.funds.payments.schemas import PaymentOrderCreate
from services.funds.payments.service import PaymentOrderService
from shared.auth.tokens import Principal
from shared.contracts.funds import GrantFrozenV1, GrantRecoverySettledV1
from shared.events.outbox import publish


class GrantService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = GrantRepository(session)
        self.ledger = LedgerService(session)
        self.orders = PaymentOrderService(session)
        self.payer = TranchePayer(session)

    async def locked(self, project_id: UUID, principal: Principal | None = None) -> Grant:
        grant = await self.repo.grant(project_id, lock=True)
        if grant is None:
            raise GrantNotFound()
        if principal is not None and not (await funds_scope(self.session, principal)).reads_grant(
            grant
        ):
            raise GrantNotFound()
        return grant

    # --- tranches ----------------------------------------------------------------------------

    async def release(
        self, project_id: UUID, n: int, *, officer: str, now: datetime
    ) -> tuple[GrantTranche, PaymentOrder | None]:
        """Pays a due tranche again (after a refusal or a rejected order)."""
        grant = await self.locked(project_id)
        tranche = await self.repo.tranche(project_id, n)
        if tranche is None:
            raise TrancheNotFound()
        order = await self.orders.get(tranche.order_id) if tranche.order_id else None
        state, _ = tranche_state(tranche, order)
        if (
            state == TrancheShown.awaiting_approval
            and order is not None
            and order.maker_id == officer
        ):
            return tranche, order  # the same release again (a lost response)
        if grant.status == GrantStatus.frozen:
            raise GrantFrozen(extra={"state": grant.status})
        if state != TrancheShown.due:
            raise TrancheNotDue(extra={"state": state})
        before = tranche.refusal_code
        refused = await self.payer.pay(grant, tranche, maker=officer, now=now)
        await self.repo.record(
            grant.project_id,
            action="tranche.released",
            actor=officer,
            at=now,
            from_state=TrancheShown.due,
            to_state=TrancheShown.due if refused else TrancheShown.awaiting_approval,
            details={"n": n, "attempt": tranche.attempts, "previous_refusal": before},
        )
        if refused is not None:
            raise refused  # keep_writes: the attempt and its refusal stay recorded
        assert tranche.order_id is not None
        return tranche, await self.orders.get(tranche.order_id)

    # --- post-subsidies ----------------------------------------------------------------------

    async def post_subsidy(
        self, project_id: UUID, data: PostSubsidyCreate, *, officer: str, now: datetime
    ) -> tuple[GrantPostSubsidy, PaymentOrder, bool]:
        grant = await self.locked(project_id)
        existing = await self.repo.post_subsidy(data.id)
        if existing is not None:
            same = (existing.project_id, existing.amount_fen, existing.reason) == (
                project_id,
                data.amount_fen,
                data.reason,
            )
            if not same:
                raise PostSubsidyExistsDifferent()
            order = (await self.repo.orders([existing.order_id]))[existing.order_id]
            return existing, order, False
        if grant.status == GrantStatus.frozen:
            raise GrantFrozen(extra={"state": grant.status})
        if grant.status != GrantStatus.accepted:
            raise GrantNotAccepted(extra={"state": grant.status})
        order, _ = await self.orders.make(
            PaymentOrderCreate(
                id=derived_id(f"post-subsidy:{data.id}"),
                debit_account_id=program_fund_id(grant.ledger),
                credit_account_id=grant.funds_account_id,
                amount=data.amount_fen,
                ledger=grant.ledger,
                code="post_subsidy",
                purpose=f"{grant.project_number} 后补助：{data.reason}"[:2000],
                user_data={"project_id": str(project_id), "post_subsidy_id": str(data.id)},
            ),
            maker=officer,
            now=now,
        )
        subsidy = GrantPostSubsidy(
            id=data.id,
            project_id=project_id,
            amount_fen=data.amount_fen,
            reason=data.reason,
            order_id=order.id,
            created_by=officer,
            created_at=now,
        )
        self.repo.add(subsidy)
        await self.repo.record(
            project_id,
            action="post_subsidy.ordered",
            actor=officer,
            at=now,
            reason=data.reason,
            details={"post_subsidy_id": str(data.id), "amount_fen": data.amount_fen},
        )
        return subsidy, order, True

    # --- expenditures ------------------------------------------------------------------------

    async def spend(
        self, principal: Principal, project_id: UUID, data: ExpenditureCreate, *, now: datetime
    ) -> tuple[GrantExpenditure, bool]:
        grant = await self.locked(project_id, principal)
        if not principal.has_any(*FINANCE_ROLES) and principal.org_id != grant.org_id:
            raise GrantNotFound()
        existing = await self.repo.expenditure(data.id)
        if existing is not None:
            return self._same_expenditure(existing, project_id, data), False
        if grant.status == GrantStatus.frozen:
            raise GrantFrozen(extra={"state": grant.status})
        budget = int(grant.budget.get(data.category, 0))
        spent = (await self.repo.spent_by_category(grant.spent_account_id)).get(data.category, 0)
        if spent + data.amount_fen > budget:
            raise CategoryOverBudget(
                extra={
                    "category": data.category,
                    "budget_fen": budget,
                    "spent_fen": spent,
                    "requested_fen": data.amount_fen,
                }
            )
        transfer = TransferIn(
            id=derived_id(f"expenditure:{data.id}"),
            debit_account_id=grant.funds_account_id,
            credit_account_id=grant.spent_account_id,
            amount=data.amount_fen,
            ledger=grant.ledger,
            code=data.category,
            user_data={"project_id": str(project_id), "expenditure_id": str(data.id)},
        )
        # Spending more than was released is refused by the ledger (project funds may not go
        # below zero); nothing is kept, so the same id may be sent again once money arrives.
        await self.ledger.create_transfer(transfer, actor=principal.subject, now=now)
        expenditure = GrantExpenditure(
            id=data.id,
            project_id=project_id,
            category=data.category,
            amount_fen=data.amount_fen,
            description=data.description,
            spent_on=data.spent_on,
            transfer_id=transfer.id,
            created_by=principal.subject,
            created_at=now,
        )
        self.repo.add(expenditure)
        await self.repo.flush()
        return expenditure, True

    @staticmethod
    def _same_expenditure(
        existing: GrantExpenditure, project_id: UUID, data: ExpenditureCreate
    ) -> GrantExpenditure:
        mine = (
            existing.project_id,
            existing.category,
            existing.amount_fen,
            existing.description,
            existing.spent_on,
        )
        sent = (project_id, data.category, data.amount_fen, data.description, data.spent_on)
        if mine != sent:
            raise ExpenditureExistsDifferent()
        return existing

    # --- freezing and recovery ---------------------------------------------------------------

    async def freeze(
        self, project_id: UUID, *, cause: str, reason: str | None, actor: str, now: datetime
    ) -> Grant | None:
        """Stops the grant: unpaid orders rejected, unspent money held for recovery.

        None if there is no such grant; a frozen grant stays as it is (the first cause wins).
        """
        grant = await self.repo.grant(project_id, lock=True)
        if grant is None or grant.status == GrantStatus.frozen:
            return grant
        cancelled = await self._cancel_unpaid(grant, actor=actor, now=now, reason=cause)
        funds = await self.repo.account(grant.funds_account_id)
        assert funds is not None
        unspent = funds.credits_posted - funds.debits_posted - funds.debits_pending
        hold_id = derived_id(f"recovery:{project_id}") if unspent > 0 else None
        if hold_id is not None:
            await self.ledger.create_transfer(
                TransferIn(
                    id=hold_id,
                    debit_account_id=grant.funds_account_id,
                    credit_account_id=program_fund_id(grant.ledger),
                    amount=unspent,
                    ledger=grant.ledger,
                    code="recovery",
                    pending=True,
                    user_data={"project_id": str(project_id)},
                ),
                actor=actor,
                now=now,
            )
        self.repo.add(
            GrantRecovery(
                project_id=project_id,
                amount_fen=unspent,
                # Nothing unspent: nothing to recover, the receivable is settled at once.
                status=RecoveryStatus.open if hold_id else RecoveryStatus.settled,
                hold_transfer_id=hold_id,
                cause=cause,
                reason=reason,
                opened_at=now,
                settled_by=None if hold_id else actor,
                settled_at=None if hold_id else now,
            )
        )
        before = grant.status
        grant.status = GrantStatus.frozen
        grant.frozen_at = now
        grant.frozen_cause = cause
        grant.frozen_reason = reason
        grant.updated_at = now
        await self.repo.flush()
        await self.repo.record(
            project_id,
            action="grant.frozen",
            actor=actor,
            at=now,
            from_state=before,
            to_state=GrantStatus.frozen,
            reason=reason,
            details={"cause": cause, "unspent_fen": unspent, "cancelled_tranches": cancelled},
        )
        await publish(
            self.session,
            events,
            GrantFrozenV1(
                **_grant_facts(grant),
                cause=cause,
                recovery_fen=unspent,
                cancelled_tranches=cancelled,
            ),
        )
        return grant

    async def _cancel_unpaid(
        self, grant: Grant, *, actor: str, now: datetime, reason: str
    ) -> list[int]:
        """Rejects the grant's orders awaiting approval; cancels every tranche not paid."""
        tranches = await self.repo.tranches(grant.project_id, lock=True)
        subsidies = await self.repo.post_subsidies(grant.project_id)
        order_ids = [t.order_id for t in tranches if t.order_id] + [s.order_id for s in subsidies]
        pending = await self.repo.orders(order_ids)
        for order in pending.values():
            if order.status != PaymentOrderStatus.pending_approval:
                continue
            # An approval that won the race on the order's lock stands: that tranche is paid.
            with contextlib.suppress(PaymentOrderNotPending):
                await self.orders.reject(
                    order.id, checker=actor, now=now, reason=f"项目经费冻结（{reason}）"
                )
        orders = await self.repo.orders(order_ids)
        cancelled = []
        for tranche in tranches:
            found = orders.get(tranche.order_id) if tranche.order_id else None
            if tranche_state(tranche, found)[0] in (TrancheShown.paid, TrancheShown.cancelled):
                continue
            tranche.status = TrancheStatus.cancelled
            tranche.updated_at = now
            cancelled.append(tranche.n)
        return cancelled

    async def settle(
        self, project_id: UUID, data: RecoverySettle, *, officer: str, now: datetime
    ) -> tuple[GrantRecovery, bool]:
        """Posts the recovery hold: the unspent money is back in the program fund."""
        grant = await self.locked(project_id)
        recovery = await self.repo.recovery(project_id, lock=True)
        if recovery is None:
            raise RecoveryNotOpen(extra={"state": grant.status})
        if recovery.status == RecoveryStatus.settled:
            if recovery.settle_request_id == data.id:
                return recovery, False
            raise RecoveryNotOpen(extra={"state": recovery.status})
        assert recovery.hold_transfer_id is not None
        post = TransferIn(
            id=derived_id(f"recovery-settle:{project_id}"),
            pending_id=recovery.hold_transfer_id,
            amount=0,
            ledger=grant.ledger,
            code="recovery",
            post_pending=True,
        )
        await self.ledger.create_transfer(post, actor=officer, now=now)
        recovery.status = RecoveryStatus.settled
        recovery.settle_transfer_id = post.id
        recovery.settle_request_id = data.id
        recovery.settled_by = officer
        recovery.settled_at = now
        await self.repo.flush()
        await self.repo.record(
            project_id,
            action="recovery.settled",
            actor=officer,
            at=now,
            from_state=RecoveryStatus.open,
            to_state=RecoveryStatus.settled,
            details={"amount_fen": recovery.amount_fen},
        )
        await publish(
            self.session,
            events,
            GrantRecoverySettledV1(**_grant_facts(grant), amount_fen=recovery.amount_fen),
        )
        return recovery, True


def _grant_facts(grant: Grant) -> dict[str, Any]:
    """What every grant event says of the grant."""
    return {
        "project_id": grant.project_id,
        "project_number": grant.project_number,
        "program_code": grant.program_code,
        "year": grant.year,
        "org_id": grant.org_id,
    }
