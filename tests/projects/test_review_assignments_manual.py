"""A manager's own changes: add, remove and swap, with the automatic assignment's checks
(conflicts with their evidence, overrides, load, field) and separation of duties."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, ReviewRound, Transition
from tests.projects.conftest import Projects
from tests.projects.test_review_assignments_helpers import (
    OTHER_SUBJECT,
    application,
    assignments,
    call_in_review,
    expert,
    live,
    review_round,
    team_of,
)


async def add(
    projects: Projects,
    round_: ReviewRound,
    application_id: Any,
    expert_name: str,
    who: str = "manager",
    **extra: Any,
) -> httpx.Response:
    return await projects.call(
        "POST",
        f"/v1/review-rounds/{round_.id}/assignments",
        who,
        json={
            "application_id": str(application_id),
            "expert_id": str(projects.callers[expert_name].user_id),
            "reason": "该专家长期从事旱区作物栽培研究",
            **extra,
        },
    )


async def one_application(
    session: AsyncSession, projects: Projects, experts_per_item: int = 2
) -> tuple[ReviewRound, Application]:
    call = await call_in_review(session, projects)
    found = await application(session, projects, call, "applicant")
    return await review_round(session, projects, call, experts_per_item), found


async def test_a_conflicted_expert_is_refused_with_the_evidence_then_allowed_after_an_override(
    projects: Projects, session: AsyncSession
) -> None:
    round_, own = await one_application(session, projects)
    await expert(session, projects, "同单位专家", org=1)  # 兰州大学, like the applicant

    refused = await add(projects, round_, own.id, "同单位专家")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "assignment.conflict"
    [conflict] = body["conflicts"]
    assert conflict["kind"] == "same_org"
    assert conflict["evidence"]["applicant_org"]["name"] == "兰州大学"
    assert conflict["evidence"]["expert"]["id"] == str(projects.callers["同单位专家"].user_id)
    assert await assignments(session, round_) == []

    refresh = await projects.call(
        "POST", f"/v1/review-rounds/{round_.id}/conflicts/refresh", "manager"
    )
    assert refresh.status_code == 200, refresh.text
    override = await projects.call(
        "POST",
        f"/v1/review-rounds/{round_.id}/conflicts/override",
        "manager",
        json={
            "application_id": str(own.id),
            "expert_id": str(projects.callers["同单位专家"].user_id),
            "kind": "same_org",
            "reason": "该专家已调离原单位三年，与申请人无实际工作关系",
        },
    )
    assert override.status_code == 200, override.text

    allowed = await add(projects, round_, own.id, "同单位专家")
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["source"] == "manual"
    assert allowed.json()["status"] == "invited"
    assert allowed.json()["expert_name"] == "同单位专家"
    assert live(await assignments(session, round_)) == {
        (str(own.id), str(projects.callers["同单位专家"].user_id))
    }


async def test_an_expert_without_load_left_is_refused(
    projects: Projects, session: AsyncSession
) -> None:
    call = await call_in_review(session, projects)
    first = await application(session, projects, call, "applicant")
    second = await application(session, projects, call, "applicant2")
    round_ = await review_round(session, projects, call, 2)
    await expert(session, projects, "单任务专家", max_load=1)
    assert (await add(projects, round_, first.id, "单任务专家")).status_code == 201

    over = await add(projects, round_, second.id, "单任务专家")
    assert over.status_code == 409
    assert over.json()["code"] == "assignment.over_load"
    assert over.json()["max_load"] == 1

    twice = await add(projects, round_, first.id, "单任务专家")
    assert twice.status_code == 409
    assert twice.json()["code"] == "assignment.exists"


async def test_an_expert_out_of_the_field_needs_force_and_a_reason(
    projects: Projects, session: AsyncSession
) -> None:
    round_, own = await one_application(session, projects)
    await expert(session, projects, "材料专家", primary=(OTHER_SUBJECT,))

    refused = await add(projects, round_, own.id, "材料专家")
    assert refused.status_code == 422
    assert refused.json()["code"] == "assignment.out_of_field"

    forced = await add(projects, round_, own.id, "材料专家", force_out_of_field=True)
    assert forced.status_code == 201, forced.text
    assert forced.json()["match_score"] == 0
    assert forced.json()["explanation"]["out_of_field"] is True
    recorded = await session.scalar(
        sa.select(Transition).where(
            Transition.entity == "round", Transition.action == "expert_added"
        )
    )
    assert recorded is not None
    assert recorded.reason == "该专家长期从事旱区作物栽培研究"
    assert recorded.details["out_of_field"] is True


async def test_remove_then_swap(projects: Projects, session: AsyncSession) -> None:
    round_, own = await one_application(session, projects)
    for name in ("甲", "乙", "丙"):
        await expert(session, projects, f"专家{name}")
    await expert(session, projects, "同单位专家", org=1)
    first = (await add(projects, round_, own.id, "专家甲")).json()
    second = (await add(projects, round_, own.id, "专家乙")).json()

    removed = await projects.call(
        "POST", f"/v1/assignments/{first['id']}/remove", "manager", json={"reason": "专家出国"}
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["status"] == "removed"
    assert removed.json()["removed_reason"] == "专家出国"
    again = await projects.call(
        "POST", f"/v1/assignments/{first['id']}/remove", "manager", json={"reason": "专家出国"}
    )
    assert again.status_code == 409
    assert again.json()["state"] == "removed"

    swap_path = f"/v1/assignments/{second['id']}/swap"
    conflicted = await projects.call(
        "POST",
        swap_path,
        "manager",
        json={"expert_id": str(projects.callers["同单位专家"].user_id), "reason": "调整专家"},
    )
    assert conflicted.status_code == 409
    assert conflicted.json()["code"] == "assignment.conflict"
    # All or nothing: the expert swapped out is still on the application.
    assert live(await assignments(session, round_)) == {
        (str(own.id), str(projects.callers["专家乙"].user_id))
    }

    swapped = await projects.call(
        "POST",
        swap_path,
        "manager",
        json={"expert_id": str(projects.callers["专家丙"].user_id), "reason": "调整专家"},
    )
    assert swapped.status_code == 200, swapped.text
    assert swapped.json()["removed"]["status"] == "removed"
    assert swapped.json()["added"]["expert_id"] == str(projects.callers["专家丙"].user_id)
    assert live(await assignments(session, round_)) == {
        (str(own.id), str(projects.callers["专家丙"].user_id))
    }

    story = await projects.call("GET", f"/v1/applications/{own.id}/history", "applicant")
    actions = [h["action"] for h in story.json()["items"]]
    assert actions[-4:] == [
        "experts_assigned",
        "experts_assigned",
        "experts_removed",
        "expert_replaced",
    ]
    for name in ("甲", "乙", "丙"):
        assert str(projects.callers[f"专家{name}"].user_id) not in story.text
        assert f"专家{name}" not in story.text
    assert "专家出国" not in story.text  # the manager's words might name the expert


async def test_separation_of_duties_and_program_scope(
    projects: Projects, session: AsyncSession
) -> None:
    call = await call_in_review(session, projects)
    await expert(session, projects, "专家甲")
    own = await application(
        session,
        projects,
        call,
        "applicant",
        team=[*team_of(projects, "applicant"), *team_of(projects, "manager")],
    )
    round_ = await review_round(session, projects, call, 2)

    duty = await add(projects, round_, own.id, "专家甲")
    assert duty.status_code == 403
    assert duty.json()["code"] == "duty.conflict"
    for who in ("manager2", "applicant", "applicant2", "expert"):
        assert (await add(projects, round_, own.id, "专家甲", who)).status_code == 403
        listed = await projects.call("GET", f"/v1/review-rounds/{round_.id}/assignments", who)
        assert listed.status_code == 403
    assert (await add(projects, round_, own.id, "专家甲", "admin")).status_code == 201
    assigned = await session.scalar(
        sa.select(Transition.actor_id).where(
            Transition.entity == "round", Transition.action == "expert_added"
        )
    )
    assert assigned == str(projects.callers["admin"].user_id)
