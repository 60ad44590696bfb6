"""An applicant's pages: open calls, my applications, the draft editor (autosaved, with the
API's messages next to the fields, attachments uploaded with a progress bar), submission and
the application's timeline."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response, StreamingResponse

from services.portal.api import ApiProblem
from services.portal.draft_form import DraftForm, first_content, without_attachment
from services.portal.i18n import local_time
from services.portal.people import Person, PersonDep
from services.portal.rendering import redirect, render
from services.portal.uploads import forward_upload

router = APIRouter()
PROJECTS = "/api/projects/v1"
EDITABLE = ("draft", "returned")
DECIDED = ("approved", "reserved", "rejected")
WITHDRAWABLE = (*EDITABLE, "submitted", "endorsed", "in_review", "reviewed")
# The projects service's own limit (SCIPLAN_PROJECTS_ATTACHMENT_MAX_BYTES by default) and types:
# checked in the browser before a byte is sent; the API has the last word.
ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
ATTACHMENT_ACCEPT = ".pdf,.docx,.xlsx,.png,.jpg,.jpeg,.zip"
OTHER_KIND = "supporting_document"
Text = Annotated[str, Form(max_length=2000)]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# --- open calls and a new draft ----------------------------------------------------------------


@router.get("/calls")
async def open_calls(p: PersonDep) -> Response:
    calls = await p.api.all_pages(f"{PROJECTS}/calls", most=200, status="open")
    mine = await p.api.all_pages(f"{PROJECTS}/applications", most=500)
    applied = {
        a["call_id"]: a
        for a in mine
        if a["applicant_id"] == p.user_id and a["status"] != "withdrawn"
    }
    return render(p, "applicant/calls.html", calls=calls, applied=applied)


@router.get("/calls/{call_id}/apply")
async def apply_page(p: PersonDep, call_id: UUID) -> Response:
    call = await p.api.get(f"{PROJECTS}/calls/{call_id}")
    return render(p, "applicant/apply.html", call=call, values={})


@router.post("/calls/{call_id}/apply")
async def apply(
    p: PersonDep,
    call_id: UUID,
    title: Text = "",
    keywords: Text = "",
    subject_codes: Text = "",
) -> Response:
    content = first_content(title, keywords, subject_codes, p.user_id)
    try:
        created = await p.api.post(
            f"{PROJECTS}/applications", {"call_id": str(call_id), "content": content}
        )
    except ApiProblem as problem:
        call = await p.api.get(f"{PROJECTS}/calls/{call_id}")
        return render(
            p,
            "applicant/apply.html",
            status_code=problem.status,
            problem=problem,
            call=call,
            values={"title": title, "keywords": keywords, "subject_codes": subject_codes},
        )
    return redirect(
        f"/applications/{created['id']}/edit",
        ("草稿已创建，填写内容会自动保存", "Draft created; what you type is saved as you go"),
    )


# --- my applications and one application's story ----------------------------------------------


@router.get("/applications")
async def my_applications(p: PersonDep, cursor: str | None = None) -> Response:
    page = await p.api.get(f"{PROJECTS}/applications", limit=30, cursor=cursor)
    return render(p, "applicant/applications.html", page=page)


@router.get("/applications/{application_id}")
async def application_page(p: PersonDep, application_id: UUID) -> Response:
    return await _application_page(p, application_id)


async def _application_page(
    p: Person, application_id: UUID, problem: ApiProblem | None = None, reason: str = ""
) -> Response:
    base = f"{PROJECTS}/applications/{application_id}"
    application = await p.api.get(base)
    history = await p.api.all_pages(f"{base}/history", most=500)
    versions = await p.api.all_pages(f"{base}/versions", most=500)
    attachments = await p.api.all_pages(f"{base}/attachments", most=100)
    review = None
    if application["status"] in DECIDED:
        review = await p.api.get(f"{PROJECTS}/applications/{application_id}/review")
    return render(
        p,
        "applicant/application.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        a=application,
        history=history,
        versions=versions,
        attachments=_listed(application["content"], attachments),
        review=review,
        mine=application["applicant_id"] == p.user_id,
        editable=EDITABLE,
        withdrawable=WITHDRAWABLE,
        reason=reason,
    )


def _listed(content: dict[str, Any], uploaded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attachments the content lists, with what the upload said of each."""
    files = {f["id"]: f for f in uploaded}
    return [
        {**files[ref["id"]], "kind": ref["kind"]}
        for ref in content.get("attachments") or []
        if ref["id"] in files
    ]


