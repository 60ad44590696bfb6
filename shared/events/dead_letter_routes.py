"""The events this service parked, for operators (`/internal/v1/dead-letters`).

Service accounts and admins read them; admins retry and discard them. The handlers a replay
runs are the service's own consumers' (`app.state.event_sources`: source -> handlers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request, Security

from shared.auth.dependencies import AdminPrincipal, current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.db import SessionDep
from shared.events import dead_letters
from shared.events.dead_letters import (
    DeadLetterRead,
    DiscardRequest,
    ReplayedRead,
    ReplayResult,
    StatusFilter,
    read,
)
from shared.events.handlers import Handlers
from shared.events.parking import Replayed
from shared.events.tables import EventTables
from shared.pagination import Page, PageDep, page_of, start_of

OperatorOrService = Annotated[
    Principal, Security(current_principal, scopes=[Role.service, Role.admin])
]


def _sources(request: Request) -> Mapping[str, Handlers]:
    sources: Mapping[str, Handlers] = request.app.state.event_sources
    return sources


def _actor(principal: Principal) -> str:
    return f"{principal.username or principal.subject}"[:100]


def _result(row: sa.Row[Any], replayed: list[Replayed]) -> ReplayResult:
    return ReplayResult(
        letter=read(row),
        replayed=[ReplayedRead.model_validate(r, from_attributes=True) for r in replayed],
    )


def dead_letter_router(tables: EventTables) -> APIRouter:
    router = APIRouter(prefix="/internal/v1/dead-letters", tags=["events"])

    @router.get(
        "",
        response_model=Page[DeadLetterRead],
        summary="Events this service parked (unresolved ones by default), oldest first",
    )
    async def index(
        session: SessionDep,
        _: OperatorOrService,
        page: PageDep,
        status: StatusFilter = "unresolved",
        source: Annotated[str | None, Query(max_length=50, description="e.g. projects")] = None,
    ) -> Page[DeadLetterRead]:
        offset = start_of(page)
        rows = await dead_letters.list_letters(
            session, tables, status=status, source=source, offset=offset, limit=page.limit
        )
        return page_of(rows, offset, page.limit, read)

    @router.get("/{letter_id}", response_model=DeadLetterRead, summary="One parked event")
    async def one(letter_id: UUID, session: SessionDep, _: OperatorOrService) -> DeadLetterRead:
        return read(await dead_letters.letter(session, tables, letter_id))

    @router.post(
        "/{letter_id}/retry",
        response_model=ReplayResult,
        summary="Apply a parked event again, then those of its aggregate waiting behind it",
    )
    async def retry(
        letter_id: UUID, request: Request, session: SessionDep, admin: AdminPrincipal
    ) -> ReplayResult:
        return _result(
            *await dead_letters.retry(
                session, tables, _sources(request), letter_id, actor=_actor(admin)
            )
        )

    @router.post(
        "/{letter_id}/discard",
        response_model=ReplayResult,
        summary="Give up on a parked event (settled by hand); those behind it are applied",
    )
    async def discard(
        letter_id: UUID,
        data: DiscardRequest,
        request: Request,
        session: SessionDep,
        admin: AdminPrincipal,
    ) -> ReplayResult:
        return _result(
            *await dead_letters.discard(
                session,
                tables,
                _sources(request),
                letter_id,
                actor=_actor(admin),
                reason=data.reason,
            )
        )

    return router
