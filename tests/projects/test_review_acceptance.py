"""Acceptance review (验收评审): a round of experts on the final reports of a call's projects,
with the proposal review's conflicts, assignment and scoring; its score shown with the final
report to the program's manager, who decides; applicants never learn who the experts were."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Project, ReviewRound, Transition
from services.projects.review.rounds.acceptance import ACCEPTANCE_TEMPLATE
from services.projects.review.rounds.items import round_items
from tests.conftest import org_code
from tests.projects.conftest import Caller, Projects, closed_call
from tests.projects.review_factories import make_application, make_expert, make_round
from tests.projects.test_execution import contracted_projects
from tests.projects.test_execution_reports import FINAL, ask, file, review
from tests.projects.test_review_assignments_helpers import SUBJECT, apply, dry_run

COMMENTS = {
    "indicators": "考核指标全部完成，部分超额完成。",
    "quality": "成果质量较高，具有推广价值。",
    "funds": "经费使用规范，支出与预算相符。",
}


async def open_acceptance(
    projects: Projects, call_id: Any, who: str = "manager", **overrides: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "kind": "acceptance",
        "deadline": (projects.clock.now + timedelta(days=20)).isoformat(),
        "experts_per_item": 2,
    }
    body.update(overrides)
    return await projects.call("POST", f"/v1/calls/{call_id}/review-rounds", who, json=body)


async def project_row(session: AsyncSession, project_id: str) -> Project:
    found = await session.get(Project, UUID(project_id), populate_existing=True)
    assert found is not None
    return found


async def round_row(session: AsyncSession, round_id: str) -> ReviewRound:
    found = await session.get(ReviewRound, UUID(round_id), populate_existing=True)
    assert found is not None
    return found


async def final_report(projects: Projects, project_id: str, who: str = "applicant") -> str:
    filed = await file(projects, project_id, "final", who=who, **FINAL)
    assert filed.status_code == 201, filed.text
    report_id: str = filed.json()["id"]
    return report_id


async def experts(session: AsyncSession, projects: Projects) -> dict[str, Caller]:
    """The fixture's expert (org 2), one of org 1 and two of no organization, all in the
    applications' field."""
    return {
        "expert": await make_expert(session, projects, "expert", primary=(SUBJECT,)),
        "同单位专家": await make_expert(session, projects, "同单位专家", org=1, primary=(SUBJECT,)),
        "验收专家甲": await make_expert(
            session, projects, "验收专家甲", primary=(SUBJECT,), keywords=("小麦",)
        ),
        "验收专家乙": await make_expert(
            session, projects, "验收专家乙", primary=(SUBJECT,), keywords=("节水农业",)
        ),
    }


def acceptance_sheet(value: int) -> dict[str, Any]:
    return {
        "scores": {"indicators": value, "quality": value, "funds": value},
        "comments": COMMENTS,
        "overall_comment": "项目完成了任务书规定的主要任务，建议通过验收。",
        "recommendation": "support",
    }


async def reports_of(projects: Projects, project_id: str, who: str) -> list[dict[str, Any]]:
    listed = await projects.call("GET", f"/v1/projects/{project_id}/reports", who)
    assert listed.status_code == 200, listed.text
    body: list[dict[str, Any]] = listed.json()["items"]
    return body


# --- the whole way -------------------------------------------------------------------------


