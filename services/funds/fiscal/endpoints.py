"""Money across fiscal years: carry-over rules, the year-end close, final accounts (决算)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from services.funds.auth import FinanceOfficer, NowDep
from services.funds.fiscal.final_accounts import FinalAccountsReader
from services.funds.fiscal.schemas import (
    CarryOverRuleRead,
    CarryOverRuleSet,
    FinalAccounts,
    YearEndCloseCreate,
    YearEndCloseRead,
)
from services.funds.fiscal.service import FiscalService
from services.funds.grants.auth import GrantOverseer, GrantReader
from services.funds.grants.schemas import ProgramCode, QueryYear
from shared.db import SessionDep

router = APIRouter(prefix="/v1", tags=["fiscal years"])


async def fiscal_service(session: SessionDep) -> FiscalService:
    return FiscalService(session)


async def final_accounts_reader(session: SessionDep) -> FinalAccountsReader:
    return FinalAccountsReader(session)


Fiscal = Annotated[FiscalService, Depends(fiscal_service)]
Reader = Annotated[FinalAccountsReader, Depends(final_accounts_reader)]
PathYear = Annotated[int, Path(ge=2000, le=2100)]


@router.put(
    "/carry-over-rules/{program_code}",
    response_model=CarryOverRuleRead,
    summary="Set a program's carry-over rule (结转结余): carry all, up to a share, or return",
)
async def set_carry_over_rule(
    program_code: Annotated[ProgramCode, Path()],
    data: CarryOverRuleSet,
    fiscal: Fiscal,
    officer: FinanceOfficer,
    now: NowDep,
) -> CarryOverRuleRead:
    rule = await fiscal.set_rule(program_code, data, officer=officer.subject, now=now)
    return CarryOverRuleRead.model_validate(rule)


@router.get(
    "/carry-over-rules/{program_code}",
    response_model=CarryOverRuleRead,
    summary="A program's carry-over rule in force",
)
async def get_carry_over_rule(
    program_code: Annotated[ProgramCode, Path()], fiscal: Fiscal, reader: GrantOverseer
) -> CarryOverRuleRead:
    return CarryOverRuleRead.model_validate(await fiscal.rule(reader, program_code))


@router.post(
    "/year-end-closes",
    response_model=YearEndCloseRead,
    status_code=status.HTTP_201_CREATED,
    summary="Close a program's fiscal year (年终结账): carry over or return the unspent money",
)
async def close_year(
    data: YearEndCloseCreate,
    fiscal: Fiscal,
    officer: FinanceOfficer,
    now: NowDep,
    response: Response,
) -> YearEndCloseRead:
    closed, created = await fiscal.close(data, officer=officer.subject, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return YearEndCloseRead.model_validate(closed)


@router.get(
    "/year-end-closes/{program_code}/{year}",
    response_model=YearEndCloseRead,
    summary="The close of a program's fiscal year: the rule, and every transfer it made",
)
async def get_close(
    program_code: Annotated[ProgramCode, Path()],
    year: PathYear,
    fiscal: Fiscal,
    reader: GrantOverseer,
) -> YearEndCloseRead:
    return YearEndCloseRead.model_validate(await fiscal.read_close(reader, program_code, year))


@router.get(
    "/grants/{project_id}/final-accounts",
    response_model=FinalAccounts,
    summary="A project's final accounts (决算) for a fiscal year, per budget category",
)
async def final_accounts(
    project_id: UUID,
    reader: GrantReader,
    accounts: Reader,
    year: Annotated[QueryYear, Query()],
) -> FinalAccounts:
    return await accounts.read(reader, project_id, year)
