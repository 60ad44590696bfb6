"""The standing project reserve (项目储备库) of a program, across its calls and years: listed by
the program's managers with what each entry waits for, since when and its review result;
funded later in a later call's round or by the program's own decision in a later year, within
that year's envelope; dropped with a reason; expired after the program's term by a job.
Another program's manager neither sees nor funds it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Call, ProgramManager, Project, Transition
from services.projects.reserve.expiry import expire_once
from shared.auth.roles import Role
from shared.clock import SHANGHAI
from tests.projects.conftest import (
    ZDYF,
    ZDZX,
    Projects,
    add_person,
    closed_call,
    insert_application,
)
from tests.projects.test_decisions import (
    approve,
    decide,
    outbox,
    reserve,
    set_envelope,
    status_of,
)
from tests.projects.test_review_scoring_results import close, scored_round

RESERVE = f"/v1/programs/{ZDYF}/reserve"


async def reserved_in(
    session: AsyncSession, projects: Projects, who: str = "applicant", **call: Any
) -> tuple[Call, Application]:
    """A closed call of 重点研发计划 (2026 unless told) whose one application is reserved."""
    found = await closed_call(session, projects, **call)
    application = await insert_application(session, projects, found, who=who)
    reply = await decide(projects, found, reserve(application))
    assert reply.status_code == 200, reply.text
    return found, application


async def fund(
    projects: Projects,
    application: Application,
    year: int,
    budget: int = 80_000_000,
    who: str = "manager",
    program_id: UUID = ZDYF,
) -> httpx.Response:
    return await projects.call(
        "POST",
        f"/v1/programs/{program_id}/reserve/{application.id}/funding",
        who,
        json={"year": year, "approved_budget_fen": budget, "reason": "储备项目，本年度资金到位"},
    )


async def drop(
    projects: Projects, application: Application, who: str = "manager", **body: Any
) -> httpx.Response:
    return await projects.call(
        "POST",
        f"{RESERVE}/{application.id}/drop",
        who,
        json={"reason": "研究方向已由其他项目覆盖"} | body,
    )


async def moves(session: AsyncSession, application: Application) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        sa.select(Transition.action, Transition.from_state, Transition.to_state, Transition.details)
        .where(Transition.entity == "application", Transition.entity_id == application.id)
        .order_by(Transition.id)
    )
    return [tuple(row) for row in rows]


async def project_of(session: AsyncSession, application: Application) -> Project | None:
    return await session.scalar(sa.select(Project).where(Project.application_id == application.id))


# --- the list ---------------------------------------------------------------------------------


async def test_the_program_lists_its_reserve_across_calls_with_the_review_result(
    session: AsyncSession, projects: Projects
) -> None:
    review = await scored_round(session, projects)
    assert (await close(projects, review)).status_code == 200
    best = review.applications["colleague"]  # ranked first, 87.0
    assert (await decide(projects, review.call, reserve(best))).status_code == 200
    reserved_at = projects.clock.now
    projects.clock.advance(days=200)
    later_call, later = await reserved_in(session, projects, year=2027)

    listed = await projects.call("GET", RESERVE, "manager")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["program_id"], body["reserve_months"], body["next_cursor"]) == (
        str(ZDYF),
        24,
        None,
    )
    first, second = body["items"]  # oldest first, whatever call it came from
    assert first["application_id"] == str(best.id)
    assert (first["call_id"], first["call_year"]) == (str(review.call.id), 2026)
    assert (first["review_rank"], first["review_score"], first["review_ranked_by"]) == (
        1,
        87.0,
        "trimmed_mean",
    )
    assert first["requested_budget_fen"] == best.requested_budget_fen
    assert first["reserved_by"] == str(projects.callers["manager"].user_id)
    assert first["reserve_reason"] == "列入储备"
    shanghai = reserved_at.astimezone(SHANGHAI)
    assert first["reserved_at"] == shanghai.isoformat()
    assert first["expires_at"] == shanghai.replace(year=2028).isoformat()
    assert (second["application_id"], second["call_id"]) == (str(later.id), str(later_call.id))
    assert (second["review_rank"], second["review_ranked_by"]) == (None, None)

    paged = (await projects.call("GET", f"{RESERVE}?limit=1", "manager")).json()
    assert [i["application_id"] for i in paged["items"]] == [str(best.id)]
    rest = await projects.call("GET", f"{RESERVE}?cursor={paged['next_cursor']}", "manager")
    assert [i["application_id"] for i in rest.json()["items"]] == [str(later.id)]
    assert (await projects.call("GET", RESERVE, "admin")).status_code == 200


async def test_only_the_programs_managers_read_its_reserve(
    session: AsyncSession, projects: Projects
) -> None:
    await reserved_in(session, projects)
    other = await projects.call("GET", RESERVE, "manager2")  # manages 重大专项 only
    assert other.status_code == 403
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "program.not_managed"
    own = await projects.call("GET", f"/v1/programs/{ZDZX}/reserve", "manager2")
    assert (own.status_code, own.json()["items"]) == (200, [])
    for who in ("applicant", "org_admin", "expert"):
        assert (await projects.call("GET", RESERVE, who)).status_code == 403, who
    assert (await projects.call("GET", RESERVE, None)).status_code == 401
    unknown = await projects.call("GET", f"/v1/programs/{UUID(int=7)}/reserve", "manager")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "program.not_found")


# --- funded later -----------------------------------------------------------------------------


async def test_a_later_calls_round_funds_an_entry_within_its_years_envelope(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session, year=2027, amount_fen=50_000_000)
    first_call, waiting = await reserved_in(session, projects)
    projects.clock.advance(days=300)
    later = await closed_call(session, projects, year=2027, title="2027年度重点研发计划")
    own = await insert_application(session, projects, later, who="applicant2")

    # The 2027 envelope (50,000,000 fen) is what the round approves within, the entry included.
    over = await decide(projects, later, approve(own, 30_000_000), approve(waiting, 30_000_000))
    assert over.status_code == 409
    assert (over.json()["code"], over.json()["remaining_fen"]) == (
        "decision.envelope_exceeded",
        50_000_000,
    )
    assert await status_of(session, waiting) == "reserved"
    assert await status_of(session, own) == "in_review"

    # Another program's call does not reach 重点研发计划's reserve.
    elsewhere = await closed_call(session, projects, ZDZX, year=2027, title="2027年度重大专项")
    outside = await decide(projects, elsewhere, approve(waiting, 30_000_000), who="manager2")
    assert (outside.status_code, outside.json()["code"]) == (404, "application.not_found")

    funded = await decide(projects, later, approve(own, 30_000_000), approve(waiting, 20_000_000))
    assert funded.status_code == 200, funded.text
    decided = {d["application_id"]: d for d in funded.json()["decisions"]}
    assert decided[str(waiting.id)]["status"] == "approved"
    assert decided[str(waiting.id)]["project_number"].startswith("2027-ZDYF-")
    assert funded.json()["envelope"]["remaining_fen"] == 0
    project = await project_of(session, waiting)
    assert project is not None
    # paid from 2027, still the project of the call it applied to
    assert (project.year, project.call_id) == (2027, first_call.id)
    actions = await moves(session, waiting)
    assert [a[:3] for a in actions] == [
        ("decision.reserve", "in_review", "reserved"),
        ("decision.approve", "reserved", "approved"),
    ]
    assert actions[1][3] | {"project_number": None} == {
        "approved_budget_fen": 20_000_000,
        "project_number": None,
        "from_reserve": True,
        "year": 2027,
        "decided_in_call": str(later.id),
    }
    assert (await projects.call("GET", RESERVE, "manager")).json()["items"] == []


async def test_the_program_funds_an_entry_itself_in_a_later_year_within_that_envelope(
    session: AsyncSession, projects: Projects
) -> None:
    _, waiting = await reserved_in(session, projects)

    same_year = await fund(projects, waiting, 2026)
    assert (same_year.status_code, same_year.json()["code"]) == (422, "decision.invalid")
    assert same_year.headers["content-type"].startswith("application/problem+json")
    no_envelope = await fund(projects, waiting, 2027)
    assert (no_envelope.status_code, no_envelope.json()["code"]) == (409, "decision.no_envelope")

    await set_envelope(session, year=2027, amount_fen=60_000_000)
    over = await fund(projects, waiting, 2027, budget=60_000_001)
    assert (over.status_code, over.json()["code"]) == (409, "decision.envelope_exceeded")
    assert (over.json()["year"], over.json()["remaining_fen"]) == (2027, 60_000_000)
    too_much = await fund(projects, waiting, 2027, budget=waiting.requested_budget_fen + 1)
    assert (too_much.status_code, too_much.json()["code"]) == (422, "decision.invalid")
    assert await status_of(session, waiting) == "reserved"
    assert await project_of(session, waiting) is None  # nothing half-written

    # Another program's manager: not their program, and not in their program's reserve.
    assert (await fund(projects, waiting, 2027, who="manager2")).status_code == 403
    theirs = await fund(projects, waiting, 2027, who="manager2", program_id=ZDZX)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "reserve.entry_not_found")
    assert (await fund(projects, waiting, 2027, who="applicant")).status_code == 403

    funded = await fund(projects, waiting, 2027, budget=60_000_000)
    assert funded.status_code == 200, funded.text
    decision, envelope = funded.json()["decision"], funded.json()["envelope"]
    assert (decision["status"], decision["approved_budget_fen"]) == ("approved", 60_000_000)
    assert decision["project_number"] == "2027-ZDYF-0001"
    assert (envelope["year"], envelope["committed_fen"], envelope["remaining_fen"]) == (
        2027,
        60_000_000,
        0,
    )
    project = await project_of(session, waiting)
    assert project is not None
    assert (project.year, project.status) == (2027, "in_notice")
    assert project.notice_ends_at == projects.clock.now + timedelta(days=7)
    [approved] = [p for p in await outbox(session, "project.approved")]
    assert (approved["year"], approved["project_number"]) == (2027, "2027-ZDYF-0001")
    actions = await moves(session, waiting)
    assert actions[-1][:3] == ("decision.approve", "reserved", "approved")
    assert actions[-1][3]["from_reserve"] is True
    assert actions[-1][3]["decided_in_call"] is None
    again = await fund(projects, waiting, 2027, budget=1)
    assert (again.status_code, again.json()["code"]) == (404, "reserve.entry_not_found")


async def test_a_past_year_is_not_funded(session: AsyncSession, projects: Projects) -> None:
    _, waiting = await reserved_in(session, projects)
    await set_envelope(session, year=2027)
    projects.clock.advance(days=700)  # 2028 in Shanghai
    late = await fund(projects, waiting, 2027)
    assert (late.status_code, late.json()["code"]) == (422, "decision.invalid")
    assert late.json()["current_year"] == 2028


async def test_nobody_funds_or_drops_what_their_organization_applied_for(
    session: AsyncSession, projects: Projects
) -> None:
    _, waiting = await reserved_in(session, projects)  # by 王芳 of organization 1
    await set_envelope(session, year=2027)
    insider = await add_person(session, projects, "insider", (Role.program_manager,), 1, "黄军")
    session.add(ProgramManager(program_id=ZDYF, user_id=insider.user_id))
    await session.commit()
    for reply in (
        await fund(projects, waiting, 2027, who="insider"),
        await drop(projects, waiting, "insider"),
    ):
        assert (reply.status_code, reply.json()["code"]) == (403, "duty.conflict")
    assert await status_of(session, waiting) == "reserved"


# --- dropped and expired ----------------------------------------------------------------------


async def test_a_dropped_entry_is_rejected_with_the_reason(
    session: AsyncSession, projects: Projects
) -> None:
    _, waiting = await reserved_in(session, projects)
    assert (await drop(projects, waiting, "manager2")).status_code == 403
    assert (await drop(projects, waiting, "applicant")).status_code == 403
    blank = await drop(projects, waiting, reason=" ")
    assert (blank.status_code, blank.json()["code"]) == (422, "request.invalid")
    assert await status_of(session, waiting) == "reserved"

    dropped = await drop(projects, waiting)
    assert dropped.status_code == 200, dropped.text
    decision = dropped.json()["decision"]
    assert (decision["status"], decision["decision_reason"]) == (
        "rejected",
        "研究方向已由其他项目覆盖",
    )
    actions = await moves(session, waiting)
    assert actions[-1][:3] == ("reserve.dropped", "reserved", "rejected")
    told = [e for e in await outbox(session, "application.decided") if e["outcome"] == "rejected"]
    assert [e["application_id"] for e in told] == [str(waiting.id)]
    assert (await drop(projects, waiting)).status_code == 404
    assert (await projects.call("GET", RESERVE, "manager")).json()["items"] == []


async def test_entries_expire_after_the_programs_term(
    session: AsyncSession, projects: Projects
) -> None:
    term = f"/v1/programs/{ZDYF}/reserve-term"
    body = {"months": 12, "reason": "储备期缩短为一年"}
    assert (await projects.call("PUT", term, "manager2", json=body)).status_code == 403
    assert (await projects.call("PUT", term, "applicant", json=body)).status_code == 403
    zero = await projects.call("PUT", term, "manager", json=body | {"months": 0})
    assert (zero.status_code, zero.json()["code"]) == (422, "request.invalid")
    set_term = await projects.call("PUT", term, "manager", json=body)
    assert set_term.status_code == 200, set_term.text
    assert set_term.json()["reserve_months"] == 12

    _, old = await reserved_in(session, projects)
    projects.clock.advance(days=200)
    _, young = await reserved_in(session, projects, who="applicant2")

    projects.clock.advance(days=150)  # 350 days: nothing is a year old
    assert await expire_once(projects.app, projects.clock.now) == 0
    projects.clock.advance(days=20)
    assert await expire_once(projects.app, projects.clock.now) == 1
    assert await status_of(session, old) == "rejected"
    assert await status_of(session, young) == "reserved"
    actions = await moves(session, old)
    assert actions[-1][:3] == ("reserve.expired", "reserved", "rejected")
    assert actions[-1][3]["reserve_months"] == 12
    listed = (await projects.call("GET", RESERVE, "manager")).json()
    assert [i["application_id"] for i in listed["items"]] == [str(young.id)]
    assert listed["reserve_months"] == 12
    history = await session.scalar(
        sa.select(Transition.details).where(
            Transition.entity == "program", Transition.action == "reserve_term.set"
        )
    )
    assert history == {"reserve_months": 12, "previous_months": 24}
