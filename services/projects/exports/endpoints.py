"""`/v1/exports/...`: a list as a file (`?format=csv|xlsx`), with the same filters and the same
object-level scope as the list itself. Each batch is read by the list's own service call, in a
session of its own, so no connection is held while the client downloads; the first batch is
read before the answer starts, so a refusal is an ordinary 403 or 404."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse

from services.projects.applications.endpoints import Status as ApplicationStatus
from services.projects.applications.endpoints import summary
from services.projects.applications.schemas import ApplicationSummary
from services.projects.applications.service import ApplicationService
from services.projects.auth import Manager, NowDep
from services.projects.decisions.endpoints import decision_read
from services.projects.decisions.schemas import DecisionRead
from services.projects.decisions.service import DecisionService
from services.projects.execution.endpoints import project_read
from services.projects.execution.schemas import ProjectRead
from services.projects.execution.service import ProjectService
from services.projects.models.lifecycle import ProjectStatus
from services.projects.models.outputs import OutputKind, OutputStatus
from services.projects.outputs.schemas import OutputRead
from services.projects.outputs.service import OutputService
from services.projects.review.scoring.results import RoundService
from services.projects.review.scoring.schemas import ApplicationResult
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionmakerDep
from shared.tabular import (
    FILE_RESPONSES,
    Batch,
    Cell,
    FormatQuery,
    export_response,
    in_batches,
    model_columns,
    model_row,
)

router = APIRouter(prefix="/v1/exports", tags=["exports"])

APPLICATION_COLUMNS = model_columns(ApplicationSummary)
PROJECT_COLUMNS = model_columns(ProjectRead)
DECISION_COLUMNS = model_columns(DecisionRead)
RESULT_COLUMNS = model_columns(ApplicationResult)
OUTPUT_COLUMNS = model_columns(OutputRead)
STATISTICS = ("mean", "median", "trimmed_mean", "sd", "spread", "normalised_mean")
REVIEW_COLUMNS = (
    "expert_id",
    "expert_name",
    "weighted_total",
    "z_score",
    "recommendation",
    "submitted_at",
    "late",
)


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%d")


@router.get(
    "/applications",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    summary="The applications the caller may read, as a file (filters of `/v1/applications`)",
)
async def export_applications(
    sessions: SessionmakerDep,
    principal: CurrentPrincipal,
    export_format: FormatQuery,
    now: NowDep,
    call_id: UUID | None = None,
    status: ApplicationStatus | None = None,
) -> StreamingResponse:
    async def fetch(offset: int, limit: int) -> Batch:
        async with sessions() as session:
            applications = ApplicationService(session)
            found = await applications.page(
                principal, call_id=call_id, status=status, before=None, offset=offset, limit=limit
            )
            heads = await applications.submitted_heads(found)
        return [
            model_row(summary(a, access, labels, heads.get(a.id)), APPLICATION_COLUMNS)
            for a, access, labels in found
        ]

    return await export_response(
        export_format, f"applications-{_stamp(now)}", APPLICATION_COLUMNS, in_batches(fetch)
    )


@router.get(
    "/projects",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    summary="The projects the caller may read, as a file (filters of `/v1/projects`)",
)
async def export_projects(
    sessions: SessionmakerDep,
    principal: CurrentPrincipal,
    export_format: FormatQuery,
    now: NowDep,
    program_id: UUID | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: ProjectStatus | None = None,
) -> StreamingResponse:
    async def fetch(offset: int, limit: int) -> Batch:
        async with sessions() as session:
            found = await ProjectService(session).search(
                principal,
                now=now,
                program_id=program_id,
                year=year,
                status=status,
                limit=limit,
                offset=offset,
            )
        return [model_row(project_read(p, shown), PROJECT_COLUMNS) for p, shown in found]

    return await export_response(
        export_format, f"projects-{_stamp(now)}", PROJECT_COLUMNS, in_batches(fetch)
    )


@router.get(
    "/projects/{project_id}/outputs",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    summary="A project's outputs, as a file (whoever reads the project; filters of the list)",
)
async def export_outputs(
    project_id: UUID,
    sessions: SessionmakerDep,
    principal: CurrentPrincipal,
    export_format: FormatQuery,
    now: NowDep,
    kind: OutputKind | None = None,
    status: OutputStatus | None = None,
) -> StreamingResponse:
    async def fetch(offset: int, limit: int) -> Batch:
        async with sessions() as session:
            found = await OutputService(session).of_project(
                principal, project_id, kind=kind, status=status, offset=offset, limit=limit
            )
        return [model_row(OutputRead.model_validate(o), OUTPUT_COLUMNS) for o in found]

    return await export_response(
        export_format, f"outputs-{_stamp(now)}", OUTPUT_COLUMNS, in_batches(fetch)
    )


@router.get(
    "/calls/{call_id}/decisions",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    summary="The call's applications and decisions, as a file (managers of the program)",
)
async def export_decisions(
    call_id: UUID,
    sessions: SessionmakerDep,
    manager: Manager,
    export_format: FormatQuery,
    now: NowDep,
    status: Literal["in_review", "reviewed", "approved", "reserved", "rejected"] | None = None,
) -> StreamingResponse:
    async def fetch(offset: int, limit: int) -> Batch:
        async with sessions() as session:
            rows, _, ranking = await DecisionService(session).of_call(
                manager, call_id, status=status, limit=limit, offset=offset
            )
        return [model_row(decision_read(a, p, ranking), DECISION_COLUMNS) for a, p in rows]

    return await export_response(
        export_format, f"decisions-{_stamp(now)}", DECISION_COLUMNS, in_batches(fetch)
    )


def _review_rows(result: ApplicationResult) -> list[list[Cell]]:
    """One row per expert's review of the application (one with empty review cells if none)."""
    head = model_row(result, RESULT_COLUMNS)
    statistics: list[Cell] = [
        getattr(result.statistics, name) if result.statistics else None for name in STATISTICS
    ]
    reviews: Sequence[Sequence[Cell]] = [
        model_row(review, REVIEW_COLUMNS) for review in result.reviews
    ] or [[None] * len(REVIEW_COLUMNS)]
    return [[*head, *statistics, *review] for review in reviews]


@router.get(
    "/review-rounds/{round_id}/results",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    summary="The round's review scores, one row per expert's review (managers of the program)",
)
async def export_review_scores(
    round_id: UUID,
    sessions: SessionmakerDep,
    manager: Manager,
    export_format: FormatQuery,
    now: NowDep,
) -> StreamingResponse:
    # The round's results are computed whole (ranks need every score); written out in batches.
    async with sessions() as session:
        _, results = await RoundService(session).results(manager, round_id)

    async def fetch(offset: int, limit: int) -> Batch:
        return [row for r in results[offset : offset + limit] for row in _review_rows(r)]

    header = [*RESULT_COLUMNS, *STATISTICS, *REVIEW_COLUMNS]
    return await export_response(
        export_format, f"review-scores-{_stamp(now)}", header, in_batches(fetch)
    )
