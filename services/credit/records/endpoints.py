"""Credit records and every step of their due process."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from services.credit.auth import Decider, NowDep, Purpose, RecordKeeper, SettingsDep
from services.credit.files.service import FileService
from services.credit.records.schemas import (
    AppealDecision,
    DeliveryRecord,
    Note,
    NoticeApproval,
    ObjectionDecision,
    RecordCreate,
    RecordDetail,
    RecordRead,
    RepairRequest,
    Statement,
)
from services.credit.records.service import Actor, RecordService, record_service_for
from shared.auth.dependencies import CurrentPrincipal
from shared.auth.tokens import Principal
from shared.db import SessionDep

router = APIRouter(prefix="/v1/records", tags=["records"])


async def record_service(session: SessionDep, settings: SettingsDep) -> RecordService:
    return record_service_for(session, settings)


Records = Annotated[RecordService, Depends(record_service)]


def _actor(principal: Principal) -> Actor:
    return Actor(principal.subject, principal)


@router.post(
    "", response_model=RecordRead, status_code=status.HTTP_201_CREATED, summary="Propose a record"
)
async def create_record(data: RecordCreate, records: Records, keeper: RecordKeeper) -> RecordRead:
    return RecordRead.model_validate(await records.create(data, _actor(keeper)))


@router.get(
    "/{record_id}",
    response_model=RecordDetail,
    summary="A record with its history (others' records: purpose stated and logged)",
)
async def get_record(
    record_id: UUID,
    records: Records,
    session: SessionDep,
    principal: CurrentPrincipal,
    purpose: Purpose = None,
) -> RecordDetail:
    return await FileService(session, records).record(principal, record_id, purpose)


@router.post(
    "/{record_id}/notify",
    response_model=RecordDetail,
    summary="Notify the subject (opens the objection window); a ban or listing first waits for "
    "a second officer's approval",
)
async def notify(
    record_id: UUID, note: Note, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(await records.notify(record_id, _actor(decider), note.reason, now))


@router.post(
    "/{record_id}/notice/approval",
    response_model=RecordDetail,
    summary="A second officer approves the notice of a record that bans or is listed, or "
    "returns the record",
)
async def approve_notice(
    record_id: UUID, data: NoticeApproval, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(await records.approve_notice(record_id, _actor(decider), data, now))


@router.post(
    "/{record_id}/delivery",
    response_model=RecordDetail,
    summary="Record that the notice reached the subject by other means (post, in person): the "
    "objection window runs from then",
)
async def record_delivery(
    record_id: UUID, data: DeliveryRecord, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(
        await records.record_delivery(record_id, _actor(decider), data, now)
    )


@router.post(
    "/{record_id}/objection",
    response_model=RecordDetail,
    summary="The subject objects (within the window)",
)
async def object_to(
    record_id: UUID, data: Statement, records: Records, principal: CurrentPrincipal, now: NowDep
) -> RecordDetail:
    return await records.detail(await records.object(record_id, principal, data, now))


@router.post(
    "/{record_id}/objection/decision",
    response_model=RecordDetail,
    summary="Decided by someone other than who made the record",
)
async def decide_objection(
    record_id: UUID, data: ObjectionDecision, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(
        await records.decide_objection(record_id, _actor(decider), data, now)
    )


@router.post(
    "/{record_id}/confirm",
    response_model=RecordDetail,
    summary="Confirm once the window has passed (opens the appeal window)",
)
async def confirm(
    record_id: UUID, note: Note, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(await records.confirm(record_id, _actor(decider), note.reason, now))


@router.post(
    "/{record_id}/appeal",
    response_model=RecordDetail,
    summary="The subject appeals a confirmed record (within the appeal window)",
)
async def appeal(
    record_id: UUID, data: Statement, records: Records, principal: CurrentPrincipal, now: NowDep
) -> RecordDetail:
    return await records.detail(await records.appeal(record_id, principal, data, now))


@router.post(
    "/{record_id}/appeal/decision",
    response_model=RecordDetail,
    summary="Review by someone who neither made nor confirmed the record",
)
async def decide_appeal(
    record_id: UUID, data: AppealDecision, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(await records.decide_appeal(record_id, _actor(decider), data, now))


@router.post("/{record_id}/repair", response_model=RecordDetail, summary="Credit repair (信用修复)")
async def repair(
    record_id: UUID, data: RepairRequest, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(await records.repair(record_id, _actor(decider), data, now))


@router.post(
    "/{record_id}/withdraw",
    response_model=RecordDetail,
    summary="Take back a record not yet confirmed",
)
async def withdraw(
    record_id: UUID, note: Note, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    return await records.detail(
        await records.withdraw(record_id, _actor(decider), note.reason, now)
    )
