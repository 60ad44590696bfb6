"""Decisions per call: approve / reserve / reject, all or nothing, within the envelope, with
numbers per program and year; separation of duties and program scope.

The helpers at the top are shared with the notice and execution tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.projects.models import (
    Application,
    ApplicationVersion,
    Call,
    ProgramEnvelope,
    Project,
    Transition,
    events,
)
from tests.projects.conftest import (
    ZDYF,
    ZDZX,
    Projects,
    closed_call,
    insert_application,
    insert_call,
)

BUDGET = 80_000_000  # of the 100,000,000 fen every test application asks for


async def set_envelope(
    session: AsyncSession, program_id: UUID = ZDYF, year: int = 2026, amount_fen: int = 10**10
) -> None:
    await session.execute(
        insert(ProgramEnvelope)
        .values(program_id=program_id, year=year, amount_fen=amount_fen)
        .on_conflict_do_update(
            index_elements=["program_id", "year"], set_={"amount_fen": amount_fen}
        )
    )
    await session.commit()


def approve(application: Application, budget: int = BUDGET) -> dict[str, Any]:
    return {
        "application_id": str(application.id),
        "decision": "approve",
        "approved_budget_fen": budget,
        "reason": "专家评审排名靠前，予以立项",
    }


def reserve(application: Application) -> dict[str, Any]:
    return {"application_id": str(application.id), "decision": "reserve", "reason": "列入储备"}


def reject(application: Application) -> dict[str, Any]:
    return {"application_id": str(application.id), "decision": "reject", "reason": "创新性不足"}


async def decide(
    projects: Projects, call: Call, *items: dict[str, Any], who: str = "manager"
) -> httpx.Response:
    return await projects.call(
        "POST", f"/v1/calls/{call.id}/decisions", who, json={"decisions": list(items)}
    )


async def approved_projects(
    session: AsyncSession, projects: Projects, *people: str, budget: int = BUDGET
) -> list[dict[str, Any]]:
    """One project in public notice per person (one call; each person applies once)."""
    await set_envelope(session)
    call = await closed_call(session, projects)
    applications = [await insert_application(session, projects, call, who=p) for p in people]
    reply = await decide(projects, call, *(approve(a, budget) for a in applications))
    assert reply.status_code == 200, reply.text
    decided: list[dict[str, Any]] = reply.json()["decisions"]
    return decided


async def outbox(session: AsyncSession, event_type: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(events.outbox.c.payload)
        .where(events.outbox.c.event_type == event_type)
        .order_by(events.outbox.c.id)
    )
    return [dict(r.payload) for r in rows]


async def status_of(session: AsyncSession, application: Application) -> str | None:
    return await session.scalar(
        sa.select(Application.status).where(Application.id == application.id)
    )


# --- approving, reserving, rejecting ---------------------------------------------------------


async def test_a_batch_approves_reserves_and_rejects(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    first = await insert_application(session, projects, call, who="applicant")
    second = await insert_application(session, projects, call, who="applicant2", status="reviewed")
    third = await insert_application(session, projects, call, who="colleague")

    reply = await decide(projects, call, approve(first), reserve(second), reject(third))

    assert reply.status_code == 200, reply.text
    body = reply.json()
    by_id = {d["application_id"]: d for d in body["decisions"]}
    approved = by_id[str(first.id)]
    assert approved["status"] == "approved"
    assert approved["approved_budget_fen"] == BUDGET
    assert approved["project_number"] == "2026-ZDYF-0001"
    assert approved["decided_by"] == str(projects.callers["manager"].user_id)
    assert by_id[str(second.id)]["status"] == "reserved"
    assert by_id[str(second.id)]["project_id"] is None
    assert by_id[str(third.id)]["status"] == "rejected"
    assert by_id[str(third.id)]["decision_reason"] == "创新性不足"
    assert body["envelope"]["committed_fen"] == BUDGET
    assert body["envelope"]["remaining_fen"] == 10**10 - BUDGET

    project = await session.scalar(sa.select(Project).where(Project.application_id == first.id))
    assert project is not None
    assert project.status == "in_notice"
    assert (project.pi_name, project.org_name) == ("王芳", "兰州大学")
    assert project.notice_ends_at - project.notice_starts_at == timedelta(days=7)
    assert project.notice_starts_at == projects.clock.now
    # The deadline is shown in Shanghai time.
    assert datetime.fromisoformat(approved["notice_ends_at"]).utcoffset() == timedelta(hours=8)

    [event] = await outbox(session, "project.approved")
    assert event == {
        "project_id": str(project.id),
        "project_number": "2026-ZDYF-0001",
        "application_id": str(first.id),
        "program_id": str(ZDYF),
        "program_code": "ZDYF",
        "year": 2026,
        "org_id": str(projects.orgs[1]),
        "pi_id": str(projects.callers["applicant"].user_id),
        "approved_budget_fen": BUDGET,
    }
    moves = (
        await session.execute(
            sa.select(Transition.entity, Transition.from_state, Transition.to_state)
            .where(Transition.application_id == first.id)
            .order_by(Transition.id)
        )
    ).all()
    assert [tuple(m) for m in moves] == [
        ("application", "in_review", "approved"),
        ("project", None, "in_notice"),
    ]


async def test_numbers_run_per_program_and_year(session: AsyncSession, projects: Projects) -> None:
    await set_envelope(session)
    await set_envelope(session, ZDZX)
    await set_envelope(session, year=2027)
    numbers = []
    for program_id, year, who in [
        (ZDYF, 2026, "manager"),
        (ZDYF, 2026, "manager"),
        (ZDZX, 2026, "manager2"),
        (ZDYF, 2027, "manager"),
    ]:
        call = await closed_call(session, projects, program_id=program_id, year=year)
        application = await insert_application(session, projects, call)
        reply = await decide(projects, call, approve(application), who=who)
        assert reply.status_code == 200, reply.text
        numbers.append(reply.json()["decisions"][0]["project_number"])
    assert numbers == ["2026-ZDYF-0001", "2026-ZDYF-0002", "2026-ZDZX-0001", "2027-ZDYF-0001"]


async def test_one_bad_item_writes_nothing(session: AsyncSession, projects: Projects) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    good = await insert_application(session, projects, call, who="applicant")
    greedy = await insert_application(session, projects, call, who="applicant2")
    draft = await insert_application(session, projects, call, who="colleague", status="draft")

    too_much = await decide(projects, call, approve(good), approve(greedy, 100_000_001))
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "decision.invalid"

    not_ready = await decide(projects, call, approve(good), reject(draft))
    assert not_ready.status_code == 409
    assert not_ready.json()["code"] == "state.invalid_transition"
    assert not_ready.json()["state"] == "draft"

    twice = await decide(projects, call, approve(good), reject(good))
    assert twice.status_code == 422

    other_call = await closed_call(session, projects)
    elsewhere = await decide(projects, other_call, approve(good))
    assert elsewhere.status_code == 404
    assert elsewhere.json()["code"] == "application.not_found"

    for application in (good, greedy):
        assert await status_of(session, application) == "in_review"
    assert await session.scalar(sa.select(sa.func.count()).select_from(Project)) == 0
    assert await outbox(session, "project.approved") == []
    # No number was used up by the failed batches.
    again = await decide(projects, call, approve(good))
    assert again.json()["decisions"][0]["project_number"] == "2026-ZDYF-0001"


async def test_approved_and_rejected_are_final(session: AsyncSession, projects: Projects) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    approved = await insert_application(session, projects, call)
    rejected = await insert_application(session, projects, call, who="applicant2")
    assert (await decide(projects, call, approve(approved), reject(rejected))).status_code == 200
    for application, state in ((approved, "approved"), (rejected, "rejected")):
        for item in (approve(application), reserve(application), reject(application)):
            again = await decide(projects, call, item)
            assert again.status_code == 409, item
            assert again.json()["state"] == state


async def test_approvals_stay_within_the_envelope(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session, amount_fen=100_000_000)
    call = await closed_call(session, projects)
    first = await insert_application(session, projects, call, who="applicant")
    second = await insert_application(session, projects, call, who="applicant2")
    assert (await decide(projects, call, approve(first, 80_000_000))).status_code == 200

    over = await decide(projects, call, approve(second, 30_000_000))
    assert over.status_code == 409
    assert over.json()["code"] == "decision.envelope_exceeded"
    assert over.json()["remaining_fen"] == 20_000_000
    assert await status_of(session, second) == "in_review"

    fits = await decide(projects, call, approve(second, 20_000_000))
    assert fits.status_code == 200
    assert fits.json()["envelope"]["remaining_fen"] == 0


async def test_no_envelope_for_the_year_means_no_approval(
    session: AsyncSession, projects: Projects
) -> None:
    call = await closed_call(session, projects, year=2031)
    application = await insert_application(session, projects, call)
    reply = await decide(projects, call, approve(application))
    assert reply.status_code == 409
    assert reply.json()["code"] == "decision.no_envelope"
    # Reserving or rejecting spends nothing, so it needs no envelope.
    assert (await decide(projects, call, reject(application))).status_code == 200


async def test_nobody_decides_on_what_they_are_part_of(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    application = await insert_application(session, projects, call)
    other = await insert_application(session, projects, call, who="applicant2")
    version = await session.get(ApplicationVersion, (application.id, 1))
    assert version is not None
    member = {"user_id": str(projects.callers["manager"].user_id), "role": "成员", "share": 5}
    version.content = {**version.content, "team": [*version.content["team"], member]}
    await session.commit()

    reply = await decide(projects, call, approve(other), approve(application))
    assert reply.status_code == 403
    assert reply.json()["code"] == "duty.conflict"
    assert await status_of(session, other) == "in_review"
    # Another manager of the program (here an admin) may decide.
    assert (await decide(projects, call, approve(application), who="admin")).status_code == 200


async def test_only_managers_of_the_program_decide(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    application = await insert_application(session, projects, call)

    elsewhere = await decide(projects, call, approve(application), who="manager2")
    assert elsewhere.status_code == 403
    assert elsewhere.json()["code"] == "program.not_managed"
    listing = await projects.call("GET", f"/v1/calls/{call.id}/decisions", "manager2")
    assert listing.status_code == 403
    for who in ("applicant", "org_admin", "evaluator"):
        assert (await decide(projects, call, approve(application), who=who)).status_code == 403
    missing = await projects.call(
        "POST",
        f"/v1/calls/{UUID(int=1)}/decisions",
        "manager",
        json={"decisions": [approve(application)]},
    )
    assert missing.status_code == 404
    assert missing.json()["code"] == "call.not_found"
    assert await status_of(session, application) == "in_review"


async def test_a_budget_goes_with_approval_only(session: AsyncSession, projects: Projects) -> None:
    call = await closed_call(session, projects)
    application = await insert_application(session, projects, call)
    no_budget = approve(application)
    del no_budget["approved_budget_fen"]
    budget_on_reserve = {**reserve(application), "approved_budget_fen": 1}
    no_reason = {**reject(application), "reason": ""}
    for item in (no_budget, budget_on_reserve, no_reason, approve(application, 0)):
        reply = await decide(projects, call, item)
        assert reply.status_code == 422, item
        assert reply.json()["code"] == "request.invalid"


async def test_the_decision_list_is_ranked_and_shows_the_reserve(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    rejected = await insert_application(session, projects, call, who="applicant")
    waiting = await insert_application(session, projects, call, who="applicant2")
    approved = await insert_application(session, projects, call, who="colleague")
    await insert_application(
        session, projects, await closed_call(session, projects), who="applicant"
    )
    await decide(projects, call, reject(rejected), approve(approved))

    listing = await projects.call("GET", f"/v1/calls/{call.id}/decisions", "manager")
    assert listing.status_code == 200
    rows = [(r["application_id"], r["status"]) for r in listing.json()["items"]]
    assert rows == [
        (str(approved.id), "approved"),
        (str(waiting.id), "in_review"),
        (str(rejected.id), "rejected"),
    ]
    assert listing.json()["envelope"]["committed_fen"] == BUDGET

    await decide(projects, call, reserve(waiting))
    pool = await projects.call("GET", f"/v1/calls/{call.id}/reserve", "manager")
    assert [r["application_id"] for r in pool.json()["items"]] == [str(waiting.id)]


async def test_nothing_is_decided_before_the_call_closes(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    still_open = await insert_call(session, projects)
    application = await insert_application(session, projects, still_open)
    early = await decide(projects, still_open, approve(application))
    assert early.status_code == 409
    assert early.json()["code"] == "call.still_open"
    assert await status_of(session, application) == "in_review"

    projects.clock.now = still_open.closes_at  # closed from its closing second on
    assert (await decide(projects, still_open, approve(application))).status_code == 200


# --- the call's own state, its object rule, the list's pages ---------------------------------


async def call_row(session: AsyncSession, call: Call) -> Call:
    found = await session.scalar(
        sa.select(Call).where(Call.id == call.id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def test_the_first_batch_marks_the_call_decided_and_later_ones_go_on(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    first = await insert_application(session, projects, call)
    second = await insert_application(session, projects, call, who="applicant2")

    assert (await decide(projects, call, reserve(first))).status_code == 200
    assert (await call_row(session, call)).state == "decided"
    later = await decide(projects, call, approve(second))
    assert later.status_code == 200, later.text
    assert (await call_row(session, call)).state == "decided"

    moves = (
        await session.execute(
            sa.select(Transition.action, Transition.from_state, Transition.to_state).where(
                Transition.entity == "call", Transition.entity_id == call.id
            )
        )
    ).all()
    assert [tuple(m) for m in moves] == [("decided", "published", "decided")]

    # The public sees it as closed, and it still lists among the closed calls.
    shown = await projects.call("GET", f"/v1/calls/{call.id}", None)
    assert (shown.json()["state"], shown.json()["status"]) == ("decided", "closed")
    for status, listed in (("closed", True), ("open", False), ("upcoming", False)):
        found = await projects.call("GET", "/v1/calls", None, params={"status": status})
        assert (str(call.id) in {c["id"] for c in found.json()["items"]}) is listed, status
    # A decided call is not cancelled any more.
    cancel = await projects.call(
        "POST", f"/v1/calls/{call.id}/cancel", "manager", json={"reason": "撤销"}
    )
    assert cancel.status_code == 409
    assert cancel.json()["state"] == "decided"


async def test_a_failed_first_batch_leaves_the_call_published(
    session: AsyncSession, projects: Projects
) -> None:
    call = await closed_call(session, projects, year=2031)  # no envelope for 2031
    application = await insert_application(session, projects, call)
    refused = await decide(projects, call, approve(application))
    assert refused.json()["code"] == "decision.no_envelope"
    assert (await call_row(session, call)).state == "published"


async def test_a_draft_of_another_program_does_not_exist_for_its_decisions(
    session: AsyncSession, projects: Projects
) -> None:
    """One rule with the calls package: what a manager may not read is not found (404)."""
    draft = await insert_call(session, projects, state="draft", published_at=None)
    application = await insert_application(session, projects, draft)
    for who in ("manager2", "manager"):
        patched = await projects.call("PATCH", f"/v1/calls/{draft.id}", who, json={})
        decided = await decide(projects, draft, approve(application), who=who)
        listed = await projects.call("GET", f"/v1/calls/{draft.id}/decisions", who)
        if who == "manager2":
            for reply in (patched, decided, listed):
                assert reply.status_code == 404, reply.text
                assert reply.json()["code"] == "call.not_found"
        else:
            assert decided.status_code == 409  # its own manager learns the state
            assert decided.json()["state"] == "draft"
            assert listed.status_code == 200


async def test_the_decision_list_comes_in_pages(session: AsyncSession, projects: Projects) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    people = ("applicant", "applicant2", "colleague")
    applications = [await insert_application(session, projects, call, who=p) for p in people]
    await decide(projects, call, approve(applications[2]))
    path = f"/v1/calls/{call.id}/decisions"
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(3):
        page = await projects.call("GET", path, "manager", params=params)
        assert page.status_code == 200, page.text
        seen += [r["application_id"] for r in page.json()["items"]]
        if page.json()["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page.json()["next_cursor"]}
    assert len(seen) == 3
    assert seen[0] == str(applications[2].id)  # the approved one ranks first
    assert set(seen) == {str(a.id) for a in applications}
    bad = await projects.call("GET", path, "manager", params={"cursor": "bm90LWpzb24"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "pagination.invalid_cursor"


# Each request asks (at most once a second per caller) whether the caller is still active: a
# lookup per request, not per application, so not counted here.
CALLER_STILL_ACTIVE = "SELECT projects.directory_users.is_active"


async def test_a_batch_reads_teams_people_and_units_once_whatever_its_size(
    session: AsyncSession, projects: Projects, connection: AsyncConnection
) -> None:
    """Not once per application: the lookups of a batch of three equal those of a batch of one."""
    await set_envelope(session)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async def lookups(*people: str) -> int:
        call = await closed_call(session, projects)
        applications = [await insert_application(session, projects, call, who=p) for p in people]
        statements.clear()
        reply = await decide(projects, call, *(approve(a) for a in applications))
        assert reply.status_code == 200, reply.text
        return sum(
            1
            for s in statements
            if s.lstrip().upper().startswith("SELECT")
            and any(t in s for t in ("application_versions", "directory_users", "directory_org"))
            and not s.lstrip().startswith(CALLER_STILL_ACTIVE)
        )

    sync = connection.sync_connection
    assert sync is not None
    event.listen(sync, "before_cursor_execute", seen)
    try:
        one = await lookups("applicant")
        three = await lookups("applicant", "applicant2", "colleague")
    finally:
        event.remove(sync, "before_cursor_execute", seen)
    assert one == three
    assert 1 <= one <= 3  # teams; people and units of the approvals
