"""Delegation: the PI lets research administrators of their organization draft."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path

from services.projects.auth import Applicant, NowDep
from services.projects.delegation.schemas import DelegationRead
from services.projects.delegation.service import DelegationService
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="/v1/applications", tags=["delegation"])


async def delegation_service(session: SessionDep) -> DelegationService:
    return DelegationService(session)


Delegations = Annotated[DelegationService, Depends(delegation_service)]
ApplicationId = Annotated[UUID, Path()]
DelegateId = Annotated[UUID, Path(description="the research administrator's user id")]


@router.get(
    "/{application_id}/delegates",
    response_model=Page[DelegationRead],
    summary="Who may draft the application for its PI, and who could (revoked), oldest first",
)
async def list_delegates(
    application_id: ApplicationId,
    delegations: Delegations,
    principal: CurrentPrincipal,
    page: PageDep,
) -> Page[DelegationRead]:
    offset = start_of(page)
    found = await delegations.page(principal, application_id, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, DelegationRead.model_validate)


@router.put(
    "/{application_id}/delegates/{delegate_id}",
    response_model=DelegationRead,
    summary="The PI lets a research administrator (org admin) of their organization draft",
)
async def grant_delegation(
    application_id: ApplicationId,
    delegate_id: DelegateId,
    delegations: Delegations,
    applicant: Applicant,
    now: NowDep,
) -> DelegationRead:
    granted = await delegations.grant(applicant, application_id, delegate_id, now)
    return DelegationRead.model_validate(granted)


@router.delete(
    "/{application_id}/delegates/{delegate_id}",
    response_model=DelegationRead,
    summary="The PI revokes a delegation (it stays listed, revoked)",
)
async def revoke_delegation(
    application_id: ApplicationId,
    delegate_id: DelegateId,
    delegations: Delegations,
    applicant: Applicant,
    now: NowDep,
) -> DelegationRead:
    revoked = await delegations.revoke(applicant, application_id, delegate_id, now)
    return DelegationRead.model_validate(revoked)
