"""A round's results for its managers, closing it, what the applicant reads after the
decision (anonymised), and the decision list in review rank order."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Transition
from services.projects.models.review import AssignmentStatus, RoundState
from tests.projects.conftest import Projects
from tests.projects.test_decisions import decide, reject, reserve
from tests.projects.test_review_scoring import (
    Review,
    outbox,
    problem,
    review_round,
    score,
    sheet,
)

# applicant: totals 79 and 61 (mean 70); colleague: 87 and 87; applicant2: 40 alone
THREE = {
    "applicant": ("expert", "expert_b"),
    "colleague": ("expert", "expert_b"),
    "applicant2": ("expert_b",),
}


async def scored_round(session: AsyncSession, projects: Projects, **options: Any) -> Review:
    review = await review_round(session, projects, THREE, **options)
    await score(projects, review, "applicant", "expert")  # 79
    await score(projects, review, "applicant", "expert_b", innovation=60, feasibility=60, team=64)
    await score(projects, review, "colleague", "expert", innovation=100)  # 87
    await score(projects, review, "colleague", "expert_b", innovation=100)  # 87
    await score(projects, review, "applicant2", "expert_b", innovation=40, feasibility=40, team=40)
    return review


async def results(projects: Projects, review: Review, who: str = "manager") -> dict[str, Any]:
    reply = await projects.call("GET", f"/v1/review-rounds/{review.round.id}/results", who)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def close(projects: Projects, review: Review, who: str = "manager") -> Any:
    return await projects.call("POST", f"/v1/review-rounds/{review.round.id}/close", who)


async def test_results_rank_the_round_with_each_experts_total(
    session: AsyncSession, projects: Projects
) -> None:
    review = await scored_round(session, projects)
    body = await results(projects, review)
    assert (body["ranked_by"], body["disagreement_sd"], body["applications"]) == (
        "trimmed_mean",
        15.0,
        3,
    )
    ranked = [(r["application_id"], r["rank"], r["score"]) for r in body["items"]]
    apps = review.applications
    assert ranked == [
        (str(apps["colleague"].id), 1, 87.0),
        (str(apps["applicant"].id), 2, 70.0),
        (str(apps["applicant2"].id), 3, 40.0),
    ]
    second = body["items"][1]
    assert (second["n_reviews"], second["n_expected"]) == (2, 2)
    # 60 * .4 + 60 * .35 + 64 * .25 = 61: totals 79 and 61
    assert second["statistics"] == {
        "mean": 70.0,
        "median": 70.0,
        "trimmed_mean": 70.0,
        "sd": 12.7279,  # sqrt(162)
        "spread": 18.0,
        "normalised_mean": None,
    }
    assert second["disagreement"] is False
    experts = {r["expert_id"]: r["weighted_total"] for r in second["reviews"]}
    assert experts == {
        str(review.experts["expert"].user_id): 79.0,
        str(review.experts["expert_b"].user_id): 61.0,
    }
    assert {r["expert_name"] for r in second["reviews"]} == {"吴磊", "expert_b"}

    page = await projects.call(
        "GET", f"/v1/review-rounds/{review.round.id}/results?limit=2", "manager"
    )
    assert [r["rank"] for r in page.json()["items"]] == [1, 2]
    rest = await projects.call(
        "GET",
        f"/v1/review-rounds/{review.round.id}/results?cursor={page.json()['next_cursor']}",
        "manager",
    )
    assert [r["rank"] for r in rest.json()["items"]] == [3]
    assert rest.json()["next_cursor"] is None


async def test_normalised_rounds_rank_by_the_experts_z_scores(
    session: AsyncSession, projects: Projects
) -> None:
    review = await scored_round(session, projects, options={"normalise": True})
    body = await results(projects, review)
    assert body["ranked_by"] == "normalised_mean"
    by_app = {r["application_id"]: r for r in body["items"]}
    colleague = by_app[str(review.applications["colleague"].id)]
    # expert: 79, 87 -> mean 83, sd 5.657: z -0.7071, +0.7071
    # expert_b: 61, 87, 40 -> mean 62.667, sd 23.544: z -0.0708, +1.0335, -0.9627
    zs = {r["expert_name"]: r["z_score"] for r in colleague["reviews"]}
    assert zs == {"吴磊": 0.7071, "expert_b": 1.0335}
    assert colleague["statistics"]["normalised_mean"] == colleague["score"] == 0.8703
    assert [r["rank"] for r in body["items"]] == [1, 2, 3]


async def test_results_are_for_the_programs_managers_only(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    await score(projects, review, "applicant", "expert")
    path = f"/v1/review-rounds/{review.round.id}/results"
    problem(await projects.call("GET", path, "manager2"), 403, "program.not_managed")
    for who in ("applicant", "org_admin", "expert", "evaluator"):
        assert (await projects.call("GET", path, who)).status_code == 403
    assert (await projects.call("GET", path, None)).status_code == 401
    unknown = "/v1/review-rounds/0193a5c0-0000-7000-8000-00000000ffff/results"
    problem(await projects.call("GET", unknown, "manager"), 404, "round.not_found")
    assert (await projects.call("GET", path, "admin")).status_code == 200


# --- closing a round --------------------------------------------------------------------------


async def test_a_round_closes_early_only_when_every_review_is_in(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(
        session, projects, {"applicant": ("expert", "expert_b"), "colleague": ("expert",)}
    )
    await score(projects, review, "applicant", "expert")
    early = await close(projects, review)
    assert problem(early, 409, "round.reviews_missing")["missing"] == 2
    problem(await close(projects, review, "manager2"), 403, "program.not_managed")
    assert (await close(projects, review, "expert")).status_code == 403

    await score(projects, review, "applicant", "expert_b")
    await score(projects, review, "colleague", "expert")
    closed = await close(projects, review)
    assert closed.status_code == 200, closed.text
    assert closed.json() == {
        "round_id": str(review.round.id),
        "state": "closed",
        "closed_at": "2026-03-02T10:00:00+08:00",
        "applications_reviewed": 2,
        "reviews_missing": 0,
    }
    for application in review.applications.values():
        await session.refresh(application)
        assert application.status == "reviewed"
    moved = (
        await session.scalars(
            sa.select(Transition).where(
                Transition.application_id == review.applications["applicant"].id
            )
        )
    ).all()
    assert [(t.action, t.from_state, t.to_state, t.details) for t in moved] == [
        (
            "review.completed",
            "in_review",
            "reviewed",
            {"round_id": str(review.round.id), "reviews": 2},
        )
    ]
    again = await close(projects, review)
    assert problem(again, 409, "state.invalid_transition")["state"] == "closed"
    assert await outbox(session, "review.late") == []


async def test_at_the_deadline_a_round_closes_with_reviews_missing(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(
        session,
        projects,
        {
            "applicant": ("expert", "expert_b"),
            "colleague": ("expert_c",),
            "applicant2": ("expert_d",),
        },
    )
    await score(projects, review, "applicant", "expert")
    invited = review.assignments[("applicant2", "expert_d")]
    invited.status = AssignmentStatus.invited  # never answered the invitation
    await session.commit()
    projects.clock.advance(days=13, hours=23)
    problem(await close(projects, review), 409, "round.reviews_missing")
    projects.clock.advance(hours=1)  # the deadline itself
    closed = await close(projects, review)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["applications_reviewed"], closed.json()["reviews_missing"]) == (1, 3)
    statuses = {}
    for who, application in review.applications.items():
        await session.refresh(application)
        statuses[who] = application.status
    # without a single review an application stays where it was
    assert statuses == {
        "applicant": "reviewed",
        "colleague": "in_review",
        "applicant2": "in_review",
    }
    # the accepted reviews never submitted are late; an unanswered invitation is not
    late = await outbox(session, "review.late")
    assert sorted(p["expert_id"] for p in late) == sorted(
        str(review.experts[e].user_id) for e in ("expert_b", "expert_c")
    )
    assert all(p["submitted_at"] is None for p in late)


async def test_a_round_still_assigning_closes_only_at_its_deadline(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    review.round.state = RoundState.assigning
    await session.commit()
    await score(projects, review, "applicant", "expert")
    early = await close(projects, review)  # nothing missing, but experts are still wanted
    assert problem(early, 409, "state.invalid_transition")["state"] == "assigning"
    projects.clock.advance(days=14)
    assert (await close(projects, review)).status_code == 200


# --- what the applicant reads after the decision ----------------------------------------------


async def test_the_applicant_reads_the_review_after_the_decision_without_experts_identities(
    session: AsyncSession, projects: Projects
) -> None:
    review = await scored_round(session, projects)
    application = review.applications["applicant"]
    path = f"/v1/applications/{application.id}/review"
    problem(await projects.call("GET", path, "applicant"), 409, "review.not_yet")
    assert (await close(projects, review)).status_code == 200
    problem(await projects.call("GET", path, "applicant"), 409, "review.not_yet")  # reviewed
    decided = await decide(projects, review.call, reserve(application))
    assert decided.status_code == 200, decided.text

    reply = await projects.call("GET", path, "applicant")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["status"], body["n_reviews"], body["ranked_by"]) == ("reserved", 2, "trimmed_mean")
    assert (body["score"], body["rank"], body["ranked_applications"]) == (70.0, 2, 3)
    assert body["statistics"]["mean"] == 70.0
    assert [c["code"] for c in body["criteria"]] == ["innovation", "feasibility", "team"]
    assert [c["expert"] for c in body["comments"]] == ["专家A", "专家B"]
    assert all(
        c["comments"]["team"] == "团队基础方面论证较充分，基础扎实。" for c in body["comments"]
    )
    text = reply.text
    for expert in review.experts.values():
        assert str(expert.user_id) not in text
        assert expert.name not in text
    for assignment in review.assignments.values():
        assert str(assignment.id) not in text
    assert "expert_id" not in json.dumps(body)

    # the same labels in the same order every time, and for the organization's admin too
    assert (await projects.call("GET", path, "org_admin")).json() == body
    for who in ("applicant2", "expert", "org_admin2"):
        problem(await projects.call("GET", path, who), 404, "application.not_found")


async def test_the_anonymous_order_is_not_the_order_of_assignment(
    session: AsyncSession, projects: Projects
) -> None:
    experts = tuple(f"expert_{n}" for n in range(6))
    review = await review_round(session, projects, {"applicant": experts})
    application = review.applications["applicant"]
    for n, expert in enumerate(experts):
        remark = f"第{n}位专家的总体意见：研究基础较好。"
        path = review.sheet_path("applicant", expert)
        body = sheet(overall_comment=remark)
        assert (await projects.call("PUT", path, expert, json=body)).status_code == 200
        assert (await projects.call("POST", f"{path}/submit", expert)).status_code == 200
    assert (await close(projects, review)).status_code == 200
    assert (await decide(projects, review.call, reject(application))).status_code == 200
    shown = (
        await projects.call("GET", f"/v1/applications/{application.id}/review", "applicant")
    ).json()
    order = [int(c["overall_comment"][1]) for c in shown["comments"]]

    def digest(n: int) -> str:
        assignment = review.assignments[("applicant", experts[n])]
        return hashlib.sha256(f"{assignment.id}:{review.round.id}".encode()).hexdigest()

    # by a hash of (assignment, round): ids are time-ordered, so their order would tell
    assert order == sorted(range(6), key=digest)
    assert [c["expert"] for c in shown["comments"]] == [f"专家{x}" for x in "ABCDEF"]


async def test_without_a_closed_round_the_decided_applicant_reads_no_review(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    await score(projects, review, "applicant", "expert")
    application = review.applications["applicant"]
    assert (await decide(projects, review.call, reject(application))).status_code == 200
    reply = await projects.call("GET", f"/v1/applications/{application.id}/review", "applicant")
    assert reply.status_code == 200
    assert (reply.json()["n_reviews"], reply.json()["comments"], reply.json()["rank"]) == (
        0,
        [],
        None,
    )


# --- the decision step ------------------------------------------------------------------------


async def test_the_decision_list_follows_the_review_ranking(
    session: AsyncSession, projects: Projects
) -> None:
    review = await scored_round(session, projects)
    path = f"/v1/calls/{review.call.id}/decisions"
    before = (await projects.call("GET", path, "manager")).json()
    assert before["review_ranked_by"] is None
    assert {d["review_rank"] for d in before["items"]} == {None}

    assert (await close(projects, review)).status_code == 200
    listing = await projects.call("GET", path, "manager")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["review_ranked_by"] == "trimmed_mean"
    apps = review.applications
    assert [(d["application_id"], d["review_rank"], d["review_score"]) for d in body["items"]] == [
        (str(apps["colleague"].id), 1, 87.0),
        (str(apps["applicant"].id), 2, 70.0),
        (str(apps["applicant2"].id), 3, 40.0),
    ]
    # decided or not, the review ranking sets the order
    assert (await decide(projects, review.call, reject(apps["colleague"]))).status_code == 200
    after = (await projects.call("GET", path, "manager")).json()
    assert [d["review_rank"] for d in after["items"]] == [1, 2, 3]
    assert after["items"][0]["status"] == "rejected"
    page = (await projects.call("GET", f"{path}?limit=1&offset=1", "manager")).json()
    assert [d["application_id"] for d in page["items"]] == [str(apps["applicant"].id)]
    reviewed = (await projects.call("GET", f"{path}?status=reviewed", "manager")).json()
    assert [d["review_rank"] for d in reviewed["items"]] == [2, 3]
