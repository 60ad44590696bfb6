"""The five basic programs and the special funds ("5 basic programs + X special funds")."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from services.projects.auth import Admin, Manager, NowDep
from services.projects.calls.endpoints import Calls
from services.projects.calls.schemas import CallDetail
from services.projects.programs.schemas import (
    EnvelopeSet,
    ProgramCreate,
    ProgramKind,
    ProgramManagerRead,
    ProgramRead,
    Retirement,
)
from services.projects.programs.service import ProgramService
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, page_of, start_of

router = APIRouter(prefix="/v1/programs", tags=["programs"])


async def program_service(session: SessionDep) -> ProgramService:
    return ProgramService(session)


Programs = Annotated[ProgramService, Depends(program_service)]


@router.get("", response_model=Page[ProgramRead], summary="Programs and funds (public, no login)")
async def list_programs(
    programs: Programs,
    page: PageDep,
    kind: ProgramKind | None = None,
    include_retired: Annotated[
        bool, Query(description="retired funds still have running projects; false hides them")
    ] = True,
) -> Page[ProgramRead]:
    offset = start_of(page)
    found = await programs.search(
        kind=kind, include_retired=include_retired, limit=page.limit + 1, offset=offset
    )
    return Page[ProgramRead](
        items=await programs.read(found[: page.limit]),
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/{program_id}", response_model=ProgramRead, summary="A program (public, no login)")
async def get_program(program_id: UUID, programs: Programs) -> ProgramRead:
    return await programs.read_one(await programs.get(program_id))


@router.post(
    "",
    response_model=ProgramRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a special fund; a program manager who adds it manages it (envelopes: admins)",
)
async def create_program(data: ProgramCreate, programs: Programs, manager: Manager) -> ProgramRead:
    return await programs.read_one(await programs.create(data, manager))


@router.put(
    "/{program_id}/envelopes/{year}",
    response_model=ProgramRead,
    summary="Set a year's envelope (admins, the budget authority; within the active years)",
)
async def set_envelope(
    program_id: UUID,
    year: Annotated[int, Path(ge=2000, le=2100)],
    data: EnvelopeSet,
    programs: Programs,
    admin: Admin,
) -> ProgramRead:
    program = await programs.set_envelope(program_id, year, data.amount_fen, admin)
    return await programs.read_one(program)


@router.post(
    "/{program_id}/retire",
    response_model=ProgramRead,
    summary="Retire a special fund: no new calls, running projects go on",
)
async def retire_program(
    program_id: UUID, data: Retirement, programs: Programs, manager: Manager, now: NowDep
) -> ProgramRead:
    return await programs.read_one(await programs.retire(program_id, data.reason, manager, now))


@router.get(
    "/{program_id}/managers",
    response_model=Page[ProgramManagerRead],
    summary="Who manages the program",
)
async def list_managers(
    program_id: UUID, programs: Programs, manager: Manager, page: PageDep
) -> Page[ProgramManagerRead]:
    offset = start_of(page)
    found = await programs.managers(program_id, manager, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit)


@router.put(
    "/{program_id}/managers/{user_id}",
    response_model=ProgramManagerRead,
    summary="Assign a program manager",
)
async def assign_manager(
    program_id: UUID, user_id: UUID, programs: Programs, admin: Admin
) -> ProgramManagerRead:
    return await programs.assign_manager(program_id, user_id, admin)


@router.delete(
    "/{program_id}/managers/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Unassign a program manager",
)
async def remove_manager(
    program_id: UUID, user_id: UUID, programs: Programs, admin: Admin
) -> Response:
    await programs.remove_manager(program_id, user_id, admin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{program_id}/calls",
    response_model=Page[CallDetail],
    summary="All calls of a program, drafts and cancelled ones included (its managers)",
)
async def program_calls(
    program_id: UUID, calls: Calls, page: PageDep, manager: Manager, now: NowDep
) -> Page[CallDetail]:
    offset = start_of(page)
    found = await calls.of_program(program_id, manager, limit=page.limit + 1, offset=offset)
    return Page[CallDetail](
        items=await calls.read(found[: page.limit], now, CallDetail),
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )
