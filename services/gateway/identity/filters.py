"""Filters of the admin lists. A parameter the list does not know is refused (422) rather than
ignored: `?role=admin` silently ignored would show every user as if they were admins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request

from services.gateway.identity.schemas import OrganizationKind
from shared.auth.roles import Role
from shared.errors import AppError, Text

PAGING = frozenset({"limit", "offset", "cursor"})


class UnknownParameter(AppError):
    status = 422
    code = "request.unknown_parameter"
    title = Text("不支持的查询参数", "Unknown query parameter")


def refuse_unknown(request: Request, known: frozenset[str]) -> None:
    unknown = sorted(set(request.query_params) - known - PAGING)
    if unknown:
        raise UnknownParameter(
            Text("不支持：" + "、".join(unknown), "Not supported: " + ", ".join(unknown)),
            extra={
                "errors": [
                    {"loc": ["query", name], "msg": "unknown parameter", "type": "unknown"}
                    for name in unknown
                ],
                "allowed": sorted(known | PAGING),
            },
        )


@dataclass(frozen=True)
class UserFilters:
    role: Role | None = None
    org_id: UUID | None = None
    active: bool | None = None
    username_prefix: str | None = None


async def _user_filters(
    request: Request,
    role: Annotated[Role | None, Query(description="only holders of this role")] = None,
    org_id: Annotated[UUID | None, Query(description="only members of this organization")] = None,
    active: Annotated[bool | None, Query(description="true: active only; false: deactivated")] = (
        None
    ),
    username_prefix: Annotated[
        str | None, Query(min_length=1, max_length=64, description="usernames starting so")
    ] = None,
) -> UserFilters:
    refuse_unknown(request, frozenset({"role", "org_id", "active", "username_prefix"}))
    prefix = username_prefix.strip().lower() if username_prefix else None
    return UserFilters(role=role, org_id=org_id, active=active, username_prefix=prefix)


@dataclass(frozen=True)
class OrganizationFilters:
    kind: OrganizationKind | None = None
    parent_id: UUID | None = None
    credit_code: str | None = None
    name: str | None = None


async def _organization_filters(
    request: Request,
    kind: Annotated[OrganizationKind | None, Query()] = None,
    parent_id: Annotated[UUID | None, Query(description="only units of this organization")] = None,
    credit_code: Annotated[str | None, Query(min_length=18, max_length=18)] = None,
    name: Annotated[
        str | None, Query(min_length=1, max_length=200, description="name contains this")
    ] = None,
) -> OrganizationFilters:
    refuse_unknown(request, frozenset({"kind", "parent_id", "credit_code", "name"}))
    return OrganizationFilters(
        kind=kind,
        parent_id=parent_id,
        credit_code=credit_code.strip().upper() if credit_code else None,
        name=name.strip() if name else None,
    )


UserFiltersDep = Annotated[UserFilters, Depends(_user_filters)]
OrganizationFiltersDep = Annotated[OrganizationFilters, Depends(_organization_filters)]
