"""Calls for applications (申报指南): drafted and published by program managers, read by all."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from services.projects.auth import Manager, NowDep
from services.projects.calls.schemas import (
    CallCreate,
    CallDetail,
    CallPatch,
    CallRead,
    Cancellation,
)
from services.projects.calls.service import CallService
from services.projects.models.calls import CallPhase
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, start_of

router = APIRouter(prefix="/v1/calls", tags=["calls"])


async def call_service(session: SessionDep) -> CallService:
    return CallService(session)


Calls = Annotated[CallService, Depends(call_service)]


@router.get("", response_model=Page[CallRead], summary="Published calls (public, no login)")
async def list_calls(
    calls: Calls,
    page: PageDep,
    now: NowDep,
    status: Annotated[
        CallPhase | None, Query(description="computed from the clock: upcoming, open, closed")
    ] = None,
    program_id: UUID | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Page[CallRead]:
    offset = start_of(page)
    found = await calls.search_public(
        now=now,
        status=status,
        program_id=program_id,
        year=year,
        limit=page.limit + 1,
        offset=offset,
    )
    return Page[CallRead](
        items=await calls.read(found[: page.limit], now, CallRead),
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/{call_id}", response_model=CallRead, summary="A published call (public, no login)")
async def get_call(call_id: UUID, calls: Calls, now: NowDep) -> CallRead:
    return await calls.read_one(await calls.public(call_id), now, CallRead)


@router.post(
    "",
    response_model=CallDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Draft a call; terms left out come from the program's defaults",
)
async def create_call(data: CallCreate, calls: Calls, manager: Manager, now: NowDep) -> CallDetail:
    return await calls.read_one(await calls.create(data, manager), now, CallDetail)


@router.patch("/{call_id}", response_model=CallDetail, summary="Change a draft")
async def update_call(
    call_id: UUID, data: CallPatch, calls: Calls, manager: Manager, now: NowDep
) -> CallDetail:
    return await calls.read_one(await calls.update(call_id, data, manager), now, CallDetail)


@router.post("/{call_id}/publish", response_model=CallDetail, summary="Publish a draft")
async def publish_call(call_id: UUID, calls: Calls, manager: Manager, now: NowDep) -> CallDetail:
    return await calls.read_one(await calls.publish(call_id, manager, now), now, CallDetail)


@router.post(
    "/{call_id}/cancel",
    response_model=CallDetail,
    summary="Cancel a draft, or a published call no application was submitted to",
)
async def cancel_call(
    call_id: UUID, data: Cancellation, calls: Calls, manager: Manager, now: NowDep
) -> CallDetail:
    return await calls.read_one(await calls.cancel(call_id, data.reason, manager), now, CallDetail)
