"""A review expert's pages: my assignments, declining one or declaring a conflict of interest,
the application under review with its attachments, and the score sheet, saved as a draft while
the expert types and submitted once.

Everything comes from the projects service, which decides what an expert may read: only their
own live, conflict-free assignments, the version under review and the attachments it lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from services.portal.api import ApiProblem
from services.portal.i18n import SHANGHAI, parse_datetime
from services.portal.people import Person, PersonDep
from services.portal.rendering import redirect, render

router = APIRouter()
API = "/api/projects/v1"
LIST = "/expert/assignments"
# Opened in the browser (an <iframe> or a tab); anything else is downloaded. Never SVG or HTML:
# those could run script on the portal's origin.
SHOWN_INLINE = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
# What a shown attachment may do: display itself, nothing more.
ATTACHMENT_CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; "
    "frame-ancestors 'self'"
)
RECOMMENDATIONS = ("strongly_support", "support", "neutral", "oppose")
EMPTY_SHEET: dict[str, Any] = {
    "scores": {},
    "comments": {},
    "overall_comment": "",
    "recommendation": None,
}
Reason = Annotated[str, Form(max_length=2000)]


@dataclass(frozen=True)
class Row:
    """One line of my assignments: live (to score, draft, submitted) or declined."""

    id: str
    call_title: str
    application_title: str
    deadline: datetime
    state: str  # invited, to_score, draft, reopened, submitted, declined, conflict
    overdue: bool
    round_state: str | None
    item: dict[str, Any]


def _state(item: dict[str, Any]) -> str:
    sheet = item.get("sheet")
    if sheet and sheet["status"] == "submitted":
        return "submitted"
    if sheet:
        return "reopened" if sheet.get("reopened_at") else "draft"
    return "invited" if item["status"] == "invited" else "to_score"


def _deadline(item: dict[str, Any]) -> datetime:
    moment = parse_datetime(item["deadline"])
    assert moment is not None  # the API always states it
    return moment


def rows_of(live: list[dict[str, Any]], declined: list[dict[str, Any]]) -> list[Row]:
    """Every assignment of mine, by deadline; open work past its deadline is overdue."""
    now = datetime.now(UTC)
    rows = []
    for item in live:
        state = _state(item)
        rows.append(
            Row(
                id=item["id"],
                call_title=item["call_title"],
                application_title=item["application"]["title"],
                deadline=_deadline(item),
                state=state,
                overdue=state != "submitted" and _deadline(item) < now,
                round_state=item["round_state"],
                item=item,
            )
        )
    for item in declined:
        rows.append(
            Row(
                id=item["id"],
                call_title=item["call_title"],
                application_title=item["application_title"],
                deadline=_deadline(item),
                state="conflict" if item["conflict_declared"] else "declined",
                overdue=False,
                round_state=None,
                item=item,
            )
        )
    return sorted(rows, key=lambda row: (row.deadline, row.application_title))


def clock(value: str | None) -> str:
    """`14:05`: when something happened today, as the expert reads their watch."""
    moment = parse_datetime(value)
    return moment.astimezone(SHANGHAI).strftime("%H:%M") if moment else ""


async def _assignment(p: Person, assignment_id: UUID) -> dict[str, Any]:
    found: dict[str, Any] = await p.api.get(f"{API}/me/assignments/{assignment_id}")
    return found


# --- my assignments ----------------------------------------------------------------------------


@router.get(LIST)
async def assignments(p: PersonDep) -> Response:
    live = await p.api.all_pages(f"{API}/me/assignments")
    declined = await p.api.all_pages(f"{API}/me/declined-assignments")
    return render(p, "expert/assignments.html", rows=rows_of(live, declined))


@router.post(LIST + "/{assignment_id}/accept")
async def accept(p: PersonDep, assignment_id: UUID) -> Response:
    await p.api.post(f"{API}/assignments/{assignment_id}/accept")
    return redirect(
        f"{LIST}/{assignment_id}/sheet",
        ("已接受评审任务，可以开始评分", "Assignment accepted: you can score it now"),
    )


@router.get(LIST + "/{assignment_id}/decline")
async def decline_page(p: PersonDep, assignment_id: UUID) -> Response:
    item = await _assignment(p, assignment_id)
    return render(p, "expert/decline.html", item=item, failed="", reason="")


@router.post(LIST + "/{assignment_id}/decline")
async def decline(
    p: PersonDep,
    assignment_id: UUID,
    reason: Reason = "",
    conflict: Annotated[bool, Form()] = False,
) -> Response:
    try:
        await p.api.post(
            f"{API}/assignments/{assignment_id}/decline", {"reason": reason, "conflict": conflict}
        )
    except ApiProblem as problem:
        item = await _assignment(p, assignment_id)
        return render(
            p,
            "expert/decline.html",
            status_code=problem.status,
            problem=problem,
            item=item,
            failed="conflict" if conflict else "decline",
            reason=reason,
        )
    if conflict:
        said = (
            "已申报利益冲突并回避，该任务已从您的待评列表中移除",
            "Conflict of interest declared: the assignment left your list to score",
        )
    else:
        said = ("已谢绝该评审任务", "Assignment declined")
    return redirect(LIST, said)


# --- the application under review --------------------------------------------------------------


@router.get(LIST + "/{assignment_id}")
async def application(p: PersonDep, assignment_id: UUID, preview: UUID | None = None) -> Response:
    item = await _assignment(p, assignment_id)
    application_id = item["application"]["id"]
    attachments = await p.api.all_pages(f"{API}/applications/{application_id}/attachments")
    previewed = next((a for a in attachments if a["id"] == str(preview)), None)
    return render(
        p,
        "expert/application.html",
        item=item,
        attachments=attachments,
        previewed=previewed,
        inline_types=SHOWN_INLINE,
    )


@router.get("/expert/applications/{application_id}/attachments/{attachment_id}")
async def attachment(
    p: PersonDep, application_id: UUID, attachment_id: UUID, download: bool = False
) -> Response:
    """The file as the API gives it to this expert, shown in the browser when it is a PDF or an
    image (for the preview), downloaded otherwise or on request."""
    upstream, body = await p.api.stream(
        f"{API}/applications/{application_id}/attachments/{attachment_id}"
    )
    content_type = upstream.headers.get("content-type", "application/octet-stream")
    named = upstream.headers.get("content-disposition", "attachment").split(";", 1)
    shown = content_type.split(";")[0].strip().lower() in SHOWN_INLINE and not download
    headers = {
        "Content-Disposition": ("inline" if shown else "attachment")
        + (";" + named[1] if len(named) > 1 else ""),
        "Content-Security-Policy": ATTACHMENT_CSP,
        "Cache-Control": "private, no-store",
    }
    if "content-length" in upstream.headers:
        headers["Content-Length"] = upstream.headers["content-length"]
    return StreamingResponse(
        body, media_type=content_type, headers=headers, background=BackgroundTask(upstream.aclose)
    )


# --- the score sheet ---------------------------------------------------------------------------


def _sheet_body(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The sheet as the API takes it from the form's fields (`score_<code>`, `comment_<code>`,
    `overall_comment`, `recommendation`), and the scores that are not whole numbers."""
    scores: dict[str, int] = {}
    comments: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, value in form.items():
        text = value.strip()
        if name.startswith("score_") and text:
            try:
                scores[name.removeprefix("score_")] = int(text)
            except ValueError:
                errors[name] = text
        elif name.startswith("comment_") and text:
            comments[name.removeprefix("comment_")] = text
    recommendation = form.get("recommendation") or None
    body = {
        "scores": scores,
        "comments": comments,
        "overall_comment": form.get("overall_comment", "").strip(),
        "recommendation": recommendation if recommendation in RECOMMENDATIONS else None,
    }
    return body, errors


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def _criteria(item: dict[str, Any]) -> list[dict[str, Any]]:
    criteria: list[dict[str, Any]] = item["review_template"].get("criteria", [])
    return criteria


