"""Reports and their review, acceptance (验收) with its events, and change requests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.projects.conftest import Projects
from tests.projects.test_decisions import BUDGET, outbox
from tests.projects.test_execution import contracted_projects

FINAL: dict[str, Any] = {
    "summary": "完成全部研究任务，建立旱区小麦节水栽培技术体系。",
    "milestones": [
        {"name": "完成田间试验设计", "done": True},
        {"name": "示范推广1万亩", "done": True, "note": "实际推广1.2万亩"},
    ],
    "indicators": [
        {"name": "发表论文", "achieved": 6},
        {"name": "示范面积", "achieved": 12000},
    ],
}


async def file(
    projects: Projects,
    project_id: str,
    kind: str,
    who: str = "applicant",
    period: str | None = None,
    **content: Any,
) -> httpx.Response:
    body = {"summary": f"{kind} 报告：按计划推进。", **content}
    return await projects.call(
        "POST",
        f"/v1/projects/{project_id}/reports",
        who,
        json={"kind": kind, "period": period, "content": body},
    )


async def review(
    projects: Projects,
    project_id: str,
    report_id: str,
    decision: str,
    who: str = "manager",
    **extra: Any,
) -> httpx.Response:
    return await projects.call(
        "POST",
        f"/v1/projects/{project_id}/reports/{report_id}/review",
        who,
        json={"decision": decision, "comment": "审核意见：" + decision, **extra},
    )


async def status_of(projects: Projects, project_id: str) -> str:
    found = await projects.call("GET", f"/v1/projects/{project_id}", "manager")
    status: str = found.json()["status"]
    return status


# --- annual and mid-term reports -------------------------------------------------------------


async def test_reports_are_filed_by_the_pi_and_reviewed_by_the_manager(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")

    annual = await file(projects, project_id, "annual", period="2026")
    assert annual.status_code == 201, annual.text
    assert annual.json()["status"] == "submitted"
    assert (await file(projects, project_id, "annual", who="colleague")).status_code == 404
    assert (await file(projects, project_id, "annual", who="org_admin")).status_code == 403

    elsewhere = await review(projects, project_id, annual.json()["id"], "pass", who="manager2")
    assert elsewhere.status_code == 404
    by_pi = await review(projects, project_id, annual.json()["id"], "pass", who="applicant")
    assert by_pi.status_code == 403
    wrong_kind = await review(projects, project_id, annual.json()["id"], "passed")
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["code"] == "report.invalid_decision"

    passed = await review(projects, project_id, annual.json()["id"], "pass")
    assert passed.status_code == 200, passed.text
    assert passed.json()["status"] == "passed"
    assert passed.json()["reviewed_by"] == str(projects.callers["manager"].user_id)
    twice = await review(projects, project_id, annual.json()["id"], "rectify")
    assert twice.status_code == 409
    assert twice.json()["state"] == "passed"

    midterm = await file(projects, project_id, "midterm")
    assert midterm.status_code == 201
    second = await file(projects, project_id, "midterm")
    assert second.status_code == 409
    assert second.json()["code"] == "report.open"

    rectify = await review(projects, project_id, midterm.json()["id"], "rectify")
    assert rectify.json()["status"] == "rectify"
    assert await outbox(session, "project.midterm_passed") == []
    again = await file(projects, project_id, "midterm")  # the PI files again
    assert again.status_code == 201
    passed_midterm = await review(projects, project_id, again.json()["id"], "pass")
    assert passed_midterm.status_code == 200
    assert await outbox(session, "project.midterm_passed") == [
        {
            "project_id": project_id,
            "project_number": "2026-ZDYF-0001",
            "report_id": again.json()["id"],
        }
    ]
    assert await status_of(projects, project_id) == "in_progress"

    listed = await projects.call("GET", f"/v1/projects/{project_id}/reports", "org_admin")
    assert [r["status"] for r in listed.json()["items"]] == ["passed", "rectify", "passed"]
    hidden = await projects.call("GET", f"/v1/projects/{project_id}/reports", "applicant2")
    assert hidden.status_code == 404


async def test_a_report_review_can_terminate_the_project(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    midterm = await file(projects, project_id, "midterm")
    terminated = await review(projects, project_id, midterm.json()["id"], "terminate")
    assert terminated.status_code == 200, terminated.text
    assert terminated.json()["status"] == "terminate"
    detail = (await projects.call("GET", f"/v1/projects/{project_id}", "manager")).json()
    assert (detail["status"], detail["termination_cause"]) == ("terminated", "inability")
    [event] = await outbox(session, "project.terminated")
    assert (event["cause"], event["at_fault"]) == ("inability", False)


async def test_malformed_reports_are_refused(session: AsyncSession, projects: Projects) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    for body in (
        {"kind": "weekly", "content": {"summary": "本周进展"}},
        {"kind": "annual", "content": {}},
        {"kind": "annual", "content": {"summary": "进展", "milestones": [{"name": "x"}]}},
    ):
        reply = await projects.call(
            "POST", f"/v1/projects/{project_id}/reports", "applicant", json=body
        )
        assert reply.status_code == 422, body


# --- acceptance ------------------------------------------------------------------------------


async def test_acceptance_passed_conditional_and_failed(
    session: AsyncSession, projects: Projects
) -> None:
    passed_id, conditional_id, failed_id = await contracted_projects(
        session, projects, "applicant", "colleague", "applicant2"
    )

    final = await file(projects, passed_id, "final", **FINAL)
    assert final.status_code == 201, final.text
    not_a_progress = await review(projects, passed_id, final.json()["id"], "pass")
    assert not_a_progress.status_code == 422
    passed = await review(projects, passed_id, final.json()["id"], "passed")
    assert passed.status_code == 200, passed.text
    assert passed.json()["comparison"] == [
        {"name": "发表论文", "target": 5, "unit": "篇", "achieved": 6, "met": True},
        {"name": "示范面积", "target": 10000, "unit": "亩", "achieved": 12000, "met": True},
    ]
    assert await status_of(projects, passed_id) == "accepted"

    short: dict[str, Any] = {**FINAL, "indicators": [{"name": "发表论文", "achieved": 3}]}
    final = await file(projects, conditional_id, "final", who="colleague", **short)
    no_conditions = await review(projects, conditional_id, final.json()["id"], "conditional")
    assert no_conditions.status_code == 422
    conditional = await review(
        projects,
        conditional_id,
        final.json()["id"],
        "conditional",
        conditions="六个月内补齐论文指标并提交说明",
    )
    assert conditional.status_code == 200, conditional.text
    assert [(c["achieved"], c["met"]) for c in conditional.json()["comparison"]] == [
        (3, False),
        (None, None),
    ]
    detail = (await projects.call("GET", f"/v1/projects/{conditional_id}", "colleague")).json()
    assert detail["status"] == "accepted"
    assert detail["acceptance_conditions"] == "六个月内补齐论文指标并提交说明"

    final = await file(projects, failed_id, "final", who="applicant2", summary="未完成主要任务")
    failed = await review(projects, failed_id, final.json()["id"], "failed")
    assert failed.json()["status"] == "failed"
    assert await status_of(projects, failed_id) == "acceptance_failed"

    accepted = await outbox(session, "project.accepted")
    assert [(e["project_id"], e["result"], e["conditions"]) for e in accepted] == [
        (passed_id, "passed", None),
        (conditional_id, "conditional", "六个月内补齐论文指标并提交说明"),
    ]
    assert accepted[0]["org"]["name"] == "兰州大学"
    assert accepted[0]["pi"] == {"id": str(projects.callers["applicant"].user_id), "name": "王芳"}
    assert accepted[0]["approved_budget_fen"] == BUDGET
    [failure] = await outbox(session, "project.acceptance_failed")
    assert failure["project_id"] == failed_id
    assert failure["reason"] == "审核意见：failed"
    assert failure["org"]["name"] == "甘肃省农业科学院"

    after = await file(projects, passed_id, "annual")
    assert after.status_code == 409
    assert after.json()["state"] == "accepted"
    story = await projects.call("GET", f"/v1/projects/{passed_id}/history", "applicant")
    assert story.json()["items"][-1]["action"] == "acceptance.passed"
    assert story.json()["items"][-1]["to_state"] == "accepted"


# --- change requests -------------------------------------------------------------------------


async def ask(projects: Projects, project_id: str, who: str = "applicant", **body: Any) -> Any:
    return await projects.call(
        "POST", f"/v1/projects/{project_id}/changes", who, json={"reason": "确有需要", **body}
    )


async def decide(
    projects: Projects, project_id: str, change_id: str, decision: str, who: str = "manager"
) -> httpx.Response:
    return await projects.call(
        "POST",
        f"/v1/projects/{project_id}/changes/{change_id}/decision",
        who,
        json={"decision": decision, "reason": "同意" if decision == "approve" else "不同意"},
    )


async def test_an_extension_of_at_most_twelve_months(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    for too_much in ("2028-06-30", "2030-01-01"):
        reply = await ask(projects, project_id, kind="extension", new_ends_on=too_much)
        assert reply.status_code == 422, too_much
        assert reply.json()["code"] == "change.invalid"

    asked = await ask(projects, project_id, kind="extension", new_ends_on="2029-12-31")
    assert asked.status_code == 201, asked.text
    assert asked.json()["status"] == "pending"
    pending = await ask(projects, project_id, kind="extension", new_ends_on="2029-06-30")
    assert pending.status_code == 409
    assert pending.json()["code"] == "change.pending"
    assert (
        await decide(projects, project_id, asked.json()["id"], "approve", "manager2")
    ).status_code == 404

    approved = await decide(projects, project_id, asked.json()["id"], "approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    detail = (await projects.call("GET", f"/v1/projects/{project_id}", "applicant")).json()
    assert detail["ends_on"] == "2029-12-31"
    assert detail["task_book"]["ends_on"] == "2029-12-31"
    again = await decide(projects, project_id, asked.json()["id"], "reject")
    assert again.status_code == 409
    assert again.json()["state"] == "approved"
    [event] = await outbox(session, "project.changed")
    assert (event["kind"], event["details"]["new_ends_on"]) == ("extension", "2029-12-31")


async def test_a_new_pi_from_the_same_organization(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    for who in ("applicant2", "stranger"):
        other = await ask(
            projects, project_id, kind="pi_change", new_pi_id=str(projects.callers[who].user_id)
        )
        assert other.status_code == 422, who
    nobody = await ask(
        projects, project_id, kind="pi_change", new_pi_id="0193a5c0-0000-7000-8000-0000000000aa"
    )
    assert nobody.status_code == 422
    by_colleague = await ask(
        projects,
        project_id,
        who="colleague",
        kind="pi_change",
        new_pi_id=str(projects.callers["colleague"].user_id),
    )
    assert by_colleague.status_code == 404  # not their project (yet)

    colleague = str(projects.callers["colleague"].user_id)
    asked = await ask(projects, project_id, kind="pi_change", new_pi_id=colleague)
    assert asked.status_code == 201, asked.text
    approved = await decide(projects, project_id, asked.json()["id"], "approve")
    assert approved.status_code == 200, approved.text

    detail = (await projects.call("GET", f"/v1/projects/{project_id}", "colleague")).json()
    assert (detail["pi_id"], detail["pi_name"]) == (colleague, "陈静")
    annual = await file(projects, project_id, "annual", who="colleague")
    assert annual.status_code == 201
    former = await file(projects, project_id, "annual", who="applicant")
    assert former.status_code == 404  # the former PI no longer leads (nor reads) it


async def test_a_budget_reallocation_keeps_the_total_and_indirect_costs(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    # The task book: equipment 16M, business 40M, labour 16M, indirect 8M.
    more_indirect = {
        "equipment": 15_000_000,
        "business": 40_000_000,
        "labour": 16_000_000,
        "indirect": 9_000_000,
    }
    other_total = {
        "equipment": 20_000_000,
        "business": 40_000_000,
        "labour": 16_000_000,
        "indirect": 8_000_000,
    }
    for budget in (more_indirect, other_total):
        reply = await ask(projects, project_id, kind="budget_reallocation", budget=budget)
        assert reply.status_code == 422, budget
        assert reply.json()["code"] == "change.invalid"

    moved = {
        "equipment": 10_000_000,
        "business": 48_000_000,
        "labour": 16_000_000,
        "indirect": 6_000_000,
    }
    asked = await ask(projects, project_id, kind="budget_reallocation", budget=moved)
    assert asked.status_code == 201, asked.text
    rejected = await decide(projects, project_id, asked.json()["id"], "reject")
    assert rejected.json()["status"] == "rejected"
    book = (await projects.call("GET", f"/v1/projects/{project_id}", "manager")).json()["task_book"]
    assert book["budget"]["equipment"] == 16_000_000

    asked = await ask(projects, project_id, kind="budget_reallocation", budget=moved)
    approved = await decide(projects, project_id, asked.json()["id"], "approve")
    assert approved.status_code == 200
    book = (await projects.call("GET", f"/v1/projects/{project_id}", "manager")).json()["task_book"]
    assert book["budget"] == moved
    changes = await projects.call("GET", f"/v1/projects/{project_id}/changes", "org_admin")
    assert [c["status"] for c in changes.json()["items"]] == ["rejected", "approved"]
    story = (await projects.call("GET", f"/v1/projects/{project_id}/history", "manager")).json()[
        "items"
    ]
    applied = [t for t in story if t["action"] == "change.budget_reallocation"]
    assert applied[0]["details"]["budget"] == moved
    assert applied[0]["details"]["old_budget"]["equipment"] == 16_000_000
