"""Drawdowns (用款申请) of a project's carried-over money."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, Security, status

from services.funds.auth import FinanceOfficer, NowDep
from services.funds.drawdowns.schemas import DrawdownCreate, DrawdownRead
from services.funds.drawdowns.service import DrawdownService
from services.funds.grants.auth import GrantReader
from services.funds.payments.schemas import Decision, Rejection
from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="/v1", tags=["drawdowns"])

# The project's organization asks (its admin); which project is checked by the service.
DrawdownRequester = Annotated[Principal, Security(current_principal, scopes=[Role.org_admin])]


async def drawdown_service(session: SessionDep) -> DrawdownService:
    return DrawdownService(session)


Drawdowns = Annotated[DrawdownService, Depends(drawdown_service)]


@router.post(
    "/grants/{project_id}/drawdowns",
    response_model=DrawdownRead,
    status_code=status.HTTP_201_CREATED,
    summary="Ask for carried-over money (用款申请): amount, purpose, budget category",
)
async def request_drawdown(
    project_id: UUID,
    data: DrawdownCreate,
    drawdowns: Drawdowns,
    requester: DrawdownRequester,
    now: NowDep,
    response: Response,
) -> DrawdownRead:
    drawdown, created = await drawdowns.request(requester, project_id, data, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return drawdown


@router.get(
    "/grants/{project_id}/drawdowns",
    response_model=Page[DrawdownRead],
    summary="The project's drawdowns, oldest first",
)
async def list_drawdowns(
    project_id: UUID, drawdowns: Drawdowns, reader: GrantReader, page: PageDep
) -> Page[DrawdownRead]:
    offset = start_of(page)
    found = await drawdowns.of_project(reader, project_id, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit)


@router.post(
    "/drawdowns/{drawdown_id}/approve",
    response_model=DrawdownRead,
    summary="Approve a drawdown: it is paid into the project's account (never by its requester)",
)
async def approve_drawdown(
    drawdown_id: UUID,
    drawdowns: Drawdowns,
    officer: FinanceOfficer,
    now: NowDep,
    decision: Decision | None = None,
) -> DrawdownRead:
    reason = decision.reason if decision else None
    return await drawdowns.decide(
        drawdown_id, approve=True, officer=officer.subject, reason=reason, now=now
    )


@router.post(
    "/drawdowns/{drawdown_id}/reject",
    response_model=DrawdownRead,
    summary="Reject a drawdown: its hold is released, with the reason",
)
async def reject_drawdown(
    drawdown_id: UUID,
    rejection: Rejection,
    drawdowns: Drawdowns,
    officer: FinanceOfficer,
    now: NowDep,
) -> DrawdownRead:
    return await drawdowns.decide(
        drawdown_id, approve=False, officer=officer.subject, reason=rejection.reason, now=now
    )