def sheet_errors(
    p: Person, problem: ApiProblem, item: dict[str, Any], typed: dict[str, Any]
) -> dict[str, str]:
    """The API's verdict on a sheet, as a message under each field it names."""
    t = p.t
    names = {c["code"]: c["name"] for c in _criteria(item)}
    minimum = item["comment_min_length"]
    errors: dict[str, str] = {}
    for path in problem.problem.get("missing") or []:
        part, _, code = str(path).partition(".")
        if part == "scores":
            errors[f"score_{code}"] = t("请为此项打分", "Score this criterion")
        elif part == "comments":
            have = len(str(typed["comments"].get(code, "")).strip())
            errors[f"comment_{code}"] = t(
                f"评审意见至少 {minimum} 个字（现有 {have} 个）",
                f"The comment needs at least {minimum} characters ({have} so far)",
            )
        elif part == "overall_comment":
            errors["overall_comment"] = t("请填写综合评价", "Write an overall assessment")
        elif part == "recommendation":
            errors["recommendation"] = t("请选择推荐意见", "Choose a recommendation")
    for misfit in problem.problem.get("problems") or []:
        part, _, code = str(misfit.get("field", "")).partition(".")
        field = f"score_{code}" if part == "scores" else f"comment_{code}"
        if misfit.get("problem") == "out_of_range":
            errors[field] = t(
                f"{names.get(code, code)}的分数应在 {misfit['min']}–{misfit['max']} 之间",
                f"{names.get(code, code)}: a score from {misfit['min']} to {misfit['max']}",
            )
        else:
            errors[field] = t("评审模板中没有此项", "Not a criterion of the review template")
    return errors