@router.post("/applications/{application_id}/withdraw")
async def withdraw(p: PersonDep, application_id: UUID, reason: Text = "") -> Response:
    try:
        await p.api.post(f"{PROJECTS}/applications/{application_id}/withdraw", {"reason": reason})
    except ApiProblem as problem:
        return await _application_page(p, application_id, problem, reason)
    return redirect(f"/applications/{application_id}", ("申报书已撤回", "Application withdrawn"))


@router.get("/applications/{application_id}/attachments/{attachment_id}")
async def download(p: PersonDep, application_id: UUID, attachment_id: UUID) -> Response:
    response, body = await p.api.stream(
        f"{PROJECTS}/applications/{application_id}/attachments/{attachment_id}"
    )
    headers = {
        name: response.headers[name]
        for name in ("content-disposition", "content-length", "etag")
        if name in response.headers
    }
    return StreamingResponse(
        body,
        media_type=response.headers.get("content-type", "application/octet-stream"),
        headers={**headers, "Cache-Control": "private, no-store"},
        background=BackgroundTask(response.aclose),
    )


# --- the draft editor --------------------------------------------------------------------------


async def _editor(
    p: Person,
    application: dict[str, Any],
    form: DraftForm,
    *,
    problem: ApiProblem | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    base = f"{PROJECTS}/applications/{application['id']}"
    call = await p.api.get(f"{PROJECTS}/calls/{application['call_id']}")
    uploaded = await p.api.all_pages(f"{base}/attachments", most=100)
    kinds = [*call["required_attachments"], OTHER_KIND]
    returned = None
    if application["status"] == "returned":
        history = await p.api.all_pages(f"{base}/history", most=500)
        returned = next((h for h in reversed(history) if h["to_state"] == "returned"), None)
    return render(
        p,
        "applicant/editor.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        a=application,
        call=call,
        form=form,
        field_errors=errors or {},
        attachments=_listed(form.kept, uploaded),
        kinds=kinds,
        returned=returned,
        max_bytes=ATTACHMENT_MAX_BYTES,
        accept=ATTACHMENT_ACCEPT,
    )


@router.get("/applications/{application_id}/edit")
async def edit_page(p: PersonDep, application_id: UUID) -> Response:
    application = await p.api.get(f"{PROJECTS}/applications/{application_id}")
    if application["status"] not in EDITABLE or application["applicant_id"] != p.user_id:
        return redirect(f"/applications/{application_id}")
    form = DraftForm.from_content(application["content"], application["version"])
    return await _editor(p, application, form)


async def _save(
    p: Person, application_id: UUID, form: DraftForm
) -> tuple[dict[str, Any] | None, dict[str, str], ApiProblem | None]:
    """Saves the form as a new version: (the application saved, errors by field, the problem)."""
    content, unreadable = form.content(p.t)
    if unreadable:
        title = p.t("请更正标出的内容", "Please correct the marked fields")
        return None, unreadable, ApiProblem(422, {"title": title})
    try:
        saved = await p.api.send(
            "PUT",
            f"{PROJECTS}/applications/{application_id}",
            json={"content": content, "base_version": form.base_version},
        )
    except ApiProblem as problem:
        return None, form.errors_of(problem), problem
    return saved, {}, None


@router.post("/applications/{application_id}/edit")
async def save(request: Request, p: PersonDep, application_id: UUID) -> Response:
    """Autosave (htmx: the status line and each field's message) or the form's Save button."""
    form = DraftForm.from_form(await request.form())
    saved, errors, problem = await _save(p, application_id, form)
    if _is_htmx(request):
        return render(
            p,
            "applicant/save_status.html",
            status_code=problem.status if problem else 200,
            saved=saved,
            saved_at=local_time(saved["updated_at"])[-5:] if saved else "",
            field_errors=errors,
            save_problem=problem,
            keys=form.keys(),
        )
    if saved is not None:
        return redirect(f"/applications/{application_id}/edit", ("已保存", "Saved"))
    application = await p.api.get(f"{PROJECTS}/applications/{application_id}")
    return await _editor(p, application, form, problem=problem, errors=errors)


@router.post("/applications/{application_id}/submit")
async def submit(request: Request, p: PersonDep, application_id: UUID) -> Response:
    """Saves what the form shows if it changed, then submits it."""
    form = DraftForm.from_form(await request.form())
    application = await p.api.get(f"{PROJECTS}/applications/{application_id}")
    content, _ = form.content(p.t)
    if content != application["content"]:
        saved, errors, problem = await _save(p, application_id, form)
        if saved is None and problem is not None and problem.code == "application.stale_version":
            # The page's autosave of these very values may have landed first.
            application = await p.api.get(f"{PROJECTS}/applications/{application_id}")
            if content == application["content"]:
                saved = application
        if saved is None:
            return await _editor(p, application, form, problem=problem, errors=errors)
    try:
        await p.api.post(f"{PROJECTS}/applications/{application_id}/submit")
    except ApiProblem as problem:
        application = await p.api.get(f"{PROJECTS}/applications/{application_id}")
        form.base_version = application["version"]
        return await _editor(p, application, form, problem=problem, errors=form.errors_of(problem))
    return redirect(
        f"/applications/{application_id}",
        ("申报书已提交，等待单位推荐", "Submitted; your organization endorses it next"),
    )


# --- attachments -------------------------------------------------------------------------------


@router.post("/applications/{application_id}/attachments")
async def upload(request: Request, p: PersonDep, application_id: UUID) -> Response:
    """The file goes on to the projects API as it arrives; the draft then lists it."""
    try:
        await forward_upload(request, p, f"{PROJECTS}/applications/{application_id}")
    except ApiProblem as problem:
        if "x-csrf-token" not in request.headers:  # a form sent without the page's script
            application = await p.api.get(f"{PROJECTS}/applications/{application_id}")
            form = DraftForm.from_content(application["content"], application["version"])
            return await _editor(p, application, form, problem=problem)
        return JSONResponse(
            problem.problem, status_code=problem.status, media_type="application/problem+json"
        )
    if "x-csrf-token" not in request.headers:
        return redirect(f"/applications/{application_id}/edit", ("附件已上传", "Uploaded"))
    return Response(status_code=204)


@router.post("/applications/{application_id}/attachments/{attachment_id}/remove")
async def remove_attachment(p: PersonDep, application_id: UUID, attachment_id: UUID) -> Response:
    """The draft no longer lists it, and the file is deleted (earlier drafts that listed it
    keep the reference, which leads nowhere now; submitted versions keep their files)."""
    base = f"{PROJECTS}/applications/{application_id}"
    application = await p.api.get(base)
    content = without_attachment(application["content"], str(attachment_id))
    try:
        await p.api.send(
            "PUT", base, json={"content": content, "base_version": application["version"]}
        )
    except ApiProblem as problem:
        form = DraftForm.from_content(application["content"], application["version"])
        return await _editor(p, application, form, problem=problem)
    # No longer listed, the file itself goes too, unless a submitted version lists it (the
    # application was returned): then the agency's record keeps it (409, nothing to say).
    with contextlib.suppress(ApiProblem):
        await p.api.send("DELETE", f"{base}/attachments/{attachment_id}")
    return redirect(f"/applications/{application_id}/edit", ("附件已移除", "Attachment removed"))
