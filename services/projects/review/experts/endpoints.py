"""The expert pool (专家库), organization links and experts' declared conflicts."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from services.projects.applications.schemas import SubjectCode
from services.projects.auth import Manager, NowDep
from services.projects.review.experts.auth import ExpertRole, PoolReader
from services.projects.review.experts.repository import ExpertFilter
from services.projects.review.experts.schemas import (
    DeclarationCreate,
    DeclarationRead,
    ExpertPatch,
    ExpertProfile,
    ExpertRead,
    OrganizationLinkCreate,
    OrganizationLinkRead,
)
from services.projects.review.experts.service import ExpertService
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, page_of, start_of

router = APIRouter(prefix="", tags=["experts"])


async def expert_service(session: SessionDep) -> ExpertService:
    return ExpertService(session)


Experts = Annotated[ExpertService, Depends(expert_service)]


# The expert's own routes come first: "me" is no user id.
@router.get("/v1/experts/me", response_model=ExpertRead, summary="One's own pool entry")
async def my_entry(experts: Experts, expert: ExpertRole) -> ExpertRead:
    return await experts.mine(expert)


@router.patch(
    "/v1/experts/me",
    response_model=ExpertRead,
    summary="Keep one's availability, keywords and secondary subjects up to date",
)
async def update_my_entry(
    data: ExpertPatch, experts: Experts, expert: ExpertRole, now: NowDep
) -> ExpertRead:
    return await experts.update_own(expert, data, now)


@router.post(
    "/v1/experts/me/conflicts",
    response_model=DeclarationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Declare a person or an organization one must not review",
)
async def declare_conflict(
    data: DeclarationCreate, experts: Experts, expert: ExpertRole, now: NowDep
) -> DeclarationRead:
    return await experts.declare(expert, data, now)


@router.get(
    "/v1/experts/me/conflicts",
    response_model=Page[DeclarationRead],
    summary="One's declared conflicts",
)
async def my_conflicts(
    experts: Experts, expert: ExpertRole, page: PageDep
) -> Page[DeclarationRead]:
    offset = start_of(page)
    found = await experts.own_declarations(expert, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit)


@router.put(
    "/v1/experts/{user_id}",
    response_model=ExpertRead,
    summary="Register a directory person with role expert, or update their entry (201 if new)",
)
async def register_expert(
    user_id: UUID,
    data: ExpertProfile,
    experts: Experts,
    manager: Manager,
    now: NowDep,
    response: Response,
) -> ExpertRead:
    read, created = await experts.register(manager, user_id, data, now)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return read


@router.get("/v1/experts", response_model=Page[ExpertRead], summary="Search the pool")
async def search_experts(
    experts: Experts,
    manager: Manager,
    page: PageDep,
    subject: Annotated[
        SubjectCode | None, Query(description="primary or secondary; 210 covers 210.20")
    ] = None,
    keyword: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    active: bool | None = None,
    credit_code: Annotated[
        str | None, Query(min_length=18, max_length=18, description="the expert's organization")
    ] = None,
) -> Page[ExpertRead]:
    offset = start_of(page)
    where = ExpertFilter(subject=subject, keyword=keyword, active=active, credit_code=credit_code)
    found = await experts.search(where, page.limit + 1, offset)
    return Page[ExpertRead](
        items=found[: page.limit], next_cursor=next_cursor(offset, page.limit, len(found))
    )


@router.get(
    "/v1/experts/{user_id}",
    response_model=ExpertRead,
    summary="An expert's entry with their declared conflicts (staff, or the expert)",
)
async def get_expert(user_id: UUID, experts: Experts, reader: PoolReader) -> ExpertRead:
    return await experts.get(reader, user_id)


@router.post(
    "/v1/organization-links",
    response_model=OrganizationLinkRead,
    status_code=status.HTTP_201_CREATED,
    summary="Declare a parent/subsidiary link: their experts count as the same organization",
)
async def link_organizations(
    data: OrganizationLinkCreate, experts: Experts, manager: Manager, now: NowDep
) -> OrganizationLinkRead:
    return await experts.link(manager, data, now)


@router.get("/v1/organization-links", response_model=Page[OrganizationLinkRead])
async def organization_links(
    experts: Experts,
    manager: Manager,
    page: PageDep,
    credit_code: Annotated[
        str | None, Query(min_length=18, max_length=18, description="either end of the link")
    ] = None,
) -> Page[OrganizationLinkRead]:
    offset = start_of(page)
    code = credit_code.upper() if credit_code else None
    found = await experts.links(code, page.limit + 1, offset)
    return Page[OrganizationLinkRead](
        items=found[: page.limit], next_cursor=next_cursor(offset, page.limit, len(found))
    )
