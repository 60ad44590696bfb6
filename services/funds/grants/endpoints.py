"""Grant money: budgets opened from task books, tranches, post-subsidies, recovery."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from services.funds.auth import FinanceOfficer, NowDep
from services.funds.grants.auth import ExpenditureReporter, GrantOverseer, GrantReader
from services.funds.grants.envelopes import EnvelopeService
from services.funds.grants.schemas import (
    EnvelopeCreate,
    EnvelopeRead,
    EnvelopeSummary,
    ExecutionRow,
    ExpenditureCreate,
    ExpenditureRead,
    GrantRead,
    GrantSummary,
    HistoryEntry,
    PostSubsidyCreate,
    PostSubsidyRead,
    ProgramCode,
    QueryYear,
    RecoveryRead,
    RecoverySettle,
    TrancheRead,
)
from services.funds.grants.service import GrantService
from services.funds.grants.views import GrantViews, post_subsidy_view, summary_of, tranche_view
from services.funds.models.grants import GrantStatus
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="/v1", tags=["grants"])


async def grant_service(session: SessionDep) -> GrantService:
    return GrantService(session)


async def grant_views(session: SessionDep) -> GrantViews:
    return GrantViews(session)


async def envelope_service(session: SessionDep) -> EnvelopeService:
    return EnvelopeService(session)


Grants = Annotated[GrantService, Depends(grant_service)]
Views = Annotated[GrantViews, Depends(grant_views)]
Envelopes = Annotated[EnvelopeService, Depends(envelope_service)]


def _created(response: Response, created: bool) -> None:
    if not created:
        response.status_code = status.HTTP_200_OK


# --- program level (declared before /grants/{project_id}) ----------------------------------


@router.post(
    "/grants/envelopes",
    response_model=EnvelopeRead,
    status_code=status.HTTP_201_CREATED,
    summary="Allocate a program's envelope for a year (treasury -> program fund)",
)
async def allocate_envelope(
    data: EnvelopeCreate,
    envelopes: Envelopes,
    officer: FinanceOfficer,
    now: NowDep,
    response: Response,
) -> EnvelopeRead:
    envelope, created = await envelopes.allocate(data, officer=officer.subject, now=now)
    _created(response, created)
    return EnvelopeRead.model_validate(envelope)


@router.get(
    "/grants/envelopes",
    response_model=EnvelopeSummary,
    summary="A program's envelope for a year: allocated, committed, paid out, available",
)
async def envelope_summary(
    views: Views,
    reader: GrantOverseer,
    program_code: Annotated[ProgramCode, Query()],
    year: Annotated[QueryYear, Query()],
) -> EnvelopeSummary:
    return await views.envelope(reader, program_code, year)


@router.get(
    "/grants/execution",
    response_model=Page[ExecutionRow],
    summary="Budget execution (预算执行率) per program and year, of the programs one reads",
)
async def execution(
    views: Views,
    reader: GrantOverseer,
    page: PageDep,
    year: Annotated[QueryYear | None, Query()] = None,
    program_code: Annotated[ProgramCode | None, Query()] = None,
) -> Page[ExecutionRow]:
    offset = start_of(page)
    found = await views.execution(
        reader, program_code=program_code, year=year, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit)


# --- grants -------------------------------------------------------------------------------


@router.get("/grants", response_model=Page[GrantSummary], summary="Grants, by program and year")
async def list_grants(
    views: Views,
    reader: GrantReader,
    page: PageDep,
    program_code: Annotated[ProgramCode | None, Query()] = None,
    year: Annotated[QueryYear | None, Query()] = None,
    org_id: Annotated[UUID | None, Query()] = None,
    grant_status: Annotated[GrantStatus | None, Query(alias="status")] = None,
) -> Page[GrantSummary]:
    offset = start_of(page)
    found = await views.search(
        reader,
        program_code=program_code,
        year=year,
        org_id=org_id,
        status=grant_status,
        offset=offset,
        limit=page.limit + 1,
    )
    return page_of(found, offset, page.limit, summary_of)


@router.get(
    "/grants/{project_id}",
    response_model=GrantRead,
    summary="A grant: budget, tranches, released, spent per category, recovery, execution rate",
)
async def get_grant(project_id: UUID, views: Views, reader: GrantReader) -> GrantRead:
    return await views.read(reader, project_id)


@router.get(
    "/grants/{project_id}/history",
    response_model=Page[HistoryEntry],
    summary="Who changed the grant, when and why (budget reallocations included)",
)
async def grant_history(
    project_id: UUID, views: Views, reader: GrantReader, page: PageDep
) -> Page[HistoryEntry]:
    offset = start_of(page)
    found = await views.history(reader, project_id, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit)


@router.post(
    "/grants/{project_id}/tranches/{n}/release",
    response_model=TrancheRead,
    summary="Pay a due tranche again (after a refusal or a rejected order): a payment order",
)
async def release_tranche(
    project_id: UUID,
    n: Annotated[int, Path(ge=1, le=1000)],
    grants: Grants,
    officer: FinanceOfficer,
    now: NowDep,
) -> TrancheRead:
    tranche, order = await grants.release(project_id, n, officer=officer.subject, now=now)
    return tranche_view(tranche, order)


@router.post(
    "/grants/{project_id}/post-subsidies",
    response_model=PostSubsidyRead,
    status_code=status.HTTP_201_CREATED,
    summary="Order a post-subsidy (后补助) of an accepted project; a second officer approves",
)
async def order_post_subsidy(
    project_id: UUID,
    data: PostSubsidyCreate,
    grants: Grants,
    officer: FinanceOfficer,
    now: NowDep,
    response: Response,
) -> PostSubsidyRead:
    subsidy, order, created = await grants.post_subsidy(
        project_id, data, officer=officer.subject, now=now
    )
    _created(response, created)
    return post_subsidy_view(subsidy, order)


@router.post(
    "/grants/{project_id}/expenditures",
    response_model=ExpenditureRead,
    status_code=status.HTTP_201_CREATED,
    summary="Report money spent on a budget category (the organization or finance staff)",
)
async def report_expenditure(
    project_id: UUID,
    data: ExpenditureCreate,
    grants: Grants,
    reporter: ExpenditureReporter,
    now: NowDep,
    response: Response,
) -> ExpenditureRead:
    expenditure, created = await grants.spend(reporter, project_id, data, now=now)
    _created(response, created)
    return ExpenditureRead.model_validate(expenditure)


@router.get(
    "/grants/{project_id}/expenditures",
    response_model=Page[ExpenditureRead],
    summary="The grant's reported expenditures, oldest first",
)
async def list_expenditures(
    project_id: UUID, views: Views, reader: GrantReader, page: PageDep
) -> Page[ExpenditureRead]:
    offset = start_of(page)
    found = await views.expenditures(reader, project_id, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, ExpenditureRead.model_validate)


@router.post(
    "/grants/{project_id}/recovery/settle",
    response_model=RecoveryRead,
    status_code=status.HTTP_201_CREATED,
    summary="Settle the recovery (追回) of a frozen grant: the held money returns to the fund",
)
async def settle_recovery(
    project_id: UUID,
    data: RecoverySettle,
    grants: Grants,
    officer: FinanceOfficer,
    now: NowDep,
    response: Response,
) -> RecoveryRead:
    recovery, created = await grants.settle(project_id, data, officer=officer.subject, now=now)
    _created(response, created)
    return RecoveryRead.model_validate(recovery)
