"""Third-party evaluators: my engagements, and the credit records each lets me read. Reading
someone else's credit data states a purpose, which the credit service logs with the read."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.portal.api import ApiProblem
from services.portal.people import Person, PersonDep
from services.portal.rendering import render

router = APIRouter()
PROJECTS = "/api/projects/v1"
CREDIT = "/api/credit/v1"
Text = Annotated[str, Query(max_length=500)]


async def _program_names(p: Person) -> dict[str, dict[str, Any]]:
    """Every program by id (one public list: the five basic programs and the special funds)."""
    programs = await p.api.all_pages(f"{PROJECTS}/programs", most=400, include_retired=True)
    return {program["id"]: program for program in programs}


def _purpose_problem(problem: ApiProblem) -> ApiProblem:
    """The credit service's refusal for a missing purpose, shown next to the purpose field."""
    if problem.code == "credit.purpose_required":
        problem.problem["errors"] = [{"loc": ["query", "purpose"], "msg": problem.title}]
    return problem


@router.get("/evaluator/engagements")
async def engagements(p: PersonDep, cursor: str | None = None) -> Response:
    page = await p.api.get(f"{PROJECTS}/engagements", cursor=cursor, limit=50)
    return render(p, "evaluator/engagements.html", page=page, programs=await _program_names(p))


@router.get("/evaluator/engagements/{engagement_id}")
async def engagement(
    p: PersonDep, engagement_id: UUID, purpose: Text = "", name: Text = ""
) -> Response:
    """The engagement, and (once a purpose is stated) the credit records of its program that
    the credit service lets me read."""
    found = await p.api.get(f"{PROJECTS}/engagements/{engagement_id}")
    project = (
        await p.api.get(f"{PROJECTS}/projects/{found['project_id']}")
        if found["project_id"]
        else None
    )
    program_id = project["program_id"] if project else found["program_id"]
    records, problem = None, None
    if purpose:
        try:
            records = await p.api.get(
                f"{CREDIT}/records", purpose=purpose, program_id=program_id, name=name, limit=100
            )
        except ApiProblem as refused:
            if refused.status not in (400, 422):
                raise
            problem = _purpose_problem(refused)
    return render(
        p,
        "evaluator/engagement.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        engagement=found,
        project=project,
        program=(await _program_names(p)).get(str(program_id)),
        records=records,
        purpose=purpose,
        name=name,
    )


@router.get("/evaluator/subjects/{subject_id}")
async def subject_file(
    p: PersonDep, subject_id: UUID, purpose: Text = "", engagement: UUID | None = None
) -> Response:
    """A subject's credit file, read for the purpose stated (and logged by the credit service)."""
    file, problem = None, None
    if purpose:
        try:
            file = await p.api.get(f"{CREDIT}/subjects/{subject_id}/file", purpose=purpose)
        except ApiProblem as refused:
            if refused.status not in (400, 422):
                raise
            problem = _purpose_problem(refused)
    return render(
        p,
        "evaluator/subject.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        file=file,
        subject_id=subject_id,
        purpose=purpose,
        engagement=engagement,
    )
