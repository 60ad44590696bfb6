"""Review rounds of a call and their conflicts of interest, with evidence."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from services.projects.auth import Manager, NowDep
from services.projects.models.review import (
    RoundState,
)
from services.projects.review.rounds.repository import ConflictFilter
from services.projects.review.rounds.schemas import (
    ConflictKind,
    ConflictOverride,
    ConflictRead,
    RefreshRead,
    RoundCreate,
    RoundRead,
)
from services.projects.review.rounds.service import RoundService
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, page_of, start_of

router = APIRouter(prefix="", tags=["review rounds"])


async def round_service(session: SessionDep) -> RoundService:
    return RoundService(session)


Rounds = Annotated[RoundService, Depends(round_service)]


@router.post(
    "/v1/calls/{call_id}/review-rounds",
    response_model=RoundRead,
    status_code=status.HTTP_201_CREATED,
    summary="Open the review of a closed call (managers of its program)",
)
async def open_round(
    call_id: UUID, data: RoundCreate, rounds: Rounds, manager: Manager, now: NowDep
) -> RoundRead:
    return await rounds.open(manager, call_id, data, now)


@router.get(
    "/v1/calls/{call_id}/review-rounds",
    response_model=Page[RoundRead],
    summary="A call's review rounds, oldest first (managers of its program)",
)
async def rounds_of_call(
    call_id: UUID,
    rounds: Rounds,
    manager: Manager,
    page: PageDep,
    kind: Annotated[Literal["proposal", "acceptance"] | None, Query()] = None,
    state: Annotated[RoundState | None, Query()] = None,
) -> Page[RoundRead]:
    offset = start_of(page)
    found = await rounds.of_call(
        manager, call_id, kind=kind, state=state, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit)


@router.get("/v1/review-rounds/{round_id}", response_model=RoundRead)
async def get_round(round_id: UUID, rounds: Rounds, manager: Manager) -> RoundRead:
    return await rounds.get(manager, round_id)


@router.post(
    "/v1/review-rounds/{round_id}/conflicts/refresh",
    response_model=RefreshRead,
    summary="Find and store the round's conflicts of interest; overridden ones are kept",
)
async def refresh_conflicts(
    round_id: UUID, rounds: Rounds, manager: Manager, now: NowDep
) -> RefreshRead:
    return await rounds.refresh_conflicts(manager, round_id, now)


@router.get(
    "/v1/review-rounds/{round_id}/conflicts",
    response_model=Page[ConflictRead],
    summary="The round's stored conflicts with their evidence and overrides",
)
async def conflicts(
    round_id: UUID,
    rounds: Rounds,
    manager: Manager,
    page: PageDep,
    application_id: UUID | None = None,
    expert_id: UUID | None = None,
    kind: ConflictKind | None = None,
) -> Page[ConflictRead]:
    offset = start_of(page)
    where = ConflictFilter(application_id=application_id, expert_id=expert_id, kind=kind)
    found = await rounds.conflicts(manager, round_id, where, page.limit + 1, offset)
    return Page[ConflictRead](
        items=found[: page.limit], next_cursor=next_cursor(offset, page.limit, len(found))
    )


@router.post(
    "/v1/review-rounds/{round_id}/conflicts/override",
    response_model=ConflictRead,
    summary="Let an expert review despite a conflict, for a written reason (recorded)",
)
async def override_conflict(
    round_id: UUID, data: ConflictOverride, rounds: Rounds, manager: Manager, now: NowDep
) -> ConflictRead:
    return await rounds.override(manager, round_id, data, now)
