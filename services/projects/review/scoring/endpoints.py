"""Scoring online, a round's results and close, and an applicant's review after the decision."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from services.projects.auth import Manager, NowDep
from services.projects.review.scoring.auth import ExpertCaller, SheetReader
from services.projects.review.scoring.results import RoundService
from services.projects.review.scoring.schemas import (
    ApplicantReview,
    RoundClosedRead,
    RoundResults,
    SheetRead,
    SheetReopen,
    SheetWrite,
)
from services.projects.review.scoring.service import SheetService
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import PageDep, next_cursor, start_of

router = APIRouter(prefix="", tags=["scoring"])


async def sheet_service(session: SessionDep) -> SheetService:
    return SheetService(session)


async def round_service(session: SessionDep) -> RoundService:
    return RoundService(session)


Sheets = Annotated[SheetService, Depends(sheet_service)]
Rounds = Annotated[RoundService, Depends(round_service)]


@router.put(
    "/v1/assignments/{assignment_id}/sheet",
    response_model=SheetRead,
    summary="Save a draft score sheet (the assignment's expert; parts may be missing)",
)
async def save_sheet(
    assignment_id: UUID, data: SheetWrite, service: Sheets, expert: ExpertCaller, now: NowDep
) -> SheetRead:
    return await service.save_draft(expert, assignment_id, data, now)


@router.post(
    "/v1/assignments/{assignment_id}/sheet/submit",
    response_model=SheetRead,
    summary="Submit the sheet: every criterion scored and commented, overall comment, "
    "recommendation; after the deadline it is accepted and recorded as late",
)
async def submit_sheet(
    assignment_id: UUID, service: Sheets, expert: ExpertCaller, now: NowDep
) -> SheetRead:
    return await service.submit(expert, assignment_id, now)


@router.post(
    "/v1/assignments/{assignment_id}/sheet/reopen",
    response_model=SheetRead,
    summary="Send a submitted sheet back to its expert as a draft (managers of the program)",
)
async def reopen_sheet(
    assignment_id: UUID, data: SheetReopen, service: Sheets, manager: Manager, now: NowDep
) -> SheetRead:
    return await service.reopen(manager, assignment_id, data, now)


@router.get(
    "/v1/assignments/{assignment_id}/sheet",
    response_model=SheetRead,
    summary="A score sheet: the expert's own, or any of the program's for its managers",
)
async def read_sheet(assignment_id: UUID, service: Sheets, reader: SheetReader) -> SheetRead:
    return await service.read(reader, assignment_id)


@router.get(
    "/v1/review-rounds/{round_id}/results",
    response_model=RoundResults,
    summary="Per application: reviews with their experts, statistics, disagreement, rank "
    "(managers of the program)",
)
async def round_results(
    round_id: UUID, service: Rounds, manager: Manager, page: PageDep
) -> RoundResults:
    standings, results = await service.results(manager, round_id)
    offset = start_of(page)
    round_ = standings.round
    return RoundResults(
        items=results[offset : offset + page.limit],
        next_cursor=next_cursor(offset, page.limit, len(results) - offset),
        round_id=round_.id,
        call_id=round_.call_id,
        state=round_.state,
        deadline=round_.deadline,
        ranked_by=standings.ranked_by,
        disagreement_sd=standings.disagreement_sd,
        applications=len(results),
    )


@router.post(
    "/v1/review-rounds/{round_id}/close",
    response_model=RoundClosedRead,
    summary="Close a round once its deadline passed or every review is in; reviewed "
    "applications move on to the decision",
)
async def close_round(
    round_id: UUID, service: Rounds, manager: Manager, now: NowDep
) -> RoundClosedRead:
    return await service.close(manager, round_id, now)


@router.get(
    "/v1/applications/{application_id}/review",
    response_model=ApplicantReview,
    summary="After the decision: the aggregated score and the experts' comments, anonymised",
)
async def applicant_review(
    application_id: UUID, service: Rounds, principal: CurrentPrincipal
) -> ApplicantReview:
    return await service.applicant_review(principal, application_id)
