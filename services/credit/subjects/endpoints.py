"""Subjects: named by the record keepers; read by themselves, and by staff as far as role and
programs allow (services.credit.access.reading)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status

from services.credit.auth import Purpose, RecordKeeper, SettingsDep
from services.credit.files.service import FileService
from services.credit.records.endpoints import Records
from services.credit.subjects.schemas import LinkCreate, LinkRead, SubjectRead, SubjectRef
from services.credit.subjects.service import SubjectService
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep

router = APIRouter(prefix="/v1/subjects", tags=["subjects"])


async def subject_service(session: SessionDep, settings: SettingsDep) -> SubjectService:
    return SubjectService(session, settings.id_hash_key.get_secret_value())


Subjects = Annotated[SubjectService, Depends(subject_service)]


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


@router.get(
    "/{subject_id}",
    response_model=SubjectRead,
    summary="A subject (others: purpose stated and logged)",
)
async def get_subject(
    subject_id: UUID,
    records: Records,
    session: SessionDep,
    principal: CurrentPrincipal,
    purpose: Purpose = None,
) -> SubjectRead:
    found = await FileService(session, records).subject(principal, subject_id, purpose)
    return SubjectRead.model_validate(found)


@router.post("/{subject_id}/links", response_model=LinkRead, status_code=status.HTTP_201_CREATED)
async def link(
    subject_id: UUID, data: LinkCreate, subjects: Subjects, _keeper: RecordKeeper
) -> LinkRead:
    return LinkRead.model_validate(await subjects.link(subject_id, data))
