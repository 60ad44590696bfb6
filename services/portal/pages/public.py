"""The public's pages, no login needed: open calls and their rules, funded projects (search and
CSV export), and the public notices (拟立项公示) of proposed projects.

Anyone may object to a project in notice, under their real name (实名异议): a visitor gives
their name, a phone number or e-mail address and optionally their organization; a logged-in
person objects under their account. Only the agency learns who objected, never the PI.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from starlette.responses import Response, StreamingResponse

from services.portal.api import ApiProblem
from services.portal.i18n import SHANGHAI, local_time, parse_datetime
from services.portal.people import LoginRequired, Person, Visitor, person, visitor
from services.portal.projects_csv import EXPORT_MOST, EXPORT_PAGE, stream_projects
from services.portal.rendering import redirect, render

router = APIRouter(prefix="/public")

CALLS = "/api/projects/v1/calls"
PROGRAMS = "/api/projects/v1/programs"
PROJECTS = "/api/projects/v1/public/projects"
PAGE_SIZE = 20
# The search's filters, passed to the API as typed: its answer to a bad one (a year of "abc")
# is shown next to that field.
FILTERS = ("q", "year", "program", "organization", "status")
Cursor = Annotated[str | None, Query(max_length=500)]

STATUS_LABELS = {
    "in_notice": ("公示中", "In public notice"),
    "awaiting_contract": ("待签订任务书", "Awaiting its task book"),
    "in_progress": ("执行中", "In progress"),
    "accepted": ("已验收", "Accepted"),
    "acceptance_failed": ("验收未通过", "Failed acceptance"),
    "terminated": ("已终止", "Terminated"),
}
CALL_STATUSES = {
    "open": ("正在受理", "Open"),
    "upcoming": ("即将开始", "Upcoming"),
    "closed": ("已截止", "Closed"),
}
ORG_KINDS = {
    "university": ("高等院校", "University"),
    "research_institute": ("科研院所", "Research institute"),
    "enterprise": ("企业", "Enterprise"),
    "hospital": ("医疗机构", "Hospital"),
    "agency": ("事业单位", "Public agency"),
    "government": ("政府部门", "Government body"),
    "other": ("其他", "Other"),
}
# Attachment kinds are codes a program chooses; the usual ones read as words, others as codes.
ATTACHMENT_LABELS = {
    "feasibility_report": ("可行性研究报告", "Feasibility report"),
    "budget_justification": ("经费预算说明", "Budget justification"),
    "ethics_approval": ("伦理审查意见", "Ethics approval"),
    "cooperation_agreement": ("合作协议", "Cooperation agreement"),
    "org_commitment": ("单位承诺书", "Organization's commitment"),
}


async def anyone(request: Request) -> Visitor:
    """The logged-in person if there is one (their own menu), otherwise a visitor."""
    try:
        return await person(request)
    except LoginRequired:
        return await visitor(request)


AnyoneDep = Annotated[Visitor, Depends(anyone)]


def _labeller(v: Visitor, labels: dict[str, tuple[str, str]]) -> Callable[[str], str]:
    def label(code: str) -> str:
        found = labels.get(code)
        return v.t(*found) if found else code

    return label


def _labels(v: Visitor) -> dict[str, Any]:
    return {
        "status_label": _labeller(v, STATUS_LABELS),
        "org_kind_label": _labeller(v, ORG_KINDS),
        "attachment_label": _labeller(v, ATTACHMENT_LABELS),
        "call_statuses": CALL_STATUSES,
        "project_statuses": STATUS_LABELS,
    }


# --- open calls ------------------------------------------------------------------------------


@router.get("/calls")
async def calls(
    v: AnyoneDep,
    status: Literal["open", "upcoming", "closed"] = "open",
    cursor: Cursor = None,
) -> Response:
    page = await v.api.get(CALLS, status=status, cursor=cursor, limit=PAGE_SIZE)
    return render(v, "public/calls.html", page=page, status=status, **_labels(v))


@router.get("/calls/{call_id}")
async def call(v: AnyoneDep, call_id: UUID) -> Response:
    found = await v.api.get(f"{CALLS}/{call_id}")
    return render(v, "public/call.html", call=found, **_labels(v))


# --- funded projects -------------------------------------------------------------------------


def _filters(request: Request) -> dict[str, str]:
    """The search's filters as typed (blank ones left out)."""
    query = request.query_params
    return {name: query[name].strip()[:200] for name in FILTERS if query.get(name, "").strip()}


@router.get("/projects")
async def projects(request: Request, v: AnyoneDep, cursor: Cursor = None) -> Response:
    filters = _filters(request)
    programs = await v.api.all_pages(PROGRAMS, most=500)
    context = {
        "filters": filters,
        "programs": programs,
        "query": urlencode(filters),
        "export_most": EXPORT_MOST,
        **_labels(v),
    }
    try:
        page = await v.api.get(PROJECTS, cursor=cursor, limit=PAGE_SIZE, **filters)
    except ApiProblem as problem:
        if problem.status != 422:
            raise
        return render(
            v, "public/projects.html", status_code=422, problem=problem, page=None, **context
        )
    return render(v, "public/projects.html", page=page, **context)


