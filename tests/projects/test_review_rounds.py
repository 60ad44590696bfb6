"""Review rounds: opened by the program's managers on a closed call with applications that
passed the formal check, one per kind; and the items they review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ApplicationVersion, Call, ReviewRound, Transition
from services.projects.review.rounds.items import round_items
from tests.conftest import org_code
from tests.projects.conftest import TEMPLATE, ZDZX, Projects, closed_call, insert_call
from tests.projects.review_factories import make_application, make_expert, make_round


@pytest.fixture
async def call(session: AsyncSession, projects: Projects) -> Call:
    """A closed ZDYF call with one application in review."""
    closed = await closed_call(session, projects)
    await make_application(session, projects, closed)
    return closed


async def open_round(projects: Projects, call: Call, who: str = "manager", **overrides: Any) -> Any:
    body: dict[str, Any] = {"deadline": (projects.clock.now + timedelta(days=20)).isoformat()}
    body.update(overrides)
    return await projects.call("POST", f"/v1/calls/{call.id}/review-rounds", who, json=body)


async def test_a_manager_opens_a_round_with_the_calls_terms(
    session: AsyncSession, projects: Projects, call: Call
) -> None:
    reply = await open_round(projects, call)

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["kind"] == "proposal"
    assert body["state"] == "assigning"
    assert body["experts_per_item"] == 3  # the call's experts_per_application
    assert body["review_template"] == TEMPLATE
    assert body["options"] == {
        "one_per_organization": False,
        "normalise": False,
        "disagreement_sd": 15,
    }
    assert body["co_applicant_years"] == 3
    assert body["applications"] == 1
    assert body["deadline"].endswith("+08:00")
    recorded = await session.scalar(
        sa.select(Transition).where(Transition.entity == "round", Transition.action == "opened")
    )
    assert recorded is not None
    assert str(recorded.entity_id) == body["id"]
    assert recorded.to_state == "assigning"
    assert recorded.actor_id == str(projects.callers["manager"].user_id)


async def test_a_round_takes_its_own_numbers_and_options(
    session: AsyncSession, projects: Projects, call: Call
) -> None:
    reply = await open_round(
        projects,
        call,
        experts_per_item=5,
        co_applicant_years=5,
        options={"one_per_organization": True, "normalise": True, "disagreement_sd": 12.5},
    )

    assert reply.status_code == 201, reply.text
    assert reply.json()["experts_per_item"] == 5
    assert reply.json()["co_applicant_years"] == 5
    assert reply.json()["options"]["one_per_organization"] is True
    assert reply.json()["options"]["disagreement_sd"] == 12.5


@pytest.mark.parametrize(
    "overrides",
    [
        {"experts_per_item": 0},
        {"experts_per_item": 16},
        {"co_applicant_years": 11},
        {"options": {"disagreement_sd": 0}},
        {"options": {"unknown": True}},
        {"review_template": TEMPLATE},  # a proposal round scores on the call's template
        {"deadline": "2026-04-01T10:00:00"},  # naive: which moment?
    ],
)
async def test_bad_round_terms_are_refused(
    session: AsyncSession, projects: Projects, call: Call, overrides: dict[str, Any]
) -> None:
    reply = await open_round(projects, call, **overrides)

    assert reply.status_code == 422, reply.text
    assert await session.scalar(sa.select(sa.func.count()).select_from(ReviewRound)) == 0


async def test_a_deadline_in_the_past_is_refused(projects: Projects, call: Call) -> None:
    reply = await open_round(projects, call, deadline=projects.clock.now.isoformat())

    assert reply.status_code == 422
    assert reply.json()["code"] == "round.deadline_invalid"


async def test_no_round_while_the_call_is_open(session: AsyncSession, projects: Projects) -> None:
    still_open = await insert_call(session, projects)

    reply = await open_round(projects, still_open)

    assert reply.status_code == 409
    assert reply.json()["code"] == "call.still_open"


async def test_one_proposal_round_per_call(projects: Projects, call: Call) -> None:
    assert (await open_round(projects, call)).status_code == 201

    reply = await open_round(projects, call)

    assert reply.status_code == 409
    assert reply.json()["code"] == "round.exists"


async def test_no_round_without_applications_in_review(
    session: AsyncSession, projects: Projects
) -> None:
    empty = await closed_call(session, projects)
    await make_application(session, projects, empty, status="endorsed")

    reply = await open_round(projects, empty)

    assert reply.status_code == 409
    assert reply.json()["code"] == "round.no_applications"


async def test_no_round_on_a_cancelled_call(session: AsyncSession, projects: Projects) -> None:
    cancelled = await closed_call(session, projects, state="cancelled")

    reply = await open_round(projects, cancelled)

    assert reply.status_code == 409
    assert reply.json()["state"] == "cancelled"


async def test_only_the_programs_managers_open_and_read_rounds(
    session: AsyncSession, projects: Projects, call: Call
) -> None:
    assert (await open_round(projects, call, "manager2")).status_code == 403
    assert (await open_round(projects, call, "applicant")).status_code == 403
    created = await open_round(projects, call)
    path = f"/v1/review-rounds/{created.json()['id']}"

    assert (await projects.call("GET", path, "manager2")).status_code == 403
    assert (await projects.call("GET", path, "applicant")).status_code == 403
    assert (await projects.call("GET", path, "expert")).status_code == 403
    mine = await projects.call("GET", path, "manager")
    assert mine.status_code == 200
    assert mine.json() == created.json()
    assert (await projects.call("GET", path, "admin")).status_code == 200


async def test_a_calls_rounds_are_listed_for_its_managers(
    session: AsyncSession, projects: Projects, call: Call
) -> None:
    created = await open_round(projects, call)
    path = f"/v1/calls/{call.id}/review-rounds"

    listed = await projects.call("GET", path, "manager")

    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["items"]] == [created.json()["id"]]
    assert listed.json()["next_cursor"] is None
    assert (await projects.call("GET", path, "manager2")).status_code == 403
    # Filters work, or are refused: never silently dropped.
    for params, expected in (
        ({"kind": "proposal"}, [created.json()["id"]]),
        ({"kind": "acceptance"}, []),
        ({"state": "closed"}, []),
    ):
        filtered = await projects.call("GET", path, "manager", params=params)
        assert [r["id"] for r in filtered.json()["items"]] == expected, params
    assert (await projects.call("GET", path, "manager", params={"kind": "x"})).status_code == 422
    unknown = await projects.call("GET", path, "manager", params={"program_id": str(call.id)})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "query.unknown_parameter"
    assert unknown.json()["unknown"] == ["program_id"]


async def test_a_zdzx_round_is_for_zdzx_managers(session: AsyncSession, projects: Projects) -> None:
    zdzx = await closed_call(session, projects, program_id=ZDZX)
    await make_application(session, projects, zdzx)

    assert (await open_round(projects, zdzx, "manager")).status_code == 403
    assert (await open_round(projects, zdzx, "manager2")).status_code == 201


async def test_unknown_rounds_and_calls_are_404(projects: Projects) -> None:
    missing = "0193a5c0-0000-7000-8000-00000000ffff"

    assert (
        await projects.call("GET", f"/v1/review-rounds/{missing}", "manager")
    ).status_code == 404
    reply = await projects.call(
        "POST",
        f"/v1/calls/{missing}/review-rounds",
        "manager",
        json={"deadline": (projects.clock.now + timedelta(days=9)).isoformat()},
    )
    assert reply.status_code == 404


# --- the items of a round ---------------------------------------------------------------------


async def test_round_items_read_the_submitted_version(
    session: AsyncSession, projects: Projects
) -> None:
    call = await closed_call(session, projects)
    member = await make_expert(session, projects, "member_expert")
    application = await make_application(
        session,
        projects,
        call,
        team=[member],
        avoid=[
            {"user_id": projects.callers["expert"].user_id, "reason": "竞争关系"},
            {"credit_code": org_code(2)},
        ],
        subjects=["210.20", "230.10"],
        keywords=["节水", "小麦"],
    )
    # A later draft (not submitted) says something else: the review judges what was submitted.
    session.add(
        ApplicationVersion(
            application_id=application.id,
            version=2,
            content={"subject_codes": ["999"], "keywords": [], "team": [], "avoid": []},
            saved_by=projects.callers["applicant"].user_id,
        )
    )
    application.version = 2
    await make_application(session, projects, call, who="applicant2", status="withdrawn")
    review = await make_round(session, projects, call)

    (item,) = await round_items(session, review)

    assert item.application_id == application.id
    assert item.applicant_id == projects.callers["applicant"].user_id
    assert item.org_id == projects.orgs[1]
    assert item.org_credit_code == org_code(1)
    assert item.team_ids == {projects.callers["applicant"].user_id, member.user_id}
    assert item.avoid_people == {projects.callers["expert"].user_id}
    assert item.avoid_codes == {org_code(2)}
    assert item.avoid_reasons[str(projects.callers["expert"].user_id)] == "竞争关系"
    assert item.subjects == ("210.20", "230.10")
    assert item.keywords == {"节水", "小麦"}
    assert item.title == application.title
    assert await round_items(session, review, application_ids=[]) == []
