"""Reports for finance staff, auditors and evaluators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from services.funds.auth import LedgerAuditor, LedgerReader
from services.funds.ledger.schemas import LedgerCode
from services.funds.reports.schemas import IntegrityReport, TrialBalance
from services.funds.reports.service import ReportService
from shared.db import SessionDep

router = APIRouter(prefix="/v1/reports", tags=["reports"])


async def report_service(session: SessionDep) -> ReportService:
    return ReportService(session)


Reports = Annotated[ReportService, Depends(report_service)]


@router.get(
    "/trial-balance",
    response_model=TrialBalance,
    summary="Debits and credits per ledger, and whether they balance",
)
async def trial_balance(
    reports: Reports,
    reader: LedgerReader,
    ledger: Annotated[LedgerCode | None, Query()] = None,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="recomputed from the transfers made up to this moment"),
    ] = None,
) -> TrialBalance:
    return await reports.trial_balance(ledger=ledger, as_of=as_of, principal=reader)


@router.get(
    "/integrity",
    response_model=IntegrityReport,
    summary="Checks the whole ledger: balances, stored totals against transfers, holds",
)
async def integrity(reports: Reports, _auditor: LedgerAuditor) -> IntegrityReport:
    return await reports.integrity()
