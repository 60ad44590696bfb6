"""Credit records and every step of their due process."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from services.credit.auth import STAFF, Decider, NowDep, RecordKeeper, SettingsDep
from services.credit.exceptions import RecordNotFound
from services.credit.models import CreditRecord
from services.credit.records.schemas import (
    AppealDecision,
    Note,
    ObjectionDecision,
    RecordCreate,
    RecordDetail,
    RecordRead,
    RepairRequest,
    Statement,
    Transition,
)
from services.credit.records.service import (
    Actor,
    RecordService,
    is_subject_of,
    record_service_for,
)
from shared.auth.dependencies import CurrentPrincipal
from shared.auth.tokens import Principal
from shared.db import SessionDep

router = APIRouter(prefix="/v1/records", tags=["records"])


async def record_service(session: SessionDep, settings: SettingsDep) -> RecordService:
    return record_service_for(session, settings)


Records = Annotated[RecordService, Depends(record_service)]


def _actor(principal: Principal) -> Actor:
    return Actor(principal.subject, principal)


async def record_detail(records: RecordService, record: CreditRecord) -> RecordDetail:
    """A record with its whole history of transitions."""
    transitions = [Transition.model_validate(t) for t in await records.transitions(record.id)]
    return RecordDetail.model_validate(
        {**RecordRead.model_validate(record).model_dump(), "transitions": transitions}
    )


@router.post(
    "", response_model=RecordRead, status_code=status.HTTP_201_CREATED, summary="Propose a record"
)
async def create_record(data: RecordCreate, records: Records, keeper: RecordKeeper) -> RecordRead:
    return RecordRead.model_validate(await records.create(data, _actor(keeper)))


@router.get("/{record_id}", response_model=RecordDetail, summary="A record with its history")
async def get_record(
    record_id: UUID, records: Records, principal: CurrentPrincipal
) -> RecordDetail:
    record = await records.get(record_id)
    if not principal.has_any(*STAFF):
        subject = await records.subjects.get(record.subject_id)
        if not is_subject_of(principal, subject) or record.status == "proposed":
            raise RecordNotFound()
    return await record_detail(records, record)


@router.post(
    "/{record_id}/notify",
    response_model=RecordDetail,
    summary="Notify the subject; opens the objection window",
)
async def notify(
    record_id: UUID, note: Note, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    record = await records.notify(record_id, _actor(decider), note.reason, now)
    return await record_detail(records, record)


@router.post(
    "/{record_id}/objection",
    response_model=RecordDetail,
    summary="The subject objects (within the window)",
)
async def object_to(
    record_id: UUID, data: Statement, records: Records, principal: CurrentPrincipal, now: NowDep
) -> RecordDetail:
    record = await records.object(record_id, principal, data, now)
    return await record_detail(records, record)


@router.post("/{record_id}/objection/decision", response_model=RecordDetail)
async def decide_objection(
    record_id: UUID, data: ObjectionDecision, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    record = await records.decide_objection(record_id, _actor(decider), data, now)
    return await record_detail(records, record)


@router.post(
    "/{record_id}/confirm",
    response_model=RecordDetail,
    summary="Confirm once the window has passed",
)
async def confirm(
    record_id: UUID, note: Note, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    record = await records.confirm(record_id, _actor(decider), note.reason, now)
    return await record_detail(records, record)


@router.post(
    "/{record_id}/appeal",
    response_model=RecordDetail,
    summary="The subject appeals a confirmed record",
)
async def appeal(
    record_id: UUID, data: Statement, records: Records, principal: CurrentPrincipal, now: NowDep
) -> RecordDetail:
    record = await records.appeal(record_id, principal, data, now)
    return await record_detail(records, record)


@router.post(
    "/{record_id}/appeal/decision",
    response_model=RecordDetail,
    summary="Review by someone other than who decided",
)
async def decide_appeal(
    record_id: UUID, data: AppealDecision, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    record = await records.decide_appeal(record_id, _actor(decider), data, now)
    return await record_detail(records, record)


@router.post("/{record_id}/repair", response_model=RecordDetail, summary="Credit repair (信用修复)")
async def repair(
    record_id: UUID, data: RepairRequest, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    record = await records.repair(record_id, _actor(decider), data, now)
    return await record_detail(records, record)


@router.post(
    "/{record_id}/withdraw",
    response_model=RecordDetail,
    summary="Take back a record not yet confirmed",
)
async def withdraw(
    record_id: UUID, note: Note, records: Records, decider: Decider, now: NowDep
) -> RecordDetail:
    record = await records.withdraw(record_id, _actor(decider), note.reason, now)
    return await record_detail(records, record)
