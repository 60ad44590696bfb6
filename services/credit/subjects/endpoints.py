"""Subjects: named by the record keepers; each subject sees its own full file."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel

from services.credit.auth import STAFF, NowDep, RecordKeeper, SettingsDep
from services.credit.exceptions import SubjectNotFound
from services.credit.rating.schemas import RatingRead
from services.credit.rating.service import RatingService, policy_from
from services.credit.records.endpoints import Records, record_detail
from services.credit.records.schemas import RecordDetail
from services.credit.records.service import is_subject_of
from services.credit.subjects.schemas import LinkCreate, LinkRead, SubjectRead, SubjectRef
from services.credit.subjects.service import SubjectService
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])


async def subject_service(session: SessionDep, settings: SettingsDep) -> SubjectService:
    return SubjectService(session, settings.id_hash_key.get_secret_value())


Subjects = Annotated[SubjectService, Depends(subject_service)]


class SubjectFile(BaseModel):
    subject: SubjectRead
    links: list[LinkRead]
    rating: RatingRead
    records: list[RecordDetail]


@router.post(
    "",
    response_model=SubjectRead,
    status_code=status.HTTP_200_OK,
    summary="Find or register a subject",
)
async def resolve_subject(
    ref: SubjectRef, subjects: Subjects, _keeper: RecordKeeper
) -> SubjectRead:
    return SubjectRead.model_validate(await subjects.resolve(ref))


@router.get("/{subject_id}", response_model=SubjectRead)
async def get_subject(
    subject_id: UUID, subjects: Subjects, principal: CurrentPrincipal
) -> SubjectRead:
    subject = await subjects.get(subject_id)
    if not principal.has_any(*STAFF) and not is_subject_of(principal, subject):
        raise SubjectNotFound()
    return SubjectRead.model_validate(subject)


@router.post("/{subject_id}/links", response_model=LinkRead, status_code=status.HTTP_201_CREATED)
async def link(
    subject_id: UUID, data: LinkCreate, subjects: Subjects, _keeper: RecordKeeper
) -> LinkRead:
    return LinkRead.model_validate(await subjects.link(subject_id, data))


@router.get(
    "/{subject_id}/file", response_model=SubjectFile, summary="Everything recorded about a subject"
)
async def subject_file(
    subject_id: UUID,
    subjects: Subjects,
    records: Records,
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    now: NowDep,
) -> SubjectFile:
    subject = await subjects.get(subject_id)
    staff = principal.has_any(*STAFF)
    if not staff and not is_subject_of(principal, subject):
        raise SubjectNotFound()
    details = [
        await record_detail(records, record)
        for record in await records.of_subject(subject.id)
        # not yet notified: the subject learns of it together with its facts and basis
        if staff or record.status != "proposed"
    ]
    rated = await RatingService(session, policy_from(settings)).rating(subject.id, now)
    return SubjectFile(
        subject=SubjectRead.model_validate(subject),
        links=[LinkRead.model_validate(link) for link in await subjects.repo.links_of(subject.id)],
        rating=RatingRead.of(subject.id, rated),
        records=details,
    )
