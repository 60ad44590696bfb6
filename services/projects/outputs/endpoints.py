"""Outputs of projects: registration, verification, the acceptance view, statistics."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Security, status

from services.projects.auth import Applicant, NowDep, OrgAdmin
from services.projects.models.outputs import OutputKind, OutputStatus
from services.projects.outputs.schemas import (
    OutputCreate,
    OutputDecision,
    OutputRead,
    ProgramOutputStatistics,
    PromisedVsAchieved,
    PublicOutputStatistics,
)
from services.projects.outputs.service import OutputService, OutputStatistics
from shared.auth.dependencies import CurrentPrincipal, current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="/v1", tags=["outputs"])
public_router = APIRouter(prefix="/v1/public", tags=["disclosure"])

# A program's statistics: its managers (admins) and the evaluators engaged on it.
StatisticsReader = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.program_manager, Role.evaluator, Role.admin]),
]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="one year only")]


@router.post(
    "/projects/{project_id}/outputs",
    response_model=OutputRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register an output (the PI or a team member); it awaits the organization's check",
)
async def register_output(
    project_id: UUID,
    data: Annotated[OutputCreate, Body()],
    session: SessionDep,
    member: Applicant,
    now: NowDep,
) -> OutputRead:
    return OutputRead.model_validate(
        await OutputService(session).register(member, project_id, data, now)
    )


@router.get(
    "/projects/{project_id}/outputs",
    response_model=Page[OutputRead],
    summary="A project's outputs (whoever reads the project)",
)
async def list_outputs(
    project_id: UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    kind: OutputKind | None = None,
    status: OutputStatus | None = None,
) -> Page[OutputRead]:
    offset = start_of(page)
    found = await OutputService(session).of_project(
        principal, project_id, kind=kind, status=status, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit, OutputRead.model_validate)


@router.get("/projects/{project_id}/outputs/{output_id}", response_model=OutputRead)
async def get_output(
    project_id: UUID, output_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> OutputRead:
    return OutputRead.model_validate(
        await OutputService(session).get(principal, project_id, output_id)
    )


@router.post(
    "/projects/{project_id}/outputs/{output_id}/verification",
    response_model=OutputRead,
    summary="Verify an output, or reject it with the reason (an admin of the project's "
    "organization who is not on the project)",
)
async def decide_output(
    project_id: UUID,
    output_id: UUID,
    data: OutputDecision,
    session: SessionDep,
    org_admin: OrgAdmin,
    now: NowDep,
) -> OutputRead:
    return OutputRead.model_validate(
        await OutputService(session).decide(org_admin, project_id, output_id, data, now)
    )


@router.get(
    "/projects/{project_id}/indicators",
    response_model=PromisedVsAchieved,
    summary="The acceptance view: the task book's indicators, promised vs verified outputs",
)
async def promised_vs_achieved(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> PromisedVsAchieved:
    return await OutputService(session).promised_vs_achieved(principal, project_id)


@router.get(
    "/programs/{program_id}/output-statistics",
    response_model=ProgramOutputStatistics,
    summary="Outputs and transfers of a program's projects per year (its managers and "
    "engaged evaluators)",
)
async def program_statistics(
    program_id: UUID, session: SessionDep, reader: StatisticsReader, year: Year = None
) -> ProgramOutputStatistics:
    return await OutputStatistics(session).of_program(reader, program_id, year)


@public_router.get(
    "/output-statistics",
    response_model=PublicOutputStatistics,
    summary="Verified outputs and transfers per year, of all programs or one (public, no login)",
)
async def public_statistics(
    session: SessionDep,
    program: Annotated[
        str | None, Query(max_length=40, description="program or fund: its id or code (ZDYF)")
    ] = None,
    year: Year = None,
) -> PublicOutputStatistics:
    return await OutputStatistics(session).public((program or "").strip() or None, year)
