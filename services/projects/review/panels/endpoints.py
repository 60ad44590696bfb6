"""Review in stages: a call's panel settings, its panel stage (会评/答辩) with the shortlist,
members chosen or drawn at random (随机抽取), their scores and the combined ranking."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from services.projects.auth import CreditDep, Manager, NowDep
from services.projects.review.panels.auth import PanelExpert, SeatHolderOrManager
from services.projects.review.panels.schemas import (
    DeclineRead,
    DrawRead,
    DrawVerification,
    MemberAdd,
    MemberDecline,
    MemberRead,
    MembershipRead,
    PanelSettingsRead,
    PanelSettingsWrite,
    PanelStageCreate,
    PanelStageRead,
    RankingRead,
    ScoreRead,
    ScoreWrite,
    ShortlistAdjust,
    ShortlistEntryRead,
    StartScoring,
)
from services.projects.review.panels.service import PanelService
from shared.db import SessionDep, SessionmakerDep

router = APIRouter(prefix="", tags=["panel stages"])


async def panel_service(session: SessionDep) -> PanelService:
    return PanelService(session)


Panels = Annotated[PanelService, Depends(panel_service)]


@router.put(
    "/v1/calls/{call_id}/panel-settings",
    response_model=PanelSettingsRead,
    summary="State that the call's review has a panel stage, and its terms (managers of its "
    "program; until the stage opens)",
)
async def set_settings(
    call_id: UUID, data: PanelSettingsWrite, panels: Panels, manager: Manager, now: NowDep
) -> PanelSettingsRead:
    return await panels.set_settings(manager, call_id, data, now)


@router.get("/v1/calls/{call_id}/panel-settings", response_model=PanelSettingsRead)
async def get_settings(call_id: UUID, panels: Panels, manager: Manager) -> PanelSettingsRead:
    return await panels.settings(manager, call_id)


@router.post(
    "/v1/calls/{call_id}/panel-stage",
    response_model=PanelStageRead,
    status_code=status.HTTP_201_CREATED,
    summary="Open the panel stage once the written review closed, with its shortlist rule",
)
async def open_stage(
    call_id: UUID, data: PanelStageCreate, panels: Panels, manager: Manager, now: NowDep
) -> PanelStageRead:
    return await panels.open(manager, call_id, data, now)


@router.get("/v1/calls/{call_id}/panel-stage", response_model=PanelStageRead)
async def stage_of_call(call_id: UUID, panels: Panels, manager: Manager) -> PanelStageRead:
    return await panels.of_call(manager, call_id)


@router.get("/v1/panel-stages/{stage_id}", response_model=PanelStageRead)
async def get_stage(stage_id: UUID, panels: Panels, manager: Manager) -> PanelStageRead:
    return await panels.get(manager, stage_id)


@router.get(
    "/v1/panel-stages/{stage_id}/shortlist",
    response_model=list[ShortlistEntryRead],
    summary="Every application the written review ranked, in or out of the shortlist",
)
async def shortlist(stage_id: UUID, panels: Panels, manager: Manager) -> list[ShortlistEntryRead]:
    return await panels.shortlist(manager, stage_id)


@router.put(
    "/v1/panel-stages/{stage_id}/shortlist/{application_id}",
    response_model=ShortlistEntryRead,
    summary="Put an application on the shortlist or take it off, with a reason (recorded)",
)
async def adjust_shortlist(
    stage_id: UUID,
    application_id: UUID,
    data: ShortlistAdjust,
    panels: Panels,
    manager: Manager,
    now: NowDep,
) -> ShortlistEntryRead:
    return await panels.adjust(manager, stage_id, application_id, data, now)


@router.get("/v1/panel-stages/{stage_id}/members", response_model=list[MemberRead])
async def members(stage_id: UUID, panels: Panels, manager: Manager) -> list[MemberRead]:
    return await panels.members(manager, stage_id)


@router.post(
    "/v1/panel-stages/{stage_id}/members",
    response_model=MemberRead,
    status_code=status.HTTP_201_CREATED,
    summary="Seat an expert of the qualified pool by name (calls that do not require a draw)",
)
async def add_member(
    stage_id: UUID,
    data: MemberAdd,
    panels: Panels,
    manager: Manager,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> MemberRead:
    return await panels.add_member(manager, stage_id, data, credit, now, sessions)


@router.post(
    "/v1/panel-stages/{stage_id}/draws",
    response_model=DrawRead,
    status_code=status.HTTP_201_CREATED,
    summary="Draw the free seats and the reserves at random from the qualified pool, with a "
    "recorded seed",
)
async def run_draw(
    stage_id: UUID,
    panels: Panels,
    manager: Manager,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> DrawRead:
    return await panels.run_draw(manager, stage_id, credit, now, sessions)


@router.get("/v1/panel-draws/{draw_id}", response_model=DrawRead)
async def get_draw(draw_id: UUID, panels: Panels, manager: Manager) -> DrawRead:
    return await panels.get_draw(manager, draw_id)


@router.post(
    "/v1/panel-draws/{draw_id}/verify",
    response_model=DrawVerification,
    summary="Run the draw again on its recorded pool and seed and say whether it matches",
)
async def verify_draw(draw_id: UUID, panels: Panels, manager: Manager) -> DrawVerification:
    return await panels.verify_draw(manager, draw_id)


@router.post(
    "/v1/panel-members/{member_id}/decline",
    response_model=DeclineRead,
    summary="Decline a seat (the expert, or a manager on their word): the first reserve moves up",
)
async def decline(
    member_id: UUID, data: MemberDecline, panels: Panels, who: SeatHolderOrManager, now: NowDep
) -> DeclineRead:
    return await panels.decline(who, member_id, data, now)


@router.post(
    "/v1/panel-stages/{stage_id}/start",
    response_model=PanelStageRead,
    summary="Fix the shortlist and the panel: the members score",
)
async def start(
    stage_id: UUID, data: StartScoring, panels: Panels, manager: Manager, now: NowDep
) -> PanelStageRead:
    return await panels.start(manager, stage_id, data, now)


@router.put(
    "/v1/panel-stages/{stage_id}/scores/{application_id}",
    response_model=ScoreRead,
    summary="A seated member's score of a shortlisted application (0..100 and a comment)",
)
async def save_score(
    stage_id: UUID,
    application_id: UUID,
    data: ScoreWrite,
    panels: Panels,
    expert: PanelExpert,
    now: NowDep,
) -> ScoreRead:
    return await panels.save_score(expert, stage_id, application_id, data, now)


@router.get(
    "/v1/me/panel-memberships",
    response_model=list[MembershipRead],
    summary="The panels I am on, and what I score there",
)
async def my_memberships(panels: Panels, expert: PanelExpert) -> list[MembershipRead]:
    return await panels.memberships(expert)


@router.post(
    "/v1/panel-stages/{stage_id}/close",
    response_model=PanelStageRead,
    summary="Close the panel once every seated member scored every shortlisted application",
)
async def close(stage_id: UUID, panels: Panels, manager: Manager, now: NowDep) -> PanelStageRead:
    return await panels.close(manager, stage_id, now)


@router.get(
    "/v1/panel-stages/{stage_id}/ranking",
    response_model=RankingRead,
    summary="The shortlist on both stages: written part, members' scores, weights, combined",
)
async def ranking(stage_id: UUID, panels: Panels, manager: Manager) -> RankingRead:
    return await panels.ranking(manager, stage_id)
