"""Running projects: task book, reports, changes, acceptance, termination."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, status

from services.projects.auth import Applicant, CreditDep, Manager, NowDep
from services.projects.execution.changes import ChangeService
from services.projects.execution.reports import ReportService, report_read
from services.projects.execution.schemas import (
    ChangeCreate,
    ChangeDecision,
    ChangeRead,
    ProjectDetail,
    ProjectRead,
    ReportCreate,
    ReportRead,
    ReportReview,
    TaskBookRead,
    TaskBookWrite,
    TerminationRequest,
    TransitionRead,
)
from services.projects.execution.service import ProjectService
from services.projects.execution.termination import TerminationService
from services.projects.models import Project, TaskBook
from services.projects.models.lifecycle import ProjectStatus
from services.projects.reporting.standing import credit_standing
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep, SessionmakerDep
from shared.pagination import Page, PageDep, next_cursor, page_of, start_of

router = APIRouter(prefix="/v1/projects", tags=["projects"])


def _fields(project: Project, status: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {name: getattr(project, name) for name in ProjectRead.model_fields}
    if status is not None:
        fields["status"] = status
    return fields


def project_read(project: Project, status: str | None = None) -> ProjectRead:
    """The project as shown; `status`, when given, is the one it is shown in (see reads)."""
    return ProjectRead.model_validate(_fields(project, status))


def project_detail(
    project: Project, book: TaskBook | None, status: str | None = None
) -> ProjectDetail:
    fields = _fields(project, status)
    fields["task_book"] = TaskBookRead.model_validate(book) if book else None
    return ProjectDetail.model_validate(fields)


@router.get(
    "",
    response_model=Page[ProjectRead],
    summary="Projects the caller may read (a notice run out with no open objection shows "
    "as awaiting_contract)",
)
async def list_projects(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageDep,
    now: NowDep,
    program_id: UUID | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    status: ProjectStatus | None = None,
) -> Page[ProjectRead]:
    offset = start_of(page)
    found = await ProjectService(session).search(
        principal,
        now=now,
        program_id=program_id,
        year=year,
        status=status,
        limit=page.limit + 1,
        offset=offset,
    )
    return Page[ProjectRead](
        items=[project_read(p, shown) for p, shown in found[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/{project_id}", response_model=ProjectDetail, summary="A project and its task book")
async def get_project(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> ProjectDetail:
    return project_detail(*await ProjectService(session).get(principal, project_id, now))


@router.get(
    "/{project_id}/history",
    response_model=Page[TransitionRead],
    summary="The whole story, from the application to today",
)
async def project_history(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, page: PageDep
) -> Page[TransitionRead]:
    offset = start_of(page)
    story = await ProjectService(session).history(
        principal, project_id, offset=offset, limit=page.limit + 1
    )
    return page_of(story, offset, page.limit, TransitionRead.model_validate)


# --- task book -------------------------------------------------------------------------------


@router.put(
    "/{project_id}/task-book",
    response_model=ProjectDetail,
    summary="Draft or redraft the task book (agency; before anyone signs)",
)
async def draft_task_book(
    project_id: UUID, data: TaskBookWrite, session: SessionDep, manager: Manager, now: NowDep
) -> ProjectDetail:
    project, book = await ProjectService(session).draft_task_book(manager, project_id, data, now)
    return project_detail(project, book)


@router.post(
    "/{project_id}/task-book/sign",
    response_model=ProjectDetail,
    summary="Sign for the organization (its admin) or for the agency (a program manager)",
)
async def sign_task_book(
    project_id: UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    now: NowDep,
    credit: CreditDep,
    sessions: SessionmakerDep,
) -> ProjectDetail:
    # Credit is asked first, holding nothing: the schedule of reports follows its level.
    standing = await credit_standing(credit, sessions, project_id, now)
    project, book = await ProjectService(session).sign(principal, project_id, now, standing)
    return project_detail(project, book)


# --- reports and acceptance ------------------------------------------------------------------


@router.post(
    "/{project_id}/reports",
    response_model=ReportRead,
    status_code=status.HTTP_201_CREATED,
    summary="File an annual, mid-term or final report (the PI)",
)
async def file_report(
    project_id: UUID, data: ReportCreate, session: SessionDep, pi: Applicant, now: NowDep
) -> ReportRead:
    report, promised = await ReportService(session).file(pi, project_id, data, now)
    return report_read(report, promised)


@router.get(
    "/{project_id}/reports",
    response_model=Page[ReportRead],
    summary="A project's reports, each final one with its acceptance round's aggregated score",
)
async def list_reports(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, page: PageDep
) -> Page[ReportRead]:
    offset = start_of(page)
    reports, promised, reviews = await ReportService(session).of_project(
        principal, project_id, offset=offset, limit=page.limit + 1
    )
    return Page(
        items=[report_read(r, promised, reviews.get(r.id)) for r in reports[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(reports)),
    )


@router.post(
    "/{project_id}/reports/{report_id}/review",
    response_model=ReportRead,
    summary="Review a report; the final report's review is the acceptance (验收)",
)
async def review_report(
    project_id: UUID,
    report_id: UUID,
    data: ReportReview,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> ReportRead:
    report, promised, expert_review = await ReportService(session).review(
        manager, project_id, report_id, data, now
    )
    return report_read(report, promised, expert_review)


# --- change requests -------------------------------------------------------------------------


@router.post(
    "/{project_id}/changes",
    response_model=ChangeRead,
    status_code=status.HTTP_201_CREATED,
    summary="Ask for an extension, a new PI or a budget reallocation (the PI)",
)
async def request_change(
    project_id: UUID,
    data: Annotated[ChangeCreate, Body()],
    session: SessionDep,
    pi: Applicant,
    now: NowDep,
) -> ChangeRead:
    return ChangeRead.model_validate(
        await ChangeService(session).request(pi, project_id, data, now)
    )


@router.get("/{project_id}/changes", response_model=Page[ChangeRead])
async def list_changes(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, page: PageDep
) -> Page[ChangeRead]:
    offset = start_of(page)
    changes = await ChangeService(session).of_project(
        principal, project_id, offset=offset, limit=page.limit + 1
    )
    return page_of(changes, offset, page.limit, ChangeRead.model_validate)


@router.post(
    "/{project_id}/changes/{change_id}/decision",
    response_model=ChangeRead,
    summary="Approve (and apply) or reject a change request",
)
async def decide_change(
    project_id: UUID,
    change_id: UUID,
    data: ChangeDecision,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> ChangeRead:
    return ChangeRead.model_validate(
        await ChangeService(session).decide(manager, project_id, change_id, data, now)
    )


# --- termination -----------------------------------------------------------------------------


@router.post(
    "/{project_id}/termination",
    response_model=ProjectRead,
    summary="Terminate for misconduct, inability or on request",
)
async def terminate_project(
    project_id: UUID,
    data: TerminationRequest,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> ProjectRead:
    return project_read(await TerminationService(session).terminate(manager, project_id, data, now))
