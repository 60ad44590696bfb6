"""Reading grant money: one grant with its schedule and execution, lists, per-program rates.

预算执行率 (budget execution rate) is given two ways, both exact fractions rounded half-up to
4 places: `of_released` = spent / released (the money the project actually received; the
headline rate) and `of_budget` = spent / approved budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.scope import funds_scope
from services.funds.grants.envelopes import EnvelopeService
from services.funds.grants.exceptions import EnvelopeNotFound, GrantNotFound
from services.funds.grants.payouts import tranche_state
from services.funds.grants.rates import rate
from services.funds.grants.repository import GrantRepository
from services.funds.grants.schemas import (
    Budget,
    EnvelopeSummary,
    ExecutionRates,
    ExecutionRow,
    GrantRead,
    GrantSummary,
    HistoryEntry,
    Party,
    PostSubsidyRead,
    RecoveryRead,
    TrancheRead,
)
from services.funds.models import PaymentOrder
from services.funds.models.grants import (
    CATEGORIES,
    Grant,
    GrantExpenditure,
    GrantPostSubsidy,
    GrantStatus,
    GrantTranche,
    RecoveryStatus,
)
from shared.auth.tokens import Principal


def summary_of(grant: Grant) -> GrantSummary:
    return GrantSummary.model_validate(
        {
            "project_id": grant.project_id,
            "project_number": grant.project_number,
            "program_code": grant.program_code,
            "year": grant.year,
            "org": Party(id=grant.org_id, name=grant.org_name, credit_code=grant.org_credit_code),
            "pi": Party(id=grant.pi_id, name=grant.pi_name),
            "status": grant.status,
            "approved_budget_fen": grant.approved_budget_fen,
        }
    )


def post_subsidy_view(subsidy: GrantPostSubsidy, order: PaymentOrder) -> PostSubsidyRead:
    return PostSubsidyRead.model_validate(
        {
            "id": subsidy.id,
            "project_id": subsidy.project_id,
            "amount_fen": subsidy.amount_fen,
            "reason": subsidy.reason,
            "payment_order_id": order.id,
            "status": order.status,
            "created_by": subsidy.created_by,
            "created_at": subsidy.created_at,
        }
    )


def tranche_view(tranche: GrantTranche, order: PaymentOrder | None) -> TrancheRead:
    state, refusal = tranche_state(tranche, order)
    return TrancheRead.model_validate(
        {
            "n": tranche.n,
            "name": tranche.name,
            "amount_fen": tranche.amount_fen,
            "on": tranche.milestone,
            "status": state,
            "payment_order_id": tranche.order_id,
            "attempts": tranche.attempts,
            "refusal_code": refusal,
            "due_at": tranche.due_at,
        }
    )


class GrantViews:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = GrantRepository(session)

    async def visible(self, principal: Principal, project_id: UUID) -> Grant:
        grant = await self.repo.grant(project_id)
        if grant is None or not (await funds_scope(self.session, principal)).reads_grant(grant):
            raise GrantNotFound()
        return grant

    async def read(self, principal: Principal, project_id: UUID) -> GrantRead:
        grant = await self.visible(principal, project_id)
        return await self.view(grant)

    async def view(self, grant: Grant) -> GrantRead:
        tranches = await self.repo.tranches(grant.project_id)
        subsidies = await self.repo.post_subsidies(grant.project_id)
        orders = await self.repo.orders(
            [t.order_id for t in tranches if t.order_id] + [s.order_id for s in subsidies]
        )
        funds = await self.repo.account(grant.funds_account_id)
        spent_account = await self.repo.account(grant.spent_account_id)
        assert funds is not None
        assert spent_account is not None
        by_category = await self.repo.spent_by_category(grant.spent_account_id)
        recovery = await self.repo.recovery(grant.project_id)
        released = funds.credits_posted - await self.repo.drawn_back(grant.funds_account_id)
        spent = spent_account.credits_posted
        return GrantRead(
            **summary_of(grant).model_dump(),
            ledger=grant.ledger,
            budget=Budget.model_validate(grant.budget),
            starts_on=grant.starts_on,
            ends_on=grant.ends_on,
            funds_account_id=grant.funds_account_id,
            spent_account_id=grant.spent_account_id,
            tranches=[
                self._tranche(t, orders.get(t.order_id) if t.order_id else None) for t in tranches
            ],
            post_subsidies=[post_subsidy_view(s, orders[s.order_id]) for s in subsidies],
            released=released,
            spent=spent,
            spent_by_category=Budget.model_validate(
                {category: by_category.get(category, 0) for category in CATEGORIES}
            ),
            available=funds.credits_posted - funds.debits_posted - funds.debits_pending,
            frozen=recovery.amount_fen
            if recovery and recovery.status == RecoveryStatus.open
            else 0,
            recovery=RecoveryRead.model_validate(recovery) if recovery else None,
            execution=ExecutionRates(
                of_released=rate(spent, released),
                of_budget=rate(spent, grant.approved_budget_fen),
            ),
            contracted_at=grant.contracted_at,
            accepted_at=grant.accepted_at,
            frozen_at=grant.frozen_at,
            frozen_cause=grant.frozen_cause,
        )

    @staticmethod
    def _tranche(tranche: GrantTranche, order: PaymentOrder | None) -> TrancheRead:
        return tranche_view(tranche, order)

    async def search(
        self,
        principal: Principal,
        *,
        program_code: str | None,
        year: int | None,
        org_id: UUID | None,
        status: GrantStatus | None,
        offset: int,
        limit: int,
    ) -> Sequence[Grant]:
        """The grants the caller may read that match the filters."""
        found = await funds_scope(self.session, principal)
        return await self.repo.search(
            found.grants(),
            program_code=program_code,
            year=year,
            org_id=org_id,
            status=status,
            offset=offset,
            limit=limit,
        )

    async def envelope(self, principal: Principal, program_code: str, year: int) -> EnvelopeSummary:
        """A program's envelope, for those who read the program as a whole."""
        if not (await funds_scope(self.session, principal)).reads_program(program_code):
            raise EnvelopeNotFound()
        return await EnvelopeService(self.session).summary(program_code, year)

    async def execution(
        self,
        principal: Principal,
        *,
        program_code: str | None,
        year: int | None,
        offset: int,
        limit: int,
    ) -> list[ExecutionRow]:
        """Per program and year, of the programs the caller reads as a whole."""
        visible = (await funds_scope(self.session, principal)).program_grants()
        rows = await self.repo.execution(
            visible, program_code=program_code, year=year, offset=offset, limit=limit
        )
        return [
            ExecutionRow(
                program_code=row.program_code,
                year=row.year,
                grants=row.grants,
                budget=int(row.budget),
                released=int(row.released),
                spent=int(row.spent),
                execution=ExecutionRates(
                    of_released=rate(int(row.spent), int(row.released)),
                    of_budget=rate(int(row.spent), int(row.budget)),
                ),
            )
            for row in rows
        ]

    async def history(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> list[HistoryEntry]:
        await self.visible(principal, project_id)
        rows = await self.repo.history(project_id, offset=offset, limit=limit)
        return [HistoryEntry.model_validate(row) for row in rows]

    async def expenditures(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[GrantExpenditure]:
        await self.visible(principal, project_id)
        return await self.repo.expenditures(project_id, offset=offset, limit=limit)
