"""The experts' side: their own live assignments only (never another expert's identity, nothing
once a conflict is found), accepting, declining with or without a conflict, and the
replacement a decline triggers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    Conflict,
    DeclaredConflict,
    ReviewRound,
    ScoreSheet,
    Transition,
)
from tests.projects.conftest import Projects
from tests.projects.test_review_assignments_helpers import (
    application,
    apply,
    assignments,
    call_in_review,
    dry_run,
    expert,
    live,
    review_round,
)

EXPERTS = ("专家甲", "专家乙", "专家丙")


async def assigned_round(
    session: AsyncSession, projects: Projects, spare: int = 1
) -> tuple[ReviewRound, Application]:
    """One application of `applicant` with two experts (甲 the best, 乙), and `spare` more in
    the field with load left (丙 first)."""
    call = await call_in_review(session, projects)
    own = await application(
        session,
        projects,
        call,
        "applicant",
        avoid=[{"user_id": str(projects.callers["expert"].user_id), "reason": "竞争关系"}],
    )
    await expert(session, projects, "专家甲", keywords=("小麦", "栽培"))
    await expert(session, projects, "专家乙", keywords=("小麦",))
    for name in EXPERTS[2 : 2 + spare]:
        await expert(session, projects, name)
    round_ = await review_round(session, projects, call, 2)
    run = await dry_run(projects, round_)
    assert (await apply(projects, run)).status_code == 200
    return round_, own


async def assignment_of(
    session: AsyncSession, round_: ReviewRound, projects: Projects, name: str
) -> str:
    rows = await assignments(session, round_)
    return next(str(a.id) for a in rows if a.expert_id == projects.callers[name].user_id)


async def decline(projects: Projects, assignment_id: str, who: str, **body: Any) -> httpx.Response:
    return await projects.call("POST", f"/v1/assignments/{assignment_id}/decline", who, json=body)


async def test_an_expert_sees_only_their_own_assignments_and_no_other_expert(
    projects: Projects, session: AsyncSession
) -> None:
    round_, own = await assigned_round(session, projects)

    mine = await projects.call("GET", "/v1/me/assignments", "专家甲")
    assert mine.status_code == 200
    [item] = mine.json()["items"]
    assert item["application"]["id"] == str(own.id)
    assert item["application"]["title"] == "旱区小麦节水栽培关键技术研究与示范"
    assert item["application"]["subject_codes"] == ["210.2010"]
    assert item["application"]["budget"]["equipment"] == 20_000_000
    assert item["application"]["content"]["milestones"]
    assert "avoid" not in item["application"]["content"]  # whom the applicant avoids
    assert item["status"] == "invited"
    assert item["deadline"].endswith("+08:00")
    others = [projects.callers[n] for n in ("专家乙", "专家丙", "expert")]
    for other in others:
        assert str(other.user_id) not in mine.text
        assert other.name not in mine.text

    detail = await projects.call("GET", f"/v1/me/assignments/{item['id']}", "专家甲")
    assert detail.status_code == 200
    assert detail.json() == item
    theirs = await assignment_of(session, round_, projects, "专家乙")
    for path in (f"/v1/me/assignments/{theirs}",):
        assert (await projects.call("GET", path, "专家甲")).status_code == 404
    accepted = await projects.call("POST", f"/v1/assignments/{theirs}/accept", "专家甲")
    assert accepted.status_code == 404
    assert (await decline(projects, theirs, "专家甲", reason="时间冲突")).status_code == 404
    assert (await projects.call("GET", "/v1/me/assignments", "专家丙")).json()["items"] == []


async def test_applicants_and_other_managers_cannot_list_assignments(
    projects: Projects, session: AsyncSession
) -> None:
    round_, _ = await assigned_round(session, projects)
    for who in ("applicant", "applicant2", "manager2"):
        listed = await projects.call("GET", f"/v1/review-rounds/{round_.id}/assignments", who)
        assert listed.status_code == 403
        assert (await projects.call("GET", "/v1/me/assignments", who)).status_code == 403
    theirs = await assignment_of(session, round_, projects, "专家甲")
    for who in ("applicant", "applicant2", "manager"):
        detail = await projects.call("GET", f"/v1/me/assignments/{theirs}", who)
        assert detail.status_code == 403


async def test_accepting(projects: Projects, session: AsyncSession) -> None:
    round_, _ = await assigned_round(session, projects)
    mine = await assignment_of(session, round_, projects, "专家甲")

    accepted = await projects.call("POST", f"/v1/assignments/{mine}/accept", "专家甲")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["responded_at"] is not None
    retried = await projects.call("POST", f"/v1/assignments/{mine}/accept", "专家甲")
    assert retried.status_code == 200
    assert retried.json()["status"] == "accepted"

    row = await session.scalar(
        sa.select(Transition).where(
            Transition.entity == "assignment", Transition.entity_id == UUID(mine)
        )
    )
    assert row is not None
    assert (row.action, row.from_state, row.to_state) == ("accepted", "invited", "accepted")
    assert row.application_id is None  # not part of the applicant's story


async def test_declining_for_a_conflict_records_it_and_brings_in_a_replacement(
    projects: Projects, session: AsyncSession
) -> None:
    round_, own = await assigned_round(session, projects)
    mine = await assignment_of(session, round_, projects, "专家甲")

    declined = await decline(
        projects, mine, "专家甲", reason="申请人是我以前的博士生", conflict=True
    )
    assert declined.status_code == 200, declined.text
    body = declined.json()
    assert body["status"] == "declined"
    assert body["conflict_declared"] is True
    assert body["replacement"] == {"needed": 1, "found": 1, "short_by": 0, "reason": None}
    for name in ("专家乙", "专家丙"):
        assert str(projects.callers[name].user_id) not in declined.text

    rows = await assignments(session, round_)
    expert_a, expert_b, expert_c = (projects.callers[n].user_id for n in EXPERTS)
    assert live(rows) == {(str(own.id), str(expert_b)), (str(own.id), str(expert_c))}
    replacement = next(a for a in rows if a.expert_id == expert_c)
    assert replacement.source == "replacement"
    assert replacement.status == "invited"
    declared = await session.scalar(
        sa.select(DeclaredConflict).where(DeclaredConflict.expert_id == expert_a)
    )
    assert declared is not None
    assert declared.person_id == projects.callers["applicant"].user_id
    assert declared.reason == "申请人是我以前的博士生"
    conflict = await session.get(Conflict, (round_.id, own.id, expert_a, "declared"))
    assert conflict is not None
    assert conflict.overridden_at is None
    assert conflict.evidence["declarations"][0]["reason"] == "申请人是我以前的博士生"

    gone = await projects.call("GET", f"/v1/me/assignments/{mine}", "专家甲")
    assert gone.status_code == 404
    assert (await projects.call("GET", "/v1/me/assignments", "专家甲")).json()["items"] == []
    new = await projects.call("GET", "/v1/me/assignments", "专家丙")
    assert [i["application"]["id"] for i in new.json()["items"]] == [str(own.id)]
    story = await projects.call("GET", f"/v1/applications/{own.id}/history", "applicant")
    for name in EXPERTS:
        assert str(projects.callers[name].user_id) not in story.text


async def test_a_decline_without_anyone_to_replace_reports_the_shortage(
    projects: Projects, session: AsyncSession
) -> None:
    round_, own = await assigned_round(session, projects, spare=0)
    mine = await assignment_of(session, round_, projects, "专家乙")
    await projects.call("POST", f"/v1/assignments/{mine}/accept", "专家乙")

    declined = await decline(projects, mine, "专家乙", reason="近期出国访问，无法按期评审")
    assert declined.status_code == 200, declined.text
    replacement = declined.json()["replacement"]
    assert (replacement["needed"], replacement["found"], replacement["short_by"]) == (1, 0, 1)
    assert replacement["reason"].startswith(
        "not enough conflict-free experts in field 210.2010: short by 1"
    )
    assert live(await assignments(session, round_)) == {
        (str(own.id), str(projects.callers["专家甲"].user_id))
    }
    # No conflict was declared: nothing stored about one.
    assert await session.scalar(sa.select(sa.func.count()).select_from(DeclaredConflict)) == 0
    row = await session.scalar(
        sa.select(Transition)
        .where(Transition.entity == "round", Transition.action == "expert_declined")
        .order_by(Transition.id.desc())
    )
    assert row is not None
    assert row.details["short_by"] == 1
    assert row.details["short_reason"] == replacement["reason"]
    again = await decline(projects, mine, "专家乙", reason="近期出国访问，无法按期评审")
    assert again.status_code == 404  # no longer live: no longer theirs to see


async def test_a_conflict_found_since_hides_the_assignment(
    projects: Projects, session: AsyncSession
) -> None:
    round_, own = await assigned_round(session, projects)
    mine = await assignment_of(session, round_, projects, "专家乙")
    # The expert's declaration about the applicant, made elsewhere (their pool entry).
    session.add(
        DeclaredConflict(
            expert_id=projects.callers["专家乙"].user_id,
            person_id=projects.callers["applicant"].user_id,
            reason="与申请人有亲属关系",
        )
    )
    await session.commit()

    listed = await projects.call("GET", "/v1/me/assignments", "专家乙")
    assert listed.json()["items"] == []
    assert str(own.id) not in listed.text
    assert (await projects.call("GET", f"/v1/me/assignments/{mine}", "专家乙")).status_code == 404
    accepted = await projects.call("POST", f"/v1/assignments/{mine}/accept", "专家乙")
    assert accepted.status_code == 404
    # The others still see theirs.
    assert len((await projects.call("GET", "/v1/me/assignments", "专家甲")).json()["items"]) == 1


async def test_a_decline_goes_through_while_the_credit_service_is_down(
    projects: Projects, session: AsyncSession
) -> None:
    round_, own = await assigned_round(session, projects)
    mine = await assignment_of(session, round_, projects, "专家甲")
    projects.app.state.credit_client.down = True

    declined = await decline(projects, mine, "专家甲", reason="身体原因无法评审")
    assert declined.status_code == 200, declined.text
    assert declined.json()["replacement"] == {
        "needed": 1,
        "found": 0,
        "short_by": 1,
        "reason": "the credit service is unavailable: no replacement could be checked",
    }
    assert live(await assignments(session, round_)) == {
        (str(own.id), str(projects.callers["专家乙"].user_id))
    }


async def test_a_submitted_review_cannot_be_declined(
    projects: Projects, session: AsyncSession
) -> None:
    round_, _ = await assigned_round(session, projects)
    mine = await assignment_of(session, round_, projects, "专家甲")
    await projects.call("POST", f"/v1/assignments/{mine}/accept", "专家甲")
    session.add(
        ScoreSheet(
            assignment_id=UUID(mine),
            scores={"innovation": 80, "feasibility": 75, "team": 90},
            comments={},
            status="submitted",
            saved_at=projects.clock.now,
            submitted_at=projects.clock.now,
        )
    )
    await session.commit()

    refused = await decline(projects, mine, "专家甲", reason="不想评了")
    assert refused.status_code == 409
    assert refused.json()["state"] == "submitted"
    assert {a.status for a in await assignments(session, round_)} == {"accepted", "invited"}
