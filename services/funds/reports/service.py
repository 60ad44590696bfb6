"""The trial balance (debits equal credits in every ledger, always) and the integrity check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.access.scope import funds_scope
from services.funds.reports.repository import ReportRepository
from services.funds.reports.schemas import IntegrityReport, LedgerBalance, TrialBalance, Violation
from shared.auth.tokens import Principal


class ReportService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReportRepository(session)

    async def trial_balance(
        self,
        *,
        ledger: str | None,
        as_of: datetime | None,
        principal: Principal | None = None,
    ) -> TrialBalance:
        """Per ledger the caller reads whole (program managers and evaluators: their programs');
        without a caller (the service itself), every ledger."""
        rows = (
            await self.repo.stored_balances(ledger)
            if as_of is None
            else await self.repo.balances_as_of(as_of, ledger)
        )
        found = await funds_scope(self.session, principal) if principal else None
        if found is not None and not found.everything:
            readable = await AccessRepository(self.session).ledgers(found.ledgers())
            rows = [row for row in rows if row["ledger"] in readable]
        ledgers = [
            LedgerBalance(
                ledger=row["ledger"],
                accounts=int(row["accounts"]),
                debits_posted=int(row["debits_posted"]),
                credits_posted=int(row["credits_posted"]),
                debits_pending=int(row["debits_pending"]),
                credits_pending=int(row["credits_pending"]),
                balanced=row["debits_posted"] == row["credits_posted"]
                and row["debits_pending"] == row["credits_pending"],
            )
            for row in rows
        ]
        return TrialBalance(
            as_of=as_of,
            source="accounts" if as_of is None else "transfers",
            ledgers=ledgers,
            balanced=all(entry.balanced for entry in ledgers),
        )

    async def integrity(self) -> IntegrityReport:
        accounts, transfers = await self.repo.counts()
        violations = [
            Violation(kind=kind, subject=subject, detail=detail)
            for kind, subject, detail in await self.repo.integrity_violations()
        ]
        return IntegrityReport(
            checked_accounts=accounts,
            checked_transfers=transfers,
            violations=violations,
            ok=not violations,
        )
