"""Drawdowns (用款申请) of carried-over money.

What a year-end close carried over of a project's unspent money waits in the project's
carry-over account; the organization's admin asks for it (amount, purpose, budget category) and
a finance officer approves or rejects. A request is a payment order made by the requester (the
amount is held at once, so it cannot be asked for twice), and a finance officer decides it
like any order: the maker never approves (the payment-order rules and the database refuse it);
approval pays it into the project's account at the organization.

A drawdown is at most what the carry-over account holds and not on hold, and at most the
category's budget not yet spent nor asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.drawdowns.exceptions import (
    DrawdownCategoryOverBudget,
    DrawdownExceedsCarriedOver,
    DrawdownExistsDifferent,
    DrawdownNotFound,
    NotTheOrganization,
)
from services.funds.drawdowns.repository import DrawdownRepository
from services.funds.drawdowns.schemas import DrawdownCreate, DrawdownRead, DrawdownShown
from services.funds.fiscal.accounts import project_carried_id
from services.funds.grants.accounts import derived_id
from services.funds.grants.exceptions import GrantFrozen
from services.funds.grants.repository import GrantRepository
from services.funds.grants.service import GrantService
from services.funds.grants.views import GrantViews
from services.funds.models import PaymentOrder
from services.funds.models.fiscal import GrantDrawdown
from services.funds.models.grants import Grant, GrantStatus
from services.funds.models.payments import PaymentOrderStatus
from services.funds.payments.schemas import PaymentOrderCreate
from services.funds.payments.service import PaymentOrderService
from shared.auth.roles import Role
from shared.auth.tokens import Principal

_SHOWN = {
    PaymentOrderStatus.pending_approval: DrawdownShown.awaiting_approval,
    PaymentOrderStatus.approved: DrawdownShown.paid,
    PaymentOrderStatus.rejected: DrawdownShown.rejected,
}


def drawdown_view(drawdown: GrantDrawdown, order: PaymentOrder, grant: Grant) -> DrawdownRead:
    return DrawdownRead(
        id=drawdown.id,
        project_id=drawdown.project_id,
        project_number=grant.project_number,
        category=drawdown.category,
        amount_fen=drawdown.amount_fen,
        purpose=drawdown.purpose,
        status=_SHOWN[order.status],
        order_id=order.id,
        requested_by=drawdown.requested_by,
        requested_at=drawdown.requested_at,
        decided_by=order.decided_by,
        decided_at=order.decided_at,
        reason=order.reason,
    )


class DrawdownService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = DrawdownRepository(session)
        self.grants = GrantService(session)
        self.grant_repo = GrantRepository(session)
        self.views = GrantViews(session)
        self.orders = PaymentOrderService(session)

    async def request(
        self, principal: Principal, project_id: UUID, data: DrawdownCreate, *, now: datetime
    ) -> tuple[DrawdownRead, bool]:
        grant = await self.grants.locked(project_id, principal)
        if not (principal.has_any(Role.org_admin) and principal.org_id == grant.org_id):
            raise NotTheOrganization()
        existing = await self.repo.get(data.id)
        if existing is not None:
            mine = (existing.project_id, existing.category, existing.amount_fen, existing.purpose)
            if mine != (project_id, data.category, data.amount_fen, data.purpose):
                raise DrawdownExistsDifferent()
            return drawdown_view(existing, await self.orders.get(existing.order_id), grant), False
        if grant.status == GrantStatus.frozen:
            raise GrantFrozen(extra={"state": grant.status})
        carried = await self.grant_repo.account(project_carried_id(project_id))
        available = (
            carried.credits_posted - carried.debits_posted - carried.debits_pending
            if carried
            else 0
        )
        if data.amount_fen > available:
            raise DrawdownExceedsCarriedOver(
                extra={"available_fen": available, "requested_fen": data.amount_fen}
            )
        budget = int(grant.budget.get(data.category, 0))
        spent = (await self.grant_repo.spent_by_category(grant.spent_account_id)).get(
            data.category, 0
        )
        waiting = await self.repo.waiting(project_id, data.category)
        if data.amount_fen > budget - spent - waiting:
            raise DrawdownCategoryOverBudget(
                extra={
                    "category": data.category,
                    "budget_fen": budget,
                    "spent_fen": spent,
                    "awaiting_fen": waiting,
                    "requested_fen": data.amount_fen,
                }
            )
        assert carried is not None
        order, _ = await self.orders.make(
            PaymentOrderCreate(
                id=derived_id(f"drawdown:{data.id}"),
                debit_account_id=carried.id,
                credit_account_id=grant.funds_account_id,
                amount=data.amount_fen,
                ledger=grant.ledger,
                code="drawdown",
                purpose=f"{grant.project_number} 用款申请（{data.category}）：{data.purpose}"[
                    :2000
                ],
                user_data={
                    "project_id": str(project_id),
                    "drawdown_id": str(data.id),
                    "category": str(data.category),
                },
            ),
            maker=principal.subject,
            now=now,
        )
        drawdown = GrantDrawdown(
            id=data.id,
            project_id=project_id,
            category=data.category,
            amount_fen=data.amount_fen,
            purpose=data.purpose,
            order_id=order.id,
            requested_by=principal.subject,
            requested_at=now,
        )
        self.repo.add(drawdown)
        await self.repo.flush()
        await self.grant_repo.record(
            project_id,
            action="drawdown.requested",
            actor=principal.subject,
            at=now,
            to_state=DrawdownShown.awaiting_approval,
            reason=data.purpose,
            details={
                "drawdown_id": str(data.id),
                "category": str(data.category),
                "amount_fen": data.amount_fen,
            },
        )
        return drawdown_view(drawdown, order, grant), True

    async def decide(
        self,
        drawdown_id: UUID,
        *,
        approve: bool,
        officer: str,
        reason: str | None,
        now: datetime,
    ) -> DrawdownRead:
        drawdown = await self.repo.get(drawdown_id)
        if drawdown is None:
            raise DrawdownNotFound()
        if approve:
            order = await self.orders.approve(
                drawdown.order_id, checker=officer, now=now, reason=reason
            )
        else:
            assert reason is not None
            order = await self.orders.reject(
                drawdown.order_id, checker=officer, now=now, reason=reason
            )
        grant = await self.grant_repo.grant(drawdown.project_id)
        assert grant is not None
        shown = _SHOWN[order.status]
        await self.grant_repo.record(
            drawdown.project_id,
            action=f"drawdown.{shown}",
            actor=officer,
            at=now,
            from_state=DrawdownShown.awaiting_approval,
            to_state=shown,
            reason=reason,
            details={"drawdown_id": str(drawdown.id), "amount_fen": drawdown.amount_fen},
        )
        return drawdown_view(drawdown, order, grant)

    async def of_project(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[DrawdownRead]:
        grant = await self.views.visible(principal, project_id)
        rows = await self.repo.with_orders(project_id, offset=offset, limit=limit)
        return [drawdown_view(drawdown, order, grant) for drawdown, order in rows]
