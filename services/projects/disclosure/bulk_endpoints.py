"""Public bulk data of funded projects, per year (no login; the gateway limits public reads
per client address). Only what the public search shows: no ids of people, no content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.responses import StreamingResponse

from services.projects.auth import NowDep
from services.projects.disclosure.bulk import PUBLIC_COLUMNS, csv_batches, json_lines, years
from services.projects.disclosure.schemas import BulkYear
from shared.db import SessionDep, SessionmakerDep
from shared.tabular import ExportFormat, export_response

router = APIRouter(prefix="/v1/public/bulk", tags=["disclosure"])

Year = Annotated[int, Path(ge=2000, le=2100)]
GATEWAY_PREFIX = "/api/projects/v1/public/bulk/projects"


@router.get(
    "/projects",
    response_model=list[BulkYear],
    summary="The years with funded projects, and their files (public, no login)",
)
async def bulk_years(session: SessionDep) -> list[BulkYear]:
    return [
        BulkYear(
            year=year,
            projects=count,
            csv=f"{GATEWAY_PREFIX}/{year}.csv",
            jsonl=f"{GATEWAY_PREFIX}/{year}.jsonl",
        )
        for year, count in await years(session)
    ]


@router.get(
    "/projects/{year}.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
    summary="Every funded project of the year as CSV (UTF-8 with BOM; public, no login)",
)
async def bulk_csv(year: Year, sessions: SessionmakerDep, now: NowDep) -> StreamingResponse:
    return await export_response(
        ExportFormat.csv,
        f"sciplan-projects-{year}",
        PUBLIC_COLUMNS,
        csv_batches(sessions, year, now),
    )


@router.get(
    "/projects/{year}.jsonl",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/jsonl": {}}}},
    summary="Every funded project of the year as JSON lines (public, no login)",
)
async def bulk_json_lines(year: Year, sessions: SessionmakerDep, now: NowDep) -> StreamingResponse:
    return StreamingResponse(
        json_lines(sessions, year, now),
        media_type="application/jsonl",
        headers={
            "Content-Disposition": f'attachment; filename="sciplan-projects-{year}.jsonl"',
            "Cache-Control": "public, max-age=3600",
        },
    )