@router.get("/projects/export")
async def export_projects(request: Request, v: AnyoneDep) -> Response:
    """Every project the filters match (up to EXPORT_MOST), as a CSV file in the page's language."""
    filters = _filters(request)
    first = await v.api.get(PROJECTS, limit=EXPORT_PAGE, **filters)
    stamp = datetime.now(SHANGHAI).strftime("%Y%m%d")
    return StreamingResponse(
        stream_projects(v.api, PROJECTS, filters, first, v.lang, v.t, _labeller(v, STATUS_LABELS)),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="funded-projects-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


# --- public notices and objections -----------------------------------------------------------


def _notices(running: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Projects in notice grouped into the notices of their calls, the soonest to end first."""
    by_call: dict[str, dict[str, Any]] = {}
    for project in running:
        notice = by_call.setdefault(
            project["call_id"],
            {
                "call_id": project["call_id"],
                "call_title": project["call_title"],
                "program_name_zh": project["program_name_zh"],
                "program_name_en": project["program_name_en"],
                "year": project["year"],
                "starts_at": project["notice_starts_at"],
                "ends_at": project["notice_ends_at"],
                "projects": 0,
            },
        )
        notice["projects"] += 1
        notice["starts_at"] = min(notice["starts_at"], project["notice_starts_at"], key=_moment)
        notice["ends_at"] = max(notice["ends_at"], project["notice_ends_at"], key=_moment)
    return sorted(by_call.values(), key=lambda n: _moment(n["ends_at"]))


def _moment(value: str) -> datetime:
    moment = parse_datetime(value)
    assert moment is not None  # the API states every notice's start and end
    return moment


@router.get("/notices")
async def notices(v: AnyoneDep) -> Response:
    running = await v.api.all_pages(PROJECTS, notice_running=True)
    return render(v, "public/notices.html", notices=_notices(running))


@router.get("/notices/{call_id}")
async def notice(v: AnyoneDep, call_id: UUID) -> Response:
    found = await v.api.get(f"{CALLS}/{call_id}")
    running = await v.api.all_pages(PROJECTS, call=call_id, notice_running=True)
    return render(
        v,
        "public/notice.html",
        call=found,
        projects=running,
        notice=next(iter(_notices(running)), None),
        **_labels(v),
    )


def _objection_path(call_id: UUID, number: str) -> str:
    return f"/public/notices/{call_id}/{number}/objection"


async def _in_notice(p: Visitor, call_id: UUID, number: str) -> dict[str, Any]:
    """The project, and whether its notice still runs (objections are taken until its end)."""
    project: dict[str, Any] = await p.api.get(f"{PROJECTS}/{number}")
    if project["call_id"] != str(call_id):
        raise ApiProblem(404, {"title": p.t("没有这个项目", "No such project")})
    project["open_for_objections"] = project["status"] == "in_notice" and datetime.now(
        UTC
    ) < _moment(project["notice_ends_at"])
    return project


ObjectionNumber = Annotated[str, Path(max_length=30)]
Typed = Annotated[str, Form(max_length=5000)]


@router.get("/notices/{call_id}/{number}/objection")
async def objection_form(v: AnyoneDep, call_id: UUID, number: ObjectionNumber) -> Response:
    project = await _in_notice(v, call_id, number)
    return render(v, "public/objection.html", project=project, typed={}, **_labels(v))


@router.post("/notices/{call_id}/{number}/objection")
async def lodge_objection(
    v: AnyoneDep,
    call_id: UUID,
    number: ObjectionNumber,
    reasons: Typed = "",
    name: Typed = "",
    contact: Typed = "",
    organization: Typed = "",
) -> Response:
    """Under the person's account when logged in; otherwise under the name and contact typed."""
    project = await _in_notice(v, call_id, number)
    typed = {"reasons": reasons, "name": name, "contact": contact, "organization": organization}
    try:
        if isinstance(v, Person):
            filed = await v.api.post(
                f"/api/projects/v1/projects/{project['id']}/objections", {"reasons": reasons}
            )
        else:
            filed = await v.api.post(
                f"/api/projects/v1/public/projects/{project['id']}/objections", typed
            )
    except ApiProblem as problem:
        return render(
            v,
            "public/objection.html",
            status_code=problem.status,
            problem=problem,
            project=project,
            typed=typed,
            **_labels(v),
        )
    when = local_time(filed["filed_at"])
    reference = filed["id"]
    if isinstance(v, Person):
        told = (
            "管理机构核查后将通过站内消息告知处理结果。",
            "The agency will look into it and tell you the outcome in your inbox.",
        )
    else:
        told = (
            "管理机构将核查，必要时通过您留下的联系方式与您联系。",
            "The agency will look into it and, if need be, reach you at the contact you gave.",
        )
    return redirect(
        f"/public/notices/{call_id}",
        (
            f"您对项目 {number} 的异议已于 {when} 提交，受理编号 {reference}。{told[0]}",
            f"Your objection to project {number} was lodged at {when}, reference {reference}. "
            + told[1],
        ),
    )
