"""Automatic assignment: dry runs (optimal, reproducible, conflict-free, within loads and the
one-per-organization rule, reporting who cannot be served and why) and applying them
atomically, refused once anything changed since the dry run."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import AssignmentRun, DeclaredConflict, ReviewRound, Transition
from tests.projects.conftest import Projects
from tests.projects.test_review_assignments_helpers import (
    SUBJECT,
    applicant_application,
    application,
    apply,
    assignments,
    ban_from_reviewing,
    call_in_review,
    dry_run,
    expert,
    ids,
    live,
    pairs_of,
    review_round,
    team_of,
)


async def three_applications_five_experts(
    session: AsyncSession, projects: Projects, experts_per_item: int = 2, **options: object
) -> ReviewRound:
    call = await call_in_review(session, projects)
    for who in ("applicant", "colleague", "applicant2"):
        await application(session, projects, call, who)
    for n, keywords in enumerate([("小麦", "栽培"), ("小麦",), ("栽培",), (), ()]):
        await expert(session, projects, f"专家{n}", keywords=keywords)
    return await review_round(session, projects, call, experts_per_item, **options)


async def test_a_dry_run_then_apply_creates_exactly_the_proposed_assignments(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)

    run = await dry_run(projects, round_)
    assert len(run["pairs"]) == 6
    assert run["unassignable"] == []
    per_application = Counter(p["application_id"] for p in run["pairs"])
    assert set(per_application.values()) == {2}
    # The two experts sharing keywords are the best: every application gets 专家0 (420).
    best = str(projects.callers["专家0"].user_id)
    assert Counter(p["expert_id"] for p in run["pairs"])[best] == 3
    for pair in run["pairs"]:
        assert pair["explanation"]["primary_code"] == SUBJECT
        assert pair["score"] == pair["explanation"]["score"] >= 400
    assert run["quality"]["total"] == sum(p["score"] for p in run["pairs"])
    assert run["quality"]["assigned"] == run["quality"]["demand"] == 6
    assert run["quality"]["min_application_score"] is not None
    assert sum(run["quality"]["load_distribution"].values()) == run["quality"]["experts_used"]
    assert run["applied_at"] is None
    assert await assignments(session, round_) == []

    fetched = await projects.call("GET", f"/v1/assignment-runs/{run['id']}", "manager")
    assert fetched.status_code == 200
    assert fetched.json()["pairs"] == run["pairs"]

    applied = await apply(projects, run)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["round_state"] == "reviewing"
    assert body["short"] == []
    rows = await assignments(session, round_)
    assert live(rows) == pairs_of(run)
    assert {a.source for a in rows} == {f"auto:{run['id']}"}
    assert {a.status for a in rows} == {"invited"}
    scores = {(p["application_id"], p["expert_id"]): p["score"] for p in run["pairs"]}
    assert all(a.match_score == scores[(str(a.application_id), str(a.expert_id))] for a in rows)
    await session.refresh(round_)
    assert round_.state == "reviewing"

    listed = await projects.call("GET", f"/v1/review-rounds/{round_.id}/assignments", "manager")
    assert {(a["application_id"], a["expert_id"]) for a in listed.json()["items"]} == pairs_of(run)


async def test_the_applicant_learns_how_many_experts_never_who(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    run = await dry_run(projects, round_)
    assert (await apply(projects, run)).status_code == 200
    mine = await applicant_application(session, round_, projects)

    history = await projects.call("GET", f"/v1/applications/{mine}/history", "applicant")
    assert history.status_code == 200
    assigned = [h for h in history.json()["items"] if h["action"] == "experts_assigned"]
    assert [h["details"]["count"] for h in assigned] == [2]
    for n in range(5):
        assert str(projects.callers[f"专家{n}"].user_id) not in history.text
        assert f"专家{n}" not in history.text

    round_rows = await session.scalars(
        sa.select(Transition)
        .where(Transition.entity == "round", Transition.entity_id == round_.id)
        .order_by(Transition.id)
    )
    applied, started = list(round_rows)[-2:]
    assert applied.action == "assignment_applied"
    assert {a["expert_id"] for a in applied.details["assignments"]} == {e for _, e in pairs_of(run)}
    assert (started.action, started.from_state, started.to_state) == (
        "review_started",
        "assigning",
        "reviewing",
    )


async def test_a_run_applies_once(projects: Projects, session: AsyncSession) -> None:
    round_ = await three_applications_five_experts(session, projects)
    run = await dry_run(projects, round_)
    assert (await apply(projects, run)).status_code == 200

    again = await apply(projects, run)
    assert again.status_code == 409
    assert again.json()["code"] == "assignment.run_stale"
    assert len(await assignments(session, round_)) == 6


async def test_a_manual_assignment_since_the_dry_run_makes_it_stale(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    run = await dry_run(projects, round_)
    added = await projects.call(
        "POST",
        f"/v1/review-rounds/{round_.id}/assignments",
        "manager",
        json={
            "application_id": run["pairs"][0]["application_id"],
            "expert_id": str(projects.callers["专家4"].user_id)
            if run["pairs"][0]["expert_id"] != str(projects.callers["专家4"].user_id)
            else str(projects.callers["专家3"].user_id),
            "reason": "该专家熟悉河西走廊节水农业",
        },
    )
    assert added.status_code == 201, added.text

    stale = await apply(projects, run)
    assert stale.status_code == 409
    assert stale.json()["code"] == "assignment.run_stale"
    assert len(await assignments(session, round_)) == 1  # only the manual one
    assert (await session.get(AssignmentRun, run["id"])) is not None


async def test_a_conflict_declared_since_the_dry_run_makes_it_stale(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    run = await dry_run(projects, round_)
    session.add(
        DeclaredConflict(
            expert_id=projects.callers["专家0"].user_id,
            person_id=projects.callers["applicant"].user_id,
            reason="与申请人为多年合作者",
        )
    )
    await session.commit()

    stale = await apply(projects, run)
    assert stale.status_code == 409
    assert stale.json()["code"] == "assignment.run_stale"
    assert await assignments(session, round_) == []

    fresh = await dry_run(projects, round_)
    applicant_app = await applicant_application(session, round_, projects)
    assert (applicant_app, str(projects.callers["专家0"].user_id)) not in pairs_of(fresh)
    assert (await apply(projects, fresh)).status_code == 200


async def test_the_same_seed_gives_the_same_assignment(
    projects: Projects, session: AsyncSession
) -> None:
    call = await call_in_review(session, projects)
    for who in ("applicant", "colleague", "applicant2"):
        await application(session, projects, call, who)
    for n in range(6):  # all equally good: only the seed decides among them
        await expert(session, projects, f"同行{n}")
    round_ = await review_round(session, projects, call, 2)

    first = await dry_run(projects, round_, seed=11)
    second = await dry_run(projects, round_, seed=11)
    assert first["id"] != second["id"]
    assert first["pairs"] == second["pairs"]
    assert first["fingerprint"] == second["fingerprint"]
    runs = await projects.call("GET", f"/v1/review-rounds/{round_.id}/assignment-runs", "manager")
    assert [r["id"] for r in runs.json()["items"]] == [second["id"], first["id"]]


async def test_no_conflicted_pair_is_ever_proposed(
    projects: Projects, session: AsyncSession
) -> None:
    call = await call_in_review(session, projects)
    # The best matches (shared keywords), each barred from `applicant`'s application only:
    await expert(session, projects, "组员专家", keywords=("小麦", "栽培"))  # on its team
    await expert(session, projects, "同单位专家", org=1, keywords=("小麦", "栽培"))  # 兰州大学
    own = await application(
        session,
        projects,
        call,
        "applicant",
        team=[*team_of(projects, "applicant"), *team_of(projects, "组员专家")],
    )
    other = await application(session, projects, call, "applicant2")
    for n in range(3):
        await expert(session, projects, f"外单位专家{n}")
    round_ = await review_round(session, projects, call, 2)

    run = await dry_run(projects, round_)
    barred = ids(projects, "组员专家", "同单位专家")
    proposed_for_own = {e for a, e in pairs_of(run) if a == str(own.id)}
    assert proposed_for_own.isdisjoint(barred)
    assert len(proposed_for_own) == 2
    assert {e for a, e in pairs_of(run) if a == str(other.id)} == barred  # the best elsewhere

    conflicts = await projects.call(
        "GET",
        f"/v1/review-rounds/{round_.id}/conflicts",
        "manager",
        params={"application_id": str(own.id)},
    )
    kinds = {(c["expert_id"], c["kind"]) for c in conflicts.json()["items"]}
    assert (str(projects.callers["组员专家"].user_id), "team") in kinds
    assert (str(projects.callers["同单位专家"].user_id), "same_org") in kinds


async def test_loads_are_respected_counting_live_assignments(
    projects: Projects, session: AsyncSession
) -> None:
    call = await call_in_review(session, projects)
    for who in ("applicant", "colleague", "applicant2", "applicant3"):
        await application(session, projects, call, who, org=2)
    await expert(session, projects, "满负荷专家", keywords=("小麦", "栽培"), max_load=2)
    for n in range(3):
        await expert(session, projects, f"普通专家{n}", max_load=2)
    round_ = await review_round(session, projects, call, 2)
    first = await projects.call(
        "POST",
        f"/v1/review-rounds/{round_.id}/assignments",
        "manager",
        json={
            "application_id": await applicant_application(session, round_, projects),
            "expert_id": str(projects.callers["满负荷专家"].user_id),
            "reason": "先行指派一位熟悉该领域的专家",
        },
    )
    assert first.status_code == 201, first.text

    run = await dry_run(projects, round_)
    load = Counter(e for _, e in pairs_of(run))
    assert load[str(projects.callers["满负荷专家"].user_id)] == 1  # one of two already used
    assert all(n <= 2 for n in load.values())
    assert run["quality"]["demand"] == 7
    assert run["quality"]["assigned"] == 7  # 1 + 3 * 2 slots left for 7 reviews
    assert run["quality"]["load_distribution"] == {"1": 1, "2": 3}


async def test_one_expert_per_organization_when_the_round_asks(
    projects: Projects, session: AsyncSession
) -> None:
    call = await call_in_review(session, projects)
    for who in ("applicant", "colleague"):  # both of 兰州大学 (organization 1)
        await application(session, projects, call, who)
    for n in range(3):  # 甘肃省农业科学院 (organization 2): the best matches
        await expert(session, projects, f"农科院专家{n}", org=2, keywords=("小麦", "栽培"))
    for n in range(2):
        await expert(session, projects, f"独立专家{n}")
    academy = ids(projects, *(f"农科院专家{n}" for n in range(3)))

    free = await dry_run(projects, await review_round(session, projects, call, 2))
    per_application = Counter(a for a, e in pairs_of(free) if e in academy)
    assert max(per_application.values()) == 2  # without the rule the academy takes both seats

    other_call = await call_in_review(session, projects)
    for who in ("applicant", "colleague"):
        await application(session, projects, other_call, who)
    ruled = await dry_run(
        projects, await review_round(session, projects, other_call, 2, one_per_organization=True)
    )
    per_application = Counter(a for a, e in pairs_of(ruled) if e in academy)
    assert set(per_application.values()) == {1}
    assert len(ruled["pairs"]) == 4
    assert ruled["unassignable"] == []


async def test_applications_short_of_experts_are_reported_with_the_reason(
    projects: Projects, session: AsyncSession
) -> None:
    call = await call_in_review(session, projects)
    own = await application(session, projects, call, "applicant")
    await expert(session, projects, "领域专家")
    await expert(session, projects, "同单位专家", org=1)  # in the field, but conflicted
    await expert(session, projects, "外行专家", primary=("520.1010",))  # not in the field
    round_ = await review_round(session, projects, call, 3)

    run = await dry_run(projects, round_)
    assert pairs_of(run) == {(str(own.id), str(projects.callers["领域专家"].user_id))}
    [short] = run["unassignable"]
    assert short["application_id"] == str(own.id)
    assert short["short_by"] == 2
    assert short["field"] == SUBJECT
    assert short["reason"].startswith(
        f"not enough conflict-free experts in field {SUBJECT}: short by 2"
    )
    assert short["supply"]["in_field"] == 2
    assert short["supply"]["conflicted"] == 1

    applied = await apply(projects, run)
    assert applied.status_code == 200
    assert applied.json()["round_state"] == "assigning"  # still short: not reviewing yet
    assert [s["short_by"] for s in applied.json()["short"]] == [2]


async def test_an_expert_whose_credit_bars_reviewing_is_not_assignable(
    projects: Projects, session: AsyncSession
) -> None:
    await expert(session, projects, "失信专家", keywords=("小麦", "栽培", "节水农业"))
    await ban_from_reviewing(projects, "失信专家")
    call = await call_in_review(session, projects)
    own = await application(session, projects, call, "applicant")
    await expert(session, projects, "守信专家")
    round_ = await review_round(session, projects, call, 2)

    run = await dry_run(projects, round_)
    assert pairs_of(run) == {(str(own.id), str(projects.callers["守信专家"].user_id))}
    assert run["unassignable"][0]["supply"]["not_eligible"] == 1
    assert run["quality"]["experts_barred_by_credit"] == 1

    by_hand = await projects.call(
        "POST",
        f"/v1/review-rounds/{round_.id}/assignments",
        "manager",
        json={
            "application_id": str(own.id),
            "expert_id": str(projects.callers["失信专家"].user_id),
            "reason": "该专家最熟悉此领域",
        },
    )
    assert by_hand.status_code == 409
    assert by_hand.json()["code"] == "assignment.expert_not_assignable"
    assert by_hand.json()["why"] == "credit"


async def test_without_the_credit_service_nothing_is_proposed_or_written(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    projects.app.state.credit_client.down = True
    response = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/assignment-runs", "manager", json={}
    )
    assert response.status_code == 503
    assert response.json()["code"] == "credit.unavailable"
    stored = await session.scalar(
        sa.select(sa.func.count())
        .select_from(AssignmentRun)
        .where(AssignmentRun.round_id == round_.id)
    )
    assert stored == 0


async def test_only_the_programs_managers_run_and_apply(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    run = await dry_run(projects, round_)
    path = f"/v1/review-rounds/{round_.id}/assignment-runs"
    for who in ("manager2", "applicant", "applicant2", "expert"):
        assert (await projects.call("POST", path, who, json={})).status_code == 403
        assert (await projects.call("GET", path, who)).status_code == 403
        fetched = await projects.call("GET", f"/v1/assignment-runs/{run['id']}", who)
        assert fetched.status_code == 403
        assert (await apply(projects, run, who)).status_code == 403
    assert await assignments(session, round_) == []


async def test_runs_only_while_the_round_is_assigning(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    run = await dry_run(projects, round_)
    later = await dry_run(projects, round_)
    assert (await apply(projects, run)).status_code == 200  # every application served

    refused = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/assignment-runs", "manager", json={}
    )
    assert refused.status_code == 409
    assert refused.json()["state"] == "reviewing"
    stale = await apply(projects, later)
    assert stale.status_code == 409
    assert stale.json()["state"] == "reviewing"
