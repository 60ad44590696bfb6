"""The managers' overview: the calls they manage with their counts, and a call's dashboard
(formal checks waiting, review progress per expert, conflicts), each in one request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Assignment, Conflict, FormalCheck, ScoreSheet
from tests.projects.conftest import ZDZX, Projects, closed_call, insert_application, insert_call
from tests.projects.review_factories import make_expert, make_round


def _assignment(round_: Any, application: Any, expert: Any, projects: Projects, status: str) -> Any:
    return Assignment(
        round_id=round_.id,
        application_id=application.id,
        expert_id=expert.user_id,
        status=status,
        match_score=400,
        explanation={"score": 400},
        source="manual",
        assigned_by=projects.callers["manager"].user_id,
        assigned_at=projects.clock.now,
    )


async def test_a_manager_lists_the_calls_of_their_programs_with_counts_but_no_drafts(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    other = await insert_call(session, projects, ZDZX, title="2026年度重大专项")
    await insert_application(session, projects, call, "applicant", status="submitted")
    await insert_application(session, projects, call, "applicant2", status="endorsed")
    await insert_application(session, projects, call, "colleague", status="draft")

    mine = await projects.call("GET", "/v1/me/managed-calls", "manager")

    assert mine.status_code == 200, mine.text
    listed = {item["id"]: item for item in mine.json()["items"]}
    assert str(other.id) not in listed  # another program's
    assert listed[str(call.id)]["applications"] == {"submitted": 1, "endorsed": 1}
    assert listed[str(call.id)]["status"] == "open"
    theirs = await projects.call("GET", "/v1/me/managed-calls", "manager2")
    assert [item["id"] for item in theirs.json()["items"]] == [str(other.id)]
    refused = await projects.call("GET", "/v1/me/managed-calls", "applicant")
    assert refused.status_code == 403


async def test_the_dashboard_shows_pending_checks_and_review_progress_per_expert(
    projects: Projects, session: AsyncSession
) -> None:
    call = await closed_call(session, projects)
    waiting = await insert_application(session, projects, call, "applicant", status="endorsed")
    session.add(
        FormalCheck(
            application_id=waiting.id,
            version=1,
            results=[
                {"rule": "attachments.required", "passed": False, "detail": "缺少可行性报告"},
                {"rule": "budget.within_limits", "passed": True, "detail": ""},
            ],
            credit=None,
            automatic_passed=False,
        )
    )
    first = await insert_application(session, projects, call, "applicant2")
    second = await insert_application(session, projects, call, "colleague")
    late = await make_round(
        session, projects, call, state="reviewing", deadline=projects.clock.now - timedelta(hours=1)
    )
    fast = await make_expert(session, projects, "专家甲")
    slow = await make_expert(session, projects, "专家乙")
    barred = await make_expert(session, projects, "专家丙", org=1)
    done = _assignment(late, first, fast, projects, "accepted")
    session.add_all(
        [
            done,
            _assignment(late, second, fast, projects, "invited"),
            _assignment(late, first, slow, projects, "accepted"),
            _assignment(late, second, slow, projects, "declined"),
            Conflict(
                round_id=late.id,
                application_id=second.id,
                expert_id=barred.user_id,
                kind="same_org",
                evidence={"organization": "兰州大学"},
            ),
        ]
    )
    await session.flush()
    session.add(
        ScoreSheet(
            assignment_id=done.id,
            scores={"innovation": 80},
            comments={},
            status="submitted",
            saved_at=projects.clock.now,
            submitted_at=projects.clock.now,
        )
    )
    await session.commit()

    response = await projects.call("GET", f"/v1/calls/{call.id}/overview", "manager")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["call"]["id"] == str(call.id)
    assert body["applications"] == {"endorsed": 1, "in_review": 2}
    [pending] = body["formal_checks_pending"]
    assert (pending["application_id"], pending["applicant_name"], pending["org_name"]) == (
        str(waiting.id),
        "王芳",
        "兰州大学",
    )
    assert pending["automatic_passed"] is False
    assert [r["rule"] for r in pending["failed_rules"]] == ["attachments.required"]
    [round_] = body["rounds"]
    assert round_["id"] == str(late.id)
    counts = ("assigned", "accepted", "declined", "submitted", "overdue")
    progress = {e["expert_name"]: tuple(e[n] for n in counts) for e in round_["experts"]}
    # 甲: one reviewed, one still invited past the deadline; 乙: one accepted and late, one declined
    assert progress == {"专家甲": (2, 1, 0, 1, 1), "专家乙": (1, 1, 1, 0, 1)}
    assert round_["conflicts"] == {"same_org": {"total": 1, "overridden": 0}}


async def test_only_the_programs_managers_see_a_calls_dashboard(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    draft = await insert_call(session, projects, state="draft", published_at=None)
    path = f"/v1/calls/{call.id}/overview"

    assert (await projects.call("GET", path, "manager2")).status_code == 403
    unseen = await projects.call("GET", f"/v1/calls/{draft.id}/overview", "manager2")
    assert unseen.status_code == 404  # another program's draft
    assert (await projects.call("GET", path, "evaluator")).status_code == 403
    assert (await projects.call("GET", path, "admin")).status_code == 200
