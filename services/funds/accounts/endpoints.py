"""Accounts: opened by finance officers, read by finance staff, auditors and evaluators."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import AwareDatetime

from services.funds.accounts.schemas import AccountCreate, AccountRead, Statement
from services.funds.accounts.service import AccountService
from services.funds.auth import FinanceOfficer, LedgerReader, NowDep
from services.funds.ledger.schemas import LedgerCode
from shared.db import SessionDep
from shared.errors import AppError, Text
from shared.pagination import Page, PageDep, next_cursor, page_of, start_of

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


async def account_service(session: SessionDep) -> AccountService:
    return AccountService(session)


Accounts = Annotated[AccountService, Depends(account_service)]


class InvalidPeriod(AppError):
    status = 422
    code = "statement.invalid_period"
    title = Text("对账期间无效：起始须早于结束", "Invalid period: `from` must be before `to`")


@router.post(
    "",
    response_model=AccountRead,
    status_code=status.HTTP_201_CREATED,
    summary="Open an account (201; 200 when the same id and body were sent before)",
)
async def open_account(
    data: AccountCreate,
    accounts: Accounts,
    officer: FinanceOfficer,
    now: NowDep,
    response: Response,
) -> AccountRead:
    account, created = await accounts.open(data, actor=officer.subject, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return AccountRead.model_validate(account)


@router.get("", response_model=Page[AccountRead], summary="Accounts, by ledger, owner or purpose")
async def list_accounts(
    accounts: Accounts,
    reader: LedgerReader,
    page: PageDep,
    ledger: Annotated[LedgerCode | None, Query()] = None,
    owner_id: Annotated[str | None, Query(max_length=100)] = None,
    code: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[AccountRead]:
    offset = start_of(page)
    found = await accounts.search(
        reader, ledger=ledger, owner_id=owner_id, code=code, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit, AccountRead.model_validate)


@router.get(
    "/{account_id}",
    response_model=AccountRead,
    summary="An account with its balances, now or as of a past moment",
)
async def get_account(
    account_id: UUID,
    accounts: Accounts,
    reader: LedgerReader,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="balances from the transfers made up to this moment (inclusive)"),
    ] = None,
) -> AccountRead:
    return await accounts.read(reader, account_id, as_of)


@router.get(
    "/{account_id}/statement",
    response_model=Statement,
    summary="The account's transfers in a period, with running totals after each",
)
async def account_statement(
    account_id: UUID,
    accounts: Accounts,
    reader: LedgerReader,
    page: PageDep,
    period_from: Annotated[
        AwareDatetime | None, Query(alias="from", description="inclusive")
    ] = None,
    period_to: Annotated[AwareDatetime | None, Query(alias="to", description="exclusive")] = None,
) -> Statement:
    if period_from is not None and period_to is not None and period_from >= period_to:
        raise InvalidPeriod()
    offset = start_of(page)
    statement, more = await accounts.statement(
        reader, account_id, since=period_from, until=period_to, offset=offset, limit=page.limit
    )
    statement.next_cursor = next_cursor(offset, page.limit, page.limit + 1 if more else 0)
    return statement
