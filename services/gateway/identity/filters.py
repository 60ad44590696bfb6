"""Filters of the admin lists. A parameter the list does not know is refused (422, the routes are
`strict_query`) rather than ignored: `?role=admin` silently ignored would show every user as if
they were admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from services.gateway.identity.schemas import OrganizationKind
from shared.auth.roles import Role


@dataclass(frozen=True)
class UserFilters:
    role: Role | None = None
    org_id: UUID | None = None
    active: bool | None = None
    username_prefix: str | None = None
    text: str | None = None


async def _user_filters(
    role: Annotated[Role | None, Query(description="only holders of this role")] = None,
    org_id: Annotated[UUID | None, Query(description="only members of this organization")] = None,
    active: Annotated[bool | None, Query(description="true: active only; false: deactivated")] = (
        None
    ),
    username_prefix: Annotated[
        str | None, Query(min_length=1, max_length=64, description="usernames starting so")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="username, display name or e-mail contains this (any case)",
        ),
    ] = None,
) -> UserFilters:
    prefix = username_prefix.strip().lower() if username_prefix else None
    text = q.strip() or None if q else None
    return UserFilters(role=role, org_id=org_id, active=active, username_prefix=prefix, text=text)


@dataclass(frozen=True)
class OrganizationFilters:
    kind: OrganizationKind | None = None
    parent_id: UUID | None = None
    credit_code: str | None = None
    name: str | None = None


async def _organization_filters(
    kind: Annotated[OrganizationKind | None, Query()] = None,
    parent_id: Annotated[UUID | None, Query(description="only units of this organization")] = None,
    credit_code: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    name: Annotated[
        str | None, Query(min_length=1, max_length=200, description="name contains this")
    ] = None,
) -> OrganizationFilters:
    return OrganizationFilters(
        kind=kind,
        parent_id=parent_id,
        credit_code=credit_code.strip().upper() if credit_code else None,
        name=name.strip() if name else None,
    )


UserFiltersDep = Annotated[UserFilters, Depends(_user_filters)]
OrganizationFiltersDep = Annotated[OrganizationFilters, Depends(_organization_filters)]
