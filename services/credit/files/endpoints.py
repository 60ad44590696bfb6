"""Credit files: everything recorded about a subject, and "my credit file"."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from services.credit.auth import NowDep, Purpose
from services.credit.files.schemas import MyCreditFiles, SubjectFile
from services.credit.files.service import FileService
from services.credit.records.endpoints import Records
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep

router = APIRouter(prefix="/v1", tags=["files"])


async def file_service(session: SessionDep, records: Records) -> FileService:
    return FileService(session, records)


Files = Annotated[FileService, Depends(file_service)]


@router.get(
    "/me/file",
    response_model=MyCreditFiles,
    summary="My credit file: records I was notified of, my rating and its reasons, my deadlines",
)
async def my_file(files: Files, principal: CurrentPrincipal, now: NowDep) -> MyCreditFiles:
    return await files.mine(principal, now)


@router.get(
    "/subjects/{subject_id}/file",
    response_model=SubjectFile,
    summary="Everything recorded about a subject (others' files: purpose stated and logged)",
)
async def subject_file(
    subject_id: UUID,
    files: Files,
    principal: CurrentPrincipal,
    now: NowDep,
    purpose: Purpose = None,
) -> SubjectFile:
    return await files.file(principal, subject_id, purpose, now)
