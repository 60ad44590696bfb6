"""Third-party evaluators: engagements and evaluation reports."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from services.projects.auth import Evaluator, Manager, NowDep
from services.projects.evaluation.auth import EvaluationReader
from services.projects.evaluation.repository import EngagementFilter, EvaluationFilter
from services.projects.evaluation.schemas import (
    EngagementCreate,
    EngagementEnd,
    EngagementRead,
    EvaluationCreate,
    EvaluationKind,
    EvaluationRead,
)
from services.projects.evaluation.service import EvaluationService
from shared.db import SessionDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="", tags=["evaluation"])


async def evaluation_service(session: SessionDep) -> EvaluationService:
    return EvaluationService(session)


Evaluations = Annotated[EvaluationService, Depends(evaluation_service)]


@router.post(
    "/v1/engagements",
    response_model=EngagementRead,
    status_code=status.HTTP_201_CREATED,
    summary="Engage an evaluator on a program or a project (its program's managers)",
)
async def engage(
    data: EngagementCreate, service: Evaluations, manager: Manager, now: NowDep
) -> EngagementRead:
    return await service.engage(manager, data, now)


@router.get(
    "/v1/engagements",
    response_model=Page[EngagementRead],
    summary="Engagements: an evaluator's own, a manager's programs'",
)
async def engagements(
    service: Evaluations,
    reader: EvaluationReader,
    page: PageDep,
    active: bool | None = None,
    evaluator_id: UUID | None = None,
    program_id: UUID | None = None,
    project_id: UUID | None = None,
) -> Page[EngagementRead]:
    where = EngagementFilter(
        active=active, evaluator_id=evaluator_id, program_id=program_id, project_id=project_id
    )
    return Page[EngagementRead](items=await service.engagements(reader, where, page))


@router.get("/v1/engagements/{engagement_id}", response_model=EngagementRead)
async def engagement(
    engagement_id: UUID, service: Evaluations, reader: EvaluationReader
) -> EngagementRead:
    return await service.engagement(reader, engagement_id)


@router.post(
    "/v1/engagements/{engagement_id}/end",
    response_model=EngagementRead,
    summary="End an engagement: the evaluator reads and files nothing more under it",
)
async def end_engagement(
    engagement_id: UUID, data: EngagementEnd, service: Evaluations, manager: Manager, now: NowDep
) -> EngagementRead:
    return await service.end(manager, engagement_id, data.reason, now)


@router.post(
    "/v1/evaluations",
    response_model=EvaluationRead,
    status_code=status.HTTP_201_CREATED,
    summary="File an evaluation under one's active engagement",
)
async def file_evaluation(
    data: EvaluationCreate, service: Evaluations, evaluator: Evaluator, now: NowDep
) -> EvaluationRead:
    return await service.file(evaluator, data, now)


@router.get(
    "/v1/evaluations",
    response_model=Page[EvaluationRead],
    summary="Evaluations: an evaluator's own, a manager's programs'",
)
async def evaluations(
    service: Evaluations,
    reader: EvaluationReader,
    page: PageDep,
    engagement_id: UUID | None = None,
    project_id: UUID | None = None,
    kind: EvaluationKind | None = None,
) -> Page[EvaluationRead]:
    where = EvaluationFilter(engagement_id=engagement_id, project_id=project_id, kind=kind)
    return Page[EvaluationRead](items=await service.evaluations(reader, where, page))


@router.get("/v1/evaluations/{evaluation_id}", response_model=EvaluationRead)
async def evaluation(
    evaluation_id: UUID, service: Evaluations, reader: EvaluationReader
) -> EvaluationRead:
    return await service.evaluation(reader, evaluation_id)
