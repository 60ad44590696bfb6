"""`POST /v1/organization-requests` (no login) and the administrators' decisions."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from services.gateway.accounts.service import AccountLimits
from services.gateway.client_address import request_address
from services.gateway.registrations.schemas import (
    Decline,
    OrganizationRequestCreate,
    OrganizationRequestRead,
    OrganizationRequestReceived,
    RequestStatus,
)
from services.gateway.registrations.service import RegistrationService
from shared.auth.dependencies import AdminPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

public_router = APIRouter(tags=["registration"])
admin_router = APIRouter(prefix="/admin/v1", tags=["admin"])


@public_router.post(
    "/v1/organization-requests",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OrganizationRequestReceived,
    summary="Ask for an organization to be registered (an administrator decides)",
    description=(
        "No login needed. A malformed request (the credit code's check character included) is "
        "422; any other is 202 with the same body, whether the code is registered already or "
        "asked for by others (an administrator compares and decides). Limited per client "
        "address (`SCIPLAN_GATEWAY_ORGANIZATION_REQUEST_PER_ADDRESS`)."
    ),
)
async def ask_for_registration(
    data: OrganizationRequestCreate, request: Request, session: SessionDep
) -> OrganizationRequestReceived:
    state = request.app.state
    limits = AccountLimits.of(state.rate_limiter, state.settings)
    await limits.refuse_address(
        "orgreq", request_address(request), state.settings.organization_request_per_address
    )
    await RegistrationService(session).ask(data)
    return OrganizationRequestReceived()


@admin_router.get("/organization-requests", response_model=Page[OrganizationRequestRead])
async def list_requests(
    session: SessionDep,
    _admin: AdminPrincipal,
    page: PageDep,
    status: Annotated[
        RequestStatus | None, Query(description="only requests in this state")
    ] = None,
) -> Page[OrganizationRequestRead]:
    start = start_of(page)
    found = await RegistrationService(session).repo.requests(
        status, limit=page.limit + 1, offset=start
    )
    return page_of(found, start, page.limit, OrganizationRequestRead.model_validate)


@admin_router.get("/organization-requests/{request_id}", response_model=OrganizationRequestRead)
async def get_request(
    request_id: UUID, session: SessionDep, _admin: AdminPrincipal
) -> OrganizationRequestRead:
    return OrganizationRequestRead.model_validate(
        await RegistrationService(session).get(request_id)
    )


@admin_router.post(
    "/organization-requests/{request_id}/approve",
    response_model=OrganizationRequestRead,
    summary="Approve: the organization is registered (and published to the services)",
)
async def approve_request(
    request_id: UUID, session: SessionDep, admin: AdminPrincipal
) -> OrganizationRequestRead:
    assert admin.user_id is not None
    decided = await RegistrationService(session).approve(request_id, admin.user_id)
    return OrganizationRequestRead.model_validate(decided)


@admin_router.post(
    "/organization-requests/{request_id}/decline",
    response_model=OrganizationRequestRead,
    summary="Decline with a reason",
)
async def decline_request(
    request_id: UUID, data: Decline, session: SessionDep, admin: AdminPrincipal
) -> OrganizationRequestRead:
    assert admin.user_id is not None
    decided = await RegistrationService(session).decline(request_id, admin.user_id, data.reason)
    return OrganizationRequestRead.model_validate(decided)
