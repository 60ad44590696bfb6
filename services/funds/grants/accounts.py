"""The accounts of grant money, with ids derived from what they are for.

Per ledger (`{program_code}-{year}`): `treasury` (the provincial budget the envelopes come
from) and `program_fund` (the program's envelope; pays out only through approved payment
orders). Per project: `project_funds` (its own account at its organization, 专账核算: the
tranches arrive here) and `project_spent` (reported expenditure; the transfer code is the
budget category). The ids are uuid5 of that purpose, so opening them again is a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.accounts.schemas import AccountCreate
from services.funds.accounts.service import AccountService
from services.funds.models import Account

NAMESPACE = uuid.UUID("0b8f7a52-61c4-4f0e-9a0d-2a6c1e5d9b31")


def derived_id(purpose: str) -> UUID:
    """A deterministic id: the same business fact always makes the same row or transfer."""
    return uuid.uuid5(NAMESPACE, purpose)


def ledger_of(program_code: str, year: int) -> str:
    return f"{program_code}-{year}"


def treasury_id(ledger: str) -> UUID:
    return derived_id(f"treasury:{ledger}")


def program_fund_id(ledger: str) -> UUID:
    return derived_id(f"program_fund:{ledger}")


def project_funds_id(project_id: UUID) -> UUID:
    return derived_id(f"project_funds:{project_id}")


def project_spent_id(project_id: UUID) -> UUID:
    return derived_id(f"project_spent:{project_id}")


class GrantAccounts:
    def __init__(self, session: AsyncSession) -> None:
        self.accounts = AccountService(session)

    async def open_program(
        self, program_code: str, year: int, *, actor: str, now: datetime
    ) -> tuple[Account, Account]:
        """(treasury, program fund) of the program's ledger for the year."""
        ledger = ledger_of(program_code, year)
        treasury, _ = await self.accounts.open(
            AccountCreate(
                id=treasury_id(ledger),
                ledger=ledger,
                code="treasury",
                name=f"省级科技计划预算 {ledger}",
                owner_kind="province",
                owner_id="province",
                program=program_code,
                fiscal_year=year,
            ),
            actor=actor,
            now=now,
        )
        fund, _ = await self.accounts.open(
            AccountCreate(
                id=program_fund_id(ledger),
                ledger=ledger,
                code="program_fund",
                name=f"计划专项资金 {ledger}",
                owner_kind="program",
                owner_id=program_code,
                program=program_code,
                fiscal_year=year,
                debits_must_not_exceed_credits=True,
                requires_approval=True,
            ),
            actor=actor,
            now=now,
        )
        return treasury, fund

    async def open_project(
        self,
        *,
        ledger: str,
        program_code: str,
        year: int,
        project_id: UUID,
        project_number: str,
        org_id: UUID,
        actor: str,
        now: datetime,
    ) -> tuple[Account, Account]:
        """(project funds, project spent) of one project."""
        funds, _ = await self.accounts.open(
            AccountCreate(
                id=project_funds_id(project_id),
                ledger=ledger,
                code="project_funds",
                name=f"项目专账 {project_number}",
                owner_kind="organization",
                owner_id=str(org_id),
                program=program_code,
                fiscal_year=year,
                debits_must_not_exceed_credits=True,
                user_data={"project_id": str(project_id)},
            ),
            actor=actor,
            now=now,
        )
        spent, _ = await self.accounts.open(
            AccountCreate(
                id=project_spent_id(project_id),
                ledger=ledger,
                code="project_spent",
                name=f"项目已支出 {project_number}",
                owner_kind="project",
                owner_id=str(project_id),
                program=program_code,
                fiscal_year=year,
                user_data={"project_id": str(project_id)},
            ),
            actor=actor,
            now=now,
        )
        return funds, spent
