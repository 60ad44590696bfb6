"""Science and technology reports (科技报告): described, deposited, read; abstracts public."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status

from services.projects.auth import Applicant, NowDep, SettingsDep
from services.projects.models import TechReport
from services.projects.tech_reports.documents import (
    DOCUMENT_TYPES,
    DocumentForm,
    document_response,
)
from services.projects.tech_reports.repository import PublicReportFilter
from services.projects.tech_reports.schemas import (
    PublicTechReport,
    TechReportCreate,
    TechReportRead,
)
from services.projects.tech_reports.service import TechReportService, abstract_public
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep, SessionmakerDep
from shared.objectstore.requests import NewObjectsDep, ObjectStoreDep
from shared.pagination import Page, PageDep, next_cursor, start_of

router = APIRouter(prefix="/v1/projects/{project_id}/tech-reports", tags=["tech reports"])
public_router = APIRouter(prefix="/v1/public/tech-reports", tags=["disclosure"])

DOCUMENT_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def report_read(report: TechReport, now_public: bool) -> TechReportRead:
    fields = {
        name: getattr(report, name)
        for name in TechReportRead.model_fields
        if name != "abstract_public"
    }
    return TechReportRead.model_validate(fields | {"abstract_public": now_public})


@router.post(
    "",
    response_model=TechReportRead,
    status_code=status.HTTP_201_CREATED,
    summary="Describe an annual or final report: title, abstract, embargo (the PI)",
)
async def describe_report(
    project_id: UUID, data: TechReportCreate, session: SessionDep, pi: Applicant, now: NowDep
) -> TechReportRead:
    report = await TechReportService(session).create(pi, project_id, data, now)
    return report_read(report, False)


@router.put(
    "/{report_id}/document",
    response_model=TechReportRead,
    summary="Upload the report's PDF, which deposits it (multipart: file); never changed again",
    openapi_extra=DOCUMENT_FORM,
)
async def deposit_document(
    project_id: UUID,
    report_id: UUID,
    request: Request,
    written: NewObjectsDep,
    objects: ObjectStoreDep,
    session: SessionDep,
    pi: Applicant,
    settings: SettingsDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> TechReportRead:
    # Checked in a session of its own, closed while the file streams in.
    async with sessions() as checking:
        await TechReportService(checking).ensure_depositable(pi, project_id, report_id)
    form = DocumentForm(request, max_bytes=settings.attachment_max_bytes, accepted=DOCUMENT_TYPES)
    upload = await form.store_document(objects, project_id)
    written.add(upload.object_key)
    report = await TechReportService(session).deposit(pi, project_id, report_id, upload, now)
    return report_read(report, abstract_public(report, now))


@router.get("", response_model=Page[TechReportRead], summary="A project's reports (its readers)")
async def list_reports(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, page: PageDep, now: NowDep
) -> Page[TechReportRead]:
    offset = start_of(page)
    found = await TechReportService(session).of_project(
        principal, project_id, offset=offset, limit=page.limit + 1
    )
    return Page(
        items=[report_read(r, abstract_public(r, now)) for r in found[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/{report_id}", response_model=TechReportRead)
async def get_report(
    project_id: UUID, report_id: UUID, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> TechReportRead:
    report = await TechReportService(session).get(principal, project_id, report_id)
    return report_read(report, abstract_public(report, now))


@router.get(
    "/{report_id}/document",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="Download the deposited document (the project's readers, never the public)",
)
async def download_document(
    project_id: UUID,
    report_id: UUID,
    objects: ObjectStoreDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    report = await TechReportService(session).document(principal, project_id, report_id)
    return await document_response(report, objects)


@public_router.get(
    "",
    response_model=Page[PublicTechReport],
    summary="Abstracts of deposited reports whose embargo is over, newest first (public)",
)
async def public_reports(
    session: SessionDep,
    page: PageDep,
    now: NowDep,
    program: Annotated[
        str | None, Query(max_length=40, description="program or fund: its id or code (ZDYF)")
    ] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="deposited that year")] = None,
    project: Annotated[str | None, Query(max_length=30, description="a project number")] = None,
) -> Page[PublicTechReport]:
    search = PublicReportFilter(
        program=_program_ref((program or "").strip() or None),
        year=year,
        project_number=(project or "").strip() or None,
    )
    offset = start_of(page)
    found = await TechReportService(session).public(
        search, now, offset=offset, limit=page.limit + 1
    )
    return Page(items=found[: page.limit], next_cursor=next_cursor(offset, page.limit, len(found)))


@public_router.get(
    "/{report_id}",
    response_model=PublicTechReport,
    summary="One report's abstract, once its embargo is over (public)",
)
async def public_report(
    report_id: Annotated[UUID, Path()], session: SessionDep, now: NowDep
) -> PublicTechReport:
    return await TechReportService(session).public_one(report_id, now)


def _program_ref(text: str | None) -> UUID | str | None:
    if text is None:
        return None
    try:
        return UUID(text)
    except ValueError:
        return text
