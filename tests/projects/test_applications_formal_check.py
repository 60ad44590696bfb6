"""Endorsement by the organization and the agency's formal check: automatic rules (fields,
attachments, budget, 限项, credit as of submission) and the manager's pass or return."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import FormalCheck, Project
from shared.auth.roles import Role
from shared.ids import uuid7
from tests.conftest import bearer
from tests.projects.conftest import (
    START,
    Caller,
    Projects,
    content,
    insert_application,
    insert_call,
)
from tests.projects.test_applications_helpers import (
    act,
    confirm_record,
    credit_record,
    draft,
    endorsed,
    open_call,
    rules,
    submitted,
    user,
)

ALL_RULES = {
    "fields.required",
    "attachments.required",
    "budget.within_range",
    "budget.indirect_within_tiers",
    "projects.limit",
    "credit.eligible",
    "reports.none_overdue",
}


async def insert_project(
    session: AsyncSession, projects: Projects, who: str, status: str, n: int
) -> Project:
    """A project the person leads, from an earlier call."""
    earlier = await insert_call(session, projects, year=2024, title=f"2024年度第{n}批")
    application = await insert_application(session, projects, earlier, who, status="approved")
    project = Project(
        application_id=application.id,
        number=f"2024-ZDYF-{n:04d}",
        call_id=earlier.id,
        program_id=earlier.program_id,
        year=2024,
        org_id=application.org_id,
        pi_id=application.applicant_id,
        pi_name=projects.callers[who].name,
        org_name="兰州大学",
        title=application.title,
        approved_budget_fen=50_000_000,
        status=status,
        notice_starts_at=START - timedelta(days=400),
        notice_ends_at=START - timedelta(days=393),
    )
    session.add(project)
    await session.commit()
    return project


async def decide(
    projects: Projects, application_id: str, who: str, decision: str, reason: str = ""
) -> Any:
    return await act(
        projects, application_id, "formal-check/decision", who, decision=decision, reason=reason
    )


async def test_endorsement_runs_every_rule_on_the_submitted_version(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await endorsed(projects, call)
    check = application["formal_check"]
    assert check["version"] == 2
    assert check["automatic_passed"] is True
    assert check["outcome"] is None
    assert {r["rule"] for r in check["results"]} == ALL_RULES
    assert all(passed for passed, _ in rules(application).values())
    assert check["credit"]["applicant"]["level"] == "B"
    assert check["credit"]["organization"]["eligible"] is True

    read = await projects.call(
        "GET", f"/v1/applications/{application['id']}/formal-check", "manager"
    )
    assert read.status_code == 200
    assert read.json() == check
    history = await projects.call(
        "GET", f"/v1/applications/{application['id']}/history", "applicant"
    )
    endorsement = history.json()["items"][-1]
    assert (endorsement["action"], endorsement["from_state"], endorsement["to_state"]) == (
        "endorse",
        "submitted",
        "endorsed",
    )
    assert endorsement["actor_id"] == str(user(projects, "org_admin"))
    assert endorsement["details"]["formal_check"]["automatic_passed"] is True


async def test_only_the_applicants_organization_endorses(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await submitted(projects, call)
    other_org = await act(
        projects, application["id"], "endorsement", "org_admin2", decision="endorse"
    )
    assert other_org.status_code == 404
    assert other_org.json()["code"] == "application.not_found"
    not_admin = await act(
        projects, application["id"], "endorsement", "colleague", decision="endorse"
    )
    assert not_admin.status_code == 403
    no_reason = await act(
        projects, application["id"], "endorsement", "org_admin", decision="return"
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["code"] == "reason.required"
    endorsed_once = await act(
        projects, application["id"], "endorsement", "org_admin", decision="endorse"
    )
    assert endorsed_once.status_code == 200
    twice = await act(projects, application["id"], "endorsement", "org_admin", decision="endorse")
    assert twice.status_code == 409
    assert twice.json()["state"] == "endorsed"
    drafted = await draft(projects, call, "colleague")
    too_early = await act(projects, drafted["id"], "endorsement", "org_admin", decision="endorse")
    assert too_early.status_code == 409
    assert too_early.json()["state"] == "draft"


async def test_missing_attachments_and_a_budget_outside_the_range_fail_their_rules(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(
        session, projects, required_attachments=["feasibility_report", "ethics"]
    )
    small = {"equipment": 0, "business": 3_000_000, "labour": 2_000_000, "indirect": 1_000_000}
    application = await draft(projects, call, budget=small)
    await act(projects, application["id"], "submit", "applicant")
    response = await act(
        projects, application["id"], "endorsement", "org_admin", decision="endorse"
    )
    found = rules(response.json())
    assert found["attachments.required"] == (False, "missing: feasibility_report, ethics")
    assert found["budget.within_range"][0] is False
    assert "6000000" in found["budget.within_range"][1]
    assert found["budget.indirect_within_tiers"][0] is True
    assert found["fields.required"][0] is True
    assert response.json()["formal_check"]["automatic_passed"] is False


async def test_the_project_limit_counts_only_projects_still_running(
    projects: Projects, session: AsyncSession
) -> None:
    for n, status in enumerate(("in_progress", "awaiting_contract", "accepted", "terminated"), 1):
        await insert_project(session, projects, "applicant", status, n)
    await insert_project(session, projects, "colleague", "in_progress", 5)  # not theirs

    at_limit = await insert_call(session, projects, max_active_projects_per_pi=2)
    refused = await endorsed(projects, at_limit)
    assert rules(refused)["projects.limit"] == (
        False,
        "leads 2 active projects; the call allows fewer than 2",
    )
    roomier = await insert_call(session, projects, max_active_projects_per_pi=3)
    allowed = await endorsed(projects, roomier)
    assert rules(allowed)["projects.limit"][0] is True

    # The manager cannot pass what failed; the failed rules are named.
    failed = await decide(projects, refused["id"], "manager", "pass")
    assert failed.status_code == 409
    assert failed.json()["code"] == "formal_check.rules_failed"
    assert failed.json()["failed_rules"] == ["projects.limit"]


async def test_a_ban_in_force_at_submission_fails_the_credit_rule(
    projects: Projects, session: AsyncSession
) -> None:
    record = await credit_record(projects, "applicant", "FABRICATION", effective_from=START.date())
    projects.clock.advance(days=15)  # the objection window passes unused
    await confirm_record(projects, record["id"])
    projects.clock.advance(minutes=5)
    call = await open_call(session, projects)
    application = await endorsed(projects, call)
    passed, detail = rules(application)["credit.eligible"]
    assert passed is False
    assert "applicant level D, eligible=False" in detail
    assert application["formal_check"]["credit"]["applicant"]["reasons"][0]["rule_code"] == (
        "FABRICATION"
    )
    assert application["formal_check"]["credit"]["organization"]["eligible"] is True

    returned = await decide(
        projects, application["id"], "manager", "return", "申请人处于限制申报期内"
    )
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"
    assert returned.json()["formal_check"]["outcome"] == "returned"
    assert returned.json()["formal_check"]["reason"] == "申请人处于限制申报期内"


async def test_credit_is_asked_as_of_submission_not_as_of_the_check(
    projects: Projects, session: AsyncSession
) -> None:
    call = await open_call(session, projects)
    application = await submitted(projects, call)
    record = await credit_record(projects, "applicant", "FABRICATION", effective_from=START.date())
    projects.clock.advance(days=15)
    await confirm_record(projects, record["id"])  # confirmed only after the submission
    today = await projects.credit.get(
        "/v1/eligibility",
        params={
            "action": "apply",
            "gateway_user_id": str(user(projects, "applicant")),
            "purpose": "核对申请人当前的信用状况",
        },
        headers=projects.callers["credit_officer"].headers,
    )
    assert today.json()["eligible"] is False  # as of now the ban is in force

    response = await act(
        projects, application["id"], "endorsement", "org_admin", decision="endorse"
    )
    assert rules(response.json())["credit.eligible"] == (True, "applicant B, organization B")
    asked_at = response.json()["formal_check"]["credit"]["applicant"]["at"]
    assert datetime.fromisoformat(asked_at) == datetime.fromisoformat(application["submitted_at"])


async def test_credit_down_fails_its_rule_and_a_rerun_passes_once_it_is_back(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    projects.app.state.credit_client.down = True
    application = await endorsed(projects, call)
    assert rules(application)["credit.eligible"] == (False, "unavailable")
    assert application["formal_check"]["automatic_passed"] is False
    refused = await decide(projects, application["id"], "manager", "pass")
    assert refused.json()["failed_rules"] == ["credit.eligible"]

    projects.app.state.credit_client.down = False
    rerun = await act(projects, application["id"], "formal-check/rerun", "manager")
    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["id"] == application["formal_check"]["id"]  # the same pending check
    assert rerun.json()["automatic_passed"] is True
    assert await session.scalar(sa.select(sa.func.count()).select_from(FormalCheck)) == 1

    passed = await decide(projects, application["id"], "manager", "pass")
    assert passed.status_code == 200
    assert passed.json()["status"] == "in_review"
    assert passed.json()["formal_check"]["outcome"] == "passed"
    assert passed.json()["formal_check"]["decided_by"] == str(user(projects, "manager"))
    history = await projects.call("GET", f"/v1/applications/{application['id']}/history", "manager")
    assert [h["action"] for h in history.json()["items"]] == [
        "create",
        "submit",
        "endorse",
        "formal_check.rerun",
        "formal_check.pass",
    ]
    rerun_entry = history.json()["items"][3]
    assert rerun_entry["details"]["before"]["failed"] == ["credit.eligible"]
    assert rerun_entry["details"]["after"]["failed"] == []
    # Decided: neither a re-run nor a second decision.
    again = await act(projects, application["id"], "formal-check/rerun", "manager")
    assert again.status_code == 409
    assert again.json()["state"] == "in_review"


async def test_a_returned_check_goes_back_to_the_applicant_who_resubmits(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await endorsed(projects, call)
    no_reason = await decide(projects, application["id"], "manager", "return")
    assert no_reason.status_code == 422
    returned = await decide(projects, application["id"], "manager", "return", "附件扫描件不清晰")
    assert returned.json()["status"] == "returned"
    again = await act(projects, application["id"], "submit", "applicant")
    assert again.json()["status"] == "submitted"
    assert again.json()["formal_check"]["outcome"] == "returned"  # the last one, until the next
    endorsed_again = await act(
        projects, application["id"], "endorsement", "org_admin", decision="endorse"
    )
    assert endorsed_again.json()["formal_check"]["outcome"] is None
    assert await session.scalar(sa.select(sa.func.count()).select_from(FormalCheck)) == 2


async def test_only_managers_of_the_program_decide(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await endorsed(projects, call)
    other_program = await decide(projects, application["id"], "manager2", "pass")
    assert other_program.status_code == 404
    for who in ("applicant", "org_admin", "evaluator"):
        assert (await decide(projects, application["id"], who, "pass")).status_code == 403
    admin = await decide(projects, application["id"], "admin", "pass")
    assert admin.status_code == 200
    assert admin.json()["status"] == "in_review"
    drafted = await draft(projects, call, "colleague")
    not_submitted = await decide(projects, drafted["id"], "manager", "pass")
    assert not_submitted.status_code == 404  # a draft is not the agency's to see
    assert not_submitted.json()["code"] == "application.not_found"
    complete_one = await endorsed(projects, call, "applicant2", admin="org_admin2")
    returned = await decide(projects, complete_one["id"], "manager", "return", "补充材料")
    assert returned.status_code == 200
    not_endorsed = await decide(projects, complete_one["id"], "manager", "pass")
    assert not_endorsed.status_code == 409
    assert not_endorsed.json()["state"] == "returned"


async def test_nobody_checks_what_they_or_their_organization_applied_for(
    projects: Projects, session: AsyncSession, gateway: FastAPI
) -> None:
    call = await insert_call(session, projects)
    team = content(projects)["team"] + [
        {"user_id": str(user(projects, "manager")), "role": "骨干", "share": 10}
    ]
    application = await endorsed(projects, call, team=team)
    on_the_team = await decide(projects, application["id"], "manager", "pass")
    assert on_the_team.status_code == 403
    assert on_the_team.json()["code"] == "duty.conflict"
    rerun = await act(projects, application["id"], "formal-check/rerun", "manager")
    assert rerun.json()["code"] == "duty.conflict"

    # An administrator employed by the applicant's organization.
    issuer = gateway.state.token_issuer
    admin_id = uuid7()
    token, _ = await issuer.access_token(
        subject=str(admin_id),
        audience=issuer.settings.audiences,
        roles=[Role.admin.value],
        extra={"name": "兰大管理员", "org": str(projects.orgs[1])},
    )
    projects.callers["admin_of_org1"] = Caller(
        admin_id, bearer(token), "兰大管理员", projects.orgs[1]
    )
    same_org = await decide(projects, application["id"], "admin_of_org1", "pass")
    assert same_org.status_code == 403
    assert same_org.json()["code"] == "duty.conflict"
    assert (await decide(projects, application["id"], "admin", "pass")).status_code == 200


async def test_an_organization_admin_does_not_endorse_what_they_are_on_the_team_of(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    team = content(projects)["team"] + [
        {"user_id": str(user(projects, "org_admin")), "role": "骨干", "share": 10}
    ]
    application = await submitted(projects, call, team=team)
    for decision in ("endorse", "return"):
        refused = await act(
            projects, application["id"], "endorsement", "org_admin", decision=decision, reason="x"
        )
        assert refused.status_code == 403, decision
        assert refused.json()["code"] == "duty.conflict"
    still = await projects.call("GET", f"/v1/applications/{application['id']}", "applicant")
    assert still.json()["status"] == "submitted"
    assert still.json()["formal_check"] is None
