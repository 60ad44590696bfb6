"""Decisions per call and the public notice (公示) with objections."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, status

from services.projects.auth import Manager, NowDep
from services.projects.decisions.notice import NoticeService
from services.projects.decisions.schemas import (
    DecisionBatch,
    DecisionList,
    DecisionOutcome,
    DecisionRead,
    ObjectionCreate,
    ObjectionRead,
    ObjectionReceipt,
    ObjectionResolution,
    ObjectionResolved,
    PublicObjectionCreate,
)
from services.projects.decisions.service import DecisionService
from services.projects.execution.endpoints import project_read
from services.projects.models import Application, Project
from services.projects.review.scoring.results import CallRanking
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, page_of, start_of

router = APIRouter(prefix="", tags=["decisions"])


def decision_read(
    application: Application, project: Project | None, ranking: CallRanking | None = None
) -> DecisionRead:
    rank, score = (ranking.places.get(application.id) if ranking else None) or (None, None)
    return DecisionRead(
        application_id=application.id,
        title=application.title,
        applicant_id=application.applicant_id,
        org_id=application.org_id,
        status=application.status,
        requested_budget_fen=application.requested_budget_fen,
        approved_budget_fen=application.approved_budget_fen,
        decision_reason=application.decision_reason,
        decided_by=application.decided_by,
        decided_at=application.decided_at,
        project_id=project.id if project else None,
        project_number=project.number if project else None,
        notice_ends_at=project.notice_ends_at if project else None,
        review_rank=rank,
        review_score=score,
    )


@router.post(
    "/v1/calls/{call_id}/decisions",
    response_model=DecisionOutcome,
    summary="Decide on applications of a call: approve, reserve or reject (all or nothing)",
)
async def decide(
    call_id: UUID, batch: DecisionBatch, session: SessionDep, manager: Manager, now: NowDep
) -> DecisionOutcome:
    results, envelope = await DecisionService(session).decide(manager, call_id, batch, now)
    return DecisionOutcome(decisions=[decision_read(a, p) for a, p in results], envelope=envelope)


@router.get(
    "/v1/calls/{call_id}/decisions",
    response_model=DecisionList,
    summary="The call's applications: in review rank order once its review round is closed, "
    "else approved, reserve, undecided, rejected",
)
async def list_decisions(
    call_id: UUID,
    session: SessionDep,
    manager: Manager,
    page: PageDep,
    status: Literal["in_review", "reviewed", "approved", "reserved", "rejected"] | None = None,
) -> DecisionList:
    offset = start_of(page)
    rows, envelope, ranking = await DecisionService(session).of_call(
        manager, call_id, status=status, limit=page.limit + 1, offset=offset
    )
    return DecisionList(
        items=[decision_read(a, p, ranking) for a, p in rows[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(rows)),
        envelope=envelope,
        review_ranked_by=ranking.ranked_by if ranking else None,
    )


@router.get(
    "/v1/calls/{call_id}/reserve",
    response_model=DecisionList,
    summary="The call's project reserve (项目储备库)",
)
async def list_reserve(
    call_id: UUID, session: SessionDep, manager: Manager, page: PageDep
) -> DecisionList:
    return await list_decisions(call_id, session, manager, page, status="reserved")


# --- public notice ---------------------------------------------------------------------------


@router.post(
    "/v1/projects/{project_id}/objections",
    response_model=ObjectionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Object to an approved project during its public notice, under one's account",
)
async def file_objection(
    project_id: UUID,
    data: ObjectionCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> ObjectionRead:
    return ObjectionRead.model_validate(
        await NoticeService(session).object(principal, project_id, data, now)
    )


@router.post(
    "/v1/public/projects/{project_id}/objections",
    response_model=ObjectionReceipt,
    status_code=status.HTTP_201_CREATED,
    summary="Object to an approved project during its public notice, without an account, "
    "under one's real name (实名异议)",
    description=(
        "No login. The objector's name, a phone number or e-mail address at which the agency "
        "reaches them, optionally their organization, and the reasons: anonymous objections "
        "are not taken. The program's managers read who objected; the public and the PI never "
        "do. The gateway limits how many one client address lodges per hour "
        "(`SCIPLAN_GATEWAY_PUBLIC_OBJECTION_PER_ADDRESS`)."
    ),
)
async def lodge_public_objection(
    project_id: UUID, data: PublicObjectionCreate, session: SessionDep, now: NowDep
) -> ObjectionReceipt:
    objection, project = await NoticeService(session).object_by_name(project_id, data, now)
    return ObjectionReceipt(
        id=objection.id,
        project_id=project.id,
        project_number=project.number,
        filed_at=objection.filed_at,
        status=objection.status,
    )


@router.get(
    "/v1/projects/{project_id}/objections",
    response_model=Page[ObjectionRead],
    summary="Objections: all of them for the program's managers, one's own for anyone else",
)
async def list_objections(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, page: PageDep
) -> Page[ObjectionRead]:
    offset = start_of(page)
    found = await NoticeService(session).of_project(
        principal, project_id, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit, ObjectionRead.model_validate)


@router.post(
    "/v1/projects/{project_id}/objections/{objection_id}/resolution",
    response_model=ObjectionResolved,
    summary="Uphold (the project is cancelled) or dismiss an objection",
)
async def resolve_objection(
    project_id: UUID,
    objection_id: UUID,
    data: ObjectionResolution,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> ObjectionResolved:
    objection, project, shown = await NoticeService(session).resolve(
        manager, project_id, objection_id, data, now
    )
    return ObjectionResolved(
        objection=ObjectionRead.model_validate(objection), project=project_read(project, shown)
    )
