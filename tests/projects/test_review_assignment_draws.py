"""The random draw of the written review's experts (随机抽取), for calls that require it instead
of the optimal assignment: each application gets its experts from its qualified pool (no
conflicts, within loads), the draw is recorded and reproducible, and reserves replace
decliners in draw order."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import DeclaredConflict, ReviewRound, ReviewSettings, Transition
from services.projects.review import draw
from tests.projects.conftest import Projects
from tests.projects.test_review_assignments_experts import decline
from tests.projects.test_review_assignments_helpers import (
    applicant_application,
    application,
    assignments,
    call_in_review,
    expert,
    ids,
    live,
    review_round,
)
from tests.projects.test_review_scoring import problem

EXPERTS = [f"专家{n}" for n in range(6)]


async def drawn_round(
    session: AsyncSession,
    projects: Projects,
    *,
    method: str = "random_draw",
    max_load: int = 10,
    experts_per_item: int = 2,
    experts: bool = True,
) -> ReviewRound:
    """Three applications, six experts of their field, a call whose terms (stated before it
    closed) say how its experts are found."""
    call = await call_in_review(session, projects)
    for who in ("applicant", "colleague", "applicant2"):
        await application(session, projects, call, who)
    for name in EXPERTS if experts else ():
        await expert(session, projects, name, max_load=max_load)
    session.add(
        ReviewSettings(
            call_id=call.id,
            assignment_method=method,
            set_by=projects.callers["manager"].user_id,
            set_at=call.opens_at,
        )
    )
    await session.commit()
    return await review_round(session, projects, call, experts_per_item)


async def run_draw(
    projects: Projects, round_: ReviewRound, reserves: int = 2, who: str = "manager"
) -> dict[str, Any]:
    response = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/draws", who, json={"reserves": reserves}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_draw_gives_each_application_its_experts_and_is_reproducible(
    session: AsyncSession, projects: Projects
) -> None:
    round_ = await drawn_round(session, projects)
    record = await run_draw(projects, round_)
    assert record["algorithm"] == "sha256-rank-per-application/v1"
    seed = int(record["seed"])
    rows = await assignments(session, round_)
    assert Counter(a.application_id for a in rows) == {a.application_id: 2 for a in rows}
    assert len(rows) == 6 == record["assignments"]
    assert {a.source for a in rows} == {f"draw:{record['id']}"}
    assert live(rows) == {
        (a["application_id"], e) for a in record["applications"] for e in a["drawn"]
    }
    await session.refresh(round_)
    assert round_.state == "reviewing"

    # Anyone can redo it by hand: the application's seed, then its pool sorted by
    # sha256("seed:id") under that seed.
    everyone = sorted(ids(projects, *EXPERTS))
    for found in record["applications"]:
        assert found["pool"] == everyone
        assert found["pool_hash"] == hashlib.sha256("\n".join(everyone).encode()).hexdigest()
        digest = hashlib.sha256(f"{seed}:{found['application_id']}".encode()).digest()
        own = int.from_bytes(digest[:8], "big") >> 1
        by_hand = sorted(everyone, key=lambda e: hashlib.sha256(f"{own}:{e}".encode()).hexdigest())
        assert found["order"] == by_hand[:4]
        assert (found["drawn"], found["reserves"]) == (by_hand[:2], by_hand[2:4])
        assert found["short_by"] == 0
    # Applications draw apart: not every one the same two experts.
    assert len({tuple(a["drawn"]) for a in record["applications"]}) > 1

    verified = await projects.call("POST", f"/v1/assignment-draws/{record['id']}/verify", "manager")
    assert verified.status_code == 200, verified.text
    assert (verified.json()["matches"], verified.json()["pool_hashes_match"]) == (True, True)
    fetched = await projects.call("GET", f"/v1/assignment-draws/{record['id']}", "manager")
    assert fetched.json() == record
    actions = [
        t.action
        for t in await session.scalars(
            sa.select(Transition)
            .where(Transition.entity == "round", Transition.entity_id == round_.id)
            .order_by(Transition.id)
        )
    ]
    assert actions[-2:] == ["experts_drawn", "review_started"]


async def test_conflicts_are_never_drawn_and_are_recorded_as_left_out(
    session: AsyncSession, projects: Projects
) -> None:
    round_ = await drawn_round(session, projects)
    conflicted = projects.callers["专家0"].user_id
    session.add(
        DeclaredConflict(
            expert_id=conflicted, person_id=projects.callers["applicant"].user_id, reason="合作者"
        )
    )
    await session.commit()
    mine = await applicant_application(session, round_, projects)
    record = await run_draw(projects, round_, reserves=5)
    found = next(a for a in record["applications"] if a["application_id"] == mine)
    assert str(conflicted) not in found["pool"] + found["order"]
    assert found["left_out"] == [{"expert_id": str(conflicted), "reasons": ["conflict"]}]
    assert (len(found["drawn"]), len(found["reserves"])) == (2, 3)
    assert (mine, str(conflicted)) not in live(await assignments(session, round_))


async def test_the_load_cap_holds_across_applications(
    session: AsyncSession, projects: Projects
) -> None:
    round_ = await drawn_round(session, projects, max_load=1)
    record = await run_draw(projects, round_)
    rows = await assignments(session, round_)
    assert len(rows) == 6
    assert set(Counter(a.expert_id for a in rows).values()) == {1}
    passed = [p for a in record["applications"] for p in a["passed_over"]]
    assert {p["reason"] for p in passed} <= {"no_load_left"}
    verified = await projects.call("POST", f"/v1/assignment-draws/{record['id']}/verify", "manager")
    assert verified.json()["matches"] is True


async def test_a_decliner_is_replaced_by_the_next_reserve(
    session: AsyncSession, projects: Projects
) -> None:
    round_ = await drawn_round(session, projects)
    record = await run_draw(projects, round_)
    found = record["applications"][0]
    first, reserve = found["drawn"][0], found["reserves"][0]
    names = {str(projects.callers[n].user_id): n for n in EXPERTS}
    rows = await assignments(session, round_)
    theirs = next(
        a
        for a in rows
        if str(a.application_id) == found["application_id"] and str(a.expert_id) == first
    )
    declined = await decline(projects, str(theirs.id), names[first], reason="时间冲突")
    assert declined.status_code == 200, declined.text
    now_on = [
        a
        for a in await assignments(session, round_)
        if str(a.application_id) == found["application_id"] and a.status == "invited"
    ]
    assert {str(a.expert_id) for a in now_on} == {found["drawn"][1], reserve}
    replacement = next(a for a in now_on if str(a.expert_id) == reserve)
    assert replacement.source == f"reserve:{record['id']}"


async def test_each_method_refuses_the_other(session: AsyncSession, projects: Projects) -> None:
    round_ = await drawn_round(session, projects)
    refused = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/assignment-runs", "manager", json={"seed": 0}
    )
    problem(refused, 409, "assignment.draw_required")
    # Nor does the manager pick an expert by hand where the terms require a draw.
    await run_draw(projects, round_)
    drawn = await assignments(session, round_)
    spare = await expert(session, projects, "专家外")
    by_hand = {"expert_id": str(spare.user_id), "reason": "该专家熟悉此领域"}
    added = await projects.call(
        "POST",
        f"/v1/review-rounds/{round_.id}/assignments",
        "manager",
        json={"application_id": str(drawn[0].application_id), **by_hand},
    )
    problem(added, 409, "assignment.draw_required")
    swapped = await projects.call(
        "POST", f"/v1/assignments/{drawn[0].id}/swap", "manager", json=by_hand
    )
    problem(swapped, 409, "assignment.draw_required")
    assert [(a.expert_id, a.status) for a in await assignments(session, round_)] == [
        (a.expert_id, a.status) for a in drawn
    ]

    optimal = await drawn_round(session, projects, method="optimal", experts=False)
    refused = await projects.call(
        "POST", f"/v1/review-rounds/{optimal.id}/draws", "manager", json={}
    )
    problem(refused, 409, "assignment.optimal_required")
    assert await assignments(session, optimal) == []


async def test_the_method_is_fixed_once_the_call_closes(
    session: AsyncSession, projects: Projects
) -> None:
    round_ = await drawn_round(session, projects)
    path = f"/v1/calls/{round_.call_id}/review-settings"
    read = await projects.call("GET", path, "manager")
    assert read.json()["assignment_method"] == "random_draw"
    changed = await projects.call("PUT", path, "manager", json={"assignment_method": "optimal"})
    problem(changed, 409, "review.settings_fixed")


async def test_another_programs_manager_cannot_run_or_read_the_draw(
    session: AsyncSession, projects: Projects
) -> None:
    round_ = await drawn_round(session, projects)
    attempts = [
        ("POST", f"/v1/review-rounds/{round_.id}/draws", {}),
        ("GET", f"/v1/calls/{round_.call_id}/review-settings", None),
        ("PUT", f"/v1/calls/{round_.call_id}/review-settings", {"assignment_method": "optimal"}),
    ]
    for method, path, body in attempts:
        problem(
            await projects.call(method, path, "manager2", json=body), 403, "program.not_managed"
        )
    assert await assignments(session, round_) == []
    record = await run_draw(projects, round_)
    for method, path in (
        ("GET", f"/v1/assignment-draws/{record['id']}"),
        ("POST", f"/v1/assignment-draws/{record['id']}/verify"),
    ):
        other = await projects.call(method, path, "manager2")
        assert other.status_code in (403, 404), other.text
        assert str(record["seed"]) not in other.text
        for role in ("expert", "applicant"):
            assert (await projects.call(method, path, role)).status_code == 403, path


def test_the_per_application_draw_has_a_known_answer() -> None:
    pool = [f"0193a5c0-0000-7000-8000-00000000000{c}" for c in "abcd"]
    app = "0193a5c0-0000-7000-8000-0000000000ff"
    own = int.from_bytes(hashlib.sha256(f"7:{app}".encode()).digest()[:8], "big") >> 1
    assert draw.application_seed(7, app) == own
    (found,) = draw.draw_per_application({app: pool}, {app: 2}, 7, 1, dict.fromkeys(pool, 1))
    assert found.order == draw.draw_order(pool, own)[:3]
    assert (found.drawn, found.reserves) == (found.order[:2], found.order[2:3])
    (none_left,) = draw.draw_per_application({app: pool}, {app: 1}, 7, 0, dict.fromkeys(pool, 0))
    assert (none_left.drawn, len(none_left.passed_over)) == ([], 4)