async def test_an_acceptance_round_from_opening_to_the_managers_decision(
    session: AsyncSession, projects: Projects
) -> None:
    finishing, running = await contracted_projects(session, projects, "applicant", "applicant2")
    project = await project_row(session, finishing)
    pool = await experts(session, projects)
    report_id = await final_report(projects, finishing)

    opened = await open_acceptance(projects, project.call_id)

    assert opened.status_code == 201, opened.text
    round_ = opened.json()
    assert (round_["kind"], round_["state"], round_["experts_per_item"]) == (
        "acceptance",
        "assigning",
        2,
    )
    assert round_["review_template"] == ACCEPTANCE_TEMPLATE
    assert round_["applications"] == 1  # the running project has no final report yet
    assert round_["options"]["final_reports"] == [
        {
            "application_id": str(project.application_id),
            "project_id": finishing,
            "report_id": report_id,
        }
    ]
    round_id = round_["id"]

    # Conflicts as for a proposal: the expert of the project's organization is barred.
    refreshed = await projects.call(
        "POST", f"/v1/review-rounds/{round_id}/conflicts/refresh", "manager"
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["counts"]["same_org"] == {"total": 1, "overridden": 0}
    conflicts = await projects.call("GET", f"/v1/review-rounds/{round_id}/conflicts", "manager")
    [conflict] = conflicts.json()["items"]
    assert conflict["application_id"] == str(project.application_id)
    assert conflict["expert_id"] == str(pool["同单位专家"].user_id)
    assert conflict["evidence"]["applicant_org"]["credit_code"] == org_code(1)

    # Dry run, then apply: two experts, never the conflicted one.
    run = await dry_run(projects, await round_row(session, round_id))
    chosen = {p["expert_id"] for p in run["pairs"]}
    assert {p["application_id"] for p in run["pairs"]} == {str(project.application_id)}
    assert chosen == {str(pool["验收专家甲"].user_id), str(pool["验收专家乙"].user_id)}
    assert run["unassignable"] == []
    applied = await apply(projects, run)
    assert applied.status_code == 200, applied.text
    assert applied.json()["round_state"] == "reviewing"
    assignment_of = {a["expert_id"]: a["id"] for a in applied.json()["created"]}

    # The expert reads the final report next to the task book, accepts and scores.
    for name, value in (("验收专家甲", 90), ("验收专家乙", 50)):
        assignment_id = assignment_of[str(pool[name].user_id)]
        detail = await projects.call("GET", f"/v1/me/assignments/{assignment_id}", name)
        assert detail.status_code == 200, detail.text
        mine = detail.json()
        assert mine["round_kind"] == "acceptance"
        assert mine["review_template"] == ACCEPTANCE_TEMPLATE
        assert mine["application"]["id"] == str(project.application_id)
        report = mine["final_report"]
        assert (report["report_id"], report["project_number"]) == (report_id, project.number)
        assert report["summary"] == FINAL["summary"]
        assert report["indicators"] == [
            {"name": "发表论文", "target": 5, "unit": "篇", "achieved": 6, "met": True},
            {"name": "示范面积", "target": 10000, "unit": "亩", "achieved": 12000, "met": True},
        ]
        assert sum(report["budget"].values()) == project.approved_budget_fen
        other = next(e for e in chosen if e != str(pool[name].user_id))
        assert other not in detail.text
        accepted = await projects.call("POST", f"/v1/assignments/{assignment_id}/accept", name)
        assert accepted.status_code == 200, accepted.text
        path = f"/v1/assignments/{assignment_id}/sheet"
        saved = await projects.call("PUT", path, name, json=acceptance_sheet(value))
        assert saved.status_code == 200, saved.text
        submitted = await projects.call("POST", f"{path}/submit", name)
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["weighted_total"] == value

    # While the round runs, the manager sees the score so far; the applicant nothing.
    [report_now] = await reports_of(projects, finishing, "manager")
    assert report_now["expert_review"]["flags"] == ["disagreement", "round_open"]
    [report_now] = await reports_of(projects, finishing, "applicant")
    assert report_now["expert_review"] is None

    closed = await projects.call("POST", f"/v1/review-rounds/{round_id}/close", "manager")
    assert closed.status_code == 200, closed.text
    assert (closed.json()["state"], closed.json()["applications_reviewed"]) == ("closed", 0)
    application = await session.get(Application, project.application_id, populate_existing=True)
    assert application is not None
    assert application.status == "approved"  # approved long ago: the review moves nothing
    assert (await project_row(session, finishing)).status == "in_progress"

    results = await projects.call("GET", f"/v1/review-rounds/{round_id}/results", "manager")
    assert results.status_code == 200, results.text
    [result] = results.json()["items"]
    assert (result["application_id"], result["n_reviews"], result["disagreement"]) == (
        str(project.application_id),
        2,
        True,
    )
    assert {r["expert_id"] for r in result["reviews"]} == chosen

    expected = {
        "round_id": round_id,
        "round_state": "closed",
        "n_reviews": 2,
        "n_expected": 2,
        "mean": 70.0,
        "median": 70.0,
        "trimmed_mean": 70.0,
        "sd": 28.2843,
        "recommendations": {"support": 2},
        "flags": ["disagreement"],
    }
    [before] = await reports_of(projects, finishing, "manager")
    assert {k: before["expert_review"][k] for k in expected} == expected
    assert before["status"] == "submitted"  # the experts advise; the manager decides

    decided = await review(projects, finishing, report_id, "passed")
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "passed"
    assert {k: decided.json()["expert_review"][k] for k in expected} == expected
    assert (await project_row(session, finishing)).status == "accepted"

    # After the decision the applicant reads the aggregate, and nowhere who the experts were.
    [seen] = await reports_of(projects, finishing, "applicant")
    assert seen["expert_review"]["trimmed_mean"] == 70.0
    story = await projects.call("GET", f"/v1/projects/{finishing}/history", "applicant")
    completed = [t for t in story.json()["items"] if t["action"] == "acceptance_review.completed"]
    assert [t["details"]["reviews"] for t in completed] == [2]
    for reply in (
        story,
        await projects.call("GET", f"/v1/projects/{finishing}/reports", "applicant"),
        await projects.call(
            "GET", f"/v1/applications/{project.application_id}/history", "applicant"
        ),
    ):
        assert reply.status_code == 200
        for caller in pool.values():
            assert str(caller.user_id) not in reply.text
            assert caller.name not in reply.text
    for path in (f"/v1/review-rounds/{round_id}/results", f"/v1/review-rounds/{round_id}"):
        assert (await projects.call("GET", path, "applicant")).status_code == 403
    listing = await projects.call("GET", f"/v1/review-rounds/{round_id}/assignments", "applicant")
    assert listing.status_code == 403

    # The running project was never part of it.
    assert await reports_of(projects, running, "manager") == []


# --- opening ----------------------------------------------------------------------------------


async def test_no_acceptance_round_without_a_final_report_awaiting_review(
    session: AsyncSession, projects: Projects
) -> None:
    proposals = await closed_call(session, projects)
    await make_application(session, projects, proposals)
    assert (await open_acceptance(projects, proposals.id)).json()["code"] == (
        "round.no_projects_to_accept"
    )

    [project_id] = await contracted_projects(session, projects, "applicant")
    call_id = (await project_row(session, project_id)).call_id
    no_report = await open_acceptance(projects, call_id)
    assert no_report.status_code == 409
    assert no_report.json()["code"] == "round.no_projects_to_accept"

    midterm = await file(projects, project_id, "midterm")
    assert midterm.status_code == 201
    assert (await open_acceptance(projects, call_id)).status_code == 409

    report_id = await final_report(projects, project_id)
    assert (await review(projects, project_id, report_id, "failed")).status_code == 200
    decided = await open_acceptance(projects, call_id)
    assert decided.status_code == 409
    assert decided.json()["code"] == "round.no_projects_to_accept"
    assert await session.scalar(sa.select(sa.func.count()).select_from(ReviewRound)) == 0


async def test_acceptance_rounds_follow_one_another_each_on_new_final_reports(
    session: AsyncSession, projects: Projects
) -> None:
    first, second = await contracted_projects(session, projects, "applicant", "applicant2")
    call_id = (await project_row(session, first)).call_id
    await final_report(projects, first)
    opened = await open_acceptance(projects, call_id)
    assert opened.status_code == 201, opened.text

    await final_report(projects, second, who="applicant2")
    while_open = await open_acceptance(projects, call_id)
    assert while_open.status_code == 409
    assert while_open.json()["code"] == "round.exists"

    projects.clock.advance(days=21)  # past the deadline: a round still assigning may close
    closed = await projects.call(
        "POST", f"/v1/review-rounds/{opened.json()['id']}/close", "manager"
    )
    assert closed.status_code == 200, closed.text

    again = await open_acceptance(projects, call_id)
    assert again.status_code == 201, again.text
    [item] = again.json()["options"]["final_reports"]
    assert item["project_id"] == second  # the first report was put to experts already
    rounds = await projects.call("GET", f"/v1/calls/{call_id}/review-rounds", "manager")
    assert [(r["kind"], r["state"]) for r in rounds.json()["items"]] == [
        ("acceptance", "closed"),
        ("acceptance", "assigning"),
    ]

    # The fixture's expert is of the second project's organization.
    await make_expert(session, projects, "expert", primary=(SUBJECT,))
    refreshed = await projects.call(
        "POST", f"/v1/review-rounds/{again.json()['id']}/conflicts/refresh", "manager"
    )
    assert refreshed.json()["counts"]["same_org"]["total"] == 1

    projects.clock.advance(days=21)
    await projects.call("POST", f"/v1/review-rounds/{again.json()['id']}/close", "manager")
    nothing_left = await open_acceptance(projects, call_id)
    assert nothing_left.json()["code"] == "round.no_projects_to_accept"


async def test_only_one_proposal_round_per_call_even_once_closed(
    session: AsyncSession, projects: Projects
) -> None:
    call = await closed_call(session, projects)
    await make_application(session, projects, call)
    await make_round(session, projects, call, state="closed", closed_at=projects.clock.now)

    reply = await projects.call(
        "POST",
        f"/v1/calls/{call.id}/review-rounds",
        "manager",
        json={"deadline": (projects.clock.now + timedelta(days=9)).isoformat()},
    )

    assert reply.status_code == 409
    assert reply.json()["code"] == "round.exists"


async def test_an_acceptance_round_may_score_on_its_own_template(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    await final_report(projects, project_id)
    template = {
        "criteria": [
            {"code": "indicators", "name": "指标完成", "weight": 60, "min": 0, "max": 10},
            {"code": "funds", "name": "经费使用", "weight": 40, "min": 0, "max": 10},
        ]
    }
    call_id = (await project_row(session, project_id)).call_id

    unbalanced = {"criteria": [{**template["criteria"][0], "weight": 50}]}
    assert (await open_acceptance(projects, call_id, review_template=unbalanced)).status_code == 422
    reply = await open_acceptance(projects, call_id, review_template=template)

    assert reply.status_code == 201, reply.text
    assert reply.json()["review_template"] == template


@pytest.mark.parametrize("who", ["manager2", "applicant", "expert"])
async def test_only_the_programs_managers_open_acceptance_rounds(
    session: AsyncSession, projects: Projects, who: str
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    await final_report(projects, project_id)

    reply = await open_acceptance(projects, (await project_row(session, project_id)).call_id, who)

    assert reply.status_code == 403
    assert await session.scalar(sa.select(sa.func.count()).select_from(ReviewRound)) == 0


# --- what the rules read ----------------------------------------------------------------------


async def test_the_items_are_the_projects_applications_with_their_current_lead(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    colleague = str(projects.callers["colleague"].user_id)
    asked = await ask(projects, project_id, kind="pi_change", new_pi_id=colleague)
    assert asked.status_code == 201, asked.text
    approved = await projects.call(
        "POST",
        f"/v1/projects/{project_id}/changes/{asked.json()['id']}/decision",
        "manager",
        json={"decision": "approve", "reason": "原负责人调离，同意变更"},
    )
    assert approved.status_code == 200, approved.text
    await final_report(projects, project_id, who="colleague")
    project = await project_row(session, project_id)
    opened = await open_acceptance(projects, project.call_id)
    assert opened.status_code == 201, opened.text

    (item,) = await round_items(session, await round_row(session, opened.json()["id"]))

    assert item.application_id == project.application_id
    assert item.applicant_id == projects.callers["applicant"].user_id
    assert item.team_ids == {
        projects.callers["applicant"].user_id,
        projects.callers["colleague"].user_id,
    }
    assert item.org_credit_code == org_code(1)
    assert item.subjects == (SUBJECT,)
    assert item.keywords == {"节水农业", "小麦", "栽培"}

    # The new lead's own expert row is a team conflict, as on the application's team.
    await make_expert(session, projects, "colleague", primary=(SUBJECT,))
    refreshed = await projects.call(
        "POST", f"/v1/review-rounds/{opened.json()['id']}/conflicts/refresh", "manager"
    )
    assert refreshed.json()["counts"]["team"]["total"] == 1
    recorded = await session.scalar(
        sa.select(Transition).where(Transition.entity == "round", Transition.action == "opened")
    )
    assert recorded is not None
    assert recorded.details["kind"] == "acceptance"
