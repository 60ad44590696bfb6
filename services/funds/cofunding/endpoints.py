"""Self-raised and matching funds (自筹/配套) of a project."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, Security, status

from services.funds.auth import NowDep
from services.funds.cofunding.schemas import CoFundingCreate, CoFundingRead
from services.funds.cofunding.service import CoFundingService
from services.funds.grants.auth import GrantReader
from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="/v1", tags=["co-funding"])

# The project's organization: its admins, and the PI (who may declare, not confirm).
OrganizationMember = Annotated[
    Principal, Security(current_principal, scopes=[Role.org_admin, Role.applicant])
]
OrganizationAdmin = Annotated[Principal, Security(current_principal, scopes=[Role.org_admin])]


async def co_funding_service(session: SessionDep) -> CoFundingService:
    return CoFundingService(session)


CoFunding = Annotated[CoFundingService, Depends(co_funding_service)]


@router.post(
    "/grants/{project_id}/co-funding",
    response_model=CoFundingRead,
    status_code=status.HTTP_201_CREATED,
    summary="Declare self-raised or matching money (自筹/配套) for a budget category",
)
async def declare_co_funding(
    project_id: UUID,
    data: CoFundingCreate,
    service: CoFunding,
    member: OrganizationMember,
    now: NowDep,
    response: Response,
) -> CoFundingRead:
    row, created = await service.declare(member, project_id, data, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return CoFundingRead.model_validate(row)


@router.post(
    "/grants/{project_id}/co-funding/{co_funding_id}/confirm",
    response_model=CoFundingRead,
    summary="Confirm a declaration: another admin of the organization (its finance)",
)
async def confirm_co_funding(
    project_id: UUID,
    co_funding_id: UUID,
    service: CoFunding,
    admin: OrganizationAdmin,
    now: NowDep,
) -> CoFundingRead:
    return CoFundingRead.model_validate(
        await service.confirm(admin, project_id, co_funding_id, now=now)
    )


@router.get(
    "/grants/{project_id}/co-funding",
    response_model=Page[CoFundingRead],
    summary="The project's self-raised and matching money, declared and confirmed",
)
async def list_co_funding(
    project_id: UUID, service: CoFunding, reader: GrantReader, page: PageDep
) -> Page[CoFundingRead]:
    offset = start_of(page)
    found = await service.of_project(reader, project_id, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, CoFundingRead.model_validate)
