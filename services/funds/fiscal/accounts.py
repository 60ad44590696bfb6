"""The accounts money crosses years by, with ids derived from what they are for.

- `carry_over` (one per ledger `{code}-{year}`, the province's): a ledger's transfers never
  leave it, so a carry-over is two transfers, `carry_over_out` from the closing year's program
  fund into its `carry_over` account and `carry_over_in` from the next year's `carry_over`
  account into that year's program fund, for the same amount; the two accounts mirror each
  other across the years.
- `project_carried` (one per project, in its grant's ledger): what a year-end close carried
  over of the project's unspent money (结转). It pays out only through approved payment orders:
  the organization's drawdowns.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.accounts.schemas import AccountCreate
from services.funds.accounts.service import AccountService
from services.funds.grants.accounts import derived_id
from services.funds.models import Account
from services.funds.models.grants import Grant


def carry_over_id(ledger: str) -> UUID:
    return derived_id(f"carry_over:{ledger}")


def project_carried_id(project_id: UUID) -> UUID:
    return derived_id(f"project_carried:{project_id}")


class FiscalAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self.accounts = AccountService(session)

    async def open_carry_over(
        self, program_code: str, year: int, ledger: str, *, actor: str, now: datetime
    ) -> Account:
        account, _ = await self.accounts.open(
            AccountCreate(
                id=carry_over_id(ledger),
                ledger=ledger,
                code="carry_over",
                name=f"跨年度结转 {ledger}",
                owner_kind="province",
                owner_id="province",
                program=program_code,
                fiscal_year=year,
            ),
            actor=actor,
            now=now,
        )
        return account

    async def open_project_carried(self, grant: Grant, *, actor: str, now: datetime) -> Account:
        account, _ = await self.accounts.open(
            AccountCreate(
                id=project_carried_id(grant.project_id),
                ledger=grant.ledger,
                code="project_carried",
                name=f"项目结转资金 {grant.project_number}",
                owner_kind="project",
                owner_id=str(grant.project_id),
                program=grant.program_code,
                fiscal_year=grant.year,
                debits_must_not_exceed_credits=True,
                requires_approval=True,
                user_data={"project_id": str(grant.project_id)},
            ),
            actor=actor,
            now=now,
        )
        return account
