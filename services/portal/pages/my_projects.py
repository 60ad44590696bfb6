"""My projects (a PI's, a team member's, or my organization's as its administrator): the task
book and its signatures, reports and their reviews, change requests; the organization signs the
task book here and the PI files reports."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form
from starlette.responses import Response

from services.portal.api import ApiProblem
from services.portal.people import Person, PersonDep
from services.portal.rendering import redirect, render

router = APIRouter()
PROJECTS = "/api/projects/v1"
REPORT_KINDS = ("annual", "midterm", "final")


@router.get("/projects/mine")
async def my_projects(p: PersonDep, cursor: str | None = None) -> Response:
    page = await p.api.get(f"{PROJECTS}/projects", limit=30, cursor=cursor)
    return render(p, "my_projects/list.html", page=page)


async def _project_page(
    p: Person, project_id: UUID, problem: ApiProblem | None = None, **typed: str
) -> Response:
    base = f"{PROJECTS}/projects/{project_id}"
    project = await p.api.get(base)
    reports = await p.api.all_pages(f"{base}/reports", most=200)
    changes = await p.api.all_pages(f"{base}/changes", most=200)
    book = project.get("task_book")
    return render(
        p,
        "my_projects/one.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        project=project,
        book=book,
        reports=reports,
        changes=changes,
        may_sign=bool(
            book
            and not book["org_signed_at"]
            and p.has("org_admin")
            and p.org_id == project["org_id"]
        ),
        is_pi=project["pi_id"] == p.user_id,
        report_kinds=REPORT_KINDS,
        typed=typed,
    )


@router.get("/projects/mine/{project_id}")
async def project_page(p: PersonDep, project_id: UUID) -> Response:
    return await _project_page(p, project_id)


@router.post("/projects/mine/{project_id}/sign")
async def sign_task_book(p: PersonDep, project_id: UUID) -> Response:
    """Signs the task book for the organization; the API says whether the caller may, and when."""
    try:
        await p.api.post(f"{PROJECTS}/projects/{project_id}/task-book/sign")
    except ApiProblem as problem:
        return await _project_page(p, project_id, problem)
    return redirect(
        f"/projects/mine/{project_id}", ("任务书已签署", "Task book signed for the organization")
    )


@router.post("/projects/mine/{project_id}/reports")
async def file_report(
    p: PersonDep,
    project_id: UUID,
    kind: Annotated[str, Form(max_length=20)] = "",
    period: Annotated[str, Form(max_length=20)] = "",
    summary: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    body = {"kind": kind, "period": period or None, "content": {"summary": summary}}
    try:
        await p.api.post(f"{PROJECTS}/projects/{project_id}/reports", body)
    except ApiProblem as problem:
        return await _project_page(
            p, project_id, problem, kind=kind, period=period, summary=summary
        )
    return redirect(f"/projects/mine/{project_id}", ("报告已提交", "Report filed"))
