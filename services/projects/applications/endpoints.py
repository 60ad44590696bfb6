"""Applications: drafts, versions, attachments, submission, endorsement, formal check."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response, status

from services.projects.applications.attachments import UploadForm
from services.projects.applications.budget import total as budget_total
from services.projects.applications.downloads import attachment_response
from services.projects.applications.repository import Labels
from services.projects.applications.schemas import (
    ApplicationCreate,
    ApplicationRead,
    ApplicationSave,
    ApplicationSummary,
    AttachmentRead,
    Endorsement,
    FormalCheckRead,
    FormalDecision,
    HistoryEntry,
    VersionRead,
    VersionSummary,
    Withdrawal,
)
from services.projects.applications.service import ApplicationService
from services.projects.auth import (
    Applicant,
    CreditDep,
    Drafter,
    Manager,
    NowDep,
    OrgAdmin,
    SettingsDep,
)
from services.projects.models import Application
from services.projects.visibility import Access
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep, SessionmakerDep
from shared.errors import PROBLEM_JSON
from shared.objectstore.requests import NewObjectsDep, ObjectStoreDep
from shared.pagination import (
    InvalidCursor,
    Page,
    PageDep,
    encode_cursor,
    page_of,
    start_of,
)

router = APIRouter(prefix="/v1/applications", tags=["applications"])

Status = Literal[
    "draft",
    "submitted",
    "returned",
    "endorsed",
    "in_review",
    "reviewed",
    "approved",
    "reserved",
    "rejected",
    "withdrawn",
]
UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["kind", "file"],
                    "properties": {
                        "kind": {
                            "type": "string",
                            "pattern": "^[a-z][a-z0-9_]{1,39}$",
                            "description": "e.g. feasibility_report (the call's required kinds)",
                        },
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


async def application_service(session: SessionDep) -> ApplicationService:
    return ApplicationService(session)


Applications = Annotated[ApplicationService, Depends(application_service)]
ApplicationId = Annotated[UUID, Path()]
# The summary's fields that are the application's own columns (the rest are its labels).
APPLICATION_COLUMNS = tuple(
    name for name in ApplicationSummary.model_fields if name not in ("call_title", "applicant_name")
)


def summary(
    application: Application,
    access: Access,
    labels: Labels,
    submitted: dict[str, Any] | None = None,
) -> ApplicationSummary:
    """The application as the caller is shown it: staff see the submitted version's title and
    budget, never a draft's."""
    shown = ApplicationSummary.model_validate(
        {
            **{name: getattr(application, name) for name in APPLICATION_COLUMNS},
            "call_title": labels.call_title,
            "applicant_name": labels.applicant_name,
        }
    )
    if access is Access.WHOLE or submitted is None:
        return shown
    return shown.model_copy(
        update={
            "version": application.submitted_version,
            "title": submitted.get("title", shown.title),
            "requested_budget_fen": budget_total(submitted.get("budget") or {}),
        }
    )


async def read_model(
    applications: ApplicationService, application: Application, access: Access = Access.WHOLE
) -> ApplicationRead:
    """The application with its latest formal check, and the content of its latest version
    (agency staff: of the version submitted)."""
    check = await applications.latest_check(application)
    version = application.version if access is Access.WHOLE else application.submitted_version
    content = await applications.content(application, version)
    labels = await applications.labels(application)
    return ApplicationRead.model_validate(
        {
            **summary(application, access, labels, content).model_dump(),
            "content": content,
            "formal_check": FormalCheckRead.model_validate(check) if check else None,
        }
    )


@router.post(
    "",
    response_model=ApplicationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Draft an application for an open call (version 1)",
)
async def create_application(
    data: ApplicationCreate, applications: Applications, applicant: Applicant, now: NowDep
) -> ApplicationRead:
    application = await applications.create(applicant, data, now)
    return await read_model(applications, application)


def _before(cursor: dict[str, Any] | None) -> UUID | None:
    if cursor is None:
        return None
    try:
        return UUID(str(cursor["before"]))
    except (KeyError, ValueError) as exc:
        raise InvalidCursor() from exc


