"""Reports: the trial balance per ledger, and the ledger's integrity check."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class LedgerBalance(BaseModel):
    ledger: str
    accounts: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balanced: bool


class TrialBalance(BaseModel):
    as_of: datetime | None
    # From the accounts' stored totals (now) or from the transfers (as of a past moment).
    source: str
    ledgers: list[LedgerBalance]
    balanced: bool


class Violation(BaseModel):
    kind: str
    subject: str
    detail: str


class IntegrityReport(BaseModel):
    checked_accounts: int
    checked_transfers: int
    violations: list[Violation]
    ok: bool
