"""Admin endpoints: organizations, users and roles."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, status

from services.gateway.identity.filters import OrganizationFiltersDep, UserFiltersDep
from services.gateway.identity.schemas import (
    OrganizationCreate,
    OrganizationRead,
    PersonRole,
    UserCreate,
    UserRead,
    UserUpdate,
)
from services.gateway.identity.service import IdentityService, user_view
from shared.auth.dependencies import AdminPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="/admin/v1", tags=["admin"])


@router.post("/organizations", status_code=status.HTTP_201_CREATED, response_model=OrganizationRead)
async def create_organization(
    data: OrganizationCreate, session: SessionDep, _admin: AdminPrincipal
) -> OrganizationRead:
    org = await IdentityService(session).create_organization(data)
    return OrganizationRead.model_validate(org)


@router.get("/organizations", response_model=Page[OrganizationRead])
async def list_organizations(
    session: SessionDep, _admin: AdminPrincipal, page: PageDep, filters: OrganizationFiltersDep
) -> Page[OrganizationRead]:
    start = start_of(page)
    orgs = await IdentityService(session).repo.organizations(
        filters, limit=page.limit + 1, offset=start
    )
    return page_of(orgs, start, page.limit, OrganizationRead.model_validate)


@router.get("/organizations/{org_id}", response_model=OrganizationRead)
async def get_organization(
    org_id: UUID, session: SessionDep, _admin: AdminPrincipal
) -> OrganizationRead:
    return OrganizationRead.model_validate(await IdentityService(session).get_organization(org_id))


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserRead)
async def create_user(data: UserCreate, session: SessionDep, admin: AdminPrincipal) -> UserRead:
    user = await IdentityService(session).create_user(data, granted_by=admin.user_id)
    return user_view(user)


@router.get("/users", response_model=Page[UserRead])
async def list_users(
    session: SessionDep, _admin: AdminPrincipal, page: PageDep, filters: UserFiltersDep
) -> Page[UserRead]:
    start = start_of(page)
    users = await IdentityService(session).repo.users(filters, limit=page.limit + 1, offset=start)
    return page_of(users, start, page.limit, user_view)


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: UUID, session: SessionDep, _admin: AdminPrincipal) -> UserRead:
    return user_view(await IdentityService(session).get_user(user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    summary="Change a person's name or deactivate them (never the last active admin)",
)
async def update_user(
    user_id: UUID, data: UserUpdate, request: Request, session: SessionDep, _admin: AdminPrincipal
) -> UserRead:
    identity = IdentityService(session, request.app.state.active_users)
    return user_view(await identity.update_user(user_id, data))


@router.post(
    "/users/{user_id}/deactivate",
    response_model=UserRead,
    summary="Deactivate a person: no login, their sessions end, their tokens are refused at once",
    description="Never the last active admin (409 `user.last_admin`). Idempotent.",
)
async def deactivate_user(
    user_id: UUID, request: Request, session: SessionDep, _admin: AdminPrincipal
) -> UserRead:
    identity = IdentityService(session, request.app.state.active_users)
    return user_view(await identity.update_user(user_id, UserUpdate(is_active=False)))


@router.post(
    "/users/{user_id}/reactivate",
    response_model=UserRead,
    summary="Reactivate a person (they log in again; their old sessions stay ended)",
)
async def reactivate_user(
    user_id: UUID, request: Request, session: SessionDep, _admin: AdminPrincipal
) -> UserRead:
    identity = IdentityService(session, request.app.state.active_users)
    return user_view(await identity.update_user(user_id, UserUpdate(is_active=True)))


@router.put("/users/{user_id}/roles/{role}", response_model=UserRead)
async def grant_role(
    user_id: UUID, role: PersonRole, session: SessionDep, admin: AdminPrincipal
) -> UserRead:
    user = await IdentityService(session).grant_role(user_id, role, granted_by=admin.user_id)
    return user_view(user)


@router.delete(
    "/users/{user_id}/roles/{role}",
    response_model=UserRead,
    summary="Take a role away (409 for the admin role of the last active admin)",
)
async def revoke_role(
    user_id: UUID, role: PersonRole, session: SessionDep, _admin: AdminPrincipal
) -> UserRead:
    return user_view(await IdentityService(session).revoke_role(user_id, role))
