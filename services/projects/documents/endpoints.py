"""Issued documents: issuing (a program's manager), reading (who reads the project; anyone for
a public notice), and checking a copy (anyone, no login)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from services.projects.auth import Manager, NowDep
from services.projects.documents.downloads import (
    ACCEPTED_TYPES,
    document_response,
    sha256_of_body,
)
from services.projects.documents.schemas import (
    DocumentIssue,
    DocumentRead,
    DocumentVerification,
    PublicNotice,
)
from services.projects.documents.service import DocumentService
from services.projects.models import IssuedDocument
from shared.auth.dependencies import CurrentPrincipal
from shared.clock import SHANGHAI
from shared.db import SessionDep
from shared.objectstore.requests import NewObjectsDep, ObjectStoreDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(tags=["documents"])

PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
SHA256 = Annotated[
    str, Query(pattern="^[0-9a-fA-F]{64}$", description="the SHA-256 of the file, in hex")
]


def document_read(document: IssuedDocument) -> DocumentRead:
    return DocumentRead(
        id=document.id,
        kind=document.kind,
        number=document.number,
        version=document.version,
        project_id=document.project_id,
        call_id=document.call_id,
        issued_at=document.issued_at,
        sha256=document.sha256,
        size_bytes=document.size_bytes,
        current=document.superseded_at is None,
        superseded_at=document.superseded_at,
    )


def public_notice(document: IssuedDocument) -> PublicNotice:
    return PublicNotice(
        id=document.id,
        number=document.number,
        version=document.version,
        call_id=document.call_id,
        issued_at=document.issued_at,
        sha256=document.sha256,
        current=document.superseded_at is None,
    )


def _issued(document: IssuedDocument, new: bool, response: Response) -> DocumentRead:
    response.status_code = status.HTTP_201_CREATED if new else status.HTTP_200_OK
    return document_read(document)


@router.post(
    "/v1/projects/{project_id}/documents",
    response_model=DocumentRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": DocumentRead, "description": "Nothing it states changed: the current one"}
    },
    summary="Issue the task book, approval notice or acceptance certificate as PDF "
    "(a manager of the program)",
)
async def issue_project_document(
    project_id: UUID,
    data: DocumentIssue,
    response: Response,
    written: NewObjectsDep,
    objects: ObjectStoreDep,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> DocumentRead:
    issued = await DocumentService(session).issue_for_project(
        manager, project_id, data.kind, now, objects, written
    )
    return _issued(issued.document, issued.new, response)


@router.post(
    "/v1/calls/{call_id}/public-notice",
    response_model=DocumentRead,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": DocumentRead, "description": "Nothing it states changed: the current one"}
    },
    summary="Issue the public notice (公示) of the call's approved projects as PDF",
)
async def issue_public_notice(
    call_id: UUID,
    response: Response,
    written: NewObjectsDep,
    objects: ObjectStoreDep,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> DocumentRead:
    issued = await DocumentService(session).issue_public_notice(
        manager, call_id, now, objects, written
    )
    return _issued(issued.document, issued.new, response)


@router.get(
    "/v1/projects/{project_id}/documents",
    response_model=Page[DocumentRead],
    summary="The project's issued documents, every version (who reads the project)",
)
async def list_project_documents(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, page: PageDep
) -> Page[DocumentRead]:
    offset = start_of(page)
    found = await DocumentService(session).of_project(
        principal, project_id, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit, document_read)


@router.get("/v1/documents/{document_id}", response_model=DocumentRead)
async def get_document(
    document_id: UUID, session: SessionDep, principal: CurrentPrincipal
) -> DocumentRead:
    return document_read(await DocumentService(session).readable(principal, document_id))


@router.get(
    "/v1/documents/{document_id}/pdf",
    response_class=Response,
    responses=PDF,
    summary="Download a document (the project's team, organization and program staff)",
)
async def download_document(
    document_id: UUID, session: SessionDep, principal: CurrentPrincipal, objects: ObjectStoreDep
) -> Response:
    document = await DocumentService(session).readable(principal, document_id)
    return await document_response(document, objects)


# --- public ----------------------------------------------------------------------------------


@router.get(
    "/v1/public/calls/{call_id}/public-notices",
    response_model=Page[PublicNotice],
    summary="The call's public notices (公示), every version (public, no login)",
)
async def list_public_notices(
    call_id: UUID, session: SessionDep, page: PageDep
) -> Page[PublicNotice]:
    offset = start_of(page)
    found = await DocumentService(session).public_notices(
        call_id, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit, public_notice)


@router.get(
    "/v1/public/documents/{document_id}/pdf",
    response_class=Response,
    responses=PDF,
    summary="Download a public notice (public, no login)",
)
async def download_public_notice(
    document_id: UUID, session: SessionDep, objects: ObjectStoreDep
) -> Response:
    document = await DocumentService(session).public(document_id)
    return await document_response(document, objects, public=True)


def _verification(sha256: str, found: tuple[IssuedDocument, int] | None) -> DocumentVerification:
    if found is None:
        return DocumentVerification(sha256=sha256, issued=False)
    document, current_version = found
    return DocumentVerification(
        sha256=sha256,
        issued=True,
        number=document.number,
        kind=document.kind,
        version=document.version,
        issued_on=document.issued_at.astimezone(SHANGHAI).date(),
        current=document.superseded_at is None,
        current_version=current_version,
    )


@router.get(
    "/v1/public/documents/verification",
    response_model=DocumentVerification,
    summary="Is the file with this SHA-256 a document we issued, and its current version? "
    "(public, no login)",
)
async def verify_hash(session: SessionDep, sha256: SHA256) -> DocumentVerification:
    digest = sha256.lower()
    return _verification(digest, await DocumentService(session).verify(digest))


@router.post(
    "/v1/public/documents/verification",
    response_model=DocumentVerification,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in ACCEPTED_TYPES
            },
        }
    },
    summary="Is this PDF (the request body, application/pdf or application/octet-stream) a "
    "document we issued, and its current version? "
    "(public, no login; the gateway limits it per client address)",
)
async def verify_copy(request: Request, session: SessionDep) -> DocumentVerification:
    digest = await sha256_of_body(request)
    return _verification(digest, await DocumentService(session).verify(digest))