@router.get(
    "", response_model=Page[ApplicationSummary], summary="The applications the caller may read"
)
async def list_applications(
    applications: Applications,
    principal: CurrentPrincipal,
    page: PageDep,
    call_id: UUID | None = None,
    status: Status | None = None,
) -> Page[ApplicationSummary]:
    before = _before(page.cursor)
    found = await applications.page(
        principal,
        call_id=call_id,
        status=status,
        before=before,
        offset=page.offset,
        limit=page.limit + 1,
    )
    shown = found[: page.limit]
    heads = await applications.submitted_heads(shown)
    items = [summary(a, access, labels, heads.get(a.id)) for a, access, labels in shown]
    more = len(found) > page.limit
    return Page[ApplicationSummary](
        items=items, next_cursor=encode_cursor({"before": items[-1].id}) if more else None
    )


@router.get("/{application_id}", response_model=ApplicationRead)
async def get_application(
    application_id: ApplicationId, applications: Applications, principal: CurrentPrincipal
) -> ApplicationRead:
    return await read_model(applications, *await applications.readable(principal, application_id))


@router.put(
    "/{application_id}",
    response_model=ApplicationRead,
    summary="Save a new version (draft or returned; base_version must be the latest)",
)
async def save_application(
    application_id: ApplicationId,
    data: ApplicationSave,
    applications: Applications,
    drafter: Drafter,
    now: NowDep,
) -> ApplicationRead:
    application = await applications.save(drafter, application_id, data, now)
    return await read_model(applications, application)


@router.get(
    "/{application_id}/versions",
    response_model=Page[VersionSummary],
    summary="Its versions, oldest first (agency staff: those submitted)",
)
async def list_versions(
    application_id: ApplicationId,
    applications: Applications,
    principal: CurrentPrincipal,
    page: PageDep,
) -> Page[VersionSummary]:
    offset = start_of(page)
    found = await applications.versions(
        principal, application_id, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit, VersionSummary.model_validate)


@router.get("/{application_id}/versions/{number}", response_model=VersionRead)
async def get_version(
    application_id: ApplicationId,
    number: Annotated[int, Path(ge=1)],
    applications: Applications,
    principal: CurrentPrincipal,
) -> VersionRead:
    return VersionRead.model_validate(await applications.version(principal, application_id, number))


@router.get(
    "/{application_id}/history",
    response_model=Page[HistoryEntry],
    summary="Every state change of the application and the project it became",
)
async def get_history(
    application_id: ApplicationId,
    applications: Applications,
    principal: CurrentPrincipal,
    page: PageDep,
) -> Page[HistoryEntry]:
    offset = start_of(page)
    found = await applications.story(principal, application_id, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, HistoryEntry.model_validate)


@router.post(
    "/{application_id}/attachments",
    response_model=AttachmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Upload an attachment (multipart: kind, file)",
    openapi_extra=UPLOAD_FORM,
)
async def upload_attachment(
    application_id: ApplicationId,
    request: Request,
    written: NewObjectsDep,
    objects: ObjectStoreDep,
    applications: Applications,
    drafter: Drafter,
    settings: SettingsDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> AttachmentRead:
    # Checked in a session of its own, closed while the file streams in: no connection or
    # transaction is held for as long as a client takes to send 20 MB.
    async with sessions() as checking:
        await ApplicationService(checking).ensure_attachable(drafter, application_id, now)
    form = UploadForm(
        request, max_bytes=settings.attachment_max_bytes, accepted=settings.attachment_types
    )
    upload = await form.store(objects, application_id)
    written.add(upload.object_key)
    attachment = await applications.attach(drafter, application_id, upload, now)
    return AttachmentRead.model_validate(attachment)


@router.get(
    "/{application_id}/attachments",
    response_model=Page[AttachmentRead],
    summary="Its attachments (agency staff: those of the submitted versions; an assigned "
    "expert: those of the version under review)",
)
async def list_attachments(
    application_id: ApplicationId,
    applications: Applications,
    principal: CurrentPrincipal,
    page: PageDep,
) -> Page[AttachmentRead]:
    offset = start_of(page)
    found = await applications.attachments(
        principal, application_id, offset=offset, limit=page.limit + 1
    )
    return page_of(found, offset, page.limit, AttachmentRead.model_validate)


@router.get(
    "/{application_id}/attachments/{attachment_id}",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {
            "description": "The byte range asked for (`Range: bytes=first-last`)",
            "content": {"application/octet-stream": {}},
        },
        416: {
            "description": "The range starts past the end of the file",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        },
    },
    summary="Download an attachment (streamed; one byte range with `Range`)",
)
async def download_attachment(
    application_id: ApplicationId,
    attachment_id: UUID,
    request: Request,
    objects: ObjectStoreDep,
    applications: Applications,
    principal: CurrentPrincipal,
) -> Response:
    attachment = await applications.attachment(principal, application_id, attachment_id)
    return await attachment_response(attachment, objects, request.headers)


