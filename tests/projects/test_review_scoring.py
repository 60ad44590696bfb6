"""Score sheets online: drafts against the round's template, submission, lateness and its
credit event, reopening by a manager, and who may read which sheet.

The helpers at the top are shared with the results tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    Assignment,
    Call,
    Conflict,
    ReviewRound,
    ScoreSheet,
    Transition,
    events,
)
from services.projects.models.review import AssignmentStatus
from tests.projects.conftest import Caller, Projects, closed_call, insert_application
from tests.projects.review_factories import make_expert, make_round

NAMES = {"innovation": "创新性", "feasibility": "可行性", "team": "团队基础"}


@dataclass
class Review:
    """A round in state reviewing, its applications and experts, and who reviews what."""

    call: Call
    round: ReviewRound
    applications: dict[str, Application]  # by applicant
    experts: dict[str, Caller]  # by username
    assignments: dict[tuple[str, str], Assignment]  # (applicant, expert)

    def sheet_path(self, applicant: str, expert: str, tail: str = "") -> str:
        return f"/v1/assignments/{self.assignments[(applicant, expert)].id}/sheet{tail}"


async def review_round(
    session: AsyncSession,
    projects: Projects,
    pairs: dict[str, tuple[str, ...]],
    *,
    status: str = "accepted",
    **round_overrides: Any,
) -> Review:
    """applicant -> the experts reviewing their application, all assignments accepted."""
    call = await closed_call(session, projects)
    round_ = await make_round(session, projects, call, state="reviewing", **round_overrides)
    applications = {who: await insert_application(session, projects, call, who) for who in pairs}
    experts: dict[str, Caller] = {}
    for name in sorted({e for chosen in pairs.values() for e in chosen}):
        experts[name] = await make_expert(session, projects, name)
    assignments = {}
    for who, chosen in pairs.items():
        for expert in chosen:
            assignment = Assignment(
                round_id=round_.id,
                application_id=applications[who].id,
                expert_id=experts[expert].user_id,
                status=status,
                match_score=10,
                explanation={"score": 10},
                source="manual",
                assigned_by=projects.callers["manager"].user_id,
                assigned_at=projects.clock.now,
            )
            session.add(assignment)
            assignments[(who, expert)] = assignment
    await session.commit()
    return Review(call, round_, applications, experts, assignments)


def sheet(
    innovation: int = 80, feasibility: int = 70, team: int = 90, **overrides: Any
) -> dict[str, Any]:
    """A complete sheet: every criterion scored and commented."""
    body: dict[str, Any] = {
        "scores": {"innovation": innovation, "feasibility": feasibility, "team": team},
        "comments": {code: f"{name}方面论证较充分，基础扎实。" for code, name in NAMES.items()},
        "overall_comment": "研究目标明确，技术路线可行，建议支持。",
        "recommendation": "support",
    }
    body.update(overrides)
    return body


async def score(
    projects: Projects, review: Review, applicant: str, expert: str, **scores: int
) -> dict[str, Any]:
    """Save a complete sheet and submit it; the submitted sheet."""
    path = review.sheet_path(applicant, expert)
    saved = await projects.call("PUT", path, expert, json=sheet(**scores))
    assert saved.status_code == 200, saved.text
    submitted = await projects.call("POST", f"{path}/submit", expert)
    assert submitted.status_code == 200, submitted.text
    body: dict[str, Any] = submitted.json()
    return body


async def outbox(session: AsyncSession, event_type: str) -> list[dict[str, Any]]:
    rows = await session.scalars(
        sa.select(events.outbox.c.payload)
        .where(events.outbox.c.event_type == event_type)
        .order_by(events.outbox.c.id)
    )
    return list(rows.all())


async def round_history(session: AsyncSession, round_: ReviewRound) -> list[Transition]:
    rows = await session.scalars(
        sa.select(Transition)
        .where(Transition.entity == "round", Transition.entity_id == round_.id)
        .order_by(Transition.id)
    )
    return list(rows.all())


def problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert body["code"] == code
    return body


# --- drafts and submission --------------------------------------------------------------------


async def test_a_partial_draft_is_kept_and_a_complete_one_is_submitted_with_its_total(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    path = review.sheet_path("applicant", "expert")
    partial = {"scores": {"innovation": 80}, "comments": {"innovation": "创新性突出，选题新颖。"}}
    saved = await projects.call("PUT", path, "expert", json=partial)
    assert saved.status_code == 200, saved.text
    draft = saved.json()
    assert (draft["status"], draft["scores"], draft["weighted_total"]) == (
        "draft",
        {"innovation": 80},
        None,
    )
    assert draft["application_id"] == str(review.applications["applicant"].id)
    assert draft["deadline"].endswith("+08:00")
    assert (await projects.call("GET", path, "expert")).json() == draft

    incomplete = await projects.call("POST", f"{path}/submit", "expert")
    assert problem(incomplete, 422, "sheet.incomplete")["missing"] == [
        "scores.feasibility",
        "scores.team",
        "comments.feasibility",
        "comments.team",
        "overall_comment",
        "recommendation",
    ]

    assert (await projects.call("PUT", path, "expert", json=sheet())).status_code == 200
    submitted = await projects.call("POST", f"{path}/submit", "expert")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    # 40 * 0.80 + 35 * 0.70 + 25 * 0.90 on the 0..100 scale
    assert (body["status"], body["weighted_total"], body["late"]) == ("submitted", 79.0, False)
    assert body["submitted_at"] == "2026-03-02T10:00:00+08:00"

    again = await projects.call("POST", f"{path}/submit", "expert")  # a retried submit
    assert again.status_code == 200
    assert again.json() == body
    [submission] = await round_history(session, review.round)
    assert (submission.action, submission.from_state, submission.to_state) == (
        "sheet.submitted",
        "draft",
        "submitted",
    )
    assert submission.application_id is None  # not in the applicant's story: it names the expert
    assert await outbox(session, "review.late") == []


async def test_a_sheet_holds_only_what_the_template_allows(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    path = review.sheet_path("applicant", "expert")
    unknown = await projects.call(
        "PUT", path, "expert", json=sheet(scores={"innovation": 80, "novelty": 70})
    )
    assert problem(unknown, 422, "sheet.invalid")["problems"] == [
        {"field": "scores.novelty", "problem": "unknown_criterion"}
    ]
    too_high = await projects.call("PUT", path, "expert", json=sheet(team=101))
    assert problem(too_high, 422, "sheet.invalid")["problems"] == [
        {"field": "scores.team", "problem": "out_of_range", "min": 0, "max": 100}
    ]
    below = await projects.call("PUT", path, "expert", json=sheet(innovation=-1))
    assert problem(below, 422, "sheet.invalid")["problems"][0]["field"] == "scores.innovation"
    stray_comment = await projects.call(
        "PUT", path, "expert", json=sheet(comments={"budget": "预算编制不够细致。"})
    )
    assert problem(stray_comment, 422, "sheet.invalid")["problems"] == [
        {"field": "comments.budget", "problem": "unknown_criterion"}
    ]
    not_a_number = await projects.call(
        "PUT", path, "expert", json=sheet(scores={"innovation": "80"})
    )
    problem(not_a_number, 422, "request.invalid")
    wrong_recommendation = await projects.call(
        "PUT", path, "expert", json=sheet(recommendation="maybe")
    )
    problem(wrong_recommendation, 422, "request.invalid")
    # nothing was written by any of them
    problem(await projects.call("GET", path, "expert"), 404, "sheet.not_found")
    assert await session.get(ScoreSheet, review.assignments[("applicant", "expert")].id) is None


async def test_every_criterion_needs_a_comment_of_ten_characters(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    path = review.sheet_path("applicant", "expert")
    short = sheet()
    short["comments"] = {**short["comments"], "team": "  很好  "}
    del short["comments"]["feasibility"]
    assert (await projects.call("PUT", path, "expert", json=short)).status_code == 200
    refused = await projects.call("POST", f"{path}/submit", "expert")
    assert problem(refused, 422, "sheet.incomplete")["missing"] == [
        "comments.feasibility",
        "comments.team",
    ]
    assignment = review.assignments[("applicant", "expert")]
    assert (await session.get(ScoreSheet, assignment.id)) is not None  # the draft stays
    assert (await projects.call("GET", path, "expert")).json()["status"] == "draft"


async def test_a_submitted_sheet_changes_only_after_a_manager_reopens_it(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    path = review.sheet_path("applicant", "expert")
    await score(projects, review, "applicant", "expert")
    locked = await projects.call("PUT", path, "expert", json=sheet(innovation=90))
    assert problem(locked, 409, "state.invalid_transition")["state"] == "submitted"

    reason = {"reason": "评分与评语不一致，请核实后重新提交"}
    problem(await projects.call("POST", f"{path}/reopen", "expert", json=reason), 403, "forbidden")
    other_program = await projects.call("POST", f"{path}/reopen", "manager2", json=reason)
    problem(other_program, 404, "sheet.not_found")
    projects.clock.advance(hours=2)
    reopened = await projects.call("POST", f"{path}/reopen", "manager", json=reason)
    assert reopened.status_code == 200, reopened.text
    body = reopened.json()
    assert (body["status"], body["weighted_total"]) == ("draft", None)
    assert body["reopened_by"] == str(projects.callers["manager"].user_id)
    assert body["reopened_at"] == "2026-03-02T12:00:00+08:00"
    twice = await projects.call("POST", f"{path}/reopen", "manager", json=reason)
    assert problem(twice, 409, "state.invalid_transition")["state"] == "draft"

    assert (
        await projects.call("PUT", path, "expert", json=sheet(innovation=100))
    ).status_code == 200
    resubmitted = await projects.call("POST", f"{path}/submit", "expert")
    assert resubmitted.status_code == 200
    assert resubmitted.json()["weighted_total"] == 87.0  # 40 + 24.5 + 22.5
    actions = [(t.action, t.reason) for t in await round_history(session, review.round)]
    assert actions == [
        ("sheet.submitted", None),
        ("sheet.reopened", reason["reason"]),
        ("sheet.submitted", None),
    ]


async def test_a_late_submission_is_accepted_recorded_and_sent_to_credit_once(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    path = review.sheet_path("applicant", "expert")
    assert (await projects.call("PUT", path, "expert", json=sheet())).status_code == 200
    projects.clock.advance(days=14)  # exactly the deadline: still in time
    on_time = await projects.call("POST", f"{path}/submit", "expert")
    assert on_time.json()["late"] is False
    reason = {"reason": "请补充对团队基础的评价"}
    assert (
        await projects.call("POST", f"{path}/reopen", "manager", json=reason)
    ).status_code == 200
    projects.clock.advance(days=1)
    resubmitted = await projects.call("POST", f"{path}/submit", "expert")
    # late is judged at the first submission; the reopen was the manager's call
    assert resubmitted.json()["late"] is False
    assert await outbox(session, "review.late") == []

    other = await review_round(session, projects, {"colleague": ("expert_late",)})
    other_path = other.sheet_path("colleague", "expert_late")
    projects.clock.advance(days=15)
    late = await score(projects, other, "colleague", "expert_late")
    assert late["late"] is True
    [payload] = await outbox(session, "review.late")
    expert = other.experts["expert_late"]
    assert payload == {
        "expert_id": str(expert.user_id),
        "expert_name": expert.name,
        "round_id": str(other.round.id),
        "call_id": str(other.call.id),
        "program_id": str(other.call.program_id),
        "application_id": str(other.applications["colleague"].id),
        "deadline": "2026-03-31T10:00:00+08:00",
        "submitted_at": "2026-04-01T10:00:00+08:00",
        "managing_agency": payload["managing_agency"],
    }
    assert payload["managing_agency"]
    stored = await session.get(ScoreSheet, other.assignments[("colleague", "expert_late")].id)
    assert stored is not None
    await session.refresh(stored)
    assert (stored.late, stored.status) == (True, "submitted")
    assert (await projects.call("GET", other_path, "expert_late")).json()["late"] is True


# --- who may read and write which sheet -------------------------------------------------------


async def test_an_expert_reaches_only_their_own_accepted_conflict_free_sheets(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert", "expert_b")})
    mine = review.sheet_path("applicant", "expert")
    await score(projects, review, "applicant", "expert")

    # the other expert on the same application: told it does not exist
    problem(await projects.call("GET", mine, "expert_b"), 404, "sheet.not_found")
    problem(await projects.call("PUT", mine, "expert_b", json=sheet()), 404, "sheet.not_found")
    problem(await projects.call("POST", f"{mine}/submit", "expert_b"), 404, "sheet.not_found")
    # people without the role are turned away before anything is looked up
    for who in ("applicant", "org_admin", "evaluator"):
        assert (await projects.call("GET", mine, who)).status_code == 403
        assert (await projects.call("PUT", mine, who, json=sheet())).status_code == 403
    # the managers of the program read it; another program's do not learn it exists
    read = await projects.call("GET", mine, "manager")
    assert read.status_code == 200
    assert read.json()["weighted_total"] == 79.0
    problem(await projects.call("GET", mine, "manager2"), 404, "sheet.not_found")
    assert (await projects.call("GET", mine, "admin")).status_code == 200

    # an assignment no longer accepted, or in conflict, is not the expert's to score
    theirs = review.assignments[("applicant", "expert_b")]
    theirs.status = AssignmentStatus.invited
    await session.commit()
    path_b = review.sheet_path("applicant", "expert_b")
    problem(await projects.call("PUT", path_b, "expert_b", json=sheet()), 404, "sheet.not_found")
    theirs.status = AssignmentStatus.accepted
    session.add(
        Conflict(
            round_id=review.round.id,
            application_id=theirs.application_id,
            expert_id=theirs.expert_id,
            kind="declared",
            evidence={"declared": "曾与申请人合作发表论文"},
        )
    )
    await session.commit()
    problem(await projects.call("PUT", path_b, "expert_b", json=sheet()), 404, "sheet.not_found")
    conflict = await session.get(
        Conflict, (review.round.id, theirs.application_id, theirs.expert_id, "declared")
    )
    assert conflict is not None
    conflict.overridden_by = projects.callers["manager"].user_id
    conflict.override_reason = "合作已逾五年，经核实无利害关系"
    conflict.overridden_at = projects.clock.now
    await session.commit()
    assert (await projects.call("PUT", path_b, "expert_b", json=sheet())).status_code == 200

    problem(
        await projects.call(
            "GET", "/v1/assignments/0193a5c0-0000-7000-8000-00000000ffff/sheet", "expert"
        ),
        404,
        "sheet.not_found",
    )


async def test_a_manager_who_applied_does_not_read_the_sheets_on_their_application(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert",)})
    application = review.applications["applicant"]
    application.applicant_id = projects.callers["manager"].user_id  # the manager applied
    await session.commit()
    await score(projects, review, "applicant", "expert")
    path = review.sheet_path("applicant", "expert")
    problem(await projects.call("GET", path, "manager"), 403, "duty.conflict")
    reason = {"reason": "重新评审"}
    problem(
        await projects.call("POST", f"{path}/reopen", "manager", json=reason), 403, "duty.conflict"
    )


async def test_a_closed_round_takes_no_more_sheet_writes(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("expert", "expert_b")})
    await score(projects, review, "applicant", "expert")
    projects.clock.advance(days=15)
    closed = await projects.call("POST", f"/v1/review-rounds/{review.round.id}/close", "manager")
    assert closed.status_code == 200, closed.text
    late = review.sheet_path("applicant", "expert_b")
    refused = await projects.call("PUT", late, "expert_b", json=sheet())
    assert problem(refused, 409, "state.invalid_transition")["state"] == "closed"
    problem(
        await projects.call("POST", f"{late}/submit", "expert_b"), 409, "state.invalid_transition"
    )
    reopen = await projects.call(
        "POST",
        review.sheet_path("applicant", "expert", "/reopen"),
        "manager",
        json={"reason": "结束后不得退回"},
    )
    problem(reopen, 409, "state.invalid_transition")
    assert (
        await projects.call("GET", review.sheet_path("applicant", "expert"), "expert")
    ).status_code == 200
