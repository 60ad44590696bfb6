"""An organization's administrator: the applications of its researchers awaiting endorsement,
endorsed (the formal check runs) or returned with a reason. (Task books are signed from the
project's page, pages/my_projects.py.)"""

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
DONE = {
    "endorse": ("已推荐，形式审查已自动进行", "Endorsed; the formal check has run"),
    "return": ("已退回申请人", "Returned to the applicant"),
}


async def _queue(
    p: Person,
    cursor: str | None = None,
    problem: ApiProblem | None = None,
    failed: str = "",
    reason: str = "",
) -> Response:
    page = await p.api.get(f"{PROJECTS}/applications", status="submitted", limit=30, cursor=cursor)
    if problem is not None and problem.code == "reason.required":
        problem.problem["errors"] = [{"loc": ["body", "reason"], "msg": problem.title}]
    return render(
        p,
        "organization/endorsements.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        page=page,
        failed=failed,
        reason=reason,
    )


@router.get("/org/endorsements")
async def endorsements(p: PersonDep, cursor: str | None = None) -> Response:
    return await _queue(p, cursor)


@router.post("/org/endorsements/{application_id}")
async def endorse(
    p: PersonDep,
    application_id: UUID,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        await p.api.post(
            f"{PROJECTS}/applications/{application_id}/endorsement",
            {"decision": decision, "reason": reason},
        )
    except ApiProblem as problem:
        return await _queue(p, problem=problem, failed=str(application_id), reason=reason)
    return redirect("/org/endorsements", DONE.get(decision))
