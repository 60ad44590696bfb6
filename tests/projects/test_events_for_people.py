"""The events that tell people what happened to them and what they are to do next (the notify
service turns them into inbox entries and mail): each names the people concerned by their
gateway ids, and is in the outbox with the change that caused it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.projects.conftest import Projects, closed_call, insert_application
from tests.projects.test_applications_formal_check import decide as decide_check
from tests.projects.test_applications_helpers import act, draft, endorsed, open_call, submitted
from tests.projects.test_decisions import (
    approve,
    approved_projects,
    decide,
    outbox,
    reject,
    reserve,
    set_envelope,
)
from tests.projects.test_execution import task_book
from tests.projects.test_notice import file_objection, resolve_objection
from tests.projects.test_review_assignments_experts import (
    assigned_round,
    assignment_of,
    decline,
)
from tests.projects.test_review_assignments_helpers import apply as apply_run
from tests.projects.test_review_assignments_helpers import dry_run, expert
from tests.projects.test_review_assignments_manual import add, one_application
from tests.projects.test_review_assignments_runs import three_applications_five_experts
from tests.projects.test_review_scoring import review_round, score


async def about(session: AsyncSession, event_type: str, **key: str) -> list[dict[str, Any]]:
    """The events of a type about one thing (tests that commit leave events of their own)."""
    return [e for e in await outbox(session, event_type) if all(e[k] == v for k, v in key.items())]


def ids(projects: Projects, who: str) -> tuple[str, str]:
    """(user id, organization id) of a person, as the events write them."""
    caller = projects.callers[who]
    return str(caller.user_id), str(caller.org_id)


async def test_a_draft_names_its_applicant_and_when_the_call_closes(
    session: AsyncSession, projects: Projects
) -> None:
    call = await open_call(session, projects)
    application = await draft(projects, call)

    [event] = await about(session, "application.draft_created", application_id=application["id"])
    assert (event["applicant_id"], event["org_id"]) == ids(projects, "applicant")
    assert (event["call_id"], event["call_title"]) == (str(call.id), call.title)
    assert event["call_closes_at"] == call.closes_at.isoformat()


async def test_a_submission_asks_the_organization_and_a_return_tells_the_applicant_why(
    session: AsyncSession, projects: Projects
) -> None:
    call = await open_call(session, projects)
    application = await submitted(projects, call)
    applicant, org = ids(projects, "applicant")

    [receipt] = await about(session, "application.submitted", application_id=application["id"])
    [request] = await about(
        session, "application.endorsement_requested", application_id=application["id"]
    )
    for event in (receipt, request):
        assert (event["applicant_id"], event["org_id"]) == (applicant, org)
        assert event["title"] == application["title"]
    again = await act(projects, application["id"], "submit", "applicant")
    assert again.status_code == 200  # a retry publishes nothing more
    assert len(await about(session, "application.submitted", application_id=application["id"])) == 1

    returned = await act(
        projects,
        application["id"],
        "endorsement",
        "org_admin",
        decision="return",
        reason="预算不实",
    )
    assert returned.status_code == 200, returned.text
    [event] = await about(session, "application.returned", application_id=application["id"])
    assert (event["applicant_id"], event["org_id"], event["reason"]) == (applicant, org, "预算不实")


async def test_the_formal_check_tells_the_applicant_passed_or_returned_with_the_reason(
    session: AsyncSession, projects: Projects
) -> None:
    call = await open_call(session, projects)
    first = await endorsed(projects, call)
    second = await endorsed(projects, call, "colleague")

    assert (await decide_check(projects, first["id"], "manager", "pass")).status_code == 200
    returned = await decide_check(projects, second["id"], "manager", "return", "附件不清晰")
    assert returned.status_code == 200, returned.text

    by_application = {
        e["application_id"]: e for e in await outbox(session, "application.formal_check_done")
    }
    passed, failed = by_application[first["id"]], by_application[second["id"]]
    assert (passed["passed"], passed["applicant_id"]) == (True, ids(projects, "applicant")[0])
    assert (failed["passed"], failed["reason"]) == (False, "附件不清晰")
    assert (failed["applicant_id"], failed["org_id"]) == ids(projects, "colleague")


async def test_a_decision_is_a_notice_to_each_applicant_and_an_approval_starts_the_notice(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    first = await insert_application(session, projects, call, who="applicant")
    second = await insert_application(session, projects, call, who="applicant2", status="reviewed")
    third = await insert_application(session, projects, call, who="colleague")

    reply = await decide(projects, call, approve(first), reserve(second), reject(third))
    assert reply.status_code == 200, reply.text

    decided = {e["application_id"]: e for e in await outbox(session, "application.decided")}
    approved = decided[str(first.id)]
    assert approved["outcome"] == "approved"
    assert approved["applicant_id"] == str(first.applicant_id)
    assert approved["project_number"] == "2026-ZDYF-0001"
    assert decided[str(second.id)]["outcome"] == "reserved"
    assert (decided[str(third.id)]["outcome"], decided[str(third.id)]["reason"]) == (
        "rejected",
        "创新性不足",
    )
    [notice] = await about(
        session, "project.public_notice_started", project_id=approved["project_id"]
    )
    assert (notice["pi"]["id"], notice["org"]["id"]) == (str(first.applicant_id), str(first.org_id))
    assert notice["notice_ends_at"] > notice["notice_starts_at"]


async def test_an_objection_decided_names_who_objected_and_the_task_book_asks_the_organization(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    objection = (await file_objection(projects, project_id, "stranger")).json()
    dismissed = await resolve_objection(projects, project_id, objection["id"], "dismiss")
    assert dismissed.status_code == 200, dismissed.text

    [decided] = await about(session, "objection.decided.v2", objection_id=objection["id"])
    assert decided["objector_id"] == str(projects.callers["stranger"].user_id)
    assert (decided["outcome"], decided["project_cancelled"]) == ("dismissed", False)
    assert decided["pi"]["id"] == str(projects.callers["applicant"].user_id)

    drafted = await projects.call(
        "PUT", f"/v1/projects/{project_id}/task-book", "manager", json=task_book()
    )
    assert drafted.status_code == 200, drafted.text
    [ready] = await about(session, "task_book.ready_to_sign", project_id=project_id)
    assert ready["project_number"] == approved["project_number"]
    assert (ready["pi"]["id"], ready["org"]["id"]) == ids(projects, "applicant")
    [notice] = await about(session, "project.public_notice_started", project_id=project_id)
    assert ready["signable_from"] == notice["notice_ends_at"]


async def test_an_expert_is_told_of_an_invitation_and_of_a_removal(
    session: AsyncSession, projects: Projects
) -> None:
    round_, own = await one_application(session, projects)
    await expert(session, projects, "专家甲")
    added = await add(projects, round_, own.id, "专家甲")
    assert added.status_code == 201, added.text
    removed = await projects.call(
        "POST",
        f"/v1/assignments/{added.json()['id']}/remove",
        "manager",
        json={"reason": "专家出国"},
    )
    assert removed.status_code == 200, removed.text

    assignment_id = added.json()["id"]
    [assigned] = await about(session, "review.assigned", assignment_id=assignment_id)
    [unassigned] = await about(session, "review.unassigned", assignment_id=assignment_id)
    for event in (assigned, unassigned):
        assert event["expert_id"] == str(projects.callers["专家甲"].user_id)
        assert (event["application_id"], event["application_title"]) == (str(own.id), own.title)
        assert event["due_at"] == round_.deadline.isoformat()
    assert unassigned["reason"] == "专家出国"


async def test_an_applied_run_invites_every_expert_it_assigns(
    session: AsyncSession, projects: Projects
) -> None:
    round_ = await three_applications_five_experts(session, projects)
    run = await dry_run(projects, round_)
    assert (await apply_run(projects, run)).status_code == 200

    invited = {
        (e["application_id"], e["expert_id"])
        for e in await about(session, "review.assigned", round_id=str(round_.id))
    }
    assert invited == {(p["application_id"], p["expert_id"]) for p in run["pairs"]}


async def test_a_decline_is_told_and_the_replacement_is_invited(
    session: AsyncSession, projects: Projects
) -> None:
    round_, own = await assigned_round(session, projects)
    mine = await assignment_of(session, round_, projects, "专家甲")
    declined = await decline(projects, mine, "专家甲", reason="时间冲突，无法按期完成评审")
    assert declined.json()["replacement"]["found"] == 1, declined.text

    replacement = str(projects.callers["专家丙"].user_id)
    [invited] = await about(session, "review.assigned", expert_id=replacement)
    assert (invited["application_id"], invited["round_id"]) == (str(own.id), str(round_.id))
    [gone] = await about(session, "review.declined", assignment_id=mine)
    assert gone["expert_id"] == str(projects.callers["专家甲"].user_id)
    assert gone["reason"] == "时间冲突，无法按期完成评审"


async def test_a_submitted_score_sheet_tells_that_the_expert_is_done(
    session: AsyncSession, projects: Projects
) -> None:
    review = await review_round(session, projects, {"applicant": ("专家甲",)})
    assignment = review.assignments[("applicant", "专家甲")]
    await score(projects, review, "applicant", "专家甲")
    again = await projects.call(
        "POST", review.sheet_path("applicant", "专家甲", "/submit"), "专家甲"
    )
    assert again.status_code == 200  # a retry publishes nothing more

    [done] = await about(session, "review.submitted", assignment_id=str(assignment.id))
    assert done["expert_id"] == str(review.experts["专家甲"].user_id)
    assert (done["round_id"], done["due_at"]) == (
        str(review.round.id),
        review.round.deadline.isoformat(),
    )
    assert done["application_id"] == str(review.applications["applicant"].id)
    assert done["late"] is False
