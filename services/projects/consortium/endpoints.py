"""Consortium applications: the organizations' parts, and each participant's endorsement."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status

from services.projects.auth import Drafter, NowDep, OrgAdmin
from services.projects.consortium import rules
from services.projects.consortium.schemas import (
    ConsortiumRead,
    ConsortiumWrite,
    PartEndorsementWrite,
    PartRead,
)
from services.projects.consortium.service import Consortium, ConsortiumService
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep

router = APIRouter(prefix="/v1/applications", tags=["consortium"])


async def consortium_service(session: SessionDep) -> ConsortiumService:
    return ConsortiumService(session)


Consortia = Annotated[ConsortiumService, Depends(consortium_service)]
ApplicationId = Annotated[UUID, Path()]


def read_model(consortium: Consortium) -> ConsortiumRead:
    application, parts = consortium.application, consortium.parts
    return ConsortiumRead(
        application_id=application.id,
        lead_org_id=application.org_id,
        budget_fen=application.requested_budget_fen,
        shares_fen=sum(p.budget_fen for p in parts),
        parts=[
            PartRead.model_validate(p).model_copy(
                update={"org_name": consortium.org_names.get(p.org_id, "")}
            )
            for p in parts
        ],
        pending_org_ids=rules.pending(parts),
    )


@router.get(
    "/{application_id}/consortium",
    response_model=ConsortiumRead,
    summary="The organizations' parts (none: not a consortium application)",
)
async def get_consortium(
    application_id: ApplicationId, consortia: Consortia, principal: CurrentPrincipal
) -> ConsortiumRead:
    return read_model(await consortia.read(principal, application_id))


@router.put(
    "/{application_id}/consortium",
    response_model=ConsortiumRead,
    summary="Set the parts (PI or delegate; shares add up to the budget; a changed part is "
    "asked again)",
)
async def set_consortium(
    application_id: ApplicationId,
    data: ConsortiumWrite,
    consortia: Consortia,
    drafter: Drafter,
    now: NowDep,
) -> ConsortiumRead:
    return read_model(await consortia.write(drafter, application_id, data, now))


@router.delete(
    "/{application_id}/consortium",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Apply alone again (PI or delegate)",
)
async def dissolve_consortium(
    application_id: ApplicationId, consortia: Consortia, drafter: Drafter, now: NowDep
) -> Response:
    await consortia.dissolve(drafter, application_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{application_id}/consortium/parts/{org_id}/endorsement",
    response_model=ConsortiumRead,
    summary="A participating organization endorses its part, or declines with reasons",
)
async def endorse_part(
    application_id: ApplicationId,
    org_id: Annotated[UUID, Path(description="the participating organization")],
    data: PartEndorsementWrite,
    consortia: Consortia,
    org_admin: OrgAdmin,
    now: NowDep,
) -> ConsortiumRead:
    return read_model(await consortia.endorse_part(org_admin, application_id, org_id, data, now))
