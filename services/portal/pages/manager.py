"""Program managers: the calls they manage, a call's dashboard (applications by state, formal
checks, review progress, conflicts), the expert assignment (dry run, its diff and reasons,
apply) and the decisions within the envelope, which start the public notice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.portal.api import ApiProblem
from services.portal.i18n import SHANGHAI, fen_from_yuan
from services.portal.people import Person, PersonDep
from services.portal.rendering import redirect, render

router = APIRouter()
PROJECTS = "/api/projects/v1"
Reason = Annotated[str, Form(max_length=2000)]
DEFAULT_REVIEW_DAYS = 14
# A round's assignments and a call's applications are listed whole on the assignment page
# (a few pages at most); beyond this the page says there are more.
MOST_LISTED = 1000


def _dashboard(call_id: UUID | str) -> str:
    return f"/manage/calls/{call_id}"


def _assignment(round_id: UUID | str) -> str:
    return f"/manage/rounds/{round_id}/assignment"


@router.get("/manage/calls")
async def calls(p: PersonDep, cursor: str | None = None) -> Response:
    page = await p.api.get(f"{PROJECTS}/me/managed-calls", cursor=cursor, limit=30)
    return render(p, "manager/calls.html", page=page)


# --- a call's dashboard ----------------------------------------------------------------------


def _default_deadline() -> str:
    """Two weeks from now at 17:00 in Shanghai, as a datetime-local field shows it."""
    day = datetime.now(SHANGHAI) + timedelta(days=DEFAULT_REVIEW_DAYS)
    return day.replace(hour=17, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M")


async def _render_dashboard(
    p: Person,
    call_id: UUID,
    status: str | None = None,
    cursor: str | None = None,
    problem: ApiProblem | None = None,
    **context: Any,
) -> Response:
    overview = await p.api.get(f"{PROJECTS}/calls/{call_id}/overview")
    applications = await p.api.get(
        f"{PROJECTS}/applications", call_id=call_id, status=status, cursor=cursor, limit=50
    )
    return render(
        p,
        "manager/dashboard.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        overview=overview,
        call=overview["call"],
        applications=applications,
        status=status or "",
        deadline=_default_deadline(),
        **context,
    )


@router.get("/manage/calls/{call_id}")
async def dashboard(
    p: PersonDep, call_id: UUID, status: str | None = None, cursor: str | None = None
) -> Response:
    return await _render_dashboard(p, call_id, status=status, cursor=cursor)


@router.post("/manage/calls/{call_id}/formal-checks/{application_id}")
async def formal_check(
    p: PersonDep,
    call_id: UUID,
    application_id: UUID,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Reason = "",
) -> Response:
    try:
        await p.api.post(
            f"{PROJECTS}/applications/{application_id}/formal-check/decision",
            {"decision": decision, "reason": reason},
        )
    except ApiProblem as problem:
        if problem.code == "reason.required":
            problem.problem["errors"] = [{"loc": ["body", "reason"], "msg": problem.title}]
        return await _render_dashboard(
            p, call_id, problem=problem, failed_check=str(application_id), reason=reason
        )
    done = ("形式审查通过", "Formal check passed") if decision == "pass" else ("已退回", "Returned")
    return redirect(_dashboard(call_id), done)


def _number(typed: str) -> int | str:
    """A whole number typed in a form; anything else goes on as typed, for the API to refuse
    next to its field in its own words."""
    typed = typed.strip()
    return int(typed) if typed.isdigit() and len(typed) < 10 else typed


def _deadline(local: str) -> str:
    """A datetime-local value (`2026-12-21T17:00`, Shanghai) as an instant the API takes; what
    is not a time goes on as typed, for the API to refuse next to the field."""
    try:
        moment = datetime.fromisoformat(local)
    except ValueError:
        return local
    return moment.replace(tzinfo=SHANGHAI).isoformat()


@router.post("/manage/calls/{call_id}/review-rounds")
async def open_round(
    p: PersonDep,
    call_id: UUID,
    deadline: Annotated[str, Form(max_length=40)] = "",
    experts_per_item: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    body: dict[str, Any] = {"kind": "proposal", "deadline": _deadline(deadline)}
    if experts_per_item.strip():
        body["experts_per_item"] = _number(experts_per_item)
    try:
        opened = await p.api.post(f"{PROJECTS}/calls/{call_id}/review-rounds", body)
    except ApiProblem as problem:
        return await _render_dashboard(
            p,
            call_id,
            problem=problem,
            round_form={"deadline": deadline, "experts_per_item": experts_per_item},
        )
    return redirect(_assignment(opened["id"]), ("评审已开启", "Review opened"))


@router.post("/manage/rounds/{round_id}/close")
async def close_round(p: PersonDep, round_id: UUID, call_id: Annotated[UUID, Form()]) -> Response:
    try:
        await p.api.post(f"{PROJECTS}/review-rounds/{round_id}/close")
    except ApiProblem as problem:
        return await _render_dashboard(p, call_id, problem=problem)
    return redirect(_dashboard(call_id), ("评审已结束", "Review closed"))


# --- assignment: dry run, diff with reasons, apply --------------------------------------------


async def _render_assignment(
    p: Person,
    round_id: UUID,
    run_id: UUID | None = None,
    problem: ApiProblem | None = None,
    job: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    round_ = await p.api.get(f"{PROJECTS}/review-rounds/{round_id}")
    call = await p.api.get(f"{PROJECTS}/calls/{round_['call_id']}")
    current = await p.api.all_pages(
        f"{PROJECTS}/review-rounds/{round_id}/assignments", most=MOST_LISTED
    )
    applications = await p.api.all_pages(
        f"{PROJECTS}/applications", most=MOST_LISTED, call_id=round_["call_id"]
    )
    conflicts = await p.api.get(f"{PROJECTS}/review-rounds/{round_id}/conflicts", limit=200)
    run = await p.api.get(f"{PROJECTS}/assignment-runs/{run_id}") if run_id else None
    return render(
        p,
        "manager/assignment.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        round=round_,
        call=call,
        current=current,
        titles={a["id"]: a["title"] for a in applications},
        conflicts=conflicts,
        run=run,
        job=job,
        **context,
    )


@router.get("/manage/rounds/{round_id}/assignment")
async def assignment(
    p: PersonDep, round_id: UUID, run: UUID | None = None, job: UUID | None = None
) -> Response:
    if job is not None:
        # A large call's dry run goes on after its request: shown once done.
        found = await p.api.get(f"{PROJECTS}/assignment-run-jobs/{job}")
        if found["status"] == "done":
            return redirect(f"{_assignment(round_id)}?run={found['run_id']}")
        return await _render_assignment(p, round_id, job=found)
    return await _render_assignment(p, round_id, run)


@router.post("/manage/rounds/{round_id}/assignment-runs")
async def dry_run(
    p: PersonDep, round_id: UUID, seed: Annotated[str, Form(max_length=12)] = ""
) -> Response:
    try:
        run = await p.api.post(
            f"{PROJECTS}/review-rounds/{round_id}/assignment-runs",
            {"seed": _number(seed) if seed.strip() else 0},
        )
    except ApiProblem as problem:
        return await _render_assignment(p, round_id, problem=problem, seed=seed)
    if run.get("status") == "running":  # answered 202: the run's job goes on
        return redirect(f"{_assignment(round_id)}?job={run['id']}")
    return redirect(f"{_assignment(round_id)}?run={run['id']}")


@router.post("/manage/assignment-runs/{run_id}/apply")
async def apply_run(
    p: PersonDep,
    run_id: UUID,
    round_id: Annotated[UUID, Form()],
    call_id: Annotated[UUID, Form()],
) -> Response:
    try:
        applied = await p.api.post(f"{PROJECTS}/assignment-runs/{run_id}/apply")
    except ApiProblem as problem:
        return await _render_assignment(p, round_id, run_id, problem=problem)
    n = len(applied["created"])
    return redirect(
        _dashboard(call_id),
        (f"已分配 {n} 个评审任务，专家已收到邀请", f"{n} reviews assigned; experts invited"),
    )


@router.post("/manage/assignments/{assignment_id}/remove")
async def remove_assignment(
    p: PersonDep,
    assignment_id: UUID,
    round_id: Annotated[UUID, Form()],
    reason: Reason = "",
) -> Response:
    try:
        await p.api.post(f"{PROJECTS}/assignments/{assignment_id}/remove", {"reason": reason})
    except ApiProblem as problem:
        return await _render_assignment(
            p, round_id, problem=problem, failed_removal=str(assignment_id), reason=reason
        )
    return redirect(_assignment(round_id), ("已移除该专家", "Expert removed"))


# --- ranking and decisions within the envelope -----------------------------------------------


# The decisions form names its inputs per application; the API names a batch item's fields.
ROW_INPUTS = {"approved_budget_fen": "amount", "reason": "reason"}


async def _render_decisions(
    p: Person,
    call_id: UUID,
    problem: ApiProblem | None = None,
    form: dict[str, str] | None = None,
    row_errors: dict[str, dict[str, str]] | None = None,
) -> Response:
    call = await p.api.get(f"{PROJECTS}/calls/{call_id}")
    ranked = await p.api.get(f"{PROJECTS}/calls/{call_id}/decisions", limit=200)
    errors = {
        f"{ROW_INPUTS.get(name, 'decision')}-{application_id}": message
        for application_id, fields in (row_errors or {}).items()
        for name, message in fields.items()
    }
    return render(
        p,
        "manager/decisions.html",
        status_code=problem.status if problem else 200,
        problem=problem,
        call=call,
        ranked=ranked,
        form=form or {},
        errors=errors,
    )


@router.get("/manage/calls/{call_id}/decisions")
async def decisions(p: PersonDep, call_id: UUID) -> Response:
    return await _render_decisions(p, call_id)


def _decision_batch(
    form: dict[str, str], t: Callable[[str, str], str]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """The rows the manager decided on (in the order shown, i.e. rank order), and the
    amounts that are not amounts, per application."""
    batch: list[dict[str, Any]] = []
    errors: dict[str, dict[str, str]] = {}
    for application_id in form.get("order", "").split(","):
        decision = form.get(f"decision-{application_id}", "")
        if not decision:
            continue
        item: dict[str, Any] = {
            "application_id": application_id,
            "decision": decision,
            "reason": form.get(f"reason-{application_id}", ""),
        }
        if decision == "approve":
            fen = fen_from_yuan(form.get(f"amount-{application_id}", ""))
            if fen is None or fen <= 0:
                errors[application_id] = {
                    "approved_budget_fen": t(
                        "请填写批准金额（元，最多两位小数）",
                        "Enter the amount approved (yuan, at most two decimals)",
                    )
                }
            item["approved_budget_fen"] = fen
        batch.append(item)
    return batch, errors


def _errors_by_row(problem: ApiProblem, batch: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The API names a batch item by its index (`body.decisions.2.reason`): per application."""
    rows: dict[str, dict[str, str]] = {}
    for error in problem.problem.get("errors") or []:
        loc = list(error.get("loc") or [])
        item = loc[2] if len(loc) >= 3 and loc[1] == "decisions" else None
        if isinstance(item, int) and item < len(batch):
            name = str(loc[3]) if len(loc) > 3 else "decision"
            rows.setdefault(batch[item]["application_id"], {})[name] = str(error["msg"])
    return rows


@router.post("/manage/calls/{call_id}/decisions")
async def decide(request: Request, p: PersonDep, call_id: UUID) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    batch, errors = _decision_batch(form, p.t)
    if errors or not batch:
        problem = ApiProblem(
            422,
            {
                "title": p.t("请更正标出的内容", "Please correct the marked fields")
                if errors
                else p.t("没有选择任何决定", "No decision was chosen")
            },
        )
        return await _render_decisions(p, call_id, problem, form=form, row_errors=errors)
    try:
        await p.api.post(f"{PROJECTS}/calls/{call_id}/decisions", {"decisions": batch})
    except ApiProblem as problem:
        return await _render_decisions(
            p, call_id, problem, form=form, row_errors=_errors_by_row(problem, batch)
        )
    return redirect(
        f"/manage/calls/{call_id}/decisions",
        (
            "决定已保存；批准的项目进入公示期",
            "Decisions saved; the approved projects are in public notice",
        ),
    )
