"""Applying to join the expert pool, and deciding on the applications."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from services.projects.auth import Manager, NowDep
from services.projects.models import ExpertApplicationState
from services.projects.review.admissions.auth import Researcher
from services.projects.review.admissions.schemas import (
    ExpertApplicationCreate,
    ExpertApplicationDecision,
    ExpertApplicationRead,
)
from services.projects.review.admissions.service import ExpertApplicationService
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="", tags=["expert applications"])


async def application_service(session: SessionDep) -> ExpertApplicationService:
    return ExpertApplicationService(session)


Applications = Annotated[ExpertApplicationService, Depends(application_service)]


@router.post(
    "/v1/expert-applications",
    response_model=ExpertApplicationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Apply to join the expert pool (409 for an expert, or with one pending already)",
)
async def apply(
    data: ExpertApplicationCreate, applications: Applications, person: Researcher, now: NowDep
) -> ExpertApplicationRead:
    return await applications.submit(person, data, now)


@router.get(
    "/v1/me/expert-applications",
    response_model=Page[ExpertApplicationRead],
    summary="One's own applications to join the expert pool, newest first",
)
async def my_applications(
    applications: Applications, person: Researcher, page: PageDep
) -> Page[ExpertApplicationRead]:
    offset = start_of(page)
    found = await applications.mine(person, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit)


@router.get(
    "/v1/expert-applications",
    response_model=Page[ExpertApplicationRead],
    summary="Applications to join the expert pool, oldest first",
)
async def list_applications(
    applications: Applications,
    manager: Manager,
    page: PageDep,
    state: Annotated[ExpertApplicationState | None, Query(alias="status")] = None,
) -> Page[ExpertApplicationRead]:
    offset = start_of(page)
    found = await applications.listing(state, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit)


@router.post(
    "/v1/expert-applications/{application_id}/decision",
    response_model=ExpertApplicationRead,
    summary="Approve (the person joins the pool; the gateway grants the expert role) or "
    "decline, with a reason; never one's own application",
)
async def decide(
    application_id: UUID,
    data: ExpertApplicationDecision,
    applications: Applications,
    manager: Manager,
    now: NowDep,
) -> ExpertApplicationRead:
    return await applications.decide(manager, application_id, data, now)