def _typed_errors(p: Person, bad: dict[str, str]) -> dict[str, str]:
    return {name: p.t("分数应为整数", "A score is a whole number") for name in bad}


async def _sheet(p: Person, assignment_id: UUID, item: dict[str, Any]) -> dict[str, Any] | None:
    """My sheet as saved, if there is one (only an accepted assignment has one)."""
    if item["status"] != "accepted" or item.get("sheet") is None:
        return None
    found: dict[str, Any] = await p.api.get(f"{API}/assignments/{assignment_id}/sheet")
    return found


def _sheet_page(
    p: Person,
    item: dict[str, Any],
    sheet: dict[str, Any] | None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    problem: ApiProblem | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    submitted = sheet is not None and sheet["status"] == "submitted"
    return render(
        p,
        "expert/sheet.html",
        status_code=status_code,
        problem=problem,
        errors=errors or {},
        item=item,
        sheet=sheet,
        values=values or sheet or EMPTY_SHEET,
        criteria=_criteria(item),
        saved_clock=clock(sheet["saved_at"]) if sheet else "",
        overdue=not submitted and _deadline(item) < datetime.now(UTC),
    )


@router.get(LIST + "/{assignment_id}/sheet")
async def sheet_page(p: PersonDep, assignment_id: UUID) -> Response:
    item = await _assignment(p, assignment_id)
    return _sheet_page(p, item, await _sheet(p, assignment_id, item))


@router.post(LIST + "/{assignment_id}/sheet/draft")
async def save_draft(request: Request, p: PersonDep, assignment_id: UUID) -> Response:
    """Saves what is typed. Asked by htmx as the expert types (answers the status line), or by
    the "save draft" button without script (back to the sheet)."""
    hx = request.headers.get("hx-request") == "true"
    body, bad = _sheet_body(await _form(request))
    problem = None
    saved: dict[str, Any] | None = None
    if not bad:
        try:
            saved = await p.api.send("PUT", f"{API}/assignments/{assignment_id}/sheet", json=body)
        except ApiProblem as refused:
            problem = refused
    if hx:
        messages = list(_typed_errors(p, bad).values())
        if problem is not None and problem.status == 422:  # the sheet does not fit the template
            item = await _assignment(p, assignment_id)
            messages = list(sheet_errors(p, problem, item, body).values()) or [problem.title]
        elif problem is not None:  # submitted meanwhile, round closed, assignment gone
            messages = [problem.title]
        return render(
            p,
            "expert/sheet_status.html",
            saved_clock=clock(saved["saved_at"]) if saved else "",
            messages=messages,
        )
    if saved is not None:
        return redirect(f"{LIST}/{assignment_id}/sheet", ("草稿已保存", "Draft saved"))
    return await _sheet_again(p, assignment_id, body, problem, _typed_errors(p, bad))


@router.post(LIST + "/{assignment_id}/sheet/submit")
async def submit(request: Request, p: PersonDep, assignment_id: UUID) -> Response:
    """Saves what is typed, then submits it: once submitted, the sheet is the expert's verdict."""
    body, bad = _sheet_body(await _form(request))
    if bad:
        return await _sheet_again(p, assignment_id, body, None, _typed_errors(p, bad))
    try:
        await p.api.send("PUT", f"{API}/assignments/{assignment_id}/sheet", json=body)
        await p.api.post(f"{API}/assignments/{assignment_id}/sheet/submit")
    except ApiProblem as problem:
        return await _sheet_again(p, assignment_id, body, problem, {})
    return redirect(f"{LIST}/{assignment_id}/sheet", ("评审表已提交", "Score sheet submitted"))


async def _sheet_again(
    p: Person,
    assignment_id: UUID,
    typed: dict[str, Any],
    problem: ApiProblem | None,
    errors: dict[str, str],
) -> Response:
    """The sheet as the expert typed it, with what is wrong under each field."""
    item = await _assignment(p, assignment_id)
    if problem is not None:
        errors = {**sheet_errors(p, problem, item, typed), **errors}
    shown = problem or ApiProblem(
        422, {"title": p.t("请更正标出的内容", "Please correct the marked fields")}
    )
    sheet = await _sheet(p, assignment_id, item)
    return _sheet_page(p, item, sheet, typed, shown.status, shown, errors)
