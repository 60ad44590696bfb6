"""The candidates of an assignment run, built as arrays, are those of the straightforward rule:
for every application and available expert, `match` (a shared subject code, the score), then
already on it, excluded, a stored conflict not overridden, no load left, an organization
already on it, and the credit service's answer. Explanations are worked out for the pairs
shown, and say what `match` says."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Assignment, Conflict, DeclaredConflict, Expert, ReviewRound
from services.projects.models.review import LIVE_ASSIGNMENTS
from services.projects.review.assignments.candidates import (
    Supply,
    available,
    build,
    expert_profile,
    item_profile,
    snapshot,
)
from services.projects.review.rounds.conflicts import (
    find_conflicts,
    refresh_conflicts,
    with_evidence,
)
from services.projects.review.rounds.items import RoundItem, round_items
from services.projects.review.solver.match import match
from shared.clock import in_shanghai
from shared.contracts.credit import EligibilityV1
from tests.conftest import org_code
from tests.projects.conftest import Projects
from tests.projects.review_factories import make_organization
from tests.projects.test_review_assignments_helpers import (
    applicant_application,
    application,
    call_in_review,
    expert,
    review_round,
    team_of,
)

S1, S2, S3 = "210.2010", "520.1010", "610.30"


async def varied_round(session: AsyncSession, projects: Projects) -> ReviewRound:
    """Applications with several, repeated or no subject codes and keywords in any case; experts
    in and out of the field, of related organizations, on a team, avoided, declared, inactive,
    unavailable, without load left; live assignments; one expert per organization."""
    subsidiary = await make_organization(session, projects, 3, "兰州大学附属企业", parent=1)
    call = await call_in_review(session, projects)
    await expert(session, projects, "小麦专家", org=1, primary=(S1,), keywords=("wheat", "小麦"))
    await expert(
        session, projects, "旱地专家", org=2, primary=(S2,), secondary=(S1,), keywords=("Drought",)
    )
    await expert(session, projects, "无单位专家", primary=(), secondary=(S3, S2))
    await expert(session, projects, "组员专家", org=2, primary=(S1,))
    await expert(session, projects, "回避专家", primary=(S2,), keywords=("drought",))
    await expert(session, projects, "停用专家", primary=(S1,), active=False)
    far = (projects.clock.now + timedelta(days=60)).date().isoformat()
    await expert(
        session, projects, "出差专家", primary=(S1,), availability=[{"from": far, "to": far}]
    )
    await expert(session, projects, "满负荷专家", org=2, primary=(S1, S2), max_load=1)
    await expert(session, projects, "附属专家", org=3, primary=(S1,))
    words = [f"词{k}" for k in range(7)]
    await expert(session, projects, "词汇专家", primary=(S3,), secondary=(S1,), keywords=words)
    await expert(session, projects, "词汇专家2", primary=(S3,), secondary=(S1,), keywords=words)
    await expert(session, projects, "农科院专家", org=2, primary=(S1, S3))
    await expert(session, projects, "失信专家", org=2, primary=(S1, S2))

    await application(
        session,
        projects,
        call,
        "applicant",
        subject_codes=[S1, S2, S1],
        keywords=["小麦", " 小麦 ", "WHEAT", ""],
        team=[*team_of(projects, "applicant"), *team_of(projects, "组员专家")],
    )
    await application(
        session,
        projects,
        call,
        "applicant2",
        subject_codes=[S2],
        keywords=["drought", "Wheat"],
        avoid=[
            {"user_id": str(projects.callers["回避专家"].user_id), "reason": "学术分歧"},
            {"credit_code": org_code(1), "reason": "竞争单位"},
        ],
    )
    await application(session, projects, call, "colleague", subject_codes=[S3, S1], keywords=words)
    await application(session, projects, call, "no-subject", org=2, subject_codes=[], keywords=[])
    await application(session, projects, call, "org2", org=2, subject_codes=[S1], keywords=["小麦"])
    await application(session, projects, call, "subsidiary", org=3, subject_codes=[S1, S2])
    session.add(
        DeclaredConflict(
            expert_id=projects.callers["词汇专家"].user_id,
            person_id=projects.callers["colleague"].user_id,
            reason="师生关系",
        )
    )
    await session.commit()
    assert subsidiary == org_code(3)
    round_ = await review_round(session, projects, call, 3, one_per_organization=True)
    await _assign_by_hand(session, projects, round_, "colleague", "满负荷专家")  # load used up
    await _assign_by_hand(session, projects, round_, "applicant", "农科院专家")  # org 2 taken
    return round_


async def _assign_by_hand(
    session: AsyncSession, projects: Projects, round_: ReviewRound, who: str, name: str
) -> None:
    mine = await applicant_application(session, round_, projects, who)
    reply = await projects.call(
        "POST",
        f"/v1/review-rounds/{round_.id}/assignments",
        "manager",
        json={
            "application_id": mine,
            "expert_id": str(projects.callers[name].user_id),
            "reason": "熟悉该方向的专家",
        },
    )
    assert reply.status_code == 201, reply.text


def _answers(experts: list[Expert], barred: UUID) -> dict[UUID, EligibilityV1]:
    def answer(expert_id: UUID) -> EligibilityV1:
        return EligibilityV1.model_validate(
            {
                "action": "review",
                "at": datetime(2026, 1, 1, tzinfo=UTC),
                "subject_id": None,
                "eligible": expert_id != barred,
                "level": "B" if expert_id != barred else "D",
                "score": 80,
                "reasons": [] if expert_id != barred else [{"code": "BANNED"}],
                "model_version": "test",
            }
        )

    return {e.user_id: answer(e.user_id) for e in experts}


async def _the_straightforward_way(
    session: AsyncSession,
    round_: ReviewRound,
    answers: Mapping[UUID, EligibilityV1],
    exclude: Mapping[UUID, set[UUID]],
    now: datetime,
) -> tuple[
    dict[tuple[str, str], tuple[int, str | None]], dict[UUID, dict[str, Any]], dict[str, int]
]:
    """Pairs -> (score, group), supply per application and capacity, by looking at each pair."""
    items: list[RoundItem] = await round_items(session, round_)
    start, end = in_shanghai(now).date(), in_shanghai(round_.deadline).date()
    experts = [
        e
        for e in (await session.scalars(sa.select(Expert))).all()
        if e.active and available(e.availability, start, end)
    ]
    conflicted = {
        (r.application_id, r.expert_id)
        for r in await session.execute(
            sa.select(Conflict.application_id, Conflict.expert_id).where(
                Conflict.round_id == round_.id, Conflict.overridden_at.is_(None)
            )
        )
    }
    live = [
        (r.application_id, r.expert_id)
        for r in await session.execute(
            sa.select(Assignment.application_id, Assignment.expert_id).where(
                Assignment.round_id == round_.id, Assignment.status.in_(LIVE_ASSIGNMENTS)
            )
        )
    ]
    org = {e.user_id: e.org_credit_code for e in (await session.scalars(sa.select(Expert))).all()}
    per_item = round_.experts_per_item
    pairs: dict[tuple[str, str], tuple[int, str | None]] = {}
    supply: dict[UUID, dict[str, Any]] = {}
    used_experts: set[UUID] = set()
    for item in items:
        on = {e for a, e in live if a == item.application_id}
        counts = Supply(field=item.subjects[0] if item.subjects else "?")
        supply[item.application_id] = counts.as_dict() | {"already_on": 0}
        if per_item - len(on) <= 0:
            continue
        taken = {org[e] for e in on if org[e]}
        for candidate in experts:
            found = match(item_profile(item), expert_profile(candidate))
            if found is None:
                continue
            here = supply[item.application_id]
            here["in_field"] += 1
            key = (item.application_id, candidate.user_id)
            if candidate.user_id in on:
                here["already_on"] += 1
            elif candidate.user_id in exclude.get(item.application_id, set()):
                continue
            elif key in conflicted:
                here["conflicted"] += 1
            elif sum(1 for _, e in live if e == candidate.user_id) >= candidate.max_load:
                here["no_load_left"] += 1
            elif candidate.org_credit_code and candidate.org_credit_code in taken:
                here["same_organization"] += 1
            elif not answers[candidate.user_id].eligible:
                here["not_eligible"] += 1
            else:
                pairs[(str(item.application_id), str(candidate.user_id))] = (
                    found.score,
                    candidate.org_credit_code,
                )
                used_experts.add(candidate.user_id)
    capacity = {
        str(e.user_id): e.max_load - sum(1 for _, x in live if x == e.user_id)
        for e in experts
        if e.user_id in used_experts
    }
    return pairs, supply, capacity


async def test_the_candidates_are_those_of_the_pair_by_pair_rule(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await varied_round(session, projects)
    now = projects.clock.now
    await refresh_conflicts(session, round_, now)  # as a dry run does: the oracle reads them
    snap = await snapshot(session, round_, now)
    barred = projects.callers["失信专家"].user_id
    answers = _answers(list(snap.experts.values()), barred)
    excluded = {snap.items[0].application_id: {projects.callers["小麦专家"].user_id}}

    built = build(snap, answers, exclude=excluded)

    pairs, supply, capacity = await _the_straightforward_way(
        session, round_, answers, excluded, now
    )
    problem = built.problem
    found = {
        (problem.items[i], problem.experts[e]): (
            int(s),
            problem.groups[g] if g >= 0 else None,
        )
        for i, e, s, g in zip(
            problem.pair_item.tolist(),
            problem.pair_expert.tolist(),
            problem.pair_score.tolist(),
            problem.pair_group.tolist(),
            strict=True,
        )
    }
    assert found == pairs
    assert {
        a: s.as_dict() | {"already_on": s.already_on} for a, s in built.supply.items()
    } == supply
    assert dict(zip(problem.experts, problem.capacity.tolist(), strict=True)) == capacity
    assert [r.code for r in built.ineligible[barred]] == ["BANNED"]
    assert set(built.ineligible) == {barred}
    assert built.unasked == set()
    # the instance covers what it is meant to: every reason, and a score with many keywords
    reasons = ("conflicted", "no_load_left", "same_organization", "not_eligible", "already_on")
    totals = {k: sum(s[k] for s in supply.values()) for k in reasons}
    assert all(totals.values()), totals
    assert max(score for score, _ in pairs.values()) >= 400 + 100 + 50


async def test_the_conflicts_seen_are_the_stored_ones_not_overridden(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await varied_round(session, projects)
    await refresh_conflicts(session, round_, projects.clock.now)
    overridden = await session.scalar(
        sa.select(Conflict).where(Conflict.round_id == round_.id, Conflict.kind == "same_org")
    )
    assert overridden is not None
    overridden.overridden_at = projects.clock.now
    overridden.overridden_by = projects.callers["manager"].user_id
    overridden.override_reason = "已调离原单位"
    await session.commit()

    snap = await snapshot(session, round_, projects.clock.now)

    experts = list(snap.experts)
    seen = {
        (snap.items[k // len(experts)].application_id, experts[k % len(experts)])
        for k in snap.conflicted.pairs().tolist()
    }
    stored = {
        (r.application_id, r.expert_id)
        for r in await session.execute(
            sa.select(Conflict.application_id, Conflict.expert_id).where(
                Conflict.round_id == round_.id, Conflict.overridden_at.is_(None)
            )
        )
        if r.expert_id in snap.experts
    }
    assert seen == stored
    assert (overridden.application_id, overridden.expert_id) not in seen
    kinds = {
        k
        for (k,) in await session.execute(
            sa.select(Conflict.kind).where(Conflict.round_id == round_.id)
        )
    }
    assert kinds == {"team", "same_org", "avoid_list", "declared"}


async def test_same_organization_conflicts_stored_in_bulk_carry_the_rules_evidence(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await varied_round(session, projects)
    await refresh_conflicts(session, round_, projects.clock.now)

    rows = (
        await session.scalars(
            sa.select(Conflict).where(Conflict.round_id == round_.id, Conflict.kind == "same_org")
        )
    ).all()
    shown = await with_evidence(session, rows)
    stored = {(r.application_id, r.expert_id): e for r, e in zip(rows, shown, strict=True)}
    found = {
        (c.application_id, c.expert_id): c.evidence
        for c in await find_conflicts(session, round_, kinds=("same_org",))
    }
    assert stored == found
    relations = {e["relation"] for e in stored.values()}
    assert relations == {"same", "subsidiary", "parent"}
    listed = await projects.call(
        "GET",
        f"/v1/review-rounds/{round_.id}/conflicts",
        "manager",
        params={"kind": "same_org", "limit": 200},
    )
    assert {
        (UUID(c["application_id"]), UUID(c["expert_id"])): c["evidence"]
        for c in listed.json()["items"]
    } == found

    # An expert who moved away: the conflict goes at the next refresh, unless overridden.
    moved = await session.get(Expert, projects.callers["附属专家"].user_id)
    assert moved is not None
    moved.org_credit_code = None
    await session.commit()
    await refresh_conflicts(session, round_, projects.clock.now)
    left = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Conflict)
        .where(Conflict.round_id == round_.id, Conflict.expert_id == moved.user_id)
    )
    assert left == 0


async def test_explanations_of_a_dry_runs_pairs_are_matchs(
    projects: Projects, session: AsyncSession
) -> None:
    round_ = await varied_round(session, projects)
    reply = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/assignment-runs", "manager", json={"seed": 3}
    )
    assert reply.status_code == 201, reply.text
    run = reply.json()
    assert run["pairs"]
    items = {str(i.application_id): i for i in await round_items(session, round_)}
    experts = {str(e.user_id): e for e in (await session.scalars(sa.select(Expert))).all()}
    for pair in run["pairs"]:
        found = match(
            item_profile(items[pair["application_id"]]), expert_profile(experts[pair["expert_id"]])
        )
        assert found is not None
        assert pair["explanation"] == found.explanation
        assert pair["score"] == found.score
