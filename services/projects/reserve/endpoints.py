"""The standing project reserve (项目储备库) of a program: its managers list it, fund an entry
in a later year, drop one, and set how long entries wait."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.projects.auth import Manager, NowDep
from services.projects.decisions.endpoints import decision_read
from services.projects.reserve.schemas import (
    ReserveDecision,
    ReserveDrop,
    ReserveFunding,
    ReserveList,
    ReserveTermRead,
    ReserveTermSet,
)
from services.projects.reserve.service import ReserveService
from shared.db import SessionDep
from shared.pagination import PageDep, next_cursor, start_of

router = APIRouter(prefix="/v1/programs/{program_id}", tags=["reserve"])


@router.get(
    "/reserve",
    response_model=ReserveList,
    summary="The program's standing project reserve (项目储备库), across its calls and years, "
    "oldest first (its managers)",
)
async def list_reserve(
    program_id: UUID, session: SessionDep, manager: Manager, page: PageDep
) -> ReserveList:
    offset = start_of(page)
    program, entries = await ReserveService(session).of_program(
        manager, program_id, offset=offset, limit=page.limit + 1
    )
    return ReserveList(
        items=entries[: page.limit],
        next_cursor=next_cursor(offset, page.limit, len(entries)),
        program_id=program.id,
        reserve_months=program.reserve_months,
    )


@router.post(
    "/reserve/{application_id}/funding",
    response_model=ReserveDecision,
    summary="Fund a reserve entry by the program's own decision in a later fiscal year, "
    "within that year's envelope",
)
async def fund_entry(
    program_id: UUID,
    application_id: UUID,
    data: ReserveFunding,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> ReserveDecision:
    application, project, envelope = await ReserveService(session).fund(
        manager, program_id, application_id, data, now
    )
    return ReserveDecision(decision=decision_read(application, project), envelope=envelope)


@router.post(
    "/reserve/{application_id}/drop",
    response_model=ReserveDecision,
    summary="Drop a reserve entry with a reason (the application is rejected)",
)
async def drop_entry(
    program_id: UUID,
    application_id: UUID,
    data: ReserveDrop,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> ReserveDecision:
    application = await ReserveService(session).drop(manager, program_id, application_id, data, now)
    return ReserveDecision(decision=decision_read(application, None), envelope=None)


@router.put(
    "/reserve-term",
    response_model=ReserveTermRead,
    summary="How many months a reserved application waits before it expires (default 24)",
)
async def set_reserve_term(
    program_id: UUID, data: ReserveTermSet, session: SessionDep, manager: Manager
) -> ReserveTermRead:
    program = await ReserveService(session).set_term(manager, program_id, data)
    return ReserveTermRead(program_id=program.id, reserve_months=program.reserve_months)