@router.delete(
    "/{application_id}/attachments/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an attachment of a draft that no longer lists it (nor ever submitted it)",
)
async def delete_attachment(
    application_id: ApplicationId,
    attachment_id: UUID,
    objects: ObjectStoreDep,
    background: BackgroundTasks,
    applications: Applications,
    drafter: Drafter,
) -> Response:
    removed = await applications.remove_attachment(drafter, application_id, attachment_id)
    # The file goes once the row's removal is committed (tasks run after the response,
    # which is sent after the commit): a failed commit leaves both as they were.
    if removed.object_key is not None:
        background.add_task(objects.delete, removed.object_key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{application_id}/submit",
    response_model=ApplicationRead,
    summary="Submit the latest version before the close (a retry changes nothing)",
)
async def submit(
    application_id: ApplicationId, applications: Applications, applicant: Applicant, now: NowDep
) -> ApplicationRead:
    application = await applications.submit(applicant, application_id, now)
    return await read_model(applications, application)


@router.post(
    "/{application_id}/withdraw",
    response_model=ApplicationRead,
    summary="Withdraw, at any time before a decision",
)
async def withdraw(
    application_id: ApplicationId,
    data: Withdrawal,
    applications: Applications,
    applicant: Applicant,
    now: NowDep,
) -> ApplicationRead:
    application = await applications.withdraw(applicant, application_id, data.reason, now)
    return await read_model(applications, application)


@router.post(
    "/{application_id}/endorsement",
    response_model=ApplicationRead,
    summary="The organization endorses (the formal check runs) or returns with reasons",
)
async def endorse(
    application_id: ApplicationId,
    data: Endorsement,
    applications: Applications,
    org_admin: OrgAdmin,
    now: NowDep,
    credit: CreditDep,
    sessions: SessionmakerDep,
) -> ApplicationRead:
    application = await applications.endorse(org_admin, application_id, data, now, credit, sessions)
    return await read_model(applications, application)


@router.get("/{application_id}/formal-check", response_model=FormalCheckRead)
async def get_formal_check(
    application_id: ApplicationId, applications: Applications, principal: CurrentPrincipal
) -> FormalCheckRead:
    return FormalCheckRead.model_validate(
        await applications.formal_check(principal, application_id)
    )


@router.post(
    "/{application_id}/formal-check/rerun",
    response_model=FormalCheckRead,
    summary="Run the automatic rules again (e.g. after the credit service was down)",
)
async def rerun_formal_check(
    application_id: ApplicationId,
    applications: Applications,
    manager: Manager,
    credit: CreditDep,
    sessions: SessionmakerDep,
    now: NowDep,
) -> FormalCheckRead:
    return FormalCheckRead.model_validate(
        await applications.rerun_check(manager, application_id, credit, sessions, now)
    )


@router.post(
    "/{application_id}/formal-check/decision",
    response_model=ApplicationRead,
    summary="Pass (every rule passed) to review, or return to the applicant",
)
async def decide_formal_check(
    application_id: ApplicationId,
    data: FormalDecision,
    applications: Applications,
    manager: Manager,
    now: NowDep,
) -> ApplicationRead:
    application = await applications.decide_check(manager, application_id, data, now)
    return await read_model(applications, application)
