"""SQL of money across years: rules, closes, and the ledger sums a close and final accounts use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import Account, PaymentOrder, Transfer
from services.funds.models.fiscal import CarryOverRuleVersion, GrantDrawdown, YearEndClose
from services.funds.models.grants import Grant, GrantStatus


class FiscalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- rules -------------------------------------------------------------------------------

    async def current_rule(self, program_code: str) -> CarryOverRuleVersion | None:
        return await self.session.scalar(
            sa.select(CarryOverRuleVersion)
            .where(CarryOverRuleVersion.program_code == program_code)
            .order_by(CarryOverRuleVersion.set_at.desc(), CarryOverRuleVersion.id.desc())
            .limit(1)
        )

    def add(self, row: object) -> None:
        self.session.add(row)

    async def flush(self) -> None:
        await self.session.flush()

    # --- closes ------------------------------------------------------------------------------

    async def close_of(self, program_code: str, year: int) -> YearEndClose | None:
        return await self.session.scalar(
            sa.select(YearEndClose)
            .where(YearEndClose.program_code == program_code, YearEndClose.year == year)
            .execution_options(populate_existing=True)
        )

    async def closes_of(self, program_code: str) -> Sequence[YearEndClose]:
        return (
            await self.session.scalars(
                sa.select(YearEndClose)
                .where(YearEndClose.program_code == program_code)
                .order_by(YearEndClose.year)
            )
        ).all()

    async def insert_close(self, values: dict[str, Any]) -> bool:
        """False if the program's year was closed meanwhile (the unique index waits for it)."""
        inserted = await self.session.scalar(
            insert(YearEndClose)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(YearEndClose.id)
        )
        return inserted is not None

    async def program_funds(self, program_code: str, up_to_year: int) -> Sequence[Account]:
        """The program funds of the program's ledgers up to the year, locked, oldest first."""
        return (
            await self.session.scalars(
                sa.select(Account)
                .where(
                    Account.code == "program_fund",
                    Account.program == program_code,
                    Account.fiscal_year <= up_to_year,
                    Account.ledger == sa.func.concat(Account.program, "-", Account.fiscal_year),
                )
                .order_by(Account.fiscal_year)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()

    async def accounts_with_holds(self, program_code: str, up_to_year: int) -> list[str]:
        """Names of the program's accounts (ledgers up to the year) with money on hold."""
        rows = await self.session.scalars(
            sa.select(Account.name)
            .where(
                Account.program == program_code,
                Account.fiscal_year <= up_to_year,
                sa.or_(Account.debits_pending > 0, Account.credits_pending > 0),
            )
            .order_by(Account.name)
            .limit(20)
        )
        return list(rows.all())

    async def active_grants(self, program_code: str, up_to_year: int) -> Sequence[Grant]:
        """The program's running grants of ledgers up to the year, locked in id order."""
        return (
            await self.session.scalars(
                sa.select(Grant)
                .where(
                    Grant.program_code == program_code,
                    Grant.year <= up_to_year,
                    Grant.status == GrantStatus.active,
                )
                .order_by(Grant.project_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()

    async def account(self, account_id: UUID) -> Account | None:
        return await self.session.scalar(
            sa.select(Account)
            .where(Account.id == account_id)
            .execution_options(populate_existing=True)
        )

    async def last_seq(self) -> int:
        return int(await self.session.scalar(sa.select(sa.func.max(Transfer.seq))) or 0)

    # --- sums for final accounts ------------------------------------------------------------

    async def movements(
        self, account_ids: Sequence[UUID], *, after_seq: int, up_to_seq: int | None
    ) -> list[Any]:
        """Posted movements of the accounts in the window, summed per (debit, credit, code).

        The ledger stores a post with the accounts and the amount it actually moved."""
        query = (
            sa.select(
                Transfer.debit_account_id,
                Transfer.credit_account_id,
                Transfer.code,
                sa.func.sum(Transfer.amount),
            )
            .where(
                Transfer.kind.in_(("single", "post")),
                Transfer.seq > after_seq,
                sa.or_(
                    Transfer.debit_account_id.in_(account_ids),
                    Transfer.credit_account_id.in_(account_ids),
                ),
            )
            .group_by(Transfer.debit_account_id, Transfer.credit_account_id, Transfer.code)
        )
        if up_to_seq is not None:
            query = query.where(Transfer.seq <= up_to_seq)
        return list((await self.session.execute(query)).all())

    async def drawn_by_category(
        self, project_id: UUID, *, after_seq: int, up_to_seq: int | None
    ) -> dict[str, int]:
        """Drawdowns paid in the window (their payment order's post), per budget category."""
        query = (
            sa.select(GrantDrawdown.category, sa.func.sum(GrantDrawdown.amount_fen))
            .join(PaymentOrder, PaymentOrder.id == GrantDrawdown.order_id)
            .join(Transfer, Transfer.id == PaymentOrder.resolution_transfer_id)
            .where(
                GrantDrawdown.project_id == project_id,
                Transfer.kind == "post",
                Transfer.seq > after_seq,
            )
            .group_by(GrantDrawdown.category)
        )
        if up_to_seq is not None:
            query = query.where(Transfer.seq <= up_to_seq)
        return {category: int(total) for category, total in (await self.session.execute(query))}
