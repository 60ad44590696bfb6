"""SQL of grant money: grants and their schedules, and the sums read from the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.funds.models import Account, PaymentOrder, Transfer
from services.funds.models.grants import (
    Grant,
    GrantEnvelope,
    GrantExpenditure,
    GrantHistory,
    GrantPostSubsidy,
    GrantRecovery,
    GrantStatus,
    GrantTranche,
    TrancheStatus,
)
from services.funds.models.payments import PaymentOrderStatus
from shared.ids import uuid7


def _drawn_back_into(account_id: Any) -> sa.Select[int]:
    """The sum of the drawdowns paid into a project's account (`account_id`: a value or a
    column, for one grant or each grant of a list)."""
    return sa.select(sa.func.coalesce(sa.func.sum(Transfer.amount), 0)).where(
        Transfer.credit_account_id == account_id,
        Transfer.code == "drawdown",
        Transfer.kind == "post",
    )


class GrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- accounts and orders (read fresh: the ledger function changes them behind the ORM) ----

    async def account(self, account_id: UUID) -> Account | None:
        return await self.session.scalar(
            sa.select(Account)
            .where(Account.id == account_id)
            .execution_options(populate_existing=True)
        )

    async def orders(self, ids: Sequence[UUID]) -> dict[UUID, PaymentOrder]:
        if not ids:
            return {}
        rows = await self.session.scalars(
            sa.select(PaymentOrder)
            .where(PaymentOrder.id.in_(ids))
            .execution_options(populate_existing=True)
        )
        return {row.id: row for row in rows}

    async def spent_by_category(self, spent_account_id: UUID) -> dict[str, int]:
        """What the ledger holds as spent, per budget category (the transfer code)."""
        rows = await self.session.execute(
            sa.select(Transfer.code, sa.func.sum(Transfer.amount))
            .where(Transfer.credit_account_id == spent_account_id, Transfer.kind == "single")
            .group_by(Transfer.code)
        )
        return {code: int(total) for code, total in rows.all()}

    async def drawn_back(self, funds_account_id: UUID) -> int:
        """Carried-over money paid back to the project's account by drawdowns (a year-end
        close took it from there first: it is not released twice)."""
        total = await self.session.scalar(_drawn_back_into(funds_account_id))
        return int(total or 0)

    # --- envelopes ---------------------------------------------------------------------------

    async def envelope(self, envelope_id: UUID) -> GrantEnvelope | None:
        return await self.session.get(GrantEnvelope, envelope_id)

    async def insert_envelope(self, values: dict[str, Any]) -> bool:
        inserted = await self.session.scalar(
            insert(GrantEnvelope)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(GrantEnvelope.id)
        )
        return inserted is not None

    async def envelopes(self, program_code: str, year: int) -> Sequence[GrantEnvelope]:
        return (
            await self.session.scalars(
                sa.select(GrantEnvelope)
                .where(GrantEnvelope.program_code == program_code, GrantEnvelope.year == year)
                .order_by(GrantEnvelope.created_at, GrantEnvelope.id)
            )
        ).all()

    async def committed(self, ledger: str) -> int:
        """Tranches of the ledger's grants neither paid nor cancelled, held or not."""
        total = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(GrantTranche.amount_fen), 0))
            .join(Grant, Grant.project_id == GrantTranche.project_id)
            .outerjoin(PaymentOrder, PaymentOrder.id == GrantTranche.order_id)
            .where(
                Grant.ledger == ledger,
                GrantTranche.status != TrancheStatus.cancelled,
                sa.or_(
                    PaymentOrder.status.is_(None),
                    PaymentOrder.status != PaymentOrderStatus.approved,
                ),
            )
        )
        return int(total or 0)

    async def post_subsidies_on_hold(self, ledger: str) -> int:
        total = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(GrantPostSubsidy.amount_fen), 0))
            .join(PaymentOrder, PaymentOrder.id == GrantPostSubsidy.order_id)
            .where(
                PaymentOrder.ledger == ledger,
                PaymentOrder.status == PaymentOrderStatus.pending_approval,
            )
        )
        return int(total or 0)

    # --- grants ------------------------------------------------------------------------------

    async def insert_grant(self, values: dict[str, Any]) -> bool:
        inserted = await self.session.scalar(
            insert(Grant).values(**values).on_conflict_do_nothing().returning(Grant.project_id)
        )
        return inserted is not None

    async def grant(self, project_id: UUID, *, lock: bool = False) -> Grant | None:
        query = sa.select(Grant).where(Grant.project_id == project_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    async def search(
        self,
        visible: sa.ColumnElement[bool],
        *,
        program_code: str | None,
        year: int | None,
        org_id: UUID | None,
        status: GrantStatus | None,
        offset: int,
        limit: int,
    ) -> Sequence[Grant]:
        query = (
            sa.select(Grant)
            .where(visible)
            .order_by(Grant.program_code, Grant.year, Grant.project_number)
        )
        if program_code is not None:
            query = query.where(Grant.program_code == program_code)
        if year is not None:
            query = query.where(Grant.year == year)
        if org_id is not None:
            query = query.where(Grant.org_id == org_id)
        if status is not None:
            query = query.where(Grant.status == status)
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    async def execution(
        self,
        visible: sa.ColumnElement[bool],
        *,
        program_code: str | None,
        year: int | None,
        offset: int,
        limit: int,
    ) -> list[Any]:
        """Per program and year: grants, budget, released and spent (from account totals)."""
        funds, spent = aliased(Account), aliased(Account)
        query = (
            sa.select(
                Grant.program_code,
                Grant.year,
                sa.func.count().label("grants"),
                sa.func.sum(Grant.approved_budget_fen).label("budget"),
                # What reached the project, less drawdowns of its own carried-over money.
                sa.func.sum(
                    funds.credits_posted
                    - _drawn_back_into(Grant.funds_account_id).correlate(Grant).scalar_subquery()
                ).label("released"),
                sa.func.sum(spent.credits_posted).label("spent"),
            )
            .join(funds, funds.id == Grant.funds_account_id)
            .join(spent, spent.id == Grant.spent_account_id)
            .where(visible)
            .group_by(Grant.program_code, Grant.year)
            .order_by(Grant.program_code, Grant.year)
            .offset(offset)
            .limit(limit)
        )
        if program_code is not None:
            query = query.where(Grant.program_code == program_code)
        if year is not None:
            query = query.where(Grant.year == year)
        return list((await self.session.execute(query)).all())

    # --- tranches ----------------------------------------------------------------------------

    async def insert_tranches(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(GrantTranche).values(rows).on_conflict_do_nothing())

    async def tranches(self, project_id: UUID, *, lock: bool = False) -> Sequence[GrantTranche]:
        query = (
            sa.select(GrantTranche)
            .where(GrantTranche.project_id == project_id)
            .order_by(GrantTranche.n)
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query.execution_options(populate_existing=True))).all()

    async def tranche(self, project_id: UUID, n: int) -> GrantTranche | None:
        return await self.session.scalar(
            sa.select(GrantTranche)
            .where(GrantTranche.project_id == project_id, GrantTranche.n == n)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    # --- post-subsidies, expenditures, recoveries --------------------------------------------

    async def post_subsidy(self, subsidy_id: UUID) -> GrantPostSubsidy | None:
        return await self.session.get(GrantPostSubsidy, subsidy_id)

    async def post_subsidies(self, project_id: UUID) -> Sequence[GrantPostSubsidy]:
        return (
            await self.session.scalars(
                sa.select(GrantPostSubsidy)
                .where(GrantPostSubsidy.project_id == project_id)
                .order_by(GrantPostSubsidy.created_at, GrantPostSubsidy.id)
            )
        ).all()

    async def expenditure(self, expenditure_id: UUID) -> GrantExpenditure | None:
        return await self.session.get(GrantExpenditure, expenditure_id)

    async def expenditures(
        self, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[GrantExpenditure]:
        return (
            await self.session.scalars(
                sa.select(GrantExpenditure)
                .join(Transfer, Transfer.id == GrantExpenditure.transfer_id)
                .where(GrantExpenditure.project_id == project_id)
                .order_by(GrantExpenditure.created_at, Transfer.seq)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def recovery(self, project_id: UUID, *, lock: bool = False) -> GrantRecovery | None:
        query = sa.select(GrantRecovery).where(GrantRecovery.project_id == project_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query.execution_options(populate_existing=True))

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # --- history ----------------------------------------------------------

    async def record(
        self,
        project_id: UUID,
        *,
        action: str,
        actor: str,
        at: datetime,
        from_state: str | None = None,
        to_state: str | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            GrantHistory(
                id=uuid7(),
                project_id=project_id,
                action=action,
                actor=actor,
                at=at,
                from_state=from_state,
                to_state=to_state,
                reason=reason,
                details=details or {},
            )
        )
        await self.session.flush()

    async def history(self, project_id: UUID, *, offset: int, limit: int) -> Sequence[GrantHistory]:
        return (
            await self.session.scalars(
                sa.select(GrantHistory)
                .where(GrantHistory.project_id == project_id)
                .order_by(GrantHistory.at, GrantHistory.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
