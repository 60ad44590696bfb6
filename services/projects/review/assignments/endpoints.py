"""Assigning experts: dry runs, applying, manual changes, acceptance, decline and replacement."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.projects.auth import CreditDep, Manager, NowDep, SettingsDep
from services.projects.models import Assignment, AssignmentDraw, AssignmentRun, AssignmentRunJob
from services.projects.models.review import (
    AssignmentStatus,
)
from services.projects.review.assignments.draws import DrawService
from services.projects.review.assignments.invitations import (
    Declined,
    Invitation,
    InvitationService,
)
from services.projects.review.assignments.manual import AssignmentService
from services.projects.review.assignments.repository import AssignmentFilter
from services.projects.review.assignments.runs import RunService
from services.projects.review.assignments.schemas import (
    ApplicationDrawRead,
    ApplyOutcome,
    AssignmentDrawRead,
    AssignmentDrawVerification,
    AssignmentPage,
    AssignmentRead,
    Decline,
    DeclineOutcome,
    DrawCreate,
    ManualAdd,
    MyAssignment,
    MyAssignmentPage,
    MyDeclinedAssignment,
    MyDeclinedAssignmentPage,
    MySheetState,
    Removal,
    Replacement,
    ReviewedApplication,
    ReviewSettingsRead,
    ReviewSettingsWrite,
    RunCreate,
    RunJobRead,
    RunPage,
    RunQuality,
    RunRead,
    RunSummary,
    Swap,
    SwapOutcome,
    Unassignable,
)
from services.projects.review.experts.auth import ExpertRole
from services.projects.review.scoring.service import MIN_COMMENT
from shared.db import SessionDep, SessionmakerDep
from shared.errors import Text, problem_body
from shared.pagination import PageDep, next_cursor, start_of

router = APIRouter(prefix="", tags=["assignments"])


def run_summary(
    run: AssignmentRun, quality: dict[str, Any] | None = None, unassignable: int | None = None
) -> RunSummary:
    """The run without its pairs; `quality` and `unassignable` (how many) when its proposal
    was not read."""
    return RunSummary(
        id=run.id,
        round_id=run.round_id,
        seed=run.seed,
        fingerprint=run.fingerprint,
        created_by=run.created_by,
        created_at=run.created_at,
        applied_at=run.applied_at,
        applied_by=run.applied_by,
        quality=RunQuality.model_validate(run.result["quality"] if quality is None else quality),
        unassignable_count=len(run.result["unassignable"])
        if unassignable is None
        else unassignable,
    )


def large(model: BaseModel, status_code: int = status.HTTP_200_OK) -> Response:
    """A body of tens of thousands of pairs, serialised once (FastAPI would validate the
    model again against the route's response model first)."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def run_read(run: AssignmentRun) -> RunRead:
    return RunRead(
        **run_summary(run).model_dump(),
        pairs=run.result["pairs"],
        unassignable=run.result["unassignable"],
    )


def assignment_read(assignment: Assignment, expert_name: str) -> AssignmentRead:
    return AssignmentRead(
        id=assignment.id,
        round_id=assignment.round_id,
        application_id=assignment.application_id,
        expert_id=assignment.expert_id,
        expert_name=expert_name,
        status=assignment.status,
        match_score=assignment.match_score,
        explanation=assignment.explanation,
        source=assignment.source,
        assigned_by=assignment.assigned_by,
        assigned_at=assignment.assigned_at,
        responded_at=assignment.responded_at,
        decline_reason=assignment.decline_reason,
        removed_by=assignment.removed_by,
        removed_reason=assignment.removed_reason,
    )


def my_assignment(invitation: Invitation) -> MyAssignment:
    content: dict[str, Any] = invitation.content
    assignment, round_, application, sheet = (
        invitation.assignment,
        invitation.round,
        invitation.application,
        invitation.sheet,
    )
    return MyAssignment(
        id=assignment.id,
        round_id=round_.id,
        round_kind=round_.kind,
        round_state=round_.state,
        call_id=round_.call_id,
        call_title=invitation.call_title,
        status=assignment.status,
        deadline=round_.deadline,
        review_template=round_.review_template,
        comment_min_length=MIN_COMMENT,
        sheet=None
        if sheet is None
        else MySheetState(
            status=sheet.status,
            saved_at=sheet.saved_at,
            submitted_at=sheet.submitted_at,
            late=sheet.late,
            reopened_at=sheet.reopened_at,
        ),
        match_score=assignment.match_score,
        explanation=assignment.explanation,
        assigned_at=assignment.assigned_at,
        responded_at=assignment.responded_at,
        application=ReviewedApplication(
            id=application.id,
            title=str(content.get("title", application.title)),
            abstract=str(content.get("abstract", "")),
            keywords=list(content.get("keywords", [])),
            subject_codes=list(content.get("subject_codes", [])),
            budget=dict(content.get("budget", {})),
            requested_budget_fen=application.requested_budget_fen,
            content=content,
            version=application.submitted_version or application.version,
            submitted_at=application.submitted_at,
            organization_name=invitation.organization_name,
            team_names=invitation.team_names,
        ),
        final_report=invitation.final_report,
    )


def my_declined(declined: Declined) -> MyDeclinedAssignment:
    assignment, round_ = declined.assignment, declined.round
    return MyDeclinedAssignment(
        id=assignment.id,
        round_id=round_.id,
        round_kind=round_.kind,
        call_id=round_.call_id,
        call_title=declined.call_title,
        application_id=assignment.application_id,
        application_title=declined.application_title,
        deadline=round_.deadline,
        declined_at=assignment.responded_at,
        reason=assignment.decline_reason,
        conflict_declared=declined.conflict_declared,
    )


# --- automatic assignment (program managers) -------------------------------------------------


DRY_RUN = """Solves the round's assignment (see the service documentation) and stores the
proposal as a run, to apply with `POST /v1/assignment-runs/{id}/apply`.

A large call (10,000 applications, 5,000 experts: about a minute) takes longer than a request
through the gateway may (30 s). The request therefore waits for the result at most
`SCIPLAN_PROJECTS_ASSIGNMENT_RUN_WAIT_SECONDS` (20 s by default) and then answers **202** with
the run's job, which goes on: poll `GET /v1/assignment-run-jobs/{id}` (every second or two)
until its `status` is `done` (the run is `run_id`) or `failed` (`problem` says why, as this
request would have). `Prefer: respond-async` answers 202 at once; `Prefer: wait=N` waits at
most N seconds (RFC 7240). A run that finishes in time answers **201** with the run, as before.
Refusals found before the job starts (403, 404, 409 for a round not assigning, 503 when the
credit service cannot be asked) are answered at once, and no job is created."""


def _waiting_time(prefer: str | None, most: float) -> float:
    """How long to wait for the run, after the client's `Prefer` header (RFC 7240)."""
    wait = most
    for preference in (prefer or "").split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() == "respond-async":
            wait = 0.0
        elif name.strip().lower() == "wait":
            with contextlib.suppress(ValueError):
                wait = min(wait, max(float(value.strip().strip('"')), 0.0))
    return wait


def job_read(job: AssignmentRunJob, request: Request) -> RunJobRead:
    problem = None
    if job.problem is not None:
        found = job.problem
        problem = problem_body(
            request,
            status=found["status"],
            code=found["code"],
            title=Text(**found["title"]),
            detail=Text(**found["detail"]) if found["detail"] else None,
            extra=found["extra"],
        )
    return RunJobRead(
        id=job.id,
        round_id=job.round_id,
        seed=job.seed,
        status=job.status,
        run_id=job.run_id,
        problem=problem,
        created_by=job.created_by,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


@router.post(
    "/v1/review-rounds/{round_id}/assignment-runs",
    response_model=RunRead,
    status_code=status.HTTP_201_CREATED,
    summary="Dry run: propose an optimal assignment for the experts each application lacks",
    description=DRY_RUN,
    responses={
        status.HTTP_202_ACCEPTED: {
            "model": RunJobRead,
            "description": "Still running: poll GET /v1/assignment-run-jobs/{id}",
        }
    },
)
async def create_run(
    round_id: UUID,
    data: RunCreate,
    request: Request,
    session: SessionDep,
    manager: Manager,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
    settings: SettingsDep,
    prefer: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    started = await RunService(session).start_dry_run(
        manager, round_id, data.seed, credit, now, sessions
    )
    wait = _waiting_time(prefer, settings.assignment_run_wait_seconds)
    try:
        # shielded: a request that stops waiting leaves the run going on
        run = await asyncio.wait_for(asyncio.shield(started.task), timeout=wait)
    except TimeoutError:
        return JSONResponse(
            job_read(started.job, request).model_dump(mode="json"),
            status_code=status.HTTP_202_ACCEPTED,
            headers={"Preference-Applied": "respond-async"} if wait == 0 else None,
        )
    return large(run_read(run), status.HTTP_201_CREATED)


@router.get(
    "/v1/assignment-run-jobs/{job_id}",
    response_model=RunJobRead,
    summary="A dry run's job: running, done (with its run's id) or failed (with why)",
)
async def get_run_job(
    job_id: UUID, request: Request, session: SessionDep, manager: Manager
) -> RunJobRead:
    return job_read(await RunService(session).job(manager, job_id), request)


@router.get(
    "/v1/review-rounds/{round_id}/assignment-runs",
    response_model=RunPage,
    summary="The round's dry runs, newest first (without their pairs)",
)
async def list_runs(
    round_id: UUID, session: SessionDep, manager: Manager, page: PageDep
) -> RunPage:
    offset = start_of(page)
    runs = await RunService(session).runs(manager, round_id, limit=page.limit + 1, offset=offset)
    return RunPage(
        items=[run_summary(r, q, n) for r, q, n in runs[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(runs)),
    )


@router.get(
    "/v1/assignment-runs/{run_id}",
    response_model=RunRead,
    summary="A dry run: the proposed pairs and why, its quality, the applications left short",
)
async def get_run(run_id: UUID, session: SessionDep, manager: Manager) -> Response:
    return large(run_read(await RunService(session).run(manager, run_id)))


@router.post(
    "/v1/assignment-runs/{run_id}/apply",
    response_model=ApplyOutcome,
    summary="Apply a dry run atomically (409 assignment.run_stale if anything changed since)",
)
async def apply_run(
    run_id: UUID,
    session: SessionDep,
    manager: Manager,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> Response:
    run, created, round_, short = await RunService(session).apply(
        manager, run_id, credit, now, sessions
    )
    names = {p["expert_id"]: p["expert_name"] for p in run.result["pairs"]}
    outcome = ApplyOutcome(
        run=run_summary(run),
        created=[assignment_read(a, names[str(a.expert_id)]) for a in created],
        round_state=round_.state,
        short=[Unassignable.model_validate(s) for s in short],
    )
    return large(outcome)


# --- manual changes (program managers) -------------------------------------------------------


@router.get(
    "/v1/review-rounds/{round_id}/assignments",
    response_model=AssignmentPage,
    summary="The round's assignments with the experts' identities (program managers)",
)
async def list_assignments(
    round_id: UUID,
    session: SessionDep,
    manager: Manager,
    page: PageDep,
    application_id: UUID | None = None,
    expert_id: UUID | None = None,
    status: AssignmentStatus | None = None,
) -> AssignmentPage:
    offset = start_of(page)
    where = AssignmentFilter(application_id=application_id, expert_id=expert_id, status=status)
    rows = await AssignmentService(session).of_round(
        manager, round_id, where, limit=page.limit + 1, offset=offset
    )
    return AssignmentPage(
        items=[assignment_read(a, name) for a, name in rows[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(rows)),
    )


@router.post(
    "/v1/review-rounds/{round_id}/assignments",
    response_model=AssignmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Assign an expert by hand, with the automatic assignment's checks",
)
async def add_assignment(
    round_id: UUID,
    data: ManualAdd,
    session: SessionDep,
    manager: Manager,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> AssignmentRead:
    assignment, name = await AssignmentService(session).add(
        manager, round_id, data, credit, now, sessions
    )
    return assignment_read(assignment, name)


@router.post(
    "/v1/assignments/{assignment_id}/remove",
    response_model=AssignmentRead,
    summary="Remove an expert from an application (with a reason)",
)
async def remove_assignment(
    assignment_id: UUID, data: Removal, session: SessionDep, manager: Manager, now: NowDep
) -> AssignmentRead:
    assignment, name = await AssignmentService(session).remove(
        manager, assignment_id, data.reason, now
    )
    return assignment_read(assignment, name)


@router.post(
    "/v1/assignments/{assignment_id}/swap",
    response_model=SwapOutcome,
    summary="Replace an expert by another in one step, with the same checks",
)
async def swap_assignment(
    assignment_id: UUID,
    data: Swap,
    session: SessionDep,
    manager: Manager,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> SwapOutcome:
    removed, added = await AssignmentService(session).swap(
        manager, assignment_id, data, credit, now, sessions
    )
    return SwapOutcome(removed=assignment_read(*removed), added=assignment_read(*added))


# --- experts ---------------------------------------------------------------------------------


@router.get(
    "/v1/me/assignments",
    response_model=MyAssignmentPage,
    summary="My live assignments, free of conflict, with what to review",
)
async def my_assignments(
    session: SessionDep, expert: ExpertRole, page: PageDep
) -> MyAssignmentPage:
    offset = start_of(page)
    shown, more = await InvitationService(session).mine(expert, limit=page.limit, offset=offset)
    return MyAssignmentPage(
        items=[my_assignment(i) for i in shown],
        next_cursor=next_cursor(offset, page.limit, page.limit + 1 if more else 0),
    )


@router.get(
    "/v1/me/declined-assignments",
    response_model=MyDeclinedAssignmentPage,
    summary="The assignments I declined (for a conflict of interest or otherwise), latest first",
)
async def my_declined_assignments(
    session: SessionDep, expert: ExpertRole, page: PageDep
) -> MyDeclinedAssignmentPage:
    offset = start_of(page)
    shown, more = await InvitationService(session).declined(expert, limit=page.limit, offset=offset)
    return MyDeclinedAssignmentPage(
        items=[my_declined(d) for d in shown],
        next_cursor=next_cursor(offset, page.limit, page.limit + 1 if more else 0),
    )


@router.get(
    "/v1/me/assignments/{assignment_id}",
    response_model=MyAssignment,
    summary="One of my live assignments, with the application as submitted (acceptance: and "
    "the final report, indicators achieved next to those promised)",
)
async def my_assignment_detail(
    assignment_id: UUID, session: SessionDep, expert: ExpertRole
) -> MyAssignment:
    return my_assignment(await InvitationService(session).one(expert, assignment_id))


@router.post(
    "/v1/assignments/{assignment_id}/accept",
    response_model=MyAssignment,
    summary="Accept an assignment (the expert it is for)",
)
async def accept_assignment(
    assignment_id: UUID, session: SessionDep, expert: ExpertRole, now: NowDep
) -> MyAssignment:
    return my_assignment(await InvitationService(session).accept(expert, assignment_id, now))


@router.post(
    "/v1/assignments/{assignment_id}/decline",
    response_model=DeclineOutcome,
    summary="Decline an assignment, maybe declaring a conflict; another expert is sought",
)
async def decline_assignment(
    assignment_id: UUID,
    data: Decline,
    session: SessionDep,
    expert: ExpertRole,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> DeclineOutcome:
    assignment, replaced = await InvitationService(session).decline(
        expert, assignment_id, data, credit, now, sessions
    )
    return DeclineOutcome(
        id=assignment.id,
        status=assignment.status,
        conflict_declared=data.conflict,
        replacement=Replacement(
            needed=replaced.needed,
            found=len(replaced.assigned),
            short_by=replaced.short_by,
            reason=replaced.reason,
        ),
    )


# --- the random draw (随机抽取), for calls that require it ----------------------------------------


def draw_read(record: AssignmentDraw) -> AssignmentDrawRead:
    return AssignmentDrawRead(
        id=record.id,
        round_id=record.round_id,
        algorithm=record.algorithm,
        seed=str(record.seed),
        reserves=record.reserves,
        load_left=record.inputs["load_left"],
        organizations=record.inputs["organizations"],
        applications=[ApplicationDrawRead.model_validate(a) for a in record.applications],
        assignments=sum(len(a["drawn"]) for a in record.applications),
        drawn_by=record.drawn_by,
        drawn_at=record.drawn_at,
    )


@router.put(
    "/v1/calls/{call_id}/review-settings",
    response_model=ReviewSettingsRead,
    summary="How the written review finds its experts: optimal run or random draw (随机抽取); "
    "fixed once the call closes",
)
async def set_review_settings(
    call_id: UUID, data: ReviewSettingsWrite, session: SessionDep, manager: Manager, now: NowDep
) -> ReviewSettingsRead:
    return await DrawService(session).set_settings(manager, call_id, data, now)


@router.get("/v1/calls/{call_id}/review-settings", response_model=ReviewSettingsRead)
async def get_review_settings(
    call_id: UUID, session: SessionDep, manager: Manager
) -> ReviewSettingsRead:
    return await DrawService(session).settings(manager, call_id)


@router.post(
    "/v1/review-rounds/{round_id}/draws",
    response_model=AssignmentDrawRead,
    status_code=status.HTTP_201_CREATED,
    summary="Draw at random the experts each application lacks, with reserves, and invite "
    "them (409 assignment.optimal_required on a call that uses the optimal assignment)",
)
async def create_draw(
    round_id: UUID,
    data: DrawCreate,
    session: SessionDep,
    manager: Manager,
    credit: CreditDep,
    now: NowDep,
    sessions: SessionmakerDep,
) -> AssignmentDrawRead:
    record = await DrawService(session).run(manager, round_id, data.reserves, credit, now, sessions)
    return draw_read(record)


@router.get("/v1/assignment-draws/{draw_id}", response_model=AssignmentDrawRead)
async def get_draw(draw_id: UUID, session: SessionDep, manager: Manager) -> AssignmentDrawRead:
    return draw_read(await DrawService(session).draw(manager, draw_id))


@router.post(
    "/v1/assignment-draws/{draw_id}/verify",
    response_model=AssignmentDrawVerification,
    summary="Run the draw again on its recorded pools, loads and seed; say whether it matches",
)
async def verify_draw(
    draw_id: UUID, session: SessionDep, manager: Manager
) -> AssignmentDrawVerification:
    return await DrawService(session).verify(manager, draw_id)
